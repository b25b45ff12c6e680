import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { commandLine, formatBytes, parseDurationSeconds } from "@procmgr/platform";
import {
  DescribeResponseSchema,
  EnforcementSchema,
  EventType,
  ExitInfoSchema,
  GetResourceUsageResponseSchema,
  HealthStatus,
  ProcessSpecSchema,
  ProcessState,
  ProcessStatusSchema,
  RestartPolicy,
  UsageSource,
  WatchEventsResponseSchema,
} from "@procmgr/rpc";
import { colorHealth, colorState, colors, shouldColor, visibleLength } from "./color.js";
import { describeToJson, renderDescribe } from "./describe-page.js";
import { formatDuration } from "./duration.js";
import {
  eventLine,
  eventToJson,
  healthName,
  processToJson,
  stateName,
  unenforcedWarnings,
} from "./process.js";
import { renderProcessTable } from "./process-table.js";
import { renderTable, truncate } from "./table.js";
import { renderUsage, usageToJson } from "./usage.js";

describe("durations", () => {
  it("formats compactly", () => {
    assert.equal(formatDuration(5.9), "5s");
    assert.equal(formatDuration(192), "3m12s");
    assert.equal(formatDuration(7500), "2h05m");
    assert.equal(formatDuration(3 * 86400 + 4 * 3600), "3d4h");
    assert.equal(formatDuration(-1), "-");
  });

  it("parses seconds and unit sequences", () => {
    assert.equal(parseDurationSeconds("5"), 5);
    assert.equal(parseDurationSeconds("1.5"), 1.5);
    assert.equal(parseDurationSeconds("500ms"), 0.5);
    assert.equal(parseDurationSeconds("1m30s"), 90);
    assert.equal(parseDurationSeconds("2h"), 7200);
    assert.equal(parseDurationSeconds("infinity"), Number.POSITIVE_INFINITY);
    assert.equal(parseDurationSeconds("5x"), undefined);
    assert.equal(parseDurationSeconds(""), undefined);
  });

  it("formats bytes", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
  });
});

describe("colours", () => {
  it("colours states only when enabled", () => {
    assert.equal(colorState(colors(false), "running"), "running");
    assert.equal(colorState(colors(true), "running"), "\u001b[32mrunning\u001b[39m");
    assert.equal(colorState(colors(true), "failed"), "\u001b[31mfailed\u001b[39m");
    assert.equal(colorState(colors(true), "backoff"), "\u001b[33mbackoff\u001b[39m");
    assert.equal(colorState(colors(true), "stopped"), "\u001b[90mstopped\u001b[39m");
    assert.equal(visibleLength(colorState(colors(true), "running")), 7);
    assert.equal(colorHealth(colors(true), "healthy"), "\u001b[32mhealthy\u001b[39m");
    assert.equal(colorHealth(colors(true), "unhealthy"), "\u001b[31munhealthy\u001b[39m");
    assert.equal(colorHealth(colors(true), "unknown"), "\u001b[33munknown\u001b[39m");
  });

  it("decides from the flag, NO_COLOR, then the terminal", () => {
    assert.equal(shouldColor(undefined, {}, true), true);
    assert.equal(shouldColor(undefined, {}, false), false);
    assert.equal(shouldColor(undefined, { NO_COLOR: "1" }, true), false);
    assert.equal(shouldColor(false, {}, true), false);
    assert.equal(shouldColor(true, {}, false), true);
  });
});

