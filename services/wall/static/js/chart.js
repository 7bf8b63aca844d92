// History charts with the vendored uPlot (global `uPlot`, loaded by a classic script).
import { h } from "./dom.js";
import { TIME_ZONE } from "./format.js";

const COLORS = ["#2e7dd7", "#e8a33d", "#d64545", "#3aa675", "#8a63d2"];

/** Aligned columns for uPlot from {name: [[t, v], ...]} of one range query. */
function columns(history, names) {
  const xs = [];
  for (let t = history.start; t <= history.end; t += history.step) xs.push(t);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = names.map((name) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of history.series[name] || []) {
      const i = index.get(t);
      if (i !== undefined) col[i] = v;
    }
    return col;
  });
  return [xs, ...ys];
}

/**
 * A line chart in a figure; `percent` formats the y axis as a ratio.
 * Returns the figure (its uPlot instance is kept on figure.plot, to destroy on re-render).
 */
export function lineChart(ctx, id, title, history, names, { percent = false, width = 880, height = 300 } = {}) {
  const figure = h("figure", { class: "chart", data: { chart: id } }, h("figcaption", { text: title }));
  if (typeof uPlot === "undefined") return figure;
  const data = columns(history, names);
  const big = ctx.kiosk;
  const font = big ? "18px 'Noto Sans', sans-serif" : "13px 'Noto Sans', sans-serif";
  const axis = { stroke: "#c9d3e0", grid: { stroke: "#2a3644" }, ticks: { stroke: "#2a3644" }, font };
  const opts = {
    width, height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: percent ? { y: { range: [0, 1] } } : {},
    axes: [
      { ...axis, values: (u, vals) => {
        const span = (u.scales.x.max || 0) - (u.scales.x.min || 0);
        return vals.map((v) => (span > 2 * 86400 ? ctx.fmt.datetime(v).slice(0, 5) : ctx.fmt.clock(v).slice(0, 5)));
      } },
      { ...axis, size: big ? 90 : 70, values: (u, vals) => vals.map((v) => (percent ? ctx.fmt.percent(v) : ctx.fmt.count(v))) },
    ],
    series: [
      { label: ctx.t("series.time"), value: (u, v) => (v == null ? "—" : `${ctx.fmt.datetime(v)}`) },
      ...names.map((name, i) => ({
        label: ctx.t(`series.${name}`),
        stroke: COLORS[i % COLORS.length],
        width: big ? 3 : 2,
        points: { show: true, size: big ? 6 : 4 },
        spanGaps: false,
        value: (u, v) => (v == null ? "—" : percent ? ctx.fmt.percent(v) : ctx.fmt.count(v)),
      })),
    ],
  };
  figure.plot = new uPlot(opts, data, figure);
  return figure;
}
