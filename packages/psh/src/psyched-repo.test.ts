import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PshError } from "./errors.js";
import {
  discoverPsychedRepo,
  findPsychedRepoRoot,
  loadModuleManifest,
  loadServiceManifest,
} from "./psyched-repo.js";

let root = "";

before(async () => {
  root = await mkdtemp(join(tmpdir(), "psyched-repo-"));
  const files: Record<string, string> = {
    "modules/pilot/module.toml": `[unit.pilot]\nlaunch = "modules/pilot/launch_unit.sh"\nshutdown = "stop.sh"\n`,
    "modules/pilot/launch_unit.sh": "#!/bin/sh\n",
    "modules/pilot/stop.sh": "#!/bin/sh\n",
    "modules/ear/launch_unit.sh": "#!/bin/sh\n",
    "modules/broken/module.toml": `[unit.broken]\nlaunch = "nowhere.sh"\n`,
    "modules/bad/module.toml": `[unit]\nbad = 3\n`,
    "services/tts/service.toml": `[service.tts]\ncompose = "compose.yaml"\nenv = { VOICE = "en" }\n`,
    "services/tts/compose.yaml": "services: {}\n",
    "services/asr/docker-compose.yml": "services: {}\n",
    "services/asr/service.toml": `[service.asr]\nproject = "speech"\n`,
    "services/empty/README": "",
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(root, rel, ".."), { recursive: true });
    await writeFile(join(root, rel), text);
  }
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("findPsychedRepoRoot", () => {
  it("prefers $PSYCHED_REPO_ROOT, else walks up to a directory with modules/", async () => {
    assert.equal(await findPsychedRepoRoot({ PSYCHED_REPO_ROOT: root }, "/"), root);
    assert.equal(await findPsychedRepoRoot({}, join(root, "modules", "pilot")), root);
    await assert.rejects(
      findPsychedRepoRoot({}, tmpdir()),
      (e: unknown) => e instanceof PshError && e.code === "not-found",
    );
    await assert.rejects(
      findPsychedRepoRoot({ PSYCHED_REPO_ROOT: join(root, "nope") }, "/"),
      /PSYCHED_REPO_ROOT=.* is not a directory/,
    );
  });
});

describe("discoverPsychedRepo", () => {
  it("lists module and service directories", async () => {
    const repo = await discoverPsychedRepo(root);
    assert.deepEqual(repo.modules, ["bad", "broken", "ear", "pilot"]);
    assert.deepEqual(repo.services, ["asr", "empty", "tts"]);
  });
});

describe("loadModuleManifest", () => {
  it("resolves scripts as given, then from the module dir, then from the repo root", async () => {
    const prev = process.cwd();
    process.chdir(tmpdir());
    try {
      const m = await loadModuleManifest(root, "pilot");
      assert.equal(m.dir, join(root, "modules", "pilot"));
      assert.equal(m.launch, join(root, "modules", "pilot", "launch_unit.sh"));
      assert.equal(m.shutdown, join(root, "modules", "pilot", "stop.sh"));
    } finally {
      process.chdir(prev);
    }
  });

  it("falls back to launch_unit.sh without module.toml", async () => {
    const m = await loadModuleManifest(root, "ear");
    assert.equal(m.file, null);
    assert.equal(m.launch, join(root, "modules", "ear", "launch_unit.sh"));
    assert.equal(m.shutdown, undefined);
  });

  it("names the file and key of a missing script or malformed table", async () => {
    await assert.rejects(
      loadModuleManifest(root, "broken"),
      /module\.toml: unit\.broken\.launch: script "nowhere\.sh" not found/,
    );
    await assert.rejects(loadModuleManifest(root, "bad"), /module\.toml: unit\.bad: /);
    await assert.rejects(
      loadModuleManifest(root, "ghost"),
      (e: unknown) => e instanceof PshError && e.code === "not-found",
    );
  });
});

describe("loadServiceManifest", () => {
  it("reads compose, project (default psyched-<name>) and env", async () => {
    const tts = await loadServiceManifest(root, "tts");
    assert.equal(tts.compose, join(root, "services", "tts", "compose.yaml"));
    assert.equal(tts.project, "psyched-tts");
    assert.deepEqual(tts.env, { VOICE: "en" });
    const asr = await loadServiceManifest(root, "asr");
    assert.equal(asr.compose, join(root, "services", "asr", "docker-compose.yml"));
    assert.equal(asr.project, "speech");
    await assert.rejects(loadServiceManifest(root, "empty"), /no compose file/);
  });
});
