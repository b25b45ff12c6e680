/**
 * 50 concurrent clients on the unix socket creating, starting, stopping, restarting, updating
 * and deleting the same 10 names, with a config reload (which defines some of those names) in
 * the middle. While they run, /proc is sampled for two live instances of one name. Afterwards:
 * what `list` says runs is what runs and the other way round (every running state has its live
 * pid, every live process belongs to a listed running one, each in its own cgroup); after a
 * graceful restart the API processes are the same (ids, specs, whether they run); after
 * deleting everything, nothing of ours runs. An answer other than the expected refusals
 * (not found, already exists, failed precondition) is a failure.
 */
import { writeFile } from "node:fs/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ProcessManagerClient, ProcessSpec, ProcessStatus } from "@procmgr/rpc";
import { ProcessSource, ProcessState } from "@procmgr/rpc";
import { type DaemonInstance, startDaemon } from "../harness/daemon.js";
import {
  cgroupBase,
  confirmedDuplicates,
  markedProcesses,
  markerToken,
} from "../harness/marked.js";
import {
  cleanUp,
  compareWithList,
  configText,
  type Def,
  type Kind,
  specKey,
  specOf,
} from "./fleet.js";
import { random, type Scenario, type ScenarioContext, type ScenarioResult } from "./suite.js";

const names = Array.from({ length: 10 }, (_, i) => `r${i}`);
const before: readonly Def[] = [
  { name: "r7", kind: "steady", autoStart: true },
  { name: "r8", kind: "forker", autoStart: true },
];
const after: readonly Def[] = [
  { name: "r8", kind: "forker", autoStart: true, env: { GEN: "reloaded" } },
  { name: "r9", kind: "steady", autoStart: true },
];
const expected = new Set([Code.NotFound, Code.AlreadyExists, Code.FailedPrecondition]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Storm {
  requests: number;
  /** Requests that did what they asked (the rest were refused: not found, already exists...). */
  answered: number;
  duplicates: number;
  /** The worst duplicates seen, described. */
  seen?: string;
  readonly failures: string[];
}

/** One random request on a random name. */
function request(client: ProcessManagerClient, token: string, rand: () => number, n: number) {
  const name = names[Math.floor(rand() * names.length)] as string;
  const pick = rand();
  if (pick < 0.25) {
    const kind: Kind = rand() < 0.3 ? "forker" : "steady";
    const spec = specOf(token, { name, kind, autoStart: rand() < 0.7 }) as ProcessSpec;
    return client.create({ spec });
  }
  if (pick < 0.45) return client.start({ id: name });
  if (pick < 0.6) return client.stop({ id: name });
  if (pick < 0.7) return client.restart({ id: name });
  if (pick < 0.85) {
    const spec = specOf(token, { name, kind: "steady", autoStart: true, env: { GEN: `${n}` } });
    return client.update({
      id: name,
      spec: spec as ProcessSpec,
      fields: ["env"],
      restartProcess: rand() < 0.5,
    });
  }
  return client.delete({ id: name, force: rand() < 0.8 });
}

/** The clients, the reload halfway, and the sampler of /proc. */
async function storm(d: DaemonInstance, token: string, ctx: ScenarioContext, s: Storm) {
  const perClient = ctx.short ? 8 : 40;
  const total = 50 * perClient;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const found = await confirmedDuplicates(token);
      if (found.count > s.duplicates) s.seen = found.seen;
      s.duplicates = Math.max(s.duplicates, found.count);
      await sleep(50);
    }
  })();
  let reloaded = false;
  const clients = Array.from({ length: 50 }, async (_, i) => {
    const rand = random(ctx.seed + i);
    const c = await d.connect("unix");
    for (let k = 0; k < perClient; k++) {
      s.requests++;
      if (!reloaded && s.requests >= total / 2) {
        reloaded = true;
        await writeFile(d.configPath, configText(token, after));
        await c.client.reloadConfig({}).catch((e: unknown) => {
          s.failures.push(`reload: ${(e as Error).message}`);
        });
        continue;
      }
      await request(c.client, token, rand, s.requests).then(
        () => s.answered++,
        (e: unknown) => {
          const code = ConnectError.from(e).code;
          if (!expected.has(code)) s.failures.push(`request: ${(e as Error).message}`);
        },
      );
    }
    c.close();
  });
  await Promise.all(clients);
  sampling = false;
  await sampler;
}

