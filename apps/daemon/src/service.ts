import {
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import {
  ConfigError,
  isSpecFieldPath,
  type ProcessConfig,
  type RawProcess,
  resolveProcessConfig,
  specToRaw,
  updateProcessConfig,
} from "@procmgr/config";
import type { ConfigDiff, ProcessInfo, SupervisorApi } from "@procmgr/core";
import {
  type CreateRequest,
  type DeleteRequest,
  type DescribeRequest,
  type GetResourceUsageRequest,
  ProcessManager,
  type ProcessStatus,
  type ReloadConfigRequest,
  type UpdateRequest,
} from "@procmgr/rpc";
import { trustedKey } from "./auth.js";
import { protoUsageSource, toExitInfo, toProcessSpec, toProcessStatus } from "./convert.js";
import { toConnectError } from "./errors.js";
import { tailLogs } from "./tail-logs.js";
import { type EventFeed, watchEvents } from "./watch-events.js";

/** What the handlers need from the daemon around them. */
export interface ServiceDeps {
  readonly supervisor: SupervisorApi;
  /** Loads the config file and applies it (serialized with SIGHUP reloads). */
  reload(options: { dryRun: boolean }): Promise<ConfigDiff>;
  status(): DaemonStatus;
  /** Resolves when start-up (recover, restore, first apply) is done; calls wait for it. */
  readonly ready: Promise<void>;
  /** The supervisor's events and the reloads, for WatchEvents calls. */
  readonly eventFeed: EventFeed;
  /**
   * Resolves once the API processes as they are now are saved: a change is answered after it,
   * so a crash right after the answer cannot lose it.
   */
  persisted(): Promise<void>;
}

export interface DaemonStatus {
  readonly ready: boolean;
  readonly version: string;
  readonly startedAt: Date;
  readonly configPath: string;
  readonly bindAddresses: readonly string[];
  readonly pid: number;
  readonly stateDir: string;
}

function requireId(id: string, field = "id"): string {
  if (id.trim() === "") {
    throw new ConnectError(`${field}: required (a process name or id)`, Code.InvalidArgument);
  }
  return id;
}

/** Resolve a spec coming from the API with the config file's schema. */
function resolveSpec(name: string, raw: RawProcess): ProcessConfig {
  try {
    return resolveProcessConfig(name, raw, { path: `processes.${name}` });
  } catch (e) {
    throw toConnectError(ConfigError.from(e), Code.InvalidArgument);
  }
}

/** Runs a handler body, mapping domain errors to ConnectError in one place. */
async function guard<T>(deps: ServiceDeps, fn: () => Promise<T> | T): Promise<T> {
  await deps.ready;
  try {
    return await fn();
  } catch (e) {
    throw toConnectError(e);
  }
}

/** `guard` for a handler that changes processes: answers once the change is saved. */
async function change<T>(deps: ServiceDeps, fn: () => Promise<T> | T): Promise<T> {
  const result = await guard(deps, fn);
  await deps.persisted();
  return result;
}

/**
 * Start, Stop and Restart: one process (`id`) or several (`ids`), the latter checked first (an
 * unknown one fails the call before anything is done), then handled concurrently.
 */
async function lifecycle(
  deps: ServiceDeps,
  verb: "start" | "stop" | "restart",
  req: { id: string; ids: readonly string[] },
): Promise<{ process?: ProcessStatus; processes: ProcessStatus[] }> {
  return change(deps, async () => {
    const sup = deps.supervisor;
    if (req.ids.length === 0) {
      return { process: toProcessStatus(await sup[verb](requireId(req.id))), processes: [] };
    }
    if (req.id !== "") {
      throw new ConnectError("id: give either id or ids, not both", Code.InvalidArgument);
    }
    const ids = req.ids.map((id, i) => sup.get(requireId(id, `ids[${i}]`)).id);
    const done = await Promise.all(ids.map((id) => sup[verb](id)));
    return { processes: done.map(toProcessStatus) };
  });
}

/** Per-service memory of the last CPU reading of each process, for `cpuPercent`. */
type CpuReadings = Map<string, { cpu: number; at: number }>;

async function createProcess(deps: ServiceDeps, req: CreateRequest) {
  return change(deps, async () => {
    const spec = req.spec;
    if (spec === undefined) throw new ConnectError("spec: required", Code.InvalidArgument);
    const name = spec.name.trim();
    if (name === "") throw new ConnectError("spec.name: required", Code.InvalidArgument);
    const config = resolveSpec(name, specToRaw(spec));
    // The supervisor starts it when auto_start is set.
    const info = await deps.supervisor.create(config, { source: "api" });
    return { process: toProcessStatus(info) };
  });
}

async function deleteProcess(deps: ServiceDeps, req: DeleteRequest) {
  return change(deps, async () => {
    const info = deps.supervisor.get(requireId(req.id));
    await deps.supervisor.delete(info.id, { force: req.force });
    return { id: info.id, name: info.name };
  });
}

/** The status of `info` with its cgroup's CPU and memory, while it runs in one. */
function statusWithUsage(
  deps: ServiceDeps,
  lastCpu: CpuReadings,
  info: ProcessInfo,
): ProcessStatus {
  const status = toProcessStatus(info);
  const brief = info.pid === undefined ? undefined : deps.supervisor.briefUsage(info.id);
  if (brief === undefined) return status;
  const { cpuSeconds, memoryBytes } = brief;
  status.usage = {
    $typeName: "procmgr.v1.ProcessUsage",
    cpuPercent: cpuSeconds === undefined ? 0 : cpuPercent(lastCpu, info, cpuSeconds),
    ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
    ...(memoryBytes !== undefined ? { memoryBytes: BigInt(memoryBytes) } : {}),
  };
  return status;
}

async function listProcesses(deps: ServiceDeps, lastCpu: CpuReadings) {
  return guard(deps, () => ({
    processes: deps.supervisor.list().map((p) => statusWithUsage(deps, lastCpu, p)),
  }));
}

async function describeProcess(
  deps: ServiceDeps,
  lastCpu: CpuReadings,
  req: DescribeRequest,
  ctx: HandlerContext,
) {
  return guard(deps, () => {
    const info = deps.supervisor.get(requireId(req.id));
    const redactEnv = !ctx.values.get(trustedKey);
    return {
      process: statusWithUsage(deps, lastCpu, info),
      spec: toProcessSpec(info.config, { redactEnv }),
      ...(info.lastExit !== undefined ? { lastExit: toExitInfo(info.lastExit) } : {}),
      stdoutPath: info.stdoutPath ?? "",
      stderrPath: info.stderrPath ?? "",
      stdoutJournal: info.stdoutJournal === true,
      stderrJournal: info.stderrJournal === true,
      envRedacted: redactEnv && Object.keys(info.config.env).length > 0,
    };
  });
}

/**
 * Checks the field mask of an Update: at least one field, all spec fields (or fields of a
 * nested message by their path, "health_check.interval"), never `name`.
 */
function updateFields(given: readonly string[]): string[] {
  if (given.length === 0) {
    throw new ConnectError(
      "fields: must name at least one spec field to change (e.g. restart_sec)",
      Code.InvalidArgument,
    );
  }
  const fields: string[] = [];
  for (const f of given) {
    if (f === "name") {
      throw new ConnectError(
        "fields: name cannot be changed (create a new process)",
        Code.InvalidArgument,
      );
    }
    if (!isSpecFieldPath(f)) {
      throw new ConnectError(`fields: unknown field "${f}"`, Code.InvalidArgument);
    }
    fields.push(f);
  }
  return fields;
}

async function updateProcess(deps: ServiceDeps, req: UpdateRequest) {
  return change(deps, async () => {
    const sup = deps.supervisor;
    const info = sup.get(requireId(req.id));
    if (req.spec === undefined) throw new ConnectError("spec: required", Code.InvalidArgument);
    const fields = updateFields(req.fields);
    let config: ProcessConfig;
    try {
      config = updateProcessConfig(info.config, specToRaw(req.spec), fields);
    } catch (e) {
      throw toConnectError(ConfigError.from(e), Code.InvalidArgument);
    }
    const result = await sup.update(info.id, config, {
      dryRun: req.dryRun,
      restart: req.restartProcess,
    });
    return {
      updatedFields: [...result.updatedFields],
      restartRequiredFields: [...result.restartRequiredFields],
      processRestarted: result.restarted,
      process: toProcessStatus(result.process),
    };
  });
}

async function reloadConfig(deps: ServiceDeps, req: ReloadConfigRequest) {
  return guard(deps, async () => {
    let diff: ConfigDiff;
    try {
      diff = await deps.reload({ dryRun: req.dryRun });
    } catch (e) {
      // A broken file on disk is a precondition of the reload, not a bad argument.
      throw toConnectError(e, Code.FailedPrecondition);
    }
    return {
      added: [...diff.added],
      removed: [...diff.removed],
      changed: [...diff.changed],
      unchanged: [...diff.unchanged],
      configPath: deps.status().configPath,
      dryRun: req.dryRun,
    };
  });
}

async function daemonStatus(deps: ServiceDeps) {
  const st = deps.status();
  const list = deps.supervisor.list();
  let running = 0;
  let failed = 0;
  for (const p of list) {
    if (p.state === "running" || p.state === "starting" || p.state === "stopping") running++;
    else if (p.state === "failed" || p.state === "backoff") failed++;
  }
  return {
    ready: st.ready,
    version: st.version,
    uptimeSeconds: (Date.now() - st.startedAt.getTime()) / 1000,
    total: list.length,
    running,
    stopped: list.length - running - failed,
    failed,
    configPath: st.configPath,
    bindAddresses: [...st.bindAddresses],
    pid: st.pid,
    stateDir: st.stateDir,
  };
}

/**
 * CPU percent since the previous reading of this process (or over its uptime on the first),
 * and records this reading.
 */
function cpuPercent(lastCpu: CpuReadings, info: ProcessInfo, cpuSeconds: number): number {
  const now = Date.now();
  const prev = lastCpu.get(info.id);
  let percent = 0;
  if (prev !== undefined && now > prev.at && cpuSeconds >= prev.cpu) {
    percent = ((cpuSeconds - prev.cpu) / ((now - prev.at) / 1000)) * 100;
  } else if (info.uptimeMs !== undefined && info.uptimeMs > 0) {
    percent = (cpuSeconds / (info.uptimeMs / 1000)) * 100;
  }
  lastCpu.set(info.id, { cpu: cpuSeconds, at: now });
  return percent;
}

async function resourceUsage(
  deps: ServiceDeps,
  lastCpu: CpuReadings,
  req: GetResourceUsageRequest,
) {
  return guard(deps, async () => {
    const sup = deps.supervisor;
    const info = sup.get(requireId(req.id));
    const u = await sup.usage(info.id);
    if (u === undefined) {
      throw new ConnectError(
        `process "${info.name}" is not running (state ${info.state})`,
        Code.FailedPrecondition,
      );
    }
    return {
      id: info.id,
      name: info.name,
      pid: u.pid,
      processCount: u.processCount,
      cpuSeconds: u.cpuSeconds,
      cpuPercent: cpuPercent(lastCpu, info, u.cpuSeconds),
      memoryRssBytes: BigInt(u.rssBytes),
      threads: u.threads,
      source: protoUsageSource(u.source),
      ...(u.memoryBytes !== undefined ? { memoryBytes: BigInt(u.memoryBytes) } : {}),
      ...(u.memoryPeakBytes !== undefined ? { memoryPeakBytes: BigInt(u.memoryPeakBytes) } : {}),
    };
  });
}

export function createProcessManagerService(deps: ServiceDeps): ServiceImpl<typeof ProcessManager> {
  const lastCpu: CpuReadings = new Map();
  return {
    create: (req) => createProcess(deps, req),
    start: (req) => lifecycle(deps, "start", req),
    stop: (req) => lifecycle(deps, "stop", req),
    restart: (req) => lifecycle(deps, "restart", req),
    delete: (req) => deleteProcess(deps, req),
    list: () => listProcesses(deps, lastCpu),
    describe: (req, ctx) => describeProcess(deps, lastCpu, req, ctx),
    update: (req) => updateProcess(deps, req),
    reloadConfig: (req) => reloadConfig(deps, req),
    getStatus: () => daemonStatus(deps),
    getResourceUsage: (req) => resourceUsage(deps, lastCpu, req),
    async *watchEvents(req, ctx) {
      await deps.ready;
      yield* watchEvents(deps, req.ids, ctx);
    },
    async *tailLogs(req, ctx) {
      await deps.ready;
      yield* tailLogs(deps.supervisor, req, ctx);
    },
  };
}

/** Registers the service on a router. */
export function processManagerRoutes(deps: ServiceDeps): (router: ConnectRouter) => void {
  const impl = createProcessManagerService(deps);
  return (router) => {
    router.service(ProcessManager, impl);
  };
}
