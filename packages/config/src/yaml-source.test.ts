import * as assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./errors.js";
import { findDuplicateKeys, locate, parseYaml } from "./yaml-source.js";

const text = [
  "# comment", // 1
  "top:", // 2
  "  map:", // 3
  "    a: 1", // 4
  "    'quoted key': two", // 5
  "    empty:", // 6
  "    next:", // 7
  "      - first", // 8
  "      -   second", // 9
  "      - { k: v, n: [1, 2] }", // 10
  "    later:", // 11
  "", // 12
  "      # comment before the value", // 13
  "      deep: true", // 14
  "base: &b { x: 1 }", // 15
  "merged:", // 16
  "  <<: *b", // 17
  "  y: 2", // 18
  "",
].join("\n");

test("locate finds keys and values of block and flow nodes", () => {
  const { value, root } = parseYaml(text, "f.yaml");
  assert.deepEqual((value as { merged: unknown }).merged, { x: 1, y: 2 });
  const at = (path: (string | number)[], where: "key" | "value" = "value") => {
    const p = locate(root, path, where);
    return p === undefined ? undefined : `${p.line}:${p.column}`;
  };
  assert.equal(at(["top"], "key"), "2:1");
  assert.equal(at(["top", "map"]), "4:5");
  assert.equal(at(["top", "map", "a"]), "4:8");
  assert.equal(at(["top", "map", "a"], "key"), "4:5");
  assert.equal(at(["top", "map", "quoted key"]), "5:19");
  assert.equal(at(["top", "map", "empty"]), "6:5", "a null value is located at its key");
  assert.equal(at(["top", "map", "next", 0]), "8:9");
  assert.equal(at(["top", "map", "next", 1]), "9:11");
  assert.equal(at(["top", "map", "next", 2, "k"]), "10:14");
  assert.equal(at(["top", "map", "next", 2, "n", 1]), "10:24");
  assert.equal(at(["top", "map", "later", "deep"]), "14:13");
  assert.equal(at(["merged", "y"]), "18:6");
  assert.equal(at(["merged", "x"]), "17:3", "merged keys fall back to their mapping");
  assert.equal(
    at(["top", "missing", "deeper"]),
    "3:3",
    "unknown paths fall back to the nearest parent",
  );
});

test("CRLF line endings keep lines right", () => {
  const { root } = parseYaml("a:\r\n  b: 1\r\n  c: 2\r\n", "crlf.yaml");
  assert.deepEqual(locate(root, ["a", "c"]), { line: 3, column: 6 });
});

test("duplicate keys are found at every level, with both positions", () => {
  const { root } = parseYaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "d.yaml");
  assert.deepEqual(
    findDuplicateKeys(root).map((d) => [d.path.join("."), d.firstPos.line, d.pos.line]),
    [
      ["a", 1, 5],
      ["b.c", 3, 4],
    ],
  );
});

test("syntax errors carry file, line and column", () => {
  assert.throws(
    () => parseYaml("a: [1, 2\nb: 3\n", "bad.yaml"),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === "parse" &&
      e.issues[0]?.file === "bad.yaml" &&
      typeof e.issues[0]?.line === "number" &&
      typeof e.issues[0]?.column === "number",
  );
});

// Found by `pnpm fault fuzz-config`: js-yaml's "expected a single document in the stream" has no
// position, so the issue named neither a line nor a path.
test("a second document is a syntax error at the line where it begins", () => {
  for (const [doc, line] of [
    ["processes:\n  a: {command: x}\n---\nprocesses: {}\n", 3],
    ["---\nprocesses: {}\n--- !!map\n", 3],
    ["# c\n%YAML 1.2\n---\n---\n", 4],
    ["processes: {}\n...\n\nmore: 1\n", 4],
  ] as const) {
    try {
      parseYaml(doc, "two.yaml");
      assert.fail("expected a parse error");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues[0]?.line, line, doc);
      assert.match(
        e.message,
        new RegExp(`^two\\.yaml:${line}:1: YAML syntax error: expected a single document`),
      );
    }
  }
});
