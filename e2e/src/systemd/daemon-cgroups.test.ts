/**
 * The daemon's cgroups under a real systemd (Delegate=yes), in a sandbox per variant: the
 * daemon in `<service cgroup>/daemon`, each process in `<service cgroup>/processes/<name>.proc`,
 * `pm-cli stop` killing a setsid'd grandchild, and after a `kill -9` of the daemon, systemd's
 * restart (Restart=on-failure) leaving exactly one instance of the process.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { processTree, sortedPids, type TreeRun, treeRuns } from "../harness/process-tree.js";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import { executableArgs, missingPieces, repoCli, show, until } from "./install-fixture.js";

type Variant = "standard" | "secure";

function daemonCgroupsSuite(variant: Variant): void {
  const support = sandboxSupport();
  const skip = !support.ok
    ? `systemd sandbox unavailable: ${support.reason}`
    : (missingPieces() ?? false);
  const tree = processTree();

  describe(`daemon cgroups, --variant ${variant} (real systemd)`, { skip, timeout: 90_000 }, () => {
    let sb: Sandbox;
    let cg = "";
    let run: TreeRun | undefined;

    const prop = async (p: string): Promise<string> =>
      (await sb.exec(["systemctl", "show", "-p", p, "--value", "dd-procmgrd"])).stdout.trim();
    const cli = async (...args: string[]): Promise<string> => {
      const r = await sb.exec(["pm-cli", ...args]);
      assert.equal(r.code, 0, `pm-cli ${args.join(" ")}\n${show(r)}`);
      return r.stdout;
    };
    const procs = async (cgroup: string): Promise<number[]> => {
      const r = await sb.exec(["cat", `${cgroup}/cgroup.procs`]);
      assert.equal(r.code, 0, show(r));
      return sortedPids(
        r.stdout
          .split("\n")
          .filter((l) => l !== "")
          .map(Number),
      );
    };
    /** The pids (of `pids`) that still run in the sandbox, zombies excluded. */
    const living = async (pids: readonly number[]): Promise<number[]> => {
      const r = await sb.exec(["ps", "-o", "pid=,stat=", "-p", pids.join(",")]);
      return r.stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([pid, stat]) => pid !== undefined && pid !== "" && !stat?.startsWith("Z"))
        .map(([pid]) => Number(pid));
    };
    /** Live processes in the sandbox running this suite's `sleep <seconds>`. */
    const treeSleeps = async (): Promise<number[]> => {
      const r = await sb.exec(["ps", "-eo", "pid=,stat=,args="]);
      const out: number[] = [];
      for (const line of r.stdout.split("\n")) {
        const m = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
        if (m?.[3] === `sleep ${tree.seconds}` && !m[2]?.startsWith("Z")) out.push(Number(m[1]));
      }
      return sortedPids(out);
    };
    const runs = async (): Promise<TreeRun[]> =>
      treeRuns((await sb.exec(["cat", "/var/lib/dd-procmgrd/logs/tree.stdout.log"])).stdout);
    /** Waits for run `n` of tree (counted over the whole log) and answers its pids. */
    const waitForRun = async (n: number): Promise<TreeRun> => {
      await until(
        `run ${n} of tree to print its pids`,
        () => sb.exec(["cat", "/var/lib/dd-procmgrd/logs/tree.stdout.log"]),
        (r) => treeRuns(r.stdout).length >= n,
      );
      const got = (await runs())[n - 1];
      assert.ok(got !== undefined);
      return got;
    };
    const treeCgroup = () => `${cg}/processes/tree.proc`;

    before(async () => {
      sb = await startSandbox(`cgroups-${variant}`);
      // The config exists before the install (which keeps it): the service starts with `tree`.
      await sb.writeFile("/etc/dd-procmgrd/processes.yaml", `processes:\n${tree.yaml("tree")}`);
      const r = await sb.exec(
        [...repoCli, "daemon", "install", "--variant", variant, ...(await executableArgs(sb))],
        { timeoutMs: 60_000 },
      );
      assert.equal(r.code, 0, show(r));
      cg = `/sys/fs/cgroup${await prop("ControlGroup")}`;
    });
    after(async () => {
      await sb?.stop();
    });

    it("the daemon runs in <cgroup>/daemon, tree in <cgroup>/processes/tree.proc", async () => {
      assert.equal(await prop("Delegate"), "yes");
      assert.match(cg, /\/dd-procmgrd\.service$/);
      run = await waitForRun(1);
      const mainPid = Number(await prop("MainPID"));
      assert.ok((await procs(`${cg}/daemon`)).includes(mainPid), `MainPID ${mainPid} in daemon/`);
      assert.deepEqual(await procs(cg), [], "nothing left in the service's own cgroup");
      assert.deepEqual(await procs(treeCgroup()), sortedPids(run));
      const d = JSON.parse(await cli("describe", "tree", "-o", "json")) as Record<string, unknown>;
      assert.equal(d.pid, run[0]);
      assert.deepEqual(d.enforcement, {
        tracking: "cgroup v2",
        cgroup: treeCgroup(),
        memory: null,
        cpu: null,
        pids: null,
      });
      const journal = await sb.exec(["journalctl", "-u", "dd-procmgrd", "--no-pager", "-o", "cat"]);
      assert.match(
        journal.stdout,
        new RegExp(`cgroups active .*at ${cg}/processes;.*delegated by systemd`),
        show(journal),
      );
    });

    it("pm-cli stop tree stops the whole tree, the setsid'd grandchild too", async () => {
      assert.ok(run !== undefined);
      const [, setsidChild] = run;
      const stat = await sb.exec(["cat", `/proc/${setsidChild}/stat`]);
      assert.equal(
        stat.stdout.slice(stat.stdout.lastIndexOf(")") + 2).split(" ")[3],
        `${setsidChild}`,
      );
      await cli("stop", "tree");
      assert.deepEqual(await living(run), [], "every pid of the tree is gone");
      assert.deepEqual(await treeSleeps(), []);
    });

    it("after kill -9 of the daemon, systemd restarts it and exactly one tree runs", async (t) => {
      await cli("start", "tree");
      const old = await waitForRun(2);
      assert.deepEqual(await procs(treeCgroup()), sortedPids(old));
      const oldMain = await prop("MainPID");
      const restarts = Number(await prop("NRestarts"));

      const kill = await sb.exec(["kill", "-9", oldMain]);
      assert.equal(kill.code, 0, show(kill));
      // Between the crash and the restart (RestartSec=2) the unit waits in auto-restart: what
      // systemd left of the old tree then is what the restarted daemon's recovery finds.
      const waiting = await until(
        "the unit to wait for its restart",
        () => sb.exec(["systemctl", "show", "-p", "SubState,MainPID", "dd-procmgrd"]),
        (r) => /SubState=auto-restart/.test(r.stdout) || !r.stdout.includes(`MainPID=${oldMain}\n`),
      );
      const inWindow = /SubState=auto-restart/.test(waiting.stdout);
      const leftDuringWait = inWindow ? await living(old) : undefined;

      await until(
        "systemd to restart the daemon",
        async () =>
          sb.exec(["systemctl", "show", "-p", "ActiveState,MainPID,NRestarts", "dd-procmgrd"]),
        (r) =>
          r.stdout.includes("ActiveState=active\n") &&
          !r.stdout.includes(`MainPID=${oldMain}\n`) &&
          r.stdout.includes(`NRestarts=${restarts + 1}\n`),
        30_000,
      );
      await until(
        "pm-cli list to answer",
        () => sb.exec(["pm-cli", "list"]),
        (r) => r.code === 0,
      );
      const journal = await sb.exec(["journalctl", "-u", "dd-procmgrd", "--no-pager", "-o", "cat"]);
      const recovered =
        /stopped a leftover of the previous daemon (process_id=\S+ )?process=tree/.test(
          journal.stdout,
        );
      t.diagnostic(
        `KillMode=mixed, daemon SIGKILLed: ${
          leftDuringWait === undefined
            ? "auto-restart window not observed"
            : `old tree pids alive while waiting for the restart: [${leftDuringWait.join(" ")}] of [${old.join(" ")}]`
        }; the restarted daemon's recovery ${recovered ? "stopped a leftover" : "found nothing to stop"}`,
      );

      const fresh = await waitForRun(3);
      for (const pid of fresh) assert.ok(!old.includes(pid), `pid ${pid} is from the old tree`);
      assert.deepEqual(await living(old), [], "no pid of the old tree lives in the sandbox");
      assert.deepEqual(await procs(treeCgroup()), sortedPids(fresh), "only the new tree's pids");
      assert.deepEqual(await treeSleeps(), sortedPids(fresh.slice(1)), "one instance's sleeps");
      assert.equal((await runs()).length, 3, "tree started once after the restart");
      const d = JSON.parse(await cli("describe", "tree", "-o", "json")) as Record<string, unknown>;
      assert.equal(d.pid, fresh[0]);
      assert.ok((await procs(`${cg}/daemon`)).includes(Number(await prop("MainPID"))));
    });
  });
}

daemonCgroupsSuite("standard");
daemonCgroupsSuite("secure");
