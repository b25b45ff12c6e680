import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SupervisorError } from "./errors.js";
import {
  fixture,
  healthCheckConfig,
  probeTarget,
  stillAlive,
  tempDir,
  untilWritten,
} from "./harness.js";
import { HealthMonitor, type HealthSnapshot, nextHealth } from "./health-monitor.js";
import type { ProbeTarget } from "./health-probe.js";

const dir = tempDir("procmgr-health-monitor-");

const monitors: HealthMonitor[] = [];
const servers: Server[] = [];
after(() => {
  for (const m of monitors) m.stop();
  for (const s of servers) s.close();
});

/** A TCP listener on 127.0.0.1 that can be closed (refused) and opened again on its port. */
class Listener {
  private server: Server | undefined;
  port = 0;

  async open(): Promise<this> {
    const server = createServer((socket) => socket.on("error", () => {}));
    servers.push(server);
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.close();
    await once(server, "close");
  }
}

/** A monitor closed after the file's tests, recording every onChange snapshot. */
function monitor(
  raw: Record<string, unknown>,
  options: { onRestartNeeded?: (reason: string) => void; target?: ProbeTarget } = {},
): {
  m: HealthMonitor;
  changes: HealthSnapshot[];
  until(test: (s: HealthSnapshot) => boolean): Promise<HealthSnapshot>;
} {
  const changes: HealthSnapshot[] = [];
  const waiting: { test: (s: HealthSnapshot) => boolean; resolve: (s: HealthSnapshot) => void }[] =
    [];
  const m = new HealthMonitor({
    check: healthCheckConfig(raw),
    onChange: (s) => {
      changes.push(s);
      for (const w of [...waiting]) {
        if (w.test(s)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(s);
        }
      }
    },
    onRestartNeeded: options.onRestartNeeded,
    target: options.target,
  });
  monitors.push(m);
  return {
    m,
    changes,
    until: (test) => new Promise((resolve) => waiting.push({ test, resolve })),
  };
}

describe("nextHealth (pure)", () => {
  const policy = { retries: 3, restartAfter: 0 };
  it("a success is healthy and resets the failures", () => {
    const s = nextHealth({ status: "unhealthy", consecutiveFailures: 5 }, true, true, policy);
    assert.deepEqual(s, {
      status: "healthy",
      consecutiveFailures: 0,
      counted: true,
      restart: false,
    });
  });
  it("failures count up and make it unhealthy at retries; the status stays until then", () => {
    let s = nextHealth({ status: "healthy", consecutiveFailures: 0 }, false, false, policy);
    assert.deepEqual([s.status, s.consecutiveFailures], ["healthy", 1]);
    s = nextHealth(s, false, false, policy);
    assert.deepEqual([s.status, s.consecutiveFailures], ["healthy", 2]);
    s = nextHealth(s, false, false, policy);
    assert.deepEqual([s.status, s.consecutiveFailures], ["unhealthy", 3]);
    const first = nextHealth({ status: "unknown", consecutiveFailures: 0 }, false, false, policy);
    assert.equal(first.status, "unknown");
  });
  it("a failure in the start period is not counted", () => {
    const s = nextHealth({ status: "unknown", consecutiveFailures: 0 }, false, true, policy);
    assert.deepEqual(s, {
      status: "unknown",
      consecutiveFailures: 0,
      counted: false,
      restart: false,
    });
  });
  it("restart_after: due at that many failures; 0 never", () => {
    const p = { retries: 5, restartAfter: 2 };
    const one = nextHealth({ status: "healthy", consecutiveFailures: 0 }, false, false, p);
    assert.equal(one.restart, false);
    assert.equal(nextHealth(one, false, false, p).restart, true);
    const never = nextHealth(
      { status: "unhealthy", consecutiveFailures: 99 },
      false,
      false,
      policy,
    );
    assert.equal(never.restart, false);
  });
});

