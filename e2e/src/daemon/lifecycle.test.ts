import * as assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { LogStream, type ProcessManagerConnection, ProcessState } from "@procmgr/rpc";
import {
  type DaemonInstance,
  makeDaemonDirs,
  pidAlive,
  removeDaemonDirs,
  runDaemonCommand,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

async function expectCode(p: Promise<unknown>, code: Code): Promise<string> {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    assert.equal(Code[ce.code], Code[code], ce.message);
    return ce.rawMessage;
  }
  assert.fail(`expected ${Code[code]}`);
}

describe("dd-procmgrd: process lifecycle over the unix socket", () => {
  let d: DaemonInstance;
  let c: ProcessManagerConnection;

  before(async () => {
    d = await startDaemon({ metrics: true });
    c = await d.connect("unix");
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("logs the start line with the address", () => {
    assert.match(
      d.output(),
      /info Starting Process Manager version=\S+ addr=127\.0\.0\.1:0 socket=\S+dd-procmgrd\.sock config=\S+processes\.yaml/,
    );
    assert.match(d.output(), /config file not found; no config processes/);
  });

  test("create, start, stop, list, describe, delete", async () => {
    const created = await c.client.create({ spec: { name: "napper", command: "sleep 300" } });
    assert.equal(created.process?.state, ProcessState.CREATED);
    const started = await c.client.start({ id: "napper" });
    const pid = started.process?.pid ?? 0;
    assert.ok(pid > 0 && pidAlive(pid));
    const list = await c.client.list({});
    assert.deepEqual(
      list.processes.map((p) => [p.name, p.state, p.pid]),
      [["napper", ProcessState.RUNNING, pid]],
    );
    const desc = await c.client.describe({ id: started.process?.id ?? "" });
    assert.equal(desc.spec?.command, "sleep 300");
    assert.match(desc.stdoutPath, /napper\.stdout\.log$/);
    await expectCode(c.client.delete({ id: "napper" }), Code.FailedPrecondition);
    const stopped = await c.client.stop({ id: "napper" });
    assert.equal(stopped.process?.state, ProcessState.STOPPED);
    assert.equal(pidAlive(pid), false);
    await c.client.delete({ id: "napper" });
    await expectCode(c.client.describe({ id: "napper" }), Code.NotFound);
  });

  test("TailLogs follow receives lines written after the call", async () => {
    await c.client.create({
      spec: { name: "speaker", command: "sh", args: ["-c", "echo hello-$$; exec sleep 300"] },
    });
    const first = await c.client.start({ id: "speaker" });
    const ac = new AbortController();
    const lines: string[] = [];
    let gotTail!: () => void;
    const tailArrived = new Promise<void>((r) => {
      gotTail = r;
    });
    const following = (async () => {
      for await (const r of c.client.tailLogs(
        { id: "speaker", lines: 1, follow: true, stream: LogStream.STDOUT },
        { signal: ac.signal },
      )) {
        lines.push(
          ...Buffer.from(r.data)
            .toString()
            .split("\n")
            .filter((l) => l !== ""),
        );
        gotTail();
        if (lines.length === 2) ac.abort();
      }
    })().catch((e: unknown) => {
      if (ConnectError.from(e).code !== Code.Canceled) throw e;
    });
    // Wait until the first line has been written and tailed, then make new output.
    await tailArrived;
    const second = await c.client.restart({ id: "speaker" });
    await following;
    assert.deepEqual(lines, [`hello-${first.process?.pid}`, `hello-${second.process?.pid}`]);
    await c.client.delete({ id: "speaker", force: true });
  });

  test("metrics show the process", async () => {
    await c.client.create({ spec: { name: "metered", command: "sleep 300", autoStart: true } });
    // A cgroup's memory.stat is flushed by the kernel every few seconds: a process that has
    // just started may read 0 for a moment.
    let text = "";
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`http://${d.metricsAddress}/metrics`);
      assert.equal(res.status, 200);
      text = await res.text();
      if (/procmgr_process_memory_rss_bytes\{name="metered"\} [1-9]/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(text, /procmgr_process_state\{name="metered",state="running"\} 1/);
    assert.match(text, /procmgr_process_memory_rss_bytes\{name="metered"\} [1-9]/);
    assert.match(text, /procmgr_processes\{state="running"\} 1/);
    await c.client.delete({ id: "metered", force: true });
  });

  test("a second daemon on the same socket refuses to start and leaves the first alone", async () => {
    await assert.rejects(
      startDaemon({ dirs: d }),
      /another dd-procmgrd is already listening on \S+dd-procmgrd\.sock/,
    );
    assert.equal((await c.client.getStatus({})).ready, true);
    assert.equal((await d.token()).length, 64);
  });

  test("GetStatus", async () => {
    const st = await c.client.getStatus({});
    assert.equal(st.ready, true);
    assert.equal(st.pid, d.pid);
    assert.equal(st.configPath, d.configPath);
    assert.ok(st.bindAddresses.includes(d.tcpAddress));
  });
});

describe("dd-procmgrd --check-config", () => {
  test("0 for a valid file, 1 with every error for an invalid or missing one", async () => {
    const dirs = await makeDaemonDirs();
    try {
      const good = join(dirs.dir, "good.yaml");
      await writeFile(good, "processes:\n  web:\n    command: sleep 1\n    auto_start: true\n");
      const ok = await runDaemonCommand(["--check-config", good]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /OK, 1 process \(web\)/);
      const bad = join(dirs.dir, "bad.yaml");
      await writeFile(
        bad,
        "processes:\n  web:\n    command: sleep 1\n    restart: sometimes\n    colour: red\n",
      );
      const ko = await runDaemonCommand(["--check-config", bad]);
      assert.equal(ko.code, 1);
      assert.match(ko.stderr, /bad\.yaml:4:\d+: processes\.web\.restart/);
      assert.match(ko.stderr, /bad\.yaml:5:\d+: processes\.web\.colour/);
      const viaEnv = await runDaemonCommand(["--check-config"], { PM_CONFIG_PATH: bad });
      assert.equal(viaEnv.code, 1);
      const remote = await runDaemonCommand([], {
        PM_BIND_ADDRESS: "0.0.0.0:0",
        PM_CONFIG_PATH: good,
        PM_STATE_DIR: dirs.stateDir,
        PM_RUNTIME_DIR: dirs.runtimeDir,
      });
      assert.notEqual(remote.code, 0);
      assert.match(remote.stderr, /allow-remote|PM_ALLOW_REMOTE/);
      const missing = await runDaemonCommand(["--check-config", join(dirs.dir, "none.yaml")]);
      assert.equal(missing.code, 1);
    } finally {
      await removeDaemonDirs(dirs);
    }
  });
});
