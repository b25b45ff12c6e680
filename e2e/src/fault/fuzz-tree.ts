/**
 * Documents as trees the fuzzers mutate, then write as YAML, JSON or TOML. A mapping is a list
 * of entries (so a key can be written twice); `Raw` is text written as it is (deep nesting, an
 * alias, a tag), which a tree of objects could not hold.
 */
import { nastyString, type Rng, wrongValue } from "./fuzz-random.js";

export class Pairs {
  constructor(readonly entries: [string, Tree][] = []) {}
}

export class Raw {
  constructor(readonly text: string) {}
}

export type Tree = null | boolean | number | string | Raw | Pairs | Tree[];

/** A plain JSON-like value as a tree. */
export function toTree(value: unknown): Tree {
  if (Array.isArray(value)) return value.map(toTree);
  if (value !== null && typeof value === "object") {
    const defined = Object.entries(value).filter(([, v]) => v !== undefined);
    return new Pairs(defined.map(([k, v]) => [k, toTree(v)]));
  }
  if (typeof value === "bigint") return Number(value);
  return value as Tree;
}

function clone(t: Tree): Tree {
  if (Array.isArray(t)) return t.map(clone);
  if (t instanceof Pairs) return new Pairs(t.entries.map(([k, v]) => [k, clone(v)]));
  return t;
}

/** Every mapping and list of the tree, the root first. */
function containers(t: Tree, out: (Pairs | Tree[])[] = []): (Pairs | Tree[])[] {
  if (Array.isArray(t)) {
    out.push(t);
    for (const v of t) containers(v, out);
  } else if (t instanceof Pairs) {
    out.push(t);
    for (const [, v] of t.entries) containers(v, out);
  }
  return out;
}

