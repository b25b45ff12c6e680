import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { basePath, buildEnvironment, parseEnvironmentFile } from "./environment.js";
import { SupervisorError } from "./errors.js";
import { tempDir } from "./harness.js";

const who = {
  user: "app",
  uid: 1000,
  gid: 1000,
  groups: [1000],
  home: "/home/app",
  shell: "/bin/bash",
};

describe("parseEnvironmentFile", () => {
  it("reads KEY=VALUE, comments, quotes and export prefixes", () => {
    const env = parseEnvironmentFile(
      [
        "# a comment",
        "",
        "A=1",
        "export B=two words",
        'C="quoted \\"value\\""',
        "D='single # not a comment'",
        "  E = spaced ",
        "not a pair",
        "F=",
      ].join("\n"),
    );
    assert.deepEqual(env, {
      A: "1",
      B: "two words",
      C: 'quoted "value"',
      D: "single # not a comment",
      E: "spaced",
      F: "",
    });
  });
});

describe("parseEnvironmentFile: what no environment can carry (found by pnpm fault fuzz-config)", () => {
  it("names the line of a NUL byte in a value or a name", () => {
    assert.throws(
      () => parseEnvironmentFile("A=1\nB=x\u0000y\n"),
      (e: unknown) =>
        e instanceof SupervisorError &&
        e.code === "invalid-argument" &&
        /^line 2: a NUL byte in the value of B/.test(e.message),
    );
    assert.throws(
      () => parseEnvironmentFile("# c\r\n\r\nA\u0000B=1"),
      /: line 3: a NUL byte in a name/,
    );
  });

  it("a start with such a file fails naming the file and the line", () => {
    const file = join(tempDir("procmgr-env-"), "nul.env");
    writeFileSync(file, "OK=1\nBAD='a\u0000b'\n");
    assert.throws(
      () => buildEnvironment(who, { path: file, optional: true }, {}, {}),
      new RegExp(`: environment_file ${file}: line 2: a NUL byte in the value of BAD`),
    );
  });
});

describe("buildEnvironment", () => {
  it("starts from a clean base, then the env file, then env", () => {
    const dir = tempDir("procmgr-env-");
    const file = join(dir, "app.env");
    writeFileSync(file, "FROM_FILE=1\nOVERRIDE=file\nPATH=/opt/bin\n");
    const env = buildEnvironment(who, { path: file, optional: false }, { OVERRIDE: "env" }, {});
    assert.equal(env.HOME, "/home/app");
    assert.equal(env.USER, "app");
    assert.equal(env.LOGNAME, "app");
    assert.equal(env.SHELL, "/bin/bash");
    assert.equal(env.FROM_FILE, "1");
    assert.equal(env.OVERRIDE, "env");
    assert.equal(env.PATH, "/opt/bin");
    assert.equal(Object.hasOwn(env, "NODE_OPTIONS"), false);
  });

  it("uses the fixed PATH and nothing of the daemon's environment but LANG", () => {
    process.env.PM_CORE_TEST_LEAK = "1";
    const env = buildEnvironment(who, undefined, {}, {});
    assert.equal(env.PATH, basePath);
    assert.equal(env.PM_CORE_TEST_LEAK, undefined);
    delete process.env.PM_CORE_TEST_LEAK;
  });

  it("an optional missing file is fine, a required one is an error", () => {
    const missing = { path: "/nonexistent/pm.env", optional: true };
    assert.doesNotThrow(() => buildEnvironment(who, missing, {}, {}));
    assert.throws(
      () => buildEnvironment(who, { ...missing, optional: false }, {}, {}),
      /environment_file \/nonexistent\/pm.env/,
    );
  });
});
