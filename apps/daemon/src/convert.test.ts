import * as assert from "node:assert/strict";
import { test } from "node:test";
import { processFields } from "@procmgr/config";
import { specFields } from "./convert.js";

test("the API's spec fields are exactly the fields of processes.yaml", () => {
  assert.deepEqual([...specFields].sort(), [...processFields].sort());
});
