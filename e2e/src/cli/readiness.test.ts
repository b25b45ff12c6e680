import * as assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  cliE2eSkipReason,
  runCli,
  startTestDaemon,
  type TestDaemon,
  waitFor,
} from "./cli-support.js";

const skip = cliE2eSkipReason();

interface Listed {
  name: string;
  state: string;
  pid?: number;
  status_text?: string;
}

/**
 * Readiness through the real daemon and CLI: the default config's migrate/webapp pair (a oneshot
 * and its dependent), a notify program speaking sd_notify through systemd's own `systemd-notify`,
 * and `pm-cli create --type notify`.
 */
describe("readiness through dd-procmgrd and pm-cli", { skip }, () => {
  let d: TestDaemon;
  let dir: string;

  const cli = (...args: string[]) => runCli(args, { env: d.cliEnv() });
  const list = async (): Promise<Listed[]> => {
    const r = await cli("list", "-o", "json");
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Listed[];
  };
  const one = async (name: string) => (await list()).find((p) => p.name === name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "procmgr-e2e-ready-"));
    // webapp fails at once unless the migration is done when it starts.
    d = await startTestDaemon(`processes:
  migrate:
    process_type: oneshot
    command: sh -c 'sleep 0.5; touch ${dir}/migrated'
  webapp:
    command: sh -c 'test -f ${dir}/migrated && exec sleep 300'
    auto_start: true
    after: [migrate]
    requires: [migrate]
  notifier:
    process_type: notify
    command: sh -c 'sleep 0.4; systemd-notify --ready --status="serving $((1 + 2)) clients"; exec sleep 300'
    timeout_start_sec: 20
`);
  });
  after(async () => {
    await d?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("webapp requires the oneshot migrate: it starts once the migration is done", async () => {
    const web = await waitFor("webapp running", async () => {
      const p = await one("webapp");
      return p?.state === "running" ? p : undefined;
    });
    assert.ok(web.pid);
    assert.equal((await one("migrate"))?.state, "exited");
  });

  test("a notify program: `pm-cli start` answers once READY=1 came; STATUS= is shown", async () => {
    const r = await cli("start", "notifier");
    assert.equal(r.code, 0, r.stderr);
    const p = await one("notifier");
    assert.equal(p?.state, "running");
    // The command line says "$((1 + 2))": only the program's STATUS= says 3.
    const described = await cli("describe", "notifier");
    assert.match(described.stdout, /serving 3 clients/);
  });

  test("pm-cli create --type notify: a program that never says READY=1 fails at its timeout", async () => {
    const r = await cli(
      "create",
      "mute",
      "--type",
      "notify",
      "--timeout-start-sec",
      "1s",
      "--",
      "sleep",
      "300",
    );
    assert.equal(r.code, 0, r.stderr);
    const started = await cli("start", "mute");
    assert.equal(started.code, 1, started.stderr);
    assert.match(started.stdout, /started mute: failed \(not ready within 1s\)/);
    const p = await one("mute");
    assert.equal(p?.state, "failed");
    const described = await cli("describe", "mute");
    assert.match(described.stdout, /not ready within 1s/);
  });
});
