/** Summaries and the one results table. */

/** @param {number[]} xs */
export function summarize(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

function fmtNumber(x) {
  if (!Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/**
 * A figure: one row of the table.
 * @typedef {{ key: string, label: string, unit: string, values: Record<string, number[]>,
 *   flags?: Record<string, string>, bound?: number, higher?: boolean }} Figure
 */

export function formatCell(values, flag) {
  const s = summarize(values ?? []);
  if (flag !== undefined && s === null) return flag;
  if (s === null) return "n/a";
  const text =
    s.n === 1
      ? fmtNumber(s.median)
      : `${fmtNumber(s.min)} / **${fmtNumber(s.median)}** / ${fmtNumber(s.max)}`;
  return flag === undefined ? text : `${text} ${flag}`;
}

/**
 * ours' median over the best (lowest) median of the other tools. For a figure where higher is
 * better (a rate), the best is the highest and the ratio is best / ours, so below 1.00x still
 * means ours is ahead. No ratio of signed figures (an RSS slope can be negative).
 */
export function ratioToBest(figure, ours, others) {
  const o = summarize(figure.values[ours] ?? []);
  const higher = figure.higher === true;
  let best = higher ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const t of others) {
    const s = summarize(figure.values[t] ?? []);
    if (s !== null && (higher ? s.median > best : s.median < best)) best = s.median;
  }
  if (o === null || !Number.isFinite(best) || best <= 0 || o.median < 0) return "n/a";
  if (higher) return o.median === 0 ? "n/a" : `${(best / o.median).toFixed(2)}x`;
  return `${(o.median / best).toFixed(2)}x`;
}

/**
 * Render the table as markdown (readable on a terminal, pasteable into the README).
 * Tool cells are min / **median** / max; the lower-bound column shows workload 7's figure
 * (its median beside the tool figures it bounds, its spread on its own rows).
 * @param {Iterable<Figure & { boundKey?: string }>} figures
 * @param {{ id: string, label: string }[]} tools
 */
export function renderTable(figures, tools, oursId = "ours") {
  const all = [...figures];
  const byKey = new Map(all.map((f) => [f.key, f]));
  const others = tools.filter((t) => t.id !== oursId).map((t) => t.id);
  const head = [
    "figure",
    ...tools.map((t) => `${t.label}: min / **median** / max`),
    "lower bound",
    "ours / best other",
  ];
  const rows = [head, head.map(() => "---")];
  for (const f of all) {
    const isBound = f.values.bound !== undefined && Object.keys(f.values).length === 1;
    let bound = "";
    if (isBound) bound = formatCell(f.values.bound);
    else if (f.boundKey !== undefined) {
      const b = summarize(byKey.get(f.boundKey)?.values.bound ?? []);
      if (b !== null) bound = fmtNumber(b.median);
    }
    const empty = tools.every((t) => f.values[t.id] === undefined && f.flags?.[t.id] === undefined);
    if (empty && !isBound) continue;
    const unit = f.higher === true ? `${f.unit}, higher is better` : f.unit;
    rows.push([
      unit === "" ? f.label : `${f.label} (${unit})`,
      ...tools.map((t) => (isBound ? "" : formatCell(f.values[t.id], f.flags?.[t.id]))),
      bound,
      isBound || !tools.some((t) => t.id === oursId) ? "" : ratioToBest(f, oursId, others),
    ]);
  }
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/**
 * @param {{ target: string, value: string, verdict: "met" | "missed" | "n/a" }[]} targets
 * @param {string} issue the header's issue ("issue 13")
 */
export function renderTargets(targets, issue = "issue 13") {
  const rows = [
    [`target (${issue})`, "ours", "verdict"],
    ["---", "---", "---"],
  ];
  for (const t of targets) rows.push([t.target, t.value, t.verdict.toUpperCase()]);
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

export { fmtNumber };
