/**
 * Dependencies between processes, pure (configs and names, no processes): which starts before
 * which (after/before), what a start pulls in first (requires/wants), what it stops first
 * (conflicts), what stops with a process (binds_to), and, for a set starting together, what may
 * start now. The supervisor walks its registry with these; nothing here touches a process.
 */
import type { ProcessConfig } from "@procmgr/config";

/** The dependency fields of a process config. */
export type DependencyFields = Pick<
  ProcessConfig,
  "name" | "after" | "before" | "requires" | "wants" | "bindsTo" | "conflicts"
>;

/** Whether `first` starts before `then` when both start together (`then` after, or `first` before). */
export function startsBefore(first: DependencyFields, then: DependencyFields): boolean {
  return then.after.includes(first.name) || first.before.includes(then.name);
}

/**
 * Whether `first` stops before `then` when both stop together (shutdown): the reverse of the
 * start order, and what depends on `then` (requires, wants, binds_to) stops before it.
 */
export function stopsBefore(first: DependencyFields, then: DependencyFields): boolean {
  const name = then.name;
  return (
    startsBefore(then, first) ||
    first.requires.includes(name) ||
    first.wants.includes(name) ||
    first.bindsTo.includes(name)
  );
}

/** Whether `a` and `b` may not run together (conflicts, on either side). */
export function conflict(a: DependencyFields, b: DependencyFields): boolean {
  return a.conflicts.includes(b.name) || b.conflicts.includes(a.name);
}

/** Whether `dependent` stops when the process `name` stops, exits or fails (binds_to). */
export function bindsTo(dependent: DependencyFields, name: string): boolean {
  return dependent.bindsTo.includes(name);
}

/** A process a manual start starts first; `required`: the start fails unless it runs. */
export interface Dependency {
  readonly name: string;
  readonly required: boolean;
}

/** What a manual start of `config` starts first, in order: its requires, then its wants. */
export function dependencies(config: DependencyFields): Dependency[] {
  const out: Dependency[] = [];
  for (const name of config.requires) out.push({ name, required: true });
  for (const name of config.wants) out.push({ name, required: config.requires.includes(name) });
  return out;
}

/**
 * The order in which a set of processes starts together (`apply`): each once its predecessors
 * in the set (after/before) have finished starting, whatever came of them; the others at once.
 * With `stopsBefore` for `precedes`, the order in which a set stops together (shutdown).
 * Names outside the set are ignored. A cycle is broken where the walk meets it: the walk visits
 * the set in the order given, each member's predecessors first, and skips a predecessor that is
 * already on its way (so of `a after b` and `b after a`, listed a then b, b starts first).
 */
export class StartOrder {
  private readonly predecessors = new Map<string, readonly string[]>();
  /** Members in the walk's finishing order (predecessors first). */
  private readonly order: string[] = [];
  /** Unfinished predecessors of each member. */
  private readonly waitingFor = new Map<string, number>();
  private readonly dependents = new Map<string, string[]>();
  private readonly queue: string[] = [];
  private unfinished: number;

  constructor(
    set: readonly DependencyFields[],
    precedes: (first: DependencyFields, then: DependencyFields) => boolean = startsBefore,
  ) {
    const visit = (c: DependencyFields, path: ReadonlySet<string>): void => {
      if (this.predecessors.has(c.name)) return;
      const preds = set.filter((o) => o.name !== c.name && !path.has(o.name) && precedes(o, c));
      const next = new Set(path).add(c.name);
      for (const o of preds) visit(o, next);
      this.predecessors.set(
        c.name,
        preds.map((o) => o.name),
      );
      this.order.push(c.name);
    };
    for (const c of set) visit(c, new Set());
    for (const name of this.order) {
      const preds = this.predecessors.get(name) ?? [];
      this.waitingFor.set(name, preds.length);
      for (const p of preds) {
        const list = this.dependents.get(p);
        if (list) list.push(name);
        else this.dependents.set(p, [name]);
      }
      if (preds.length === 0) this.queue.push(name);
    }
    this.unfinished = this.order.length;
  }

  /** The members that start only after these have finished starting. */
  before(name: string): readonly string[] {
    return this.predecessors.get(name) ?? [];
  }

  /** What may start now: members whose predecessors have all finished. Each is answered once. */
  ready(): string[] {
    return this.queue.splice(0);
  }

  /** `name` has finished starting (running, failed, whatever came of it). */
  finish(name: string): void {
    if (!this.predecessors.has(name)) return;
    this.unfinished--;
    for (const d of this.dependents.get(name) ?? []) {
      const left = (this.waitingFor.get(d) ?? 0) - 1;
      this.waitingFor.set(d, left);
      if (left === 0) this.queue.push(d);
    }
  }

  /** Whether every member has finished starting. */
  get done(): boolean {
    return this.unfinished <= 0;
  }
}

/**
 * `action` on each of `list`, each once those that `precedes` it are done, the rest at once;
 * resolves when every action has settled. `action` must not reject (its caller reports).
 */
export function inOrder<T extends { readonly config: DependencyFields }>(
  list: readonly T[],
  precedes: (first: DependencyFields, then: DependencyFields) => boolean,
  action: (item: T) => Promise<void>,
): Promise<void> {
  const byName = new Map(list.map((item) => [item.config.name, item]));
  const order = new StartOrder(
    list.map((item) => item.config),
    precedes,
  );
  return new Promise((done) => {
    const startReady = (): void => {
      if (order.done) {
        done();
        return;
      }
      for (const name of order.ready()) {
        void action(byName.get(name) as T).then(() => {
          order.finish(name);
          startReady();
        });
      }
    };
    startReady();
  });
}
