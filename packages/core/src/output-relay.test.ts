import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import {
  closeSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fixture, tempDir, testConfig, waitFor, waitOutput, waitState } from "./harness.js";
import { type Host, newManaged } from "./managed.js";
import { type OutputDirs, OutputRelay, stamped, stdioFor } from "./output-relay.js";
import { Supervisor } from "./supervisor.js";
import type { ProcessInfo, SupervisorEvents } from "./types.js";

const root = tempDir("procmgr-logs-");
const sup = new Supervisor({ stateDir: join(root, "state") });
after(() => sup.shutdown());

/** The named pipes the supervisor keeps ready (made in the background by mkfifo). */
function readyPipes(stateDir: string): string[] {
  return existsSync(join(stateDir, "fifo")) ? readdirSync(join(stateDir, "fifo")) : [];
}

async function untilPipesReady(stateDir: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (readyPipes(stateDir).length < count) {
    if (Date.now() > deadline) assert.fail(`fewer than ${count} pipes in ${stateDir}/fifo`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const showFds = ["sh", "-c", "readlink /proc/self/fd/1; readlink /proc/self/fd/2 >&2"];

describe("logs", () => {
  it("default files are <stateDir>/logs/<name>.stdout.log and .stderr.log, mode 0640, appended", async () => {
    const logs = join(root, "state", "logs");
    const info = await sup.create(testConfig("both", ["sh", "-c", "echo out; echo err >&2"]));
    assert.equal(info.stdoutPath, join(logs, "both.stdout.log"));
    assert.equal(info.stderrPath, join(logs, "both.stderr.log"));
    for (let i = 1; i <= 2; i++) {
      const done = waitFor(sup, "both", (p) => p.state === "exited" && p.runCount === i);
      await sup.start("both");
      await done;
    }
    assert.equal(readFileSync(join(logs, "both.stdout.log"), "utf8"), "out\nout\n");
    assert.equal(readFileSync(join(logs, "both.stderr.log"), "utf8"), "err\nerr\n");
    assert.equal(statSync(join(logs, "both.stdout.log")).mode & 0o777, 0o640);
  });

  it("configured paths (parents created, existing content kept), inherit and null", async () => {
    const dir = tempDir("procmgr-logs-cfg-");
    const out = join(dir, "deep", "er", "app.log");
    await sup.create(
      testConfig("cfg", ["sh", "-c", "echo to-file; echo to-null >&2"], {
        stdout: { kind: "file", path: out },
        stderr: { kind: "null" },
      }),
    );
    const first = waitState(sup, "cfg", "exited");
    await sup.start("cfg");
    const info = await first;
    assert.equal(info.stdoutPath, out);
    assert.equal(info.stderrPath, undefined);
    writeFileSync(out, "kept\n", { flag: "a" });
    const second = waitFor(sup, "cfg", (p) => p.state === "exited" && p.runCount === 2);
    await sup.start("cfg");
    await second;
    assert.equal(readFileSync(out, "utf8"), "to-file\nkept\nto-file\n");
    assert.equal(existsSync(join(root, "state", "logs", "cfg.stderr.log")), false);

    await sup.create(
      testConfig("inh", ["true"], { stdout: { kind: "inherit" }, stderr: { kind: "inherit" } }),
    );
    const inh = waitState(sup, "inh", "exited");
    await sup.start("inh");
    assert.equal((await inh).stdoutPath, undefined);
    assert.equal(existsSync(join(root, "state", "logs", "inh.stdout.log")), false);
  });

  it("200,000 lines arrive complete and in order, and as output events", async () => {
    const count = 200_000;
    await sup.create(testConfig("flood", [process.execPath, fixture("lines.mjs"), String(count)]));
    await untilPipesReady(join(root, "state"), 2);
    let eventBytes = 0;
    sup.on("output", ({ process: p, stream, chunk }) => {
      if (p.name === "flood" && stream === "stdout") eventBytes += chunk.length;
    });
    const done = waitState(sup, "flood", "exited", "failed");
    await sup.start("flood");
    const info = await done;
    assert.equal(info.state, "exited");
    const text = readFileSync(info.stdoutPath ?? "", "utf8");
    const lines = text.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, count);
    for (let i = 0; i < count; i++) {
      if (lines[i] !== `line ${i}`) assert.fail(`line ${i} is ${JSON.stringify(lines[i])}`);
    }
    assert.equal(eventBytes, Buffer.byteLength(text));
  });

  it("children writing at once (one read buffer for every pipe): each file and each process's events hold its own bytes, in order", async () => {
    await untilPipesReady(join(root, "state"), 8);
    // Four small-write children (a line per write) and four large-write ones (64 KiB blocks of
    // one letter: a whole read each), all read through the same buffer at the same time.
    const small = (tag: string) =>
      `const fs = require("node:fs"); for (let i = 0; i < 20000; i++) fs.writeSync(1, "${tag} " + i + "\\n");`;
    const large = (letter: string) =>
      `const fs = require("node:fs"); for (let i = 0; i < 64; i++) fs.writeSync(1, Buffer.alloc(65536, "${letter}" + (i % 10)));`;
    const writers = [
      ...["a", "b", "c", "d"].map((t) => ({ name: `mix-small-${t}`, script: small(t) })),
      ...["w", "x", "y", "z"].map((t) => ({ name: `mix-large-${t}`, script: large(t) })),
    ];
    const events = new Map<string, Buffer[]>(writers.map((w) => [w.name, []]));
    const onOutput = ({
      process: p,
      stream,
      chunk,
    }: {
      process: { name: string };
      stream: string;
      chunk: Buffer;
    }) => {
      if (stream === "stdout") events.get(p.name)?.push(chunk);
    };
    sup.on("output", onOutput);
    try {
      for (const w of writers) {
        await sup.create(testConfig(w.name, [process.execPath, "-e", w.script]));
      }
      const done = writers.map((w) => waitState(sup, w.name, "exited", "failed"));
      await Promise.all(writers.map((w) => sup.start(w.name)));
      const infos = await Promise.all(done);
      for (const [i, w] of writers.entries()) {
        const info = infos[i];
        assert.equal(info?.state, "exited", w.name);
        const file = readFileSync(info?.stdoutPath ?? "");
        const expected = w.name.startsWith("mix-small-")
          ? Array.from({ length: 20000 }, (_, n) => `${w.name.slice(-1)} ${n}\n`).join("")
          : Array.from({ length: 64 }, (_, n) =>
              Buffer.alloc(65536, `${w.name.slice(-1)}${n % 10}`).toString(),
            ).join("");
        assert.ok(file.toString() === expected, `${w.name}: the file holds exactly its own output`);
        assert.ok(
          Buffer.concat(events.get(w.name) ?? []).equals(file),
          `${w.name}: the output events hold exactly the file's bytes`,
        );
      }
    } finally {
      sup.off("output", onOutput);
    }
  });

  it("reopenLogs: after a rename (logrotate), output goes to a new file without a restart", async () => {
    const info = await sup.create(testConfig("ticker", ["sh", fixture("ticker.sh")]));
    const path = info.stdoutPath ?? "";
    const first = waitOutput(sup, "ticker", /tick 2\n/);
    const started = await sup.start("ticker");
    await first;
    renameSync(path, `${path}.1`);
    await sup.reopenLogs();
    const m = await waitOutput(sup, "ticker", /tick (\d+)\n/);
    const next = Number(m[1]);
    // The new file holds the lines written after the reopen (wait for one more to be sure).
    await waitOutput(sup, "ticker", new RegExp(`tick ${next + 1}\\n`));
    assert.ok(existsSync(path));
    const rotated = readFileSync(`${path}.1`, "utf8");
    const fresh = readFileSync(path, "utf8");
    assert.match(rotated, /^tick 0\ntick 1\ntick 2\n/);
    assert.match(fresh, /^tick \d+\n/);
    // Nothing lost, nothing duplicated across the two files.
    const all = (rotated + fresh).trim().split("\n");
    assert.deepEqual(
      all,
      all.map((_, i) => `tick ${i}`),
    );
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.equal(sup.get("ticker").pid, started.pid);
    await sup.stop("ticker");
  });

  it("output goes through a pipe of its own per run (a FIFO made ahead and unlinked at once)", async () => {
    // A supervisor of its own: its first start makes the first batch at once, so both runs
    // below get a named pipe whatever the machine's load (later batches come in the background).
    const stateDir = join(tempDir("procmgr-logs-fifo-"), "state");
    const own = new Supervisor({ stateDir });
    try {
      const info = await own.create(testConfig("kind", showFds));
      for (let i = 1; i <= 2; i++) {
        const done = waitFor(own, "kind", (p) => p.state === "exited" && p.runCount === i);
        await own.start("kind");
        await done;
      }
      const fifoDir = join(stateDir, "fifo");
      assert.equal(statSync(fifoDir).mode & 0o777, 0o700);
      assert.ok(readyPipes(stateDir).length > 0);
      for (const name of readyPipes(stateDir)) {
        assert.ok(statSync(join(fifoDir, name)).isFIFO(), name);
        assert.equal(statSync(join(fifoDir, name)).mode & 0o777, 0o600);
      }
      const out = readFileSync(info.stdoutPath ?? "", "utf8")
        .trim()
        .split("\n");
      const err = readFileSync(info.stderrPath ?? "", "utf8")
        .trim()
        .split("\n");
      // A named pipe of the pool, already unlinked when the child runs: nothing else can open it.
      for (const fd of [...out, ...err]) {
        assert.ok(fd.startsWith(`${fifoDir}/`), fd);
        assert.match(fd, / \(deleted\)$/);
      }
      // stdout and stderr are two pipes, and every run gets new ones.
      assert.equal(new Set([...out, ...err]).size, 4);
    } finally {
      await own.shutdown();
    }
  });

  it("without named pipes (no fifo dir possible) output still arrives, through a socketpair", async () => {
    const dir = tempDir("procmgr-logs-nofifo-");
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(join(dir, "state", "fifo"), "not a directory\n");
    const plain = new Supervisor({ stateDir: join(dir, "state") });
    try {
      const info = await plain.create(testConfig("fallback", showFds));
      await new Promise((r) => setTimeout(r, 200));
      const done = waitState(plain, "fallback", "exited");
      await plain.start("fallback");
      await done;
      assert.match(readFileSync(info.stdoutPath ?? "", "utf8"), /^socket:\[\d+\]\n$/);
      assert.match(readFileSync(info.stderrPath ?? "", "utf8"), /^socket:\[\d+\]\n$/);
    } finally {
      await plain.shutdown();
    }
  });

  it("a fresh supervisor's first start already gets a named pipe (the first batch is made at once)", async () => {
    const dir = tempDir("procmgr-logs-fifo-first-");
    const own = new Supervisor({ stateDir: join(dir, "state") });
    try {
      const done = new Promise<void>((resolve) =>
        own.on("state", ({ process: p }) => {
          if (p.name === "first" && p.state === "exited") resolve();
        }),
      );
      const info = await own.create(testConfig("first", showFds, { autoStart: true }));
      await done;
      const fifoDir = join(dir, "state", "fifo");
      for (const path of [info.stdoutPath, info.stderrPath]) {
        const fd = readFileSync(path ?? "", "utf8").trim();
        assert.ok(fd.startsWith(`${fifoDir}/`) && fd.endsWith(" (deleted)"), fd);
      }
    } finally {
      await own.shutdown();
    }
  });

  it("shutdown removes the pipes not taken", async () => {
    const dir = tempDir("procmgr-logs-fifo-close-");
    const own = new Supervisor({ stateDir: join(dir, "state") });
    await own.create(testConfig("idle", ["true"]));
    await untilPipesReady(join(dir, "state"), 2);
    await own.shutdown();
    assert.deepEqual(readyPipes(join(dir, "state")), []);
  });

  it("subscribeOutput hands over one process's output, in the file first, until unsubscribed", async () => {
    const lines = fixture("lines.mjs");
    await sup.create(testConfig("subA", [process.execPath, lines, "5000"]));
    await sup.create(testConfig("subB", [process.execPath, lines, "5000"]));
    const got: { stream: string; text: string; inFile: number }[] = [];
    let path = "";
    const unsubscribe = sup.subscribeOutput("subA", (stream, chunk) => {
      got.push({ stream, text: chunk.toString(), inFile: statSync(path).size });
    });
    path = sup.get("subA").stdoutPath ?? "";
    const exited = Promise.all(["subA", "subB"].map((n) => waitState(sup, n, "exited")));
    await sup.start("subA");
    await sup.start("subB");
    await exited;
    const text = got.map((g) => g.text).join("");
    // Every line of A, in order, and nothing of B (both write the same lines: counted).
    assert.equal(text, Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(""));
    assert.ok(got.every((g) => g.stream === "stdout"));
    // Each chunk was already in the file when it was handed over (a follower reads it there).
    let written = 0;
    for (const g of got) {
      written += Buffer.byteLength(g.text);
      assert.ok(g.inFile >= written, `chunk handed over before it was in the file`);
    }
    unsubscribe();
    const before = got.length;
    const again = waitFor(sup, "subA", (p) => p.state === "exited" && p.runCount === 2);
    await sup.start("subA");
    await again;
    assert.equal(got.length, before, "nothing after unsubscribing");
  });
});

/** The relay's view of a supervisor: events to listen to, warnings collected. */
function fakeHost(warnings: string[] = []): Host {
  return {
    events: new EventEmitter<SupervisorEvents>(),
    snapshot: (m) => ({ name: m.name }) as ProcessInfo,
    warn: (_m, message) => warnings.push(message),
    setState: () => {},
    notifyEnvironment: async () => ({}),
    passSockets: async () => ({ fds: [], env: {} }),
    onReady: () => {},
    watchdog: () => {},
    recordRun: () => {},
  };
}

/** A relay's directories in `dir`, with no journald there. */
function dirsIn(dir: string): OutputDirs {
  return {
    stateDir: dir,
    logDir: join(dir, "logs"),
    defaultOutput: "file",
    journalSocket: join(dir, "no-journal.sock"),
  };
}

describe("OutputRelay (without a supervisor)", () => {
  it("log paths: <logDir>/<name>.<stream>.log by default, files relative to working_dir, none for inherit/null", () => {
    const dir = tempDir("procmgr-relay-paths-");
    const relay = new OutputRelay(fakeHost(), dirsIn(dir));
    const m = newManaged(testConfig("web", ["true"]), "api", "id-web");
    assert.equal(relay.destination(m, "stdout")?.path, join(dir, "logs", "web.stdout.log"));
    assert.equal(relay.destination(m, "stderr")?.path, join(dir, "logs", "web.stderr.log"));
    m.config = testConfig("web", ["true"], {
      workingDir: "/srv/web",
      stdout: { kind: "file", path: "out.log" },
      stderr: { kind: "file", path: "/var/log/web.err" },
    });
    assert.equal(relay.destination(m, "stdout")?.path, "/srv/web/out.log");
    assert.equal(relay.destination(m, "stderr")?.path, "/var/log/web.err");
    m.config = testConfig("web", ["true"], {
      stdout: { kind: "file", path: "rel.log" },
      stderr: { kind: "inherit" },
    });
    assert.equal(relay.destination(m, "stdout")?.path, join(dir, "rel.log"));
    assert.equal(relay.destination(m, "stderr")?.path, undefined);
    assert.equal(stdioFor({ kind: "inherit" }), "inherit");
    assert.equal(stdioFor({ kind: "null" }), "ignore");
    assert.equal(stdioFor({ kind: "default" }), "pipe");
    assert.equal(relay.takePipe({ kind: "null" }), undefined);
  });

  it("relays a child's pipes to its files, then to its subscribers and the output event", async () => {
    const dir = tempDir("procmgr-relay-direct-");
    const host = fakeHost();
    const relay = new OutputRelay(host, dirsIn(dir));
    relay.reserve(1);
    const m = newManaged(testConfig("direct", ["sh"]), "api", "id-direct");
    const got: string[] = [];
    const unsubscribe = relay.subscribe(m, (stream, chunk) => got.push(`${stream}:${chunk}`));
    const events: string[] = [];
    host.events.on("output", ({ process: p, stream, chunk }) =>
      events.push(`${p.name}/${stream}:${chunk}`),
    );
    const out = relay.takePipe(m.config.stdout);
    const err = relay.takePipe(m.config.stderr);
    const child = spawn("sh", ["-c", "echo out; echo err >&2"], {
      stdio: ["ignore", out?.write ?? "pipe", err?.write ?? "pipe"],
    });
    for (const pipe of [out, err]) if (pipe) closeSync(pipe.write);
    const sinks = relay.sinksOf(m);
    await relay.relay(m, child, out, err, sinks, undefined);
    await Promise.all([sinks.stdout?.flushed(), sinks.stderr?.flushed()]);
    assert.equal(readFileSync(join(dir, "logs", "direct.stdout.log"), "utf8"), "out\n");
    assert.equal(readFileSync(join(dir, "logs", "direct.stderr.log"), "utf8"), "err\n");
    assert.deepEqual(got.sort(), ["stderr:err\n", "stdout:out\n"]);
    assert.deepEqual(events.sort(), ["direct/stderr:err\n", "direct/stdout:out\n"]);
    unsubscribe();
    await relay.close();
  });
});

describe("log_timestamps", () => {
  it("starts each line with its arrival time, across chunks that split lines", () => {
    const line = { atStart: true };
    const a = stamped(Buffer.from("one\ntw"), line).toString();
    const b = stamped(Buffer.from("o\nthree\n"), line).toString();
    const lines = (a + b).split("\n").filter(Boolean);
    assert.equal(lines.length, 3);
    for (const [i, word] of ["one", "two", "three"].entries()) {
      assert.match(
        lines[i] ?? "",
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${word}$`),
      );
    }
    assert.equal(line.atStart, true);
  });

  it("a process with log_timestamps gets them in its log file", async () => {
    await sup.create(
      testConfig("stamped", ["sh", "-c", "echo first; echo second"], { logTimestamps: true }),
    );
    const exited = waitState(sup, "stamped", "exited");
    await sup.start("stamped");
    const info = await exited;
    const text = readFileSync(info.stdoutPath ?? "", "utf8");
    assert.match(text, /^\S+Z first\n\S+Z second\n$/);
  });
});
