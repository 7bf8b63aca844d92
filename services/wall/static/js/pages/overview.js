// Province overview: on-time, online, open dossiers, early warning, scorecard, worst units.
import { getJSON } from "../api.js";
import { lineChart } from "../chart.js";
import { ratioTile, tile, link, section, message, table, scoreText } from "../components.js";
import { h } from "../dom.js";

export async function load(ctx) {
  const [data, history] = await Promise.all([
    getJSON("/api/overview"),
    getJSON(`/api/history?range=${ctx.range}`).catch(() => null),
  ]);
  const f = ctx.fmt, t = ctx.t;
  const soon = data.due_soon || {};
  const tiles = [
    ratioTile(ctx, "on_time", data.ratios),
    ratioTile(ctx, "online", data.ratios),
    tile("in_progress", t("kpi.in_progress"), f.count(data.in_progress), [t("unit.dossiers")]),
    tile("overdue", t("kpi.overdue"), f.count(data.overdue), [t("unit.dossiers")],
      data.overdue > 0 ? "bad" : ""),
    tile("due_soon_24h", t("kpi.due_soon_24h"), f.count(soon["24h"]), [t("unit.dossiers")],
      soon["24h"] > 0 ? "warn" : ""),
    tile("due_soon_72h", t("kpi.due_soon_72h"), f.count(soon["72h"]), [t("unit.dossiers")]),
  ];
  const card = data.scorecard && data.scorecard[ctx.config.rank_window];
  if (card) {
    tiles.push(tile("scorecard", `${t("kpi.scorecard")} · ${t(`window.${ctx.config.rank_window}`)}`,
      f.percent(card.ratio), [scoreText(ctx, card)]));
  }
  const more = ["digitized", "online_payment", "multi_visit", "satisfaction"]
    .filter((kpi) => data.ratios && data.ratios[kpi])
    .map((kpi) => ratioTile(ctx, kpi, data.ratios));

  const worst = data.worst_overdue.length
    ? table("worst", [t("col.unit"), t("col.level"), t("kpi.overdue")],
      data.worst_overdue.map((w) => ({
        attrs: { data: { unit: w.unit } },
        cells: [link(ctx, `/units/${w.unit}`, w.name), t(`level.${w.level}`), f.count(w.overdue)],
      })), [2])
    : message(t("overview.worst.none"));

  const charts = history
    ? h("div", { class: "charts" },
      lineChart(ctx, "ratios", t("overview.chart.ratios"), history, ["on_time", "online"], { percent: true, width: ctx.chartWidth }),
      lineChart(ctx, "open", t("overview.chart.open"), history, ["in_progress", "overdue"], { width: ctx.chartWidth }))
    : null;

  return h("div", { class: "page page-overview" },
    h("h2", { class: "page-heading", text: t("overview.heading") }),
    h("div", { class: "tiles" }, ...tiles),
    more.length ? h("div", { class: "tiles small" }, ...more) : null,
    h("div", { class: "columns" }, section(t("kpi.worst_overdue"), worst), charts));
}
