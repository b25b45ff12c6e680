import { secondDocumentLine } from "@procmgr/platform";
import * as jsYaml from "js-yaml";
import { CORE_SCHEMA, load, type State, type Type, YAMLException } from "js-yaml";
import { ConfigError, type ConfigErrorCode, type ConfigIssue } from "./errors.js";

/** A 1-based position in a YAML text. */
export interface YamlPos {
  readonly line: number;
  readonly column: number;
}

/** Where each node of a parsed YAML document is, built from js-yaml's parse events. */
export interface YamlNode {
  readonly pos: YamlPos;
  readonly entries?: ReadonlyMap<string, YamlEntry>;
  readonly items?: readonly YamlNode[];
  /** Keys written twice in this mapping (js-yaml would keep the last one). */
  readonly duplicates?: readonly { key: string; pos: YamlPos; firstPos: YamlPos }[];
}

export interface YamlEntry {
  readonly keyPos: YamlPos;
  readonly value: YamlNode;
  /** The parsed value of the FIRST occurrence of the key (js-yaml keeps the last one). */
  readonly raw: unknown;
}

export type YamlPath = readonly (string | number)[];

export interface YamlDocument {
  readonly value: unknown;
  readonly root: YamlNode | undefined;
}

/** YAML 1.2 core schema (no timestamps, no binary) plus merge keys (`<<: *defaults`). */
const mergeType = (jsYaml as unknown as { types: { merge: Type } }).types.merge;
const schema = CORE_SCHEMA.extend({ implicit: [mergeType] });

interface Built {
  readonly start: number;
  readonly end: number;
  readonly node: YamlNode;
  readonly result: unknown;
}

