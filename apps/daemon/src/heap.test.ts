import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { getHeapStatistics } from "node:v8";
import { fullGc, HeapCompactor } from "./heap.js";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * New-space size (bytes) of a fresh Node process that allocates 600,000 objects and keeps up to
 * 50,000 of them alive at a time (so many survive scavenges), with or without the daemon's flags.
 */
async function newSpaceAfterSurvivors(withFlags: boolean): Promise<number> {
  const heapJs = fileURLToPath(new URL("./heap.js", import.meta.url));
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    const { applyDaemonV8Flags } = await import(${JSON.stringify(heapJs)});
    if (${withFlags}) applyDaemonV8Flags();
    let keep = [];
    for (let i = 0; i < 600000; i++) {
      keep.push({ i, s: "x" + i });
      if (keep.length > 50000) keep = keep.slice(25000);
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    process.stdout.write(String(space.space_size));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return Number(stdout);
}

test("the daemon's V8 flags keep the young generation from growing", async () => {
  const mib = 1024 * 1024;
  const without = await newSpaceAfterSurvivors(false);
  const withFlags = await newSpaceAfterSurvivors(true);
  assert.ok(without >= 8 * mib, `without the flags V8 grows new space (${without / mib} MiB)`);
  assert.ok(withFlags <= 4 * mib, `with them it stays small (${withFlags / mib} MiB)`);
});

/**
 * Whether V8's memory reducer starts a collection of its own in a fresh Node process that grows
 * its old generation by ~30 MiB, runs the daemon's full collection and then idles for 16 s: the
 * reducer arms itself at that collection and decides 8 s later (the rest is slack for a loaded
 * machine), which V8 traces
 * (`--trace-gc-verbose` in V8 11, `--trace-memory-reducer` in later versions: the child sets
 * both, and V8 names the one it does not know on stdout). `flags` are set before the work.
 */
async function memoryReducerCollects(flags: "daemon" | readonly string[]): Promise<boolean> {
  const heapJs = fileURLToPath(new URL("./heap.js", import.meta.url));
  const script = `
    import { setFlagsFromString } from "node:v8";
    setFlagsFromString("--trace-gc-verbose");
    setFlagsFromString("--trace-memory-reducer");
    const { applyDaemonV8Flags, fullGc } = await import(${JSON.stringify(heapJs)});
    const flags = ${JSON.stringify(flags)};
    if (flags === "daemon") applyDaemonV8Flags();
    else for (const flag of flags) setFlagsFromString(flag);
    const keep = [];
    for (let i = 0; i < 400000; i++) keep.push({ i, s: "x" + i });
    // Promoted garbage too: V8 arms the reducer at a full collection that gives back more than
    // 1 MiB of committed memory, which freeing only what was kept left to chance.
    let garbage = [];
    for (let i = 0; i < 300000; i++) garbage.push({ i, s: "y" + i });
    garbage = null;
    fullGc()();
    setTimeout(() => keep.length, 16000);
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return /Memory reducer: started GC/.test(stdout);
}

test("the daemon's V8 flags keep V8's memory reducer from collecting on its own", async () => {
  const [smallYoungGenerationOnly, daemon] = await Promise.all([
    memoryReducerCollects(["--semi-space-growth-factor=1"]),
    memoryReducerCollects("daemon"),
  ]);
  assert.equal(smallYoungGenerationOnly, true, "with incremental marking the reducer collects");
  assert.equal(daemon, false, "with the daemon's flags it never does");
});

test("fullGc collects old-generation garbage and leaves no global gc", () => {
  const hadGc = typeof (globalThis as { gc?: unknown }).gc;
  const collect = fullGc();
  // Objects that live long enough to be promoted, then are dropped.
  let garbage: object[] | null = [];
  for (let i = 0; i < 300000; i++) garbage.push({ i, s: `x${i}` });
  garbage = null;
  const before = getHeapStatistics().used_heap_size;
  collect();
  const after = getHeapStatistics().used_heap_size;
  assert.ok(
    before - after >= 8 * 1024 * 1024,
    `freed ${((before - after) / 1048576).toFixed(1)} MiB (before ${before}, after ${after})`,
  );
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, hadGc);
});

/**
 * Old-space pages (MiB) of a fresh Node process that promotes 300,000 small objects, drops two
 * in three (every page keeps a third of its objects: fragmented, but not free enough for V8's
 * heuristics to move them) and collects: with `gc()` as V8 exposes it, or with `fullGc()`. Then
 * the same again with a plain `gc()`, which tells whether the compaction stayed on afterwards.
 */
async function oldSpaceAfterFragmenting(collector: "gc" | "fullGc"): Promise<[number, number]> {
  const heapJs = fileURLToPath(new URL("./heap.js", import.meta.url));
  const script = `
    import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
    import { runInNewContext } from "node:vm";
    const { fullGc } = await import(${JSON.stringify(heapJs)});
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc");
    const mib = () =>
      getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_size / 1048576;
    function fragment(collect) {
      let keep = [];
      for (let i = 0; i < 300000; i++) keep.push({ i, s: "x" + i });
      gc();
      gc();
      keep = keep.filter((_, i) => i % 3 === 0);
      collect();
      return keep;
    }
    globalThis.kept = [fragment(${collector === "fullGc" ? "fullGc()" : "gc"})];
    const sizes = [mib()];
    globalThis.kept.push(fragment(gc));
    sizes.push(mib());
    process.stdout.write(JSON.stringify(sizes));
  `;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return JSON.parse(stdout) as [number, number];
}

test("fullGc compacts fragmented pages, for that collection only", async () => {
  const [plain, compacting] = await Promise.all([
    oldSpaceAfterFragmenting("gc"),
    oldSpaceAfterFragmenting("fullGc"),
  ]);
  const [plainFirst] = plain;
  const [compactedFirst, plainAfterwards] = compacting;
  assert.ok(
    compactedFirst * 1.6 <= plainFirst,
    `fullGc left ${compactedFirst} MiB of old space, V8's gc() ${plainFirst} MiB`,
  );
  // The second round, collected with a plain gc() after fullGc(), added fragmented pages as
  // V8's own heuristics leave them (compacting, it would add ~6 MiB, a third of these).
  assert.ok(
    plainAfterwards - compactedFirst >= plainFirst * 0.6,
    `a later gc() compacted too: old space ${compactedFirst} → ${plainAfterwards} MiB`,
  );
});

