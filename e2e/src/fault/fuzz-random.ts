/**
 * Seeded choices for the fuzzing scenarios: every input is made from `inputRng(seed, kind, i)`,
 * so one input can be made again alone (`pnpm fault --seed N`, then its kind and index), and the
 * values a fuzzer reaches for first: strings and numbers that parsers get wrong.
 */
import { random } from "./suite.js";

export interface Rng {
  /** [0, 1) */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function rngFrom(next: () => number): Rng {
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    between: (lo, hi) => lo + int(hi - lo + 1),
    pick: <T>(items: readonly T[]): T => items[int(items.length)] as T,
    chance: (p) => next() < p,
  };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The generator of input `index` of `kind` under the run's seed. */
export function inputRng(seed: number, kind: string, index: number): Rng {
  return rngFrom(random((seed ^ hash(kind) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0));
}

/** Strings that break parsers, escapers and terminals. None is an absolute path. */
export const nastyStrings: readonly string[] = [
  "",
  " ",
  "\t",
  "\n",
  "\r\n",
  "\u0000",
  "a\u0000b",
  "\u0001\u0002\u001b[31m",
  "\u007f",
  "\u202eevil",
  "\ufeff",
  "\ud800",
  "\udfff\ud800",
  "😀🚀",
  "名前",
  "Ω≈ç√∫",
  "e\u0301",
  "%s%n%x",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text "${PATH}" is the input
  "${PATH}",
  "$(id)",
  "`id`",
  "'\"",
  "\\",
  "\\u0000",
  "null",
  "~",
  "true",
  "no",
  "NaN",
  ".nan",
  "-.inf",
  "-1",
  "-0",
  "1e309",
  "0x1F",
  "0o17",
  "1_000",
  "Infinity",
  "9".repeat(400),
  "*",
  "&anchor",
  "*alias",
  "!!str",
  "? key",
  "- item",
  "{a: 1}",
  "[1,",
  "# comment",
  "---",
  "...",
  "key: value",
  "a=b",
  "=",
  "../../etc",
  "name with spaces",
  "x".repeat(300),
];

export const nastyNumbers: readonly number[] = [
  0,
  -1,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  1e21,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];

/** A string of `n` characters from a mix of ASCII, controls, astral and lone surrogates. */
export function randomText(r: Rng, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const k = r.int(10);
    if (k < 5) out += String.fromCharCode(r.between(0x21, 0x7e));
    else if (k < 6) out += String.fromCharCode(r.int(0x20));
    else if (k < 8) out += String.fromCharCode(r.between(0xa0, 0xd7ff));
    else if (k < 9) out += String.fromCodePoint(r.between(0x10000, 0x10ffff));
    else out += String.fromCharCode(r.between(0xd800, 0xdfff));
  }
  return out;
}

/** A nasty string: from the list, random text, or a long run (64 KiB, rarely 1 MiB; `max`). */
export function nastyString(r: Rng, max = 1 << 20): string {
  const k = r.int(100);
  if (k < 60) return r.pick(nastyStrings).slice(0, max);
  if (k < 92) return randomText(r, Math.min(max, r.between(1, 40)));
  const n = Math.min(max, k < 99 ? r.pick([1000, 65_537]) : 1 << 20);
  return r.pick(["a", "é", "😀", "\u0000", " "]).repeat(n).slice(0, max);
}

/** A value of any YAML/JSON type, as a mutation puts where another type is expected. */
export function wrongValue(r: Rng): unknown {
  switch (r.int(9)) {
    case 0:
      return nastyString(r);
    case 1:
      return r.pick(nastyNumbers);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return [nastyString(r), r.pick(nastyNumbers)];
    case 7:
      return { [nastyString(r)]: nastyString(r) };
    default:
      return -r.between(1, 1_000_000);
  }
}

/** Bytes that are not UTF-8: lone continuation bytes, overlong forms, surrogates, 0xFF. */
export const invalidUtf8: readonly Buffer[] = [
  Buffer.from([0x80]),
  Buffer.from([0xbf, 0xbf]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xff]),
  Buffer.from([0xe2, 0x82]),
];
