import * as assert from "node:assert/strict";
import { type AddressInfo, createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { healthCheckConfig, supervisorFactory, testConfig, waitState } from "./harness.js";
import type { HealthSnapshot } from "./health-monitor.js";
import type { Supervisor } from "./supervisor.js";

const { newSupervisor } = supervisorFactory();

async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

const open = await listening();
const closed = await listening();
const openPort = (open.address() as AddressInfo).port;
const closedPort = (closed.address() as AddressInfo).port;
await new Promise<void>((resolve) => closed.close(() => resolve()));
after(() => open.close());

/** Resolves with the process's next health event whose status is `status`. */
function nextHealth(sup: Supervisor, name: string, status: string): Promise<HealthSnapshot> {
  return new Promise((resolve) => {
    const listener = ({
      process,
      health,
    }: {
      process: { name: string };
      health: HealthSnapshot;
    }) => {
      if (process.name !== name || health.status !== status) return;
      sup.off("health", listener);
      resolve(health);
    };
    sup.on("health", listener);
  });
}

test("an update of the health check applies to the running process at once, without a restart", async () => {
  const sup = newSupervisor();
  const check = (port: number) =>
    healthCheckConfig({ type: "tcp", port, interval: 0.05, retries: 1 });
  const unhealthy = nextHealth(sup, "web", "unhealthy");
  await sup.create(
    testConfig("web", ["sleep", "30"], { autoStart: true, healthCheck: check(closedPort) }),
  );
  await waitState(sup, "web", "running");
  assert.match((await unhealthy).lastResult?.detail ?? "", /connection refused/);
  const pid = sup.get("web").pid;

  const healthy = nextHealth(sup, "web", "healthy");
  const result = await sup.update("web", {
    ...sup.get("web").config,
    healthCheck: check(openPort),
  });
  assert.deepEqual(result.updatedFields, ["health_check"]);
  assert.equal(result.restarted, false);
  assert.equal((await healthy).consecutiveFailures, 0);
  const info = sup.get("web");
  assert.equal(info.pid, pid, "the same run");
  assert.equal(info.runCount, 1);
  assert.equal(info.health?.status, "healthy");

  const { healthCheck: _, ...withoutCheck } = info.config;
  await sup.update("web", withoutCheck);
  assert.equal(sup.get("web").health, undefined, "no health check any more");
  assert.equal(sup.get("web").pid, pid);
  await sup.stop("web");
});
