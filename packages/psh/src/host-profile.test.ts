import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { PshError } from "./errors.js";
import {
  enabledModules,
  enabledServices,
  loadHostProfile,
  parseHostProfileText,
  resolveHostName,
  stripJsonComments,
} from "./host-profile.js";

const toml = `
[host]
name = "rover1"
modules = ["cockpit", "ear", "gps"]
services = ["tts", "asr"]
ros_domain_id = 42

[host.env]
SHARED = "yes"

[config.mod.ear.env]
EAR_BACKEND = "service"
EAR_GAIN = 3

[config.mod.gps]
launch = { enabled = false }

[config.mod.extra]
env = { ONLY = "configured" }

[config.srv.tts]
up = true
[config.srv.tts.env]
TTS_USE_CUDA = "false"

[config.srv.asr]
up = false
`;

function expectPshError(fn: () => unknown, pattern: RegExp): PshError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (!(error instanceof PshError)) return assert.fail(`expected a PshError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return error;
}

describe("parseHostProfileText", () => {
  it("reads Psyched's [host] and [config.mod/srv] tables from TOML", () => {
    const p = parseHostProfileText(toml, "/r/hosts/rover1.toml");
    assert.equal(p.format, "toml");
    assert.equal(p.name, "rover1");
    assert.equal(p.rosDomainId, "42");
    assert.deepEqual(p.env, { SHARED: "yes" });
    assert.deepEqual(
      p.modules.map((m) => [m.name, m.listed, m.launch]),
      [
        ["cockpit", true, true],
        ["ear", true, true],
        ["gps", true, false],
        ["extra", false, true],
      ],
    );
    assert.deepEqual(p.modules[1]?.env, { EAR_BACKEND: "service", EAR_GAIN: "3" });
    assert.deepEqual(enabledModules(p), ["cockpit", "ear"]);
    assert.deepEqual(enabledServices(p), ["tts"]);
    assert.deepEqual(p.services[0]?.env, { TTS_USE_CUDA: "false" });
  });

  it("reads the same profile from YAML, JSON and JSONC", () => {
    const doc = {
      host: { modules: ["pilot", "ear"], services: ["tts"] },
      config: {
        mod: { ear: { launch: { enabled: false }, env: { A: "1" } } },
        srv: { tts: { up: false } },
      },
    };
    const yamlText = `host:\n  modules: [pilot, ear]\n  services: [tts]\nconfig:\n  mod:\n    ear:\n      launch: {enabled: false}\n      env: {A: "1"}\n  srv:\n    tts:\n      up: false\n`;
    const jsoncText = `// rover profile\n{\n  "host": {"modules": ["pilot", "ear"], "services": ["tts"],}, /* trailing */\n  "config": {"mod": {"ear": {"launch": {"enabled": false}, "env": {"A": "1"}}}, "srv": {"tts": {"up": false}}},\n}\n`;
    for (const [text, file] of [
      [yamlText, "/r/hosts/h.yaml"],
      [yamlText, "/r/hosts/h.yml"],
      [JSON.stringify(doc), "/r/hosts/h.json"],
      [jsoncText, "/r/hosts/h.jsonc"],
    ] as const) {
      const p = parseHostProfileText(text, file);
      assert.equal(p.name, "h", file);
      assert.deepEqual(enabledModules(p), ["pilot"], file);
      assert.deepEqual(enabledServices(p), [], file);
      assert.deepEqual(p.modules[1]?.env, { A: "1" }, file);
    }
  });

  it("accepts the legacy [modules.<name>] / [services.<name>] spellings", () => {
    const p = parseHostProfileText(
      `[modules.pilot]\nenv = { PILOT_PORT = 8080 }\n[modules.nav]\nlaunch = false\n[services.tts]\nup = true\n[services.llm]\nup = false\n`,
      "/r/hosts/old.toml",
    );
    assert.deepEqual(enabledModules(p), ["pilot"]);
    assert.deepEqual(enabledServices(p), ["tts"]);
    assert.deepEqual(p.modules[0]?.env, { PILOT_PORT: "8080" });
  });

  it("names the file and key path of a malformed table", () => {
    const e = expectPshError(
      () => parseHostProfileText(`[modules]\noops = "pilot"\n`, "/r/hosts/bad.toml"),
      /Expected modules\.oops to be a table, received string/,
    );
    assert.equal(e.code, "invalid");
    assert.equal(e.issues[0]?.file, "/r/hosts/bad.toml");
    assert.equal(e.issues[0]?.path, "modules.oops");
    assert.match(e.message, /^\/r\/hosts\/bad\.toml: /);
  });

  it("names nested key paths and every issue", () => {
    const e = expectPshError(
      () =>
        parseHostProfileText(
          `host:\n  modules: pilot\nconfig:\n  mod:\n    ear:\n      env:\n        X: [1, 2]\n`,
          "/r/hosts/bad.yaml",
        ),
      /Expected host\.modules to be an array, received string/,
    );
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ["host.modules", "config.mod.ear.env.X"],
    );
    assert.match(
      e.issues[1]?.message ?? "",
      /Expected config\.mod\.ear\.env\.X to be a string or a number or a boolean, received array/,
    );
  });

  it("reports syntax errors with their position", () => {
    const e = expectPshError(
      () => parseHostProfileText(`[host]\nmodules = [\n`, "/r/hosts/broken.toml"),
      /broken\.toml:\d+:\d+: cannot parse toml/,
    );
    assert.equal(e.code, "parse");
    assert.ok(e.issues[0]?.line !== undefined);
    expectPshError(() => parseHostProfileText(`host: [`, "/r/hosts/b.yaml"), /cannot parse yaml/);
    expectPshError(
      () => parseHostProfileText(`{"host": }`, "/r/hosts/b.json"),
      /cannot parse json/,
    );
  });

  it("rejects unsupported extensions", () => {
    expectPshError(
      () => parseHostProfileText("", "/r/hosts/x.ini"),
      /unsupported host profile extension/,
    );
  });

  it("treats an empty file as an empty profile", () => {
    const p = parseHostProfileText("", "/r/hosts/empty.yaml");
    assert.deepEqual(p.modules, []);
    assert.deepEqual(p.services, []);
  });
});

describe("stripJsonComments", () => {
  it("keeps comment-like text inside strings", () => {
    const text = `{"url": "http://x//y", "q": "a \\" /* b */", // c\n "n": 1,}`;
    assert.deepEqual(JSON.parse(stripJsonComments(text)), {
      url: "http://x//y",
      q: 'a " /* b */',
      n: 1,
    });
  });
});

describe("loadHostProfile", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("tries toml, json, jsonc, yaml, yml in order and falls back to the short host name", async () => {
    const root = await mkdtemp(join(tmpdir(), "host-profile-"));
    dirs.push(root);
    await mkdir(join(root, "hosts"));
    assert.equal(await loadHostProfile(root, "rover"), null);
    await writeFile(join(root, "hosts", "rover.yml"), "host:\n  modules: [a]\n");
    assert.equal((await loadHostProfile(root, "rover"))?.format, "yaml");
    await writeFile(join(root, "hosts", "rover.json"), `{"host": {"modules": ["b"]}}`);
    const p = await loadHostProfile(root, "rover.lan");
    assert.equal(p?.file, join(root, "hosts", "rover.json"));
    assert.deepEqual(p && enabledModules(p), ["b"]);
  });

  it("uses $PSH_HOST before the machine's host name", () => {
    assert.equal(resolveHostName({ PSH_HOST: "rover9" }), "rover9");
    assert.notEqual(resolveHostName({}), "");
  });
});
