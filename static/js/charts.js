// Draws the server's Plotly figures and makes their marks drill down.
// Each <div class="plot" data-figure="ID"> reads its figure from <script id="ID">; a click on
// a mark that carries a URL in customdata opens that URL (the filtered transactions list).
(function () {
  "use strict";

  function themed(layout) {
    var style = getComputedStyle(document.body);
    layout.font = Object.assign({}, layout.font, { color: style.color });
    return layout;
  }

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll(".plot[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source || el.dataset.drawn === source.textContent.length.toString()) return;
      var figure = JSON.parse(source.textContent);
      Plotly.react(el, figure.data || [], themed(figure.layout || {}), {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d"],
      });
      el.dataset.drawn = source.textContent.length.toString();
      if (el.dataset.clicks) return;
      el.dataset.clicks = "1";
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var url = point && (point.customdata || (point.fullData && point.fullData.customdata));
        // Same-site paths only: "/x", never "//host" or "/\\host".
        if (typeof url === "string" && /^\/(?![\/\\])/.test(url)) window.location.assign(url);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