function lineIndex(input: string): number[] {
  const starts = [0];
  for (let i = 0; i < input.length; i++) if (input.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function toPos(starts: readonly number[], offset: number): YamlPos {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
}

/** Skip blanks, line breaks and comments: where the node's content really begins. */
function skipSpace(input: string, from: number): number {
  let i = from;
  while (i < input.length) {
    const c = input[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
    else if (c === "#") {
      while (i < input.length && input[i] !== "\n") i++;
    } else break;
  }
  return i;
}

function followedByColon(input: string, from: number): boolean {
  return input[skipSpace(input, from)] === ":";
}

/**
 * Parse one YAML document, recording the position of every key and value (js-yaml's
 * `listener` reports each node as it is opened and closed). Throws ConfigError("parse") with
 * file:line:col on a syntax error.
 */
export function parseYaml(text: string, file: string | undefined): YamlDocument {
  const stack: { open: number; children: Built[] }[] = [];
  let input = text;
  let starts: number[] | undefined;
  let root: Built | undefined;
  const listener = (event: "open" | "close", state: State) => {
    if (starts === undefined || input !== state.input) {
      input = state.input;
      starts = lineIndex(input);
    }
    if (event === "open") {
      stack.push({ open: state.position, children: [] });
      return;
    }
    const frame = stack.pop();
    if (frame === undefined) return;
    const start = Math.min(skipSpace(input, frame.open), Math.max(frame.open, state.position));
    const pos = toPos(starts, start);
    const result: unknown = state.result;
    let node: YamlNode = { pos };
    const only = frame.children.length === 1 ? frame.children[0] : undefined;
    if (only !== undefined && only.result === result) {
      // A node probed as a possible block-mapping key that turned out to be the value itself.
      node = only.node;
    } else if (state.kind === "mapping" && result !== null && typeof result === "object") {
      const entries = new Map<string, YamlEntry>();
      const duplicates: { key: string; pos: YamlPos; firstPos: YamlPos }[] = [];
      const kids = frame.children;
      for (let i = 0; i < kids.length; ) {
        const key = kids[i] as Built;
        const hasValue = followedByColon(input, key.end) && i + 1 < kids.length;
        const value = hasValue ? (kids[i + 1] as Built) : undefined;
        i += hasValue ? 2 : 1;
        const name = String(key.result);
        const valueNode: YamlNode =
          value === undefined || value.result === null || value.result === undefined
            ? { ...(value?.node ?? {}), pos: key.node.pos }
            : value.node;
        const first = entries.get(name);
        if (first !== undefined) {
          duplicates.push({ key: name, pos: key.node.pos, firstPos: first.keyPos });
        }
        entries.set(name, first ?? { keyPos: key.node.pos, value: valueNode, raw: value?.result });
      }
      node = duplicates.length > 0 ? { pos, entries, duplicates } : { pos, entries };
    } else if (state.kind === "sequence" && Array.isArray(result)) {
      if (frame.children.length === result.length) {
        node = { pos, items: frame.children.map((c) => c.node) };
      }
    }
    const built: Built = { start, end: state.position, node, result };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(built);
    else root = built;
  };
  let value: unknown;
  try {
    value = load(text, {
      schema,
      json: true,
      listener,
      ...(file === undefined ? {} : { filename: file }),
    });
  } catch (e) {
    if (e instanceof YAMLException) {
      const mark = (e as YAMLException & { mark?: { line: number; column: number } }).mark;
      // js-yaml's "expected a single document" has no mark: the second document's line.
      const line = mark === undefined ? secondDocumentLine(text) : mark.line + 1;
      const issue = {
        path: "",
        message: `YAML syntax error: ${e.reason}`,
        code: "parse" as const,
        ...(file === undefined ? {} : { file }),
        ...(line === undefined ? {} : { line, column: (mark?.column ?? 0) + 1 }),
      };
      throw ConfigError.fromIssues([issue], e);
    }
    throw ConfigError.from(e);
  }
  return { value, root: root?.node };
}

/** Where `path` is in the document: its key (for unknown keys) or its value; else the nearest parent. */
export function locate(
  root: YamlNode | undefined,
  path: YamlPath,
  where: "key" | "value" = "value",
): YamlPos | undefined {
  let node = root;
  let pos = root?.pos;
  for (let i = 0; i < path.length && node !== undefined; i++) {
    const seg = path[i] as string | number;
    const last = i === path.length - 1;
    if (node.entries !== undefined) {
      const entry = node.entries.get(String(seg));
      if (entry === undefined) return pos;
      pos = last && where === "key" ? entry.keyPos : entry.value.pos;
      node = entry.value;
    } else if (node.items !== undefined && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined) return pos;
      pos = item.pos;
      node = item;
    } else {
      return pos;
    }
  }
  return pos;
}

/** Render a path the way issues show it: processes.webapp.args[1]. */
export function pathToString(path: YamlPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** Every duplicated key of the document, with its path. */
export function findDuplicateKeys(
  root: YamlNode | undefined,
): { path: (string | number)[]; key: string; pos: YamlPos; firstPos: YamlPos }[] {
  const out: { path: (string | number)[]; key: string; pos: YamlPos; firstPos: YamlPos }[] = [];
  const walk = (node: YamlNode, path: (string | number)[]) => {
    for (const d of node.duplicates ?? []) out.push({ path: [...path, d.key], ...d });
    if (node.entries) for (const [k, e] of node.entries) walk(e.value, [...path, k]);
    if (node.items) {
      node.items.forEach((n, i) => {
        walk(n, [...path, i]);
      });
    }
  };
  if (root) walk(root, []);
  return out;
}

/** Where a process definition comes from, to locate its issues. */
export interface SourceContext {
  readonly file?: string;
  /** Position tree of the YAML document (absent for API input). */
  readonly root?: YamlNode | undefined;
  /** Path of the process mapping inside the YAML document ([] for a processes.d file). */
  readonly nodePath: YamlPath;
  /** Path shown in issues, e.g. ["processes", "webapp"]. */
  readonly displayPrefix: YamlPath;
}

/** Build a located issue for `sub` (a path below the process). */
export function issueAt(
  ctx: SourceContext,
  sub: YamlPath,
  message: string,
  extra: {
    expected?: string;
    received?: string;
    code?: ConfigErrorCode;
    where?: "key" | "value";
    pos?: YamlPos;
  } = {},
): ConfigIssue {
  const pos = extra.pos ?? locate(ctx.root, [...ctx.nodePath, ...sub], extra.where ?? "value");
  const issue: ConfigIssue = {
    path: pathToString([...ctx.displayPrefix, ...sub]),
    message,
    code: extra.code ?? "invalid",
  };
  if (ctx.file !== undefined) issue.file = ctx.file;
  if (pos !== undefined && ctx.root !== undefined) {
    issue.line = pos.line;
    issue.column = pos.column;
  }
  if (extra.expected !== undefined) issue.expected = extra.expected;
  if (extra.received !== undefined) issue.received = extra.received;
  return issue;
}
