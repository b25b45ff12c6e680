import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { PshError } from "./errors.js";
import { parseHostProfileText } from "./host-profile.js";
import { jsonErrorOffset, lineColumn } from "./json-position.js";

// Found by `pnpm fault fuzz-config`: a JSON or JSONC host profile's syntax error had no line
// (V8 gives "at position N" for some errors only, and the profile's issue had none).

describe("jsonErrorOffset", () => {
  it("points at the first character JSON.parse cannot take", () => {
    for (const [text, at] of [
      ['{"a": 1,}', 8],
      ['{"a" 1}', 5],
      ["[1, 2", 5],
      ["", 0],
      ["\ufeff{}", 0],
      ['{"a": tru}', 6],
      ['{"a": "x\ny"}', 8],
      ['{"a": "\\q"}', 7],
      ["[01]", 2],
      ["[-]", 1],
      ["{} x", 3],
      ['{"a": 1 "b": 2}', 8],
      ["[1.]", 2],
    ] as const) {
      assert.equal(jsonErrorOffset(text), at, JSON.stringify(text));
    }
  });

  it("agrees with JSON.parse on what is valid (mutations of a profile)", () => {
    const doc =
      '{"host": {"name": "r\\u00e9", "modules": ["a", "b"], "id": -1.5e+3}, "x": [true, false, null, {}, []]}';
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 2000; n++) {
      const at = next() % (doc.length + 1);
      const text =
        doc.slice(0, at) + '{}[],:"\\ 1e-x'.charAt(next() % 14) + doc.slice(at + (next() % 2));
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      assert.equal(jsonErrorOffset(text) === undefined, valid, text);
    }
    assert.equal(jsonErrorOffset(`${"[".repeat(100_000)}${"]".repeat(100_000)}`), undefined);
  });

  it("lineColumn is 1-based", () => {
    assert.deepEqual(lineColumn("ab\ncd", 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn("ab", 0), { line: 1, column: 1 });
  });
});

describe("a YAML host profile with two documents (found by pnpm fault fuzz-config)", () => {
  it("names the line where the second begins", () => {
    try {
      parseHostProfileText("host:\n  name: a\n---\nhost: {}\n", "/r/hosts/h.yaml");
      assert.fail("expected a parse error");
    } catch (e) {
      assert.ok(e instanceof PshError);
      assert.equal(e.issues[0]?.line, 3);
      assert.match(
        e.message,
        /^\/r\/hosts\/h\.yaml:3:1: cannot parse yaml: expected a single document/,
      );
    }
  });
});

describe("a JSON host profile's syntax error", () => {
  it("names its line and column, JSONC too", () => {
    for (const [text, file, where] of [
      ['{\n  "host": {"modules": ["a",]\n}', "/r/hosts/h.json", ":2:28:"],
      ['{\n  "host": {\n', "/r/hosts/h.json", ":3:1:"],
      ['// c\n{\n  "host": x\n}\n', "/r/hosts/h.jsonc", ":3:11:"],
    ] as const) {
      try {
        parseHostProfileText(text, file);
        assert.fail("expected a parse error");
      } catch (e) {
        assert.ok(e instanceof PshError);
        assert.equal(e.code, "parse");
        assert.ok(e.message.startsWith(`${file}${where} cannot parse json`), e.message);
        assert.ok(e.issues[0]?.line !== undefined);
      }
    }
  });
});
