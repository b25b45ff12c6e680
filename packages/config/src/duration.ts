import { ConfigError } from "./errors.js";

const units: Record<string, number> = {
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

export const durationExpected =
  'a duration: seconds (5, 0.5) or a string like "5s", "500ms", "1m30s", "2h", "infinity"';

function fail(v: unknown): never {
  throw ConfigError.fromIssues([
    {
      path: "",
      message: "invalid duration",
      expected: durationExpected,
      received: typeof v === "string" ? JSON.stringify(v) : String(v),
      code: "invalid",
    },
  ]);
}

/** Seconds from 5, "5", "5s", "500ms", "1m30s", "1m 30s", "infinity". Never negative. */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") {
    if (Number.isNaN(v) || v < 0) fail(v);
    return v;
  }
  if (typeof v !== "string") fail(v);
  const s = v.trim().toLowerCase();
  if (s === "") fail(v);
  if (s === "infinity" || s === "inf") return Number.POSITIVE_INFINITY;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) fail(v);
    const factor = units[m[2] as string];
    if (factor === undefined) fail(v);
    total += Number(m[1]) * factor;
    pos = re.lastIndex;
  }
  // Avoid float noise such as 0.30000000000000004 from sums of parts.
  return Math.round(total * 1e6) / 1e6;
}
