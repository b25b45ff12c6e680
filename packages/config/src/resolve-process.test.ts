import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { processDefaults } from "./process-fields.js";
import { resolveProcessConfig } from "./resolve-process.js";

function issuesOf(raw: unknown, name = "p"): ConfigIssue[] {
  try {
    resolveProcessConfig(name, raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return [...e.issues];
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be rejected`);
}

function one(raw: unknown, name = "p"): ConfigIssue {
  const issues = issuesOf(raw, name);
  assert.equal(issues.length, 1, JSON.stringify(issues, null, 2));
  return issues[0] as ConfigIssue;
}

test("a minimal process gets every default", () => {
  const c = resolveProcessConfig("web", { command: "gunicorn app:app" });
  assert.deepEqual(c, {
    name: "web",
    command: "gunicorn app:app",
    args: [],
    argv: ["gunicorn", "app:app"],
    env: {},
    autoStart: false,
    restart: "never",
    restartSec: 1,
    restartMaxDelaySec: 60,
    startLimitBurst: 5,
    startLimitIntervalSec: 10,
    timeoutStartSec: 90,
    timeoutStopSec: 90,
    killSignal: "SIGTERM",
    killMode: "control-group",
    logMaxFiles: 5,
    successExitStatus: [0],
    stdout: { kind: "default" },
    stderr: { kind: "default" },
    logTimestamps: false,
    execStartPre: [],
    execStartPost: [],
    execStopPost: [],
    runtimeDirectory: [],
    conditionPathExists: [],
    ambientCapabilities: [],
    sockets: [],
    startOnConnect: false,
    after: [],
    before: [],
    requires: [],
    wants: [],
    bindsTo: [],
    conflicts: [],
    processType: "simple",
    watchdogSec: 0,
  });
  assert.equal(c.restartMaxDelaySec, processDefaults.restartMaxDelaySec);
});

test("argv is the split command followed by args (numbers in args become strings)", () => {
  const c = resolveProcessConfig("w", { command: "/usr/bin/gunicorn", args: ["app:app", "-w", 4] });
  assert.deepEqual(c.argv, ["/usr/bin/gunicorn", "app:app", "-w", "4"]);
  assert.deepEqual(c.args, ["app:app", "-w", "4"]);
  const q = resolveProcessConfig("q", { command: "bash -c 'echo \"hi there\"'", args: ["x"] });
  assert.deepEqual(q.argv, ["bash", "-c", 'echo "hi there"', "x"]);
});

test("every field is resolved and normalised", () => {
  const c = resolveProcessConfig("full", {
    command: "server --port 80",
    args: ["-v"],
    description: "a server",
    user: "www-data",
    group: 33,
    working_dir: "/srv",
    env: { PORT: 8000, DEBUG: false, NAME: "x" },
    environment_file: "-/etc/default/full",
    auto_start: true,
    restart: "on-failure",
    restart_sec: "500ms",
    restart_max_delay_sec: "2m",
    start_limit_burst: 3,
    start_limit_interval_sec: "30s",
    timeout_start_sec: "infinity",
    timeout_stop_sec: 5,
    kill_signal: 2,
    kill_mode: "mixed",
    success_exit_status: [0, 143],
    stdout: "/var/log/full.log",
    stderr: "inherit",
    pidfile: "/run/full.pid",
    exec_start_pre: ["mkdir -p '/tmp/a b'", ["touch", "/tmp/x y"]],
    exec_start_post: "echo started",
    exec_stop_post: ["echo stopped"],
    runtime_directory: "full full/sub",
    condition_path_exists: ["/etc/full", "!/etc/full.disabled", "|/a", "|!/b"],
    ambient_capabilities: ["net_bind_service", "CAP_NET_RAW", "net_bind_service"],
    after: ["db"],
    before: "late",
    requires: ["db"],
    wants: "cache metrics",
    binds_to: ["db"],
    conflicts: ["other"],
    process_type: "notify",
    health_check: { type: "http", endpoint: "/health", port: 80, method: "head", interval: "10s" },
    resource_limits: { cpu: "500m", memory: "512M", pids: 100 },
  });
  assert.deepEqual(c.argv, ["server", "--port", "80", "-v"]);
  assert.equal(c.group, "33");
  assert.deepEqual(c.env, { PORT: "8000", DEBUG: "false", NAME: "x" });
  assert.deepEqual(c.environmentFile, { path: "/etc/default/full", optional: true });
  assert.equal(c.restartSec, 0.5);
  assert.equal(c.restartMaxDelaySec, 120);
  assert.equal(c.timeoutStartSec, Number.POSITIVE_INFINITY);
  assert.equal(c.killSignal, "SIGINT");
  assert.deepEqual(c.stdout, { kind: "file", path: "/var/log/full.log" });
  assert.deepEqual(c.stderr, { kind: "inherit" });
  assert.deepEqual(c.execStartPre, [
    ["mkdir", "-p", "/tmp/a b"],
    ["touch", "/tmp/x y"],
  ]);
  assert.deepEqual(c.execStartPost, [["echo", "started"]]);
  assert.deepEqual(c.execStopPost, [["echo", "stopped"]]);
  assert.deepEqual(c.runtimeDirectory, ["full", "full/sub"]);
  assert.deepEqual(c.conditionPathExists, [
    { path: "/etc/full", negate: false, anyOf: false },
    { path: "/etc/full.disabled", negate: true, anyOf: false },
    { path: "/a", negate: false, anyOf: true },
    { path: "/b", negate: true, anyOf: true },
  ]);
  assert.deepEqual(c.ambientCapabilities, ["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]);
  assert.deepEqual(c.before, ["late"]);
  assert.deepEqual(c.wants, ["cache", "metrics"]);
  assert.deepEqual(c.bindsTo, ["db"]);
  assert.deepEqual(c.healthCheck, {
    type: "http",
    intervalSec: 10,
    timeoutSec: 5,
    retries: 3,
    startPeriodSec: 0,
    restartAfter: 0,
    method: "HEAD",
    expectedStatus: 200,
    endpoint: "/health",
    port: 80,
    args: [],
  });
  assert.deepEqual(c.resourceLimits, { cpu: 0.5, memoryBytes: 512 * 1024 * 1024, pids: 100 });
});

test("stdout/stderr: YAML null and the string null both discard", () => {
  const c = resolveProcessConfig("n", { command: "x", stdout: null, stderr: "null" });
  assert.deepEqual(c.stdout, { kind: "null" });
  assert.deepEqual(c.stderr, { kind: "null" });
  const bad = one({ command: "x", stdout: "logs/out.log" });
  assert.equal(bad.path, "processes.p.stdout");
  assert.equal(bad.expected, "an absolute file path, journal, inherit or null");
});

test("environment_file without - is required", () => {
  const c = resolveProcessConfig("e", { command: "x", environment_file: "/etc/e.env" });
  assert.deepEqual(c.environmentFile, { path: "/etc/e.env", optional: false });
  assert.equal(
    one({ command: "x", environment_file: "-rel.env" }).path,
    "processes.p.environment_file",
  );
});

test("unknown keys are errors with did-you-mean, at every level", () => {
  const issues = issuesOf({
    command: "x",
    auto_strat: true,
    healthcheck: {},
    health_check: { type: "tcp", port: 1, intervall: 5 },
    resource_limits: { memroy: "1G" },
    zzzzzz: 1,
  });
  assert.deepEqual(
    issues.map((i) => [i.path, i.message]),
    [
      ["processes.p.auto_strat", 'unknown field "auto_strat", did you mean "auto_start"?'],
      ["processes.p.healthcheck", 'unknown field "healthcheck", did you mean "health_check"?'],
      ["processes.p.zzzzzz", 'unknown field "zzzzzz"'],
      ["processes.p.health_check.intervall", 'unknown field "intervall", did you mean "interval"?'],
      ["processes.p.resource_limits.memroy", 'unknown field "memroy", did you mean "memory"?'],
    ],
  );
});

test("names: non-empty, no whitespace, no slash", () => {
  assert.match(one({ command: "x" }, "").message, /must not be empty/);
  assert.match(one({ command: "x" }, "a b").message, /whitespace/);
  assert.match(one({ command: "x" }, "a/b").message, /"\/"/);
  assert.match(one({ command: "x" }, "tab\there").message, /whitespace/);
});

test("command: required, non-empty, balanced quotes, no shell operators", () => {
  assert.equal(one({}).message, 'missing required field "command"');
  assert.equal(one({ args: [] }).path, "processes.p");
  assert.equal(one({ command: "" }).message, "the command is empty");
  assert.equal(one({ command: "   " }).message, "the command is empty");
  assert.equal(one({ command: null }).message, "a value is required");
  assert.equal(one({ command: ["ls"] }).received, "a list");
  assert.match(one({ command: "echo 'oops" }).message, /unterminated single quote/);
  assert.match(one({ command: "a | b" }).message, /"\|" is a shell operator.*bash -c/);
  assert.match(one({ command: "a > /tmp/x" }).message, /shell operator/);
  assert.deepEqual(resolveProcessConfig("q", { command: "echo '|' \\>" }).argv, ["echo", "|", ">"]);
});

test("durations, signals, enums, integers are checked with expected/received", () => {
  const d = one({ command: "x", restart_sec: "5x" });
  assert.equal(d.path, "processes.p.restart_sec");
  assert.equal(d.message, "invalid duration");
  assert.equal(d.received, '"5x"');
  assert.equal(one({ command: "x", timeout_stop_sec: -1 }).message, "invalid duration");
  const s = one({ command: "x", kill_signal: "SIGFOO" });
  assert.equal(s.message, "unknown signal");
  assert.equal(s.received, '"SIGFOO"');
  assert.equal(
    resolveProcessConfig("k", { command: "x", kill_signal: "KILL" }).killSignal,
    "SIGKILL",
  );
  assert.equal(
    resolveProcessConfig("k", { command: "x", kill_signal: "15" }).killSignal,
    "SIGTERM",
  );
  const r = one({ command: "x", restart: "on_failure" });
  assert.equal(r.message, 'unknown value, did you mean "on-failure"?');
  assert.equal(r.expected, "one of never, always, on-failure, on-success");
  assert.equal(one({ command: "x", restart: "sometimes" }).message, "unknown value");
  assert.equal(
    one({ command: "x", kill_mode: "group" }).expected,
    "one of control-group, process-group, process, mixed",
  );
  assert.equal(
    one({ command: "x", process_type: "daemon" }).expected,
    "one of simple, forking, oneshot, notify",
  );
  assert.equal(one({ command: "x", start_limit_burst: -1 }).message, "out of range");
  assert.equal(one({ command: "x", start_limit_burst: 1.5 }).message, "wrong type");
  assert.equal(one({ command: "x", auto_start: "yes" }).expected, "true or false");
  assert.match(
    one({ command: "x", success_exit_status: [0, 300] }).message,
    /invalid exit status 300/,
  );
  assert.deepEqual(
    resolveProcessConfig("s", { command: "x", success_exit_status: 3 }).successExitStatus,
    [3],
  );
});

test("paths must be absolute; runtime directories relative and tame", () => {
  assert.equal(one({ command: "x", working_dir: "srv" }).message, "the directory must be absolute");
  assert.equal(one({ command: "x", pidfile: "x.pid" }).path, "processes.p.pidfile");
  assert.match(
    one({ command: "x", runtime_directory: "/run/x" }).message,
    /invalid runtime directory/,
  );
  assert.match(one({ command: "x", runtime_directory: ["../x"] }).message, /invalid runtime/);
  assert.match(
    one({ command: "x", condition_path_exists: "!rel" }).message,
    /invalid path condition/,
  );
});

test("env: names without = ; values must be scalars", () => {
  assert.match(
    one({ command: "x", env: { "A=B": "1" } }).message,
    /invalid environment variable name/,
  );
  assert.match(one({ command: "x", env: { A: { b: 1 } } }).message, /value of A must be a string/);
  assert.equal(one({ command: "x", env: ["A=1"] }).expected, "a mapping of NAME: value");
});

test("hooks: strings or lists, each split; empty ones rejected", () => {
  assert.equal(one({ command: "x", exec_start_pre: [""] }).message, "the command is empty");
  assert.equal(one({ command: "x", exec_start_pre: [[]] }).message, "an empty argv list");
  assert.equal(one({ command: "x", exec_stop_post: 5 }).path, "processes.p.exec_stop_post");
});

test("capabilities: unknown ones are errors", () => {
  const i = one({ command: "x", ambient_capabilities: ["net_bind_service", "fly"] });
  assert.equal(i.message, 'unknown capability "fly"');
});

test("dependencies: valid names, never itself, not both required and conflicting", () => {
  assert.match(one({ command: "x", after: ["p"] }).message, /cannot depend on itself/);
  assert.match(one({ command: "x", requires: ["a/b"] }).message, /must not contain "\/"/);
  assert.match(
    one({ command: "x", requires: ["db"], conflicts: ["db"] }).message,
    /"db" is both in requires and in conflicts/,
  );
});

test("restart_max_delay_sec must not be below restart_sec", () => {
  assert.equal(
    one({ command: "x", restart_sec: 10, restart_max_delay_sec: 5 }).path,
    "processes.p.restart_max_delay_sec",
  );
  // Unset, the cap follows a restart_sec above the default cap.
  assert.equal(
    resolveProcessConfig("r", { command: "x", restart_sec: 120 }).restartMaxDelaySec,
    120,
  );
  assert.equal(resolveProcessConfig("r", { command: "x", restart_sec: 5 }).restartMaxDelaySec, 60);
  assert.equal(
    resolveProcessConfig("r", { command: "x", restart_sec: 120, restart_max_delay_sec: 600 })
      .restartMaxDelaySec,
    600,
  );
});

test("health_check: per-type requirements and fields", () => {
  const tcp = resolveProcessConfig("h", {
    command: "x",
    health_check: { type: "tcp", port: 5432, host: "db.local", retries: 5, restart_after: 2 },
  });
  assert.equal(tcp.healthCheck?.port, 5432);
  assert.equal(tcp.healthCheck?.restartAfter, 2);
  const exec = resolveProcessConfig("h", {
    command: "x",
    health_check: {
      type: "exec",
      command: "pg_isready -q",
      args: ["-h", "localhost"],
      timeout: "2s",
    },
  });
  assert.deepEqual(exec.healthCheck?.argv, ["pg_isready", "-q", "-h", "localhost"]);
  assert.equal(exec.healthCheck?.timeoutSec, 2);
  const url = resolveProcessConfig("h", {
    command: "x",
    health_check: { type: "http", endpoint: "http://127.0.0.1:8000/health", expected_status: 204 },
  });
  assert.equal(url.healthCheck?.expectedStatus, 204);

  assert.match(
    one({ command: "x", health_check: { port: 1 } }).message,
    /missing required field "type"/,
  );
  assert.equal(
    one({ command: "x", health_check: { type: "ping" } }).expected,
    "one of http, tcp, exec",
  );
  assert.match(one({ command: "x", health_check: { type: "http" } }).message, /missing "endpoint"/);
  assert.match(
    one({ command: "x", health_check: { type: "http", endpoint: "/health" } }).message,
    /missing "port".*is a path/,
  );
  assert.match(one({ command: "x", health_check: { type: "tcp" } }).message, /missing "port"/);
  assert.match(one({ command: "x", health_check: { type: "exec" } }).message, /missing "command"/);
  assert.equal(
    one({ command: "x", health_check: { type: "tcp", port: 70000 } }).expected,
    "an integer from 1 to 65535",
  );
  assert.match(
    one({ command: "x", health_check: { type: "tcp", port: 1, endpoint: "/x" } }).message,
    /"endpoint" is only used by http health checks/,
  );
  assert.equal(one({ command: "x", health_check: "http" }).expected, "a mapping");
  assert.equal(
    one({ command: "x", health_check: { type: "http", endpoint: "health" } }).message,
    "invalid endpoint",
  );
});

test("resource_limits: cpu, memory and pids forms", () => {
  const rl = (v: Record<string, unknown>) =>
    resolveProcessConfig("r", { command: "x", resource_limits: v }).resourceLimits;
  assert.deepEqual(rl({ cpu: "1.5" }), { cpu: 1.5 });
  assert.deepEqual(rl({ cpu: 2 }), { cpu: 2 });
  assert.deepEqual(rl({ cpu: "250m" }), { cpu: 0.25 });
  assert.deepEqual(rl({ memory: 1048576 }), { memoryBytes: 1048576 });
  assert.deepEqual(rl({ memory: "512K" }), { memoryBytes: 512 * 1024 });
  assert.deepEqual(rl({ memory: "2G" }), { memoryBytes: 2 * 1024 ** 3 });
  assert.deepEqual(rl({ memory: "1.5GiB" }), { memoryBytes: 1.5 * 1024 ** 3 });
  assert.deepEqual(rl({ pids: 64 }), { pids: 64 });
  assert.equal(rl({}), undefined);
  assert.equal(
    one({ command: "x", resource_limits: { cpu: "fast" } }).message,
    "invalid CPU quantity",
  );
  assert.equal(one({ command: "x", resource_limits: { cpu: 0 } }).message, "must be more than 0");
  assert.equal(one({ command: "x", resource_limits: { memory: "12X" } }).message, "invalid size");
  assert.equal(one({ command: "x", resource_limits: { pids: 0 } }).message, "out of range");
});

test("all issues of a definition are reported at once", () => {
  const issues = issuesOf({
    command: "",
    restart: "maybe",
    restart_sec: "soon",
    kill_signal: "NOPE",
    user: "",
    health_check: { type: "tcp" },
  });
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      "processes.p.command",
      "processes.p.restart",
      "processes.p.restart_sec",
      "processes.p.kill_signal",
      "processes.p.user",
      "processes.p.health_check",
    ],
  );
});

test("origin.path replaces the processes.<name> prefix (API input)", () => {
  try {
    resolveProcessConfig("api", { command: "" }, { path: "request" });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.issues[0]?.path, "request.command");
    assert.equal(e.code, "invalid");
  }
});

test("process types: what each needs, and what only one uses", () => {
  const issue = (raw: Record<string, unknown>) => one({ command: "x", ...raw });
  assert.equal(issue({ watchdog_sec: 5 }).path, "processes.p.watchdog_sec");
  assert.match(issue({ watchdog_sec: 5 }).message, /only a notify process/);
  assert.equal(issue({ process_type: "forking" }).path, "processes.p.process_type");
  assert.match(issue({ process_type: "forking" }).message, /needs a pidfile/);
  assert.equal(issue({ process_type: "oneshot", restart: "always" }).path, "processes.p.restart");
  assert.equal(
    issue({ health_check: { type: "tcp", port: 1, interval: 0 } }).path,
    "processes.p.health_check.interval",
  );
  const ok = resolveProcessConfig("n", {
    command: "x",
    process_type: "notify",
    watchdog_sec: "1min",
  });
  assert.equal(ok.watchdogSec, 60);
});

test("sockets: addresses, names, key=value words and objects; bad ones named", () => {
  const c = resolveProcessConfig("web", {
    command: "x",
    sockets: [
      "127.0.0.1:8080",
      "admin=/run/web/admin.sock",
      "listen=:53,type=datagram",
      { listen: "/run/web/x.sock", mode: "0660", owner: "www-data:www-data", backlog: 128 },
    ],
    start_on_connect: true,
  });
  assert.deepEqual(c.sockets, [
    { listen: "127.0.0.1:8080", type: "stream" },
    { listen: "/run/web/admin.sock", name: "admin", type: "stream" },
    { listen: ":53", type: "datagram" },
    {
      listen: "/run/web/x.sock",
      type: "stream",
      backlog: 128,
      mode: 0o660,
      owner: "www-data:www-data",
    },
  ]);
  assert.equal(c.startOnConnect, true);
  const bad = (sockets: unknown, re: RegExp) =>
    assert.throws(
      () => resolveProcessConfig("web", { command: "x", sockets }),
      (e: ConfigError) => re.test(e.issues.map((i) => i.message).join("\n")),
    );
  bad(["8080"], /socket "8080": /);
  bad([{ listen: "127.0.0.1:80", mode: "0660" }], /mode is for unix socket paths only/);
  bad([{ listen: "/run/x.sock", lisen: 1 }], /unknown socket field "lisen", did you mean "listen"/);
  bad([{ listen: "/run/x.sock", type: "seqpacket" }], /expected stream or datagram/);
  assert.throws(
    () => resolveProcessConfig("web", { command: "x", start_on_connect: true }),
    /a connection can start only a process that has sockets/,
  );
});
