// The dashboard's only script: draws each chart from its JSON island and makes tables sortable.
// No inline scripts (the pages' Content-Security-Policy forbids them), no network access.
"use strict";
(function () {
  function drawCharts() {
    if (typeof echarts === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      var island = document.getElementById(box.getAttribute("data-chart"));
      if (!island) { return; }
      box.style.height = (Number(box.getAttribute("data-height")) || 320) + "px";  // no inline styles under the CSP
      var chart = echarts.init(box, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(island.textContent));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  function cellValue(row, index) {
    var text = row.cells[index] ? row.cells[index].textContent.trim() : "";
    var number = Number(text.replace(/,/g, ""));
    return text !== "" && !isNaN(number) ? number : text;
  }
  function makeSortable(table) {
    table.querySelectorAll("th").forEach(function (th, index) {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function sort() {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh-CN");
          return ascending ? order : -order;
        });
        table.querySelectorAll("th").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("table.sortable").forEach(makeSortable);
  });
})();
