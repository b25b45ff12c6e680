/**
 * daemon-killed's API processes: what the last acknowledged change left (names, specs, whether
 * each should run), the change in flight when the daemon is killed (it may or may not have
 * happened), one random change per generation, and the check of a restarted daemon's list and
 * describes against them.
 */
import type { ProcessManagerClient, ProcessSpec, ProcessStatus } from "@procmgr/rpc";
import { ProcessSource, ProcessState } from "@procmgr/rpc";
import { type Def, specKey, specOf } from "./fleet.js";

interface Entry {
  /** The spec fields a restart must keep (`specKey`). */
  readonly key: string;
  readonly running: boolean;
}

type State = ReadonlyMap<string, Entry>;

export interface ApiModel {
  /** Whether `name` should run as the last acknowledged change left it. */
  running(name: string): boolean;
  /** Changes acknowledged before a kill. */
  changes(): number;
  /** Changes cut off by a kill (no answer before it). */
  cutOff(): number;
  committed: State;
  /** The states the change in flight at the kill may have left (it happened, or half of it). */
  pending: readonly State[];
  acked: number;
  cut: number;
}

export function newModel(entries: readonly { def: Def; spec: Partial<ProcessSpec> }[]): ApiModel {
  const model: ApiModel = {
    committed: new Map(
      entries.map((e) => [e.def.name, { key: specKey(e.spec), running: e.def.autoStart }]),
    ),
    pending: [],
    acked: 0,
    cut: 0,
    running: (name) => model.committed.get(name)?.running ?? false,
    changes: () => model.acked,
    cutOff: () => model.cut,
  };
  return model;
}

/** A change in flight: `killing()` is called just before the daemon's SIGKILL. */
export interface Change {
  killing(): void;
}

/** What a change does to the state, and the call that makes it. */
interface Plan {
  readonly next: Map<string, Entry>;
  /** What a cut-off change may also leave: a delete's stop done, not its removal. */
  readonly half?: Map<string, Entry>;
  call(): Promise<unknown>;
}

function plan(
  client: ProcessManagerClient,
  state: State,
  token: string,
  pick: number,
  gen: number,
): Plan | undefined {
  const next = new Map(state);
  const extras = [...state.keys()].filter((n) => n.startsWith("api-extra-"));
  if (pick < 0.2) {
    const def: Def = {
      name: "api-steady",
      kind: "steady",
      autoStart: true,
      env: { GEN: `${gen}` },
    };
    const spec = specOf(token, def);
    // An update restarts a running process and starts none.
    next.set(def.name, { key: specKey(spec), running: state.get(def.name)?.running ?? false });
    return {
      next,
      call: () =>
        client.update({
          id: def.name,
          spec: spec as ProcessSpec,
          fields: ["env"],
          restartProcess: true,
        }),
    };
  }
  if (pick < 0.4) {
    const toggle = state.get("api-toggle");
    if (toggle === undefined) return undefined;
    next.set("api-toggle", { ...toggle, running: !toggle.running });
    return {
      next,
      call: () =>
        toggle.running ? client.stop({ id: "api-toggle" }) : client.start({ id: "api-toggle" }),
    };
  }
  if (pick < 0.6 || (pick < 0.8 && extras.length === 0)) {
    const def: Def = { name: `api-extra-${gen}`, kind: "steady", autoStart: true };
    const spec = specOf(token, def);
    next.set(def.name, { key: specKey(spec), running: true });
    return { next, call: () => client.create({ spec: spec as ProcessSpec }) };
  }
  if (pick < 0.8) {
    const name = extras[Math.floor(pick * 1000) % extras.length] as string;
    next.delete(name);
    const half = new Map(state);
    half.set(name, { key: state.get(name)?.key ?? "", running: false });
    return { next, half, call: () => client.delete({ id: name, force: true }) };
  }
  return undefined;
}

/**
 * Starts one random change (or none) on `client`. Acknowledged before `killing()`: it is the
 * new committed state; otherwise it is pending until the next check says which happened.
 */
export function mutate(
  client: ProcessManagerClient,
  model: ApiModel,
  token: string,
  rand: () => number,
  gen: number,
): Change & { failure(): string | undefined } {
  const p = plan(client, model.committed, token, rand(), gen);
  let killed = false;
  let answered = false;
  let failure: string | undefined;
  if (p !== undefined) {
    p.call().then(
      () => {
        if (killed) return;
        answered = true;
        model.committed = p.next;
        model.acked++;
      },
      (e: unknown) => {
        if (!killed) failure = `gen ${gen}: a change failed: ${(e as Error).message}`;
      },
    );
  }
  return {
    killing() {
      killed = true;
      if (p !== undefined && !answered && failure === undefined) {
        model.pending = p.half === undefined ? [p.next] : [p.next, p.half];
        model.cut++;
      }
    },
    failure: () => failure,
  };
}

const wantsToRun = (p: ProcessStatus): boolean =>
  p.state === ProcessState.RUNNING ||
  p.state === ProcessState.STARTING ||
  p.state === ProcessState.BACKOFF;

/** Why the daemon's API processes are not `state` (undefined: they are). */
function differences(
  state: State,
  api: readonly ProcessStatus[],
  specs: ReadonlyMap<string, string>,
): string | undefined {
  const names = api.map((p) => p.name).sort();
  const want = [...state.keys()].sort();
  if (names.join() !== want.join()) return `names ${names.join()} (expected ${want.join()})`;
  for (const p of api) {
    const e = state.get(p.name) as Entry;
    if (specs.get(p.name) !== e.key)
      return `${p.name}: spec ${specs.get(p.name)} (expected ${e.key})`;
    if (wantsToRun(p) !== e.running)
      return `${p.name}: ${ProcessState[p.state]} (expected ${e.running ? "running" : "not running"})`;
  }
  return undefined;
}

/**
 * The restarted daemon's API processes against the committed state, or the pending one when
 * a change was cut off (which then becomes the committed one). Answers the failures.
 */
export async function verifyApi(
  client: ProcessManagerClient,
  model: ApiModel,
  gen: number,
): Promise<string[]> {
  const api = (await client.list({})).processes.filter((p) => p.source === ProcessSource.API);
  const specs = new Map<string, string>();
  for (const p of api) {
    const spec = (await client.describe({ id: p.id })).spec;
    specs.set(p.name, spec === undefined ? "" : specKey(spec));
  }
  const pending = model.pending;
  model.pending = [];
  const committed = differences(model.committed, api, specs);
  if (committed === undefined) return [];
  const cut = pending.map((state) => differences(state, api, specs));
  const happened = pending.find((_, i) => cut[i] === undefined);
  if (happened !== undefined) {
    model.committed = happened;
    return [];
  }
  // Said once: from now on the daemon's state is the one to keep.
  model.committed = new Map(
    api.map((p) => [p.name, { key: specs.get(p.name) ?? "", running: wantsToRun(p) }]),
  );
  const orCut =
    cut.length === 0 ? "" : `; nor as the change cut off may leave them: ${cut.join("; ")}`;
  return [`gen ${gen}: API processes not as persisted: ${committed}${orCut}`];
}
