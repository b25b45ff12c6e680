import * as assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { resolveProcessConfig } from "@procmgr/config";
import type { ExitResult, ProcessInfo, SupervisorApi } from "@procmgr/core";
import { logLifecycle } from "./lifecycle-log.js";
import { createLogger } from "./logger.js";

const web: ProcessInfo = {
  id: "id-web",
  name: "web",
  source: "config",
  config: resolveProcessConfig("web", { command: "sleep 1" }),
  state: "backoff",
  runCount: 1,
  restartCount: 0,
  consecutiveFailures: 1,
  createdAt: new Date(0),
  enforcement: { tracking: "cgroup v2 /sys/fs/cgroup/procmgr/web", memory: "cgroup v2 memory.max" },
  oomKills: 1,
};

const killed: ExitResult = {
  code: null,
  signal: "SIGKILL",
  stoppedByUs: false,
  timedOut: false,
  success: false,
  startedAt: new Date(1_000),
  endedAt: new Date(2_000),
  durationMs: 1_000,
};

/** The lines logged while `emit` runs on a fake supervisor (an EventEmitter). */
async function logged(emit: (sup: EventEmitter) => void): Promise<string[]> {
  const stream = new PassThrough();
  let out = "";
  stream.on("data", (c: Buffer) => {
    out += c.toString();
  });
  const sup = new EventEmitter();
  const detach = logLifecycle(
    sup as unknown as SupervisorApi,
    createLogger({ level: "info", format: "text", stream }),
  );
  emit(sup);
  detach();
  await new Promise((r) => setImmediate(r));
  return out.split("\n").filter((l) => l !== "");
}

test("an exit the OOM killer caused is a warning with the failure (the limit) and oom_killed", async () => {
  const lines = await logged((sup) => {
    sup.emit("exit", {
      process: web,
      exit: {
        ...killed,
        oomKilled: true,
        failure: "killed by the OOM killer: memory limit 64 MiB",
      },
    });
    // A record without the failure text still says it was the OOM killer.
    sup.emit("exit", { process: web, exit: { ...killed, oomKilled: true } });
    sup.emit("exit", { process: web, exit: killed });
  });
  assert.equal(lines.length, 3);
  assert.match(
    lines[0] ?? "",
    / warn process exited process_id=id-web process=web signal=SIGKILL failure="killed by the OOM killer: memory limit 64 MiB" oom_killed=true$/,
  );
  assert.match(lines[1] ?? "", / failure="killed by the OOM killer" oom_killed=true$/);
  assert.match(
    lines[2] ?? "",
    / warn process exited process_id=id-web process=web signal=SIGKILL$/,
  );
});
