/**
 * A sample of the fuzzed files through the real daemon: `dd-procmgrd --check-config FILE`
 * agrees with the library (a rejected file exits 1 naming the file, without a stack trace), a
 * running daemon's ReloadConfig of a rejected file fails with FAILED_PRECONDITION naming the
 * problem and changes nothing that runs (an accepted one is reloaded as a dry run), and a
 * process whose environment_file is a fuzzed file starts, or fails saying why. The daemon runs
 * as nobody: what a fuzzed file could make it do reaches no further.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ProcessManagerClient, ProcessState } from "@procmgr/rpc";
import {
  type DaemonInstance,
  daemonBin,
  daemonExecutable,
  pidAlive,
  removeDaemonDirs,
  startDaemon,
} from "../harness/daemon.js";
import { type CommandResult, runCommand } from "../harness/run-command.js";
import type { Verdict } from "./fuzz-config-check.js";
import { type ConfigSeeds, configInput, envInput } from "./fuzz-config-inputs.js";
import { inputRng } from "./fuzz-random.js";
import { Failures, Tally } from "./fuzz-tally.js";

/** The user fuzzed daemons run as. */
export const fuzzUser = { uid: 65534, gid: 65534 } as const;

const callTimeoutMs = 30_000;

/** `n` indices spread evenly over 0..count-1. */
export function sampleIndices(count: number, n: number): number[] {
  const k = Math.min(n, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * count) / k));
}

function baseConfig(envFile: string): string {
  return `processes:
  steady:
    command: /bin/sleep 1000
    auto_start: true
  envuser:
    command: /bin/true
    process_type: oneshot
    environment_file: ${envFile}
`;
}

/** What runs: every process's name, id, pid and state. */
async function snapshot(client: ProcessManagerClient): Promise<string> {
  const { processes } = await client.list({}, { timeoutMs: callTimeoutMs });
  return processes
    .map((p) => `${p.name}:${p.id}:${p.pid}:${p.state}`)
    .sort()
    .join(" ");
}

function checkConfigCommand(file: string): Promise<CommandResult> {
  const [cmd, ...pre] = existsSync(daemonExecutable)
    ? [daemonExecutable]
    : [process.execPath, daemonBin];
  return runCommand(cmd as string, [...pre, "--check-config", file], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    uid: fuzzUser.uid,
    gid: fuzzUser.gid,
    timeoutMs: callTimeoutMs,
  });
}

/** Why `--check-config` did not answer as the library did (undefined: it did). */
function checkConfigProblem(r: CommandResult, file: string, verdict: Verdict): string | undefined {
  if (r.signal !== null) return `killed by ${r.signal} (hung past ${callTimeoutMs} ms?)`;
  if (/\n\s+at /.test(r.stderr)) return `a stack trace: ${r.stderr.slice(0, 300)}`;
  if (verdict === "accepted" || verdict === "unusable") {
    // Valid for the library; the host may still lack a user or group it names.
    if (r.code === 0 || (r.code === 1 && r.stderr.trim() !== "")) return undefined;
    return `exit ${r.code} for a valid file: ${r.stderr.slice(0, 300)}`;
  }
  if (r.code !== 1) return `exit ${r.code} for a rejected file`;
  if (!r.stderr.includes(file))
    return `the error does not name the file: ${r.stderr.slice(0, 300)}`;
  return undefined;
}

export interface DaemonSample {
  readonly checks: number;
  readonly reloads: number;
  readonly envStarts: number;
  readonly crashes: number;
  readonly failures: Failures;
  readonly notes: string[];
}

interface SampleState {
  readonly d: DaemonInstance;
  readonly client: ProcessManagerClient;
  readonly failures: Failures;
  readonly outcomes: Tally;
}

