import * as assert from "node:assert/strict";
import { test } from "node:test";
import { changedFields, configsEqual, hotFields } from "./config-equal.js";
import { processConfigToRaw } from "./config-to-raw.js";
import { resolveProcessConfig } from "./resolve-process.js";

const full = {
  command: "server --port 80 'quoted arg'",
  args: ["-v", "x y"],
  description: "a server",
  user: "www-data",
  group: "www-data",
  working_dir: "/srv",
  env: { PORT: "8000", EMPTY: "" },
  environment_file: "-/etc/default/full",
  auto_start: true,
  restart: "always",
  restart_sec: "250ms",
  restart_max_delay_sec: 300,
  start_limit_burst: 0,
  start_limit_interval_sec: 60,
  timeout_start_sec: "infinity",
  timeout_stop_sec: 3,
  kill_signal: "INT",
  kill_mode: "control-group",
  success_exit_status: [0, 1],
  stdout: null,
  stderr: "/var/log/full.err",
  pidfile: "/run/full.pid",
  exec_start_pre: ["echo 'a b'", ["touch", "/tmp/x"]],
  exec_start_post: "true",
  exec_stop_post: ["rm -f /tmp/x"],
  runtime_directory: ["full"],
  condition_path_exists: ["|!/a", "/b"],
  ambient_capabilities: "net_bind_service",
  after: ["db"],
  before: ["z"],
  requires: ["db"],
  wants: ["cache"],
  binds_to: ["db"],
  conflicts: ["other"],
  process_type: "notify",
  watchdog_sec: "30s",
  health_check: {
    type: "exec",
    command: "check --fast",
    args: ["-q"],
    interval: 60,
    timeout: 1,
    retries: 1,
    start_period: 5,
    restart_after: 2,
  },
  resource_limits: { cpu: "500m", memory: "1G", pids: 10 },
};

test("round trip: resolve(toRaw(c)) deep-equals c, for minimal and full configs", () => {
  const samples = [
    resolveProcessConfig("min", { command: "sleep 10" }),
    resolveProcessConfig("full", full),
    resolveProcessConfig("inherit", { command: "x", stdout: "inherit", stderr: null }),
    resolveProcessConfig("http", {
      command: "x",
      health_check: {
        type: "http",
        endpoint: "/h",
        port: 8080,
        host: "::1",
        method: "POST",
        expected_status: 201,
      },
    }),
    resolveProcessConfig("tcp", { command: "x", health_check: { type: "tcp", port: 1 } }),
  ];
  for (const c of samples) {
    const raw = processConfigToRaw(c);
    const back = resolveProcessConfig(c.name, JSON.parse(JSON.stringify(raw)));
    assert.deepStrictEqual(back, c, c.name);
    assert.ok(configsEqual(back, c));
  }
});

test("toRaw keeps only non-default fields", () => {
  assert.deepEqual(processConfigToRaw(resolveProcessConfig("m", { command: "sleep 10" })), {
    command: "sleep 10",
  });
  assert.deepEqual(
    processConfigToRaw(
      resolveProcessConfig("m", {
        command: "x",
        restart: "never",
        kill_signal: 15,
        auto_start: false,
      }),
    ),
    { command: "x" },
  );
  const raw = processConfigToRaw(resolveProcessConfig("f", full));
  assert.equal(raw.timeout_start_sec, "infinity");
  assert.equal(raw.environment_file, "-/etc/default/full");
  assert.equal(raw.stdout, null);
  assert.deepEqual(raw.condition_path_exists, ["|!/a", "/b"]);
  assert.deepEqual(raw.resource_limits, { cpu: 0.5, memory: 1024 ** 3, pids: 10 });
});

test("changedFields names snake_case fields; hot ones need no restart", () => {
  const a = resolveProcessConfig("a", { command: "x --a", restart: "never" });
  const b = resolveProcessConfig("a", {
    command: "x --b",
    restart: "always",
    working_dir: "/tmp",
    health_check: { type: "tcp", port: 1 },
    binds_to: ["db"],
  });
  assert.deepEqual(changedFields(a, a), []);
  assert.ok(configsEqual(a, resolveProcessConfig("a", { command: "x --a" })));
  assert.deepEqual(changedFields(a, b), [
    "command",
    "working_dir",
    "restart",
    "binds_to",
    "health_check",
  ]);
  assert.deepEqual(
    changedFields(a, b).filter((f) => !hotFields.has(f)),
    ["command", "working_dir"],
  );
  const args = resolveProcessConfig("a", { command: "x", args: ["--a"] });
  assert.deepEqual(changedFields(a, args), ["command", "args"], "same argv, written differently");
  assert.equal(configsEqual(a, resolveProcessConfig("other", { command: "x --a" })), false);
});

test("hotFields is exactly the documented set", () => {
  assert.deepEqual([...hotFields].sort(), [
    "after",
    "auto_start",
    "before",
    "binds_to",
    "conflicts",
    "description",
    "health_check",
    "kill_mode",
    "kill_signal",
    "log_max_files",
    "log_max_size",
    "requires",
    "resource_limits",
    "restart",
    "restart_max_delay_sec",
    "restart_sec",
    "start_limit_burst",
    "start_limit_interval_sec",
    "start_on_connect",
    "success_exit_status",
    "timeout_start_sec",
    "timeout_stop_sec",
    "wants",
  ]);
});
