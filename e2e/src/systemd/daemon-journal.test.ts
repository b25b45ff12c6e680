/**
 * Issue 18, "Logs that fit systemd", under real systemd and journald: the standard unit's daemon
 * writes structured entries through journald's native protocol, so a process's lines are found
 * by PROCESS_NAME=, by `grep process_id=<id>` (the seed guide's promise) and by priority; and a
 * process's own output with `stdout: journal` is found by `journalctl -t NAME` and
 * `PROCMGR_PROCESS=NAME`, and read back by `pm-cli logs`.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import { executableArgs, missingPieces, repoCli, show, until } from "./install-fixture.js";

const config = [
  "processes:",
  "  web:",
  "    command: /bin/sleep",
  "    args:",
  '      - "4545"',
  "    auto_start: true",
  "    restart: always",
  "  crasher:",
  "    command: /bin/sh",
  "    args:",
  "      - -c",
  "      - exit 1",
  "    auto_start: true",
  "    restart: never",
  "  jout:",
  "    command: /usr/local/bin/jout.sh",
  "    auto_start: true",
  "    stdout: journal",
  "    stderr: journal",
  "",
].join("\n");

/** What jout writes: plain, a `<3>` priority, stderr, a 60,000-byte line, binary, then waits. */
const joutScript = [
  "#!/bin/sh",
  "echo plain-out",
  "echo '<3>as-error'",
  "echo to-stderr >&2",
  "head -c 60000 /dev/zero | tr '\\0' x; echo",
  "printf 'bin\\001\\377end\\n'",
  "while [ ! -e /run/jout-more ]; do sleep 0.1; done",
  "echo after-since",
  "exec sleep 4545",
  "",
].join("\n");

type JournalJson = Record<string, unknown>;

const support = sandboxSupport();
const skip = !support.ok
  ? `systemd sandbox unavailable: ${support.reason}`
  : (missingPieces() ?? false);

