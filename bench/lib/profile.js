/**
 * Summary of a V8 .cpuprofile (from `node --cpu-prof`): self time per function, hottest first,
 * plus the share of idle, GC and "(program)" (native code outside JS: syscalls, libuv, ...).
 * Usage as a script: node bench/lib/profile.js FILE.cpuprofile [TOP]
 *
 * `window` ({ fromUs, toUs }) keeps only the samples taken in that span, in µs of
 * CLOCK_MONOTONIC: the profile's timestamps are V8's TimeTicks, the clock of
 * `process.hrtime` in any process on Linux, so another process can name a window it measured.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function summarizeProfile(file, top = 25, window = undefined) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  const dt = prof.timeDeltas ?? [];
  let t = prof.startTime ?? 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] ?? 0;
    if (window !== undefined && (t < window.fromUs || t > window.toUs)) continue;
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (dt[i] ?? 0));
  }
  const byFn = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const where = cf.url
      ? `${cf.url.replace(/^.*\/(node_modules|packages|apps)\//, "$1/")}:${cf.lineNumber + 1}`
      : "";
    const key = `${cf.functionName || "(anonymous)"} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    total += us;
  }
  const idle = byFn.get("(idle)") ?? 0;
  const busy = total - idle;
  const rows = [...byFn].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]);
  const lines = [
    `  sampled ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (idle ${(idle / 1e6).toFixed(2)} s)`,
  ];
  for (const [k, us] of rows.slice(0, top)) {
    lines.push(
      `  ${(us / 1e3).toFixed(1).padStart(9)} ms ${((100 * us) / Math.max(busy, 1)).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(summarizeProfile(process.argv[2], Number(process.argv[3] ?? 40)));
}
