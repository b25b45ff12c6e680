/**
 * `pnpm fault [--short] [--seed N] [SCENARIO...]`: runs the fault and security suite (suite.ts)
 * and prints its table; exit 1 when a promise is broken. Scenarios live in scenarios.ts.
 */
import { stopAllDaemons } from "../harness/daemon.js";
import { scenarios } from "./scenarios.js";
import { brokenPromises, type ScenarioResult, table } from "./suite.js";

function parse(argv: readonly string[]): { short: boolean; seed: number; only: string[] } {
  let short = false;
  let seed = 20261205;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--short") short = true;
    else if (a === "--seed") seed = Number(argv[++i]);
    else if (a.startsWith("-")) throw new Error(`unknown option ${a} (--short, --seed N)`);
    else only.push(a);
  }
  if (!Number.isInteger(seed)) throw new Error("--seed: expected an integer");
  return { short, seed, only };
}

async function main(): Promise<number> {
  const { short, seed, only } = parse(process.argv.slice(2));
  const unknown = only.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(", ")} (${scenarios.map((s) => s.name).join(", ")})`,
    );
  }
  const chosen = only.length === 0 ? scenarios : scenarios.filter((s) => only.includes(s.name));
  const rows: { name: string; result: ScenarioResult | string }[] = [];
  const broken: string[] = [];
  for (const s of chosen) {
    const why = s.skip?.() ?? false;
    if (why !== false) {
      rows.push({ name: s.name, result: `skipped: ${why}` });
      continue;
    }
    const log = (line: string) => process.stderr.write(`[${s.name}] ${line}\n`);
    log(`start (seed ${seed}${short ? ", short" : ""})`);
    const t0 = Date.now();
    try {
      const result = await s.run({ short, seed, log });
      for (const n of result.notes ?? []) log(n);
      broken.push(...brokenPromises(s.name, result));
      rows.push({ name: s.name, result });
    } catch (e) {
      broken.push(`${s.name}: ${(e as Error).stack ?? e}`);
      rows.push({ name: s.name, result: `ERROR: ${(e as Error).message}` });
    } finally {
      await stopAllDaemons();
      log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  process.stdout.write(`\n${table(rows)}\n`);
  for (const b of broken) process.stdout.write(`BROKEN: ${b}\n`);
  return broken.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`pnpm fault: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
