#!/usr/bin/env node
/**
 * node bench/cgroups.js [--quick]: what cgroups cost and save, with @procmgr/core in this
 * process (needs `pnpm build` and root). (1) `usage()` of one process whose tree holds 1, 10,
 * 100 and 1,000 processes: from its cgroup, and from /proc by process group (`cgroups: false`);
 * (2) 100 starts of `sleep`, each until running, with and without cgroups (the prelude that
 * enters the cgroup is one /bin/sh exec per start). See bench/README.md, "Cgroups".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { resolveProcessConfig } from "../packages/config/dist/index.js";
import { Supervisor } from "../packages/core/dist/index.js";

const quick = process.argv.includes("--quick");
const root = mkdtempSync(join(tmpdir(), "procmgr-bench-cgroups-"));
let n = 0;
const supervisor = (cgroups) =>
  new Supervisor({ stateDir: join(root, `s${n++}`), runtimeDir: join(root, "run"), cgroups });

/** Median of `runs` timings of `fn` in ms. */
async function median(runs, fn) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    t.push(performance.now() - start);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function usageCost(cgroups, size) {
  const sup = supervisor(cgroups);
  const script = `i=1; while [ $i -lt ${size} ]; do sleep 1000 & i=$((i+1)); done; echo up; exec sleep 1000`;
  await sup.create(resolveProcessConfig("tree", { command: "sh", args: ["-c", script] }));
  const up = new Promise((resolve) =>
    sup.on("output", ({ chunk }) => chunk.includes("up") && resolve()),
  );
  await sup.start("tree");
  await up;
  const count = (await sup.usage("tree")).processCount;
  const ms = await median(quick ? 20 : 100, () => sup.usage("tree"));
  await sup.shutdown();
  return { count, ms };
}

async function startCost(cgroups, count) {
  const sup = supervisor(cgroups);
  for (let i = 0; i < count; i++) {
    await sup.create(resolveProcessConfig(`s${i}`, { command: "sleep", args: ["1000"] }));
  }
  await sup.start("s0"); // the first start sets up the cgroups and the output pipes
  const start = performance.now();
  for (let i = 1; i < count; i++) await sup.start(`s${i}`);
  const ms = (performance.now() - start) / (count - 1);
  await sup.shutdown();
  return ms;
}

try {
  const probe = supervisor(undefined);
  const status = await probe.cgroupStatus();
  await probe.shutdown();
  console.log(`cgroups: ${status.summary}\n`);
  console.log("usage() of one tree, median ms     cgroup    process group (/proc)");
  for (const size of quick ? [1, 100] : [1, 10, 100, 1000]) {
    const cg = await usageCost(undefined, size);
    const pg = await usageCost(false, size);
    console.log(
      `  ${String(cg.count).padStart(5)} processes                 ${cg.ms.toFixed(3).padStart(7)}    ${pg.ms.toFixed(3).padStart(7)}`,
    );
  }
  const starts = quick ? 30 : 100;
  const withCg = await startCost(undefined, starts);
  const without = await startCost(false, starts);
  console.log(`\n${starts} starts, one after another, ms per start until running`);
  console.log(`  with cgroups ${withCg.toFixed(2)}   without ${without.toFixed(2)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