describe("daemon logs in the journal (real systemd, journald)", { skip, timeout: 120_000 }, () => {
  let sb: Sandbox;
  const ids = new Map<string, string>();
  const journal = (...args: string[]) =>
    sb.exec(["journalctl", "-u", "dd-procmgrd", "--no-pager", ...args]);
  const entries = async (...args: string[]): Promise<JournalJson[]> =>
    (await journal("-o", "json", ...args)).stdout
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as JournalJson);

  before(async () => {
    sb = await startSandbox("journal");
    const exeArgs = await executableArgs(sb);
    const r = await sb.exec(
      [...repoCli, "daemon", "install", "--variant", "standard", ...exeArgs],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 0, show(r));
    await sb.writeFile("/usr/local/bin/jout.sh", joutScript, 0o755);
    await sb.writeFile("/etc/dd-procmgrd/processes.yaml", config, 0o644);
    const reload = await sb.exec(["systemctl", "reload", "dd-procmgrd"]);
    assert.equal(reload.code, 0, show(reload));
    await until(
      "web to run and crasher to fail",
      () => sb.exec(["pm-cli", "list"]),
      (x) =>
        /web\b.*running/.test(x.stdout) &&
        /crasher\b.*failed/.test(x.stdout) &&
        /jout\b.*running/.test(x.stdout),
    );
    for (const name of ["web", "crasher", "jout"]) {
      const d = await sb.exec(["pm-cli", "describe", name, "-o", "json"]);
      assert.equal(d.code, 0, show(d));
      ids.set(name, String((JSON.parse(d.stdout) as { id: string }).id));
    }
  });
  after(async () => {
    await sb?.stop();
  });

  it("-o json: native entries with PROCESS_NAME=web and PROCESS_ID=<describe's id>", async () => {
    const id = ids.get("web") ?? "";
    assert.match(id, /^\S{8,}$/);
    const all = await entries();
    const web = all.filter((e) => e.PROCESS_NAME === "web");
    assert.ok(web.length > 0, `no entry with PROCESS_NAME=web in\n${JSON.stringify(all, null, 1)}`);
    for (const e of web) {
      assert.equal(e.PROCESS_ID, id, JSON.stringify(e));
      assert.equal(e._TRANSPORT, "journal", JSON.stringify(e));
      assert.equal(e.SYSLOG_IDENTIFIER, "dd-procmgrd");
      assert.match(String(e.MESSAGE), new RegExp(` process_id=${id} process=web\\b`));
    }
    const started = web.find((e) => /^process started /.test(String(e.MESSAGE)));
    assert.ok(started !== undefined, JSON.stringify(web, null, 1));
    assert.equal(started.PRIORITY, "6");
    assert.match(String(started.PROCMGR_PID), /^\d+$/);
    // The socket was reachable: no fallback notice, no `<6>` stream lines.
    assert.ok(!all.some((e) => /cannot write to the journal/.test(String(e.MESSAGE))));
    assert.ok(!all.some((e) => e._TRANSPORT === "stdout" && /^<\d>/.test(String(e.MESSAGE))));
  });

  it("journalctl -u dd-procmgrd PROCESS_NAME=web returns only web's entries", async () => {
    const r = await journal("PROCESS_NAME=web", "-o", "cat");
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    assert.ok(lines.length > 0, show(r));
    for (const l of lines) assert.match(l, / process=web\b/);
    assert.ok(
      lines.some((l) => /^process started /.test(l)),
      show(r),
    );
  });

  it('journalctl -u dd-procmgrd | grep "process_id=<id>" finds the lines, with the short id too', async () => {
    const id = ids.get("web") ?? "";
    const full = await sb.exec(["sh", "-c", `journalctl -u dd-procmgrd | grep "process_id=${id}"`]);
    assert.equal(full.code, 0, show(full));
    assert.match(full.stdout, /process started process_id=\S+ process=web pid=\d+/);
    const short = await sb.exec([
      "sh",
      "-c",
      `journalctl -u dd-procmgrd | grep "process_id=${id.slice(0, 8)}"`,
    ]);
    assert.equal(short.code, 0, show(short));
  });

  it("journalctl -p warning shows the failure of a process that exits 1, not info lines", async () => {
    const id = ids.get("crasher") ?? "";
    const r = await journal("-p", "warning", "-o", "cat");
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`process failed process_id=${id} process=crasher reason=`));
    assert.match(r.stdout, /process exited process_id=\S+ process=crasher code=1/);
    assert.doesNotMatch(r.stdout, /process started /);
    const failed = (await entries("-p", "warning", "PROCESS_NAME=crasher")).find((e) =>
      /^process failed /.test(String(e.MESSAGE)),
    );
    assert.ok(failed !== undefined);
    assert.equal(failed.PRIORITY, "4");
    assert.equal(failed.PROCESS_ID, id);
    assert.equal(typeof failed.PROCMGR_REASON, "string");
  });

  it("lines not about a process are native entries too (the start line)", async () => {
    const start = (await entries()).find((e) =>
      /^Starting Process Manager /.test(String(e.MESSAGE)),
    );
    assert.ok(start !== undefined);
    assert.equal(start._TRANSPORT, "journal");
    assert.equal(start.PROCESS_ID, undefined);
  });

  it("stdout: journal: journalctl -t jout has each line, with the pid, priorities and PROCMGR_ fields", async () => {
    const id = ids.get("jout") ?? "";
    const d = JSON.parse((await sb.exec(["pm-cli", "describe", "jout", "-o", "json"])).stdout) as {
      pid: number;
      stdout_journal: boolean;
      stdout_path: string | null;
    };
    assert.equal(d.stdout_journal, true);
    assert.equal(d.stdout_path, null);
    let got: JournalJson[] = [];
    await until(
      "jout's five lines in the journal",
      async () => {
        const r = await sb.exec(["journalctl", "-t", "jout", "-o", "json", "--all", "--no-pager"]);
        got = r.stdout
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as JournalJson);
        return r;
      },
      () => got.length >= 6,
    );
    const message = (e: JournalJson) =>
      Array.isArray(e.MESSAGE)
        ? Buffer.from(e.MESSAGE as number[])
        : Buffer.from(String(e.MESSAGE));
    const find = (text: string) => got.find((e) => message(e).toString() === text);
    const plain = find("plain-out");
    assert.ok(plain, JSON.stringify(got.map((e) => e.MESSAGE)));
    assert.equal(plain.PRIORITY, "6");
    assert.equal(plain.SYSLOG_PID, String(d.pid));
    assert.equal(plain.PROCMGR_PROCESS, "jout");
    assert.equal(plain.PROCMGR_PROCESS_ID, id);
    assert.equal(plain.PROCMGR_STREAM, "stdout");
    assert.equal(plain._TRANSPORT, "journal");
    assert.equal(find("as-error")?.PRIORITY, "3", "the <3> prefix is the priority, removed");
    assert.equal(find("to-stderr")?.PRIORITY, "3");
    assert.equal(find("to-stderr")?.PROCMGR_STREAM, "stderr");
    // 60,000 bytes: journald's 48 KiB LineMax, as for a unit's stdout: two entries.
    const xs = got.filter((e) => /^x+$/.test(message(e).toString()));
    assert.deepEqual(
      xs.map((e) => message(e).length),
      [48 * 1024, 60000 - 48 * 1024],
    );
    const binary = got.find((e) => message(e).includes(Buffer.from([1, 0xff])));
    assert.ok(binary, "the binary line");
    assert.ok(message(binary).equals(Buffer.from([0x62, 0x69, 0x6e, 1, 0xff, 0x65, 0x6e, 0x64])));
    const byField = await sb.exec([
      "journalctl",
      "PROCMGR_PROCESS=jout",
      "-o",
      "cat",
      "--no-pager",
    ]);
    assert.match(byField.stdout, /^plain-out$/m);
    assert.match(byField.stdout, /^to-stderr$/m);
  });

  it("pm-cli logs reads jout's lines back from the journal: text, -o json with times, --since, -f", async () => {
    const text = await sb.exec(["pm-cli", "logs", "jout", "--stdout", "-n", "2"]);
    assert.equal(text.code, 0, show(text));
    assert.ok(text.stdout.split("\n").includes("bin\u0001\ufffdend"), show(text));
    const json = await sb.exec(["pm-cli", "logs", "jout", "-n", "100", "-o", "json"]);
    assert.equal(json.code, 0, show(json));
    const lines = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { time: string; process: string; stream: string; line: string });
    const plain = lines.find((l) => l.line === "plain-out");
    assert.ok(plain, json.stdout.slice(0, 2000));
    assert.equal(plain.process, "jout");
    assert.equal(plain.stream, "stdout");
    assert.ok(Math.abs(Date.parse(plain.time) - Date.now()) < 5 * 60_000, plain.time);
    assert.ok(lines.some((l) => l.line === "to-stderr" && l.stream === "stderr"));
    // Every process at once: web's file has nothing, jout's journal lines come named.
    const all = await sb.exec(["pm-cli", "logs", "-n", "100"]);
    assert.equal(all.code, 0, show(all));
    assert.match(all.stdout, /^jout +\| plain-out$/m);
    // Following: a line written after it started; --since leaves out what came before.
    const since = new Date(Date.now() - 1000).toISOString();
    const follow = sb.exec([
      "timeout",
      "-s",
      "INT",
      "8",
      "pm-cli",
      "logs",
      "jout",
      "-f",
      "--since",
      since,
    ]);
    await new Promise((r) => setTimeout(r, 2000));
    await sb.exec(["touch", "/run/jout-more"]);
    const followed = await follow;
    assert.match(followed.stdout, /^after-since$/m, show(followed));
    assert.doesNotMatch(followed.stdout, /plain-out/);
  });

  it("PM_PROCESS_OUTPUT=journal: a process that does not say goes to the journal", async () => {
    await sb.writeFile(
      "/etc/systemd/system/dd-procmgrd.service.d/output.conf",
      "[Service]\nEnvironment=PM_PROCESS_OUTPUT=journal\n",
      0o644,
    );
    for (const argv of [
      ["systemctl", "daemon-reload"],
      ["systemctl", "restart", "dd-procmgrd"],
    ]) {
      const r = await sb.exec(argv);
      assert.equal(r.code, 0, show(r));
    }
    await until(
      "the daemon back",
      () => sb.exec(["pm-cli", "list"]),
      (x) => x.code === 0 && /web\b.*running/.test(x.stdout),
    );
    const created = await sb.exec([
      "pm-cli",
      "create",
      "plain",
      "--auto-start",
      "--",
      "sh",
      "-c",
      "echo by-default; exec sleep 4545",
    ]);
    assert.equal(created.code, 0, show(created));
    await until(
      "plain's line in the journal",
      () => sb.exec(["journalctl", "-t", "plain", "-o", "cat", "--no-pager"]),
      (x) => /^by-default$/m.test(x.stdout),
    );
    const d = JSON.parse((await sb.exec(["pm-cli", "describe", "plain", "-o", "json"])).stdout) as {
      stdout_journal: boolean;
    };
    assert.equal(d.stdout_journal, true);
  });
});
