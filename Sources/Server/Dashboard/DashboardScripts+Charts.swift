extension DashboardScripts {
    /// Charts drawn as inline SVG: bars (stacked) and lines over the overview's time buckets, with
    /// nice axes and a hover read-out. Each chart redraws itself at its container's width.
    static let charts = #"""
"use strict";
(function () {
const SY = window.SY;
const h = SY.h;

/// The axis' top: four ticks of a round step that reach `value`.
function niceMax(value) {
  if (!(value > 0)) return 4;
  const quarter = value / 4;
  const power = Math.pow(10, Math.floor(Math.log10(quarter)));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= quarter) return 4 * step * power;
  return 40 * power;
}

function timeLabel(seconds, bucket) {
  const date = new Date(seconds * 1000);
  if (bucket >= 10800) return date.toLocaleDateString("en-GB", { month: "short", day: "numeric" });
  return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
}

/// A time-series chart. `series`: [{name, cls, values[], kind: "bar"|"line"|"area", stack}];
/// `format(v)` writes the axis and read-out values.
SY.timeChart = function ({ id, starts, bucket, series, format, height }) {
  height = height || 170;
  const holder = h("div", { class: "chart", id });
  const legend = h("div", { class: "legend" }, series.map((s) => h("span", null, h("i", { class: s.cls }), s.name)));
  const tip = h("div", { class: "tip", hidden: true });
  holder.append(tip);

  function draw() {
    const width = Math.max(260, holder.clientWidth || 600);
    const left = 52, right = 10, top = 8, bottom = 22;
    const plotW = width - left - right, plotH = height - top - bottom;
    const n = starts.length;
    const step = n ? plotW / n : plotW;
    // The stack of bars per bucket decides the maximum with the lines.
    let max = 0;
    for (let i = 0; i < n; i++) {
      let stacked = 0;
      for (const s of series) {
        const v = s.values[i] || 0;
        if (s.kind === "bar") stacked += v; else max = Math.max(max, v);
      }
      max = Math.max(max, stacked);
    }
    max = niceMax(max);
    const y = (v) => top + plotH - (plotH * v) / max;
    const svg = h("svg:svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": series.map((s) => s.name).join(", ") });
    for (let t = 0; t <= 4; t++) {
      const value = (max * t) / 4, yy = y(value);
      svg.append(h("svg:line", { class: "gridline", x1: left, x2: width - right, y1: yy, y2: yy }));
      svg.append(h("svg:text", { class: "axis", x: left - 6, y: yy + 3.5, "text-anchor": "end" }, format(value)));
    }
    const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 70))));
    for (let i = 0; i < n; i += labelEvery) {
      svg.append(h("svg:text", { class: "axis", x: left + i * step + step / 2, y: height - 6, "text-anchor": "middle" }, timeLabel(starts[i], bucket)));
    }
    const barW = Math.max(1, step - Math.min(4, step * 0.25));
    const base = new Array(n).fill(0);
    for (const s of series.filter((s) => s.kind === "bar")) {
      const group = h("svg:g", { class: s.cls, "data-series": s.name });
      for (let i = 0; i < n; i++) {
        const v = s.values[i] || 0;
        if (v <= 0) continue;
        const y0 = y(base[i]), y1 = y(base[i] + v);
        group.append(h("svg:rect", { class: "bar", x: left + i * step + (step - barW) / 2, y: y1, width: barW, height: Math.max(0.5, y0 - y1), rx: Math.min(2, barW / 3) }));
        base[i] += v;
      }
      svg.append(group);
    }
    for (const s of series.filter((s) => s.kind !== "bar")) {
      let d = "", area = "", open = false, first = 0, last = 0;
      for (let i = 0; i < n; i++) {
        const v = s.values[i];
        const x = left + i * step + step / 2;
        if (v === null || v === undefined) { open = false; continue; }
        d += (open ? "L" : "M") + x.toFixed(1) + " " + y(v).toFixed(1);
        if (!open) first = x;
        last = x;
        open = true;
      }
      if (s.kind === "area" && d) {
        area = d + "L" + last.toFixed(1) + " " + y(0) + "L" + first.toFixed(1) + " " + y(0) + "Z";
        svg.append(h("svg:path", { class: "area " + s.cls, d: area }));
      }
      if (d) svg.append(h("svg:path", { class: "line " + s.cls, d, "data-series": s.name }));
      // Lone points (neighbours empty) still show.
      for (let i = 0; i < n; i++) {
        const v = s.values[i];
        if (v === null || v === undefined) continue;
        const lonely = (i === 0 || s.values[i - 1] == null) && (i === n - 1 || s.values[i + 1] == null);
        if (lonely) svg.append(h("svg:circle", { class: s.cls, cx: left + i * step + step / 2, cy: y(v), r: 2.5 }));
      }
    }
    const guide = h("svg:line", { class: "guide", y1: top, y2: top + plotH, x1: -10, x2: -10 });
    svg.append(guide);
    const overlay = h("svg:rect", { x: left, y: top, width: plotW, height: plotH, fill: "transparent" });
    overlay.addEventListener("mousemove", (event) => {
      const box = svg.getBoundingClientRect();
      const i = Math.min(n - 1, Math.max(0, Math.floor((event.clientX - box.left - left) / step)));
      const x = left + i * step + step / 2;
      guide.setAttribute("x1", x); guide.setAttribute("x2", x);
      tip.replaceChildren(h("b", null, SY.time(starts[i], bucket >= 3600) + " – " + timeLabel(starts[i] + bucket, bucket)),
        ...series.map((s) => h("div", null, h("span", { class: "legend" }, h("i", { class: s.cls })), s.name + ": " +
          (s.values[i] === null || s.values[i] === undefined ? "–" : format(s.values[i])))));
      tip.hidden = false;
      const tipX = x + 12 + 180 > width ? x - 12 - tip.offsetWidth : x + 12;
      tip.style.left = Math.max(0, tipX) + "px";  // CSSOM: allowed by the CSP
      tip.style.top = "6px";
    });
    overlay.addEventListener("mouseleave", () => { tip.hidden = true; guide.setAttribute("x1", -10); guide.setAttribute("x2", -10); });
    svg.append(overlay);
    const old = holder.querySelector("svg");
    if (old) old.replaceWith(svg); else holder.prepend(svg);
  }

  SY.charts.push({ draw });
  return h("div", null, holder, h("div", { class: "body" }, legend));
};
})();
"""#
}