/** Waits until no process is starting or stopping (30 s at most); answers the list. */
async function settled(client: ProcessManagerClient): Promise<ProcessStatus[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = (await client.list({})).processes;
    const moving = list.some(
      (p) => p.state === ProcessState.STARTING || p.state === ProcessState.STOPPING,
    );
    if (!moving || Date.now() > deadline) return list;
    await sleep(100);
  }
}

/** `list` against /proc (a few looks, for a process between its spawn and its running state). */
async function consistent(client: ProcessManagerClient, token: string, what: string, s: Storm) {
  let problems: string[] = [];
  let strays = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const list = await settled(client);
    const m = compareWithList(list, markedProcesses(token));
    problems = [
      ...m.lost,
      ...m.strays.map((p) => `pid ${p.pid} runs as ${p.name}, which list does not say runs`),
    ];
    strays = m.strays.length;
    if (problems.length === 0 && m.duplicates === 0) break;
    await sleep(250);
  }
  const found = await confirmedDuplicates(token);
  if (found.count > s.duplicates) s.seen = found.seen;
  s.duplicates = Math.max(s.duplicates, found.count);
  s.failures.push(...problems.map((p) => `${what}: ${p}`));
  return problems.length === 0 ? 0 : strays;
}

/** What a restart must keep of the API processes: id, spec and whether each runs. */
async function apiState(client: ProcessManagerClient): Promise<string[]> {
  const list = (await client.list({})).processes.filter((p) => p.source === ProcessSource.API);
  const out: string[] = [];
  for (const p of list) {
    const spec = (await client.describe({ id: p.id })).spec;
    out.push(`${p.name} ${p.id} ${p.state === ProcessState.RUNNING} ${specKey(spec ?? {})}`);
  }
  return out.sort();
}

/** What this scenario found, and the fix (shown with its figures). */
const findings = [
  "found: two calls that waited out one stop (restart and start) each launched a run; the second's spawn event threw invalid-state and killed the daemon; fixed: Lifecycle.launch starts one run at a time",
  "found: a start that waited out a delete's stop ran the deleted process, listed nowhere; two deletes removed it twice; fixed: marked deleted before its stop, removed once",
  "found (the suite): one /proc scan can take a child reparented between two reads for an instance; fixed: duplicates count when they hold (confirmedDuplicates)",
];

export const races: Scenario = {
  name: "races",
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const token = markerToken();
    const s: Storm = { requests: 0, answered: 0, duplicates: 0, failures: [] };
    let orphans = 0;
    let d = await startDaemon({ config: configText(token, before) });
    const dirs = d;
    const base = cgroupBase(d.output());
    try {
      await storm(d, token, ctx, s);
      const c = await d.connect("unix");
      orphans += await consistent(c.client, token, "after the storm", s);
      const kept = await apiState(c.client);
      const exit = await d.stop();
      if (exit.code !== 0) s.failures.push(`the daemon exited with ${JSON.stringify(exit)}`);
      const left = markedProcesses(token);
      orphans += left.length;
      if (left.length > 0) s.failures.push(`${left.length} processes left by a graceful stop`);
      d = await startDaemon({ dirs });
      const c2 = await d.connect("unix");
      const restored = await apiState(c2.client);
      if (restored.join("\n") !== kept.join("\n"))
        s.failures.push(`after a restart:\n${restored.join("\n")}\nexpected:\n${kept.join("\n")}`);
      orphans += await consistent(c2.client, token, "after the restart", s);
      for (const p of (await c2.client.list({})).processes)
        await c2.client.delete({ id: p.id, force: true });
      await sleep(500);
      const leaked = markedProcesses(token);
      orphans += leaked.length;
      if (leaked.length > 0)
        s.failures.push(`deleted everything, yet ${leaked.map((p) => p.name).join(" ")} run`);
    } finally {
      orphans += await cleanUp(token, dirs, base);
    }
    return {
      inputs: s.requests,
      duplicates: s.duplicates,
      orphans,
      notes: [
        `${s.answered} requests done, ${s.requests - s.answered} refused`,
        ...(s.seen === undefined ? [] : [`duplicates seen: ${s.seen}`]),
        ...findings,
      ],
      failures: s.failures,
    };
  },
};
