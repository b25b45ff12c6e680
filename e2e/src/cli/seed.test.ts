import { strict as assert } from "node:assert";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  cliE2eSkipReason,
  listJson,
  runCli,
  startTestDaemon,
  type TestDaemon,
  waitFor,
  waitForState,
} from "./cli-support.js";

// The seed guide's pm-cli lines, exactly as written, against a real daemon and real processes.

const skip = cliE2eSkipReason();

describe("seed guide: pm-cli sequences", { skip }, () => {
  let daemon: TestDaemon;
  let env: Record<string, string>;
  const cleanup: string[] = [];

  before(async () => {
    daemon = await startTestDaemon();
    env = daemon.cliEnv();
  });

  after(async () => {
    // Leave nothing behind, even when an assertion failed half-way.
    for (const name of ["test", "myapp", "test-cap"]) {
      await runCli(["delete", name, "--force"], { env });
    }
    await daemon?.stop();
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
  });

  it("Verify Installation: list, create test sleep 10 --auto-start, list", async () => {
    const first = await runCli(["list"], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, "");

    const created = await runCli(["create", "test", "sleep", "10", "--auto-start"], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created test/);

    await waitForState(daemon, "test", ["running"]);
    const second = await runCli(["list"], { env });
    assert.equal(second.code, 0, second.stderr);
    const lines = second.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^NAME\s+ID\s+PID\s+STATE\s+HEALTH\s+RESTARTS\s+UPTIME\s+CPU\s+MEM\s+COMMAND\s+EXIT$/,
    );
    const row = lines.find((l) => l.startsWith("test "));
    assert.ok(row, second.stdout);
    assert.match(row, /\brunning\b/);
    assert.match(row, /sleep 10/);
    // Not a terminal: no colour codes.
    assert.equal(second.stdout.includes("\u001b["), false);

    const del = await runCli(["delete", "test", "--force"], { env });
    assert.equal(del.code, 0, del.stderr);
  });

  it("Process Manager CLI: create myapp (python, --user www-data), start, stop, describe, delete, reload-config", async () => {
    const appDir = await mkdtemp(join(tmpdir(), "pm-cli-app-"));
    cleanup.push(appDir);
    await chmod(appDir, 0o755);
    await writeFile(
      join(appDir, "app.py"),
      [
        "import os, pwd, time",
        "print('app running as', pwd.getpwuid(os.getuid()).pw_name, flush=True)",
        "time.sleep(300)",
        "",
      ].join("\n"),
      { mode: 0o644 },
    );

    assert.equal((await runCli(["list"], { env })).code, 0);

    const created = await runCli(
      ["create", "myapp", "/usr/bin/python3", "app.py", "--user", "www-data", "--auto-start"],
      { env, cwd: appDir },
    );
    assert.equal(created.code, 0, created.stderr);
    await waitForState(daemon, "myapp", ["running"]);

    const [p] = (await listJson(env)).filter((x) => x.name === "myapp");
    assert.equal(p?.user, "www-data");
    assert.equal(p?.command, "/usr/bin/python3");
    assert.deepEqual(p?.args, ["app.py"]);

    // The script really runs, as www-data, from the directory the CLI ran in.
    await waitFor("app output", async () => {
      const logs = await runCli(["logs", "myapp", "-n", "5"], { env });
      return logs.stdout.includes("app running as www-data") ? true : undefined;
    });

    const start = await runCli(["start", "myapp"], { env });
    assert.ok(start.code === 0 || start.code === 1, `start: ${start.code} ${start.stderr}`);
    if (start.code === 1) assert.notEqual(start.stderr, "");

    const stop = await runCli(["stop", "myapp"], { env });
    assert.equal(stop.code, 0, stop.stderr);
    await waitForState(daemon, "myapp", ["stopped", "exited"]);

    const start2 = await runCli(["start", "myapp"], { env });
    assert.equal(start2.code, 0, start2.stderr);
    await waitForState(daemon, "myapp", ["running"]);
    assert.equal((await runCli(["stop", "myapp"], { env })).code, 0);

    const described = await runCli(["describe", "myapp"], { env });
    assert.equal(described.code, 0, described.stderr);
    for (const section of [
      "Basic",
      "Runtime",
      "Lifecycle",
      "Exit",
      "Dependencies",
      "Configuration",
      "Resource limits",
    ]) {
      assert.match(described.stdout, new RegExp(`^${section}$`, "m"), described.stdout);
    }
    assert.match(described.stdout, /Name:\s+myapp/);
    assert.match(described.stdout, /User:\s+www-data/);
    assert.match(described.stdout, /Command:\s+\/usr\/bin\/python3 app\.py/);

    const describedJson = await runCli(["describe", "myapp", "-o", "json"], { env });
    assert.equal(describedJson.code, 0, describedJson.stderr);
    const dj = JSON.parse(describedJson.stdout) as Record<string, unknown>;
    assert.equal(dj.name, "myapp");
    assert.equal((dj.spec as Record<string, unknown>).user, "www-data");

    const deleted = await runCli(["delete", "myapp"], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(
      (await listJson(env)).some((x) => x.name === "myapp"),
      false,
    );

    const reload = await runCli(["reload-config"], { env });
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /added:/);
  });

  it("Verify Capabilities: create test-cap bash -c 'whoami' --user nobody --stdout ... --auto-start", async () => {
    const logDir = await mkdtemp(join(tmpdir(), "pm-cli-cap-"));
    cleanup.push(logDir);
    await chmod(logDir, 0o777);
    const logFile = join(logDir, "test-cap.log");
    const r = await runCli(
      [
        "create",
        "test-cap",
        "bash",
        "-c",
        "whoami",
        "--user",
        "nobody",
        "--stdout",
        logFile,
        "--auto-start",
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    await waitForState(daemon, "test-cap", ["exited", "stopped", "failed"]);
    const text = await waitFor("the log file", async () => {
      const t = await readFile(logFile, "utf8").catch(() => "");
      return t.includes("nobody") ? t : undefined;
    });
    assert.equal(text.trim(), "nobody");
    assert.equal((await runCli(["delete", "test-cap"], { env })).code, 0);
  });
});
