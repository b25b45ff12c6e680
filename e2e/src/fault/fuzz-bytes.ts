/**
 * Mutations of a file's bytes: truncation, bytes that are not UTF-8, control characters, lines
 * deleted, doubled, swapped or re-indented, CRLF, a BOM, a very long line; and YAML's own
 * traps (aliases, alias bombs, tags, several documents).
 */
import { invalidUtf8, nastyString, type Rng } from "./fuzz-random.js";

/** Lines of a text kept byte for byte (latin1 maps each byte to one character). */
function lines(b: Buffer): string[] {
  return b.toString("latin1").split("\n");
}

function join(ls: readonly string[]): Buffer {
  return Buffer.from(ls.join("\n"), "latin1");
}

function insertAt(b: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
}

/** One mutation of the bytes. */
function mutateBytesOnce(r: Rng, b: Buffer): Buffer {
  const ls = lines(b);
  const li = r.int(Math.max(1, ls.length));
  switch (r.int(12)) {
    case 0:
      return b.subarray(0, r.int(b.length + 1)); // truncated
    case 1:
      return insertAt(b, r.int(b.length + 1), r.pick(invalidUtf8));
    case 2:
      return insertAt(b, r.int(b.length + 1), Buffer.from([r.int(32)]));
    case 3:
      ls.splice(li, 1);
      return join(ls);
    case 4:
      ls.splice(li, 0, ls[li] ?? "");
      return join(ls);
    case 5: {
      const j = r.int(Math.max(1, ls.length));
      const a = ls[li] ?? "";
      ls[li] = ls[j] ?? "";
      ls[j] = a;
      return join(ls);
    }
    case 6:
      ls[li] = r.pick([" ", "   ", "\t", "  \t"]) + (ls[li] ?? "").trimStart();
      return join(ls);
    case 7:
      return Buffer.from(b.toString("latin1").replace(/\n/g, "\r\n"), "latin1");
    case 8:
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 9:
      ls.splice(
        li,
        0,
        `${r.pick(["", "  ", "# "])}${"x".repeat(r.pick([10_000, 10_000, 10_000, 1 << 20]))}`,
      );
      return join(ls);
    case 10:
      return insertAt(b, r.int(b.length + 1), Buffer.from(nastyString(r).slice(0, 5000)));
    default: {
      const at = r.int(b.length + 1);
      return Buffer.concat([
        b.subarray(0, at),
        b.subarray(Math.min(b.length, at + r.between(1, 64))),
      ]);
    }
  }
}

/** 1 to 3 byte mutations. */
export function mutateBytes(r: Rng, b: Buffer): Buffer {
  let out = b;
  const n = r.between(1, 3);
  for (let k = 0; k < n; k++) out = mutateBytesOnce(r, out);
  return out;
}

/**
 * The billion laughs: nine levels of ten aliases to the level below, as `x-` keys (ignored by
 * the config) whose top level is then used where a value is expected.
 */
export function aliasBomb(r: Rng, asMap: boolean): string {
  const out: string[] = [];
  out.push(asMap ? `x-l0: &l0 {a: lol, b: lol}` : `x-l0: &l0 [lol, lol, lol, lol, lol]`);
  for (let i = 1; i <= 9; i++) {
    const refs = Array.from({ length: 10 }, (_, k) => (asMap ? `k${k}: *l${i - 1}` : `*l${i - 1}`));
    out.push(
      asMap ? `x-l${i}: &l${i} {${refs.join(", ")}}` : `x-l${i}: &l${i} [${refs.join(", ")}]`,
    );
  }
  return `${out.join("\n")}\n${r.pick(["", "# bomb\n"])}`;
}

/** YAML snippets: aliases, tags, documents, directives, complex keys. */
const yamlTraps: readonly string[] = [
  "*undefined_alias",
  "&a [*a]",
  "!!binary aGVsbG8=",
  "!!timestamp 2001-12-14t21:59:43.10-05:00",
  "!!js/function 'function(){}'",
  "!!python/object:os.system ls",
  "!!set {a, b}",
  "!!omap [a: 1, b: 2]",
  "!<tag:yaml.org,2002:str> x",
  "!!float .nan",
  "!!int 0x7fffffffffffffffff",
  ".inf",
  "|\n  literal\n  block",
  ">-\n  folded",
  "? [a, b]\n: complex",
  "<<: *undefined",
  "<<: [1, 2]",
  "'unterminated",
  '"bad escape \\q"',
  "{a: 1, a: 2}",
];

/** Inserts a YAML trap (or a document marker or directive) at a random line. */
export function yamlTrap(r: Rng, text: Buffer): Buffer {
  const ls = lines(text);
  const li = r.int(ls.length + 1);
  const prev = ls[li - 1] ?? "";
  const indent = /^\s*/.exec(prev)?.[0] ?? "";
  const k = r.int(4);
  if (k === 0)
    ls.splice(li, 0, r.pick(["---", "...", "%YAML 1.1", "%TAG ! tag:x,2000:", "--- !!map"]));
  else if (k === 1) ls.splice(li, 0, `${indent}key: ${r.pick(yamlTraps)}`);
  else if (k === 2 && prev.includes(":"))
    ls[li - 1] = `${prev.replace(/:\s*.*$/, ":")} ${r.pick(yamlTraps)}`;
  else ls.splice(li, 0, `${indent}- ${r.pick(yamlTraps)}`);
  return join(ls);
}

/** An alias bomb in front of the document, used by one field of one process. */
export function withAliasBomb(r: Rng, text: string, field: string): Buffer {
  const asMap = field === "env" || r.chance(0.3);
  const target = r.between(3, 9);
  const use = `    ${field}: *l${target}\n`;
  const at = text.search(/^ {4}command:.*$/m);
  if (at < 0) return Buffer.from(`${aliasBomb(r, asMap)}${text}`);
  return Buffer.from(`${aliasBomb(r, asMap)}${text.slice(0, at)}${use}${text.slice(at)}`);
}
