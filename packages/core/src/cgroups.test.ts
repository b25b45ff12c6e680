import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import {
  cgroupsSkip,
  fixture,
  isGone,
  supervisorFactory,
  tempDir,
  testConfig,
  waitOutput,
  waitState,
} from "./harness.js";
import { prelude } from "./prelude.js";
import { readProcStat } from "./proc-fs.js";
import type { Supervisor } from "./supervisor.js";

const { newSupervisor } = supervisorFactory();

function pidsFrom(m: RegExpExecArray): number[] {
  return (m[1] ?? "").trim().split(" ").map(Number);
}

/** The cgroup file that enforces `limit` for process `name` (from describe's enforcement). */
function limitFile(sup: Supervisor, name: string, file: string): string {
  const e = sup.get(name).enforcement;
  assert.ok(e.cgroup, "the process has a cgroup");
  const v2 = join(e.cgroup, file);
  if (existsSync(v2)) return readFileSync(v2, "utf8").trim();
  // cgroup v1: the same name in the controller's hierarchy, beside the tracker's base.
  const leaf = e.cgroup.split("/").slice(-2).join("/");
  const controller = file.startsWith("cpu.") ? "cpu" : (file.split(".")[0] ?? "");
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (!line.includes(" - cgroup ") || !(f.at(-1) ?? "").split(",").includes(controller)) continue;
    const own = readFileSync("/proc/self/cgroup", "utf8")
      .split("\n")
      .find((l) => l.split(":")[1]?.split(",").includes(controller))
      ?.split(":")[2];
    const dir = own === "/" || own === undefined ? f[4] : join(f[4] ?? "", own, "..");
    return readFileSync(join(dir ?? "", leaf, file), "utf8").trim();
  }
  throw new Error(`no ${file} for ${name}`);
}

/** Skips the test unless the host enforces `kind` (this host: through cgroup v1). */
async function needLimit(t: TestContext, sup: Supervisor, kind: string): Promise<boolean> {
  const status = await sup.cgroupStatus();
  if (status.active && status.summary.includes(`${kind} (v`)) return true;
  t.skip(`no ${kind} controller here: ${status.summary}`);
  return false;
}

