import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { PshError } from "./errors.js";
import { System } from "./system.js";

/** A stand-in sudo (a real executable on PATH) playing a sudoers policy; see the script. */
const fakeSudoDir = fileURLToPath(new URL("../test/fixtures/fake-sudo/", import.meta.url));
let state = "";

beforeEach(async () => {
  state = await mkdtemp(join(tmpdir(), "psh-sudo-"));
});

afterEach(async () => {
  await rm(state, { recursive: true, force: true });
});

/** A System for uid 1000 ("tester"); `terminal` makes stdin look like a TTY. */
function system(options: { terminal?: boolean; path?: string } = {}) {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (options.terminal) stdin.isTTY = true;
  const stderr = new PassThrough();
  const err: string[] = [];
  stderr.on("data", (b: Buffer) => err.push(b.toString()));
  const sys = new System({
    env: { PATH: options.path ?? `${fakeSudoDir}:/usr/bin:/bin`, FAKE_SUDO_DIR: state },
    uid: 1000,
    user: "tester",
    stdin,
    stderr,
  });
  return { sys, stderr: () => err.join("") };
}

async function policy(p: "nopasswd" | "password" | "none", ...files: string[]): Promise<void> {
  await writeFile(join(state, "policy"), p);
  for (const f of files) await writeFile(join(state, f), "");
}

async function sudoCalls(): Promise<string[]> {
  try {
    return (await readFile(join(state, "calls.log"), "utf8")).trim().split("\n");
  } catch {
    return [];
  }
}

async function privilegeError(run: Promise<void>): Promise<string> {
  try {
    await run;
  } catch (e) {
    assert.ok(e instanceof PshError && e.code === "privilege", String(e));
    return e.message;
  }
  assert.fail("expected a privilege error");
}

describe("System privilege (a stand-in sudo on PATH)", () => {
  it("root needs no sudo at all", async () => {
    const sys = new System({
      env: { PATH: "/nonexistent" },
      uid: 0,
      user: "root",
      stdin: new PassThrough(),
      stderr: new PassThrough(),
    });
    await sys.ensurePrivilege(["systemctl", "install"], "to test");
    assert.deepEqual(sys.privileged(["systemctl", "start", "x"]), ["systemctl", "start", "x"]);
  });

  it("NOPASSWD: each tool is checked with sudo -n -l, once, and commands run through sudo -n", async () => {
    await policy("nopasswd");
    const { sys } = system();
    await sys.ensurePrivilege(["install", "systemctl"], "to test");
    await sys.ensurePrivilege(["systemctl"], "to test");
    assert.deepEqual(sys.privileged(["systemctl", "start", "x"]), [
      "sudo",
      "-n",
      "--",
      "systemctl",
      "start",
      "x",
    ]);
    const r = await sys.runPrivileged(["sh", "-c", "echo ran"]);
    assert.equal(r.stdout, "ran\n");
    assert.deepEqual(await sudoCalls(), [
      "sudo -n -l -- install",
      "sudo -n -l -- systemctl",
      "sudo -n -- sh -c echo ran",
    ]);
  });

  it("a password and no terminal: the clear error, no sudo -v, no prompt", async () => {
    await policy("password", "password-ok");
    const { sys, stderr } = system();
    const message = await privilegeError(sys.ensurePrivilege(["systemctl"], "to run systemctl"));
    assert.equal(
      message,
      "root is needed to run systemctl, and tester cannot get it through sudo here " +
        "(sudo -n -l systemctl: sudo: a password is required). To fix it: run it as root " +
        "(`sudo psh sys ...`: the units still run as you), give tester sudo rights, e.g. the line " +
        "`tester ALL=(root) NOPASSWD: /usr/bin/systemctl, /usr/bin/journalctl, /usr/bin/install, /usr/bin/rm` " +
        "in /etc/sudoers.d/psh (edit it with `visudo -f /etc/sudoers.d/psh`), or run it on a terminal to type the password.",
    );
    assert.deepEqual(await sudoCalls(), ["sudo -n -l -- systemctl"]);
    assert.equal(stderr(), "");
    assert.equal(await system().sys.hasPrivilege(["systemctl"], "to test"), false);
  });

  it("a password on a terminal: sudo -v once, then every check and command reuses its timestamp", async () => {
    await policy("password", "password-ok");
    const { sys, stderr } = system({ terminal: true });
    await sys.ensurePrivilege(["install", "systemctl"], "to write unit files");
    await sys.ensurePrivilege(["systemctl", "rm"], "to remove units");
    assert.equal((await sys.runPrivileged(["true"])).code, 0);
    assert.deepEqual(await sudoCalls(), [
      "sudo -n -l -- install",
      "sudo -v",
      "sudo -n -l -- install",
      "sudo -n -l -- systemctl",
      "sudo -n -l -- rm",
      "sudo -n -- true",
    ]);
    assert.equal(
      stderr(),
      "psh sys: root is needed to write unit files: sudo may ask for tester's password (once).\n",
    );
  });

  it("a wrong password on a terminal: sudo -v is not asked again, the error says so", async () => {
    await policy("password");
    const { sys } = system({ terminal: true });
    const message = await privilegeError(sys.ensurePrivilege(["systemctl"], "to test"));
    assert.match(message, /\(sudo -v exited 1; sudo said why above\)/);
    assert.doesNotMatch(message, /on a terminal/);
    assert.equal(await sys.hasPrivilege(["systemctl"], "to test"), false);
    assert.deepEqual(await sudoCalls(), [
      "sudo -n -l -- systemctl",
      "sudo -v",
      "sudo -n -l -- systemctl",
    ]);
  });

  it("sudo rights without one of the tools: the error names it", async () => {
    await policy("nopasswd", "deny-rm");
    const message = await privilegeError(system().sys.ensurePrivilege(["systemctl", "rm"], "to x"));
    assert.match(message, /\(sudo does not let tester run rm\)/);
  });

  it("no sudo rights, or no sudo installed", async () => {
    await policy("none");
    const none = await privilegeError(system().sys.ensurePrivilege(["systemctl"], "to x"));
    assert.match(none, /sudo: a password is required\)/);
    assert.match(none, /give tester sudo rights/);
    const missing = await privilegeError(
      system({ path: state }).sys.ensurePrivilege(["systemctl"], "to x"),
    );
    assert.match(missing, /cannot get it through sudo here \(sudo is not installed\)/);
  });
});
