import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HealthCheckType, RestartPolicy } from "@procmgr/rpc";
import { UsageError } from "clipanion";
import { disambiguateRestart } from "./commands/update.js";
import { buildSpec, parseEnvPairs } from "./spec-build.js";
import { baseExtraFlags, parseProxyArgs, specFlags } from "./spec-flags.js";

const createFlags = specFlags.filter((f) => f.updateOnly !== true);
const parseCreate = (argv: string[]) =>
  parseProxyArgs(argv, { specFlags: createFlags, extraFlags: baseExtraFlags, commandIndex: 1 });
const valuesOf = (parsed: ReturnType<typeof parseCreate>) =>
  Object.fromEntries([...parsed.spec].map(([f, v]) => [f.field, v]));

describe("parseProxyArgs (create)", () => {
  it("takes our flags anywhere and leaves the command's own options to it (seed form)", () => {
    const p = parseCreate([
      "test-cap",
      "bash",
      "-c",
      "whoami",
      "--user",
      "nobody",
      "--stdout",
      "/tmp/test-cap.log",
      "--auto-start",
    ]);
    assert.deepEqual(p.positionals, ["test-cap", "bash", "-c", "whoami"]);
    assert.deepEqual(valuesOf(p), {
      user: ["nobody"],
      stdout: ["/tmp/test-cap.log"],
      auto_start: ["true"],
    });
  });

  it("passes everything after -- verbatim", () => {
    const p = parseCreate(["t", "--restart", "always", "--", "node", "--inspect", "--user", "x"]);
    assert.deepEqual(p.positionals, ["t", "node", "--inspect", "--user", "x"]);
    assert.deepEqual(valuesOf(p), { restart: ["always"] });
  });

  it("reads --flag=value, --no-flag, repeats and the shared flags", () => {
    const p = parseCreate([
      "--env=A=1",
      "w",
      "--env",
      "B=2",
      "node",
      "server.js",
      "--no-auto-start",
      "--address=127.0.0.1:9",
      "-o",
      "json",
    ]);
    assert.deepEqual(p.positionals, ["w", "node", "server.js", "-o", "json"]);
    assert.deepEqual(valuesOf(p), { env: ["A=1", "B=2"], auto_start: ["false"] });
    assert.equal(p.extra.get("address"), "127.0.0.1:9");
    assert.equal(p.extra.has("output"), false);
  });

  it("takes short flags and help only before the command", () => {
    const before = parseCreate(["-o", "json", "t", "ls"]);
    assert.equal(before.extra.get("output"), "json");
    assert.equal(parseCreate(["-h"]).help, true);
    const after = parseCreate(["t", "ls", "-h", "--help"]);
    assert.equal(after.help, false);
    assert.deepEqual(after.positionals, ["t", "ls", "-h", "--help"]);
  });

  it("rejects unknown options before the command and missing values", () => {
    assert.throws(() => parseCreate(["--bogus", "t", "ls"]), UsageError);
    assert.throws(() => parseCreate(["t", "--bogus", "ls"]), /unknown option --bogus/);
    assert.throws(() => parseCreate(["t", "ls", "--user"]), /--user needs a value/);
    assert.throws(() => parseCreate(["t", "ls", "--auto-start=maybe"]), /switch/);
  });
});