describe("tables", () => {
  it("pads columns and cuts the shrink column to the width", () => {
    const out = renderTable(
      ["A", "CMD", "Z"],
      [
        ["x", "a-very-long-command --with many --arguments", "0"],
        ["yy", "short", "1"],
      ],
      { maxWidth: 30, shrink: 1 },
    );
    const lines = out.trimEnd().split("\n");
    assert.equal(lines[0], `A   CMD${" ".repeat(22)}Z`);
    for (const line of lines) assert.ok(line.length <= 30, line);
    assert.match(lines[1] ?? "", /…/);
    assert.equal(truncate("abcdef", 4), "abc…");
  });

  it("shrinks several columns, the widest first, none below 10", () => {
    const out = renderTable(["A", "CMD", "STATUS"], [["x", "c".repeat(40), "s".repeat(20)]], {
      maxWidth: 40,
      shrink: [1, 2],
    });
    const row = out.trimEnd().split("\n")[1] ?? "";
    assert.equal(row.length, 40, row);
    // 40 = 1 + 2 + CMD + 2 + STATUS: 35 for both, the first of the widest cut first.
    assert.equal(row, `x  ${"c".repeat(16)}…  ${"s".repeat(17)}…`);
    const tight = renderTable(["A", "CMD", "STATUS"], [["x", "c".repeat(40), "s".repeat(20)]], {
      maxWidth: 10,
      shrink: [1, 2],
    });
    assert.equal(tight.trimEnd().split("\n")[1], `x  ${"c".repeat(9)}…  ${"s".repeat(9)}…`);
  });
});

