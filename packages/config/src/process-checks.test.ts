import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./errors.js";
import { parseConfigText } from "./load-config.js";
import { nulBytes } from "./process-checks.js";
import { resolveProcessConfig } from "./resolve-process.js";

// Found by `pnpm fault fuzz-config`: a NUL byte in a command, an argument, an env value or a
// path was accepted, and the process then failed at every start with Node's "must be a string
// without null bytes", naming neither the file nor the field.

function rejected(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

test("a NUL byte in any string of a process is an issue at its path and line", () => {
  const text = [
    "processes:",
    "  web:",
    '    command: "/bin/tr\\0ue"',
    '    args: [ok, "a\\0b"]',
    '    env: {A: "x\\0y"}',
    '    working_dir: "/tm\\0p"',
    "    health_check:",
    "      type: exec",
    '      command: "/bin/\\0true"',
    "",
  ].join("\n");
  const e = rejected(() => parseConfigText(text, "p.yaml"));
  assert.deepEqual(
    e.issues.map((i) => [i.path, i.line]),
    [
      ["processes.web.command", 3],
      ["processes.web.args[1]", 4],
      ["processes.web.env.A", 5],
      ["processes.web.working_dir", 6],
      ["processes.web.health_check.command", 9],
    ],
  );
  assert.match(e.message, /^p\.yaml:3:14: processes\.web\.command: contains a NUL byte/);
  assert.match(e.message, /received "\/bin\/tr\\u0000ue"/);
});

test("a spec from the API is held to the same rule", () => {
  const e = rejected(() =>
    resolveProcessConfig("api", { command: "/bin/true", exec_start_pre: ["/bin/echo \u0000"] }),
  );
  assert.equal(e.issues[0]?.path, "processes.api.exec_start_pre[0]");
});

test("nulBytes walks each shared node once (an alias bomb costs its distinct nodes)", () => {
  let level: unknown = ["lol", "l\u0000l"];
  for (let i = 0; i < 30; i++) level = [level, level, level, level];
  const found = nulBytes(level, ["args"]);
  assert.equal(found.length, 1);
  assert.equal(found[0]?.text, "l\u0000l");
  assert.equal(found[0]?.path.length, 32);
  assert.deepEqual(nulBytes({ "K\u0000": "v", ok: ["a"] }, []), [
    { path: ["K\u0000"], text: "K\u0000" },
  ]);
});
