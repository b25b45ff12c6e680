import { showValue, UnitError } from "./errors.js";

/**
 * Text that deliberately contains systemd specifiers (`%h`, `%i`, `%t`...), made with
 * `withSpecifiers()`. Every other character is still escaped like a literal; only the
 * `%X` sequences are kept as they are (and validated).
 */
export interface SpecifierText {
  readonly kind: "specifier-text";
  readonly text: string;
}

/** A literal string (every `%` is escaped) or a `SpecifierText`. */
export type UnitText = string | SpecifierText;

/**
 * A command-line word that systemd replaces with an environment variable at execution:
 * rendered `${NAME}` (one argument), or `$NAME` with `split` (split on whitespace).
 */
export interface EnvReference {
  readonly kind: "env-reference";
  readonly name: string;
  readonly split: boolean;
}

/** One word of a command line. */
export type ExecWord = UnitText | EnvReference;

/** A word of a command line replaced by systemd with the value of `name` (e.g. MAINPID). */
export function envReference(name: string, options?: { split?: boolean }): EnvReference {
  if (!ENV_NAME.test(name)) {
    throw new UnitError(
      "invalid-env-name",
      `environment reference: expected a variable name matching [A-Za-z_][A-Za-z0-9_]*, received ${showValue(name)}`,
    );
  }
  return { kind: "env-reference", name, split: options?.split ?? false };
}

/** Specifier characters known to systemd.unit(5) (v252 and later). */
const SPECIFIER_CHARS = new Set("aAbBCdEfgGhHiIjJlLmMnNopPqsStTuUvVwWyY%");

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Marks `text` as containing intended systemd specifiers; throws on an unknown one. */
export function withSpecifiers(text: string): SpecifierText {
  checkSpecifiers(text, "text");
  return { kind: "specifier-text", text };
}

/** Throws if a `%` in already-encoded unit text is not followed by a known specifier. */
export function checkSpecifiers(text: string, what: string): void {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "%") continue;
    const next = text[i + 1];
    if (next === undefined || !SPECIFIER_CHARS.has(next)) {
      throw new UnitError(
        "invalid-specifier",
        `${what}: "%" at offset ${i} of ${showValue(text)} is not a systemd specifier (expected "%%" for a literal percent sign, or one of %h %i %n %t ...)`,
      );
    }
    i++;
  }
}

/** `%` -> `%%`, so that systemd does not expand specifiers in a literal value. */
export function escapeSpecifiers(s: string): string {
  return s.replaceAll("%", "%%");
}

/** Encodes unit text for a plain (unquoted) directive value: literal `%` doubled, specifiers kept. */
export function encodeText(t: UnitText, what: string): string {
  const text = typeof t === "string" ? t : t.text;
  checkCharacters(text, what);
  return typeof t === "string" ? escapeSpecifiers(t) : t.text;
}

export function textOf(t: UnitText): string {
  return typeof t === "string" ? t : t.text;
}

function checkCharacters(text: string, what: string): void {
  if (text.includes("\0")) {
    throw new UnitError(
      "invalid-value",
      `${what}: NUL characters cannot be expressed in a unit file: ${showValue(text)}`,
    );
  }
  if (LONE_SURROGATE.test(text)) {
    throw new UnitError(
      "invalid-value",
      `${what}: not valid Unicode (lone surrogate): ${showValue(text)}`,
    );
  }
}

/** Splits text into literal characters and (for SpecifierText) specifier tokens. */
function* pieces(t: UnitText, what: string): Generator<{ spec: boolean; s: string }> {
  const text = textOf(t);
  checkCharacters(text, what);
  if (typeof t !== "string") checkSpecifiers(text, what);
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (typeof t !== "string" && c === "%") {
      yield { spec: true, s: text.slice(i, i + 2) };
      i++;
    } else {
      // keep surrogate pairs together
      const cp = text.codePointAt(i) as number;
      const s = String.fromCodePoint(cp);
      if (s.length === 2) i++;
      yield { spec: false, s };
    }
  }
}