/** Nesting `depth` levels deep, as flow text (a tree that deep would overflow the writers). */
export function deepNesting(r: Rng, depth: number): Raw {
  if (r.chance(0.5)) return new Raw(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
  return new Raw(`${'{"a": '.repeat(depth)}1${"}".repeat(depth)}`);
}

function randomKey(r: Rng, known: readonly string[]): string {
  if (known.length > 0 && r.chance(0.5)) {
    const k = r.pick(known);
    // A near miss ("auto_strat"), a case change, or the key itself (written twice).
    const i = r.int(Math.max(1, k.length - 1));
    return r.pick([
      `${k.slice(0, i)}${k[i + 1] ?? ""}${k[i] ?? ""}${k.slice(i + 2)}`,
      k.toUpperCase(),
      k,
    ]);
  }
  return nastyString(r).slice(0, 200);
}

/** One mutation of the tree, in place (the root is cloned first by `mutateTree`). */
function mutateOnce(r: Rng, root: Tree, known: readonly string[]): Tree {
  const all = containers(root);
  if (all.length === 0 || r.chance(0.03)) return wrongValue(r) as Tree;
  const c = r.pick(all);
  const values = c instanceof Pairs ? c.entries : c.map((v, i) => [String(i), v] as [string, Tree]);
  const set = (i: number, v: Tree) => {
    if (c instanceof Pairs) (c.entries[i] as [string, Tree])[1] = v;
    else c[i] = v;
  };
  const i = values.length === 0 ? -1 : r.int(values.length);
  switch (r.int(10)) {
    case 0: // delete
      if (i >= 0) (c instanceof Pairs ? c.entries : c).splice(i, 1);
      break;
    case 1: // duplicate (a key written twice in a mapping)
      if (i >= 0) {
        const [k, v] = values[i] as [string, Tree];
        if (c instanceof Pairs) c.entries.splice(r.int(c.entries.length + 1), 0, [k, clone(v)]);
        else c.push(clone(v));
      }
      break;
    case 2: {
      // swap two values
      const j = values.length === 0 ? -1 : r.int(values.length);
      if (i >= 0 && j >= 0) {
        const a = (values[i] as [string, Tree])[1];
        set(i, (values[j] as [string, Tree])[1]);
        set(j, a);
      }
      break;
    }
    case 3: // rename a key
      if (c instanceof Pairs && i >= 0) (c.entries[i] as [string, Tree])[0] = randomKey(r, known);
      break;
    case 4: // an unknown (or misspelt) key
      if (c instanceof Pairs) c.entries.push([randomKey(r, known), wrongValue(r) as Tree]);
      else c.push(wrongValue(r) as Tree);
      break;
    case 5: // deep nesting
      if (i >= 0) set(i, deepNesting(r, r.pick([50, 1000, 10_000])));
      break;
    case 6: // many entries
      if (i >= 0) set(i, manyEntries(r));
      break;
    default: // a value of the wrong type, a huge or negative number, a nasty string
      if (i >= 0) set(i, wrongValue(r) as Tree);
  }
  return root;
}

function manyEntries(r: Rng): Tree {
  const n = r.pick([100, 1000, 5000]);
  if (r.chance(0.5)) return Array.from({ length: n }, (_, i) => `item${i}`);
  return new Pairs(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
}

/** 1 to 3 mutations of a copy of `seed`; `known` are the field names a typo is made from. */
export function mutateTree(r: Rng, seed: Tree, known: readonly string[]): Tree {
  let t = clone(seed);
  const n = r.between(1, 3);
  for (let k = 0; k < n; k++) t = mutateOnce(r, t, known);
  return t;
}

const plainYaml = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const reserved = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function yamlScalar(v: Tree): string {
  if (v instanceof Raw) return v.text;
  if (typeof v === "string") {
    return plainYaml.test(v) && !reserved.test(v) ? v : JSON.stringify(v);
  }
  return String(v);
}

function yamlLines(t: Tree, indent: string, out: string[]): void {
  const scalarOrEmpty = (v: Tree): string | undefined => {
    if (Array.isArray(v)) return v.length === 0 ? "[]" : undefined;
    if (v instanceof Pairs) return v.entries.length === 0 ? "{}" : undefined;
    return yamlScalar(v);
  };
  if (t instanceof Pairs) {
    for (const [k, v] of t.entries) {
      const key = yamlScalar(k);
      const s = scalarOrEmpty(v);
      if (s !== undefined) out.push(`${indent}${key}: ${s}`);
      else {
        out.push(`${indent}${key}:`);
        yamlLines(v, `${indent}  `, out);
      }
    }
  } else if (Array.isArray(t)) {
    for (const v of t) {
      const s = scalarOrEmpty(v);
      if (s !== undefined) out.push(`${indent}- ${s}`);
      else {
        out.push(`${indent}-`);
        yamlLines(v, `${indent}  `, out);
      }
    }
  } else {
    out.push(`${indent}${yamlScalar(t)}`);
  }
}

/** Block YAML (strings quoted as JSON when not plain). */
export function toYaml(t: Tree): string {
  const out: string[] = [];
  yamlLines(t, "", out);
  return `${out.join("\n")}\n`;
}

/** JSON text (a mapping may repeat a key; Raw text goes in as it is). */
export function toJson(t: Tree): string {
  if (t instanceof Raw) return t.text;
  if (Array.isArray(t)) return `[${t.map(toJson).join(",")}]`;
  if (t instanceof Pairs) {
    return `{${t.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(t) ?? "null";
}

function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k);
}

function tomlInline(v: Tree): string {
  if (v instanceof Raw) return v.text;
  if (v === null) return ""; // TOML has no null: a parse error, as a fuzzer wants
  if (Array.isArray(v)) return `[${v.map(tomlInline).join(", ")}]`;
  if (v instanceof Pairs) {
    return `{ ${v.entries.map(([k, x]) => `${tomlKey(k)} = ${tomlInline(x)}`).join(", ")} }`;
  }
  if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) >= 1e21) return v.toFixed(1);
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function tomlTable(t: Pairs, path: string[], out: string[]): void {
  const tables: [string, Pairs][] = [];
  if (path.length > 0) out.push(`[${path.map(tomlKey).join(".")}]`);
  for (const [k, v] of t.entries) {
    if (v instanceof Pairs && v.entries.length > 0) tables.push([k, v]);
    else out.push(`${tomlKey(k)} = ${tomlInline(v)}`);
  }
  for (const [k, v] of tables) tomlTable(v, [...path, k], out);
}

/** TOML: scalars and lists inline, mappings as [dotted.tables]. */
export function toToml(t: Tree): string {
  const out: string[] = [];
  if (t instanceof Pairs) tomlTable(t, [], out);
  else out.push(`value = ${tomlInline(t)}`);
  return `${out.join("\n")}\n`;
}
