import * as assert from "node:assert/strict";
import { test } from "node:test";
import { create, equals, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { processFields, resolveProcessConfig, specFields } from "@procmgr/config";
import type { ProcessInfo } from "@procmgr/core";
import {
  EnforcementSchema,
  ExitInfoSchema,
  HealthCheckType,
  HealthStatus,
  KillMode,
  ProcessSpecSchema,
  ProcessState,
  ProcessStatusSchema,
  ProcessType,
  RestartPolicy,
  UsageSource,
} from "@procmgr/rpc";
import {
  exitFailure,
  protoUsageSource,
  redacted,
  toExitInfo,
  toProcessSpec,
  toProcessStatus,
} from "./convert.js";

test("the API's spec fields are exactly the fields of processes.yaml", () => {
  assert.deepEqual([...specFields].sort(), [...processFields].sort());
});

test("toProcessStatus builds a complete ProcessStatus message (every field, valid types)", () => {
  const config = resolveProcessConfig("web", {
    command: "/bin/sleep",
    args: ["1"],
    user: "nobody",
  });
  const base: ProcessInfo = {
    id: "id-1",
    name: "web",
    source: "api",
    config,
    state: "running",
    runCount: 2,
    restartCount: 1,
    consecutiveFailures: 0,
    createdAt: new Date(1_000),
    enforcement: { tracking: "process group" },
    oomKills: 0,
  };
  const infos: ProcessInfo[] = [
    base,
    {
      ...base,
      state: "backoff",
      pid: 42,
      uptimeMs: 1_500,
      startedAt: new Date(2_000),
      endedAt: new Date(3_000),
      nextRestartAt: new Date(4_000),
      failureReason: "exit 1",
      lastExit: {
        code: 1,
        signal: null,
        stoppedByUs: false,
        timedOut: false,
        success: false,
        startedAt: new Date(2_000),
        endedAt: new Date(3_000),
        durationMs: 1_000,
      },
    },
    {
      ...base,
      pid: 43,
      statusText: "serving 3 clients",
      health: {
        status: "unhealthy",
        consecutiveFailures: 3,
        lastResult: { ok: false, detail: "HTTP 404 (expected 200)", durationMs: 1.2 },
        lastCheckAt: new Date(5_000),
      },
    },
    {
      ...base,
      pid: 44,
      enforcement: {
        tracking: "cgroup v2 /sys/fs/cgroup/procmgr-1a2b/web.proc",
        cgroup: "/sys/fs/cgroup/procmgr-1a2b/web.proc",
        memory: "cgroup v2 memory.max",
        cpu: "cgroup v2 cpu.max",
        pids: "not enforced: the pids controller is not enabled",
      },
      oomKills: 2,
    },
  ];
  const zeroKeys = Object.keys(create(ProcessStatusSchema));
  for (const info of infos) {
    const status = toProcessStatus(info);
    assert.ok(isMessage(status, ProcessStatusSchema));
    for (const key of zeroKeys) assert.ok(key in status, key);
    const back = fromBinary(ProcessStatusSchema, toBinary(ProcessStatusSchema, status));
    assert.ok(equals(ProcessStatusSchema, back, status));
  }
  const full = toProcessStatus(infos[1] as ProcessInfo);
  assert.equal(full.exitCode, 1);
  assert.equal(full.user, "nobody");
  assert.equal(full.uptimeSeconds, 1.5);
  assert.equal(full.nextRestartAt?.seconds, 4n);
  assert.equal(full.state, ProcessState.BACKOFF);
  assert.equal(toProcessStatus(base).startedAt, undefined);
  assert.equal(toProcessStatus(base).healthStatus, HealthStatus.UNSPECIFIED, "no health check");
  assert.equal(toProcessStatus(base).lastHealthCheck, undefined);
  const checked = toProcessStatus(infos[2] as ProcessInfo);
  assert.equal(checked.statusText, "serving 3 clients");
  assert.equal(checked.healthStatus, HealthStatus.UNHEALTHY);
  assert.equal(checked.healthCheckFailures, 3);
  assert.equal(checked.healthDetail, "HTTP 404 (expected 200)");
  assert.equal(checked.lastHealthCheck?.seconds, 5n);
  const plain = toProcessStatus(base);
  assert.ok(plain.enforcement && isMessage(plain.enforcement, EnforcementSchema));
  assert.deepEqual(
    { ...plain.enforcement },
    { ...create(EnforcementSchema), tracking: "process group" },
    "a limit not configured is empty",
  );
  assert.equal(plain.oomKills, 0);
  const limited = toProcessStatus(infos[3] as ProcessInfo);
  assert.deepEqual(
    { ...limited.enforcement },
    {
      ...create(EnforcementSchema),
      tracking: "cgroup v2 /sys/fs/cgroup/procmgr-1a2b/web.proc",
      cgroup: "/sys/fs/cgroup/procmgr-1a2b/web.proc",
      memory: "cgroup v2 memory.max",
      cpu: "cgroup v2 cpu.max",
      pids: "not enforced: the pids controller is not enabled",
    },
  );
  assert.equal(limited.oomKills, 2);
  for (const [status, proto] of [
    ["unknown", HealthStatus.UNKNOWN],
    ["healthy", HealthStatus.HEALTHY],
  ] as const) {
    const health = { status, consecutiveFailures: 0 };
    assert.equal(toProcessStatus({ ...base, health }).healthStatus, proto);
  }
  // Timestamps as protobuf-es's timestampFromDate makes them.
  for (const ms of [0, 1, 999, 1_000, 1_763_800_000_123, -1, -1_500]) {
    const t = toProcessStatus({ ...base, createdAt: new Date(ms) }).createdAt;
    assert.ok(t && equals(TimestampSchema, t, timestampFromDate(new Date(ms))), String(ms));
  }
});

test("toExitInfo carries why a run failed when its exit status does not say it", () => {
  const exit = {
    code: null,
    signal: "SIGTERM" as const,
    stoppedByUs: false,
    timedOut: false,
    success: false,
    startedAt: new Date(1_000),
    endedAt: new Date(2_500),
    durationMs: 1_500,
  };
  const failed = toExitInfo({
    ...exit,
    failure: "health check failed 3 times in a row (restart_after 3): HTTP 404 (expected 200)",
  });
  assert.ok(isMessage(failed, ExitInfoSchema));
  assert.match(failed.failure, /^health check failed 3 times/);
  assert.equal(failed.signal, "SIGTERM");
  assert.equal(failed.durationSeconds, 1.5);
  assert.equal(toExitInfo(exit).failure, "");
  assert.equal(failed.oomKilled, false);
});

test("toExitInfo: a run the OOM killer ended, with the limit it hit", () => {
  const oom = toExitInfo({
    code: null,
    signal: "SIGKILL",
    stoppedByUs: false,
    timedOut: false,
    oomKilled: true,
    failure: "killed by the OOM killer: memory limit 64 MiB",
    success: false,
    startedAt: new Date(1_000),
    endedAt: new Date(2_000),
    durationMs: 1_000,
  });
  assert.equal(oom.oomKilled, true);
  assert.equal(oom.failure, "killed by the OOM killer: memory limit 64 MiB");
  assert.equal(oom.signal, "SIGKILL");
  // What the logs and events say: the failure, or at least that it was the OOM killer.
  const bare = {
    code: null,
    signal: "SIGKILL" as const,
    stoppedByUs: false,
    timedOut: false,
    success: false,
    startedAt: new Date(1_000),
    endedAt: new Date(2_000),
    durationMs: 1_000,
  };
  assert.equal(exitFailure({ ...bare, oomKilled: true }), "killed by the OOM killer");
  assert.equal(exitFailure({ ...bare, oomKilled: true, failure: "x" }), "x");
  assert.equal(exitFailure(bare), undefined);
});

test("protoUsageSource: the cgroup, or the process group", () => {
  assert.equal(protoUsageSource("cgroup"), UsageSource.CGROUP);
  assert.equal(protoUsageSource("process group"), UsageSource.PROCESS_GROUP);
});

test("toProcessSpec: every field with its default filled in; env redacted when asked", () => {
  const config = resolveProcessConfig("p", {
    command: "x --a",
    args: ["b c"],
    env: { A: "1" },
    environment_file: "/e",
    restart: "always",
    kill_mode: "mixed",
    process_type: "forking",
    pidfile: "/run/p.pid",
    stdout: "inherit",
    stderr: null,
    exec_start_pre: [["touch", "/tmp/a b"]],
    condition_path_exists: ["!/x"],
    health_check: { type: "exec", command: "check" },
    resource_limits: { memory: "1K" },
  });
  const expected = create(ProcessSpecSchema, {
    name: "p",
    command: "x --a",
    args: ["b c"],
    env: { A: "1" },
    environmentFile: "/e",
    autoStart: false,
    restart: RestartPolicy.ALWAYS,
    restartSec: 1,
    restartMaxDelaySec: 60,
    startLimitBurst: 5,
    startLimitIntervalSec: 10,
    timeoutStartSec: 90,
    timeoutStopSec: 90,
    killSignal: "SIGTERM",
    killMode: KillMode.MIXED,
    successExitStatus: [0],
    stdout: "inherit",
    stderr: "null",
    logMaxFiles: 5,
    pidfile: "/run/p.pid",
    execStartPre: ["touch '/tmp/a b'"],
    conditionPathExists: ["!/x"],
    processType: ProcessType.FORKING,
    watchdogSec: 0,
    healthCheck: {
      type: HealthCheckType.EXEC,
      intervalSec: 30,
      timeoutSec: 5,
      retries: 3,
      startPeriodSec: 0,
      restartAfter: 0,
      method: "GET",
      expectedStatus: 200,
      command: "check",
    },
    resourceLimits: { memory: "1024" },
  });
  const spec = toProcessSpec(config, { redactEnv: false });
  assert.ok(equals(ProcessSpecSchema, spec, expected), JSON.stringify(spec));
  assert.deepEqual(toProcessSpec(config, { redactEnv: true }).env, { A: redacted });
  assert.deepEqual(config.env, { A: "1" }, "the config itself is not redacted");
});
