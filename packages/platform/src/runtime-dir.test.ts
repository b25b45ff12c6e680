import * as assert from "node:assert/strict";
import { test } from "node:test";
import {
  daemonRuntimeDir,
  runtimeDirectoryBase,
  systemRuntimeDir,
  userRuntimeDir,
} from "./runtime-dir.js";

test("root: /run for processes, /run/dd-procmgrd for the daemon, whatever XDG says", () => {
  const env = { XDG_RUNTIME_DIR: "/run/user/0" };
  assert.equal(runtimeDirectoryBase(env, 0), "/run");
  assert.equal(daemonRuntimeDir(env, 0), "/run/dd-procmgrd");
  assert.equal(systemRuntimeDir, "/run/dd-procmgrd");
});

test("a user: an absolute $XDG_RUNTIME_DIR, else /tmp/dd-procmgrd-<uid>", () => {
  const env = { XDG_RUNTIME_DIR: "/run/user/1000" };
  for (const f of [userRuntimeDir, daemonRuntimeDir, runtimeDirectoryBase]) {
    assert.equal(f(env, 1000), "/run/user/1000");
    assert.equal(f({}, 1000), "/tmp/dd-procmgrd-1000");
    assert.equal(f({ XDG_RUNTIME_DIR: "" }, 1000), "/tmp/dd-procmgrd-1000");
    assert.equal(f({ XDG_RUNTIME_DIR: "run/user" }, 1000), "/tmp/dd-procmgrd-1000");
  }
});