describe("processes", () => {
  const running = create(ProcessStatusSchema, {
    id: "0123456789abcdef",
    name: "web",
    pid: 4242,
    state: ProcessState.RUNNING,
    command: "/usr/bin/python3",
    args: ["app.py", "two words"],
    restartCount: 2,
    runCount: 3,
    user: "www-data",
    uptimeSeconds: 75,
    restart: RestartPolicy.ON_FAILURE,
    usage: { cpuSeconds: 3.2, cpuPercent: 12.5, memoryBytes: 64n * 1024n * 1024n },
  });
  const exited = create(ProcessStatusSchema, {
    id: "fedcba9876543210",
    name: "job",
    state: ProcessState.EXITED,
    command: "true",
    exitCode: 0,
  });

  it("names states and policies in lowercase", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((s) => stateName(s)),
      ["created", "starting", "running", "stopping", "stopped", "exited", "failed", "backoff"],
    );
  });

  it("has the JSON shape of list -o json", () => {
    const j = processToJson(running);
    assert.equal(j.name, "web");
    assert.equal(j.id, "0123456789abcdef");
    assert.equal(j.pid, 4242);
    assert.equal(j.state, "running");
    assert.equal(j.restarts, 2);
    assert.equal(j.run_count, 3);
    assert.equal(j.exit_code, null);
    assert.equal(j.user, "www-data");
    assert.equal(j.command, "/usr/bin/python3");
    assert.deepEqual(j.args, ["app.py", "two words"]);
    assert.equal(j.uptime_seconds, 75);
    assert.equal(j.restart, "on-failure");
    const e = processToJson(exited);
    assert.equal(e.pid, null);
    assert.equal(e.exit_code, 0);
    assert.equal(e.state, "exited");
  });

  const checked = create(ProcessStatusSchema, {
    ...running,
    name: "api",
    healthStatus: HealthStatus.UNHEALTHY,
    healthCheckFailures: 3,
    healthDetail: "HTTP 404 (expected 200)",
    lastHealthCheck: timestampFromDate(new Date("2026-01-02T03:04:05.000Z")),
    statusText: "serving\n12 clients\u001b[31m",
  });

  it("renders the list table", () => {
    const out = renderProcessTable([running, exited], colors(false));
    const [header, web, job] = out.trimEnd().split("\n");
    assert.match(
      header ?? "",
      /^NAME\s+ID\s+PID\s+STATE\s+HEALTH\s+RESTARTS\s+UPTIME\s+CPU\s+MEM\s+COMMAND\s+EXIT$/,
    );
    assert.match(
      web ?? "",
      /^web\s+01234567\s+4242\s+running\s+-\s+2\s+1m15s\s+12\.5%\s+64\.0 MiB\s+\/usr\/bin\/python3 app.py 'two words'\s+-$/,
    );
    assert.match(job ?? "", /^job\s+fedcba98\s+-\s+exited\s+-\s+0\s+-\s+-\s+-\s+true\s+0$/);
    const narrow = renderProcessTable([running], colors(false), 80);
    for (const line of narrow.trimEnd().split("\n")) assert.ok(line.length <= 80, line);
    assert.equal(commandLine("sh", ["-c", "echo 'hi'"]), `sh -c 'echo '\\''hi'\\'''`);
  });

  it("shows health, and a STATUS column when a process has a STATUS= text", () => {
    const out = renderProcessTable([checked, exited], colors(false));
    const [header, api, job] = out.trimEnd().split("\n");
    assert.match(header ?? "", /\sHEALTH\s.*\sEXIT\s+STATUS$/);
    assert.match(api ?? "", /^api\s+01234567\s+4242\s+running\s+unhealthy\s+2\s/);
    assert.match(api ?? "", /\s-\s+serving 12 clients\[31m$/, "one line, no escapes");
    assert.match(job ?? "", /\s0\s+-$/);
    // A wide terminal: COMMAND and STATUS cut to fit.
    const wide = renderProcessTable([checked], colors(false), 120);
    for (const line of wide.trimEnd().split("\n")) assert.ok(line.length <= 120, line);
    assert.match(wide, /STATUS\n/);
    assert.match(wide, /\s-\s+serving 12 client…\n$/);
    // 100 columns: STATUS goes first; 80: CPU and MEM too (describe shows them); the rest fits.
    const medium = renderProcessTable([checked], colors(false), 100);
    assert.match(medium, /\sCPU\s+MEM\s/);
    assert.doesNotMatch(medium, /STATUS|serving/);
    const narrow = renderProcessTable([checked], colors(false), 80);
    for (const line of narrow.trimEnd().split("\n")) assert.ok(line.length <= 80, line);
    assert.doesNotMatch(narrow, /STATUS|serving|\sCPU\s|\sMEM\s/);
    assert.match(narrow, /unhealthy/);
  });

  it("names health statuses; -o json has the health and STATUS= fields", () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((h) => healthName(h)),
      ["", "unknown", "healthy", "unhealthy"],
    );
    const j = processToJson(checked);
    assert.equal(j.health, "unhealthy");
    assert.equal(j.health_check_failures, 3);
    assert.equal(j.health_detail, "HTTP 404 (expected 200)");
    assert.equal(j.last_health_check, "2026-01-02T03:04:05.000Z");
    assert.equal(j.status_text, "serving\n12 clients\u001b[31m", "as the process wrote it");
    const none = processToJson(running);
    assert.equal(none.health, null);
    assert.equal(none.last_health_check, null);
    assert.equal(none.health_detail, null);
    assert.equal(none.status_text, null);
  });

  it("describes health, the STATUS= text and why the last run failed", () => {
    const d = create(DescribeResponseSchema, {
      process: checked,
      lastExit: create(ExitInfoSchema, {
        signal: "SIGTERM",
        failure: "health check failed 3 times in a row (restart_after 3): HTTP 404 (expected 200)",
      }),
    });
    const page = renderDescribe({
      name: "api",
      d,
      p: d.process,
      s: undefined,
      e: d.lastExit,
      colors: colors(false),
    });
    assert.match(page, /\n {2}Health: +unhealthy \(3 failures in a row\)\n/);
    assert.match(page, /\n {2} +last check 2026-01-02T03:04:05.000Z: HTTP 404 \(expected 200\)\n/);
    assert.match(page, /\n {2}Status: +serving 12 clients\[31m\n/);
    assert.match(page, /\n {2}Failure: +health check failed 3 times in a row/);
    const plain = renderDescribe({
      name: "web",
      d: create(DescribeResponseSchema, { process: running }),
      p: running,
      s: undefined,
      e: undefined,
      colors: colors(false),
    });
    assert.doesNotMatch(plain, /Health:|Status:/);
    const json = describeToJson(d);
    assert.equal(json.health, "unhealthy");
    assert.match(String((json.last_exit as Record<string, unknown>).failure), /^health check/);
  });

  const limited = create(ProcessStatusSchema, {
    ...running,
    name: "big",
    enforcement: create(EnforcementSchema, {
      tracking: "cgroup v1 /sys/fs/cgroup/memory/procmgr-1a2b/big.proc",
      cgroup: "/procmgr-1a2b/big.proc/run-3",
      memory: "cgroup v1 memory.limit_in_bytes",
      cpu: "not enforced: the cpu controller is not mounted",
    }),
    oomKills: 2,
  });
  it("warns of each configured limit that is not enforced, naming why", () => {
    assert.deepEqual(unenforcedWarnings(limited), [
      "warning: big: resource_limits.cpu not enforced: the cpu controller is not mounted\n",
    ]);
    assert.deepEqual(unenforcedWarnings(running), []);
  });

  const limits = create(ProcessSpecSchema, {
    name: "big",
    command: "/usr/bin/big",
    resourceLimits: { memory: "67108864", cpu: "0.5" },
  });
  const oomExit = create(ExitInfoSchema, {
    signal: "SIGKILL",
    oomKilled: true,
    failure: "killed by the OOM killer: memory limit 64 MiB",
  });

  it("-o json has how a process is tracked, each limit's enforcement and its OOM kills", () => {
    const j = processToJson(limited);
    assert.deepEqual(j.enforcement, {
      tracking: "cgroup v1 /sys/fs/cgroup/memory/procmgr-1a2b/big.proc",
      cgroup: "/procmgr-1a2b/big.proc/run-3",
      memory: "cgroup v1 memory.limit_in_bytes",
      cpu: "not enforced: the cpu controller is not mounted",
      pids: null,
    });
    assert.equal(j.oom_kills, 2);
    const older = processToJson(running);
    assert.equal(older.enforcement, null, "a daemon that does not say");
    assert.equal(older.oom_kills, 0);
    const json = describeToJson(
      create(DescribeResponseSchema, { process: limited, lastExit: oomExit }),
    );
    assert.equal(
      (json.enforcement as Record<string, unknown>).memory,
      "cgroup v1 memory.limit_in_bytes",
    );
    assert.equal(json.oom_kills, 2);
    const last = json.last_exit as Record<string, unknown>;
    assert.equal(last.oom_killed, true);
    assert.equal(last.failure, "killed by the OOM killer: memory limit 64 MiB");
    assert.equal(
      (
        describeToJson(create(DescribeResponseSchema, { lastExit: create(ExitInfoSchema) }))
          .last_exit as Record<string, unknown>
      ).oom_killed,
      false,
    );
  });

  it("describes the tracking, each limit with what enforces it, and OOM kills", () => {
    const d = create(DescribeResponseSchema, { process: limited, spec: limits, lastExit: oomExit });
    const page = renderDescribe({
      name: "big",
      d,
      p: d.process,
      s: d.spec,
      e: d.lastExit,
      colors: colors(false),
    });
    assert.match(page, /\n {2}OOM kills: +2\n/);
    assert.match(page, /\n {2}OOM killed: +yes\n/);
    assert.match(page, /\n {2}Failure: +killed by the OOM killer: memory limit 64 MiB\n/);
    assert.match(
      page,
      /\nResource limits\n {2}Tracking: +cgroup v1 \/sys\/fs\/cgroup\/memory\/procmgr-1a2b\/big\.proc\n/,
    );
    assert.match(page, /\n {2}Cgroup: +\/procmgr-1a2b\/big\.proc\/run-3\n/);
    assert.match(page, /\n {2}CPU: +0\.5; not enforced: the cpu controller is not mounted\n/);
    assert.match(page, /\n {2}Memory: +67108864 \(64\.0 MiB\); cgroup v1 memory\.limit_in_bytes\n/);
    assert.doesNotMatch(page, /PIDs:/, "no pids limit configured");
    // A cgroup the tracking line names is not repeated; no OOM kill, no row.
    const v2 = create(ProcessStatusSchema, {
      ...running,
      enforcement: create(EnforcementSchema, {
        tracking: "cgroup v2 /sys/fs/cgroup/pm/web",
        cgroup: "/sys/fs/cgroup/pm/web",
      }),
    });
    const plain = renderDescribe({
      name: "web",
      d: create(DescribeResponseSchema, { process: v2 }),
      p: v2,
      s: undefined,
      e: undefined,
      colors: colors(false),
    });
    assert.match(plain, /\n {2}Tracking: +cgroup v2 \/sys\/fs\/cgroup\/pm\/web\n/);
    assert.doesNotMatch(plain, /Cgroup:|OOM kill/);
  });

  it("prints health changes as events", () => {
    const e = create(WatchEventsResponseSchema, {
      time: timestampFromDate(new Date("2026-01-02T03:04:05.000Z")),
      type: EventType.HEALTH_CHANGED,
      processName: "api",
      state: ProcessState.RUNNING,
      message: "unhealthy: HTTP 404 (expected 200)",
    });
    assert.equal(
      eventLine(e),
      "2026-01-02T03:04:05.000Z api health_changed running unhealthy: HTTP 404 (expected 200)",
    );
    assert.equal(eventToJson(e).type, "health_changed");
  });
});