async function reloadOne(st: SampleState, bytes: Buffer, verdict: Verdict, at: string) {
  const before = await snapshot(st.client);
  await writeFile(st.d.configPath, bytes);
  const dryRun = verdict === "accepted" || verdict === "unusable";
  try {
    await st.client.reloadConfig({ dryRun }, { timeoutMs: callTimeoutMs });
    st.outcomes.add(dryRun ? "reload dry-run ok" : "reload ok");
    if (!dryRun) st.failures.add("reload", `${at}: a file the library rejects was applied`);
  } catch (e) {
    const ce = ConnectError.from(e);
    st.outcomes.add(`reload ${Code[ce.code]}`);
    if (dryRun || ce.code !== Code.FailedPrecondition || !ce.rawMessage.includes(st.d.configPath)) {
      st.failures.add("reload", `${at}: reload answered ${ce.code} ${ce.rawMessage.slice(0, 300)}`);
    }
  }
  const after = await snapshot(st.client);
  if (after !== before)
    st.failures.add("changed", `${at}: what runs changed: ${before} -> ${after}`);
}

async function envStart(st: SampleState, bytes: Buffer, envFile: string, at: string) {
  await writeFile(envFile, bytes);
  try {
    const { process: p } = await st.client.start({ id: "envuser" }, { timeoutMs: callTimeoutMs });
    const state = ProcessState[p?.state ?? ProcessState.UNSPECIFIED];
    st.outcomes.add(`env start ${state}`);
    if (p?.state !== ProcessState.EXITED && !p?.failureReason.includes(envFile)) {
      st.failures.add("env", `${at}: ${state} without naming the file: ${p?.failureReason}`);
    }
  } catch (e) {
    const ce = ConnectError.from(e);
    st.outcomes.add(`env start ${Code[ce.code]}`);
    if (!ce.rawMessage.includes(envFile)) {
      st.failures.add("env", `${at}: a failed start does not name the file: ${ce.rawMessage}`);
    }
  }
}

/** Runs the sample; `verdictOf` is the library's verdict of each config input. */
export async function fuzzThroughDaemon(opts: {
  readonly seed: number;
  readonly seeds: ConfigSeeds;
  readonly configCount: number;
  readonly envCount: number;
  readonly sample: number;
  readonly verdictOf: ReadonlyMap<number, Verdict | "hang">;
}): Promise<DaemonSample> {
  const failures = new Failures();
  const outcomes = new Tally();
  const d = await startDaemon({ config: "processes: {}\n", user: fuzzUser });
  const envFile = join(d.dir, "fuzz.env");
  try {
    await writeFile(envFile, "A=1\n");
    const base = baseConfig(envFile);
    await writeFile(d.configPath, base);
    const client = (await d.connect("unix")).client;
    await client.reloadConfig({ dryRun: false });
    const st: SampleState = { d, client, failures, outcomes };
    const configSample = sampleIndices(opts.configCount, opts.sample);
    for (let k = 0; k < configSample.length; k += 2) {
      const pair = configSample.slice(k, k + 2).map((index) => {
        const bytes = configInput(inputRng(opts.seed, "config", index), opts.seeds).bytes;
        const verdict = opts.verdictOf.get(index) ?? "crash";
        return { index, bytes, verdict, at: `config input #${index} (seed ${opts.seed})` };
      });
      await Promise.all(
        pair.map(async (p, n) => {
          const file = join(d.dir, `check-${n}.yaml`);
          await writeFile(file, p.bytes);
          const problem = checkConfigProblem(
            await checkConfigCommand(file),
            file,
            p.verdict as Verdict,
          );
          if (problem !== undefined)
            failures.add("check-config", `${p.at}: --check-config: ${problem}`);
        }),
      );
      for (const p of pair)
        if (p.verdict !== "hang") await reloadOne(st, p.bytes, p.verdict as Verdict, p.at);
    }
    await writeFile(d.configPath, base);
    await client.reloadConfig({ dryRun: false });
    const envSample = sampleIndices(opts.envCount, opts.sample);
    for (const index of envSample) {
      const bytes = envInput(inputRng(opts.seed, "env", index)).bytes;
      await envStart(st, bytes, envFile, `env input #${index} (seed ${opts.seed})`);
    }
    await snapshot(client);
    const alive = pidAlive(d.pid);
    if (!alive) failures.add("crash", "the daemon died");
    return {
      checks: configSample.length,
      reloads: configSample.length,
      envStarts: envSample.length,
      crashes: alive ? 0 : 1,
      failures,
      notes: [`daemon: ${outcomes.all()}`],
    };
  } finally {
    await d.stop();
    await removeDaemonDirs(d);
  }
}
