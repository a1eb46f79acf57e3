// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can
// refuse inline scripts and handlers.
(function () {
  "use strict";

  // "Save view" saves what the URL says now: the filters may have changed in place.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-save-view]")) {
      form.elements.query.value = window.location.search.slice(1);
    }
  });
})();
