import * as assert from "node:assert/strict";
import { test } from "node:test";
import { runCommand } from "./run-command.js";

const env = { PATH: "/usr/bin:/bin" };

test("captures the exit code and both outputs, feeds stdin", async () => {
  const r = await runCommand(["sh", "-c", "cat; echo err >&2; exit 3"], { env, input: "in\n" });
  assert.deepEqual(r, { code: 3, stdout: "in\n", stderr: "err\n" });
});

test("a missing executable is 127, an empty argv too, a signal 128", async () => {
  assert.equal((await runCommand(["/nonexistent/x"], { env })).code, 127);
  assert.equal((await runCommand([], { env })).code, 127);
  assert.equal((await runCommand(["sh", "-c", "kill -TERM $$"], { env })).code, 128);
});
