// Unit drill-down: figures against targets, scorecard by component, history charts and
// the overdue / due-soon dossiers (case numbers only), most late first.
import { ApiError, getJSON } from "../api.js";
import { lineChart } from "../chart.js";
import { link, ratioTile, tile, table, section, message, scoreText } from "../components.js";
import { h } from "../dom.js";

const COMPONENTS = ["timeliness", "online", "payment", "digitisation", "satisfaction"];
const CARD_WINDOWS = ["month", "quarter", "year"];

function lateness(ctx, d) {
  if (d.late_s === null || d.late_s === undefined) return ctx.t("late.unknown");
  const text = ctx.fmt.duration(d.late_s);
  return d.late_s > 0 ? ctx.t("late.overdue", { d: text }) : ctx.t("late.left", { d: text });
}

function dossierList(ctx, open) {
  const t = ctx.t, f = ctx.fmt;
  if (open.error) return message(t(`unit.list.error.${open.error}`));
  if (!open.dossiers.length) return message(t("unit.list.none"));
  const rows = open.dossiers.map((d) => ({
    attrs: { data: { dossier: d.dossier_id }, class: d.late_s > 0 ? "overdue" : "soon" },
    cells: [d.dossier_id, d.procedure ?? "—", d.agency ?? "—", f.datetime(d.received_at),
      f.datetime(d.due_at), lateness(ctx, d)],
  }));
  return h("div", {},
    table("dossiers", [t("col.dossier"), t("col.procedure"), t("col.agency"), t("col.received"),
      t("col.due"), t("col.lateness")], rows),
    open.dossiers.length >= open.limit ? message(t("unit.list.more", { limit: open.limit })) : null);
}

function scorecardTable(ctx, scorecard) {
  const t = ctx.t, f = ctx.fmt;
  const windows = CARD_WINDOWS.filter((w) => scorecard[w]);
  if (!windows.length) return message(t("no_data"));
  const weights = ctx.config.weights;
  const rows = COMPONENTS.map((c) => ({
    attrs: { data: { component: c } },
    cells: [`${t(`component.${c}`)} (${f.count(weights[c])})`,
      ...windows.map((w) => (c in scorecard[w].components ? f.points(scorecard[w].components[c]) : "—"))],
  }));
  rows.push({ attrs: { data: { component: "total" }, class: "total" },
    cells: [t("component.total"), ...windows.map((w) =>
      `${f.points(scorecard[w].total)} / ${f.count(scorecard[w].max)} (${f.percent(scorecard[w].ratio)})`)] });
  return table("scorecard", ["", ...windows.map((w) => t(`window.${w}`))], rows, windows.map((_, i) => i + 1));
}

export async function load(ctx) {
  const id = ctx.unitId;
  let data;
  try {
    data = await getJSON(`/api/units/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      return h("div", { class: "page page-unit" }, message(ctx.t("unit.not_found")),
        link(ctx, "/units", ctx.t("unit.back")));
    }
    throw err;
  }
  const history = await getJSON(`/api/units/${encodeURIComponent(id)}/history?range=${ctx.range}`).catch(() => null);
  const t = ctx.t, f = ctx.fmt, soon = data.due_soon || {};
  const card = data.scorecard[ctx.config.rank_window];
  const tiles = [
    ratioTile(ctx, "on_time", data.ratios, data.targets.on_time),
    ratioTile(ctx, "online", data.ratios, data.targets.online),
    tile("in_progress", t("kpi.in_progress"), f.count(data.in_progress), [t("unit.dossiers")]),
    tile("overdue", t("kpi.overdue"), f.count(data.overdue), [t("unit.dossiers")], data.overdue > 0 ? "bad" : ""),
    tile("due_soon_24h", t("kpi.due_soon_24h"), f.count(soon["24h"]), [t("unit.dossiers")], soon["24h"] > 0 ? "warn" : ""),
    tile("due_soon_72h", t("kpi.due_soon_72h"), f.count(soon["72h"]), [t("unit.dossiers")]),
  ];
  if (card) {
    tiles.push(tile("scorecard", `${t("kpi.scorecard")} · ${t(`window.${ctx.config.rank_window}`)}`,
      f.percent(card.ratio), [scoreText(ctx, card)]));
  }
  const charts = history
    ? h("div", { class: "charts" },
      lineChart(ctx, "ratios", t("unit.chart.ratios"), history, ["on_time", "online"], { percent: true, width: ctx.chartWidth }),
      lineChart(ctx, "open", t("unit.chart.open"), history, ["in_progress", "overdue", "due_soon_24h"], { width: ctx.chartWidth }))
    : null;
  return h("div", { class: "page page-unit", data: { unit: data.unit } },
    link(ctx, "/units", t("unit.back"), { class: "back" }),
    h("h2", { class: "page-heading unit-name", text: data.name }),
    h("p", { class: "note" }, `${t(`level.${data.level}`)} · `,
      data.supervisor ? t("unit.supervisor", { name: data.supervisor }) : t("unit.no_supervisor")),
    h("div", { class: "tiles" }, ...tiles),
    h("div", { class: "columns" },
      section(t("unit.list"), dossierList(ctx, data.open)),
      h("div", {}, section(t("unit.scorecard"), scorecardTable(ctx, data.scorecard)), charts)));
}
