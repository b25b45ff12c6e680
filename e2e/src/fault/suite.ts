/**
 * The fault and security suite (`pnpm fault`; `pnpm fault --short` in .ci/run): scenarios that
 * try hard to break the daemon's promises against real daemons, processes and sockets, each
 * reporting figures. One table at the end; a promise broken (a duplicate, an orphan, a lost line,
 * a crash, a failed check) makes the run fail.
 */

/** What a scenario measured. Counts the suite promises to be zero are checked as such. */
export interface ScenarioResult {
  /** Inputs tried (fuzzed files, requests, clients...). */
  readonly inputs?: number;
  /** Faults injected and survived (daemon kills, disk full, signals...). */
  readonly faults?: number;
  /** Promised zero: two instances of one process at once. */
  readonly duplicates?: number;
  /** Promised zero: processes left behind (setsid'd children included). */
  readonly orphans?: number;
  /** Promised zero: lines a process wrote that did not reach its log. */
  readonly lostLines?: number;
  /** Promised zero: daemon crashes (an exit it did not choose). */
  readonly crashes?: number;
  /** Other figures, shown as they are ("rss growth 1.2 MiB", "p99 list 12 ms"). */
  readonly notes?: readonly string[];
  /** Checks that failed, each a sentence: any makes the run fail. */
  readonly failures?: readonly string[];
}

export interface ScenarioContext {
  /** The short form (CI): fewer repetitions, same checks. */
  readonly short: boolean;
  /** A seed for everything random: the same seed gives the same inputs. */
  readonly seed: number;
  log(line: string): void;
}

export interface Scenario {
  readonly name: string;
  /** Why it is skipped here (not root, no systemd...), or false. */
  skip?(): string | false;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

const zeroColumns = ["duplicates", "orphans", "lostLines", "crashes"] as const;

/** The promises `r` breaks, as sentences (empty: none). */
export function brokenPromises(name: string, r: ScenarioResult): string[] {
  const broken = zeroColumns
    .filter((c) => (r[c] ?? 0) !== 0)
    .map((c) => `${name}: ${r[c]} ${c} (promised 0)`);
  return [...broken, ...(r.failures ?? []).map((f) => `${name}: ${f}`)];
}

/** The one table: a row per scenario, a total row. */
export function table(rows: readonly { name: string; result: ScenarioResult | string }[]): string {
  const head = ["scenario", "inputs", "faults", "dups", "orphans", "lost", "crashes", "result"];
  const cell = (n: number | undefined) => (n === undefined ? "-" : String(n));
  const total = { inputs: 0, faults: 0, duplicates: 0, orphans: 0, lostLines: 0, crashes: 0 };
  const lines = rows.map(({ name, result }) => {
    if (typeof result === "string") return [name, "", "", "", "", "", "", result];
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += result[k] ?? 0;
    const broken = brokenPromises(name, result).length;
    return [
      name,
      cell(result.inputs),
      cell(result.faults),
      cell(result.duplicates),
      cell(result.orphans),
      cell(result.lostLines),
      cell(result.crashes),
      broken === 0 ? "ok" : `FAILED (${broken})`,
    ];
  });
  lines.push([
    "total",
    String(total.inputs),
    String(total.faults),
    String(total.duplicates),
    String(total.orphans),
    String(total.lostLines),
    String(total.crashes),
    "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (l: readonly string[]) =>
    l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [fmt(head), ...lines.map(fmt)].join("\n");
}

/** A small seeded generator (mulberry32): the suite's inputs are reproducible from the seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