function cEscape(c: string): string {
  switch (c) {
    case "\\":
      return "\\\\";
    case '"':
      return '\\"';
    case "\n":
      return "\\n";
    case "\t":
      return "\\t";
    case "\r":
      return "\\r";
    default: {
      const code = c.codePointAt(0) as number;
      if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, "0")}`;
      return c;
    }
  }
}

// Characters that force a word of a command line into double quotes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const NEEDS_QUOTES = /[\s"'\\\x00-\x1f\x7f]/;

interface WordOptions {
  /** Double `$` (command lines substitute `$VAR`/`${VAR}`; `$$` is a literal dollar). */
  dollar: boolean;
}

function quoteWord(t: UnitText, options: WordOptions, what: string): string {
  const text = textOf(t);
  const quote = text === "" || text === ";" || NEEDS_QUOTES.test(text);
  let out = "";
  for (const p of pieces(t, what)) {
    if (p.spec) out += p.s;
    else if (p.s === "%") out += "%%";
    else if (p.s === "$" && options.dollar) out += "$$";
    else out += quote ? cEscape(p.s) : p.s;
  }
  return quote ? `"${out}"` : out;
}

function isNormalizedAbsolute(path: string): boolean {
  if (!path.startsWith("/")) return false;
  if (path.length > 1 && path.endsWith("/")) return false;
  return !path
    .split("/")
    .slice(1)
    .some((seg) => seg === "" || seg === "." || seg === "..");
}

/** Checks an absolute path (or SpecifierText starting with a specifier such as `%h`). */
export function checkAbsolutePath(t: UnitText, what: string): void {
  const text = textOf(t);
  if (typeof t !== "string" && text.startsWith("%") && !text.startsWith("%%")) return;
  if (!isNormalizedAbsolute(text)) {
    throw new UnitError(
      "invalid-path",
      `${what}: expected a normalized absolute path, received ${showValue(text)}`,
    );
  }
}

/**
 * Encodes a command line for ExecStart=/ExecStop=/ExecReload=... per systemd.service(5):
 * each word double-quoted when it contains whitespace, quotes, backslashes or control
 * characters (C-style escapes inside), `%` -> `%%`, `$` -> `$$` in arguments. The executable
 * must be a normalized absolute path (or SpecifierText like `%h/bin/x`); a `$` in it (not
 * substituted by systemd in the path, but substituted in argv[0]) is handled with the `@` form.
 */
export function quoteExecArgv(argv: readonly ExecWord[]): string {
  const [exe, ...args] = argv;
  if (exe === undefined) {
    throw new UnitError(
      "invalid-command",
      "command line: expected at least the executable, received []",
    );
  }
  if (typeof exe !== "string" && exe.kind === "env-reference") {
    throw new UnitError(
      "invalid-command",
      "command line: the executable cannot be an environment reference",
    );
  }
  checkAbsolutePath(exe, "executable");
  const words: string[] = [];
  if (textOf(exe).includes("$")) {
    words.push(`@${quoteWord(exe, { dollar: false }, "executable")}`);
    words.push(quoteWord(exe, { dollar: true }, "argv[0]"));
  } else {
    words.push(quoteWord(exe, { dollar: true }, "executable"));
  }
  args.forEach((a, i) => {
    if (typeof a !== "string" && a.kind === "env-reference") {
      words.push(a.split ? `$${a.name}` : `\${${a.name}}`);
    } else {
      words.push(quoteWord(a, { dollar: true }, `argv[${i + 1}]`));
    }
  });
  return words.join(" ");
}

/** Whether `key` is a valid environment variable name for systemd (and POSIX shells). */
export function isValidEnvName(key: string): boolean {
  return ENV_NAME.test(key);
}

/**
 * Encodes one Environment= assignment per systemd.exec(5): always `"KEY=value"`, with `\\`,
 * `\"`, `\n`, `\t`, `\xNN` escapes and `%` -> `%%`. `$` stays literal (Environment= does not
 * expand variables).
 */
export function quoteEnvironment(key: string, value: UnitText): string {
  if (!isValidEnvName(key)) {
    throw new UnitError(
      "invalid-env-name",
      `Environment=: expected a variable name matching [A-Za-z_][A-Za-z0-9_]*, received ${showValue(key)}`,
    );
  }
  let out = "";
  for (const p of pieces(value, `Environment=${key}`)) {
    if (p.spec) out += p.s;
    else if (p.s === "%") out += "%%";
    else out += cEscape(p.s);
  }
  return `"${key}=${out}"`;
}
