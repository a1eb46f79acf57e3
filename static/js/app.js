// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can
// refuse inline scripts and handlers.
(function () {
  "use strict";

  // Background requests (polls, parts fetched on load) say so, and do not keep an idle
  // session alive (c2c_ops/idle.py). A request is the user's when a trusted event, one the
  // browser made from a click, a key or a change of a field, set it off.
  document.addEventListener("htmx:configRequest", function (event) {
    var cause = event.detail.triggeringEvent;
    if (!(cause && cause.isTrusted)) event.detail.headers["X-C2C-Background"] = "1";
  });

  // "Save view" saves what the URL says now: the filters may have changed in place.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-save-view]")) {
      form.elements.query.value = window.location.search.slice(1);
    }
  });
})();
