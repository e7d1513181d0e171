// A small SVG chart: bars or lines over time bins, or bars over names. No library: the pages
// must work where the internet cannot be reached.
const NS = "http://www.w3.org/2000/svg";
const WIDTH = 640, HEIGHT = 220, PAD = {left: 56, right: 12, top: 12, bottom: 28};
export const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c"];

function node(name, attributes, parent) {
  const element = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (parent) parent.appendChild(element);
  return element;
}

function format(value) {
  if (Math.abs(value) >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (Math.abs(value) >= 1e3) return (value / 1e3).toFixed(1) + "k";
  if (value !== 0 && Math.abs(value) < 0.01) return value.toExponential(1);  // spend per bin: fractions of a cent
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}

// labels: one per bin (strings); series: [{name, values, kind: "bar" | "line"}].
export function drawChart(container, labels, series) {
  container.replaceChildren();
  const svg = node("svg", {viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart-svg"}, container);
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null))) || 1;
  const plotWidth = WIDTH - PAD.left - PAD.right, plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = plotWidth / Math.max(labels.length, 1);
  const y = (value) => PAD.top + plotHeight * (1 - value / max);
  for (const fraction of [0, 0.5, 1]) {
    node("line", {x1: PAD.left, x2: WIDTH - PAD.right, y1: y(max * fraction), y2: y(max * fraction), class: "grid"}, svg);
    node("text", {x: PAD.left - 6, y: y(max * fraction) + 4, "text-anchor": "end", class: "axis"}, svg)
      .textContent = format(max * fraction);
  }
  for (const index of [0, labels.length - 1]) {
    if (labels[index] === undefined) continue;
    node("text", {x: PAD.left + step * (index + 0.5), y: HEIGHT - 8, "text-anchor": "middle", class: "axis"}, svg)
      .textContent = labels[index];
  }
  const bars = series.filter((s) => s.kind === "bar");
  series.forEach((s, position) => {
    const color = COLORS[position % COLORS.length];
    const group = node("g", {"data-series": s.name, "data-sum": s.values.reduce((a, v) => a + (v || 0), 0)}, svg);
    if (s.kind === "bar") {
      const width = step * 0.8 / bars.length, offset = bars.indexOf(s) * width;
      s.values.forEach((value, index) => {
        if (!value) return;
        node("rect", {x: PAD.left + step * (index + 0.1) + offset, y: y(value), width, height: y(0) - y(value),
                      fill: color}, group).appendChild(document.createElementNS(NS, "title")).textContent =
          `${labels[index]}: ${s.name} ${format(value)}`;
      });
    } else {
      const points = s.values.map((value, index) => value === null ? null :
        `${PAD.left + step * (index + 0.5)},${y(value)}`).filter(Boolean);
      if (points.length) node("polyline", {points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2}, group);
      for (const point of points) {
        const [cx, cy] = point.split(",");
        node("circle", {cx, cy, r: 2.5, fill: color}, group);
      }
    }
  });
  const legend = document.createElement("p");
  legend.className = "legend";
  series.forEach((s, position) => {
    const item = document.createElement("span");
    item.style.color = COLORS[position % COLORS.length];
    item.textContent = "■ " + s.name;
    legend.appendChild(item);
  });
  container.appendChild(legend);
  container.dataset.rendered = "true";
}