describe("cgroups", { skip: cgroupsSkip() }, () => {
  it("a child that left its process group (setsid) is in the cgroup and gone after stop", async () => {
    const sup = newSupervisor();
    assert.equal((await sup.cgroupStatus()).active, true);
    await sup.create(testConfig("tree", ["sh", fixture("setsid-tree.sh")]));
    const out = waitOutput(sup, "tree", /pids ([\d ]+)\n/);
    await sup.start("tree");
    const pids = pidsFrom(await out);
    const escaped = pids[2] ?? 0;
    assert.notEqual(readProcStat(escaped)?.pgrp, pids[0], "the setsid'd child left the group");
    const info = sup.get("tree");
    assert.equal(info.config.killMode, "control-group");
    assert.match(info.enforcement.tracking, /^cgroup v[12]$/);
    const members = readFileSync(join(info.enforcement.cgroup ?? "", "cgroup.procs"), "utf8");
    for (const pid of pids)
      assert.ok(members.split("\n").includes(String(pid)), `${pid} in cgroup`);
    await sup.stop("tree");
    for (const pid of pids) assert.ok(isGone(pid), `pid ${pid} survived the stop`);
    assert.equal(existsSync(info.enforcement.cgroup ?? ""), false, "the cgroup is removed");
  });

  it("kill_mode process-group keeps its meaning: a child that left the group survives", async () => {
    const sup = newSupervisor();
    await sup.create(
      testConfig("pg", ["sh", fixture("setsid-tree.sh")], { killMode: "process-group" }),
    );
    const out = waitOutput(sup, "pg", /pids ([\d ]+)\n/);
    await sup.start("pg");
    const pids = pidsFrom(await out);
    await sup.stop("pg");
    const escaped = pids[2] ?? 0;
    try {
      assert.equal(isGone(escaped), false, "process-group stops only the group");
      assert.ok(isGone(pids[0] ?? 0) && isGone(pids[1] ?? 0));
    } finally {
      process.kill(escaped, "SIGKILL");
    }
  });

  it("a main process's exit takes the whole cgroup with it", async () => {
    const sup = newSupervisor();
    const script = 'setsid sleep 1000 & echo "pids $!"; sleep 0.2';
    await sup.create(testConfig("leaver", ["sh", "-c", script]));
    const out = waitOutput(sup, "leaver", /pids (\d+)\n/);
    const exited = waitState(sup, "leaver", "exited");
    await sup.start("leaver");
    const [child] = pidsFrom(await out);
    await exited;
    assert.ok(isGone(child ?? 0), "the setsid'd child is gone with the main process");
  });

  it("memory limit: the OOM kill is named, counted, and counts as a failure", async (t) => {
    const sup = newSupervisor();
    if (!(await needLimit(t, sup, "memory"))) return;
    const hog = "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));";
    await sup.create(
      testConfig("hog", [process.execPath, "-e", hog], {
        resourceLimits: { memoryBytes: 64 * 1024 * 1024 },
      }),
    );
    const failed = waitState(sup, "hog", "failed");
    await sup.start("hog");
    const info = await failed;
    assert.equal(info.failureReason, "killed by the OOM killer: memory limit 64 MiB");
    assert.equal(info.lastExit?.oomKilled, true);
    assert.equal(info.lastExit?.success, false);
    assert.equal(info.oomKills, 1);
    assert.equal(info.consecutiveFailures, 1);
  });

  it("pids limit holds: 60 forks, at most 10 processes", async (t) => {
    const sup = newSupervisor();
    if (!(await needLimit(t, sup, "pids"))) return;
    // perl (essential on Debian): a failed fork is an answer, not the end of the script.
    const forks =
      '$| = 1; my $f = 0; for (1..60) { my $p = fork; if (!defined $p) { $f++ } elsif ($p == 0) { sleep 1000; exit } } print "failed $f\n"; sleep 1000';
    await sup.create(testConfig("forker", ["perl", "-e", forks], { resourceLimits: { pids: 10 } }));
    const out = waitOutput(sup, "forker", /failed (\d+)\n/);
    await sup.start("forker");
    const failedForks = Number((await out)[1]);
    assert.equal(failedForks, 60 - 9, "9 forks beside perl itself");
    assert.equal(limitFile(sup, "forker", "pids.max"), "10");
    const usage = await sup.usage("forker");
    assert.equal(usage?.source, "cgroup");
    assert.ok(
      usage && usage.processCount <= 10 && usage.processCount >= 2,
      `${usage?.processCount}`,
    );
    await sup.stop("forker");
  });

  it("cpu limit: 0.2 of a core, a busy loop gets about that", async (t) => {
    const sup = newSupervisor();
    if (!(await needLimit(t, sup, "cpu"))) return;
    await sup.create(
      testConfig("spin", ["sh", "-c", "while :; do :; done"], { resourceLimits: { cpu: 0.2 } }),
    );
    await sup.start("spin");
    assert.match(limitFile(sup, "spin", "cpu.cfs_quota_us"), /^20000$/);
    await new Promise((r) => setTimeout(r, 1000));
    const usage = await sup.usage("spin");
    assert.ok(usage && usage.cpuSeconds < 0.5, `used ${usage?.cpuSeconds} s of CPU in 1 s`);
    await sup.stop("spin");
  });

  it("update changes the limits of a running process in place", async (t) => {
    const sup = newSupervisor();
    if (!(await needLimit(t, sup, "pids"))) return;
    const config = testConfig("live", ["sleep", "1000"], { resourceLimits: { pids: 50 } });
    await sup.create(config);
    const before = await sup.start("live");
    const result = await sup.update("live", { ...config, resourceLimits: { pids: 20 } });
    assert.deepEqual(result.updatedFields, ["resource_limits"]);
    assert.equal(result.restarted, false);
    assert.equal(sup.get("live").pid, before.pid);
    assert.equal(limitFile(sup, "live", "pids.max"), "20");
    const { resourceLimits: _, ...unlimited } = config;
    await sup.update("live", unlimited);
    assert.equal(limitFile(sup, "live", "pids.max"), "max");
    await sup.stop("live");
  });

  it("accounting of a tree is the sum of its members", async () => {
    const sup = newSupervisor();
    const busy = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1000";
    const script = `(${busy}) & (${busy}) & echo started; wait`;
    await sup.create(testConfig("acct", ["sh", "-c", script]));
    const out = waitOutput(sup, "acct", /started\n/);
    await sup.start("acct");
    await out;
    // Both loops done (their CPU time no longer grows) once both sleep.
    let members: number[] = [];
    for (let i = 0; i < 200; i++) {
      const cgroup = sup.get("acct").enforcement.cgroup ?? "";
      members = readFileSync(join(cgroup, "cgroup.procs"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map(Number);
      const sleeping = members.filter(
        (p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sleep",
      );
      if (sleeping.length === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const usage = await sup.usage("acct");
    assert.ok(usage);
    assert.equal(usage.source, "cgroup");
    assert.equal(usage.processCount, members.length);
    const ticks = members.reduce((sum, p) => {
      const st = readProcStat(p);
      return sum + (st ? st.utime + st.stime : 0);
    }, 0);
    // The loops ran in subshells that exec'd sleep: their CPU time is theirs, now the members'.
    const perTick = 1 / 100;
    assert.ok(
      Math.abs(usage.cpuSeconds - ticks * perTick) < 0.05 + usage.cpuSeconds * 0.1,
      `cgroup ${usage.cpuSeconds} s, members ${ticks * perTick} s`,
    );
    await sup.stop("acct");
  });

  it("the prelude enters every cgroup before the program runs, and sets its own pid", () => {
    assert.deepEqual(prelude([], [], ["sleep", "1"]), ["sleep", "1"]);
    const argv = prelude(["/a/cgroup.procs"], ["WATCHDOG_PID"], ["sleep", "1"]);
    assert.deepEqual(argv.slice(3), ["sh", "/a/cgroup.procs", "--", "sleep", "1"]);
  });

  it("falls back to process groups, and says so, where cgroups are not writable", async () => {
    const dir = tempDir("procmgr-cgroup-fallback-");
    chmodSync(dir, 0o777);
    const script = fixture("cgroup-fallback.mjs");
    const child = spawn(process.execPath, [script, join(dir, "state")], {
      uid: 65534,
      gid: 65534,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (c: Buffer) => {
      text += c.toString();
    });
    const code = await new Promise((r) => child.once("exit", r));
    assert.equal(code, 0, text);
    const report = JSON.parse(text) as {
      status: { active: boolean; summary: string };
      enforcement: Record<string, string>;
      warnings: string[];
      gone: boolean;
    };
    assert.equal(report.status.active, false);
    assert.match(report.status.summary, /^process groups: .*not writable/);
    assert.match(report.enforcement.tracking ?? "", /^process groups: /);
    assert.match(report.enforcement.memory ?? "", /^not enforced: /);
    assert.ok(report.warnings.some((w) => /resource_limits memory .*not enforced/.test(w)));
    assert.equal(report.gone, true, "the process tree was stopped through its group");
  });
});