describe("buildSpec", () => {
  it("converts values and lists the fields given", () => {
    const p = parseCreate([
      "t",
      "x",
      "--restart",
      "on-failure",
      "--restart-sec",
      "500ms",
      "--timeout-stop-sec",
      "1m30s",
      "--start-limit-burst",
      "3",
      "--kill-mode",
      "process-group",
      "--success-exit-status",
      "0,143",
      "--success-exit-status",
      "2",
      "--after",
      "db,cache",
      "--after",
      "net",
      "--env",
      "A=x=y",
      "--working-dir",
      "/srv",
    ]);
    const { spec, fields } = buildSpec(p.spec);
    assert.deepEqual(spec, {
      restart: 3,
      restartSec: 0.5,
      timeoutStopSec: 90,
      startLimitBurst: 3,
      killMode: 2,
      successExitStatus: [0, 143, 2],
      after: ["db", "cache", "net"],
      env: { A: "x=y" },
      workingDir: "/srv",
    });
    assert.deepEqual(fields.sort(), [
      "after",
      "env",
      "kill_mode",
      "restart",
      "restart_sec",
      "start_limit_burst",
      "success_exit_status",
      "timeout_stop_sec",
      "working_dir",
    ]);
  });

  it("merges --env over a base environment", () => {
    const p = parseCreate(["t", "x", "--env", "B=2"]);
    assert.deepEqual(buildSpec(p.spec, { baseEnv: { A: "1", B: "1" } }).spec.env, {
      A: "1",
      B: "2",
    });
  });

  it("names the flag and the value on bad input", () => {
    const bad = (argv: string[], re: RegExp) =>
      assert.throws(() => buildSpec(parseCreate(["t", "x", ...argv]).spec), re);
    bad(["--restart", "sometimes"], /--restart expects one of never, always.*"sometimes"/);
    bad(["--restart-sec", "soon"], /--restart-sec expects a duration.*"soon"/);
    bad(["--start-limit-burst", "-1"], /whole number/);
    bad(["--env", "1A=2"], /KEY=VALUE/);
    assert.throws(() => parseEnvPairs(["NOEQ"]), UsageError);
  });

  // Moved from format.test.ts (restartPolicyFrom): the CLI reads enumerations in any case,
  // with "_" for "-", and the flag's aliases, then the field's schema checks them.
  it("reads restart policies like restartPolicyFrom did", () => {
    const restartPolicyFrom = (word: string) => {
      try {
        return buildSpec(parseCreate(["t", "x", "--restart", word]).spec).spec.restart;
      } catch (e) {
        assert.ok(e instanceof UsageError, String(e));
        return undefined;
      }
    };
    assert.equal(restartPolicyFrom("on-failure"), RestartPolicy.ON_FAILURE);
    assert.equal(restartPolicyFrom("no"), RestartPolicy.NEVER);
    assert.equal(restartPolicyFrom("bogus"), undefined);
    assert.equal(restartPolicyFrom("ON_FAILURE"), RestartPolicy.ON_FAILURE);
  });

  it("takes every duration form processes.yaml takes, through the same schema", () => {
    const spec = buildSpec(
      parseCreate([
        "t",
        "x",
        "--restart-sec",
        "2min",
        "--timeout-stop-sec",
        "1.5 minutes",
        "--start-limit-interval-sec",
        "100msec",
        "--restart-max-delay-sec",
        "infinity",
      ]).spec,
    ).spec;
    assert.equal(spec.restartSec, 120);
    assert.equal(spec.timeoutStopSec, 90);
    assert.equal(spec.startLimitIntervalSec, 0.1);
    assert.equal(spec.restartMaxDelaySec, Number.POSITIVE_INFINITY);
  });

  it("normalises values as processes.yaml does; an empty text clears the field", () => {
    const built = buildSpec(
      parseCreate([
        "t",
        "x",
        "--kill-signal",
        "15",
        "--env-file",
        "-/etc/default/t",
        "--stdout",
        "null",
        "--user",
        "",
        "--kill-mode",
        "PROCESS_GROUP",
      ]).spec,
    );
    assert.deepEqual(built.spec, {
      killSignal: "SIGTERM",
      environmentFile: "-/etc/default/t",
      stdout: "null",
      user: "",
      killMode: 2,
    });
    const bad = (argv: string[], re: RegExp) =>
      assert.throws(() => buildSpec(parseCreate(["t", "x", ...argv]).spec), re);
    bad(["--working-dir", "relative"], /--working-dir expects an absolute directory.*"relative"/);
    bad(["--kill-signal", "SIGNOPE"], /--kill-signal expects a signal name.*"SIGNOPE"/);
    bad(["--success-exit-status", "0,300"], /--success-exit-status expects an exit code.*"0,300"/);
    bad(["--after", "a b"], /--after expects a name without whitespace.*"a b"/);
  });

  it("puts the --health-* flags into the health check message, listed by their path", () => {
    const p = parseCreate([
      "api",
      "node",
      "server.js",
      "--health-type",
      "HTTP",
      "--health-endpoint",
      "http://127.0.0.1:8080/health",
      "--health-interval",
      "1m30s",
      "--health-retries",
      "2",
      "--health-restart-after",
      "4",
      "--health-expected-status",
      "204",
      "--health-method",
      "head",
    ]);
    assert.deepEqual(p.positionals, ["api", "node", "server.js"]);
    const { spec, fields } = buildSpec(p.spec);
    assert.deepEqual(spec, {
      healthCheck: {
        type: HealthCheckType.HTTP,
        endpoint: "http://127.0.0.1:8080/health",
        intervalSec: 90,
        retries: 2,
        restartAfter: 4,
        expectedStatus: 204,
        method: "HEAD",
      },
    });
    assert.deepEqual(fields, [
      "health_check.type",
      "health_check.endpoint",
      "health_check.interval",
      "health_check.retries",
      "health_check.restart_after",
      "health_check.expected_status",
      "health_check.method",
    ]);
    // Each --health-arg is one argument, commas and all.
    const exec = buildSpec(
      parseCreate([
        "w",
        "x",
        "--health-type",
        "exec",
        "--health-command",
        "check --fast",
        "--health-arg",
        "a,b",
        "--health-arg",
        "c d",
      ]).spec,
    ).spec;
    assert.deepEqual(exec.healthCheck, {
      type: HealthCheckType.EXEC,
      command: "check --fast",
      args: ["a,b", "c d"],
    });
    // An empty text resets the field (update: back to its default).
    assert.deepEqual(buildSpec(parseCreate(["w", "x", "--health-endpoint", ""]).spec).spec, {
      healthCheck: { endpoint: "" },
    });
    const bad = (argv: string[], re: RegExp) =>
      assert.throws(() => buildSpec(parseCreate(["t", "x", ...argv]).spec), re);
    bad(["--health-type", "ping"], /--health-type expects one of http, tcp, exec.*"ping"/);
    bad(["--health-port", "70000"], /--health-port expects/);
    bad(["--health-interval", "often"], /--health-interval expects a duration/);
  });

  it("--command in update clears the arguments", () => {
    const p = parseProxyArgs(["app", "--command", "node b.js"], {
      specFlags,
      extraFlags: baseExtraFlags,
    });
    assert.deepEqual(buildSpec(p.spec), {
      spec: { command: "node b.js", args: [] },
      fields: ["command", "args"],
    });
  });
});

