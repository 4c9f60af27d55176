// Draws the charts of a kiln report from the JSON in #kiln-data. When every
// chart is drawn, the page title becomes "kiln report" and <body> gets
// data-rendered="ok"; on an error, data-rendered="error" and the error goes
// to the console.
(function () {
  "use strict";
  try {
    var data = JSON.parse(document.getElementById("kiln-data").textContent);
    var runs = data.runs;
    var labels = runs.map(function (r) { return r.label; });
    var base = {
      animation: false,
      responsive: false,
      plugins: { legend: { display: true } },
      scales: { y: { beginAtZero: true } }
    };
    function line(id, datasets, extra) {
      var options = Object.assign({}, base, extra || {});
      return new Chart(document.getElementById(id), {
        type: "line",
        data: { labels: labels, datasets: datasets },
        options: options
      });
    }
    function series(label, key, color) {
      return {
        label: label,
        data: runs.map(function (r) { return r[key]; }),
        borderColor: color,
        backgroundColor: color,
        tension: 0
      };
    }
    var charts = [
      line("chart-wall", [series("wall time", "wall_s", "#0969da")]),
      line("chart-hit-rate", [series("hit rate", "hit_rate", "#1a7f37")], {
        scales: { y: { beginAtZero: true, max: 100 } }
      }),
      line("chart-compile", [
        series("spent", "compile_spent_s", "#cf222e"),
        series("saved", "compile_saved_s", "#8250df")
      ]),
      line("chart-crates", [series("crates", "crates", "#9a6700")]),
      new Chart(document.getElementById("chart-slowest"), {
        type: "bar",
        data: {
          labels: data.slowest.map(function (c) { return c.name; }),
          datasets: [{
            label: "compile time (spent or saved)",
            data: data.slowest.map(function (c) { return c.seconds; }),
            backgroundColor: "#0969da"
          }]
        },
        options: Object.assign({}, base, { indexAxis: "y", scales: { x: { beginAtZero: true } } })
      })
    ];
    if (charts.length !== 5) { throw new Error("charts missing"); }
    document.body.setAttribute("data-rendered", "ok");
    document.title = "kiln report";
  } catch (e) {
    document.body.setAttribute("data-rendered", "error");
    console.error("kiln report: " + (e && e.stack ? e.stack : e));
  }
})();
