// The wall: routes, refresh timer, kiosk rotation, stale-data banner, language switch.
import { getJSON } from "./api.js";
import { h, replace } from "./dom.js";
import { makeFormat } from "./format.js";
import { figureTexts, has, pickLang, translator } from "./i18n.js";
import * as alerts from "./pages/alerts.js";
import * as levels from "./pages/levels.js";
import * as overview from "./pages/overview.js";
import * as pipeline from "./pages/pipeline.js";
import * as unit from "./pages/unit.js";
import * as units from "./pages/units.js";

const ROUTES = [
  [/^\/$/, "overview", overview],
  [/^\/levels$/, "levels", levels],
  [/^\/units$/, "units", units],
  [/^\/units\/([a-z0-9-]{1,64})$/, "unit", unit],
  [/^\/alerts$/, "alerts", alerts],
  [/^\/pipeline$/, "pipeline", pipeline],
];
const PATHS = { overview: "/", levels: "/levels", units: "/units", alerts: "/alerts", pipeline: "/pipeline" };
const DEFAULTS = { lang: "vi", kiosk: false, refresh_s: 5, rotate_s: 20, history_s: 86400,
  pages: Object.keys(PATHS), windows: ["24h", "30d", "month"], rank_window: "month", weights: {},
  figures: {} };

const HOLD = new Set(["exporter_down", "exporter_missing", "redis_down"]);
const state = { shown: null, seq: 0, inflight: false, lastOk: null, healthProblems: [], pageProblem: null, route: null, unitId: null };
let ctx;

function route(path) {
  for (const [pattern, name, module] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return { name, module, unitId: match[1] || null };
  }
  return { name: "overview", module: overview, unitId: null };
}

function link(path) {
  const params = new URLSearchParams();
  const current = new URLSearchParams(location.search);
  for (const key of ["lang", "kiosk", "rotate", "range"]) if (current.has(key)) params.set(key, current.get(key));
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

function navigate(path) {
  if (path !== location.pathname) history.pushState({}, "", link(path));
  show();
}

function otherLangHref() {
  const params = new URLSearchParams(location.search);
  params.set("lang", ctx.lang === "vi" ? "en" : "vi");
  return `${location.pathname}?${params}`;
}

function chrome() {
  const t = ctx.t;
  const other = ctx.lang === "vi" ? "en" : "vi";
  const nav = h("nav", { id: "nav", "aria-label": "pages" }, ...ctx.config.pages.map((name) =>
    h("a", { href: link(PATHS[name]), text: t(`nav.${name}`), data: { page: name }, onclick: (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey) return;
      event.preventDefault();
      navigate(PATHS[name]);
    } })));
  replace(document.getElementById("top"),
    h("div", { class: "brand" }, h("h1", { text: t("app.title") }), h("div", { class: "sub", text: t("app.subtitle") })),
    nav,
    h("div", { class: "meta" },
      h("div", { id: "now", class: "now" }),
      h("div", { id: "updated", class: "updated" }),
      h("a", { id: "lang", class: "lang", href: otherLangHref(), lang: other, text: t("lang.other") })));
}

