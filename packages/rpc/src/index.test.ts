import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as standard from "./grpc-standard.js";
import * as rpc from "./index.js";

test("the index and grpc-standard list every generated value (no export *: names are explicit)", () => {
  // grpc/reflection/v1alpha is left out: v1's messages under another name, of which
  // grpc-standard exports only the service, the file and the two stream messages (aliased).
  const modules: [string, Record<string, unknown>, string][] = [
    ["procmgr/v1/process_manager_pb.ts", rpc, "index.ts"],
    ["grpc/health/v1/health_pb.ts", standard, "grpc-standard.ts"],
    ["grpc/reflection/v1/reflection_pb.ts", standard, "grpc-standard.ts"],
  ];
  const missing = modules.flatMap(([f, exported, index]) => {
    const gen = readFileSync(new URL(`../src/gen/${f}`, import.meta.url), "utf8");
    const generated = [...gen.matchAll(/^export (?:const|enum) (\w+)/gm)].map((m) => m[1] ?? "");
    return generated.filter((name) => !(name in exported)).map((name) => `${index}: ${name}`);
  });
  assert.deepEqual(missing, [], "add these to packages/rpc/src/");
});
