import * as assert from "node:assert/strict";
import { test } from "node:test";
import { formatBytes } from "./size.js";

test("formatBytes: bytes as is, then one decimal in binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(64 * 1024 * 1024), "64.0 MiB");
  assert.equal(formatBytes(3 * 1024 ** 4), "3.0 TiB");
  assert.equal(formatBytes(-1), "-");
  assert.equal(formatBytes(Number.NaN), "-");
});
