/**
 * Lower bound for workload 8 (crash loop): plain Node restarting a program the moment it exits.
 *   node crash-loop.js PROGRAM [ARGS...]   run PROGRAM, and again each time it exits, with its
 *                                          stdout and stderr on pipes that are read and dropped
 *                                          (a supervisor reads them: no log files here).
 * On SIGTERM it stops restarting, waits for the current run to exit and exits 0.
 */
import { spawn } from "node:child_process";

const [program, ...args] = process.argv.slice(2);
let stopping = false;
let running = false;

function start() {
  running = true;
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.resume();
  child.stderr.resume();
  child.on("exit", () => {
    running = false;
    if (stopping) process.exit(0);
    start();
  });
}

// The handler comes first: the bench may send SIGTERM at any moment.
process.on("SIGTERM", () => {
  stopping = true;
  if (!running) process.exit(0);
});
start();
