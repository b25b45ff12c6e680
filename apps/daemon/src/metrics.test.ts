import * as assert from "node:assert/strict";
import { test } from "node:test";
import { resolveProcessConfig } from "@procmgr/config";
import type { ProcessInfo, ResourceUsage, SupervisorApi } from "@procmgr/core";
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

/** The registry over a supervisor that lists `infos` and answers `usages` (by id). */
function registryOf(
  infos: readonly ProcessInfo[],
  usages: Record<string, ResourceUsage> = {},
  reads: { count: number } = { count: 0 },
) {
  const supervisor = {
    list: () => [...infos],
    usage: async (id: string) => {
      reads.count++;
      return usages[id];
    },
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

test("OOM kills: a counter of each process, from its record", async () => {
  const registry = registryOf([info("web", { oomKills: 3 }), info("db")]);
  const text = await registry.metrics();
  assert.deepEqual(samples(text, "procmgr_process_oom_kills_total"), [
    'procmgr_process_oom_kills_total{name="db"} 0',
    'procmgr_process_oom_kills_total{name="web"} 3',
  ]);
  assert.match(text, /# TYPE procmgr_process_oom_kills_total counter/);
});

test("usage metrics: CPU and RSS of each running process, charged memory and peak where known", async () => {
  const reads = { count: 0 };
  const registry = registryOf(
    [info("web", { pid: 10 }), info("legacy", { pid: 11 }), info("idle", { state: "stopped" })],
    {
      "id-web": {
        pid: 10,
        source: "cgroup",
        processCount: 3,
        cpuSeconds: 1.5,
        rssBytes: 4096,
        memoryBytes: 8192,
        memoryPeakBytes: 16384,
        threads: 5,
      },
      "id-legacy": {
        pid: 11,
        source: "process group",
        processCount: 1,
        cpuSeconds: 0.25,
        rssBytes: 2048,
        threads: 1,
      },
    },
    reads,
  );
  const text = await registry.metrics();
  assert.deepEqual(samples(text, "procmgr_process_cpu_seconds_total"), [
    'procmgr_process_cpu_seconds_total{name="legacy"} 0.25',
    'procmgr_process_cpu_seconds_total{name="web"} 1.5',
  ]);
  assert.deepEqual(samples(text, "procmgr_process_memory_rss_bytes"), [
    'procmgr_process_memory_rss_bytes{name="legacy"} 2048',
    'procmgr_process_memory_rss_bytes{name="web"} 4096',
  ]);
  assert.deepEqual(samples(text, "procmgr_process_memory_bytes"), [
    'procmgr_process_memory_bytes{name="web"} 8192',
  ]);
  assert.deepEqual(samples(text, "procmgr_process_memory_peak_bytes"), [
    'procmgr_process_memory_peak_bytes{name="web"} 16384',
  ]);
  assert.match(text, /# TYPE procmgr_process_memory_bytes gauge/);
  assert.match(text, /# TYPE procmgr_process_memory_peak_bytes gauge/);
  assert.equal(reads.count, 2, "one reading per running process per scrape");
});
