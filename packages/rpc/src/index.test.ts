import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as rpc from "./index.js";

test("the index lists every generated value (no export *: names are explicit)", () => {
  const gen = readFileSync(
    new URL("../src/gen/procmgr/v1/process_manager_pb.ts", import.meta.url),
    "utf8",
  );
  const generated = [...gen.matchAll(/^export (?:const|enum) (\w+)/gm)].map((m) => m[1] ?? "");
  const missing = generated.filter((name) => !(name in rpc));
  assert.deepEqual(missing, [], "add these to packages/rpc/src/index.ts");
});
