import { didYouMean } from "./did-you-mean.js";
import type { ConfigIssue } from "./errors.js";
import type { DependencyRefs } from "./resolve-process.js";
import type { ProcessConfig } from "./types.js";
import { issueAt, type SourceContext } from "./yaml-source.js";

/** A valid process definition and where it was written. */
export interface Defined {
  readonly config: ProcessConfig;
  readonly ctx: SourceContext;
}

/** Dependencies naming processes that do not exist (`known` = every name defined, valid or not). */
export function checkDependencyNames(
  refs: readonly DependencyRefs[],
  known: ReadonlySet<string>,
  issues: ConfigIssue[],
): void {
  for (const { ctx, deps } of refs) {
    for (const [field, names] of deps) {
      names.forEach((dep, i) => {
        if (known.has(dep)) return;
        const hint = didYouMean(dep, known);
        issues.push(
          issueAt(
            ctx,
            [field, i],
            `unknown process "${dep}"${hint ? `, did you mean "${hint}"?` : ""}`,
            { expected: "the name of a defined process", received: JSON.stringify(dep) },
          ),
        );
      });
    }
  }
}

/**
 * Cycles in the start-order graph: `a` waits for `b` when a.after, a.requires or a.binds_to
 * names b, or b.before names a. Each cycle is reported once, with its path.
 */
export function checkCycles(defs: readonly Defined[], issues: ConfigIssue[]): void {
  const byName = new Map(defs.map((d) => [d.config.name, d]));
  const edges = new Map<string, Map<string, string>>();
  const addEdge = (from: string, to: string, label: string) => {
    if (!byName.has(from) || !byName.has(to)) return;
    let m = edges.get(from);
    if (m === undefined) {
      m = new Map();
      edges.set(from, m);
    }
    if (!m.has(to)) m.set(to, label);
  };
  for (const { config } of defs) {
    for (const dep of config.after) addEdge(config.name, dep, "after");
    for (const dep of config.requires) addEdge(config.name, dep, "requires");
    for (const dep of config.bindsTo) addEdge(config.name, dep, "binds_to");
    for (const dep of config.before) addEdge(dep, config.name, `before:${config.name}`);
  }
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of edges.get(node)?.keys() ?? []) {
      const s = state.get(next);
      if (s === "visiting") report(stack.slice(stack.indexOf(next)));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  const report = (cycle: string[]) => {
    // Rotate so the smallest name comes first: the same cycle found twice is reported once.
    const min = [...cycle].sort()[0] as string;
    const start = cycle.indexOf(min);
    const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
    const key = rotated.join("\0");
    if (seen.has(key)) return;
    seen.add(key);
    const steps = rotated.map((from, i) => {
      const to = rotated[(i + 1) % rotated.length] as string;
      const label = edges.get(from)?.get(to) ?? "after";
      return label.startsWith("before:") ? `${to} before ${from}` : `${from} ${label} ${to}`;
    });
    const first = rotated[0] as string;
    const second = rotated[1 % rotated.length] as string;
    const label = edges.get(first)?.get(second) ?? "after";
    const def = byName.get(label.startsWith("before:") ? second : first) as Defined;
    const field = label.startsWith("before:") ? "before" : label;
    const list =
      field === "before"
        ? def.config.before
        : field === "binds_to"
          ? def.config.bindsTo
          : field === "requires"
            ? def.config.requires
            : def.config.after;
    const target = label.startsWith("before:") ? first : second;
    issues.push(
      issueAt(
        def.ctx,
        [field, Math.max(0, list.indexOf(target))],
        `dependency cycle: ${[...rotated, first].join(" → ")} (${steps.join(", ")})`,
        { code: "cycle" },
      ),
    );
  };
  for (const name of [...byName.keys()].sort()) if (!state.has(name)) visit(name);
}
