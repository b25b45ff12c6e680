import { durationExpected, parseDurationSeconds } from "@procmgr/platform";
import { ConfigError } from "./errors.js";

export { durationExpected };

/**
 * Seconds from 5, "5", "5s", "500ms", "1m30s", "1m 30s", "infinity" (@procmgr/platform's one
 * parser). Never negative. Throws a ConfigError "invalid duration" otherwise.
 */
export function parseDuration(v: string | number): number {
  const seconds = parseDurationSeconds(v);
  if (seconds !== undefined) return seconds;
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
