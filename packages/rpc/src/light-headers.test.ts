import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LightHeaders } from "./light-headers.js";

type AnyHeaders = Headers | LightHeaders;

/** The same operations on the real Headers and on LightHeaders; their visible state must match. */
function both(run: (h: AnyHeaders) => void, init?: Record<string, string> | [string, string][]) {
  const real = new Headers(init);
  const light = new LightHeaders(init);
  run(real);
  run(light);
  assert.deepEqual([...light], [...real]);
  assert.deepEqual([...light.keys()], [...real.keys()]);
  assert.deepEqual([...light.values()], [...real.values()]);
  const seen: [string, string][] = [];
  light.forEach((v, k) => {
    seen.push([k, v]);
  });
  assert.deepEqual(seen, [...real.entries()]);
  return { real, light };
}

describe("LightHeaders behaves like Headers for what connect uses", () => {
  it("init from a record, pairs, and another Headers", () => {
    both(() => {}, { "Content-Type": "application/grpc", TE: "trailers" });
    both(() => {}, [
      ["grpc-status", "0"],
      ["X-A", "1"],
      ["x-a", "2"],
    ]);
    const src = new LightHeaders({ b: "2", a: "1" });
    assert.deepEqual([...new LightHeaders(src)], [...new Headers({ b: "2", a: "1" })]);
    assert.deepEqual([...new LightHeaders(new Headers({ z: "9" }))], [["z", "9"]]);
  });

  it("append joins, set replaces, get/has/delete ignore case, values are trimmed", () => {
    const { real, light } = both((h) => {
      h.append("Grpc-Accept-Encoding", "gzip");
      h.append("grpc-accept-encoding", " br ");
      h.set("User-Agent", "a");
      h.set("user-agent", "b");
      h.append("x-gone", "1");
      h.delete("X-GONE");
    });
    for (const name of ["GRPC-ACCEPT-ENCODING", "user-agent", "x-gone", "missing"]) {
      assert.equal(light.get(name), real.get(name));
      assert.equal(light.has(name), real.has(name));
    }
  });

  it("rejects invalid names and values like Headers does", () => {
    for (const bad of [
      ["bad name", "v"],
      ["ok", "a\nb"],
      ["", "v"],
    ] as const) {
      assert.throws(() => new Headers().append(bad[0], bad[1]), TypeError);
      assert.throws(() => new LightHeaders().append(bad[0], bad[1]), TypeError);
    }
  });
});
