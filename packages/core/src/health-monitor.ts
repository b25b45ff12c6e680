/**
 * The health of one running process: its check run every `interval`, results counted as Docker
 * and process-compose count them, and a restart asked for after `restart_after` failures in a
 * row. The monitor decides nothing about the process: it answers a status, calls
 * `onRestartNeeded` and lets waiters know when the process is healthy; the supervisor acts.
 *
 * - `unknown` until the first counted result, then `healthy`, or `unhealthy` once `retries`
 *   failures in a row are counted (fewer leave the status as it was).
 * - During `start_period` after `start()` failures are not counted (the result is still the
 *   last result); a success counts and ends the start period.
 * - The first check runs at `start()`; each next one `interval` after the previous one
 *   finished, so checks never overlap. One timer per monitor, refreshed; none once stopped.
 * - `restart_after` > 0: at that many failures in a row the monitor stops itself and calls
 *   `onRestartNeeded(reason)` once; the supervisor restarts the process and `start()`s it again
 *   (counters reset, a new start period).
 *
 * `nextHealth` is the counting, pure; the class is the timer, the probe and the callbacks.
 */
import type { HealthCheck } from "@procmgr/config";
import { SupervisorError } from "./errors.js";
import {
  maxTimerMs,
  type ProbeResult,
  type ProbeTarget,
  type ResolvedProbe,
  resolveProbe,
  startProbe,
} from "./health-probe.js";

export type HealthStatus = "unknown" | "healthy" | "unhealthy";

/** A monitor's state, as `snapshot()` and `onChange` give it. */
export interface HealthSnapshot {
  readonly status: HealthStatus;
  readonly consecutiveFailures: number;
  readonly lastResult?: ProbeResult;
  readonly lastCheckAt?: Date;
}

/** What a result moves. */
export interface HealthCounters {
  readonly status: HealthStatus;
  readonly consecutiveFailures: number;
}

/** The counters after one result, whether it counted, and whether a restart is due. */
export interface HealthStep extends HealthCounters {
  /** False for a failure during the start period. */
  readonly counted: boolean;
  /** `restart_after` failures in a row reached with this result. */
  readonly restart: boolean;
}

/**
 * One result counted: a success makes the process healthy (and resets the failures); a failure
 * outside the start period adds one, and makes it unhealthy at `retries`. Pure.
 */
export function nextHealth(
  counters: HealthCounters,
  ok: boolean,
  inStartPeriod: boolean,
  policy: Pick<HealthCheck, "retries" | "restartAfter">,
): HealthStep {
  if (ok) return { status: "healthy", consecutiveFailures: 0, counted: true, restart: false };
  if (inStartPeriod) return { ...counters, counted: false, restart: false };
  const failures = counters.consecutiveFailures + 1;
  return {
    status: failures >= policy.retries ? "unhealthy" : counters.status,
    consecutiveFailures: failures,
    counted: true,
    restart: policy.restartAfter > 0 && failures >= policy.restartAfter,
  };
}

export interface HealthMonitorOptions {
  readonly check: HealthCheck;
  /** Who an exec check runs as and with (the process's identity and environment). */
  readonly target?: ProbeTarget | undefined;
  /** The status, the failure count, or the last result's verdict or detail changed. */
  readonly onChange?: ((snapshot: HealthSnapshot) => void) | undefined;
  /** `restart_after` failures in a row: called once; the monitor has stopped itself. */
  readonly onRestartNeeded?: ((reason: string) => void) | undefined;
}

function count(field: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new SupervisorError(
      "invalid-argument",
      `health_check.${field}: expected an integer >= ${min}, received ${value}`,
    );
  }
  return value;
}

export class HealthMonitor {
  readonly check: HealthCheck;
  private readonly probe: ResolvedProbe;
  private readonly intervalMs: number;
  private readonly startPeriodMs: number;
  private readonly policy: Pick<HealthCheck, "retries" | "restartAfter">;
  private readonly onChange: ((snapshot: HealthSnapshot) => void) | undefined;
  private readonly onRestartNeeded: ((reason: string) => void) | undefined;