describe("HealthMonitor", () => {
  it("is unknown until the first result, then healthy", async () => {
    const listener = await new Listener().open();
    const { m, changes } = monitor({ type: "tcp", port: listener.port, interval: 0.05 });
    assert.deepEqual(m.snapshot(), { status: "unknown", consecutiveFailures: 0 });
    const healthy = m.whenHealthy();
    m.start();
    await healthy;
    const s = m.snapshot();
    assert.equal(s.status, "healthy");
    assert.equal(s.consecutiveFailures, 0);
    assert.equal(s.lastResult?.ok, true);
    assert.ok(s.lastCheckAt instanceof Date);
    assert.equal(changes[0]?.status, "healthy");
    await m.whenHealthy(); // already healthy: at once
    m.stop();
  });

  it("healthy becomes unhealthy after `retries` failures in a row", async () => {
    const listener = await new Listener().open();
    const { m, changes, until } = monitor({
      type: "tcp",
      port: listener.port,
      interval: 0.05,
      retries: 3,
    });
    m.start();
    await m.whenHealthy();
    await listener.close();
    const unhealthy = await until((s) => s.status === "unhealthy");
    assert.equal(unhealthy.consecutiveFailures, 3);
    assert.equal(unhealthy.lastResult?.detail, `connection refused 127.0.0.1:${listener.port}`);
    const afterHealthy = changes.slice(changes.findIndex((s) => s.status === "healthy"));
    assert.deepEqual(
      afterHealthy.map((s) => [s.status, s.consecutiveFailures]),
      [
        ["healthy", 0],
        ["healthy", 1],
        ["healthy", 2],
        ["unhealthy", 3],
      ],
    );
    // Open again: the next success makes it healthy, the count back to 0.
    await listener.open();
    await m.whenHealthy();
    assert.deepEqual([m.snapshot().status, m.snapshot().consecutiveFailures], ["healthy", 0]);
    m.stop();
  });

  it("failures in the start period are not counted", async () => {
    const closed = await new Listener().open();
    await closed.close();
    const { m, changes, until } = monitor({
      type: "tcp",
      port: closed.port,
      interval: 0.05,
      retries: 1,
      start_period: 1,
    });
    m.start();
    const unhealthy = await until((s) => s.status === "unhealthy");
    // The first result (at start, within the period) failed and was not counted.
    assert.equal(changes[0]?.lastResult?.ok, false);
    assert.deepEqual([changes[0]?.status, changes[0]?.consecutiveFailures], ["unknown", 0]);
    assert.equal(unhealthy.consecutiveFailures, 1);
    m.stop();
  });

  it("a success ends the start period: the next failure counts", async () => {
    const listener = await new Listener().open();
    const { m, until } = monitor({
      type: "tcp",
      port: listener.port,
      interval: 0.05,
      retries: 1,
      start_period: 3600,
    });
    m.start();
    await m.whenHealthy();
    await listener.close();
    const s = await until((x) => x.status === "unhealthy");
    assert.equal(s.consecutiveFailures, 1);
    m.stop();
  });

  it("restart_after: asks for a restart once, after that many failures, and stops", async () => {
    const closed = await new Listener().open();
    await closed.close();
    const reasons: string[] = [];
    let resolveRestart: () => void = () => {};
    const restarted = new Promise<void>((r) => {
      resolveRestart = r;
    });
    const { m } = monitor(
      { type: "tcp", port: closed.port, interval: 0.05, retries: 2, restart_after: 3 },
      {
        onRestartNeeded: (reason) => {
          reasons.push(reason);
          resolveRestart();
        },
      },
    );
    m.start();
    await restarted;
    assert.equal(m.running, false);
    assert.equal(m.snapshot().status, "unhealthy");
    assert.equal(m.snapshot().consecutiveFailures, 3);
    const lastCheckAt = m.snapshot().lastCheckAt?.getTime();
    // No further check: it stopped itself (a few intervals later, still one call).
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(reasons, [
      `health check failed 3 times in a row (restart_after 3): connection refused 127.0.0.1:${closed.port}`,
    ]);
    assert.equal(m.snapshot().lastCheckAt?.getTime(), lastCheckAt);
    // The supervisor restarts the process and starts the monitor again: a fresh count.
    await closed.open();
    m.start();
    assert.equal(m.snapshot().status, "unknown");
    await m.whenHealthy();
    m.stop();
  });

  it("stop() kills an exec check in flight and drops its result", async () => {
    const pidFile = join(dir, "in-flight.pid");
    const { m, changes } = monitor(
      {
        type: "exec",
        command: "sh",
        args: ["-c", `echo $$ > ${pidFile}; sleep 1000`],
        interval: 0.05,
        timeout: 1000,
      },
      { target: await probeTarget() },
    );
    m.start();
    const pid = Number(await untilWritten(pidFile));
    m.stop();
    m.stop(); // idempotent
    assert.deepEqual(await stillAlive([pid]), []);
    assert.equal(m.running, false);
    assert.deepEqual(changes, []);
    assert.deepEqual(m.snapshot(), { status: "unknown", consecutiveFailures: 0 });
  });

  it("rejects invalid checks: an exec check without a target, interval 0", async () => {
    assert.throws(
      () => new HealthMonitor({ check: healthCheckConfig({ type: "exec", command: "true" }) }),
      SupervisorError,
    );
    assert.throws(
      // The config refuses interval 0 too; a library user may hand one over.
      () =>
        new HealthMonitor({
          check: { ...healthCheckConfig({ type: "tcp", port: 1 }), intervalSec: 0 },
        }),
      /health_check\.interval: expected a duration above 0, received 0/,
    );
  });

  it("whenHealthy rejects when its signal is aborted", async () => {
    const closed = await new Listener().open();
    await closed.close();
    const { m } = monitor({ type: "tcp", port: closed.port, interval: 0.05 });
    m.start();
    const controller = new AbortController();
    const waiting = m.whenHealthy(controller.signal);
    controller.abort(new Error("gave up"));
    await assert.rejects(waiting, /gave up/);
    m.stop();
  });

  it("stop() leaves nothing behind: the process exits by itself", { timeout: 20_000 }, async () => {
    const pidFile = join(dir, "exit.pid");
    const child = spawn(process.execPath, [fixture("health-monitor-exit.mjs"), pidFile], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
    const [pid, stopped] = out.trim().split("\n");
    assert.equal(stopped, "stopped");
    assert.deepEqual(await stillAlive([Number(pid)]), []);
  });
});
