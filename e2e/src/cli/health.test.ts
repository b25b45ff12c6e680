/**
 * Health checks, readiness and STATUS= end to end: processes created with `pm-cli create
 * --health-* / --type / --watchdog-sec` and defined in processes.yaml, run by the real daemon,
 * seen through `pm-cli list`, `describe`, `events` and /metrics. The checked program is a tiny
 * real HTTP server (e2e/fixtures/http-status-server.mjs) answering 404 on its health endpoint.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../harness/daemon.js";
import {
  cliE2eSkipReason,
  freePort,
  listJson,
  runCli,
  spawnCli,
  startTestDaemon,
  type TestDaemon,
  waitFor,
} from "./cli-support.js";

const skip = cliE2eSkipReason();
const httpServer = join(repoRoot, "e2e/fixtures/http-status-server.mjs");
const notifyStatus = join(repoRoot, "e2e/fixtures/notify-status.mjs");

describe("health checks through the real daemon and CLI", { skip }, () => {
  let daemon: TestDaemon;
  let env: Record<string, string>;
  let yamlPort: number;

  before(async () => {
    yamlPort = await freePort();
    // From processes.yaml: the same check, restarted after 6 failures in a row (no start limit,
    // and no growing backoff: it keeps being restarted every few seconds while the tests run, so
    // its unhealthy window of ~2 s comes back often, however slow the machine); a failure within
    // 1 s of a start (before the server listens) is not counted.
    const config = `processes:
  yaml-web:
    command: ${process.execPath} ${httpServer} ${yamlPort} 404
    auto_start: true
    restart_sec: 500ms
    restart_max_delay_sec: 500ms
    start_limit_burst: 0
    health_check:
      type: http
      endpoint: /health
      port: ${yamlPort}
      interval: 300ms
      retries: 1
      start_period: 1s
      restart_after: 6
`;
    daemon = await startTestDaemon(config, { metrics: true });
    env = daemon.cliEnv();
  });

  after(async () => {
    for (const name of ["web-api", "notify-api"]) {
      await runCli(["delete", name, "--force"], { env });
    }
    await daemon?.stop();
  });

  /** `pm-cli ARGS` until its output matches `re` (the daemon's view changes as checks run). */
  async function cliUntil(args: string[], re: RegExp, what: string): Promise<string> {
    return await waitFor(what, async () => {
      const r = await runCli(args, { env });
      assert.equal(r.code, 0, r.stderr);
      return re.test(r.stdout) ? r.stdout : undefined;
    });
  }

  /** The /metrics text once it matches `re`. */
  async function metricsUntil(re: RegExp, what: string): Promise<string> {
    assert.ok(daemon.metricsAddress, "the daemon serves metrics");
    return await waitFor(what, async () => {
      const text = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
      return re.test(text) ? text : undefined;
    });
  }

  it("create --health-*: list, describe, events and metrics show it unhealthy; update --health-restart-after restarts it", async () => {
    const port = await freePort();
    const watcher = spawnCli(["events", "web-api", "-o", "json"], { env });
    try {
      const created = await runCli(
        [
          "create",
          "web-api",
          "--auto-start",
          "--health-type",
          "http",
          "--health-endpoint",
          `http://127.0.0.1:${port}/health`,
          "--health-interval",
          "200ms",
          "--health-retries",
          "2",
          // Before the server listens ("connection refused"): not counted.
          "--health-start-period",
          "1s",
          "--",
          process.execPath,
          httpServer,
          String(port),
          "404",
        ],
        { env },
      );
      assert.equal(created.code, 0, created.stderr);

      const p = await waitFor("web-api to be unhealthy for a 404", async () => {
        const found = (await listJson(env)).find((x) => x.name === "web-api");
        return found?.health === "unhealthy" && found.health_detail === "HTTP 404 (expected 200)"
          ? found
          : undefined;
      });
      assert.equal(p.state, "running");
      assert.equal(p.health_detail, "HTTP 404 (expected 200)");
      assert.ok(Number(p.health_check_failures) >= 2, JSON.stringify(p));
      assert.equal(typeof p.last_health_check, "string");
      assert.equal(p.status_text, null);

      const list = await runCli(["list"], { env });
      assert.match(list.stdout, /^NAME\s+ID\s+PID\s+STATE\s+HEALTH\s+RESTARTS/m);
      assert.match(list.stdout, /^web-api\s+[0-9a-f]{8}\s+\d+\s+running\s+unhealthy\s+0\s/m);

      const page = await cliUntil(
        ["describe", "web-api"],
        /Health: +unhealthy \(\d+ failures in a row\)\n +last check \S+: HTTP 404 \(expected 200\)\n/,
        "describe to show the health",
      );
      assert.match(page, /Health check: +\{"type":"http"/);

      await metricsUntil(
        /procmgr_process_health\{name="web-api",status="unhealthy"\} 1/,
        "the health gauge",
      );
      const metrics = await metricsUntil(
        /procmgr_process_health_check_failures\{name="web-api"\} [2-9]/,
        "the failures gauge",
      );
      assert.match(metrics, /procmgr_process_health\{name="web-api",status="healthy"\} 0/);

      // The events verb: the change of health (subscribing may come after it: restart then).
      await waitFor("a health_changed event", async () => {
        if (watcher.stdout().includes('"type":"health_changed"')) return true;
        await runCli(["restart", "web-api"], { env });
        await new Promise((r) => setTimeout(r, 1000));
        return watcher.stdout().includes('"type":"health_changed"') ? true : undefined;
      });
      const health = watcher
        .stdout()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.type === "health_changed");
      assert.equal(health?.message, "unhealthy: HTTP 404 (expected 200)");
      assert.equal(health?.state, "running");

      // restart_after, set on the running check alone: the process is restarted.
      const before = (await listJson(env)).find((x) => x.name === "web-api");
      const updated = await runCli(["update", "web-api", "--health-restart-after", "2"], { env });
      assert.equal(updated.code, 0, updated.stderr);
      assert.match(updated.stdout, /health_check \(applied live\)/);
      const d = JSON.parse((await runCli(["describe", "web-api", "-o", "json"], { env })).stdout);
      assert.equal(d.spec.health_check.restart_after, 2);
      assert.equal(d.spec.health_check.endpoint, `http://127.0.0.1:${port}/health`, "kept");
      assert.equal(d.spec.health_check.interval, 0.2, "kept");
      await waitFor("web-api to be restarted", async () => {
        const p = (await listJson(env)).find((x) => x.name === "web-api");
        return Number(p?.restarts) > Number(before?.restarts) ? p : undefined;
      });
      const failed = await cliUntil(
        ["describe", "web-api"],
        /Failure: +health check failed 2 times in a row \(restart_after 2\): HTTP 404 \(expected 200\)/,
        "describe to say why the last run ended",
      );
      assert.match(failed, /Exit\n/);
      await waitFor("the exited event with its failure", () =>
        watcher.stdout().includes('"message":"health check failed 2 times in a row')
          ? true
          : undefined,
      );
    } finally {
      assert.equal(await watcher.interrupt(), 0, watcher.stderr());
    }
    // --no-health-check removes it: no health any more, the same run goes on.
    const removed = await runCli(["update", "web-api", "--no-health-check"], { env });
    assert.equal(removed.code, 0, removed.stderr);
    const plain = await waitFor("web-api to run without a check", async () => {
      const p = (await listJson(env)).find((x) => x.name === "web-api");
      return p?.state === "running" && p.health === null ? p : undefined;
    });
    assert.equal(plain.health_detail, null);
    const bad = await runCli(["update", "web-api", "--health-port", "99999"], { env });
    assert.equal(bad.code, 2, bad.stdout);
    assert.match(bad.stderr, /--health-port expects/);
    const incomplete = await runCli(["update", "web-api", "--health-port", "80"], { env });
    assert.notEqual(incomplete.code, 0);
    assert.match(incomplete.stderr, /health_check.*type/);
  });

  it("processes.yaml: the same check, restarted after restart_after failures", async () => {
    // Its first check may come before the server listens ("connection refused"): the 404 next.
    const p = await waitFor("yaml-web to be unhealthy for a 404", async () => {
      const found = (await listJson(env)).find((x) => x.name === "yaml-web");
      return found?.health === "unhealthy" && found.health_detail === "HTTP 404 (expected 200)"
        ? found
        : undefined;
    });
    assert.equal(p.source, "config");
    await cliUntil(
      ["list"],
      /^yaml-web\s+[0-9a-f]{8}\s+\d+\s+running\s+unhealthy\s/m,
      "list to show yaml-web unhealthy",
    );
    await cliUntil(
      ["describe", "yaml-web"],
      /Health: +unhealthy[^\n]*\n +last check \S+: HTTP 404 \(expected 200\)\n/,
      "describe to show yaml-web's health",
    );
    await metricsUntil(
      /procmgr_process_health\{name="yaml-web",status="unhealthy"\} 1/,
      "yaml-web's health gauge",
    );
    await waitFor("yaml-web to be restarted twice", async () => {
      const found = (await listJson(env)).find((x) => x.name === "yaml-web");
      return Number(found?.restarts) >= 2 ? found : undefined;
    });
    await metricsUntil(
      /procmgr_process_restarts_total\{name="yaml-web"\} ([2-9]|\d{2,})\n/,
      "yaml-web's restarts in the metrics",
    );
    await cliUntil(
      ["describe", "yaml-web"],
      /Failure: +health check failed 6 times in a row \(restart_after 6\): HTTP 404/,
      "describe to say why yaml-web's last run ended",
    );
  });

  it("create --type notify --watchdog-sec: the STATUS= text, then a watchdog restart", async () => {
    const created = await runCli(
      [
        "create",
        "notify-api",
        "--auto-start",
        "--type",
        "notify",
        "--watchdog-sec",
        "1",
        "--restart-sec",
        "200ms",
        "--",
        process.execPath,
        notifyStatus,
        "serving 3 clients",
      ],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    const p = await waitFor("notify-api to say what it does", async () => {
      const found = (await listJson(env)).find((x) => x.name === "notify-api");
      return found?.status_text === "serving 3 clients" ? found : undefined;
    });
    assert.equal(p.state, "running");
    assert.equal(p.health, null);
    const d = JSON.parse((await runCli(["describe", "notify-api", "-o", "json"], { env })).stdout);
    assert.equal(d.spec.process_type, "notify");
    assert.equal(d.spec.watchdog_sec, 1);
    // Piped (no terminal width): the STATUS column is there.
    await cliUntil(
      ["list"],
      /^notify-api\s.*\s+serving 3 clients$/m,
      "list to show the STATUS= text",
    );
    await cliUntil(["describe", "notify-api"], /Status: +serving 3 clients\n/, "describe's Status");
    // No WATCHDOG=1 within 1 s: failed and restarted, and describe says why.
    await waitFor("notify-api to be restarted by the watchdog", async () => {
      const found = (await listJson(env)).find((x) => x.name === "notify-api");
      return Number(found?.restarts) >= 1 ? found : undefined;
    });
    await cliUntil(
      ["describe", "notify-api"],
      /Failure: +watchdog timeout: no WATCHDOG=1 within 1s/,
      "describe to show the watchdog failure",
    );
    const wrongType = await runCli(
      ["create", "bad-watchdog", "--watchdog-sec", "5", "sleep", "1"],
      { env },
    );
    assert.notEqual(wrongType.code, 0);
    assert.match(wrongType.stderr, /watchdog_sec/);
  });
});
