import { strict as assert } from "node:assert";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runSys, type SysAction, type SysRequest } from "./sys-runner.js";

let base = "";
let repo = "";
let unitDir = "";
let log = "";
let binDir = "";
/** A stand-in sudo playing the policy in `${base}/policy`, logging to the same calls.log. */
const fakeSudoDir = fileURLToPath(new URL("../test/fixtures/fake-sudo/", import.meta.url));

const repoFiles: Record<string, string> = {
  "hosts/rover.toml": `[host]\nmodules = ["pilot", "ear", "broken"]\nservices = ["tts"]\n[config.mod.ear.env]\nEAR_BACKEND = "a b"\n`,
  "modules/pilot/module.toml": `[unit.pilot]\nlaunch = "launch_unit.sh"\n`,
  "modules/pilot/launch_unit.sh": "#!/bin/sh\nexec sleep 1000\n",
  "modules/ear/launch_unit.sh": "#!/bin/sh\nexec sleep 1000\n",
  "modules/broken/module.toml": `[unit.broken]\nlaunch = "missing.sh"\n`,
  "modules/extra/launch_unit.sh": "#!/bin/sh\n",
  "services/tts/service.toml": `[service.tts]\ncompose = "docker-compose.yml"\n`,
  "services/tts/docker-compose.yml": "services: {}\n",
};

before(async () => {
  base = await mkdtemp(join(tmpdir(), "psh-sys-"));
  repo = join(base, "repo");
  binDir = join(base, "bin");
  log = join(base, "calls.log");
  for (const [rel, text] of Object.entries(repoFiles)) {
    await mkdir(join(repo, rel, ".."), { recursive: true });
    await writeFile(join(repo, rel), text);
  }
  await mkdir(binDir);
  // Stand-ins, real executables recording their arguments. systemctl fails for "ear" on demand.
  await writeFile(
    join(binDir, "systemctl"),
    `#!/bin/sh\necho "systemctl $*" >> "${log}"\ncase "$*" in *psh-module-ear*) if [ -e "${base}/fail-ear" ]; then echo "ear refuses" >&2; exit 1; fi;; esac\nexit 0\n`,
  );
  await writeFile(
    join(binDir, "journalctl"),
    `#!/bin/sh\necho "journalctl $*" >> "${log}"\necho "-- journal of $2 --"\n`,
  );
  await writeFile(join(binDir, "docker"), "#!/bin/sh\nexit 0\n");
  for (const f of ["systemctl", "journalctl", "docker"]) await chmod(join(binDir, f), 0o755);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  unitDir = join(base, `units-${Math.random().toString(36).slice(2)}`);
  await mkdir(unitDir);
  await rm(log, { force: true });
  await rm(join(base, "fail-ear"), { force: true });
  await writeFile(join(base, "policy"), "nopasswd");
});

