import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { commandLine, formatBytes, parseDurationSeconds } from "@procmgr/platform";
import { ProcessState, ProcessStatusSchema, RestartPolicy } from "@procmgr/rpc";
import { colorState, colors, shouldColor, visibleLength } from "./color.js";
import { formatDuration } from "./duration.js";
import { processToJson, stateName } from "./process.js";
import { renderProcessTable } from "./process-table.js";
import { renderTable, truncate } from "./table.js";

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

  it("renders the list table", () => {
    const out = renderProcessTable([running, exited], colors(false));
    const [header, web, job] = out.trimEnd().split("\n");
    assert.match(header ?? "", /^NAME\s+ID\s+PID\s+STATE\s+RESTARTS\s+UPTIME\s+COMMAND\s+EXIT$/);
    assert.match(
      web ?? "",
      /^web\s+01234567\s+4242\s+running\s+2\s+1m15s\s+\/usr\/bin\/python3 app.py 'two words'\s+-$/,
    );
    assert.match(job ?? "", /^job\s+fedcba98\s+-\s+exited\s+0\s+-\s+true\s+0$/);
    const narrow = renderProcessTable([running], colors(false), 70);
    for (const line of narrow.trimEnd().split("\n")) assert.ok(line.length <= 70, line);
    assert.equal(commandLine("sh", ["-c", "echo 'hi'"]), `sh -c 'echo '\\''hi'\\'''`);
  });
});
