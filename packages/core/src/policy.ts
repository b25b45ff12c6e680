/**
 * Pure restart policy: no processes, no clocks. The supervisor feeds these with its state.
 */
import type { RestartPolicy } from "@procmgr/config";

/** A run that stayed up this long (or the delay before it, if longer) resets the failure counter. */
export const failureResetMinMs = 10_000;

/** What restartDecision needs to know about an exit. */
export interface ExitFacts {
  /** Exit code in success_exit_status (or a clean stop by us). */
  readonly success: boolean;
  /** A manual stop, reload or shutdown: never restarted. */
  readonly stoppedByUs: boolean;
}

/** Whether an exit is followed by an automatic restart under `policy`. */
export function restartDecision(policy: RestartPolicy, exit: ExitFacts): boolean {
  if (exit.stoppedByUs) return false;
  switch (policy) {
    case "never":
      return false;
    case "always":
      return true;
    case "on-failure":
      return !exit.success;
    case "on-success":
      return exit.success;
  }
}

/**
 * restart_sec × 2^(consecutiveFailures − 1), capped at restart_max_delay_sec (never below
 * restart_sec). 0 or 1 failure gives restart_sec; restart_sec 0 means "restart immediately".
 */
export function backoffDelayMs(
  restartSec: number,
  restartMaxDelaySec: number,
  consecutiveFailures: number,
): number {
  if (!(restartSec > 0)) return 0;
  const exponent = Math.max(0, Math.min(consecutiveFailures, 64) - 1);
  const cap = Math.max(restartSec, restartMaxDelaySec);
  return Math.round(Math.min(restartSec * 2 ** exponent, cap) * 1000);
}

/**
 * How long a run must stay up for the consecutive-failure counter to reset:
 * max(10 s, the delay that preceded the run).
 */
export function failureResetAfterMs(
  precedingDelayMs: number,
  minimumMs: number = failureResetMinMs,
): number {
  return Math.max(minimumMs, precedingDelayMs);
}

/** The starts of `starts` (ms timestamps) still inside the window ending at `at`. */
export function startsInWindow(
  starts: readonly number[],
  at: number,
  intervalSec: number,
): number[] {
  const from = at - intervalSec * 1000;
  return starts.filter((t) => t > from && t <= at);
}

/**
 * True when one more start at `at` would make more than `burst` starts within the sliding
 * window of `intervalSec` seconds. burst ≤ 0 or interval ≤ 0 disables the limit.
 */
export function startLimitExceeded(
  starts: readonly number[],
  at: number,
  burst: number,
  intervalSec: number,
): boolean {
  if (!(burst > 0) || !(intervalSec > 0)) return false;
  const from = at - intervalSec * 1000;
  let inWindow = 0;
  // Oldest first: count back from the newest until the window's start.
  for (let i = starts.length - 1; i >= 0 && (starts[i] as number) > from; i--) {
    if ((starts[i] as number) <= at) inWindow++;
  }
  return inWindow + 1 > burst;
}

/**
 * Forgets, in place, the starts (oldest first) that can no longer count toward the limit of a
 * start at `at` or later: those before the window ending at `at`, and all but the last `burst`
 * (more would not change `startLimitExceeded`'s answer). A crash loop's history stays bounded
 * and costs no new array per start. With the limit disabled nothing needs keeping.
 */
export function forgetOldStarts(
  starts: number[],
  at: number,
  burst: number,
  intervalSec: number,
): void {
  const keep = burst > 0 && intervalSec > 0 ? burst : 0;
  const from = at - intervalSec * 1000;
  while (starts.length > 0 && (starts.length > keep || (starts[0] as number) <= from)) {
    starts.shift();
  }
}
