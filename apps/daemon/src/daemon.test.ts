import * as assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { DaemonSettings } from "@procmgr/config";
import { Supervisor } from "@procmgr/core";
import {
  createProcessManagerConnection,
  EventType,
  type ProcessManagerConnection,
  ProcessState,
} from "@procmgr/rpc";
import {
  Health,
  ServerReflection,
  HealthCheckResponse_ServingStatus as Serving,
} from "@procmgr/rpc/grpc-standard";
import { Daemon } from "./daemon.js";
import { createLogger } from "./logger.js";

function settingsIn(dir: string): DaemonSettings {
  return {
    configPath: join(dir, "processes.yaml"),
    stateDir: join(dir, "state"),
    runtimeDir: join(dir, "run"),
    socketPath: join(dir, "run", "dd-procmgrd.sock"),
    tokenPath: join(dir, "run", "dd-procmgrd.token"),
    bindAddress: "127.0.0.1:0",
    allowRemote: false,
    tls: null,
    logLevel: "debug",
    logFormat: "text",
    processOutput: "file",
    metrics: { enabled: true, host: "127.0.0.1", port: 0 },
    isRoot: false,
  };
}

/** HTTP/1.1 POST (the Connect protocol with JSON, as curl would send it). */
function postJson(
  target: { socketPath: string } | { port: number },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...("socketPath" in target
          ? { socketPath: target.socketPath }
          : { host: "127.0.0.1", port: target.port }),
        path,
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    // Headers and body in separate writes: the protocol sniffing must not lose the body.
    req.flushHeaders();
    setImmediate(() => req.end(JSON.stringify(body)));
  });
}

