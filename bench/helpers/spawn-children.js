/**
 * Lower bound for workloads 2 and 3: plain Node spawning children with nothing else to do.
 *   node spawn-children.js N            spawn N `/bin/sleep 100000`, hold them; on SIGTERM
 *                                       SIGTERM them all, wait until each is reaped, exit 0.
 *   node spawn-children.js 1 --respawn  the same, and respawn a child at once when it dies
 *                                       unexpectedly (the floor of "restart after SIGKILL").
 */
import { spawn } from "node:child_process";

const n = Number(process.argv[2] ?? "100");
const respawn = process.argv.includes("--respawn");
const kids = new Set();
let stopping = false;

function start() {
  const child = spawn("/bin/sleep", ["100000"], { stdio: "ignore" });
  kids.add(child);
  child.on("exit", () => {
    kids.delete(child);
    if (stopping) {
      if (kids.size === 0) process.exit(0);
    } else if (respawn) start();
  });
}

// The handler comes first: the bench may send SIGTERM as soon as the last child has exec'd.
process.on("SIGTERM", () => {
  stopping = true;
  if (kids.size === 0) process.exit(0);
  for (const k of kids) k.kill("SIGTERM");
});
for (let i = 0; i < n; i++) start();
