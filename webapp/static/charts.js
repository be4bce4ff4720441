// Time-series charts from data attributes, so pages emit data and never script (the CSP forbids
// inline script). A page includes this file and writes, for example:
//
//   <div class="chart" aria-label="Messages sent per day"
//        data-series='{"x": ["2026-11-01", "2026-11-02"],
//                      "series": [{"label": "Sent", "values": [120, 180]},
//                                 {"label": "Failed", "values": [2, null]}],
//                      "y_label": "messages", "height": 220}'></div>
//
// "x" holds ISO 8601 dates or times (UTC when no zone is given) or Unix seconds; each series has as
// many values as "x" (null leaves a gap). Times are shown in UTC, like the rest of the dashboard.
// uPlot (vendored beside this file, see VENDORED.md) is loaded only when a page has a chart, and
// charts swapped in by HTMX are drawn too.
(() => {
  "use strict";
  const UPLOT = "uPlot-1.6.32";
  const here = document.currentScript ? document.currentScript.src : "";
  const base = here.slice(0, here.lastIndexOf("/") + 1);
  const PALETTE = ["#2952cc", "#17794a", "#b3261e", "#8a5a00", "#7a3fb0", "#0e7490"];
  let loading = null;

  function loadUPlot() {
    if (window.uPlot) return Promise.resolve(window.uPlot);
    if (loading) return loading;
    loading = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = `${base}${UPLOT}.min.css`;
      document.head.appendChild(css);
      const script = document.createElement("script");
      script.src = `${base}${UPLOT}.iife.min.js`;
      script.onload = () => resolve(window.uPlot);
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.appendChild(script);
    });
    return loading;
  }

  function seconds(x) {
    if (typeof x === "number") return x;
    const text = String(x);
    // A time without a zone is UTC (Date.parse would read it as local time).
    const zoned = /T.*(Z|[+-]\d\d:?\d\d)$/.test(text) || !text.includes("T") ? text : `${text}Z`;
    const ms = Date.parse(zoned);
    return Number.isNaN(ms) ? null : ms / 1000;
  }

  function parse(element) {
    const spec = JSON.parse(element.dataset.series);
    if (!spec || !Array.isArray(spec.x) || !Array.isArray(spec.series)) {
      throw new Error("data-series needs an \"x\" list and a \"series\" list");
    }
    const xs = spec.x.map(seconds);
    if (xs.some((x) => x === null)) throw new Error("every \"x\" must be an ISO 8601 date or time, or Unix seconds");
    const series = spec.series.map((s, i) => {
      const values = Array.isArray(s.values) ? s.values : [];
      if (values.length !== xs.length) throw new Error(`series ${i + 1} has ${values.length} values for ${xs.length} times`);
      return { label: String(s.label ?? `Series ${i + 1}`), values };
    });
    return { xs, series, yLabel: spec.y_label ? String(spec.y_label) : "", height: Number(spec.height) || 220 };
  }

  function draw(element, uPlot) {
    let spec;
    try {
      spec = parse(element);
    } catch (error) {
      element.dataset.chartError = error.message;
      element.textContent = "This chart's data could not be read.";
      console.warn("charts.js:", error.message, element);
      return null;
    }
    if (!element.hasAttribute("role")) element.setAttribute("role", "img");
    if (!element.hasAttribute("aria-label")) {
      element.setAttribute("aria-label", `Chart of ${spec.series.map((s) => s.label).join(", ")}`);
    }
    const options = {
      width: Math.max(element.clientWidth, 200),
      height: spec.height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true } },
      axes: [{}, { label: spec.yLabel, size: 56 }],
      series: [{ label: "Time (UTC)" }, ...spec.series.map((s, i) => ({
        label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, points: { size: 5 },
      }))],
    };
    element.textContent = "";
    const plot = new uPlot(options, [spec.xs, ...spec.series.map((s) => s.values)], element);
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const width = Math.max(element.clientWidth, 200);
        if (width !== plot.width) plot.setSize({ width, height: spec.height });
      }).observe(element);
    }
    element.dataset.chartDrawn = "true";
    return plot;
  }

  function drawAll(root) {
    const pending = [...(root || document).querySelectorAll(".chart[data-series]:not([data-chart-drawn])")];
    if (!pending.length) return;
    loadUPlot().then((uPlot) => pending.forEach((element) => draw(element, uPlot)),
      (error) => console.warn("charts.js:", error.message));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.target));
})();
