// The multi-call executable's choice of program (bundled into it by scripts/build-sea.mjs): the
// daemon and the CLI are one file, which runs as what it is called. One table: the names.
import { basename } from "node:path";

/**
 * Invocation names and what they run. `daemon` and `cli` are the names under target/release/
 * (the installation guide copies those files to /usr/bin/dd-procmgrd and dd-procmgr-cli).
 */
export const PROGRAMS = {
  "dd-procmgrd": "daemon",
  daemon: "daemon",
  "dd-procmgr-cli": "cli",
  "pm-cli": "cli",
  psh: "cli",
  cli: "cli",
};

/**
 * @typedef {{ role: "daemon" | "cli"; args: string[]; argv0: string }
 *   | { role: "usage"; code: number; out: "stdout" | "stderr" }
 *   | { role: "version" }} Choice
 */

/**
 * What to run for a command line. By the name called (`argv0`'s basename: a copy, a hard link
 * or a symlink named dd-procmgrd runs the daemon); else by the first argument, a subcommand
 * (`procmgr daemon --version`, `procmgr cli list`, or a program's name: `procmgr psh sys up`).
 * `argv0` of the result is the name the program should call itself.
 * @param {string} argv0
 * @param {readonly string[]} args
 * @returns {Choice}
 */
export function chooseProgram(argv0, args) {
  const name = basename(argv0).replace(/\.exe$/, "");
  const byName = PROGRAMS[name];
  // target/release/cli names itself as the guide installs it.
  if (name === "cli") return { role: "cli", args: [...args], argv0: "dd-procmgr-cli" };
  if (byName !== undefined) return { role: byName, args: [...args], argv0 };
  const [first, ...rest] = args;
  if (first === "daemon") return { role: "daemon", args: rest, argv0: "dd-procmgrd" };
  if (first === "cli") return { role: "cli", args: rest, argv0: "pm-cli" };
  const bySub = first === undefined ? undefined : PROGRAMS[first];
  if (bySub !== undefined) return { role: bySub, args: rest, argv0: first };
  if (first === "--version" || first === "-v") return { role: "version" };
  if (first === "--help" || first === "-h") return { role: "usage", code: 0, out: "stdout" };
  return { role: "usage", code: 2, out: "stderr" };
}

/** The text for a name that is none of the programs'. */
export function multicallUsage(name) {
  return `${name}: the procmgr daemon and CLI in one executable; it runs as the name it is called by:
  dd-procmgrd [flags]                      the daemon     (or: ${name} daemon [flags])
  dd-procmgr-cli | pm-cli | psh <command>  the CLI        (or: ${name} cli <command>)
Installed as /usr/bin/dd-procmgrd, with dd-procmgr-cli, pm-cli and psh links to it (or copies).
`;
}
