// Units ranked within their level: scorecard share of points, else on-time ratio.
import { getJSON } from "../api.js";
import { link, ratioOf, table, section, message, scoreText } from "../components.js";
import { h } from "../dom.js";

const LEVELS = ["province", "district", "commune"];

export async function load(ctx) {
  const data = await getJSON("/api/units");
  const f = ctx.fmt, t = ctx.t, rw = data.rank_window;
  const headers = [
    t("col.rank"), t("col.unit"), `${t("col.score")} · ${t(`window.${rw}`)}`, t("col.score_ratio"),
    `${t("kpi.on_time")} · ${t("window.24h")}`, `${t("kpi.on_time")} · ${t(`window.${rw}`)}`, t("target"),
    `${t("kpi.online")} · ${t("window.30d")}`, t("kpi.overdue"), t("kpi.due_soon_24h"),
  ];
  const row = (u) => {
    const card = u.scorecard && u.scorecard[rw];
    const onTime24 = ratioOf(u.ratios, "on_time", "24h");
    const below = u.targets.on_time !== undefined && onTime24 !== null && onTime24 < u.targets.on_time;
    return {
      attrs: { data: { unit: u.unit }, class: below ? "below" : undefined },
      cells: [
        u.rank === null ? "—" : f.count(u.rank),
        link(ctx, `/units/${u.unit}`, u.name),
        scoreText(ctx, card),
        card ? f.percent(card.ratio) : "—",
        f.percent(onTime24), f.percent(ratioOf(u.ratios, "on_time", rw)),
        u.targets.on_time === undefined ? "—" : f.percent(u.targets.on_time),
        f.percent(ratioOf(u.ratios, "online", "30d")),
        f.count(u.overdue), f.count((u.due_soon || {})["24h"]),
      ],
    };
  };
  const numeric = [0, 2, 3, 4, 5, 6, 7, 8, 9];
  // On a wall screen a long level is split into two side-by-side tables of fewer columns.
  const COMPACT = [0, 1, 2, 3, 4, 8, 9];
  const compact = (r) => ({ attrs: r.attrs, cells: COMPACT.map((i) => r.cells[i]) });
  const hasData = (u) => u.rank !== null || u.in_progress !== null;
  const sections = LEVELS.map((level) => {
    const units = data.units.filter((u) => u.level === level);
    // A level none of whose units has data (the district level after 2025) is left out.
    if (!units.some(hasData)) return null;
    const split = ctx.kiosk && units.length > 12;
    const halves = split
      ? [units.slice(0, Math.ceil(units.length / 2)), units.slice(Math.ceil(units.length / 2))]
      : [units];
    const tables = halves.map((part) => split
      ? table(`units-${level}`, COMPACT.map((i) => headers[i]), part.map(row).map(compact), [0, 2, 3, 4, 5, 6])
      : table(`units-${level}`, headers, part.map(row), numeric));
    return h("section", { class: "panel", data: { level } },
      h("h2", { text: t(`level.${level}`) }),
      h("div", { class: split ? "split" : "" }, ...tables));
  }).filter(Boolean);
  return h("div", { class: "page page-units" },
    h("h2", { class: "page-heading", text: t("units.heading") }),
    h("p", { class: "note", text: t("units.ranked_by", { window: t(`window.${rw}`).toLowerCase() }) }),
    ...(sections.length ? sections : [message(t("no_data"))]));
}