describe("stats", () => {
  const base = {
    id: "0123456789abcdef",
    name: "web",
    pid: 4242,
    processCount: 3,
    cpuSeconds: 12.5,
    cpuPercent: 3.25,
    memoryRssBytes: 1536n,
    threads: 7,
  };

  it("from a cgroup: source, memory charged and its peak, then RSS", () => {
    const u = create(GetResourceUsageResponseSchema, {
      ...base,
      source: UsageSource.CGROUP,
      memoryBytes: 64n * 1024n * 1024n,
      memoryPeakBytes: 96n * 1024n * 1024n,
    });
    assert.equal(
      renderUsage(u),
      [
        "Name:             web",
        "PID:              4242",
        "Source:           cgroup",
        "Processes:        3",
        "CPU:              3.3%",
        "CPU time:         12.50s",
        "Memory (charged): 64.0 MiB",
        "Memory peak:      96.0 MiB",
        "Memory (RSS):     1.5 KiB",
        "Threads:          7",
        "",
      ].join("\n"),
    );
    assert.deepEqual(usageToJson(u), {
      id: "0123456789abcdef",
      name: "web",
      pid: 4242,
      source: "cgroup",
      process_count: 3,
      cpu_seconds: 12.5,
      cpu_percent: 3.25,
      memory_bytes: 64 * 1024 * 1024,
      memory_peak_bytes: 96 * 1024 * 1024,
      memory_rss_bytes: 1536,
      threads: 7,
    });
  });

  it("from a process group: no charged memory, no peak", () => {
    const u = create(GetResourceUsageResponseSchema, {
      ...base,
      source: UsageSource.PROCESS_GROUP,
    });
    const text = renderUsage(u);
    assert.match(text, /^Source: +process group$/m);
    assert.doesNotMatch(text, /charged|peak/);
    assert.match(text, /^Memory \(RSS\): 1\.5 KiB$/m);
    const j = usageToJson(u);
    assert.equal(j.source, "process-group");
    assert.equal(j.memory_bytes, null);
    assert.equal(j.memory_peak_bytes, null);
    // A daemon that does not say where it read them.
    const older = create(GetResourceUsageResponseSchema, base);
    assert.doesNotMatch(renderUsage(older), /Source:/);
    assert.equal(usageToJson(older).source, null);
  });
});
