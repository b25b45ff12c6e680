/** Counting for the fuzzing scenarios: counts by name, and the most frequent as one note. */

export class Tally {
  private readonly counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  get total(): number {
    let t = 0;
    for (const n of this.counts.values()) t += n;
    return t;
  }

  /** The `n` most frequent, "key ×count" joined by "; ". */
  top(n: number): string {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([k, c]) => `${k} ×${c}`)
      .join("; ");
  }

  /** Every count, in key order. */
  entries(): [string, number][] {
    return [...this.counts].sort((a, b) => a[0].localeCompare(b[0]));
  }

  /** Every count, "key count" joined by ", " in key order. */
  all(): string {
    return this.entries()
      .map(([k, c]) => `${k} ${c}`)
      .join(", ");
  }
}

/** Keeps the first `max` failures of each kind word for word, and counts the rest. */
export class Failures {
  private readonly kept: string[] = [];
  private readonly perKind = new Tally();

  constructor(private readonly max = 5) {}

  add(kind: string, sentence: string): void {
    this.perKind.add(kind);
    if (this.perKind.get(kind) <= this.max) this.kept.push(sentence);
  }

  count(kind: string): number {
    return this.perKind.get(kind);
  }

  get total(): number {
    return this.perKind.total;
  }

  /** The kept sentences, then one per kind with more than were kept. */
  list(): string[] {
    const more = this.perKind
      .entries()
      .filter(([, n]) => n > this.max)
      .map(([k, n]) => `${k}: ${n - this.max} more like the above`);
    return [...this.kept, ...more];
  }
}
