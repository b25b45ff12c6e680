/**
 * Disk full and read-only: the daemon's state directory (its persisted API processes, run
 * records, pipes) and a log directory, each on a small tmpfs the scenario mounts, filled up (odd
 * rounds: both) or remounted read-only (even rounds: the state directory; the kernel refuses a
 * read-only remount while a file is open for writing, so the processes writing logs write them
 * to the other filesystem) while processes run, log and crash-loop. Checked at each fault:
 * processes.json is never truncated or empty (the last good one stays), the daemon keeps
 * supervising (the crash-looping process is restarted, the logging one keeps its pid), API
 * changes made meanwhile are saved once the disk can be written, and the logging process's lines
 * are all in its log file, in order, once it can be written again.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDaemonDirs, pidAlive, removeDaemonDirs, startDaemon } from "../harness/daemon.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./suite.js";

const config = (logs: string) => `processes:
  ticker:
    command: /bin/sh
    args: ["-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.005; done"]
    auto_start: true
    restart: always
    stdout: ${logs}/ticker.log
    stderr: ${logs}/ticker.err
  flapper:
    command: /bin/sh
    args: ["-c", "sleep 0.3; exit 1"]
    auto_start: true
    restart: always
    restart_sec: 0.1
    restart_max_delay_sec: 0.2
    start_limit_interval_sec: 0
    stdout: null
    stderr: null
`;

/** An API process that keeps no file open on the state directory. */
const apiSpec = (name: string) => ({ name, command: "sleep 300", stdout: "null", stderr: "null" });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The names in processes.json, or why it is not a whole, valid file. */
function saved(stateDir: string): string[] | string {
  let text: string;
  try {
    text = readFileSync(join(stateDir, "processes.json"), "utf8");
  } catch (e) {
    return `processes.json unreadable: ${(e as Error).message}`;
  }
  if (text.trim() === "") return "processes.json is empty";
  try {
    const body = JSON.parse(text) as { processes: { name: string }[] };
    return body.processes.map((p) => p.name).sort();
  } catch (e) {
    return `processes.json is not whole: ${(e as Error).message}`;
  }
}

/** Writes 1 MiB blocks to `file` until the filesystem is full. */
function fill(file: string): void {
  const block = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) writeFileSync(file, block, { flag: "a" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  }
}

/** Lines "line N" of the ticker's log: how many of 1..last are missing or out of order. */
function lostLines(text: string): { lines: number; lost: number } {
  let expect = 1;
  let lost = 0;
  let lines = 0;
  for (const l of text.split("\n")) {
    const m = /^line (\d+)$/.exec(l);
    if (!m) continue;
    const n = Number(m[1]);
    if (n !== expect) lost += Math.abs(n - expect);
    expect = n + 1;
    lines++;
  }
  return { lines, lost };
}

export const diskFull: Scenario = {
  name: "disk-full",
  skip: () => (process.getuid?.() === 0 ? false : "mounts a tmpfs: needs root"),
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const rounds = ctx.short ? 2 : 6;
    const dirs = await makeDaemonDirs();
    const logs = join(dirs.dir, "logs");
    for (const mount of [dirs.stateDir, logs]) {
      mkdirSync(mount);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "procmgr-fault", mount]);
    }
    const failures: string[] = [];
    let faults = 0;
    const d = await startDaemon({ config: config(logs), dirs });
    try {
      const c = await d.connect("unix");
      const pidOf = async (id: string) => (await c.client.describe({ id })).process?.pid ?? 0;
      const runsOf = async (id: string) => (await c.client.describe({ id })).process?.runCount ?? 0;
      await until("the ticker", async () => (await pidOf("ticker")) > 0);
      const ticker = await pidOf("ticker");
      await c.client.create({ spec: apiSpec("api-0") });
      await until("api-0 saved", () => saved(dirs.stateDir).includes("api-0"));
      const fillers = [join(dirs.stateDir, "filler"), join(logs, "filler")];
      for (let round = 1; round <= rounds; round++) {
        const readOnly = round % 2 === 0;
        const before = saved(dirs.stateDir);
        if (readOnly) execFileSync("mount", ["-o", "remount,ro", dirs.stateDir]);
        else for (const f of fillers) fill(f);
        faults++;
        ctx.log(`round ${round}: ${readOnly ? "read-only" : "full"}`);
        const name = `api-${round}`;
        await c.client.create({ spec: apiSpec(name) });
        const flaps = await runsOf("flapper");
        await sleep(2000);
        const during = saved(dirs.stateDir);
        if (JSON.stringify(during) !== JSON.stringify(before)) {
          failures.push(
            `round ${round}: processes.json changed while it could not be written: ${during}`,
          );
        }
        if ((await runsOf("flapper")) < flaps + 2) {
          const said = d
            .output()
            .split("\n")
            .filter((l) => / process=flapper/.test(l));
          failures.push(
            `round ${round}: the crash-looping process was not restarted: ${said.slice(-3).join(" | ")}`,
          );
        }
        if ((await pidOf("ticker")) !== ticker)
          failures.push(`round ${round}: the ticker restarted`);
        if (readOnly) execFileSync("mount", ["-o", "remount,rw", dirs.stateDir]);
        else for (const f of fillers) rmSync(f);
        await until(`${name} saved once space returned`, () => saved(dirs.stateDir).includes(name));
      }
      await sleep(1500); // the log files' retry (every second) writes what waited
      await c.client.stop({ id: "ticker" });
      const log = readFileSync(join(logs, "ticker.log"), "utf8");
      const { lines, lost } = lostLines(log);
      if (log.includes("[procmgr]")) failures.push("the ticker's log marks lost output");
      const alive = pidAlive(d.pid);
      if (!alive) failures.push("the daemon died");
      return {
        inputs: rounds + 1,
        faults,
        lostLines: lost,
        crashes: alive ? 0 : 1,
        notes: [`${lines} ticker lines checked in order across ${rounds} faults`],
        failures,
      };
    } catch (e) {
      if (!pidAlive(d.pid)) {
        const tail = d.output().split("\n").slice(-15).join("\n");
        throw new Error(`the daemon died (${(e as Error).message}); its last lines:\n${tail}`);
      }
      throw e;
    } finally {
      await d.stop().catch(() => {});
      for (const mount of [dirs.stateDir, logs]) execFileSync("umount", ["-l", mount]);
      await removeDaemonDirs(dirs);
    }
  },
};
