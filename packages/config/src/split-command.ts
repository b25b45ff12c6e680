import { ConfigError } from "./errors.js";

/** A word of a split command line, and whether any part of it was quoted or escaped. */
export interface CommandWord {
  readonly value: string;
  readonly quoted: boolean;
}

function fail(command: string, message: string): never {
  throw ConfigError.fromIssues([
    {
      path: "",
      message,
      expected: "a command line with balanced quotes",
      received: JSON.stringify(command),
      code: "invalid",
    },
  ]);
}

/**
 * Split like a POSIX shell splits words, keeping track of quoting: blanks separate words,
 * '...' is literal, "..." honours backslash before $ ` " \ and newline, a backslash outside
 * quotes escapes the next character (backslash-newline joins lines). No expansion, no globbing.
 */
export function splitCommandWords(command: string): CommandWord[] {
  const words: CommandWord[] = [];
  let current = "";
  let inWord = false;
  let quoted = false;
  let i = 0;
  const push = () => {
    if (inWord) words.push({ value: current, quoted });
    current = "";
    inWord = false;
    quoted = false;
  };
  while (i < command.length) {
    const ch = command[i] as string;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      push();
      i++;
    } else if (ch === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) fail(command, `unterminated single quote at offset ${i}`);
      current += command.slice(i + 1, end);
      inWord = true;
      quoted = true;
      i = end + 1;
    } else if (ch === '"') {
      const start = i;
      i++;
      inWord = true;
      quoted = true;
      for (;;) {
        if (i >= command.length) fail(command, `unterminated double quote at offset ${start}`);
        const c = command[i] as string;
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\" && i + 1 < command.length) {
          const next = command[i + 1] as string;
          if (next === "\n") {
            i += 2;
            continue;
          }
          if (next === "$" || next === "`" || next === '"' || next === "\\") {
            current += next;
            i += 2;
            continue;
          }
        }
        current += c;
        i++;
      }
    } else if (ch === "\\") {
      if (i + 1 >= command.length) fail(command, "trailing backslash");
      const next = command[i + 1] as string;
      i += 2;
      if (next === "\n") continue;
      current += next;
      inWord = true;
      quoted = true;
    } else {
      current += ch;
      inWord = true;
      i++;
    }
  }
  push();
  return words;
}

/** Shell-like split of a command line (quotes honoured, no expansion); throws ConfigError. */
export function splitCommand(command: string): string[] {
  return splitCommandWords(command).map((w) => w.value);
}

/**
 * One word as a command line needs it to split back into that word: as is when it only holds
 * safe characters, else in single quotes (`'` written as `'\''`).
 */
export function quoteWord(word: string): string {
  if (word !== "" && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command and its arguments as one line: the arguments quoted, the command as written. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args.map(quoteWord)].join(" ");
}

/** Words a shell would treat as operators: procmgr never runs a shell, so they are mistakes. */
export const shellOperators: ReadonlySet<string> = new Set([
  "|",
  "||",
  "&",
  "&&",
  ";",
  ";;",
  ">",
  ">>",
  "<",
  "<<",
  "2>",
  "2>>",
  "2>&1",
  "&>",
  "|&",
]);
