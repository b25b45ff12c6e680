/** Durations, in seconds, as processes.yaml and the CLI's flags spell them. */

const units: Readonly<Record<string, number>> = {
  us: 1e-6,
  usec: 1e-6,
  ms: 0.001,
  msec: 0.001,
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};

/** What a duration looks like, for "expected ..." in messages. */
export const durationExpected =
  'a duration: seconds (5, 0.5) or a string like "5s", "500ms", "1m30s", "2h", "infinity"';

/**
 * Seconds from 5, 0.5, "5", "5s", "500ms", "1m30s", "1m 30s", "1.5min", "2h", "1d", "infinity"
 * (units: us usec ms msec s sec second(s) m min minute(s) h hr hour(s) d day(s), any case).
 * `undefined` when the value is not a duration; never negative.
 */
export function parseDurationSeconds(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isNaN(value) || value < 0 ? undefined : value;
  if (typeof value !== "string") return undefined;
  const s = value.trim().toLowerCase();
  if (s === "") return undefined;
  if (s === "infinity" || s === "inf") return Number.POSITIVE_INFINITY;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) return undefined;
    const factor = units[m[2] as string];
    if (factor === undefined) return undefined;
    total += Number(m[1]) * factor;
    pos = re.lastIndex;
  }
  // Avoid float noise such as 0.30000000000000004 from sums of parts.
  return Math.round(total * 1e6) / 1e6;
}
