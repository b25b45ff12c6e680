/**
 * Runs one kind of config input through its parser in a worker thread, input after input. An
 * input that takes longer than `hangMs` is a hang: the worker is ended and a new one goes on
 * from the next input; a worker that dies (out of memory) is a crash of that input.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Verdict } from "./fuzz-config-check.js";
import type { InputKind, WorkerJob, WorkerResult } from "./fuzz-config-worker.js";
import { Failures, Tally } from "./fuzz-tally.js";

export const hangMs = 5000;

export interface KindStats {
  readonly kind: InputKind;
  readonly inputs: number;
  readonly verdicts: Tally;
  readonly reasons: Tally;
  readonly how: Tally;
  readonly failures: Failures;
  /** Verdict of each input (the daemon sample is checked against it). */
  readonly verdictOf: Map<number, Verdict | "hang">;
  slowestMs: number;
  slowestHow: string;
  bytes: number;
}

function newStats(kind: InputKind, inputs: number): KindStats {
  return {
    kind,
    inputs,
    verdicts: new Tally(),
    reasons: new Tally(),
    how: new Tally(),
    failures: new Failures(),
    verdictOf: new Map(),
    slowestMs: 0,
    slowestHow: "",
    bytes: 0,
  };
}

function record(s: KindStats, seed: number, m: WorkerResult): void {
  s.verdicts.add(m.verdict);
  s.verdictOf.set(m.index, m.verdict);
  s.how.add(m.how);
  s.bytes += m.bytes;
  if (m.verdict === "rejected") s.reasons.add(m.reason);
  if (m.ms > s.slowestMs) {
    s.slowestMs = m.ms;
    s.slowestHow = `#${m.index} (${m.how}, ${m.bytes} bytes)`;
  }
  const at = `${s.kind} input #${m.index} (seed ${seed}, ${m.how})`;
  if (m.verdict === "crash") s.failures.add("crash", `${at}: crash: ${m.detail ?? m.reason}`);
  if (m.verdict === "unlocated") {
    s.failures.add("unlocated", `${at}: rejection without location: ${m.detail ?? m.reason}`);
  }
  if (m.verdict === "unusable") {
    s.failures.add("unusable", `${at}: accepted what no process can be given: ${m.detail}`);
  }
  if (m.ms > hangMs) s.failures.add("slow", `${at}: took ${Math.round(m.ms)} ms`);
}

/** Runs inputs [from, count) in one worker until it ends; answers where the next one starts. */
function runWorker(job: WorkerJob, s: KindStats): Promise<number> {
  return new Promise((resolve) => {
    let next = job.from;
    let last = Date.now();
    let settled = false;
    const worker = new Worker(new URL("./fuzz-config-worker.js", import.meta.url), {
      workerData: job,
      // The daemon's main thread has about 1 MiB of stack; a bounded heap makes a bomb an error.
      resourceLimits: { stackSizeMb: 1, maxOldGenerationSizeMb: 1024 },
    });
    const fail = (kind: "hang" | "crash", why: string) => {
      s.verdicts.add(kind);
      s.verdictOf.set(next, kind);
      s.failures.add(kind, `${s.kind} input #${next} (seed ${job.seed}): ${why}`);
      next++;
    };
    const timer = setInterval(() => {
      if (Date.now() - last <= hangMs || settled) return;
      settled = true;
      fail("hang", `no answer within ${hangMs} ms`);
      void worker.terminate();
    }, 250);
    worker.on("message", (m: WorkerResult | "done") => {
      if (m === "done") {
        next = job.to;
        return;
      }
      record(s, job.seed, m);
      next = m.index + 1;
      last = Date.now();
    });
    worker.on("error", (e) => {
      if (!settled) fail("crash", `the parser's thread died: ${e.message}`);
      settled = true;
    });
    worker.on("exit", () => {
      clearInterval(timer);
      resolve(next);
    });
  });
}

/** Inputs 0..count-1 of `kind` under `seed`, through the real parser. */
export async function fuzzKind(
  kind: InputKind,
  count: number,
  seed: number,
  repoRoot: string,
): Promise<KindStats> {
  const s = newStats(kind, count);
  const dir = await mkdtemp(join(tmpdir(), `pm-fuzz-${kind}-`));
  try {
    let from = 0;
    while (from < count) from = await runWorker({ kind, seed, repoRoot, dir, from, to: count }, s);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return s;
}

/** The notes of one kind: verdicts, the top 5 rejection reasons, the slowest input. */
export function kindNotes(s: KindStats): string[] {
  return [
    `${s.kind}: ${s.inputs} inputs (${(s.bytes / 1048576).toFixed(1)} MiB; ${s.how.all()}): ${s.verdicts.all()}`,
    `${s.kind}: top rejections: ${s.reasons.top(5) || "none"}`,
    `${s.kind}: slowest ${Math.round(s.slowestMs)} ms ${s.slowestHow}`,
  ];
}
