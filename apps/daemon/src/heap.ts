import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * V8 flags the daemon sets on itself at start (a Node 20 single executable cannot carry
 * `execArgv`, and `NODE_OPTIONS` is ignored under file capabilities).
 *
 * `--semi-space-growth-factor=1` keeps the young generation at its initial 1 MiB semi-space.
 * V8 doubles it (up to 16 MiB, twice: from- and to-space) whenever enough objects survive
 * scavenges, which a burst of starts and stops does: the daemon's anonymous memory went from
 * 18 to 40 MiB with 100 processes running and to 64 MiB after a few start/stop cycles of 100,
 * and came back only after a long idle period. The daemon allocates little between events, so a
 * small nursery costs nothing measurable (bench/README.md). V8 reads the flag at each growth
 * decision, so setting it at run time works.
 *
 * `--no-incremental-marking` leaves the old generation's collections to `HeapCompactor` (below)
 * and to V8's allocation limit. With incremental marking on, V8's memory reducer arms itself
 * after a full collection that finds the old generation 10 MiB larger than at its last run (the
 * start of 1,000 processes does) and, 8 s later, runs two more full collections of its own:
 * 60-130 ms of CPU in an idle daemon, repeating what the compactor did 500 ms after the burst.
 * The reducer cannot be removed once the heap exists (`--no-memory-reducer` set now is ignored),
 * but it only collects when it can start incremental marking: without it, it wakes every 8 s,
 * finds it cannot, and sleeps again (V8 11's memory-reducer.cc). The cost: V8's own full
 * collections at its allocation limit run in one pause instead of in steps between tasks,
 * 20-60 ms for the daemon's 15-35 MiB heap, as the compactor's already do.
 *
 * `--no-opt` keeps TurboFan, V8's optimizing compiler, from running: the daemon's code runs in
 * the interpreter and as Sparkplug's baseline code. The daemon waits on system calls, not on
 * JavaScript, and TurboFan cost more than it gave: its own code in Node's executable (~4 MiB of
 * pages that every compilation touches), the optimized code and the compiler's memory (~2-3 MiB
 * more anonymous memory), and the compilations themselves, which compete with the work of a
 * burst on a small machine. Without it (bench, same minute): RSS with 100 running 59-60 →
 * 53-54 MiB, start 100 410-446 → 310-324 ms, stop 100, restart, list of 100 and of 1,000 and
 * both log figures unchanged (bench/README.md, "Daemon memory", item 6).
 */
export const DAEMON_V8_FLAGS = [
  "--semi-space-growth-factor=1",
  "--no-incremental-marking",
  "--no-opt",
] as const;

export function applyDaemonV8Flags(): void {
  for (const flag of DAEMON_V8_FLAGS) setFlagsFromString(flag);
}

/** A full collection (mark-compact of the whole heap). */
export type CompactFn = () => void;

/**
 * V8's `gc()` without arguments: a full mark-compact, as V8 runs when the old generation reaches
 * its limit. (V8 11's `gc({ type: "major" })` runs a scavenge: the options are not used.)
 * `--expose-gc` is on only while a fresh context is made, so the daemon's own global has no `gc`.
 *
 * The collection also compacts every fragmented page (`--compact-on-every-full-gc`, on for this
 * call only). By its own heuristics V8 moves objects off a page only when it is mostly free, so
 * after a few start/stop bursts of 100 the old generation kept 13 MiB of pages for 9-10 MiB of
 * live objects; compacted, 10 MiB (bench/README.md, "Daemon memory", item 6). It costs the
 * copying of the live objects, ~10 MiB, once after each burst; V8's own collections keep the
 * usual heuristics.
 */
export function fullGc(): CompactFn {
  setFlagsFromString("--expose-gc");
  let gc: () => void;
  try {
    gc = runInNewContext("gc") as () => void;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
  return () => {
    setFlagsFromString("--compact-on-every-full-gc");
    try {
      gc();
    } finally {
      setFlagsFromString("--no-compact-on-every-full-gc");
    }
  };
}

export interface HeapCompactorOptions {
  /** Quiet time after the last activity before compacting. */
  readonly delayMs: number;
  /** Growth of the used heap since the last collection below which a quiet period is let be. */
  readonly minGrowthBytes: number;
  readonly compact?: CompactFn;
  readonly heapBytes?: () => number;
  readonly onCompacted?: (info: { ms: number; beforeBytes: number; afterBytes: number }) => void;
}

/**
 * Collects the garbage of a burst of work once the daemon is quiet. Starting, stopping or
 * deleting many processes fills the old generation with garbage, and V8 collects it only when
 * the generation reaches its limit, which it raises as the heap grows (its memory reducer, which
 * would collect 8 s after a full collection, is kept from collecting by DAEMON_V8_FLAGS): RSS
 * after five start/stop cycles of 100 was 10-40 MiB above RSS after the first one, with the same
 * live heap (~11-16 MiB). The daemon calls `activity()` on every lifecycle event; once nothing
 * has happened for `delayMs` and the used heap has grown by `minGrowthBytes` since the last
 * collection, it runs one full collection: a pause of 20-60 ms with a 15-35 MiB heap on 2 slow
 * cores, only ever after the quiet period, never while events keep coming (a crash loop, a
 * deploy).
 */
export class HeapCompactor {
  private readonly compact: CompactFn;
  private readonly heapBytes: () => number;
  private timer: NodeJS.Timeout | undefined;
  /** Used heap after the last collection. */
  private baseline = 0;
  private closed = false;

  constructor(private readonly options: HeapCompactorOptions) {
    this.compact = options.compact ?? fullGc();
    this.heapBytes = options.heapBytes ?? (() => getHeapStatistics().used_heap_size);
  }

  /** Something happened: (re)start the quiet period. */
  activity(): void {
    if (this.closed) return;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.quiet(), this.options.delayMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private quiet(): void {
    this.timer = undefined;
    const before = this.heapBytes();
    if (before < this.baseline + this.options.minGrowthBytes) return;
    const started = performance.now();
    this.compact();
    const after = this.heapBytes();
    this.baseline = after;
    this.options.onCompacted?.({
      ms: performance.now() - started,
      beforeBytes: before,
      afterBytes: after,
    });
  }
}