function markNav() {
  document.getElementById("lang").setAttribute("href", otherLangHref());
  for (const a of document.querySelectorAll("#nav a")) {
    const current = a.dataset.page === state.route.name || (state.route.name === "unit" && a.dataset.page === "units");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function problemText(p) {
  const key = `problem.${p.code}`;
  if (p.code === "watermark_stalled") return ctx.t(key, { time: ctx.fmt.datetime(p.since) });
  return has(ctx.lang, key) ? ctx.t(key) : ctx.t("problem.unknown", { code: p.code });
}

function banner() {
  const el = document.getElementById("banner");
  const seen = new Set();
  const problems = [...state.healthProblems, ...(state.pageProblem ? [state.pageProblem] : [])]
    .filter((p) => !seen.has(p.code) && seen.add(p.code));
  if (!problems.length) {
    el.hidden = true;
    el.replaceChildren();
    document.body.classList.remove("stale");
    return;
  }
  replace(el,
    h("strong", { class: "banner-title", text: `⚠ ${ctx.t("banner.title")}` }),
    h("ul", {}, ...problems.map((p) => h("li", { data: { problem: p.code }, text: problemText(p) }))),
    state.lastOk ? h("div", { class: "banner-last", text: ctx.t("banner.last_ok", { time: ctx.fmt.clock(state.lastOk) }) }) : null);
  el.hidden = false;
  document.body.classList.add("stale");
}

function destroyCharts(el) {
  for (const fig of el.querySelectorAll("figure.chart")) if (fig.plot) fig.plot.destroy();
}

async function refresh(force = false) {
  if (state.inflight && !force) return; // a timer tick while the last refresh still runs
  const seq = ++state.seq;
  state.inflight = true;
  const current = state.route;
  const pageCtx = { ...ctx, unitId: state.unitId };
  const [health, page] = await Promise.allSettled([getJSON("/api/health"), current.module.load(pageCtx)]);
  if (seq !== state.seq) return; // navigated meanwhile: a newer refresh shows the page
  state.inflight = false;
  state.healthProblems = health.status === "fulfilled" ? health.value.problems : [{ code: health.reason.code || "wall_unreachable" }];
  const main = document.getElementById("page");
  // While the exporter or its Redis is down the series go stale and vanish: keep the last
  // figures of this page on screen (under the banner) instead of dashes.
  const held = state.healthProblems.some((p) => HOLD.has(p.code)) && state.shown === current;
  if (page.status === "fulfilled" && held) {
    state.pageProblem = null;
  } else if (page.status === "fulfilled") {
    destroyCharts(main);
    replace(main, page.value);
    main.dataset.page = current.name;
    state.shown = current;
    state.pageProblem = null;
    state.lastOk = Date.now() / 1000;
    replace(document.getElementById("updated"), ctx.t("updated", { time: ctx.fmt.clock(state.lastOk) }));
  } else {
    const err = page.reason;
    state.pageProblem = { code: (err && err.code) || "unknown" };
    if (err && !err.code) console.error("page failed:", String(err && err.stack || err)); // a bug of ours
    if (main.dataset.page !== current.name) {
      destroyCharts(main);
      replace(main, h("p", { class: "empty", text: ctx.t("no_data") }));
      main.dataset.page = current.name;
    }
  }
  banner();
}

function show() {
  state.route = route(location.pathname);
  state.unitId = state.route.unitId;
  document.title = `${ctx.t(`nav.${state.route.name === "unit" ? "units" : state.route.name}`)} — ${ctx.t("app.title")}`;
  markNav();
  return refresh(true);
}

function rotate() {
  const pages = ctx.config.pages;
  const name = state.route.name === "unit" ? "units" : state.route.name;
  const next = pages[(pages.indexOf(name) + 1) % pages.length];
  navigate(PATHS[next]);
}

function tickClock() {
  const el = document.getElementById("now");
  if (el) el.textContent = ctx.fmt.clock(Date.now() / 1000);
}

async function boot() {
  const params = new URLSearchParams(location.search);
  let config = DEFAULTS;
  try {
    config = { ...DEFAULTS, ...(await getJSON("/api/config")) };
  } catch (err) {
    state.pageProblem = { code: "wall_unreachable" };
  }
  const lang = pickLang(params, config.lang);
  const kiosk = params.has("kiosk") ? params.get("kiosk") === "1" : config.kiosk;
  const range = Number(params.get("range")) || config.history_s;
  document.documentElement.lang = lang;
  document.body.classList.toggle("kiosk", kiosk);
  document.documentElement.classList.toggle("kiosk", kiosk);
  const chartWidth = Math.max(420, Math.min(880, Math.floor((window.innerWidth - 140) * 0.45)));
  ctx = { config, lang, kiosk, range, chartWidth, t: translator(lang, figureTexts(config.figures, lang)),
    fmt: makeFormat(lang),
    has: (key) => has(lang, key), link, navigate };
  chrome();
  window.addEventListener("popstate", () => show());
  await show();
  setInterval(() => refresh(), config.refresh_s * 1000);
  setInterval(tickClock, 1000);
  tickClock();
  if (kiosk && params.get("rotate") !== "0") setInterval(rotate, config.rotate_s * 1000);
}

boot();
