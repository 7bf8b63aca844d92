// Pipeline health: consumer lag, watermark and its age, processed, duplicates, rejects.
import { getJSON } from "../api.js";
import { tile, table, section, message } from "../components.js";
import { h } from "../dom.js";

export async function load(ctx) {
  const p = await getJSON("/api/pipeline");
  const t = ctx.t, f = ctx.fmt;
  const up = p.targets.length > 0 && p.targets.every((x) => x.up === 1);
  const tiles = [
    tile("lag", t("pipeline.lag"), f.count(p.lag_total), [t("pipeline.lag.unit")], p.lag_total > 10000 ? "bad" : ""),
    tile("watermark", t("pipeline.watermark"), f.datetime(p.watermark),
      [p.watermark_age_s === null ? null : t("pipeline.watermark_age", { d: f.duration(p.watermark_age_s) })]),
    tile("last_processed", t("pipeline.last_processed"),
      p.last_processed_age_s === null ? "—" : t("pipeline.ago", { d: f.duration(p.last_processed_age_s) })),
    tile("processed", t("pipeline.processed"), f.count(p.processed),
      [p.processed_rate === null ? null : t("pipeline.per_s", { rate: f.rate(p.processed_rate) })]),
    tile("duplicate", t("pipeline.duplicate"), f.count(p.duplicate)),
    tile("exporter", t("pipeline.exporter"), up ? t("pipeline.up") : t("pipeline.down"),
      p.targets.map((x) => x.instance), up ? "good" : "bad"),
    tile("redis", t("pipeline.redis"), p.redis_up === 1 ? t("pipeline.up") : p.redis_up === 0 ? t("pipeline.down") : "—",
      [], p.redis_up === 1 ? "good" : p.redis_up === 0 ? "bad" : ""),
  ];
  const partitions = Object.entries(p.lag).sort((a, b) => Number(a[0]) - Number(b[0]));
  const lag = partitions.length
    ? table("lag", [t("col.partition"), t("col.messages")], partitions.map(([k, v]) => ({ cells: [k, f.count(v)] })), [1])
    : message(t("no_data"));
  const total = p.rejected.reduce((s, r) => s + r.total, 0);
  const rejected = total > 0
    ? table("rejected", [t("col.reason"), t("col.total"), t("col.rate")],
      p.rejected.filter((r) => r.total > 0).map((r) => ({
        attrs: { data: { reason: r.reason } },
        cells: [ctx.has(`reason.${r.reason}`) ? t(`reason.${r.reason}`) : r.reason, f.count(r.total), f.rate(r.rate)],
      })), [1, 2])
    : message(t("pipeline.rejected.none"));
  return h("div", { class: "page page-pipeline" },
    h("h2", { class: "page-heading", text: t("pipeline.heading") }),
    h("div", { class: "tiles" }, ...tiles),
    p.stalled_partitions.length ? message(t("pipeline.stalled", { list: p.stalled_partitions.join(", ") })) : null,
    h("div", { class: "columns" }, section(t("pipeline.partitions"), lag), section(t("pipeline.rejected"), rejected)));
}
