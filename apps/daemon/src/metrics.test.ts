import * as assert from "node:assert/strict";
import { test } from "node:test";
import { resolveProcessConfig } from "@procmgr/config";
import type { ProcessInfo, SupervisorApi } from "@procmgr/core";
import { createMetricsRegistry } from "./metrics.js";

function info(name: string, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    id: `id-${name}`,
    name,
    source: "api",
    config: resolveProcessConfig(name, { command: "sleep 1" }),
    state: "running",
    runCount: 1,
    restartCount: 0,
    consecutiveFailures: 0,
    createdAt: new Date(0),
    enforcement: { tracking: "process group" },
    oomKills: 0,
    ...extra,
  };
}

/** The registry over a supervisor that only lists (usage: none). */
function registryOf(infos: readonly ProcessInfo[]) {
  const supervisor = {
    list: () => [...infos],
    usage: async () => undefined,
  } as unknown as SupervisorApi;
  return createMetricsRegistry(supervisor, new Date());
}

/** `metric{labels} value` lines of one metric. */
function samples(text: string, metric: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${metric}{`))
    .sort();
}

test("health metrics: the current status of each checked process, and its failures in a row", async () => {
  const registry = registryOf([
    info("web", {
      pid: 10,
      health: {
        status: "unhealthy",
        consecutiveFailures: 4,
        lastResult: { ok: false, detail: "HTTP 404 (expected 200)", durationMs: 1 },
        lastCheckAt: new Date(),
      },
    }),
    info("db", { pid: 11, health: { status: "healthy", consecutiveFailures: 0 } }),
    info("plain", { pid: 12 }),
  ]);
  const text = await registry.metrics();
  assert.deepEqual(samples(text, "procmgr_process_health"), [
    'procmgr_process_health{name="db",status="healthy"} 1',
    'procmgr_process_health{name="db",status="unhealthy"} 0',
    'procmgr_process_health{name="db",status="unknown"} 0',
    'procmgr_process_health{name="web",status="healthy"} 0',
    'procmgr_process_health{name="web",status="unhealthy"} 1',
    'procmgr_process_health{name="web",status="unknown"} 0',
  ]);
  assert.deepEqual(samples(text, "procmgr_process_health_check_failures"), [
    'procmgr_process_health_check_failures{name="db"} 0',
    'procmgr_process_health_check_failures{name="web"} 4',
  ]);
  assert.match(text, /# TYPE procmgr_process_health gauge/);
});
