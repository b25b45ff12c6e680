import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseHostProfileText } from "./host-profile.js";
import type { InstallUser } from "./install-user.js";
import type { ModuleManifest, ServiceManifest } from "./psyched-repo.js";
import {
  launchWrapper,
  moduleEnvironment,
  moduleUnitSpec,
  renderModuleUnit,
  renderServiceUnit,
  type UnitContext,
} from "./units.js";

const fixtures = new URL("../test/fixtures/", import.meta.url);

/** Compare with a golden file; `UPDATE_GOLDEN=1` rewrites it. */
async function golden(name: string, actual: string): Promise<void> {
  const path = fileURLToPath(new URL(name, fixtures));
  if (process.env.UPDATE_GOLDEN === "1") await writeFile(path, actual);
  assert.equal(
    actual,
    await readFile(path, "utf8"),
    `golden file ${path} (UPDATE_GOLDEN=1 to rewrite)`,
  );
}

const root = "/home/pilot/psyched";
const pilot: InstallUser = {
  user: "pilot",
  uid: 1001,
  group: "robots",
  gid: 2001,
  home: "/home/pilot",
};
const profile = parseHostProfileText(
  `[host]
name = "rover1"
modules = ["pilot"]
services = ["tts"]
ros_domain_id = 7

[host.env]
SHARED = "from host"

[config.mod.pilot.env]
PILOT_GREETING = "hello \\"world\\" 100% $HOME \\\\ done"
A_FIRST = "1"
SHARED = "module wins"

[config.srv.tts.env]
TTS_USE_CUDA = "false"
VOICE = "en us"
`,
  `${root}/hosts/rover1.toml`,
);
const ctx: UnitContext = {
  repoRoot: root,
  host: "rover1",
  user: pilot,
  profile,
  env: { ROS_DOMAIN_ID: "99" },
};

const pilotModule: ModuleManifest = {
  name: "pilot",
  dir: `${root}/modules/pilot`,
  file: `${root}/modules/pilot/module.toml`,
  launch: `${root}/modules/pilot/launch_unit.sh`,
  shutdown: `${root}/modules/pilot/shutdown unit.sh`,
};
const ttsService: ServiceManifest = {
  name: "tts",
  dir: `${root}/services/tts`,
  file: `${root}/services/tts/service.toml`,
  compose: `${root}/services/tts/docker-compose.yml`,
  project: "psyched-tts",
  env: { VOICE: "manifest", TTS_MODEL: "small" },
};

describe("module unit", () => {
  it("matches the golden file", async () => {
    await golden("psh-module-pilot.service", renderModuleUnit(pilotModule, ctx));
  });

  it("runs as the install user and primary group, in the module dir, restarting on failure", () => {
    const spec = moduleUnitSpec(pilotModule, ctx);
    assert.equal(spec.service.user, "pilot");
    assert.equal(spec.service.group, "robots");
    assert.equal(spec.service.workingDirectory, `${root}/modules/pilot`);
    assert.deepEqual(spec.service.execStart, [
      "/bin/bash",
      "-lc",
      launchWrapper,
      pilotModule.launch,
    ]);
    assert.equal(spec.service.restart, "on-failure");
    assert.equal(spec.service.restartSec, 2);
    assert.deepEqual(spec.after, ["network-online.target"]);
    assert.deepEqual(spec.wants, ["network-online.target"]);
  });

  it("sorts the environment: repo root, host, ROS domain (profile first), host env, module env", () => {
    const env = moduleEnvironment("pilot", ctx);
    assert.deepEqual(Object.keys(env), [...Object.keys(env)].sort());
    assert.equal(env.PSYCHED_REPO_ROOT, root);
    assert.equal(env.ROS_DOMAIN_ID, "7");
    assert.equal(env.SHARED, "module wins");
    const noProfile = moduleEnvironment("pilot", { ...ctx, profile: null });
    assert.deepEqual(noProfile, {
      PSH_HOST: "rover1",
      PSYCHED_REPO_ROOT: root,
      ROS_DOMAIN_ID: "99",
    });
  });
});

describe("service unit", () => {
  it("matches the golden file", async () => {
    await golden("psh-service-tts.service", renderServiceUnit(ttsService, ctx, "/usr/bin/docker"));
  });
});

describe("systemd-analyze verify", () => {
  it("accepts both units without a warning", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "psh-verify-"));
    try {
      // docker.service is a dependency of the service unit: a stand-in so verify can load it.
      await writeFile(
        join(dir, "docker.service"),
        "[Unit]\nDescription=stand-in\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
      );
      await writeFile(join(dir, "psh-module-pilot.service"), renderModuleUnit(pilotModule, ctx));
      await writeFile(
        join(dir, "psh-service-tts.service"),
        renderServiceUnit(ttsService, ctx, "/usr/bin/env"),
      );
      const result = await new Promise<{ code: number; output: string } | null>((resolve) => {
        execFile(
          "systemd-analyze",
          ["verify", join(dir, "psh-module-pilot.service"), join(dir, "psh-service-tts.service")],
          { cwd: dir, timeout: 60_000 },
          (error, stdout, stderr) => {
            if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT") resolve(null);
            else
              resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
          },
        );
      });
      if (result === null) {
        t.skip("systemd-analyze is not installed");
        return;
      }
      assert.equal(result.output, "");
      assert.equal(result.code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
