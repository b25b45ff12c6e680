import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { resolveProcessConfig } from "@procmgr/config";
import { type ProcessInfo, Supervisor, type SupervisorApi } from "@procmgr/core";
import {
  EventType,
  HealthCheckType,
  HealthStatus,
  LogStream,
  ProcessManager,
  ProcessSpecSchema,
  ProcessState,
  RestartPolicy,
  UsageSource,
} from "@procmgr/rpc";
import { authInterceptor } from "./auth.js";
import { processManagerRoutes } from "./service.js";
import { EventFeed } from "./watch-events.js";

const token = "t0ken";

/** A loopback port nothing listens on (a tcp check of it is refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` until it answers a value; fails after 10 s. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function clientFor(sup: SupervisorApi, withToken: boolean): Client<typeof ProcessManager> {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return await next(req);
  };
  const transport = createRouterTransport(
    processManagerRoutes({
      supervisor: sup,
      reload: async () => ({ added: [], removed: [], changed: [], unchanged: [] }),
      status: () => ({
        ready: true,
        version: "test",
        startedAt: new Date(),
        configPath: "/nonexistent.yaml",
        bindAddresses: [],
        pid: process.pid,
        stateDir: "/tmp",
      }),
      ready: Promise.resolve(),
      eventFeed: new EventFeed(sup),
      persisted: async () => {},
    }),
    {
      router: { interceptors: [authInterceptor(() => token, "root")] },
      transport: { interceptors: withToken ? [bearer] : [] },
    },
  );
  return createClient(ProcessManager, transport);
}

async function rejectsWith(
  p: Promise<unknown>,
  code: Code,
  message?: RegExp,
): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    assert.equal(Code[ce.code], Code[code], ce.message);
    if (message !== undefined) assert.match(ce.rawMessage, message);
    return ce;
  }
  assert.fail(`expected ${Code[code]}`);
}

describe("ProcessManager handlers (in-memory transport, real supervisor)", () => {
  let dir: string;
  let sup: Supervisor;
  let admin: Client<typeof ProcessManager>;
  let anon: Client<typeof ProcessManager>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-svc-"));
    sup = new Supervisor({ stateDir: dir });
    admin = clientFor(sup, true);
    anon = clientFor(sup, false);
  });
  after(async () => {
    await sup.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  test("create with auto_start runs it; list, describe by name and by id", async () => {
    const res = await admin.create({
      spec: { name: "sleeper", command: "sleep 30", autoStart: true, env: { SECRET: "s3" } },
    });
    const p = res.process;
    assert.ok(p);
    assert.equal(p.state, ProcessState.RUNNING);
    assert.ok(p.pid > 0);
    const list = await anon.list({});
    assert.deepEqual(
      list.processes.map((x) => x.name),
      ["sleeper"],
    );
    const byName = await admin.describe({ id: "sleeper" });
    assert.equal(byName.spec?.command, "sleep 30");
    assert.equal(byName.spec?.env.SECRET, "s3");
    assert.equal(byName.envRedacted, false);
    const byId = await anon.describe({ id: p.id });
    assert.equal(byId.process?.name, "sleeper");
    assert.equal(byId.spec?.env.SECRET, "<redacted>");
    assert.equal(byId.envRedacted, true);
  });

  test("error codes", async () => {
    await rejectsWith(
      admin.create({ spec: { name: "sleeper", command: "sleep 1" } }),
      Code.AlreadyExists,
    );
    await rejectsWith(admin.create({ spec: { command: "sleep 1" } }), Code.InvalidArgument, /name/);
    await rejectsWith(
      admin.create({ spec: { name: "bad", command: "true", killSignal: "SIGNOPE" } }),
      Code.InvalidArgument,
      /kill_signal/,
    );
    await rejectsWith(admin.start({ id: "nope" }), Code.NotFound);
    await rejectsWith(admin.describe({ id: "" }), Code.InvalidArgument, /id/);
    await rejectsWith(admin.delete({ id: "sleeper" }), Code.FailedPrecondition);
    await rejectsWith(
      admin.update({ id: "sleeper", spec: {}, fields: ["bogus"] }),
      Code.InvalidArgument,
      /bogus/,
    );
    await rejectsWith(admin.update({ id: "sleeper", spec: {}, fields: [] }), Code.InvalidArgument);
  });

  test("mutating calls without the token are UNAUTHENTICATED; reads are open", async () => {
    await rejectsWith(
      anon.create({ spec: { name: "x", command: "true" } }),
      Code.Unauthenticated,
      /sudo/,
    );
    for (const call of [
      () => anon.stop({ id: "sleeper" }),
      () => anon.delete({ id: "sleeper", force: true }),
      () => anon.reloadConfig({}),
    ]) {
      await rejectsWith(call(), Code.Unauthenticated);
    }
    const st = await anon.getStatus({});
    assert.equal(st.total, 1);
    assert.equal(st.running, 1);
  });

  test("update a hot field; resource usage; stop; delete", async () => {
    const up = await admin.update({
      id: "sleeper",
      spec: create(ProcessSpecSchema, { restartSec: 7, restart: RestartPolicy.ON_FAILURE }),
      fields: ["restart_sec", "restart"],
    });
    assert.deepEqual([...up.updatedFields].sort(), ["restart", "restart_sec"]);
    assert.equal(up.processRestarted, false);
    assert.equal((await admin.describe({ id: "sleeper" })).spec?.restartSec, 7);
    // Running from its spawn on, it enters its cgroups (one tree after the other on a hybrid
    // host) in its first milliseconds: until then the memory controller has counted nothing.
    const usage = await until("the sleeper's memory counted", async () => {
      const u = await anon.getResourceUsage({ id: "sleeper" });
      return u.memoryRssBytes > 0n ? u : undefined;
    });
    assert.ok(usage.processCount >= 1);
    assert.notEqual(usage.source, UsageSource.UNSPECIFIED);
    const described = (await anon.describe({ id: "sleeper" })).process;
    assert.notEqual(described?.enforcement?.tracking ?? "", "", "it says how it is tracked");
    // In a cgroup, List and Describe carry its CPU time (and memory where a controller counts).
    const listed = (await anon.list({})).processes[0];
    if (usage.source === UsageSource.CGROUP) {
      assert.ok(listed?.usage?.cpuSeconds !== undefined, "list reads the cgroup's CPU time");
      assert.ok(described?.usage !== undefined);
    } else {
      assert.equal(listed?.usage, undefined);
    }
    const stopped = await admin.stop({ id: "sleeper" });
    assert.equal(stopped.process?.state, ProcessState.STOPPED);
    await rejectsWith(anon.getResourceUsage({ id: "sleeper" }), Code.FailedPrecondition);
    const del = await admin.delete({ id: "sleeper" });
    assert.equal(del.name, "sleeper");
    assert.equal((await anon.list({})).processes.length, 0);
  });

  test("start/stop/restart with ids: checked first, then handled together", async () => {
    const names = ["m1", "m2", "m3"];
    for (const name of names) await admin.create({ spec: { name, command: "sleep 30" } });
    await rejectsWith(admin.start({ ids: ["m1", "nope"] }), Code.NotFound, /nope/);
    assert.ok(
      names.every((n) => sup.get(n).state === "created"),
      "nothing started",
    );
    await rejectsWith(admin.start({ id: "m1", ids: ["m2"] }), Code.InvalidArgument);
    const started = await admin.start({ ids: names });
    assert.deepEqual(
      started.processes.map((p) => [p.name, p.state]),
      names.map((n) => [n, ProcessState.RUNNING]),
    );
    assert.equal(started.process, undefined);
    const restarted = await admin.restart({ ids: ["m3", "m1"] });
    assert.deepEqual(
      restarted.processes.map((p) => p.name),
      ["m3", "m1"],
    );
    const stopped = await admin.stop({ ids: names });
    assert.ok(stopped.processes.every((p) => p.state === ProcessState.STOPPED && p.pid === 0));
    await rejectsWith(anon.stop({ ids: names }), Code.Unauthenticated);
    for (const name of names) await admin.delete({ id: name });
  });

  test("watch events sees create, start and exit", async () => {
    const ac = new AbortController();
    const seen: EventType[] = [];
    let subscribed = false;
    const watching = (async () => {
      for await (const ev of anon.watchEvents({}, { signal: ac.signal })) {
        if (ev.processName === "probe") subscribed = true;
        if (ev.processName !== "echoer") continue;
        seen.push(ev.type);
        if (ev.type === EventType.EXITED) {
          assert.equal(ev.exitCode, 0);
          ac.abort();
        }
      }
    })().catch((e: unknown) => {
      if (ConnectError.from(e).code !== Code.Canceled) throw e;
    });
    // Until the stream is subscribed, make events it would see.
    while (!subscribed) {
      await admin.create({ spec: { name: "probe", command: "true" } });
      await admin.delete({ id: "probe" });
    }
    await admin.create({ spec: { name: "echoer", command: "echo hi", autoStart: true } });
    await watching;
    assert.ok(seen.includes(EventType.CREATED));
    assert.ok(seen.includes(EventType.STATE_CHANGED));
    assert.ok(seen.includes(EventType.EXITED));
    await admin.delete({ id: "echoer", force: true });
  });

  test("watch events: health changes, and the failure of a run its health check ended", async () => {
    const port = await closedPort();
    const ac = new AbortController();
    const events: { type: EventType; message: string }[] = [];
    let subscribed = false;
    const watching = (async () => {
      for await (const ev of anon.watchEvents(
        { ids: ["checked", "probe2"] },
        { signal: ac.signal },
      )) {
        if (ev.processName === "probe2") subscribed = true;
        if (ev.processName !== "checked") continue;
        events.push({ type: ev.type, message: ev.message });
        if (ev.type === EventType.EXITED) ac.abort();
      }
    })().catch((e: unknown) => {
      if (ConnectError.from(e).code !== Code.Canceled) throw e;
    });
    while (!subscribed) {
      await admin.create({ spec: { name: "probe2", command: "true" } });
      await admin.delete({ id: "probe2" });
    }
    await admin.create({
      spec: {
        name: "checked",
        command: "sleep 30",
        autoStart: true,
        healthCheck: {
          type: HealthCheckType.TCP,
          port,
          intervalSec: 0.05,
          retries: 1,
          restartAfter: 2,
        },
      },
    });
    await watching;
    const health = events.filter((e) => e.type === EventType.HEALTH_CHANGED);
    assert.deepEqual(
      health.map((e) => e.message),
      [`unhealthy: connection refused 127.0.0.1:${port}`],
    );
    const exited = events.find((e) => e.type === EventType.EXITED);
    assert.match(exited?.message ?? "", /^health check failed 2 times in a row/);
    const listed = (await anon.list({})).processes.find((p) => p.name === "checked");
    assert.ok(listed);
    assert.ok(listed.runCount >= 1);
    await admin.delete({ id: "checked", force: true });
  });

  test("list shows the health of a running process with a check", async () => {
    const port = await closedPort();
    await admin.create({
      spec: {
        name: "sick",
        command: "sleep 30",
        autoStart: true,
        healthCheck: { type: HealthCheckType.TCP, port, intervalSec: 0.05, retries: 2 },
      },
    });
    const sick = await until("sick to be unhealthy", async () => {
      const p = (await anon.list({})).processes.find((x) => x.name === "sick");
      return p?.healthStatus === HealthStatus.UNHEALTHY ? p : undefined;
    });
    assert.ok(sick.healthCheckFailures >= 2);
    assert.equal(sick.healthDetail, `connection refused 127.0.0.1:${port}`);
    assert.ok(sick.lastHealthCheck !== undefined);
    const d = await anon.describe({ id: "sick" });
    assert.equal(d.process?.healthStatus, HealthStatus.UNHEALTHY);
    await admin.stop({ id: "sick" });
    const stopped = (await anon.list({})).processes.find((x) => x.name === "sick");
    assert.equal(stopped?.healthStatus, HealthStatus.UNSPECIFIED, "not running: no health");
    await admin.delete({ id: "sick" });
  });

  /** Resolves at the next exit of process `name`. */
  const exitOf = (name: string) =>
    new Promise<void>((resolve) => {
      const l = ({ process }: { process: { name: string } }) => {
        if (process.name !== name) return;
        sup.off("exit", l);
        resolve();
      };
      sup.on("exit", l);
    });

  test("tail logs: last lines, then follow new output", async () => {
    await admin.create({
      spec: { name: "talker", command: "sh", args: ["-c", "echo one; echo two; echo three"] },
    });
    const done = exitOf("talker");
    await admin.start({ id: "talker" });
    await done;
    await rejectsWith(
      (async () => {
        for await (const _ of anon.tailLogs({ id: "talker", lines: 2 })) break;
      })(),
      Code.Unauthenticated,
    );
    let text = "";
    for await (const r of admin.tailLogs({ id: "talker", lines: 2, stream: LogStream.STDOUT })) {
      text += Buffer.from(r.data).toString();
    }
    assert.equal(text, "two\nthree\n");

    // Follow from the last line: once it arrives, the follow position is fixed.
    const ac = new AbortController();
    let followed = "";
    let tailed!: () => void;
    const tailDone = new Promise<void>((r) => {
      tailed = r;
    });
    const following = (async () => {
      for await (const r of admin.tailLogs(
        { id: "talker", lines: 1, follow: true, stream: LogStream.STDOUT },
        { signal: ac.signal },
      )) {
        followed += Buffer.from(r.data).toString();
        tailed();
        if (followed.split("three").length === 3) ac.abort();
      }
    })().catch((e: unknown) => {
      if (ConnectError.from(e).code !== Code.Canceled) throw e;
    });
    await tailDone;
    await admin.start({ id: "talker" });
    await following;
    assert.equal(followed, "three\none\ntwo\nthree\n");

    // Every process: each response names its process.
    await admin.create({ spec: { name: "other", command: "sh", args: ["-c", "echo four"] } });
    const otherDone = exitOf("other");
    await admin.start({ id: "other" });
    await otherDone;
    const byProcess = new Map<string, string>();
    for await (const r of admin.tailLogs({ id: "", lines: 1, stream: LogStream.STDOUT })) {
      byProcess.set(r.process, (byProcess.get(r.process) ?? "") + Buffer.from(r.data).toString());
    }
    assert.deepEqual(Object.fromEntries(byProcess), { talker: "three\n", other: "four\n" });
    await admin.delete({ id: "other", force: true });
    await admin.delete({ id: "talker", force: true });
  });
});

