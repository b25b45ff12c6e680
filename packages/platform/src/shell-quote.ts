/** POSIX shell quoting, for showing command lines (what --dry-run prints, describe, list). */

const safe = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word as a POSIX shell reads it back: as is when it has only characters no shell treats
 * specially, else in single quotes (a `'` inside becomes `'\''`). The empty word is `''`.
 */
export function shellQuote(word: string): string {
  return safe.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A command line: each word quoted as needed, joined by spaces. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** A command and its arguments as one line: the arguments quoted, the command as written. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args.map(shellQuote)].join(" ");
}
