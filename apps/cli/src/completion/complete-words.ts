import { addressFlag, processArgument } from "../commands/base.js";
import { type ArgSyntax, argSyntax, type FlagSyntax, type Verb } from "./verb-syntax.js";

/** One word to offer, with a line that says what it is (shells that can show it do). */
export interface Candidate {
  readonly word: string;
  readonly description: string;
}

/** What to offer for the word under the cursor. */
export type Offer =
  | { readonly kind: "words"; readonly candidates: readonly Candidate[] }
  | {
      /** The names of the daemon's processes that start with `prefix`, less `exclude`. */
      readonly kind: "processes";
      readonly prefix: string;
      readonly exclude: readonly string[];
      /** The `--address` given on the line, if any. */
      readonly address?: string;
    };

/**
 * The candidates that start with `cur`. Options only once a `-` is typed: an empty word offers
 * verbs, names and values, as other CLIs' completions do.
 */
export function startingWith(candidates: readonly Candidate[], cur: string): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => {
    if (!c.word.startsWith(cur) || seen.has(c.word)) return false;
    if (c.word.startsWith("-") && !cur.startsWith("-")) return false;
    seen.add(c.word);
    return true;
  });
}

function startsWithPath(words: readonly string[], path: readonly string[]): boolean {
  return path.length <= words.length && path.every((w, i) => words[i] === w);
}

/** The verb the words begin with (the longest path that matches). */
function findVerb(words: readonly string[], verbs: readonly Verb[]): Verb | undefined {
  let found: Verb | undefined;
  for (const verb of verbs) {
    if (startsWithPath(words, verb.path) && verb.path.length > (found?.path.length ?? 0)) {
      found = verb;
    }
  }
  return found;
}

/**
 * The words that may come after `done` in a verb's path: `sys` then `setup`, `up`... A group's
 * word (`sys`) is described by its verbs.
 */
function nextPathWords(done: readonly string[], verbs: readonly Verb[]): Candidate[] {
  const next = new Map<string, { description: string; subverbs: string[] }>();
  for (const verb of verbs) {
    if (verb.path.length <= done.length || !startsWithPath(verb.path, done)) continue;
    const word = verb.path[done.length] ?? "";
    const entry = next.get(word) ?? { description: "", subverbs: [] };
    const sub = verb.path[done.length + 1];
    if (sub === undefined) entry.description = verb.description;
    else entry.subverbs.push(sub);
    next.set(word, entry);
  }
  return [...next].map(([word, e]) => ({
    word,
    description: e.description !== "" ? e.description : e.subverbs.join(", "),
  }));
}

/** What the words after a verb say: positionals so far, option values, a pending option. */
interface Walked {
  readonly positionals: string[];
  readonly values: Map<string, string>;
  /** The option whose value is the word under the cursor. */
  pending?: FlagSyntax;
  /** After `--`: every word is a positional. */
  dashes: boolean;
}

function flagsByName(flags: readonly FlagSyntax[]): Map<string, FlagSyntax> {
  return new Map(flags.flatMap((f) => f.names.map((n) => [n, f] as const)));
}

function walk(args: readonly string[], flags: readonly FlagSyntax[]): Walked {
  const byName = flagsByName(flags);
  const walked: Walked = { positionals: [], values: new Map(), dashes: false };
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? "";
    if (walked.dashes || !word.startsWith("-") || word === "-") {
      walked.positionals.push(word);
    } else if (word === "--") {
      walked.dashes = true;
    } else if (word.includes("=")) {
      const eq = word.indexOf("=");
      walked.values.set(word.slice(0, eq), word.slice(eq + 1));
    } else {
      const flag = byName.get(word);
      const arity = flag?.arity ?? 0;
      if (flag === undefined || arity === 0) continue;
      if (i + arity >= args.length) {
        walked.pending = flag;
        break;
      }
      i += arity;
      walked.values.set(word, args[i] ?? "");
    }
  }
  return walked;
}

function flagCandidates(flags: readonly FlagSyntax[]): Candidate[] {
  return flags.flatMap((f) => f.names.map((word) => ({ word, description: f.description })));
}

function valueCandidates(flag: FlagSyntax | undefined, lead = ""): Candidate[] {
  return (flag?.values ?? []).map((v) => ({ word: `${lead}${v}`, description: "" }));
}

/** The offer for the word `cur` after a verb, given the words between them. */
export function offerArgs(args: readonly string[], cur: string, syntax: ArgSyntax): Offer {
  const walked = walk(args, syntax.flags);
  const words = (candidates: Candidate[]): Offer => ({
    kind: "words",
    candidates: startingWith(candidates, cur),
  });
  if (walked.pending !== undefined) return words(valueCandidates(walked.pending));
  if (!walked.dashes && cur.startsWith("-")) {
    const eq = cur.indexOf("=");
    if (cur.startsWith("--") && eq > 0) {
      const name = cur.slice(0, eq);
      return words(valueCandidates(flagsByName(syntax.flags).get(name), `${name}=`));
    }
    return words(flagCandidates(syntax.flags));
  }
  const slotOf = (i: number) => syntax.positionals[i] ?? syntax.rest;
  if (slotOf(walked.positionals.length) !== processArgument) return words([]);
  const address = walked.values.get(addressFlag);
  return {
    kind: "processes",
    prefix: cur,
    exclude: walked.positionals.filter((_, i) => slotOf(i) === processArgument),
    ...(address !== undefined ? { address } : {}),
  };
}

/**
 * What to offer for the last of `words` (the words after the program name; the last one is
 * the word under the cursor, "" for a new one): the next word of a verb's path, else what the
 * verb takes there (its options, an option's values, the names of live processes).
 */
export async function offerFor(words: readonly string[], verbs: readonly Verb[]): Promise<Offer> {
  const cur = words.at(-1) ?? "";
  const done = words.slice(0, -1);
  const verb = findVerb(done, verbs);
  if (verb === undefined) {
    return { kind: "words", candidates: startingWith(nextPathWords(done, verbs), cur) };
  }
  return offerArgs(done.slice(verb.path.length), cur, await argSyntax(verb.commandClass));
}
