import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  cliE2eSkipReason,
  freePort,
  listJson,
  runCli,
  spawnCli,
  startTestDaemon,
  type TestDaemon,
  waitFor,
  waitForState,
} from "./cli-support.js";

const skip = cliE2eSkipReason();

const initialConfig = `processes:
  alpha:
    command: sleep 300
    auto_start: true
  beta:
    command: sleep 301
`;

const changedConfig = `processes:
  alpha:
    command: sleep 302
    auto_start: true
  gamma:
    command: sleep 303
`;

describe("pm-cli verbs against a real daemon", { skip }, () => {
  let daemon: TestDaemon;
  let env: Record<string, string>;
  let scratch: string;

  before(async () => {
    daemon = await startTestDaemon(initialConfig);
    env = daemon.cliEnv();
    scratch = await mkdtemp(join(tmpdir(), "pm-cli-verbs-"));
  });

  after(async () => {
    for (const name of ["follow", "stamped", "upd", "ev", "many1", "many2", "many3"]) {
      await runCli(["delete", name, "--force"], { env });
    }
    await daemon?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("list -o json has the documented shape", async () => {
    await waitForState(daemon, "alpha", ["running"]);
    const list = await listJson(env);
    const alpha = list.find((p) => p.name === "alpha");
    assert.ok(alpha, JSON.stringify(list));
    for (const key of [
      "name",
      "id",
      "pid",
      "state",
      "restarts",
      "exit_code",
      "user",
      "command",
      "args",
      "uptime_seconds",
      "run_count",
    ]) {
      assert.ok(key in alpha, `missing ${key}`);
    }
    assert.equal(alpha.state, "running");
    assert.equal(typeof alpha.pid, "number");
    assert.equal(typeof alpha.id, "string");
    assert.equal(typeof alpha.restarts, "number");
    const beta = list.find((p) => p.name === "beta");
    assert.equal(beta?.pid, null);
    const states = [
      "created",
      "starting",
      "running",
      "stopping",
      "stopped",
      "exited",
      "failed",
      "backoff",
    ];
    for (const p of list) assert.ok(states.includes(String(p.state)), String(p.state));
  });

  it("exit codes: 2 usage, 3 unreachable, 1 not found, 4 permission (TCP without token, as nobody)", async () => {
    const usage = await runCli(["frobnicate"], { env });
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, "");
    assert.notEqual(usage.stderr, "");

    const port = await freePort();
    const down = await runCli(["list"], { env: { ...env, PM_ADDRESS: `127.0.0.1:${port}` } });
    assert.equal(down.code, 3);
    assert.match(down.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(down.stderr, /dd-procmgrd/);

    const missing = await runCli(["describe", "no-such-process"], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-process/);

    const tcpEnv = {
      PATH: env.PATH ?? "/usr/bin:/bin",
      HOME: "/tmp",
      PM_ADDRESS: daemon.tcpAddress,
    };
    const read = await runCli(["list", "-o", "json"], { env: tcpEnv, uid: 65534, gid: 65534 });
    assert.equal(read.code, 0, read.stderr);
    const denied = await runCli(["create", "intruder", "sleep", "1"], {
      env: tcpEnv,
      uid: 65534,
      gid: 65534,
    });
    assert.equal(denied.code, 4, denied.stderr);
    assert.match(denied.stderr, /permission denied/);
    assert.match(denied.stderr, /sudo/);
    assert.equal(
      (await listJson(env)).some((p) => p.name === "intruder"),
      false,
    );

    // Root over TCP reads the token file and may mutate.
    const withToken = await runCli(["stop", "beta"], {
      env: { ...tcpEnv, PM_TOKEN_PATH: daemon.tokenPath },
    });
    assert.equal(withToken.code, 0, withToken.stderr);
  });

  it("logs -f prints a line written after it started following", async () => {
    const flag = join(scratch, "go");
    const script = `echo first-line; while [ ! -e ${flag} ]; do sleep 0.05; done; echo later-line; exec sleep 300`;
    const created = await runCli(["create", "follow", "--auto-start", "--", "bash", "-c", script], {
      env,
    });
    assert.equal(created.code, 0, created.stderr);
    const follower = spawnCli(["logs", "follow", "-f", "-n", "10"], { env });
    try {
      await follower.waitForOutput("first-line");
      assert.equal(follower.stdout().includes("later-line"), false);
      await writeFile(flag, "");
      await follower.waitForOutput("later-line");
    } finally {
      const code = await follower.interrupt();
      assert.equal(code, 0, follower.stderr());
    }
    const json = await runCli(["logs", "follow", "-n", "5", "--stdout", "-o", "json"], { env });
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { stream: string; line: string });
    assert.deepEqual(
      lines.map((l) => l.line),
      ["first-line", "later-line"],
    );
    assert.ok(lines.every((l) => l.stream === "stdout"));
  });

  it("logs --since: the lines since then, by log_timestamps; -o json has their times", async () => {
    const script = "echo old-line; sleep 1.5; echo new-line; exec sleep 300";
    const created = await runCli(
      ["create", "stamped", "--log-timestamps", "--auto-start", "--", "bash", "-c", script],
      { env },
    );
    assert.equal(created.code, 0, created.stderr);
    type Line = { time: string | null; process: string; stream: string; line: string };
    const json = async (...args: string[]): Promise<Line[]> => {
      const r = await runCli(["logs", ...args, "-o", "json"], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Line);
    };
    await waitFor("new-line in the log", async () =>
      (await json("stamped")).some((l) => l.line.endsWith(" new-line")) ? true : undefined,
    );
    const both = await json("stamped", "--stdout");
    assert.deepEqual(
      both.map((l) => l.line.replace(/^\S+ /, "")),
      ["old-line", "new-line"],
    );
    const newer = both[1] as Line;
    assert.equal(newer.time, newer.line.split(" ")[0], "the time is the line's stamp");
    const oldMs = Date.parse((both[0] as Line).time ?? "");
    const newMs = Date.parse(newer.time ?? "");
    assert.ok(newMs - oldMs >= 1000, `${both[0]?.time} then ${newer.time}`);
    const since = new Date(newMs - 200).toISOString();
    assert.deepEqual(
      (await json("stamped", "--stdout", "--since", since)).map((l) => l.line.replace(/^\S+ /, "")),
      ["new-line"],
    );
    // A log file without times cannot answer --since: said on stderr, its lines left out.
    const plain = await runCli(["logs", "alpha", "--since", "1h"], { env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stderr,
      /alpha: its stdout log file has no times \(set log_timestamps: true/,
    );
    const bad = await runCli(["logs", "stamped", "--since", "yesterday-ish"], { env });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--since "yesterday-ish": expected a time/);
  });

  it("events prints one line per event as they happen", async () => {
    const watcher = spawnCli(["events", "ev", "-o", "json"], { env });
    try {
      const created = await runCli(["create", "ev", "sleep", "300", "--auto-start"], { env });
      assert.equal(created.code, 0, created.stderr);
      // The watcher may subscribe after the first start: restart until it has seen one.
      await waitFor("a running event", async () => {
        if (watcher.stdout().includes('"state":"running"')) return true;
        await runCli(["restart", "ev"], { env });
        await waitForState(daemon, "ev", ["running"]);
        return watcher.stdout().includes('"state":"running"') ? true : undefined;
      });
    } finally {
      assert.equal(await watcher.interrupt(), 0, watcher.stderr());
    }
    for (const line of watcher.stdout().trim().split("\n")) {
      const e = JSON.parse(line) as Record<string, unknown>;
      assert.equal(e.name, "ev");
      assert.equal(typeof e.type, "string");
    }
  });

  it("update changes fields, with --dry-run changing nothing", async () => {
    const created = await runCli(["create", "upd", "sleep", "300"], { env });
    assert.equal(created.code, 0, created.stderr);
    const dry = await runCli(
      ["update", "upd", "--restart", "always", "--restart-sec", "2", "--dry-run"],
      {
        env,
      },
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would update/);
    let d = JSON.parse((await runCli(["describe", "upd", "-o", "json"], { env })).stdout);
    assert.notEqual(d.spec.restart, "always");

    const real = await runCli(["update", "upd", "--restart", "always", "--restart-sec", "2"], {
      env,
    });
    assert.equal(real.code, 0, real.stderr);
    d = JSON.parse((await runCli(["describe", "upd", "-o", "json"], { env })).stdout);
    assert.equal(d.spec.restart, "always");
    assert.equal(d.spec.restart_sec, 2);

    const bad = await runCli(["update", "upd", "--restart", "sometimes"], { env });
    assert.equal(bad.code, 2);
  });

  it("reload-config --dry-run prints the diff and changes nothing; reload-config applies it", async () => {
    await writeFile(daemon.configPath, changedConfig);
    const before = await listJson(env);
    const alphaPid = before.find((p) => p.name === "alpha")?.pid;

    const dry = await runCli(["reload-config", "--dry-run"], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /added:\s+\+gamma/);
    assert.match(dry.stdout, /removed:\s+-beta/);
    assert.match(dry.stdout, /changed:\s+~alpha/);
    const dryJson = JSON.parse(
      (await runCli(["reload-config", "--dry-run", "-o", "json"], { env })).stdout,
    );
    assert.deepEqual(
      {
        added: dryJson.added,
        removed: dryJson.removed,
        changed: dryJson.changed,
        dry_run: dryJson.dry_run,
      },
      { added: ["gamma"], removed: ["beta"], changed: ["alpha"], dry_run: true },
    );
    const still = await listJson(env);
    assert.deepEqual(
      still
        .filter((p) => ["alpha", "beta", "gamma"].includes(String(p.name)))
        .map((p) => p.name)
        .sort(),
      ["alpha", "beta"],
    );
    assert.equal(still.find((p) => p.name === "alpha")?.pid, alphaPid);

    const real = await runCli(["reload-config"], { env });
    assert.equal(real.code, 0, real.stderr);
    const afterList = await listJson(env);
    const names = afterList.map((p) => String(p.name));
    assert.ok(names.includes("gamma"));
    assert.ok(!names.includes("beta"));
    const alpha = afterList.find((p) => p.name === "alpha");
    assert.match(
      [alpha?.command, ...((alpha?.args as string[] | undefined) ?? [])].join(" "),
      /^sleep 302$/,
    );

    await writeFile(
      daemon.configPath,
      "processes:\n  broken:\n    command: 42\n    nonsense: yes\n",
    );
    const invalid = await runCli(["reload-config"], { env });
    assert.notEqual(invalid.code, 0);
    assert.notEqual(invalid.stderr, "");
    assert.ok((await listJson(env)).some((p) => p.name === "gamma"));
  });

  it("status and health answer", async () => {
    const health = await runCli(["health", "--wait", "--timeout", "10"], { env });
    assert.equal(health.code, 0, health.stderr);
    const status = await runCli(["status", "-o", "json"], { env });
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as Record<string, unknown>;
    assert.equal(s.ready, true);
    assert.equal(s.config_path, daemon.configPath);
  });

  it("start/stop take several names (one call) and --all; an unknown name changes nothing", async () => {
    const names = ["many1", "many2", "many3"];
    for (const [i, name] of names.entries()) {
      const c = await runCli(["create", name, "sleep", `${400 + i}`], { env });
      assert.equal(c.code, 0, c.stderr);
    }
    const bad = await runCli(["start", "many1", "nosuch"], { env });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /nosuch/);
    const before = await listJson(env);
    assert.ok(before.filter((p) => names.includes(String(p.name))).every((p) => p.pid === null));
    const started = await runCli(["start", ...names], { env });
    assert.equal(started.code, 0, started.stderr);
    assert.deepEqual(
      started.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[1]),
      names,
      started.stdout,
    );
    const pids = (await listJson(env))
      .filter((p) => names.includes(String(p.name)))
      .map((p) => Number(p.pid));
    assert.equal(pids.length, 3);
    const stopped = await runCli(["stop", "--all"], { env });
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} still exists`);
    }
    const usage = await runCli(["stop"], { env });
    assert.equal(usage.code, 2, usage.stderr);
  });
});
