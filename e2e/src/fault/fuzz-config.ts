/**
 * Config fuzzing: 10,000 mutated processes.yaml files, 10,000 environment files and 10,000 psh
 * host profiles (1,000 each short) through the real parsers, each in a worker thread so that a
 * hang (over 5 s) is caught; then a sample (300, 50 short) through the real daemon
 * (fuzz-config-daemon.ts). Promised: no crash (only ConfigError / PshError thrown), no hang,
 * every rejection located (a line or a field path).
 */
import { repoRoot } from "../harness/daemon.js";
import { fuzzThroughDaemon } from "./fuzz-config-daemon.js";
import { configSeeds } from "./fuzz-config-inputs.js";
import { fuzzKind, type KindStats, kindNotes } from "./fuzz-config-run.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./suite.js";

/** What this fuzzer found, and where it was fixed (each with a regression test there). */
const findings: readonly string[] = [
  "found+fixed: a NUL byte in a command, argument, env value or path was accepted; every start then failed naming neither file nor field (config process-checks.ts nulBytes: an issue at its path and line)",
  "found+fixed: a NUL byte in an environment_file passed through; the start failed with Node's message (core environment.ts: fails naming the file and line)",
  "found+fixed: a second YAML document ('---', '...') was rejected without a line (js-yaml gives none; platform secondDocumentLine, used by config and psh)",
  "found+fixed: a JSON/JSONC host profile's syntax error had no line:column (psh json-position.ts)",
];

export const fuzzConfig: Scenario = {
  name: "fuzz-config",
  skip: () => (process.getuid?.() === 0 ? false : "needs root (runs the daemon as nobody)"),
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const count = ctx.short ? 1000 : 10_000;
    const sample = ctx.short ? 50 : 300;
    const seeds = configSeeds(repoRoot);
    ctx.log(`${seeds.texts.length} valid processes.yaml seeds`);
    const kinds = await Promise.all(
      (["config", "env", "profile"] as const).map((k) => fuzzKind(k, count, ctx.seed, repoRoot)),
    );
    for (const k of kinds) for (const n of kindNotes(k)) ctx.log(n);
    const config = kinds[0] as KindStats;
    const daemon = await fuzzThroughDaemon({
      seed: ctx.seed,
      seeds,
      configCount: count,
      envCount: count,
      sample,
      verdictOf: config.verdictOf,
    });
    const crashes = kinds.reduce((n, k) => n + k.failures.count("crash"), 0) + daemon.crashes;
    return {
      inputs: kinds.reduce((n, k) => n + k.inputs, 0) + daemon.checks + daemon.envStarts,
      crashes,
      notes: [
        ...kinds.flatMap(kindNotes),
        `daemon: ${daemon.checks} --check-config, ${daemon.reloads} ReloadConfig, ${daemon.envStarts} starts with a fuzzed environment_file`,
        ...daemon.notes,
        ...findings,
      ],
      failures: [...kinds.flatMap((k) => k.failures.list()), ...daemon.failures.list()],
    };
  },
};
