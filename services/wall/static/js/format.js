// Numbers, times and durations in the page's language: vi-VN (92,8 %, 4.700) or en-GB.
// Times are shown in Asia/Ho_Chi_Minh (UTC+7), the province's local time.

export const TIME_ZONE = "Asia/Ho_Chi_Minh";
const LOCALES = { vi: "vi-VN", en: "en-GB" };
const NBSP = "\u00a0";
const UNITS = {
  vi: { d: "ngày", h: "giờ", m: "phút" },
  en: { d: "d", h: "h", m: "min" },
};

export function makeFormat(lang) {
  const locale = LOCALES[lang] || LOCALES.vi;
  const int = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const two = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const missing = (v) => v === null || v === undefined || Number.isNaN(v);
  const pieces = (seconds) => {
    const out = {};
    for (const p of parts.formatToParts(new Date(seconds * 1000))) out[p.type] = p.value;
    return out;
  };
  const u = UNITS[lang] || UNITS.vi;
  return {
    lang,
    /** 4700 → "4.700" (vi) / "4,700" (en); null → "—". */
    count: (v) => (missing(v) ? "—" : int.format(v)),
    /** 0.928 → "92,8 %" (vi) / "92.8%" (en). */
    percent: (v) => (missing(v) ? "—" : one.format(v * 100) + (lang === "vi" ? NBSP + "%" : "%")),
    /** Points of the scorecard: one decimal. */
    points: (v) => (missing(v) ? "—" : one.format(v)),
    /** A rate per second, up to 2 decimals. */
    rate: (v) => (missing(v) ? "—" : two.format(v)),
    /** Seconds since the epoch → "11/07/2025 10:00". */
    datetime: (s) => {
      if (missing(s)) return "—";
      const p = pieces(s);
      return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
    },
    /** Seconds since the epoch → "10:00:05". */
    clock: (s) => {
      const p = pieces(s);
      return `${p.hour}:${p.minute}:${p.second}`;
    },
    /** A length of time: "2 ngày 3 giờ", "3 giờ 20 phút", "45 phút". */
    duration: (seconds) => {
      if (missing(seconds)) return "—";
      const s = Math.abs(seconds);
      const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
      const m = Math.floor((s % 3600) / 60);
      if (d > 0) return hr > 0 ? `${d} ${u.d} ${hr} ${u.h}` : `${d} ${u.d}`;
      if (hr > 0) return m > 0 ? `${hr} ${u.h} ${m} ${u.m}` : `${hr} ${u.h}`;
      return `${Math.max(m, s > 0 ? 1 : 0)} ${u.m}`;
    },
  };
}
