// Copy buttons: <button data-copy="ID" hidden> copies the text of element ID. Kept hidden
// until this script runs, so a page without it (or without a clipboard) shows no dead button.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      if (!source) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Copy failed: select the key and copy it"; }
      );
    });
  });
})();
