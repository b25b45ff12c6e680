import * as assert from "node:assert/strict";
import { test } from "node:test";
import { secondDocumentLine } from "./yaml-documents.js";

test("secondDocumentLine: where a second YAML document begins", () => {
  for (const [doc, line] of [
    ["processes:\n  a: {command: x}\n---\nprocesses: {}\n", 3],
    ["---\nprocesses: {}\n--- !!map\n", 3],
    ["# c\n%YAML 1.2\n---\n---\n", 4],
    ["a: 1\r\n...\r\n\r\nmore: 1\r\n", 4],
    ["a: 1\n...\n---\nb: 2\n", 3],
    // Found by pnpm fault fuzz-config: an end marker before any content, and two in a row.
    ["...\nprocesses: {}\n", 2],
    ["...\n---\na: 1\n", 2],
    ["a: 1\n...\n...\n", 3],
  ] as const) {
    assert.equal(secondDocumentLine(doc), line, doc);
  }
  for (const one of ["a: 1\n# ---\n  ---\n", "---\na: 1\n...\n", "", "a: |\n  ---\n", "...\n"]) {
    assert.equal(secondDocumentLine(one), undefined, one);
  }
});
