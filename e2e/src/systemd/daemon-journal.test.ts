/**
 * Issue 18, "Logs that fit systemd", under real systemd and journald: the standard unit's daemon
 * writes structured entries through journald's native protocol, so a process's lines are found
 * by PROCESS_NAME=, by `grep process_id=<id>` (the seed guide's promise) and by priority.
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
    await sb.writeFile("/etc/dd-procmgrd/processes.yaml", config, 0o644);
    const reload = await sb.exec(["systemctl", "reload", "dd-procmgrd"]);
    assert.equal(reload.code, 0, show(reload));
    await until(
      "web to run and crasher to fail",
      () => sb.exec(["pm-cli", "list"]),
      (x) => /web\b.*running/.test(x.stdout) && /crasher\b.*failed/.test(x.stdout),
    );
    for (const name of ["web", "crasher"]) {
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
});
