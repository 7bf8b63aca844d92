// Alerts firing now (Alertmanager), with the unit's name and its supervisor.
import { getJSON } from "../api.js";
import { link, table, section, message } from "../components.js";
import { h } from "../dom.js";

export async function load(ctx) {
  const data = await getJSON("/api/alerts");
  const t = ctx.t, f = ctx.fmt;
  const title = (a) => (ctx.has(`alert.${a.alertname}`) ? t(`alert.${a.alertname}`) : a.alertname);
  const rows = data.alerts.map((a) => ({
    attrs: { data: { alert: a.alertname, unit: a.unit ?? "" }, class: `${a.state} ${a.severity ?? ""}` },
    cells: [
      a.severity ? t(`severity.${a.severity}`) : "—",
      title(a),
      a.unit ? link(ctx, `/units/${a.unit}`, a.unit_name) : "—",
      a.supervisor ?? (a.receivers.length ? a.receivers.join(", ") : "—"),
      a.starts_at ? f.datetime(Date.parse(a.starts_at) / 1000) : "—",
      t(`state.${a.state}`),
    ],
  }));
  return h("div", { class: "page page-alerts" },
    h("h2", { class: "page-heading", text: t("alerts.heading") }),
    section(t("alerts.heading"), rows.length
      ? table("alerts", [t("col.severity"), t("col.alert"), t("col.unit"), t("col.supervisor"), t("col.since"), t("col.state")], rows)
      : message(t("alerts.none"))));
}
