import { constants } from "node:os";
import { ConfigError } from "./errors.js";

const byName = constants.signals as Readonly<Record<string, number>>;
const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, num] of Object.entries(byName)) {
  if (!byNumber.has(num)) byNumber.set(num, name as NodeJS.Signals);
}

function fail(v: unknown): never {
  throw ConfigError.fromIssues([
    {
      path: "",
      message: "unknown signal",
      expected: 'a signal name ("SIGTERM", "TERM") or number (15)',
      received: typeof v === "string" ? JSON.stringify(v) : String(v),
      code: "invalid",
    },
  ]);
}

/** "SIGTERM" | "sigterm" | "TERM" | "15" | 15 → "SIGTERM"; throws ConfigError otherwise. */
export function parseSignal(v: string | number): NodeJS.Signals {
  if (typeof v === "number") {
    const name = Number.isInteger(v) ? byNumber.get(v) : undefined;
    if (name === undefined) fail(v);
    return name;
  }
  if (typeof v !== "string") fail(v);
  const s = v.trim().toUpperCase();
  if (/^\d+$/.test(s)) return parseSignal(Number(s));
  const name = s.startsWith("SIG") ? s : `SIG${s}`;
  if (byName[name] === undefined) fail(v);
  return name as NodeJS.Signals;
}

/** The number of a signal name (for messages and round trips). */
export function signalNumber(name: NodeJS.Signals): number | undefined {
  return byName[name];
}
