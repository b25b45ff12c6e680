import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./errors.js";
import {
  describedFields,
  isSpecFieldPath,
  parentFieldRow,
  parseFieldValue,
  processConfigToSpec,
  processFieldRow,
  specToJson,
  specToRaw,
} from "./field-mapping.js";
import { processDefaults, processFieldTable } from "./process-fields.js";
import { resolveProcessConfig, updateProcessConfig } from "./resolve-process.js";

test("processDefaults is the table's default column", () => {
  assert.deepEqual(
    Object.keys(processDefaults),
    processFieldTable.filter((row) => "default" in row).map((row) => row.key),
  );
  for (const [key, value] of [
    ["autoStart", false],
    ["restart", "never"],
    ["restartSec", 1],
    ["restartMaxDelaySec", 60],
    ["startLimitBurst", 5],
    ["startLimitIntervalSec", 10],
    ["timeoutStartSec", 90],
    ["timeoutStopSec", 90],
    ["killSignal", "SIGTERM"],
    ["killMode", "control-group"],
    ["successExitStatus", [0]],
    ["processType", "simple"],
  ] as const) {
    assert.deepEqual(processDefaults[key], value, key);
  }
});

test("defaults are fresh values: configs share no list", () => {
  const a = resolveProcessConfig("a", { command: "x" });
  const b = resolveProcessConfig("b", { command: "x" });
  assert.notEqual(a.after, b.after);
  assert.notEqual(a.successExitStatus, processDefaults.successExitStatus);
});

test("specToRaw: the proto's zero values are unset, enums become spellings", () => {
  const raw = specToRaw({
    name: "ignored",
    command: "x",
    args: [],
    env: {},
    autoStart: false,
    restart: 3,
    killMode: 0,
    restartSec: undefined,
    startLimitBurst: 0,
    stdout: "",
    healthCheck: { type: 0, port: 80, endpoint: "", args: [] },
    resourceLimits: { cpu: "", memory: "512", pids: undefined },
  });
  assert.deepEqual(raw, {
    command: "x",
    restart: "on-failure",
    start_limit_burst: 0,
    health_check: { port: 80 },
    resource_limits: { memory: 512 },
  });
  assert.deepEqual(specToRaw({ resourceLimits: { cpu: "" }, healthCheck: {} }), {
    health_check: {},
  });
});

test("updateProcessConfig replaces the listed fields, resetting the unset ones", () => {
  const current = resolveProcessConfig("u", { command: "x", restart: "always", user: "bob" });
  const updated = updateProcessConfig(current, specToRaw({ restartSec: 5, user: "" }), [
    "restart_sec",
    "user",
    "restart",
  ]);
  assert.deepEqual(updated, resolveProcessConfig("u", { command: "x", restart_sec: 5 }));
});

test("specToJson: processes.yaml names, set fields only, auto_start always", () => {
  const config = resolveProcessConfig("j", {
    command: "x",
    restart: "on-failure",
    resource_limits: { memory: "1K" },
    health_check: { type: "tcp", port: 9 },
  });
  const spec = processConfigToSpec(config);
  const json = specToJson(spec);
  assert.equal(json.auto_start, false);
  assert.equal(json.restart, "on-failure");
  assert.deepEqual(json.resource_limits, { memory: "1024" });
  assert.deepEqual(json.health_check, {
    type: "tcp",
    interval: 30,
    timeout: 5,
    retries: 3,
    start_period: 0,
    restart_after: 0,
    method: "GET",
    expected_status: 200,
    port: 9,
  });
  assert.equal("user" in json, false);
  assert.deepEqual(specToJson({ restart: 9, healthCheck: { type: 0 }, autoStart: true }), {
    auto_start: true,
    log_timestamps: false,
    restart: "9",
    start_on_connect: false,
  });
});

test("describedFields: label and text of each shown field", () => {
  const config = resolveProcessConfig("d", {
    command: "run",
    args: ["a b"],
    restart_sec: "infinity",
    env: { A: "1", B: "2" },
    resource_limits: { memory: 1536 },
  });
  const spec = processConfigToSpec(config);
  const text = (path: string) => describedFields.find((f) => f.path === path)?.text(spec);
  assert.equal(text("command"), "run 'a b'");
  assert.equal(text("restart_sec"), "Infinitys");
  assert.equal(text("start_limit_burst"), "5 in 10s");
  assert.equal(text("env"), "A=1\nB=2");
  assert.equal(text("resource_limits.memory"), "1536 (1.5 KiB)");
  assert.equal(text("resource_limits.cpu"), undefined);
  assert.equal(text("health_check"), undefined);
  assert.equal(text("auto_start"), "false");
  assert.equal(text("watchdog_sec"), "off");
  const notify = resolveProcessConfig("n", {
    command: "x",
    process_type: "notify",
    watchdog_sec: "1m",
  });
  assert.equal(
    describedFields.find((f) => f.path === "watchdog_sec")?.text(processConfigToSpec(notify)),
    "60s",
  );
});

