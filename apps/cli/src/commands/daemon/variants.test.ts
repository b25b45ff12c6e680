import { strict as assert } from "node:assert";
import { test } from "node:test";
import { daemonVariants } from "@procmgr/unitgen";
import { installVariants } from "./variants.js";

test("the CLI's --variant values are unitgen's daemon variants", () => {
  assert.deepEqual(installVariants, daemonVariants);
});
