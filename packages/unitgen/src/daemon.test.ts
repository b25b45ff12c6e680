import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { daemonUnit, daemonUnitFileName, daemonVariants } from "./daemon.js";
import { renderUnit } from "./render.js";
import { daemonTemplates } from "./templates.js";
import { verifyUnits } from "./verify.js";

const templatesDir = fileURLToPath(new URL("../../../systemd-templates/", import.meta.url));

function directives(text: string, key: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

describe("daemon units", () => {
  test("the committed systemd-templates/ files are the generator's output", async () => {
    for (const [name, content] of daemonTemplates()) {
      const committed = await readFile(join(templatesDir, name), "utf8");
      assert.equal(
        committed,
        content,
        `systemd-templates/${name} is stale: run pnpm --filter @procmgr/unitgen run generate-templates`,
      );
    }
  });

  test("file names", () => {
    assert.deepEqual(daemonVariants.map(daemonUnitFileName), [
      "dd-procmgrd.service",
      "dd-procmgrd-capability.service",
      "dd-procmgrd-user.service",
      "dd-procmgrd-secure.service",
    ]);
  });

  for (const variant of daemonVariants) {
    test(`${variant}: reload, graceful stop, journal, env file, restart policy`, () => {
      const text = renderUnit(daemonUnit(variant));
      const user = variant === "user";
      assert.deepEqual(directives(text, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
      assert.deepEqual(directives(text, "KillMode"), ["mixed"]);
      assert.deepEqual(directives(text, "TimeoutStopSec"), ["120"]);
      assert.deepEqual(directives(text, "StandardOutput"), ["journal"]);
      assert.deepEqual(directives(text, "StandardError"), ["journal"]);
      assert.deepEqual(directives(text, "Restart"), ["on-failure"]);
      assert.deepEqual(directives(text, "ExecStart"), [
        user ? "%h/.local/bin/dd-procmgrd" : "/usr/bin/dd-procmgrd",
      ]);
      assert.deepEqual(directives(text, "EnvironmentFile"), [
        user ? "-%h/.config/dd-procmgrd/daemon.env" : "-/etc/dd-procmgrd/daemon.env",
      ]);
      assert.ok(directives(text, "Environment").includes('"PM_BIND_ADDRESS=127.0.0.1:50051"'));
      assert.deepEqual(directives(text, "WantedBy"), [
        user ? "default.target" : "multi-user.target",
      ]);
      // StartLimit* belong to [Unit] (ignored with a warning in [Service]).
      const unitSection = text.slice(text.indexOf("[Unit]"), text.indexOf("[Service]"));
      assert.match(unitSection, /^StartLimitBurst=\d+$/m);
      assert.match(unitSection, /^StartLimitIntervalSec=\d+$/m);
    });

    test(`${variant}: passes systemd-analyze verify without any warning`, async (t) => {
      const user = variant === "user";
      const result = await verifyUnits(
        [{ name: "dd-procmgrd.service", content: renderUnit(daemonUnit(variant)) }],
        { user, stubs: [user ? "~/.local/bin/dd-procmgrd" : "/usr/bin/dd-procmgrd"] },
      );
      if (result.status === "skipped") {
        t.skip(result.reason);
        return;
      }
      assert.equal(result.status, "ok", result.status === "failed" ? result.stderr : "");
    });
  }

  for (const variant of daemonVariants) {
    test(`${variant}: delegates its cgroup subtree, and says why in the header`, () => {
      const unit = daemonUnit(variant);
      const text = renderUnit(unit);
      assert.deepEqual(directives(text, "Delegate"), ["yes"]);
      const header = (unit.header ?? []).join("\n");
      assert.match(header, /<unit cgroup>\/daemon/);
      assert.match(header, /<unit cgroup>\/processes\/<name>\.proc/);
    });
  }

  test("secure variant: the cgroup fs stays read-only except the unit's own cgroup", () => {
    const text = renderUnit(daemonUnit("secure"));
    assert.deepEqual(directives(text, "ProtectControlGroups"), ["yes"]);
    // "-": a cgroup v1 host or another Slice= must not keep the unit from starting.
    assert.deepEqual(directives(text, "ReadWritePaths"), ["-/sys/fs/cgroup/system.slice/%n"]);
  });

  test("capability variant: unprivileged user with ambient capabilities, nothing that blocks setpriv", () => {
    const text = renderUnit(daemonUnit("capability"));
    assert.deepEqual(directives(text, "User"), ["dd-procmgrd"]);
    const caps = "CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN";
    assert.deepEqual(directives(text, "AmbientCapabilities"), [caps]);
    assert.deepEqual(directives(text, "CapabilityBoundingSet"), [caps]);
    assert.deepEqual(directives(text, "NoNewPrivileges"), []);
    assert.deepEqual(directives(text, "PrivateTmp"), []);
    for (const v of [
      "PM_CONFIG_PATH=/etc/dd-procmgrd/processes.yaml",
      "PM_RUNTIME_DIR=/run/dd-procmgrd",
      "PM_STATE_DIR=/var/lib/dd-procmgrd",
    ]) {
      assert.ok(directives(text, "Environment").includes(`"${v}"`), v);
    }
  });

  test("user variant: no User=, XDG defaults (no PM_*_DIR / PM_CONFIG_PATH)", () => {
    const text = renderUnit(daemonUnit("user"));
    assert.deepEqual(directives(text, "User"), []);
    assert.doesNotMatch(text, /PM_CONFIG_PATH|PM_STATE_DIR|PM_RUNTIME_DIR|RuntimeDirectory=/);
  });

  test("secure variant: exposure score from systemd-analyze security stays low", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "unitgen-security-"));
    try {
      const file = join(dir, "dd-procmgrd.service");
      await writeFile(file, renderUnit(daemonUnit("secure")));
      const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (res) =>
          execFile(
            "systemd-analyze",
            ["security", "--offline=true", "--no-pager", file],
            { encoding: "utf8", env: { ...process.env, SYSTEMD_COLORS: "0" } },
            (error, stdout, stderr) =>
              res({
                code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
                stdout,
                stderr,
              }),
          ),
      );
      if (/unrecognized option|Unknown command/.test(out.stderr)) {
        t.skip(`systemd-analyze security --offline unsupported here: ${out.stderr.trim()}`);
        return;
      }
      const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(out.stdout);
      assert.ok(m, `no exposure level in: ${out.stdout}${out.stderr}`);
      // 3.3 with Delegate=yes (2026-12-04); 3.2 without CAP_SYS_RESOURCE (2026-12-05).
      assert.ok(Number(m[1]) <= 3.2, `exposure ${m[1]} > 3.2`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
