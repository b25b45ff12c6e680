/**
 * The `tree` process of the cgroup tests: `sh` starting a setsid'd `sleep` (a session of its
 * own, so neither the process group nor the session of `sh` holds it) and a plain one, printing
 * the three pids on stdout once the setsid'd one really has its own session (/proc/PID/stat
 * field 6). A unique sleep length tells the test's sleeps apart from anything else in /proc.
 */

/** One run of `tree`: [sh, the setsid'd sleep, the plain sleep]. */
export type TreeRun = readonly [number, number, number];

export interface ProcessTree {
  /** The argument of both sleeps (`sleep <seconds>` is their whole argv). */
  readonly seconds: string;
  /** processes.yaml lines (indented for `processes:`) of process `name`, restart always. */
  readonly yaml: (name: string) => string;
}

export function processTree(): ProcessTree {
  const seconds = String(1_000_000 + Math.floor(Math.random() * 900_000));
  const script = [
    `setsid sleep ${seconds} & b=$!`,
    `sleep ${seconds} & c=$!`,
    `while [ "$(cut -d' ' -f6 /proc/$b/stat)" != "$b" ]; do sleep 0.01; done`,
    'echo "tree pids $$ $b $c"',
    "wait",
  ].join("\n");
  return {
    seconds,
    yaml: (name) =>
      [
        `  ${name}:`,
        "    command: /bin/sh",
        `    args: ["-c", ${JSON.stringify(script)}]`,
        "    auto_start: true",
        "    restart: always",
        "",
      ].join("\n"),
  };
}

/** Every run printed in a `tree` stdout log, oldest first. */
export function treeRuns(log: string): TreeRun[] {
  return [...log.matchAll(/^tree pids (\d+) (\d+) (\d+)$/gm)].map(
    (m) => [Number(m[1]), Number(m[2]), Number(m[3])] as const,
  );
}

/** Pids as a sorted copy (cgroup.procs is in no particular order). */
export function sortedPids(pids: readonly number[]): number[] {
  return [...pids].sort((a, b) => a - b);
}
