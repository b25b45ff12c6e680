import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./errors.js";
import { splitCommand, splitCommandWords } from "./split-command.js";

test("splits on blanks, honours single and double quotes and backslashes", () => {
  assert.deepEqual(splitCommand("gunicorn app:app"), ["gunicorn", "app:app"]);
  assert.deepEqual(splitCommand("  a \t b\n c  "), ["a", "b", "c"]);
  assert.deepEqual(splitCommand("bash -c 'whoami; id -u'"), ["bash", "-c", "whoami; id -u"]);
  assert.deepEqual(splitCommand('echo "a b" c'), ["echo", "a b", "c"]);
  assert.deepEqual(splitCommand('echo "say \\"hi\\"" \\$HOME'), ["echo", 'say "hi"', "$HOME"]);
  assert.deepEqual(splitCommand("echo 'it'\\''s'"), ["echo", "it's"]);
  assert.deepEqual(splitCommand("x \"\" ''"), ["x", "", ""]);
  assert.deepEqual(splitCommand("a\\ b c"), ["a b", "c"]);
  assert.deepEqual(splitCommand('"a\\nb"'), ["a\\nb"], "backslash before n stays in double quotes");
  assert.deepEqual(splitCommand("a \\\n b"), ["a", "b"], "backslash-newline joins lines");
  assert.deepEqual(splitCommand("pre'mid'\"post\""), ["premidpost"]);
});

test("no expansion and no globbing", () => {
  const braces = ["$", "{X}"].join("");
  assert.deepEqual(splitCommand(`echo $HOME *.txt ~ ${braces}`), [
    "echo",
    "$HOME",
    "*.txt",
    "~",
    braces,
  ]);
});

test("empty input gives no words", () => {
  assert.deepEqual(splitCommand(""), []);
  assert.deepEqual(splitCommand("   "), []);
});

test("unterminated quotes and a trailing backslash are ConfigErrors", () => {
  for (const bad of ["echo 'abc", 'echo "abc', "echo abc\\"]) {
    assert.throws(
      () => splitCommand(bad),
      (e: unknown) => e instanceof ConfigError && e.code === "invalid",
    );
  }
  assert.throws(() => splitCommand('say "hi'), /unterminated double quote at offset 4/);
});

test("words remember whether they were quoted", () => {
  assert.deepEqual(splitCommandWords("a '|' | \\>"), [
    { value: "a", quoted: false },
    { value: "|", quoted: true },
    { value: "|", quoted: false },
    { value: ">", quoted: true },
  ]);
});