test("parseFieldValue reads a value as processes.yaml does, or names the field", () => {
  assert.equal(parseFieldValue("restart_sec", "2min"), 120);
  assert.equal(parseFieldValue("kill_signal", "15"), "SIGTERM");
  assert.throws(
    () => parseFieldValue("restart", "sometimes"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues[0]?.path === "restart" &&
      e.issues[0]?.expected === "one of never, always, on-failure, on-success" &&
      e.issues[0]?.received === '"sometimes"',
  );
});

test("updateProcessConfig derives what the fields derive: argv, the restart delay's cap", () => {
  const current = resolveProcessConfig("d", { command: "sleep 1", args: ["2"] });
  const moved = updateProcessConfig(current, { command: "node app.js" }, ["command"]);
  assert.deepEqual(moved.argv, ["node", "app.js", "2"]);
  // The cap follows restart_sec while it was derived...
  const slow = updateProcessConfig(current, { restart_sec: "2min" }, ["restart_sec"]);
  assert.equal(slow.restartMaxDelaySec, 120);
  assert.equal(
    updateProcessConfig(slow, { restart_sec: 1 }, ["restart_sec"]).restartMaxDelaySec,
    60,
  );
  // ...and stays as given once set.
  const capped = resolveProcessConfig("d", { command: "x", restart_max_delay_sec: 600 });
  assert.equal(
    updateProcessConfig(capped, { restart_sec: 30 }, ["restart_sec"]).restartMaxDelaySec,
    600,
  );
});

test("updateProcessConfig checks the whole process, naming each field", () => {
  const current = resolveProcessConfig("w", { command: "x", restart_sec: 10 });
  const issuesOf = (given: Record<string, unknown>, fields: string[]) => {
    try {
      updateProcessConfig(current, given, fields as never);
    } catch (e) {
      return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };
  assert.deepEqual(issuesOf({ restart_max_delay_sec: 5 }, ["restart_max_delay_sec"]), [
    "processes.w.restart_max_delay_sec: must not be less than restart_sec",
  ]);
  assert.deepEqual(issuesOf({ requires: ["w"] }, ["requires"]), [
    'processes.w.requires[0]: "w" cannot depend on itself',
  ]);
  assert.deepEqual(issuesOf({ health_check: { type: "exec" } }, ["health_check"]), [
    'processes.w.health_check: missing "command" (required by exec checks)',
  ]);
  assert.deepEqual(issuesOf({ restart_sec: "soon" }, ["restart_sec"]).length, 1);
});

test("a field of a nested message by its path: its row, its parent, its value", () => {
  assert.equal(processFieldRow("health_check.interval").key, "intervalSec");
  assert.equal(parentFieldRow("health_check.interval")?.yaml, "health_check");
  assert.equal(parentFieldRow("restart_sec"), undefined);
  assert.equal(parseFieldValue("health_check.interval", "1m30s"), 90);
  assert.equal(parseFieldValue("health_check.type", "http"), "http");
  assert.throws(
    () => parseFieldValue("health_check.expected_status", 42),
    (e: unknown) =>
      e instanceof ConfigError && e.issues[0]?.path === "health_check.expected_status",
  );
  for (const path of ["health_check.port", "resource_limits.cpu", "restart", "health_check"]) {
    assert.ok(isSpecFieldPath(path), path);
  }
  for (const path of ["health_check.nope", "restart.x", "name", "nope"]) {
    assert.ok(!isSpecFieldPath(path), path);
    if (path !== "name") assert.throws(() => processFieldRow(path), /unknown process field/);
  }
});

test("updateProcessConfig sets a nested field on the current message, keeping the others", () => {
  const current = resolveProcessConfig("h", {
    command: "x",
    health_check: { type: "http", endpoint: "/health", port: 8000, retries: 5 },
  });
  const faster = updateProcessConfig(current, { health_check: { interval: "10s" } }, [
    "health_check.interval",
  ]);
  assert.deepEqual(
    faster.healthCheck,
    resolveProcessConfig("h", {
      command: "x",
      health_check: { type: "http", endpoint: "/health", port: 8000, retries: 5, interval: 10 },
    }).healthCheck,
  );
  // Listed without a value: back to its default (or unset).
  const reset = updateProcessConfig(faster, {}, ["health_check.retries"]);
  assert.equal(reset.healthCheck?.retries, 3);
  assert.equal(reset.healthCheck?.intervalSec, 10);
  // No check yet: the listed fields make one.
  const none = resolveProcessConfig("h", { command: "x" });
  const tcp = updateProcessConfig(none, { health_check: { type: "tcp", port: 9 } }, [
    "health_check.type",
    "health_check.port",
  ]);
  assert.equal(tcp.healthCheck?.type, "tcp");
  assert.equal(tcp.healthCheck?.port, 9);
  // The checks of the message apply to the result.
  assert.throws(
    () => updateProcessConfig(current, { health_check: { type: "tcp" } }, ["health_check.type"]),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.some((i) => i.path === "processes.h.health_check.endpoint"),
  );
  // Listed whole as well: the whole message as given.
  const whole = updateProcessConfig(current, { health_check: { type: "tcp", port: 1 } }, [
    "health_check",
    "health_check.port",
  ]);
  assert.equal(whole.healthCheck?.endpoint, undefined);
  // A nested field of resource_limits, and a message left empty is unset.
  const limited = updateProcessConfig(none, { resource_limits: { pids: 10 } }, [
    "resource_limits.pids",
  ]);
  assert.equal(limited.resourceLimits?.pids, 10);
  assert.equal(
    updateProcessConfig(limited, {}, ["resource_limits.pids"]).resourceLimits,
    undefined,
  );
  assert.throws(
    () => updateProcessConfig(current, {}, ["health_check.nope"]),
    (e: unknown) => e instanceof ConfigError && /health_check\.nope/.test(e.message),
  );
});

test("a tcp check's spec from Describe (every default written) comes back whole through Update", () => {
  const current = resolveProcessConfig("t", {
    command: "x",
    health_check: { type: "tcp", port: 9, interval: "5s" },
  });
  const spec = processConfigToSpec(current);
  const again = updateProcessConfig(current, specToRaw(spec), ["health_check"]);
  assert.deepEqual(again.healthCheck, current.healthCheck);
  // Set apart from its default, an http-only field is still refused on a tcp check.
  assert.throws(
    () =>
      updateProcessConfig(current, { health_check: { type: "tcp", port: 9, method: "POST" } }, [
        "health_check",
      ]),
    /"method" is only used by http health checks/,
  );
});
