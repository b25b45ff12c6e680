import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HealthStatus, ProcessInfo, ResourceUsage, SupervisorApi } from "@procmgr/core";
import { processStates } from "@procmgr/core";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/**
 * The Prometheus registry of the daemon. Every process metric is computed at scrape time from
 * the supervisor (no timers, no polling between scrapes).
 */
export function createMetricsRegistry(supervisor: SupervisorApi, startedAt: Date): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const list = (): ProcessInfo[] => supervisor.list();
  registerProcessMetrics(registry, list);
  registerHealthMetrics(registry, list);
  registerUsageMetrics(registry, supervisor, list);
  registerDaemonMetrics(registry, list, startedAt);
  return registry;
}

/** State, starts, restarts, uptime and PID of each process, from the supervisor's records. */
function registerProcessMetrics(registry: Registry, list: () => ProcessInfo[]): void {
  new Gauge({
    name: "procmgr_process_state",
    help: "Current state of each process (1 for the current state, 0 for the others).",
    labelNames: ["name", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) {
        for (const s of processStates) this.set({ name: p.name, state: s }, s === p.state ? 1 : 0);
      }
    },
  });
  new Counter({
    name: "procmgr_process_restarts_total",
    help: "Automatic restarts of each process.",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) this.inc({ name: p.name }, p.restartCount);
    },
  });
  new Counter({
    name: "procmgr_process_starts_total",
    help: "Starts (manual and automatic) of each process.",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) this.inc({ name: p.name }, p.runCount);
    },
  });
  new Counter({
    name: "procmgr_process_oom_kills_total",
    help: "Runs of each process that ended because the OOM killer killed a process of its cgroup.",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) this.inc({ name: p.name }, p.oomKills);
    },
  });
  new Gauge({
    name: "procmgr_process_uptime_seconds",
    help: "Seconds since the current run started (0 when not running).",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) this.set({ name: p.name }, (p.uptimeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: "procmgr_process_pid",
    help: "PID of each running process (0 when not running).",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) this.set({ name: p.name }, p.pid ?? 0);
    },
  });
}

const healthStatuses: readonly HealthStatus[] = ["unknown", "healthy", "unhealthy"];

/**
 * The health of each process whose health check runs (a running, ready process with a
 * health_check); a process without one has no series.
 */
function registerHealthMetrics(registry: Registry, list: () => ProcessInfo[]): void {
  new Gauge({
    name: "procmgr_process_health",
    help: "Health check status of each checked process (1 for the current status, 0 for the others).",
    labelNames: ["name", "status"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) {
        const current = p.health?.status;
        if (current === undefined) continue;
        for (const s of healthStatuses)
          this.set({ name: p.name, status: s }, s === current ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: "procmgr_process_health_check_failures",
    help: "Failed health checks in a row of each checked process (0 after a success).",
    labelNames: ["name"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of list()) {
        if (p.health !== undefined) this.set({ name: p.name }, p.health.consecutiveFailures);
      }
    },
  });
}

/**
 * CPU and memory of each running process as a whole tree (its cgroup, or its process group
 * where it has none), asked of the supervisor at scrape time: once per scrape, however many
 * metrics read it.
 */
function registerUsageMetrics(
  registry: Registry,
  supervisor: SupervisorApi,
  list: () => ProcessInfo[],
): void {
  let pending: Promise<{ name: string; usage: ResourceUsage }[]> | undefined;
  const read = async () => {
    const out: { name: string; usage: ResourceUsage }[] = [];
    for (const p of list()) {
      if (p.pid === undefined) continue;
      const u = await supervisor.usage(p.id).catch(() => undefined);
      if (u !== undefined) out.push({ name: p.name, usage: u });
    }
    return out;
  };
  // The metrics of one scrape are collected together: they share one reading.
  const usage = () => {
    pending ??= read().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  const gauge = (name: string, help: string, value: (u: ResourceUsage) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ["name"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { name, usage: u } of await usage()) {
          const v = value(u);
          if (v !== undefined) this.set({ name }, v);
        }
      },
    });
  new Counter({
    name: "procmgr_process_cpu_seconds_total",
    help: "User + system CPU seconds of each process's cgroup (of its process group's live processes without one).",
    labelNames: ["name"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { name, usage: u } of await usage()) this.inc({ name }, u.cpuSeconds);
    },
  });
  gauge(
    "procmgr_process_memory_rss_bytes",
    "Resident anonymous memory of each process's cgroup (RSS of its process group without one).",
    (u) => u.rssBytes,
  );
  gauge(
    "procmgr_process_memory_bytes",
    "Memory charged to each process's cgroup, page cache included (what its memory limit counts).",
    (u) => u.memoryBytes,
  );
  gauge(
    "procmgr_process_memory_peak_bytes",
    "The highest memory charged to each process's cgroup during its current run.",
    (u) => u.memoryPeakBytes,
  );
}

/** The daemon's own uptime and the number of processes in each state. */
function registerDaemonMetrics(
  registry: Registry,
  list: () => ProcessInfo[],
  startedAt: Date,
): void {
  new Gauge({
    name: "procmgr_daemon_uptime_seconds",
    help: "Seconds since dd-procmgrd started.",
    registers: [registry],
    collect() {
      this.set((Date.now() - startedAt.getTime()) / 1000);
    },
  });
  new Gauge({
    name: "procmgr_processes",
    help: "Number of processes by state.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(processStates.map((s) => [s, 0]));
      for (const p of list()) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      this.reset();
      for (const [s, n] of counts) this.set({ state: s }, n);
    },
  });
}

/** Serves `GET /metrics` on host:port. */
export async function startMetricsServer(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics\n");
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (e: unknown) => res.writeHead(500).end(`${String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return { server, address: `${host.includes(":") ? `[${host}]` : host}:${a.port}` };
}
