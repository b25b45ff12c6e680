/**
 * The Debian package (`pnpm package`: dist-deb/dd-procmgrd_<version>_<arch>.deb) in a real
 * systemd sandbox: `dpkg -i` installs without starting anything, `systemctl start dd-procmgrd`
 * and `pm-cli list` work, the capability variant runs as the service user, and `dpkg --purge`
 * leaves nothing: no file of the package, no user, no enabled unit, no directory, no process.
 * Then again with DD_PROCMGRD_ENABLE=1, which enables and starts the service at install.
 */
import * as assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import { repoRoot, show, until } from "./install-fixture.js";

const debDir = join(repoRoot, "dist-deb");
const deb = existsSync(debDir)
  ? readdirSync(debDir).find((f) => /^dd-procmgrd_.*\.deb$/.test(f))
  : undefined;
const support = sandboxSupport();
const skip = !support.ok
  ? `systemd sandbox unavailable: ${support.reason}`
  : deb === undefined
    ? `no package in ${debDir} (run pnpm package)`
    : false;

/** Directories the package lists that belong to the system too (they stay). */
const sharedDirs = [
  "/.",
  "/etc",
  "/etc/logrotate.d",
  "/usr",
  "/usr/bin",
  "/usr/lib",
  "/usr/lib/systemd",
  "/usr/lib/systemd/system",
  "/usr/lib/systemd/user",
  "/usr/share",
  "/usr/share/doc",
];

/** What a purge must leave absent, besides the package's own files. */
const leftovers = [
  "/etc/dd-procmgrd",
  "/var/lib/dd-procmgrd",
  "/var/log/dd-procmgrd",
  "/run/dd-procmgrd",
  "/run/dd-procmgr-native-0",
];

describe("the Debian package (real systemd, dpkg)", { skip, timeout: 300_000 }, () => {
  let sb: Sandbox;
  const sh = (script: string, env?: Record<string, string>) =>
    sb.exec(["bash", "-c", script], { timeoutMs: 120_000, ...(env ? { env } : {}) });
  const ok = async (script: string, env?: Record<string, string>) => {
    const r = await sh(script, env);
    assert.equal(r.code, 0, `${script}\n${show(r)}`);
    return r;
  };
  const answers = () =>
    until(
      "pm-cli list to answer",
      () => sh("pm-cli list"),
      (r) => r.code === 0,
    );
  let files: string[] = [];

  before(async () => {
    sb = await startSandbox("deb");
  });
  after(async () => {
    await sb?.stop();
  });

  /** Purges the package and checks that nothing of it is left. */
  async function purgeLeavesNothing(): Promise<void> {
    await ok("dpkg --purge dd-procmgrd");
    const present = await sh(
      `for f in ${[...files, ...leftovers].map((f) => `'${f}'`).join(" ")}; do ` +
        `if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done`,
    );
    assert.equal(present.stdout, "", `left after purge:\n${present.stdout}`);
    assert.notEqual((await sh("getent passwd dd-procmgrd")).code, 0, "the user is gone");
    assert.notEqual((await sh("getent group dd-procmgrd")).code, 0, "the group is gone");
    const wants = await sh("ls /etc/systemd/system/*.wants/ | grep dd-procmgrd");
    assert.equal(wants.stdout, "", `units still enabled:\n${wants.stdout}`);
    const procs = await sh("ps -eo comm= | grep -E '^(dd-procmgrd|sleep)$'");
    assert.equal(procs.stdout, "", `processes left:\n${procs.stdout}`);
    const units = await sh("systemctl list-units --all --no-legend 'dd-procmgrd*'");
    assert.equal(units.stdout.trim(), "", show(units));
  }

  it("installs without enabling or starting the service", async () => {
    assert.notEqual((await sh("getent passwd dd-procmgrd")).code, 0, "no dd-procmgrd user before");
    await ok(`dpkg -i '${join(debDir, deb ?? "")}'`);
    files = (await ok("dpkg -L dd-procmgrd")).stdout
      .split("\n")
      .filter((f) => f !== "" && !sharedDirs.includes(f));
    assert.ok(files.includes("/usr/bin/dd-procmgrd"), files.join("\n"));
    assert.equal((await sh("systemctl is-enabled dd-procmgrd")).stdout.trim(), "disabled");
    assert.equal((await sh("systemctl is-active dd-procmgrd")).stdout.trim(), "inactive");
    await ok("getent passwd dd-procmgrd");
    const links = await ok("readlink /usr/bin/dd-procmgr-cli /usr/bin/pm-cli /usr/bin/psh");
    assert.equal(links.stdout, "dd-procmgrd\ndd-procmgrd\ndd-procmgrd\n");
    const conf = await ok("stat -c '%a %U %G' /etc/dd-procmgrd /etc/dd-procmgrd/processes.yaml");
    assert.equal(conf.stdout, "750 root dd-procmgrd\n640 root dd-procmgrd\n");
    const conffiles = await ok("cat /var/lib/dpkg/info/dd-procmgrd.conffiles");
    assert.match(conffiles.stdout, /\/etc\/dd-procmgrd\/processes\.yaml/);
    assert.match(conffiles.stdout, /\/etc\/logrotate\.d\/dd-procmgrd/);
    const version = await ok("dd-procmgrd --version && pm-cli --version");
    assert.match(version.stdout, /^dd-procmgrd \S+ \(node v24\.\d+\.\d+\)\npm-cli \S+ \(node v24/);
  });

  it("systemctl start dd-procmgrd, then pm-cli list and a managed process", async () => {
    await ok("systemctl start dd-procmgrd");
    await answers();
    await ok("pm-cli create sleeper /bin/sleep 300 --auto-start");
    const list = await ok("pm-cli list");
    assert.match(list.stdout, /^sleeper\s.*\brunning\b/m, show(list));
    await ok("systemctl reload dd-procmgrd && systemctl is-active dd-procmgrd");
    const verify = await ok("systemd-analyze verify /usr/lib/systemd/system/dd-procmgrd*.service");
    assert.equal(verify.stderr.trim(), "", show(verify));
  });

  it("the capability variant runs as dd-procmgrd and reads the packaged config", async () => {
    await ok("systemctl stop dd-procmgrd && systemctl start dd-procmgrd-capability");
    await answers();
    const user = await ok(
      "ps -o user= -p $(systemctl show -p MainPID --value dd-procmgrd-capability)",
    );
    assert.equal(user.stdout.trim(), "dd-procmgrd");
    await ok("systemctl stop dd-procmgrd-capability");
  });

  it("dpkg --purge leaves nothing behind", async () => {
    await ok("systemctl start dd-procmgrd");
    await answers();
    await purgeLeavesNothing();
  });

  it("DD_PROCMGRD_ENABLE=1 enables and starts it at install; purge still leaves nothing", async () => {
    await ok(`dpkg -i '${join(debDir, deb ?? "")}'`, { DD_PROCMGRD_ENABLE: "1" });
    assert.equal((await sh("systemctl is-enabled dd-procmgrd")).stdout.trim(), "enabled");
    await answers();
    await purgeLeavesNothing();
  });
});
