/**
 * Where a JSON text first breaks JSON's grammar (RFC 8259, as JSON.parse reads it). V8's
 * messages give a position for some errors only ("Unexpected end of JSON input", "Unexpected
 * token 'x', "..." is not valid JSON" have none), so a profile's syntax error is located here.
 */

const numberAt = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const escapes = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

/** The end of the string starting at `i` (a `"`), or -(offset of its error) - 1. */
function stringEnd(text: string, i: number): number {
  let k = i + 1;
  while (k < text.length) {
    const c = text.charCodeAt(k);
    if (c === 0x22) return k + 1;
    if (c < 0x20) return -k - 1;
    if (c === 0x5c) {
      const next = text[k + 1] ?? "";
      if (escapes.has(next)) k += 2;
      else if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(k + 2, k + 6))) k += 6;
      else return -k - 1;
    } else k++;
  }
  return -text.length - 1;
}

/** The end of the scalar (string, number, literal) at `i`, or -(offset of its error) - 1. */
function scalarEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  numberAt.lastIndex = i;
  const m = numberAt.exec(text);
  if (m !== null && m[0].length > 0 && m[0] !== "-") return i + m[0].length;
  for (const word of ["true", "false", "null"])
    if (text.startsWith(word, i)) return i + word.length;
  return -i - 1;
}

type Expect = "value" | "value-or-end" | "key" | "key-or-end" | "after";

/** The offset of the first syntax error of `text`, or undefined when it is valid JSON. */
export function jsonErrorOffset(text: string): number | undefined {
  const open: string[] = [];
  let expect: Expect = "value";
  let i = 0;
  for (;;) {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
    if (i >= text.length) return expect === "after" && open.length === 0 ? undefined : i;
    const c = text[i] as string;
    const top = open[open.length - 1];
    if ((expect === "value-or-end" && c === "]") || (expect === "key-or-end" && c === "}")) {
      open.pop();
      expect = "after";
      i++;
    } else if (expect === "after") {
      if (top === undefined) return i;
      if (c === ",") expect = top === "{" ? "key" : "value";
      else if (c === (top === "{" ? "}" : "]")) open.pop();
      else return i;
      i++;
    } else if (expect === "key" || expect === "key-or-end") {
      const end = c === '"' ? stringEnd(text, i) : -i - 1;
      if (end < 0) return -end - 1;
      i = end;
      while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
      if (text[i] !== ":") return i;
      expect = "value";
      i++;
    } else if (c === "{" || c === "[") {
      open.push(c);
      expect = c === "{" ? "key-or-end" : "value-or-end";
      i++;
    } else {
      const end = scalarEnd(text, i);
      if (end < 0) return -end - 1;
      expect = "after";
      i = end;
    }
  }
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
