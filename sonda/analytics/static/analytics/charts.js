/* Draws the dashboards' charts with ECharts. Each chart is an element with
   data-echarts="<id of a json_script block>"; the block holds the whole ECharts option, built on
   the server (sonda/analytics/charts.py). No inline script (CSP). A click on a point that
   carries a "url" opens the responses behind it. */
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-echarts"));
    if (!source || typeof window.echarts === "undefined") {
      return;
    }
    if (window.echarts.getInstanceByDom(element)) {
      return;
    }
    var chart = window.echarts.init(element);
    chart.setOption(JSON.parse(source.textContent));
    chart.on("click", function (params) {
      var url = params.data && params.data.url;
      // Only our own pages: a drill-down is always a path on this site.
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    var elements = document.querySelectorAll("[data-echarts]");
    for (var i = 0; i < elements.length; i++) {
      draw(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  // Filters swapped in by htmx bring new charts.
  document.addEventListener("htmx:afterSettle", drawAll);
})();
