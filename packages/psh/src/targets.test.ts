import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { PshError } from "./errors.js";
import { type HostProfile, parseHostProfileText } from "./host-profile.js";
import type { PsychedRepo } from "./psyched-repo.js";
import { isWildcard, resolveTargets, unitNameFor } from "./targets.js";

const repo: PsychedRepo = {
  root: "/r",
  modules: ["ear", "gps", "pilot", "voice"],
  services: ["asr", "tts", "voice"],
};
const profile: HostProfile = parseHostProfileText(
  `[host]\nmodules = ["pilot", "ear", "gps"]\nservices = ["tts", "asr"]\n[config.mod.gps]\nlaunch = { enabled = false }\n[config.srv.asr]\nup = false\n`,
  "/r/hosts/rover.toml",
);
const units = (ts: readonly { unit: string }[]) => ts.map((t) => t.unit);

describe("resolveTargets", () => {
  it("expands none, * and all to the profile's enabled modules then services", () => {
    const expected = [
      "psh-module-pilot.service",
      "psh-module-ear.service",
      "psh-service-tts.service",
    ];
    for (const targets of [[], ["*"], ["all"]]) {
      assert.deepEqual(units(resolveTargets({ targets, repo, profile })), expected);
    }
    assert.ok(isWildcard(["*", "all"]));
  });

  it("limits the wildcard with --module / --service", () => {
    assert.deepEqual(units(resolveTargets({ targets: [], only: "module", repo, profile })), [
      "psh-module-pilot.service",
      "psh-module-ear.service",
    ]);
    assert.deepEqual(units(resolveTargets({ targets: ["*"], only: "service", repo, profile })), [
      "psh-service-tts.service",
    ]);
  });

  it("means everything discovered without a profile", () => {
    assert.deepEqual(units(resolveTargets({ targets: [], repo, profile: null })), [
      "psh-module-ear.service",
      "psh-module-gps.service",
      "psh-module-pilot.service",
      "psh-module-voice.service",
      "psh-service-asr.service",
      "psh-service-tts.service",
      "psh-service-voice.service",
    ]);
  });

  it("resolves names: disabled ones too, module before service unless --service, no duplicates", () => {
    assert.deepEqual(units(resolveTargets({ targets: ["gps", "asr", "gps"], repo, profile })), [
      "psh-module-gps.service",
      "psh-service-asr.service",
    ]);
    assert.deepEqual(units(resolveTargets({ targets: ["voice"], repo, profile })), [
      "psh-module-voice.service",
    ]);
    assert.deepEqual(
      units(resolveTargets({ targets: ["voice"], only: "service", repo, profile })),
      ["psh-service-voice.service"],
    );
  });

  it("accepts installed units that left the repo (teardown of a deleted module)", () => {
    const installed = { modules: ["old"], services: [] };
    assert.deepEqual(units(resolveTargets({ targets: ["old"], repo, profile, installed })), [
      "psh-module-old.service",
    ]);
  });

  it("rejects unknown names, listing the known modules and services", () => {
    assert.throws(
      () => resolveTargets({ targets: ["pilot", "nope"], repo, profile }),
      (e: unknown) =>
        e instanceof PshError &&
        e.code === "usage" &&
        /unknown module or service: nope/.test(e.message) &&
        /known modules: {2}ear, gps, pilot, voice/.test(e.message) &&
        /known services: asr, tts, voice/.test(e.message),
    );
    assert.throws(
      () => resolveTargets({ targets: ["tts"], only: "module", repo, profile }),
      /unknown module: tts/,
    );
  });

  it("rejects names that cannot be part of a unit name", () => {
    assert.throws(
      () => unitNameFor("module", "a b"),
      (e: unknown) => e instanceof PshError && e.code === "invalid",
    );
    assert.equal(unitNameFor("service", "tts"), "psh-service-tts.service");
  });
});
