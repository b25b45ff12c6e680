#!/usr/bin/env node
/**
 * Log output three ways, in the systemd sandbox (a real journald): a process writes LINES lines
 * of 100 bytes (bench/helpers/log-writer.pl, one write per 655 lines) to
 *   file      its log file (the default),
 *   rotated   its log file with log_max_size 20M, log_max_files 100 (rotations on the way),
 *   journal   the journal (stdout: journal), one entry per line through the native protocol;
 * through @procmgr/core's Supervisor, the code the daemon runs. For each: the time from the
 * writer's start to the last line delivered (in the file, or accepted by journald's socket), the
 * supervisor's CPU, and whether every line arrived in order (files: every rotated file read in
 * order; journal: counted and checked with journalctl).
 *
 *   node bench/logs-journal.js [LINES]      (default 1,000,000; BENCH_QUICK=1: 100,000)
 *
 * Needs root and what the e2e systemd harness needs (pnpm build first). journald's rate limit is
 * lifted inside the sandbox, as the units do for the daemon (LogRateLimitIntervalSec=0).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");
const writer = join(here, "helpers", "log-writer.pl");

async function inside(lines) {
  const { Supervisor } = await import(join(repo, "packages/core/dist/index.js"));
  const { resolveProcessConfig } = await import(join(repo, "packages/config/dist/index.js"));
  const results = [];
  for (const mode of ["file", "rotated", "journal"]) {
    const dir = mkdtempSync(join(tmpdir(), `bench-logs-${mode}-`));
    const sup = new Supervisor({ stateDir: dir, cgroups: false });
    const warnings = [];
    sup.on("warning", ({ message }) => warnings.push(message));
    const times = join(dir, "times");
    const proc = await sup.create(
      resolveProcessConfig(`logw-${mode}`, {
        command: "/usr/bin/perl",
        args: [writer, String(lines), "block", times],
        ...(mode === "journal" ? { stdout: "journal" } : {}),
        ...(mode === "rotated" ? { log_max_size: "20M", log_max_files: 100 } : {}),
      }),
    );
    // Output listeners get each chunk once it is in the file (or accepted by journald's socket).
    let delivered = 0;
    const all = new Promise((resolve) =>
      sup.subscribeOutput(proc.id, (_stream, chunk) => {
        delivered += chunk.length;
        if (delivered >= lines * 100) resolve();
      }),
    );
    const cpu0 = process.cpuUsage();
    const journald0 = journaldCpu();
    const t0 = performance.now();
    await sup.start(proc.id);
    await all;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const journaldSeconds = journaldCpu() - journald0;
    const check = mode === "journal" ? checkJournal(proc.id, lines) : checkFiles(dir, mode, lines);
    results.push({
      mode,
      lines,
      seconds: Number(seconds.toFixed(3)),
      linesPerSecond: Math.round(lines / seconds),
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
      journaldCpuSeconds: Number(journaldSeconds.toFixed(3)),
      ...check,
      ...(warnings.length > 0 ? { warnings: warnings.length, warning: warnings[0] } : {}),
    });
    await sup.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

/** journald's CPU seconds so far (utime + stime from /proc). */
function journaldCpu() {
  const r = spawnSync("systemctl", ["show", "-p", "MainPID", "--value", "systemd-journald"], {
    encoding: "utf8",
  });
  const pid = r.stdout.trim();
  if (!/^[1-9]\d*$/.test(pid)) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Every line in order across <file>.N ... <file>.1, <file>. */
function checkFiles(dir, mode, lines) {
  const logs = join(dir, "logs");
  const base = `logw-${mode}.stdout.log`;
  const rotated = readdirSync(logs)
    .filter((f) => f.startsWith(`${base}.`))
    .map((f) => Number(f.slice(base.length + 1)))
    .sort((a, b) => b - a);
  let next = 0;
  for (const f of [...rotated.map((n) => `${base}.${n}`), base]) {
    for (const line of readFileSync(join(logs, f), "latin1").split("\n")) {
      if (line === "") continue;
      if (Number(line.slice(0, 9)) !== next || line.length !== 99) {
        return { lossless: false, why: `${f}: line ${next} is ${line.slice(0, 20)}` };
      }
      next++;
    }
  }
  return { lossless: next === lines, rotatedFiles: rotated.length, linesFound: next };
}

/** Every line in the journal, in order (the first gaps named when some are missing). */
function checkJournal(id, lines) {
  const r = spawnSync("journalctl", ["-o", "cat", "--no-pager", `PROCMGR_PROCESS_ID=${id}`], {
    encoding: "latin1",
    maxBuffer: 1024 * 1024 * 1024,
  });
  const got = r.stdout.split("\n").filter((l) => l !== "");
  const gaps = [];
  let expect = 0;
  for (const line of got) {
    const n = Number(line.slice(0, 9));
    if (n !== expect && gaps.length < 5) gaps.push(`${expect}..${n - 1}`);
    expect = n + 1;
  }
  return {
    lossless: got.length === lines && gaps.length === 0,
    linesFound: got.length,
    ...(gaps.length > 0 ? { gaps: gaps.join(" ") } : {}),
  };
}

async function outside(lines) {
  const harness = join(repo, "e2e/dist/harness/systemd-sandbox.js");
  if (!existsSync(harness)) throw new Error("build first (pnpm build): no e2e/dist");
  const { startSandbox, sandboxSupport } = await import(harness);
  const support = sandboxSupport();
  if (!support.ok) throw new Error(`systemd sandbox unavailable: ${support.reason}`);
  const sb = await startSandbox("bench-logs");
  try {
    await sb.writeFile(
      "/etc/systemd/journald.conf.d/bench.conf",
      "[Journal]\nRateLimitIntervalSec=0\nSystemMaxUse=4G\nRuntimeMaxUse=4G\n",
    );
    await sb.exec(["systemctl", "restart", "systemd-journald"]);
    const r = await sb.exec(
      [process.execPath, fileURLToPath(import.meta.url), "--inside", String(lines)],
      {
        timeoutMs: 1_800_000,
      },
    );
    if (r.code !== 0) throw new Error(`inside the sandbox: ${r.stderr}`);
    const results = JSON.parse(r.stdout.trim().split("\n").pop());
    console.table(results);
  } finally {
    await sb.stop();
  }
}

const args = process.argv.slice(2);
// Read through a function, as bench/run.js does: turbo does not run the benches.
const benchEnv = (name) => process.env[name];
const quick = benchEnv("BENCH_QUICK") !== undefined;
if (args[0] === "--inside") await inside(Number(args[1]));
else await outside(Number(args[0] ?? (quick ? 100_000 : 1_000_000)));
