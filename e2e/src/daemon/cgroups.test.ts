/**
 * Each managed process in a cgroup of its own, on the host (no systemd): the real daemon, the
 * real CLI, a process tree with a setsid'd grandchild and a memory hog. Checks what `describe`
 * and `stats` say, the OOM kill, the recovery after a daemon SIGKILL (exactly one instance, the
 * setsid'd leftover stopped too), `pm-cli stop` of the whole tree, and that a clean stop removes
 * the daemon's cgroups.
 */
import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { cliE2eSkipReason, runCli, waitFor } from "../cli/cli-support.js";
import {
  type DaemonDirs,
  type DaemonInstance,
  makeDaemonDirs,
  pidAlive,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";
import { cgroupDirsNamed, statField } from "../harness/marked.js";
import { processTree, sortedPids, type TreeRun, treeRuns } from "../harness/process-tree.js";

const tree = processTree();
const hogScript = "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));";

const config = [
  "processes:",
  tree.yaml("tree"),
  "  hog:",
  `    command: ${JSON.stringify(process.execPath)}`,
  `    args: ["-e", ${JSON.stringify(hogScript)}]`,
  "    resource_limits: {memory: 64M}",
  "    auto_start: true",
  "    restart: never",
  "",
].join("\n");

/** The pids listed in a cgroup's cgroup.procs, sorted. */
function cgroupProcs(cgroup: string): number[] {
  return readFileSync(join(cgroup, "cgroup.procs"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map(Number)
    .sort((a, b) => a - b);
}

/** Live (not zombie) processes on the machine running `sleep <seconds>`, sorted. */
function treeSleeps(): number[] {
  const want = `sleep\0${tree.seconds}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8") === want && pidAlive(Number(entry))) {
        out.push(Number(entry));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

describe("dd-procmgrd on the host: a cgroup per process (tree, OOM, crash recovery, stop)", {
  skip: cliE2eSkipReason(),
  timeout: 60_000,
}, () => {
  let dirs: DaemonDirs | undefined;
  let daemon: DaemonInstance | undefined;
  /** The daemon's startup line about cgroups, and why they are not used (then tests skip). */
  let cgroupLine = "";
  let noCgroups: string | false = false;
  let treeCgroup = "";
  let firstRun: TreeRun | undefined;
  let secondRun: TreeRun | undefined;

  const cli = async (...args: string[]): Promise<string> => {
    if (dirs === undefined) throw new Error("no daemon dirs");
    const r = await runCli(args, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: dirs.dir,
        PM_ADDRESS: `unix:${dirs.socketPath}`,
      },
    });
    assert.equal(r.code, 0, `pm-cli ${args.join(" ")}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const describeJson = async (name: string) =>
    JSON.parse(await cli("describe", name, "-o", "json")) as Record<string, unknown>;

  /** Every run tree printed in its stdout log so far. */
  const runs = (): TreeRun[] => {
    if (dirs === undefined) return [];
    try {
      return treeRuns(readFileSync(join(dirs.stateDir, "logs", "tree.stdout.log"), "utf8"));
    } catch {
      return [];
    }
  };
  const waitForRun = (n: number): Promise<TreeRun> =>
    waitFor(`run ${n} of tree to print its pids`, () => runs()[n - 1]);

  after(async () => {
    await stopAllDaemons();
    // Whatever a failed test left: the tree's processes, then its (now empty) cgroups.
    for (const pid of [...(firstRun ?? []), ...(secondRun ?? []), ...treeSleeps()]) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (treeCgroup !== "") {
      const base = dirname(treeCgroup);
      for (const dir of cgroupDirsNamed(basename(base))) {
        for (const child of ["tree.proc", "hog.proc", ""]) {
          try {
            rmdirSync(join(dir, child));
          } catch {
            // absent, or not empty yet
          }
        }
      }
    }
    if (dirs !== undefined) await removeDaemonDirs(dirs);
  });

  test("tree runs in a cgroup of its own: describe and stats say so", async (t) => {
    dirs = await makeDaemonDirs();
    daemon = await startDaemon({ dirs, config });
    cgroupLine = daemon.output().match(/^.*\bcgroups (active|not used).*$/m)?.[0] ?? "";
    assert.notEqual(cgroupLine, "", `no startup line about cgroups:\n${daemon.output()}`);
    if (/cgroups not used/.test(cgroupLine)) {
      noCgroups = `the daemon does not use cgroups here: ${cgroupLine}`;
      t.skip(noCgroups);
      return;
    }

    firstRun = await waitForRun(1);
    const [sh, setsidChild, plainChild] = firstRun;
    assert.equal(statField(setsidChild, 6), String(setsidChild), "own session");
    assert.notEqual(statField(sh, 6), String(setsidChild));

    const d = await describeJson("tree");
    assert.equal(d.pid, sh);
    const e = d.enforcement as Record<string, string | null>;
    assert.match(e.tracking ?? "", /^cgroup v[12]/);
    treeCgroup = e.cgroup ?? "";
    assert.match(treeCgroup, /^\/sys\/fs\/cgroup\/.+\/tree\.proc$/);
    assert.deepEqual(cgroupProcs(treeCgroup), sortedPids(firstRun));
    assert.ok(
      cgroupLine.includes(dirname(treeCgroup)),
      `startup line names the base: ${cgroupLine}`,
    );

    const s = JSON.parse(await cli("stats", "tree", "-o", "json")) as Record<string, unknown>;
    assert.equal(s.source, "cgroup");
    assert.ok((s.process_count as number) >= 3, `process_count ${s.process_count}`);
    if (/memory \(v[12]\)/.test(cgroupLine)) {
      assert.ok((s.memory_bytes as number) > 0, `memory_bytes ${s.memory_bytes}`);
      assert.ok((s.memory_peak_bytes as number) > 0, `memory_peak_bytes ${s.memory_peak_bytes}`);
    }
    assert.deepEqual(treeSleeps(), sortedPids([setsidChild, plainChild]));
  });

  test("hog is killed by the OOM killer at its 64M limit and ends failed", async (t) => {
    if (noCgroups !== false) return t.skip(noCgroups);
    if (!/memory \(v[12]\)/.test(cgroupLine)) {
      return t.skip(`memory limits are not enforced here: ${cgroupLine}`);
    }
    const d = await waitFor(
      "hog to end failed",
      async () => {
        const j = await describeJson("hog");
        return j.state === "failed" ? j : undefined;
      },
      30_000,
    );
    assert.equal(d.failure_reason, "killed by the OOM killer: memory limit 64 MiB");
    assert.equal(d.oom_kills, 1);
    assert.match((d.enforcement as Record<string, string>).memory ?? "", /^cgroup v[12] memory\./);
    const last = d.last_exit as Record<string, unknown>;
    assert.equal(last.oom_killed, true);
    assert.equal(last.signal, "SIGKILL");
  });

  test("after SIGKILL of the daemon, its restart stops the old tree and runs exactly one", async (t) => {
    if (noCgroups !== false) return t.skip(noCgroups);
    assert.ok(daemon !== undefined && dirs !== undefined && firstRun !== undefined);
    const crashed = await daemon.crash();
    assert.equal(crashed.signal, "SIGKILL");
    const [, setsidChild] = firstRun;
    assert.ok(pidAlive(setsidChild), "the setsid'd grandchild survives the daemon's SIGKILL");
    t.diagnostic(
      `alive after the daemon's SIGKILL: ${firstRun.filter(pidAlive).join(" ")} of ${firstRun.join(" ")}`,
    );

    daemon = await startDaemon({ dirs });
    // Recovery runs before the configured processes start: the old tree is gone by "ready".
    for (const pid of firstRun) assert.equal(pidAlive(pid), false, `old pid ${pid} still runs`);
    assert.match(
      daemon.output(),
      /stopped a leftover of the previous daemon (process_id=\S+ )?process=tree/,
    );

    secondRun = await waitForRun(2);
    for (const pid of secondRun) assert.ok(!firstRun.includes(pid));
    assert.deepEqual(cgroupProcs(treeCgroup), sortedPids(secondRun), "only the new tree's pids");
    assert.deepEqual(treeSleeps(), sortedPids(secondRun.slice(1)), "exactly one instance's sleeps");
    assert.equal((await describeJson("tree")).pid, secondRun[0]);
    assert.equal(runs().length, 2, "tree started once per daemon");
  });

  test("pm-cli stop tree stops the whole tree, the setsid'd grandchild too", async (t) => {
    if (noCgroups !== false) return t.skip(noCgroups);
    assert.ok(secondRun !== undefined);
    assert.equal(statField(secondRun[1], 6), String(secondRun[1]), "own session");
    await cli("stop", "tree");
    for (const pid of secondRun) assert.equal(pidAlive(pid), false, `pid ${pid} still runs`);
    assert.deepEqual(treeSleeps(), []);
    if (existsSync(treeCgroup)) assert.deepEqual(cgroupProcs(treeCgroup), []);
  });

  test("a clean stop removes the daemon's cgroups", async (t) => {
    if (noCgroups !== false) return t.skip(noCgroups);
    assert.ok(daemon !== undefined);
    const exit = await daemon.stop();
    assert.equal(exit.code, 0, daemon.output());
    const base = dirname(treeCgroup);
    assert.equal(existsSync(base), false, `${base} is left`);
    // The same subtree in the v1 hierarchies (memory, cpu, pids on a hybrid host).
    assert.deepEqual(cgroupDirsNamed(basename(base)), []);
  });
});
