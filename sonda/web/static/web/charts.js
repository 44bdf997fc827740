/* Draws the charts of a page with ECharts. Each chart is an element with
   data-chart="<id of a json_script block>"; the block holds
   {"title": ..., "labels": [...], "values": [...], "series": ...}. No inline script (CSP). */
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      aria: { enabled: true },
      color: ["#1b4f8a"],
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.labels, inverse: true, axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ name: data.series, type: "bar", data: data.values, barMaxWidth: 28 }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    var elements = document.querySelectorAll("[data-chart]");
    for (var i = 0; i < elements.length; i++) {
      draw(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
