/**
 * The config fuzzer's worker thread: makes inputs `from`..`to` of one kind from the seed and
 * runs each through its real parser, posting one result per input. It runs in a thread so that
 * an input that hangs the parser (or eats its memory) can be timed out and the run goes on.
 */
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import {
  checkConfigFile,
  checkEnvironmentFile,
  checkHostProfile,
  type Outcome,
} from "./fuzz-config-check.js";
import { configInput, configSeeds, envInput, profileInput } from "./fuzz-config-inputs.js";
import { inputRng } from "./fuzz-random.js";

export type InputKind = "config" | "env" | "profile";

export interface WorkerJob {
  readonly kind: InputKind;
  readonly seed: number;
  readonly repoRoot: string;
  /** A directory of the worker's own (config files are written there). */
  readonly dir: string;
  readonly from: number;
  readonly to: number;
}

export interface WorkerResult extends Outcome {
  readonly index: number;
  readonly how: string;
  readonly bytes: number;
  readonly ms: number;
}

async function run(job: WorkerJob): Promise<void> {
  const seeds = job.kind === "config" ? configSeeds(job.repoRoot) : undefined;
  const path = join(job.dir, "processes.yaml");
  for (let index = job.from; index < job.to; index++) {
    const r = inputRng(job.seed, job.kind, index);
    const t0 = performance.now();
    let outcome: Outcome;
    let how: string;
    let size: number;
    if (seeds !== undefined) {
      const input = configInput(r, seeds);
      ({ how } = input);
      size = input.bytes.length;
      outcome = await checkConfigFile(path, input.bytes);
    } else if (job.kind === "env") {
      const input = envInput(r);
      ({ how } = input);
      size = input.bytes.length;
      outcome = checkEnvironmentFile(input.bytes);
    } else {
      const input = profileInput(r);
      how = `${input.ext} ${input.how}`;
      size = input.bytes.length;
      outcome = checkHostProfile(`/fuzz/hosts/rover.${input.ext}`, input.bytes);
    }
    const result: WorkerResult = {
      ...outcome,
      index,
      how,
      bytes: size,
      ms: performance.now() - t0,
    };
    parentPort?.postMessage(result);
  }
}

run(workerData as WorkerJob).then(
  () => parentPort?.postMessage("done"),
  (e: unknown) => {
    throw e;
  },
);
