/**
 * The seed guide's checks for one system variant (standard, capability, secure), inside one
 * systemd sandbox: `daemon install`, active service, `pm-cli list`, idempotent re-install,
 * journal lines, `systemctl reload`, stop without leftovers, `daemon uninstall`.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Sandbox, sandboxSupport, startSandbox } from "../harness/systemd-sandbox.js";
import {
  executableArgs,
  missingPieces,
  pidOf,
  repoCli,
  show,
  sleeperConfig,
  until,
} from "./install-fixture.js";

export type SystemVariant = "standard" | "capability" | "secure";

export function systemVariantSuite(variant: SystemVariant): void {
  const support = sandboxSupport();
  const skip = !support.ok
    ? `systemd sandbox unavailable: ${support.reason}`
    : (missingPieces() ?? false);

  describe(`daemon install --variant ${variant} (real systemd)`, { skip, timeout: 120_000 }, () => {
    let sb: Sandbox;
    let exeArgs: string[] = [];
    const configMode = variant === "capability" ? 0o640 : 0o644;
    const list = () => sb.exec(["pm-cli", "list"]);

    before(async () => {
      sb = await startSandbox(`install-${variant}`);
      exeArgs = await executableArgs(sb);
    });
    after(async () => {
      await sb?.stop();
    });

    it("installs, starts and answers pm-cli list", async () => {
      const r = await sb.exec([...repoCli, "daemon", "install", "--variant", variant, ...exeArgs], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /changed/);
      const active = await sb.exec(["systemctl", "is-active", "dd-procmgrd"]);
      assert.equal(active.stdout.trim(), "active", show(active));
      // Type=notify: active only once the daemon said READY=1, with its STATUS= line.
      const status = await sb.exec([
        "systemctl",
        "show",
        "-p",
        "StatusText",
        "--value",
        "dd-procmgrd",
      ]);
      assert.match(status.stdout, /^\d+ processes, \d+ running$/m, show(status));
      assert.equal(
        (await sb.exec(["systemctl", "is-enabled", "dd-procmgrd"])).stdout.trim(),
        "enabled",
      );
      await until("pm-cli list to answer", list, (x) => x.code === 0);
      for (const exe of ["dd-procmgrd", "dd-procmgr-cli", "pm-cli"]) {
        const t = await sb.exec(["test", "-x", `/usr/bin/${exe}`]);
        assert.equal(t.code, 0, `/usr/bin/${exe} missing`);
      }
      if (exeArgs.length === 0) {
        // The multi-call executable, installed once: the CLI links to it, but where setcap
        // marks the daemon's file (capability), which the CLI must not share.
        const cli = await sb.exec(["stat", "-c", "%F", "/usr/bin/dd-procmgr-cli"]);
        assert.equal(
          cli.stdout.trim(),
          variant === "capability" ? "regular file" : "symbolic link",
          show(cli),
        );
        const version = await sb.exec(["pm-cli", "--version"]);
        assert.match(version.stdout, /^pm-cli \S+ \(node v/, show(version));
      }
      const perms = await sb.exec([
        "stat",
        "-c",
        "%n %a %U %G",
        "/etc/dd-procmgrd",
        "/var/lib/dd-procmgrd",
      ]);
      assert.equal(
        perms.stdout,
        variant === "capability"
          ? "/etc/dd-procmgrd 750 root dd-procmgrd\n/var/lib/dd-procmgrd 755 dd-procmgrd dd-procmgrd\n"
          : "/etc/dd-procmgrd 700 root root\n/var/lib/dd-procmgrd 755 root root\n",
      );
    });

    it("re-running install changes nothing", async () => {
      const r = await sb.exec([...repoCli, "daemon", "install", "--variant", variant, ...exeArgs], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, / 0 changed/, show(r));
    });

    it("another local user can change none of what it installed, nor read its secrets", async () => {
      // [what, the path it is about (there, so a refusal is the permissions'), the try]
      const unit = "/etc/systemd/system/dd-procmgrd.service";
      const config = "/etc/dd-procmgrd/processes.yaml";
      const token = "/run/dd-procmgrd/dd-procmgrd.token";
      const tries: [string, string, string][] = [
        ["write the unit", unit, `echo >> ${unit}`],
        ["write the daemon's executable", "/usr/bin/dd-procmgrd", "echo >> /usr/bin/dd-procmgrd"],
        ["write the CLI", "/usr/bin/dd-procmgr-cli", "echo >> /usr/bin/dd-procmgr-cli"],
        ["write processes.yaml", config, `echo >> ${config}`],
        ["read the API token", token, `cat ${token}`],
        ...["/var/lib/dd-procmgrd", "/run/dd-procmgrd", "/etc/dd-procmgrd"].map(
          (dir): [string, string, string] => [`plant a file in ${dir}`, dir, `echo > ${dir}/x`],
        ),
      ];
      if (variant === "capability")
        tries.push(["read processes.yaml (0640)", config, `cat ${config}`]);
      for (const [what, path, script] of tries) {
        const there = await sb.exec(["test", "-e", path]);
        assert.equal(there.code, 0, `${path} missing: the try would prove nothing`);
        const r = await sb.execAs("nobody", ["sh", "-c", script]);
        assert.notEqual(r.code, 0, `${what}: allowed (${show(r)})`);
      }
    });

    it("journal shows the start line with the bind address", async () => {
      const r = await sb.exec(["journalctl", "-u", "dd-procmgrd", "--no-pager"]);
      assert.match(r.stdout, /Starting Process Manager/, show(r));
      assert.match(r.stdout, /addr=127\.0\.0\.1:50051/, show(r));
    });

    it("delegates its cgroup: the daemon can make cgroups under its own (secure: only there)", async () => {
      const prop = async (p: string) =>
        (await sb.exec(["systemctl", "show", "-p", p, "--value", "dd-procmgrd"])).stdout.trim();
      assert.equal(await prop("Delegate"), "yes");
      const cg = `/sys/fs/cgroup${await prop("ControlGroup")}`;
      // As the daemon sees it: its mount namespace (ProtectControlGroups=), its user.
      const asDaemon = async (script: string) =>
        sb.exec([
          "nsenter",
          "-t",
          await prop("MainPID"),
          "-m",
          "--",
          ...(variant === "capability"
            ? ["setpriv", "--reuid=dd-procmgrd", "--regid=dd-procmgrd", "--clear-groups"]
            : []),
          "sh",
          "-c",
          script,
        ]);
      const own = await asDaemon(`mkdir "${cg}/e2e-probe" && rmdir "${cg}/e2e-probe"`);
      assert.equal(own.code, 0, show(own));
      if (variant === "secure") {
        const other = await asDaemon("mkdir /sys/fs/cgroup/system.slice/e2e-probe");
        assert.notEqual(other.code, 0, show(other));
        assert.match(other.stderr, /Read-only file system/, show(other));
      }
    });

    if (variant === "capability") {
      it("runs as dd-procmgrd and can start processes as nobody (seed check)", async () => {
        const pid = (
          await sb.exec(["systemctl", "show", "-p", "MainPID", "--value", "dd-procmgrd"])
        ).stdout.trim();
        const user = await sb.exec(["ps", "-o", "user:32=", "-p", pid]);
        assert.equal(user.stdout.trim(), "dd-procmgrd", show(user));
        const c = await sb.exec([
          "pm-cli",
          "create",
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
        assert.equal(c.code, 0, show(c));
        const log = await until(
          "/tmp/test-cap.log to contain the user",
          () => sb.exec(["cat", "/tmp/test-cap.log"]),
          (x) => x.stdout.trim() !== "",
        ).catch(async (e: Error) => {
          // say why: the process's exit and its stderr log
          const d = await sb.exec(["pm-cli", "describe", "test-cap"]);
          const err = await sb.exec(["cat", "/var/lib/dd-procmgrd/logs/test-cap.stderr.log"]);
          const caps = await sb.exec(["getcap", "/usr/bin/dd-procmgrd"]);
          throw new Error(`${e.message}\n${d.stdout}\nstderr log: ${err.stdout}\n${caps.stdout}`);
        });
        assert.equal(log.stdout.trim(), "nobody");
      });

      it("holds the seed's file capabilities only, and still stops another user's process", async () => {
        const caps = await sb.exec(["getcap", "/usr/bin/dd-procmgrd"]);
        assert.match(caps.stdout, /cap_setgid,cap_setuid[=+]ep/, show(caps));
        // File capabilities clear the unit's ambient set: no CAP_KILL. The stop must still work.
        const c = await sb.exec(["pm-cli", "create", "nap", "sleep", "4343", "--user", "nobody"]);
        assert.equal(c.code, 0, show(c));
        assert.equal((await sb.exec(["pm-cli", "start", "nap"])).code, 0);
        await until("nap to run", list, (x) => /nap\b.*running/.test(x.stdout));
        const pid = await pidOf(sb, "sleep 4343");
        assert.ok(pid !== undefined, "sleep 4343 runs");
        const owner = await sb.exec(["ps", "-o", "user:32=", "-p", String(pid)]);
        assert.equal(owner.stdout.trim(), "nobody", show(owner));
        const stop = await sb.exec(["pm-cli", "stop", "nap"]);
        assert.equal(stop.code, 0, show(stop));
        await until(
          `pid ${pid} to be gone`,
          () => sb.exec(["test", "-e", `/proc/${pid}`]),
          (x) => x.code !== 0,
        );
        assert.equal((await sb.exec(["pm-cli", "delete", "nap"])).code, 0);
      });
    }

    it("systemctl reload applies a changed processes.yaml", async () => {
      await sb.writeFile(
        "/etc/dd-procmgrd/processes.yaml",
        sleeperConfig("sleeper", 4242),
        configMode,
      );
      const r = await sb.exec(["systemctl", "reload", "dd-procmgrd"]);
      assert.equal(r.code, 0, show(r));
      await until("sleeper to run", list, (x) => /sleeper\b.*running/.test(x.stdout));
      assert.notEqual(await pidOf(sb, "/bin/sleep 4242"), undefined);
    });

    it("systemctl stop leaves no managed process behind", async () => {
      const child = await pidOf(sb, "/bin/sleep 4242");
      assert.ok(child !== undefined, "the managed process runs before the stop");
      const r = await sb.exec(["systemctl", "stop", "dd-procmgrd"], { timeoutMs: 150_000 });
      assert.equal(r.code, 0, show(r));
      assert.equal(
        (await sb.exec(["systemctl", "is-active", "dd-procmgrd"])).stdout.trim(),
        "inactive",
      );
      const gone = await sb.exec(["test", "-e", `/proc/${child}`]);
      assert.notEqual(gone.code, 0, `managed process ${child} survived the stop`);
      const procs = await sb.exec([
        "cat",
        "/sys/fs/cgroup/system.slice/dd-procmgrd.service/cgroup.procs",
      ]);
      assert.equal(procs.stdout.trim(), "", "the service cgroup is empty");
    });

    it("daemon uninstall removes the service and executables, keeps the config", async () => {
      const r = await sb.exec([...repoCli, "daemon", "uninstall", "--variant", variant], {
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, show(r));
      for (const p of [
        "/etc/systemd/system/dd-procmgrd.service",
        "/usr/bin/dd-procmgrd",
        "/usr/bin/pm-cli",
      ]) {
        assert.notEqual((await sb.exec(["test", "-e", p])).code, 0, `${p} still exists`);
      }
      const cat = await sb.exec(["systemctl", "cat", "dd-procmgrd"]);
      assert.notEqual(cat.code, 0, "systemd still knows the unit");
      assert.equal((await sb.exec(["test", "-f", "/etc/dd-procmgrd/processes.yaml"])).code, 0);
      const again = await sb.exec([...repoCli, "daemon", "uninstall", "--variant", variant]);
      assert.equal(again.code, 0, show(again));
      assert.match(again.stdout, /0 changed/);
    });
  });
}
