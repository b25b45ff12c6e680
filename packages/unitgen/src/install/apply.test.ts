import * as assert from "node:assert/strict";
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UnitError } from "../errors.js";
import { applySteps, sameCaps } from "./apply.js";
import type { Step } from "./plan.js";

describe("applySteps (file steps, real files)", () => {
  let dir: string;
  let steps: Step[];
  const lines: string[] = [];
  const opts = (dryRun = false) => ({
    sudo: false,
    dryRun,
    env: process.env,
    report: (l: string) => lines.push(l),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "daemon-apply-"));
    await writeFile(join(dir, "src-bin"), "#!/bin/sh\necho hi\n");
    steps = [
      { kind: "dir", path: join(dir, "bin"), mode: 0o750 },
      {
        kind: "install",
        source: join(dir, "src-bin"),
        path: join(dir, "bin", "tool"),
        mode: 0o755,
        service: true,
      },
      { kind: "symlink", path: join(dir, "bin", "alias"), target: "tool" },
      {
        kind: "file",
        path: join(dir, "unit"),
        content: "[Unit]\n",
        mode: 0o644,
        ifMissing: false,
        service: true,
        unit: true,
      },
      {
        kind: "file",
        path: join(dir, "config"),
        content: "default\n",
        mode: 0o600,
        ifMissing: true,
        service: false,
        unit: false,
      },
    ];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("--dry-run prints every step and changes nothing", async () => {
    const results = await applySteps(steps, opts(true));
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(steps.length).fill("planned"),
    );
    assert.match(lines.join("\n"), /\+ install -m 0755 .*src-bin .*bin\/tool/);
    assert.match(lines.join("\n"), /\| \[Unit\]/);
    await assert.rejects(stat(join(dir, "bin")));
  });

  it("first run changes everything, with the right modes", async () => {
    const results = await applySteps(steps, opts());
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(steps.length).fill("changed"),
    );
    assert.equal((await stat(join(dir, "bin"))).mode & 0o7777, 0o750);
    assert.equal((await stat(join(dir, "bin", "tool"))).mode & 0o7777, 0o755);
    assert.equal(await readlink(join(dir, "bin", "alias")), "tool");
    assert.equal(await readFile(join(dir, "config"), "utf8"), "default\n");
    assert.equal((await stat(join(dir, "config"))).mode & 0o7777, 0o600);
  });

  it("a second run changes nothing", async () => {
    const results = await applySteps(steps, opts());
    assert.deepEqual(
      results.map((r) => r.outcome),
      Array(steps.length).fill("unchanged"),
    );
  });

  it("fixes what drifted, keeps an edited config", async () => {
    await writeFile(join(dir, "unit"), "edited\n");
    await writeFile(join(dir, "config"), "mine\n", { mode: 0o644 });
    const { chmod } = await import("node:fs/promises");
    await chmod(join(dir, "config"), 0o644);
    const results = await applySteps(steps, opts());
    assert.deepEqual(
      results.map((r) => r.outcome),
      ["unchanged", "unchanged", "unchanged", "changed", "changed"],
    );
    assert.equal(await readFile(join(dir, "unit"), "utf8"), "[Unit]\n");
    assert.equal(await readFile(join(dir, "config"), "utf8"), "mine\n");
    assert.equal((await stat(join(dir, "config"))).mode & 0o7777, 0o600);
  });

  it("remove steps remove, then report unchanged", async () => {
    const rmSteps: Step[] = [
      { kind: "remove", path: join(dir, "bin", "alias"), recursive: false },
      { kind: "remove", path: join(dir, "bin"), recursive: true },
    ];
    assert.deepEqual(
      (await applySteps(rmSteps, opts())).map((r) => r.outcome),
      ["changed", "changed"],
    );
    assert.deepEqual(
      (await applySteps(rmSteps, opts())).map((r) => r.outcome),
      ["unchanged", "unchanged"],
    );
  });

  it("a failing step names its command and stderr", async () => {
    const bad: Step[] = [{ kind: "dir", path: join(dir, "config", "sub"), mode: 0o755 }];
    await assert.rejects(applySteps(bad, opts()), (e: unknown) => {
      assert.ok(e instanceof UnitError);
      assert.equal(e.code, "step-failed");
      assert.match(e.message, /step failed: install -d -m 0755 .*config\/sub\n.*Not a directory/s);
      return true;
    });
  });
});

describe("sameCaps", () => {
  it("reads both getcap output formats, order-insensitive", () => {
    assert.ok(
      sameCaps("/usr/bin/dd-procmgrd cap_setgid,cap_setuid=ep\n", "cap_setuid,cap_setgid+ep"),
    );
    assert.ok(
      sameCaps("/usr/bin/dd-procmgrd = cap_setgid,cap_setuid+ep\n", "cap_setuid,cap_setgid+ep"),
    );
    assert.ok(
      !sameCaps(
        "/usr/bin/dd-procmgrd cap_setgid,cap_setuid=ep\n",
        "cap_setuid,cap_setgid,cap_kill+ep",
      ),
    );
    assert.ok(!sameCaps("", "cap_setuid+ep"));
  });
});
