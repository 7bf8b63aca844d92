// Shared pieces of the pages: tiles, tables, ratio cells.
import { h } from "./dom.js";

/** A big-number tile: label, value, optional sub-lines; data-tile names it for tests. */
export function tile(id, label, value, lines = [], extra = "") {
  return h("section", { class: `tile ${extra}`.trim(), data: { tile: id } },
    h("h3", { class: "tile-label", text: label }),
    h("div", { class: "tile-value", text: value }),
    ...lines.filter(Boolean).map((line) => h("div", { class: "tile-line", text: line })));
}

/** The ratio of one window, or "—". */
export function ratioOf(ratios, kpi, window) {
  const byWindow = ratios && ratios[kpi];
  return byWindow && window in byWindow ? byWindow[window] : null;
}

/** A ratio tile: headline window big, the other windows below, the target if any. */
export function ratioTile(ctx, kpi, ratios, target = null) {
  const [head, ...rest] = ctx.config.windows;
  const value = ratioOf(ratios, kpi, head);
  const lines = rest.map((w) => `${ctx.t(`window.${w}`)}: ${ctx.fmt.percent(ratioOf(ratios, kpi, w))}`);
  if (target !== null && target !== undefined) lines.push(ctx.t("target.value", { value: ctx.fmt.percent(target) }));
  const below = target !== null && target !== undefined && value !== null && value < target;
  return tile(kpi, `${ctx.t(`kpi.${kpi}`)} · ${ctx.t(`window.${head}`)}`, ctx.fmt.percent(value), lines,
    below ? "bad" : "");
}

/** A table: headers (strings) and rows (arrays of cells: strings, numbers or nodes). */
export function table(id, headers, rows, numeric = []) {
  return h("table", { class: "grid", data: { table: id } },
    h("thead", {}, h("tr", {}, ...headers.map((text, i) =>
      h("th", { scope: "col", text, class: numeric.includes(i) ? "num" : undefined })))),
    h("tbody", {}, ...rows.map((row) => h("tr", row.attrs || {}, ...row.cells.map((cell, i) =>
      h("td", { class: numeric.includes(i) ? "num" : undefined },
        cell instanceof Node ? cell : String(cell ?? "—")))))));
}

/** A link inside the wall that keeps ?lang and ?kiosk. */
export function link(ctx, path, text, props = {}) {
  return h("a", { ...props, href: ctx.link(path), text, onclick: (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey) return;
    event.preventDefault();
    ctx.navigate(path);
  } });
}

/** "37,8 / 40 điểm (94,6 %)" of a scorecard, or "—". */
export function scoreText(ctx, card) {
  if (!card) return "—";
  return `${ctx.t("points.of", { total: ctx.fmt.points(card.total), max: ctx.fmt.count(card.max) })}`;
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", { text: title }), ...children);
}

export function message(text) {
  return h("p", { class: "empty", text });
}