  private status: HealthStatus = "unknown";
  private failures = 0;
  private last: ProbeResult | undefined;
  /** Date.now() of the last result; 0 before the first. */
  private lastAt = 0;
  /** performance.now() at which the start period ends (or ended). */
  private startPeriodEnd = 0;
  private startPeriodOver = true;
  private active = false;
  /** Bumped by start() and stop(): a result of an earlier run is dropped. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private cancelInFlight: (() => void) | undefined;
  private waiters: Set<() => void> | undefined;
  private readonly tick = (): void => this.runCheck();

  /** Validates the check (a SupervisorError "invalid-argument" names the field). */
  constructor(options: HealthMonitorOptions) {
    const { check } = options;
    this.check = check;
    this.probe = resolveProbe(check, options.target);
    if (!(check.intervalSec > 0)) {
      throw new SupervisorError(
        "invalid-argument",
        `health_check.interval: expected a duration above 0, received ${check.intervalSec}`,
      );
    }
    if (!(check.startPeriodSec >= 0)) {
      throw new SupervisorError(
        "invalid-argument",
        `health_check.start_period: expected a duration >= 0, received ${check.startPeriodSec}`,
      );
    }
    this.intervalMs = Math.min(check.intervalSec * 1000, maxTimerMs);
    this.startPeriodMs = check.startPeriodSec * 1000;
    this.policy = {
      retries: count("retries", check.retries, 1),
      restartAfter: count("restart_after", check.restartAfter, 0),
    };
    this.onChange = options.onChange;
    this.onRestartNeeded = options.onRestartNeeded;
  }

  /** Whether checks are running (between start() and stop(), or the restart it asked for). */
  get running(): boolean {
    return this.active;
  }

  /**
   * Starts checking, from `unknown` with a new start period; the first check runs now. Does
   * nothing when already running.
   */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.generation++;
    const changed = this.status !== "unknown" || this.failures !== 0 || this.last !== undefined;
    this.status = "unknown";
    this.failures = 0;
    this.last = undefined;
    this.lastAt = 0;
    this.startPeriodEnd = performance.now() + this.startPeriodMs;
    this.startPeriodOver = this.startPeriodMs <= 0;
    this.runCheck();
    if (changed) this.onChange?.(this.snapshot());
  }

  /**
   * Stops checking: clears the timer and cancels a check in flight (an exec check's process
   * group is SIGKILLed now). Idempotent. The snapshot keeps the last state until `start()`.
   */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.generation++;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const cancel = this.cancelInFlight;
    this.cancelInFlight = undefined;
    cancel?.();
  }

  snapshot(): HealthSnapshot {
    const s: {
      status: HealthStatus;
      consecutiveFailures: number;
      lastResult?: ProbeResult;
      lastCheckAt?: Date;
    } = { status: this.status, consecutiveFailures: this.failures };
    if (this.last !== undefined) s.lastResult = this.last;
    if (this.lastAt !== 0) s.lastCheckAt = new Date(this.lastAt);
    return s;
  }

  /**
   * Resolves when the process is healthy: now (running and healthy), or at the next result that
   * makes it so, across stop/start (as when the process is restarted). Rejects with `signal`'s
   * reason when it is aborted first: the waiter decides how long to wait.
   */
  whenHealthy(signal?: AbortSignal): Promise<void> {
    if (this.active && this.status === "healthy") return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters?.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = (): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.waiters ??= new Set();
      this.waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private runCheck(): void {
    const generation = this.generation;
    this.cancelInFlight = startProbe(this.probe, (result) => this.record(generation, result));
  }

  private record(generation: number, result: ProbeResult): void {
    if (generation !== this.generation) return; // stopped (or restarted) meanwhile
    this.cancelInFlight = undefined;
    if (!this.startPeriodOver && performance.now() >= this.startPeriodEnd) {
      this.startPeriodOver = true;
    }
    const step = nextHealth(
      { status: this.status, consecutiveFailures: this.failures },
      result.ok,
      !this.startPeriodOver,
      this.policy,
    );
    const previous = this.last;
    const changed =
      step.status !== this.status ||
      step.consecutiveFailures !== this.failures ||
      previous === undefined ||
      previous.ok !== result.ok ||
      previous.detail !== result.detail;
    const becameHealthy = step.status === "healthy" && this.status !== "healthy";
    this.status = step.status;
    this.failures = step.consecutiveFailures;
    this.last = result;
    this.lastAt = Date.now();
    if (result.ok) this.startPeriodOver = true;

    if (step.restart) this.stop();
    else if (this.timer === undefined) this.timer = setTimeout(this.tick, this.intervalMs);
    else this.timer.refresh();

    if (becameHealthy && this.waiters !== undefined) {
      const waiters = this.waiters;
      this.waiters = undefined;
      for (const w of waiters) w();
    }
    try {
      if (changed) this.onChange?.(this.snapshot());
    } finally {
      if (step.restart) {
        this.onRestartNeeded?.(
          `health check failed ${step.consecutiveFailures} times in a row (restart_after ${this.policy.restartAfter}): ${result.detail}`,
        );
      }
    }
  }
}
