/** Collected figures, in table order. */
import { fmtNumber, summarize } from "./stats.js";

/**
 * key, label, unit, the lower-bound figure shown beside it, and options: `higher` for the few
 * figures where more is better (rates), which the table says and its ratio column inverts.
 */
export const catalog = [
  ["rss_idle", "1 daemon RSS, idle", "MiB"],
  ["rss_idle_anon", "1 daemon RssAnon (own heap/stacks, no code pages), idle", "MiB"],
  ["rss_n", "1 daemon RSS, {n} running", "MiB"],
  ["rss_n_anon", "1 daemon RssAnon, {n} running", "MiB"],
  ["rss_cycles", "1 daemon RSS after {cycles} create/start/stop/delete cycles of {n}", "MiB"],
  ["start_n", "2 start {n} until all pids exist", "ms", "bound_node_start"],
  ["stop_n", "2 stop {n} until all are reaped", "ms", "bound_node_stop"],
  ["restart", "3 restart after SIGKILL (restart delay 0)", "ms", "bound_restart"],
  ["list_n", "4 CLI list as JSON, {n} processes", "ms"],
  [
    "log_block_time",
    "5 logs {logLines} lines, large writes: writer start to last byte",
    "s",
    "bound_log_block",
  ],
  ["log_block_cpu", "5 logs, large writes: daemon CPU", "s"],
  ["log_block_lossless", "5 logs, large writes: every line, in order", ""],
  [
    "log_line_time",
    "5 logs {logLines} lines, one write per line: writer start to last byte",
    "s",
    "bound_log_line",
  ],
  ["log_line_cpu", "5 logs, one write per line: daemon CPU", "s"],
  ["log_line_lossless", "5 logs, one write per line: every line, in order", ""],
  ["scale_start", "6 start {scaleN} until all pids exist", "s"],
  ["scale_stop", "6 stop {scaleN} until all are reaped", "s"],
  ["scale_list", "6 CLI list, {scaleN} processes", "ms"],
  ["scale_rss", "6 daemon RSS, {scaleN} running", "MiB"],
  ["scale_cpu", "6 daemon idle CPU over {idleSeconds} s, {scaleN} processes", "%"],
  ["bound_node_start", "7 plain Node spawning {n} children", "ms"],
  ["bound_node_stop", "7 plain Node stopping {n} children", "ms"],
  ["bound_sh_start", "7 shell loop spawning {n} children", "ms"],
  ["bound_sh_stop", "7 {n} children SIGTERMed and reaped by sh", "ms"],
  ["bound_restart", "7 plain Node respawning a SIGKILLed child", "ms"],
  ["bound_log_block", "7 writer straight to a file, large writes", "s"],
  ["bound_log_line", "7 writer straight to a file, one write per line", "s"],
  [
    "crash_rate",
    "8 crash loop, up to {crashExits} exits: exits per second",
    "exits/s",
    "bound_crash_rate",
    { higher: true },
  ],
  ["crash_cpu", "8 crash loop: daemon CPU per exit", "ms"],
  ["crash_rss500", "8 crash loop: daemon RSS after the first 500 exits", "MiB"],
  ["crash_rss_peak", "8 crash loop: peak daemon RSS over the loop", "MiB"],
  [
    "bound_crash_rate",
    "8 plain Node restarting a program that exits at once",
    "exits/s",
    undefined,
    { higher: true },
  ],
  [
    "fh_rate",
    "9 log firehose, {fhN} writers x {fhSeconds} s: lines delivered per second",
    "lines/s",
    undefined,
    { higher: true },
  ],
  ["fh_lossless", "9 log firehose: every line, in order", ""],
  ["fh_cpu", "9 log firehose: daemon CPU", "s"],
  ["fh_cpu_mib", "9 log firehose: daemon CPU per delivered MiB", "ms"],
  ["fh_list_p50", "9 log firehose: CLI list while it runs, p50", "ms"],
  ["fh_list_p99", "9 log firehose: CLI list while it runs, p99", "ms"],
  [
    "soak_rss_start",
    "10 soak, {soakN} processes, a SIGKILL every {soakKillMs} ms, {soakSeconds} s: daemon RSS at the start",
    "MiB",
  ],
  ["soak_rss_end", "10 soak: daemon RSS at the end", "MiB"],
  ["soak_rss_peak", "10 soak: peak daemon RSS", "MiB"],
  ["soak_growth", "10 soak: RSS growth (least squares, second half of the run)", "MiB/h"],
  ["bound_node_rss", "11 bare Node process that only waits: RSS after 2 s", "MiB"],
];

export class Results {
  constructor(cfg) {
    /** @type {Map<string, { key: string, label: string, unit: string, boundKey?: string, higher?: boolean, values: Record<string, number[]>, flags: Record<string, string> }>} */
    this.figures = new Map();
    for (const [key, label, unit, boundKey, opts] of catalog) {
      const text = label.replace(/\{(\w+)\}/g, (_, k) => Number(cfg[k]).toLocaleString("en-US"));
      const higher = opts?.higher === true;
      this.figures.set(key, { key, label: text, unit, boundKey, higher, values: {}, flags: {} });
    }
    this.extras = {};
    this.notes = [];
  }

  fig(key) {
    const f = this.figures.get(key);
    if (f === undefined) throw new Error(`unknown figure ${key}`);
    return f;
  }

  push(key, tool, value) {
    const f = this.fig(key);
    if (f.values[tool] === undefined) f.values[tool] = [];
    f.values[tool].push(value);
  }

  flag(key, tool, text) {
    this.fig(key).flags[tool] = text;
  }

  last(key, tool) {
    return this.fig(key).values[tool]?.at(-1) ?? Number.NaN;
  }

  median(key, tool) {
    return summarize(this.fig(key).values[tool] ?? [])?.median ?? Number.NaN;
  }

  summary(key, tool) {
    const s = summarize(this.fig(key).values[tool] ?? []);
    return s === null ? "n/a" : `${fmtNumber(s.min)}/${fmtNumber(s.median)}/${fmtNumber(s.max)}`;
  }

  extra(path, value, append = false) {
    if (append) {
      if (!Array.isArray(this.extras[path])) this.extras[path] = [];
      this.extras[path].push(value);
    } else this.extras[path] = value;
  }

  note(text) {
    this.notes.push(text);
  }

  /** Mark every figure of a failed workload for a tool. */
  failed(keys, tool, why) {
    for (const k of keys) {
      const f = this.fig(k);
      if ((f.values[tool] ?? []).length === 0) f.flags[tool] = `FAILED: ${why}`;
    }
  }

  toJSON() {
    return {
      figures: [...this.figures.values()],
      extras: this.extras,
      notes: this.notes,
    };
  }
}