async function psh(
  action: SysAction,
  targets: string[] = [],
  flags: Partial<Omit<SysRequest, "action" | "targets">> = {},
  options: { uid?: number; user?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on("data", (b: Buffer) => out.push(b.toString()));
  stderr.on("data", (b: Buffer) => err.push(b.toString()));
  const code = await runSys(
    { action, targets, module: false, service: false, dryRun: false, ...flags },
    {
      stdin: new PassThrough(),
      stdout,
      stderr,
      env: {
        PATH: `${binDir}:${fakeSudoDir}:/usr/bin:/bin`,
        FAKE_SUDO_DIR: base,
        PSYCHED_REPO_ROOT: repo,
        PSH_HOST: "rover",
        PSH_SYSTEMD_DIR: unitDir,
        PSH_SYSTEMCTL: join(binDir, "systemctl"),
        PSH_JOURNALCTL: join(binDir, "journalctl"),
        SUDO_USER: "daemon",
        ...options.env,
      },
      cwd: base,
      uid: options.uid ?? 0,
      currentUser: options.user ?? "root",
    },
  );
  return { code, stdout: out.join(""), stderr: err.join("") };
}

async function calls(): Promise<string[]> {
  try {
    return (await readFile(log, "utf8")).trim().split("\n");
  } catch {
    return [];
  }
}

describe("psh sys setup", () => {
  it("writes changed units, reloads once, skips nothing but the failing target", async () => {
    const r = await psh("setup");
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual((await readdir(unitDir)).sort(), [
      "psh-module-ear.service",
      "psh-module-pilot.service",
      "psh-service-tts.service",
    ]);
    assert.match(r.stderr, /3 succeeded, 1 failed/);
    assert.match(r.stderr, /FAILED {2}psh-module-broken\.service: .*missing\.sh" not found/);
    assert.match(r.stderr, /ok {6}psh-module-pilot\.service: created/);
    assert.deepEqual(await calls(), ["systemctl daemon-reload"]);
    const pilot = await readFile(join(unitDir, "psh-module-pilot.service"), "utf8");
    assert.match(pilot, /^User=daemon$/m);
    assert.match(pilot, /^Group=daemon$/m);
    assert.equal((await stat(join(unitDir, "psh-module-pilot.service"))).mode & 0o777, 0o644);
    const ear = await readFile(join(unitDir, "psh-module-ear.service"), "utf8");
    assert.match(ear, /^Environment="EAR_BACKEND=a b"$/m);
    const tts = await readFile(join(unitDir, "psh-service-tts.service"), "utf8");
    assert.ok(
      tts.includes(
        `ExecStart=${binDir}/docker compose -f ${repo}/services/tts/docker-compose.yml -p psyched-tts up -d`,
      ),
      tts,
    );

    // Unchanged units are not rewritten and there is no daemon-reload.
    await rm(log, { force: true });
    const again = await psh("setup", ["pilot", "ear"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /psh-module-pilot\.service: unchanged/);
    assert.deepEqual(await calls(), []);
  });

  it("--dry-run prints units and commands (with sudo when not root) and touches nothing", async () => {
    const r = await psh("setup", ["pilot"], { dryRun: true }, { uid: 1000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would be created/);
    assert.match(r.stdout, /^\[Service\]$/m);
    assert.ok(
      r.stdout.includes(`$ sudo -n -- ${join(binDir, "systemctl")} daemon-reload`),
      r.stdout,
    );
    assert.deepEqual(await readdir(unitDir), []);
    assert.deepEqual(await calls(), []);
  });
});

describe("psh sys verbs", () => {
  it("enable/up/down/disable call systemctl per unit; a failure does not stop the others", async () => {
    assert.equal((await psh("setup", ["pilot", "ear"])).code, 0);
    await rm(log, { force: true });
    await writeFile(join(base, "fail-ear"), "");
    const r = await psh("enable", ["pilot", "ear", "tts"], {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 succeeded, 2 failed/);
    assert.match(
      r.stderr,
      /psh-module-ear\.service: .*systemctl enable psh-module-ear\.service exited 1: ear refuses/,
    );
    assert.match(
      r.stderr,
      /psh-service-tts\.service: .* does not exist; run `psh sys setup --service tts` first/,
    );
    await rm(join(base, "fail-ear"));
    assert.equal((await psh("up", ["pilot"])).code, 0);
    assert.equal((await psh("down", ["pilot"])).code, 0);
    assert.equal((await psh("disable", ["pilot"])).code, 0);
    assert.deepEqual(await calls(), [
      "systemctl enable psh-module-pilot.service",
      "systemctl enable psh-module-ear.service",
      "systemctl start psh-module-pilot.service",
      "systemctl stop psh-module-pilot.service",
      "systemctl disable psh-module-pilot.service",
    ]);
  });

  it("teardown stops and disables before removing, then reloads", async () => {
    assert.equal((await psh("setup", ["pilot"])).code, 0);
    await rm(log, { force: true });
    const r = await psh("teardown", ["pilot", "ear"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /psh-module-ear\.service: not installed/);
    assert.deepEqual(await readdir(unitDir), []);
    assert.deepEqual(await calls(), [
      "systemctl stop psh-module-pilot.service",
      "systemctl disable psh-module-pilot.service",
      "systemctl daemon-reload",
      "systemctl reset-failed psh-module-pilot.service",
    ]);
  });

  it("debug prints a header, status and the journal of each unit", async () => {
    const r = await psh("debug", ["pilot"], { module: true });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /=== psh-module-pilot\.service \(module pilot\) =+/);
    assert.match(r.stdout, /systemctl status psh-module-pilot\.service --no-pager/);
    assert.match(r.stdout, /-- journal of psh-module-pilot\.service --/);
    assert.deepEqual(await calls(), [
      "systemctl status psh-module-pilot.service --no-pager",
      "journalctl -u psh-module-pilot.service -n 50 --no-pager",
    ]);
  });
});

describe("psh sys through sudo (uid 1000, a stand-in sudo)", () => {
  const asUser = { uid: 1000, user: "daemon", env: { SUDO_USER: "" } };

  it("checks sudo first, then runs every privileged command through sudo -n", async () => {
    const r = await psh("setup", ["pilot"], {}, asUser);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      await readFile(join(unitDir, "psh-module-pilot.service"), "utf8"),
      /^User=daemon$/m,
    );
    const sc = join(binDir, "systemctl");
    assert.deepEqual(await calls(), [
      "sudo -n -l -- install",
      `sudo -n -l -- ${sc}`,
      `sudo -n -- ${sc} daemon-reload`,
      "systemctl daemon-reload",
    ]);
  });

  it("a password and no terminal: one clear error, exit 1, nothing written or run", async () => {
    await writeFile(join(base, "policy"), "password");
    for (const action of ["setup", "up", "teardown"] as const) {
      await rm(log, { force: true });
      const r = await psh(action, ["pilot"], {}, asUser);
      assert.equal(r.code, 1, action);
      assert.match(
        r.stderr,
        new RegExp(
          `^psh sys ${action}: root is needed .*, and daemon cannot get it through sudo here \\(sudo -n -l .*: sudo: a password is required\\)\\. To fix it: run it as root .*, give daemon sudo rights, e.g\\. the line \`daemon ALL=\\(root\\) NOPASSWD: .*\` in /etc/sudoers\\.d/psh .*, or run it on a terminal to type the password\\.\n$`,
        ),
      );
      assert.equal(r.stdout, "");
      assert.deepEqual(await readdir(unitDir), []);
      assert.equal((await calls()).length, 1, "only the sudo -n -l check ran");
    }
  });

  it("debug without sudo shows what the user may read, and says so", async () => {
    await writeFile(join(base, "policy"), "none");
    const r = await psh("debug", ["pilot"], {}, asUser);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /\(not root, and sudo cannot be used here: showing what daemon may read;/,
    );
    assert.match(r.stdout, /\n\$ \S*journalctl -u psh-module-pilot\.service -n 50 --no-pager\n/);
    assert.ok((await calls()).includes("journalctl -u psh-module-pilot.service -n 50 --no-pager"));
  });
});

describe("psh sys usage errors", () => {
  it("rejects --module with --service, and unknown names with the known ones (exit 2)", async () => {
    const both = await psh("setup", [], { module: true, service: true });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--module and --service cannot be used together/);
    const unknown = await psh("up", ["nope"]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /unknown module or service: nope\n {2}known modules: {2}broken, ear, extra, pilot\n {2}known services: tts/,
    );
  });

  it("without a host profile the wildcard means everything in the repo", async () => {
    const r = await psh("setup", [], { dryRun: true }, { env: { PSH_HOST: "nohost" } });
    assert.equal(r.code, 1, "the broken module fails, the others are shown");
    for (const unit of [
      "module-broken",
      "module-ear",
      "module-extra",
      "module-pilot",
      "service-tts",
    ]) {
      assert.match(r.stdout + r.stderr, new RegExp(`psh-${unit}\\.service`));
    }
    assert.deepEqual(await readdir(unitDir), []);
  });

  it("reports a malformed host profile with its file and key path", async () => {
    await writeFile(join(repo, "hosts", "bad.yaml"), "modules:\n  oops: pilot\n");
    const bad = await psh("setup", [], { dryRun: true }, { env: { PSH_HOST: "bad" } });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /hosts\/bad\.yaml: Expected modules\.oops to be a table, received string/,
    );
  });
});