function fakeHeap(start: number) {
  const state = { used: start, collections: 0 };
  return {
    state,
    compact: () => {
      state.collections++;
      state.used = start;
    },
    heapBytes: () => state.used,
  };
}

test("HeapCompactor collects once, after the quiet period that follows activity", async () => {
  const heap = fakeHeap(10);
  const seen: { beforeBytes: number; afterBytes: number }[] = [];
  const c = new HeapCompactor({
    delayMs: 40,
    minGrowthBytes: 5,
    compact: heap.compact,
    heapBytes: heap.heapBytes,
    onCompacted: (info) => seen.push(info),
  });
  try {
    heap.state.used = 100;
    // Activity every 10 ms for 150 ms: never quiet for 40 ms, so no collection.
    for (let i = 0; i < 15; i++) {
      c.activity();
      await sleep(10);
    }
    assert.equal(heap.state.collections, 0);
    await sleep(120);
    assert.equal(heap.state.collections, 1);
    assert.deepEqual(
      seen.map(({ beforeBytes, afterBytes }) => ({ beforeBytes, afterBytes })),
      [{ beforeBytes: 100, afterBytes: 10 }],
    );
    // Quiet again, but the heap has not grown by minGrowthBytes since: left alone.
    heap.state.used = 14;
    c.activity();
    await sleep(120);
    assert.equal(heap.state.collections, 1);
    heap.state.used = 15;
    c.activity();
    await sleep(120);
    assert.equal(heap.state.collections, 2);
  } finally {
    c.close();
  }
});

test("HeapCompactor: nothing runs after close", async () => {
  const heap = fakeHeap(0);
  const c = new HeapCompactor({
    delayMs: 20,
    minGrowthBytes: 1,
    compact: heap.compact,
    heapBytes: heap.heapBytes,
  });
  heap.state.used = 100;
  c.activity();
  c.close();
  c.activity();
  await sleep(100);
  assert.equal(heap.state.collections, 0);
});
