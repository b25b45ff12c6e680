import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { cgroupsSkip, fixture, isGone, stillAlive, tempDir, untilWritten } from "./harness.js";
import { Supervisor } from "./supervisor.js";

/**
 * A supervisor (crashy-hooks.mjs) whose process "h" has a hook or an exec check hanging, killed
 * as a daemon SIGKILL leaves it; answers the pids the hook or check left (itself, a child in its
 * group, a child that left it with setsid) and the main process's (0: none).
 */
async function crashDuring(
  stateDir: string,
  cgroups: boolean,
  what: string,
): Promise<{ hook: number; stayed: number; left: number; main: number }> {
  const pidsFile = join(stateDir, "..", `${what}.pids`);
  const crashy = spawn(
    process.execPath,
    [fixture("crashy-hooks.mjs"), stateDir, cgroups ? "on" : "off", what, pidsFile],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const main = await new Promise<number>((resolve, reject) => {
    let text = "";
    crashy.stdout.on("data", (c: Buffer) => {
      text += c.toString();
      if (text.includes("\n")) resolve(Number(text.trim()));
    });
    crashy.once("exit", (code) => reject(new Error(`crashy supervisor exited early (${code})`)));
  });
  const [hook = 0, stayed = 0, left = 0] = (await untilWritten(pidsFile)).split(" ").map(Number);
  const dead = new Promise((r) => crashy.once("exit", r));
  crashy.kill("SIGKILL");
  await dead;
  return { hook, stayed, left, main };
}

for (const cgroups of [true, false]) {
  describe(`recover: hooks and exec checks of a crashed supervisor, ${cgroups ? "with" : "without"} cgroups`, {
    skip: cgroups ? cgroupsSkip() : false,
  }, () => {
    const root = tempDir("procmgr-control-");
    const leftovers: number[] = [];
    after(() => {
      for (const pid of leftovers) if (!isGone(pid)) process.kill(pid, "SIGKILL");
    });

    for (const what of ["exec_start_pre", "exec_stop_post", "check"]) {
      it(`kills a hanging ${what === "check" ? "exec health check" : what}`, async () => {
        const stateDir = join(root, what, "state");
        const { hook, stayed, left, main } = await crashDuring(stateDir, cgroups, what);
        const pids = [hook, stayed, left, ...(main > 0 ? [main] : [])];
        leftovers.push(...pids);
        for (const pid of [hook, stayed, left]) assert.equal(isGone(pid), false, `${pid} died`);

        const sup = new Supervisor({ stateDir, cgroups });
        try {
          const { stopped } = await sup.recover();
          assert.ok(stopped.some((s) => s.name === "h"));
          // The one that left with setsid is caught by the hook's cgroup only.
          const caught = cgroups ? pids : pids.filter((pid) => pid !== left);
          assert.deepEqual(await stillAlive(caught), []);
          const records = join(stateDir, "control");
          assert.deepEqual(existsSync(records) ? readdirSync(records) : [], []);
          assert.deepEqual((await sup.recover()).stopped, []);
        } finally {
          await sup.shutdown();
        }
      });
    }
  });
}
