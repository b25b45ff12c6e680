// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal "${X}" strings are test data
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { shellJoin, shellQuote } from "./shell-quote.js";

/** The words /bin/sh makes of a command line (printf prints each followed by a NUL). */
function shWords(line: string): string[] {
  const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${line}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

const nasty = [
  "plain",
  "/usr/bin/x",
  "KEY=value",
  "a,b:c@d%e+f.g-h_i",
  "",
  " ",
  "two words",
  "it's",
  "'",
  "''",
  '"double"',
  "$HOME",
  "${X:-y}",
  "`id`",
  "$(id)",
  "back\\slash",
  "new\nline",
  "tab\there",
  "*",
  "?",
  "[a]",
  "~",
  "~user",
  "#comment",
  "a;b",
  "a|b",
  "a&b",
  "a>b",
  "(x)",
  "{a,b}",
  "!",
  "-n",
  "é ü 漢字 🚀",
  "\u0001\u007f",
];

test("shellQuote: safe words as they are, the rest single-quoted", () => {
  assert.equal(shellQuote("/usr/bin/dd-procmgrd"), "/usr/bin/dd-procmgrd");
  assert.equal(shellQuote("cap_setuid,cap_setgid+ep"), "cap_setuid,cap_setgid+ep");
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellJoin(["sh", "-c", "echo 'hi'"]), `sh -c 'echo '\\''hi'\\'''`);
});

test("every word round-trips through /bin/sh, alone and all together", () => {
  for (const word of nasty)
    assert.deepEqual(shWords(shellQuote(word)), [word], JSON.stringify(word));
  assert.deepEqual(shWords(shellJoin(nasty)), nasty);
});