describe("Daemon on a real unix socket and TCP port 0", () => {
  let dir: string;
  let daemon: Daemon;
  let logText = "";
  let unix: ProcessManagerConnection;
  let tcp: ProcessManagerConnection;
  let tcpAdmin: ProcessManagerConnection;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-daemon-"));
    const settings = settingsIn(dir);
    await writeFile(
      settings.configPath,
      "processes:\n  fromfile:\n    command: sleep 30\n    auto_start: true\n",
    );
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => {
      logText += c.toString();
    });
    daemon = new Daemon({
      settings,
      logger: createLogger({ level: "debug", format: "text", stream }),
      supervisor: new Supervisor({ stateDir: settings.stateDir }),
    });
    await daemon.start();
    const tcpAddr = daemon.bindAddresses.find((a) => !a.startsWith("unix:")) as string;
    port = Number(tcpAddr.split(":")[1]);
    unix = createProcessManagerConnection(`unix:${settings.socketPath}`);
    tcp = createProcessManagerConnection(tcpAddr);
    const token = (await readFile(settings.tokenPath, "utf8")).trim();
    tcpAdmin = createProcessManagerConnection(tcpAddr, { token });
  });

  after(async () => {
    unix.close();
    tcp.close();
    tcpAdmin.close();
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("start-up log, socket 0660, token 0600, status", async () => {
    assert.match(
      logText,
      /info Starting Process Manager version=\S+ addr=127\.0\.0\.1:0 socket=\S+ config=\S+/,
    );
    // One line says whether cgroups track the processes (a warning with the reason if not).
    assert.match(logText, /(info cgroups active cgroups=\S|warn cgroups not used: .* reason=\S)/);
    const s = daemon.settings;
    assert.equal((await stat(s.socketPath)).mode & 0o777, 0o660);
    assert.equal((await stat(s.tokenPath)).mode & 0o777, 0o600);
    const st = await tcp.client.getStatus({});
    assert.equal(st.ready, true);
    assert.equal(st.total, 1);
    assert.equal(st.configPath, s.configPath);
    assert.equal(st.pid, process.pid);
    assert.equal(st.bindAddresses.length, 2);
  });

  test("a change is on disk when it is answered (a crash right after cannot lose it)", async () => {
    const saved = async () => {
      const file = join(daemon.settings.stateDir, "processes.json");
      const list = JSON.parse(await readFile(file, "utf8")).processes as {
        name: string;
        running: boolean;
        config: Record<string, unknown>;
      }[];
      return list.find((p) => p.name === "durable");
    };
    const c = unix.client;
    await c.create({ spec: { name: "durable", command: "sleep 30", autoStart: true } });
    assert.equal((await saved())?.running, true);
    await c.stop({ id: "durable" });
    assert.equal((await saved())?.running, false);
    await c.start({ id: "durable" });
    assert.equal((await saved())?.running, true);
    await c.update({ id: "durable", spec: { restartSec: 7 }, fields: ["restart_sec"] });
    assert.equal((await saved())?.config.restart_sec, 7);
    await c.delete({ id: "durable", force: true });
    assert.equal(await saved(), undefined);
  });

  test("a restart is saved as meant to run while it stops (a crash then restarts it)", async () => {
    const file = join(daemon.settings.stateDir, "processes.json");
    const running = async () =>
      (JSON.parse(await readFile(file, "utf8")).processes as Record<string, unknown>[]).find(
        (p) => p.name === "slowstop",
      )?.running;
    const c = unix.client;
    // Ignores SIGTERM: its stop takes timeout_stop_sec (2 s), then SIGKILL.
    const command = "/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'";
    await c.create({ spec: { name: "slowstop", command, autoStart: true, timeoutStopSec: 2 } });
    const restarted = c.restart({ id: "slowstop" });
    for (let i = 0; i < 100; i++) {
      const p = (await c.describe({ id: "slowstop" })).process;
      if (p?.state === ProcessState.STOPPING) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await c.describe({ id: "slowstop" })).process?.state, ProcessState.STOPPING);
    await new Promise((r) => setTimeout(r, 300)); // a save of the stop would be done by now
    assert.equal(await running(), true);
    await restarted;
    assert.equal(await running(), true);
    await c.delete({ id: "slowstop", force: true });
  });

  test("gRPC: unix trusted, TCP needs the token", async () => {
    await unix.client.create({ spec: { name: "viaunix", command: "sleep 30" } });
    try {
      await tcp.client.create({ spec: { name: "viatcp", command: "sleep 30" } });
      assert.fail("expected UNAUTHENTICATED");
    } catch (e) {
      const ce = ConnectError.from(e);
      assert.equal(ce.code, Code.Unauthenticated);
      assert.match(ce.rawMessage, /need the daemon token; run pm-cli with sudo/);
    }
    // Log contents may carry secrets of other users' processes: same proof as mutations.
    try {
      for await (const _ of tcp.client.tailLogs({ id: "viaunix", lines: 10 })) break;
      assert.fail("expected UNAUTHENTICATED for TailLogs");
    } catch (e) {
      assert.equal(ConnectError.from(e).code, Code.Unauthenticated);
    }
    await tcpAdmin.client.create({ spec: { name: "viatcp", command: "sleep 30" } });
    const listed = (await tcp.client.list({})).processes;
    assert.deepEqual(listed.map((p) => p.name).sort(), ["fromfile", "viatcp", "viaunix"]);
  });

  test("Connect protocol over HTTP/1.1 on both listeners", async () => {
    const path = "/procmgr.v1.ProcessManager/List";
    const viaSocket = await postJson({ socketPath: daemon.settings.socketPath }, path, {});
    assert.equal(viaSocket.status, 200, viaSocket.body);
    assert.match(viaSocket.body, /"fromfile"/);
    const denied = await postJson({ port }, "/procmgr.v1.ProcessManager/Stop", { id: "fromfile" });
    assert.equal(denied.status, 401, denied.body);
    assert.match(denied.body, /unauthenticated/);
  });

  test("reload: invalid file is refused with every issue and changes nothing", async () => {
    await writeFile(
      daemon.settings.configPath,
      "processes:\n  fromfile:\n    command: sleep 30\n    restart: sometimes\n    bogus_key: 1\n",
    );
    try {
      await unix.client.reloadConfig({});
      assert.fail("expected FAILED_PRECONDITION");
    } catch (e) {
      const ce = ConnectError.from(e);
      assert.equal(ce.code, Code.FailedPrecondition);
      assert.match(ce.rawMessage, /restart/);
      assert.match(ce.rawMessage, /bogus_key/);
    }
    assert.match(logText, /config reload refused/);
    const p = (await unix.client.describe({ id: "fromfile" })).process;
    assert.equal(p?.state, 3);
  });

  test("reload: dry run and apply", async () => {
    await writeFile(daemon.settings.configPath, "processes:\n  added:\n    command: sleep 30\n");
    const dry = await tcpAdmin.client.reloadConfig({ dryRun: true });
    assert.deepEqual([dry.added, dry.removed, dry.dryRun], [["added"], ["fromfile"], true]);
    assert.equal((await unix.client.list({})).processes.length, 3);
    const real = await unix.client.reloadConfig({});
    assert.deepEqual([real.added, real.removed], [["added"], ["fromfile"]]);
    const names = (await unix.client.list({})).processes.map((p) => p.name).sort();
    assert.deepEqual(names, ["added", "viatcp", "viaunix"]);
  });

  test("metrics show the processes", async () => {
    const res = await fetch(`http://${daemon.metricsAddress}/metrics`);
    const text = await res.text();
    assert.match(text, /procmgr_process_state\{name="viaunix",state="created"\} 1/);
    assert.match(text, /procmgr_daemon_uptime_seconds \d/);
    assert.match(text, /procmgr_processes\{state="created"\} 3/);
    assert.match(text, /process_resident_memory_bytes/);
  });

  test("API processes are persisted", async () => {
    const saved = JSON.parse(
      await readFile(join(daemon.settings.stateDir, "processes.json"), "utf8"),
    ) as { processes: { name: string }[] };
    assert.deepEqual(saved.processes.map((p) => p.name).sort(), ["viatcp", "viaunix"]);
  });

  test("an applied reload is an event for calls watching every process, not for a filtered one", async () => {
    const abort = new AbortController();
    const firstOf = async (ids: string[]) => {
      for await (const ev of unix.client.watchEvents({ ids }, { signal: abort.signal })) return ev;
      return undefined;
    };
    const all = firstOf([]);
    const filtered = firstOf(["viaunix"]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await unix.client.reloadConfig({ dryRun: true });
      await unix.client.reloadConfig({});
      const ev = await all;
      assert.equal(ev?.type, EventType.CONFIG_RELOADED);
      assert.match(ev?.message ?? "", /^added=\d+ removed=\d+ changed=\d+ unchanged=\d+$/);
      // The filtered call heard nothing: its first event is the restart below.
      await unix.client.restart({ id: "viaunix" });
      assert.equal((await filtered)?.processName, "viaunix");
    } finally {
      abort.abort();
      await Promise.allSettled([all, filtered]);
    }
  });

  test("30 calls in flight are no listener leak (no MaxListenersExceededWarning)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      // Each call ends (the client cancels it) once it had its first event.
      const firsts = Array.from({ length: 30 }, async () => {
        for await (const _ of unix.client.watchEvents({ ids: ["viaunix"] })) return;
      });
      // Each call is in flight once its first event comes: a restart sends one to every one.
      await new Promise((r) => setTimeout(r, 500));
      await unix.client.restart({ id: "viaunix" });
      await Promise.all(firsts);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w.startsWith("MaxListenersExceededWarning")),
        [],
      );
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("Daemon started with an invalid config file", () => {
  test("serves the API without config processes, logs every issue, a reload fixes it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pm-daemon-bad-"));
    const settings = settingsIn(dir);
    await writeFile(
      settings.configPath,
      "processes:\n  web:\n    command: sleep 30\n    auto_strat: true\n    restart: sometimes\n",
    );
    let logText = "";
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => {
      logText += c.toString();
    });
    const daemon = new Daemon({
      settings: {
        ...settings,
        bindAddress: null,
        metrics: { ...settings.metrics, enabled: false },
      },
      logger: createLogger({ level: "debug", format: "text", stream }),
      supervisor: new Supervisor({ stateDir: settings.stateDir }),
    });
    const client = createProcessManagerConnection(`unix:${settings.socketPath}`);
    try {
      await daemon.start();
      assert.match(logText, /error config invalid, starting without config processes/);
      assert.match(logText, /processes\.web\.auto_strat: unknown field "auto_strat"/);
      assert.match(logText, /processes\.web\.restart: /);
      assert.equal((await client.client.getStatus({})).ready, true);
      assert.deepEqual((await client.client.list({})).processes, []);
      await writeFile(settings.configPath, "processes:\n  web:\n    command: sleep 30\n");
      const diff = await client.client.reloadConfig({});
      assert.deepEqual(diff.added, ["web"]);
    } finally {
      client.close();
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The reflection answer to one request, as a client of the real listener sees it. */
async function reflect(transport: Transport, symbol: string) {
  const client = createClient(ServerReflection, transport);
  const requests = (async function* () {
    yield { messageRequest: { case: "listServices" as const, value: "*" } };
    yield { messageRequest: { case: "fileContainingSymbol" as const, value: symbol } };
  })();
  const answers = [];
  for await (const r of client.serverReflectionInfo(requests)) answers.push(r.messageResponse);
  return answers;
}

describe("gRPC health and reflection on the daemon's real listeners (grpc protocol, no token)", () => {
  let dir: string;
  let daemon: Daemon;
  let tcp: Transport;
  let unix: Transport;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-daemon-grpc-"));
    const settings = { ...settingsIn(dir), metrics: { enabled: false, host: "", port: 0 } };
    daemon = new Daemon({
      settings,
      logger: createLogger({ level: "error", format: "text", stream: new PassThrough() }),
      supervisor: new Supervisor({ stateDir: settings.stateDir }),
    });
    await daemon.start();
    const tcpAddr = daemon.bindAddresses.find((a) => !a.startsWith("unix:")) as string;
    tcp = createGrpcTransport({ baseUrl: `http://${tcpAddr}` });
    unix = createGrpcTransport({
      baseUrl: "http://localhost",
      nodeOptions: { createConnection: () => connect(settings.socketPath) },
    });
  });

  after(async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("Health.Check: SERVING for '' and procmgr.v1.ProcessManager, NOT_FOUND otherwise", async () => {
    for (const transport of [tcp, unix]) {
      const health = createClient(Health, transport);
      assert.equal((await health.check({})).status, Serving.SERVING);
      assert.equal(
        (await health.check({ service: "procmgr.v1.ProcessManager" })).status,
        Serving.SERVING,
      );
      await assert.rejects(health.check({ service: "nope.v1.Nope" }), (e) => {
        assert.equal(ConnectError.from(e).code, Code.NotFound);
        return true;
      });
    }
  });

  test("reflection lists the services and serves descriptors that decode and link", async () => {
    for (const transport of [tcp, unix]) {
      const [list, files] = await reflect(transport, "procmgr.v1.ProcessManager.Create");
      if (list?.case !== "listServicesResponse") assert.fail(JSON.stringify(list));
      const names = list.value.service.map((s) => s.name);
      assert.ok(names.includes("procmgr.v1.ProcessManager"), names.join());
      assert.ok(names.includes("grpc.health.v1.Health"), names.join());
      if (files?.case !== "fileDescriptorResponse") assert.fail(JSON.stringify(files));
      const protos = files.value.fileDescriptorProto.map((b) =>
        fromBinary(FileDescriptorProtoSchema, b),
      );
      const [main] = protos;
      assert.ok(main);
      const registry = createFileRegistry(main, (name) => protos.find((f) => f.name === name));
      const method = registry.getService("procmgr.v1.ProcessManager")?.method.create;
      assert.equal(method?.input.typeName, "procmgr.v1.CreateRequest");
    }
  });

  test("Health.Watch: SERVING, then NOT_SERVING when the daemon stops, then the end", async () => {
    const seen: Serving[] = [];
    let stopped: Promise<void> | undefined;
    for await (const r of createClient(Health, tcp).watch({})) {
      seen.push(r.status);
      stopped ??= daemon.stop();
    }
    assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]);
    await stopped;
    assert.equal(daemon.health.phase, "stopping");
  });
});
