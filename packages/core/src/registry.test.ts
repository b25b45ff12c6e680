import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testConfig } from "./harness.js";
import { Registry } from "./registry.js";

describe("registry", () => {
  it("defines, finds by id or name, refuses duplicates and invalid configs, removes", () => {
    const r = new Registry();
    const web = r.define(testConfig("web", ["sleep", "1"]), "api", undefined);
    assert.match(web.id, /^[0-9a-f-]{36}$/);
    assert.equal(web.state, "created");
    const db = r.define(testConfig("db", ["sleep", "1"]), "config", "fixed-id");
    assert.equal(r.find("fixed-id"), db);
    assert.equal(r.find("web"), web);
    assert.equal(r.size, 2);
    assert.deepEqual(
      [...r.values()].map((m) => m.name),
      ["web", "db"],
    );
    assert.throws(() => r.define(testConfig("web", ["true"]), "api", undefined), {
      code: "already-exists",
    });
    assert.throws(() => r.define(testConfig("other", ["true"]), "api", "fixed-id"), {
      code: "already-exists",
    });
    assert.throws(() => r.define(testConfig("bad name", ["true"]), "api", undefined), {
      code: "invalid-argument",
    });
    assert.throws(() => r.define(testConfig("empty", []), "api", undefined), {
      code: "invalid-argument",
    });
    r.remove(web);
    assert.equal(web.deleted, true);
    assert.throws(() => r.find("web"), { code: "not-found" });
    assert.equal(r.getById(web.id), undefined);
    assert.equal(r.size, 1);
  });

  it("plans an apply: config processes diffed by name and content, API ones untouched", () => {
    const r = new Registry();
    r.define(testConfig("same", ["sleep", "1"]), "config", undefined);
    r.define(testConfig("edited", ["sleep", "1"]), "config", undefined);
    r.define(testConfig("dropped", ["sleep", "1"]), "config", undefined);
    r.define(testConfig("mine", ["sleep", "1"]), "api", undefined);
    const plan = r.plan([
      testConfig("new", ["sleep", "1"]),
      testConfig("edited", ["sleep", "2"]),
      testConfig("same", ["sleep", "1"]),
      testConfig("mine", ["sleep", "3"]),
    ]);
    assert.deepEqual(plan.diff, {
      added: ["new"],
      removed: ["dropped"],
      changed: ["edited"],
      unchanged: ["same"],
    });
    assert.deepEqual(plan.shadowed, ["mine"]);
    assert.deepEqual([...plan.wanted.keys()], ["new", "edited", "same", "mine"]);
    assert.throws(() => r.plan([testConfig("x", ["true"]), testConfig("x", ["true"])]), {
      code: "invalid-argument",
      message: 'duplicate process name "x"',
    });
    assert.equal(r.size, 4);
  });
});