describe("GetResourceUsage (a supervisor answering what a cgroup gives)", () => {
  const info: ProcessInfo = {
    id: "id-web",
    name: "web",
    source: "api",
    config: resolveProcessConfig("web", { command: "sleep 1" }),
    state: "running",
    pid: 42,
    runCount: 1,
    restartCount: 0,
    consecutiveFailures: 0,
    createdAt: new Date(0),
    uptimeMs: 2_000,
    enforcement: { tracking: "cgroup v2 /sys/fs/cgroup/procmgr/web" },
    oomKills: 0,
  };
  const usage = {
    pid: 42,
    processCount: 3,
    cpuSeconds: 1,
    rssBytes: 4096,
    threads: 4,
  };
  const clientOver = (answer: object) =>
    clientFor(
      {
        get: () => info,
        usage: async () => answer,
      } as unknown as SupervisorApi,
      false,
    );

  test("the cgroup: source, memory charged and its peak", async () => {
    const u = await clientOver({
      ...usage,
      source: "cgroup",
      memoryBytes: 8192,
      memoryPeakBytes: 16384,
    }).getResourceUsage({ id: "web" });
    assert.equal(u.source, UsageSource.CGROUP);
    assert.equal(u.memoryBytes, 8192n);
    assert.equal(u.memoryPeakBytes, 16384n);
    assert.equal(u.memoryRssBytes, 4096n);
    assert.equal(u.processCount, 3);
  });

  test("the process group: no charged memory, no peak", async () => {
    const u = await clientOver({ ...usage, source: "process group" }).getResourceUsage({
      id: "web",
    });
    assert.equal(u.source, UsageSource.PROCESS_GROUP);
    assert.equal(u.memoryBytes, undefined);
    assert.equal(u.memoryPeakBytes, undefined);
    assert.equal(u.memoryRssBytes, 4096n);
  });
});