describe("update --restart", () => {
  it("is a policy when followed by one, else restart the process", () => {
    assert.deepEqual(disambiguateRestart(["a", "--restart", "always"]), [
      "a",
      "--restart",
      "always",
    ]);
    assert.deepEqual(disambiguateRestart(["a", "--env", "X=1", "--restart"]), [
      "a",
      "--env",
      "X=1",
      "--restart-process",
    ]);
    assert.deepEqual(disambiguateRestart(["--restart", "a"]), ["--restart-process", "a"]);
  });
});

describe("relativeFileArgument", () => {
  it("finds a script named relative to the caller's directory", async () => {
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { relativeFileArgument } = await import("./spec-build.js");
    const dir = await mkdtemp(join(tmpdir(), "cli-rel-"));
    try {
      await writeFile(join(dir, "app.py"), "print(1)\n");
      await writeFile(join(dir, "python3"), "");
      assert.equal(relativeFileArgument(dir, ["/usr/bin/python3", "app.py"]), "app.py");
      assert.equal(relativeFileArgument(dir, ["python3", "-u", "app.py"]), "app.py");
      assert.equal(relativeFileArgument(dir, ["python3", "other.py"]), undefined);
      assert.equal(relativeFileArgument(dir, ["./app.py"]), "./app.py");
      assert.equal(relativeFileArgument(dir, ["sleep", "10"]), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
