import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bindsTo,
  conflict,
  type DependencyFields,
  dependencies,
  StartOrder,
  startsBefore,
} from "./dependency-graph.js";

function p(name: string, fields: Partial<DependencyFields> = {}): DependencyFields {
  return {
    name,
    after: [],
    before: [],
    requires: [],
    wants: [],
    bindsTo: [],
    conflicts: [],
    ...fields,
  };
}

/** Runs a StartOrder to the end, finishing everything ready in one step: the steps. */
function steps(order: StartOrder): string[][] {
  const out: string[][] = [];
  for (let ready = order.ready(); ready.length > 0; ready = order.ready()) {
    out.push(ready);
    for (const name of ready) order.finish(name);
  }
  return out;
}

describe("dependency graph", () => {
  it("after and before both order a start; conflicts and binds_to as written", () => {
    const db = p("db");
    const web = p("web", { after: ["db"], bindsTo: ["db"] });
    const worker = p("worker", { before: ["db"], conflicts: ["maint"] });
    const maint = p("maint");
    assert.equal(startsBefore(db, web), true);
    assert.equal(startsBefore(web, db), false);
    assert.equal(startsBefore(worker, db), true);
    assert.equal(startsBefore(db, worker), false);
    assert.equal(conflict(worker, maint), true);
    assert.equal(conflict(maint, worker), true);
    assert.equal(conflict(web, maint), false);
    assert.equal(bindsTo(web, "db"), true);
    assert.equal(bindsTo(db, "web"), false);
  });

  it("a manual start pulls in requires, then wants; a name in both is required", () => {
    assert.deepEqual(dependencies(p("web", { requires: ["db", "auth"], wants: ["cache", "db"] })), [
      { name: "db", required: true },
      { name: "auth", required: true },
      { name: "cache", required: false },
      { name: "db", required: true },
    ]);
    assert.deepEqual(dependencies(p("lone")), []);
  });

  it("a set starts in after/before order, independent members at once", () => {
    const order = new StartOrder([
      p("web", { after: ["db"] }),
      p("db"),
      p("worker", { before: ["db"] }),
      p("manual"),
    ]);
    assert.deepEqual(order.before("web"), ["db"]);
    assert.deepEqual(order.before("db"), ["worker"]);
    assert.deepEqual(order.before("manual"), []);
    assert.equal(order.done, false);
    assert.deepEqual(steps(order), [["worker", "manual"], ["db"], ["web"]]);
    assert.equal(order.done, true);
  });

  it("what may start now: a member waits for all its predecessors, and is answered once", () => {
    const order = new StartOrder([p("app", { after: ["db", "cache"] }), p("db"), p("cache")]);
    assert.deepEqual(order.ready(), ["db", "cache"]);
    assert.deepEqual(order.ready(), []);
    order.finish("db");
    assert.deepEqual(order.ready(), []);
    order.finish("cache");
    assert.deepEqual(order.ready(), ["app"]);
    assert.equal(order.done, false);
    order.finish("app");
    assert.equal(order.done, true);
  });

  it("names outside the set are ignored", () => {
    const order = new StartOrder([
      p("web", { after: ["db"] }),
      p("api", { before: ["elsewhere"] }),
    ]);
    assert.deepEqual(steps(order), [["web", "api"]]);
  });

  it("a cycle is broken where the walk meets it (in the order given)", () => {
    assert.deepEqual(steps(new StartOrder([p("a", { after: ["b"] }), p("b", { after: ["a"] })])), [
      ["b"],
      ["a"],
    ]);
    assert.deepEqual(steps(new StartOrder([p("b", { after: ["a"] }), p("a", { after: ["b"] })])), [
      ["a"],
      ["b"],
    ]);
    const three = new StartOrder([
      p("x", { after: ["z"] }),
      p("y", { after: ["x"] }),
      p("z", { after: ["y"] }),
    ]);
    assert.deepEqual(steps(three), [["y"], ["z"], ["x"]]);
  });

  it("an empty set is done at once", () => {
    const order = new StartOrder([]);
    assert.equal(order.done, true);
    assert.deepEqual(order.ready(), []);
  });
});
