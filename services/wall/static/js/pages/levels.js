// One row per level: ratios, open dossiers, early warning, targets.
import { getJSON } from "../api.js";
import { ratioOf, table, section, message, scoreText } from "../components.js";
import { h } from "../dom.js";

export async function load(ctx) {
  const data = await getJSON("/api/levels");
  const f = ctx.fmt, t = ctx.t, w = ctx.config.windows;
  const range = (pair) => (!pair ? "—" : pair[0] === pair[1] ? f.percent(pair[0]) : `${f.percent(pair[0])} – ${f.percent(pair[1])}`);
  const headers = [
    t("col.level"), t("kpi.units"),
    ...w.map((x) => `${t("kpi.on_time")} · ${t(`window.${x}`)}`),
    `${t("target")} (${t("kpi.on_time")})`,
    ...w.slice(0, 2).map((x) => `${t("kpi.online")} · ${t(`window.${x}`)}`),
    t("kpi.in_progress"), t("kpi.overdue"), t("kpi.due_soon_24h"), t("kpi.due_soon_72h"),
    `${t("kpi.scorecard")} · ${t(`window.${ctx.config.rank_window}`)}`,
  ];
  // A level without any figure (the district level after 2025) is left out.
  const withData = data.levels.filter((lv) => Object.keys(lv.ratios).length || lv.in_progress !== null);
  const rows = withData.map((lv) => ({
    attrs: { data: { level: lv.level } },
    cells: [
      t(`level.${lv.level}`), f.count(lv.units),
      ...w.map((x) => f.percent(ratioOf(lv.ratios, "on_time", x))),
      range(lv.targets.on_time),
      ...w.slice(0, 2).map((x) => f.percent(ratioOf(lv.ratios, "online", x))),
      f.count(lv.in_progress), f.count(lv.overdue),
      f.count((lv.due_soon || {})["24h"]), f.count((lv.due_soon || {})["72h"]),
      scoreText(ctx, lv.scorecard && lv.scorecard[ctx.config.rank_window]),
    ],
  }));
  const numeric = headers.map((_, i) => i).filter((i) => i > 0);
  return h("div", { class: "page page-levels" },
    h("h2", { class: "page-heading", text: t("levels.heading") }),
    section(t("levels.heading"), rows.length ? table("levels", headers, rows, numeric) : message(t("no_data"))));
}
