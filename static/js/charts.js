// Draw every Plotly figure of the page: each [data-plot] names the <script type="application/json"> holding it.
(function () {
  if (typeof Plotly === "undefined") return;
  document.querySelectorAll("[data-plot]").forEach(function (box) {
    const source = document.getElementById(box.dataset.plot);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    Plotly.newPlot(box, figure.data, figure.layout, { responsive: true, displaylogo: false });
  });
})();
