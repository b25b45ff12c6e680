import { setMaxListeners } from "node:events";
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import {
  ConfigError,
  checkAgainstHost,
  type DaemonSettings,
  formatConfigError,
  type LoadedConfig,
  loadConfig,
  processConfigToRaw,
  resolveProcessConfig,
} from "@procmgr/config";
import type { CgroupStatus, ConfigDiff, ProcessInfo, SupervisorApi } from "@procmgr/core";
import { ProcessManager } from "@procmgr/rpc";
import { ApiServer, tcpBinding } from "./api-server.js";
import { DaemonHealth } from "./grpc-health.js";
import { logLifecycle, processFields } from "./lifecycle-log.js";
import type { Logger } from "./logger.js";
import { type PersistedProcess, ProcessStore } from "./persistence.js";
import { notifySystemd } from "./sd-notify.js";
import type { DaemonStatus } from "./service.js";
import { VERSION } from "./version.js";
import { EventFeed } from "./watch-events.js";

export interface DaemonOptions {
  readonly settings: DaemonSettings;
  readonly logger: Logger;
  readonly supervisor: SupervisorApi;
}

const runningStates = new Set<ProcessInfo["state"]>(["running", "starting", "backoff"]);

/** Whether `p` should run: it runs, starts, waits to restart, or is in a restart's stop. */
function isDesiredRunning(p: ProcessInfo): boolean {
  return p.startPending === true || runningStates.has(p.state);
}

/** How soon a failed save of the API processes is tried again. */
const persistRetryMs = 5000;

/**
 * dd-procmgrd: the supervisor behind a gRPC/Connect API on a unix socket and TCP, with its
 * token, persistence of API-created processes, reloads, metrics and lifecycle logging.
 */
export class Daemon {
  readonly settings: DaemonSettings;
  readonly supervisor: SupervisorApi;
  readonly startedAt = new Date();
  private readonly log: Logger;
  private readonly store: ProcessStore;
  /**
   * Aborted when the daemon stops. connect-node links every call in flight to it (one listener
   * per call, removed when the call ends), so more than ten calls at once are normal, not the
   * leak Node's default limit of ten listeners warns of (connection-gate.ts bounds the calls).
   */
  private readonly shutdownController = unlimitedListeners(new AbortController());
  /** grpc.health.v1: NOT_SERVING until ready, SERVING, NOT_SERVING from the start of stop(). */
  readonly health = new DaemonHealth([ProcessManager.typeName]);
  private readonly api: ApiServer;
  /** The supervisor's events and the reloads, for every WatchEvents call. */
  private readonly eventFeed: EventFeed;
  private metricsServer: Server | undefined;
  private isReady = false;
  private resolveReady!: () => void;
  private readonly readyPromise: Promise<void>;
  private persistEnabled = false;
  private persistScheduled = false;
  private persistChain: Promise<void> = Promise.resolve();
  private lastPersisted = "";
  /** The last save failed (said once): a retry is scheduled. */
  private persistFailing = false;
  /** Persisted entries that could not be restored (kept in the file, never silently dropped). */
  private unrestorable: PersistedProcess[] = [];
  private reloadChain: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private detachLifecycle: (() => void) | undefined;
  metricsAddress: string | undefined;

  constructor(options: DaemonOptions) {
    this.settings = options.settings;
    this.log = options.logger;
    this.supervisor = options.supervisor;
    this.eventFeed = new EventFeed(this.supervisor);
    this.store = new ProcessStore(join(this.settings.stateDir, "processes.json"));
    this.readyPromise = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
    this.api = new ApiServer({
      settings: this.settings,
      log: this.log,
      service: {
        supervisor: this.supervisor,
        reload: (o) => this.reload(o),
        status: () => this.status(),
        ready: this.readyPromise,
        eventFeed: this.eventFeed,
        persisted: () => this.persisted(),
      },
      health: this.health,
      shutdownSignal: this.shutdownController.signal,
    });
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** `unix:/path`, `host:port` or `https://host:port` of the listeners (real ports). */
  get bindAddresses(): string[] {
    return this.api.addresses;
  }

  status(): DaemonStatus {
    return {
      ready: this.isReady,
      version: VERSION,
      startedAt: this.startedAt,
      configPath: this.settings.configPath,
      bindAddresses: this.bindAddresses,
      pid: process.pid,
      stateDir: this.settings.stateDir,
    };
  }

  /** Stops what a crashed daemon left running (by cgroup, then by run record), and says so. */
  private async recoverLeftovers(): Promise<void> {
    const recovered = await this.supervisor.recover();
    for (const r of recovered.stopped) {
      const id = this.supervisor.list().find((p) => p.name === r.name)?.id;
      this.log.warn("stopped a leftover of the previous daemon", {
        ...(id === undefined ? { process: r.name } : processFields({ id, name: r.name })),
        pid: r.pid,
      });
    }
  }

  /**
   * Start-up: load the config file (an invalid one is logged, not fatal), listen (TLS files
   * checked first, then socket, token, TCP or TLS: ApiServer), stop the leftovers of a crashed
   * daemon, restore API processes, apply the config file, serve metrics.
   * Any failure leaves nothing running (the caller then calls `stop()`).
   */
  async start(): Promise<void> {
    const s = this.settings;
    tcpBinding(s); // a bind beyond loopback without TLS is refused before anything starts
    this.log.info("Starting Process Manager", {
      version: VERSION,
      addr: s.bindAddress ?? "none",
      socket: s.socketPath,
      config: s.configPath,
      tls: s.tls === null ? "off" : s.tls.clientCaPath === null ? "on" : "mutual",
      pid: process.pid,
    });
    await this.logCgroupStatus();
    const config = await this.loadStartupConfig(s.configPath);
    await this.warnAgainstHost(config);

    await mkdir(s.stateDir, { recursive: true, mode: s.isRoot ? 0o755 : 0o700 });
    await mkdir(s.runtimeDir, { recursive: true, mode: s.isRoot ? 0o755 : 0o700 });

    await this.api.listen();
    this.log.info("listening", { addresses: this.bindAddresses.join(","), token: s.tokenPath });

    this.detachLifecycle = logLifecycle(this.supervisor, this.log);
    await this.recoverLeftovers();
    await this.restorePersisted();
    this.persistEnabled = true;
    this.attachPersistence();
    this.schedulePersist();
    // The API answers while the processes get ready (a long oneshot must not hold it).
    const diff = await this.supervisor.apply(config.processes, { wait: false });
    this.logDiff(diff, false);

    if (s.metrics.enabled) {
      // Loaded only when enabled (off by default): prom-client and what it pulls in are ~1 MiB
      // of heap that a daemon without metrics would carry for nothing.
      const { createMetricsRegistry, startMetricsServer } = await import("./metrics.js");
      const registry = createMetricsRegistry(this.supervisor, this.startedAt);
      const m = await startMetricsServer(registry, s.metrics.host, s.metrics.port);
      this.metricsServer = m.server;
      this.metricsAddress = m.address;
      this.log.info("metrics enabled", { addr: `http://${m.address}/metrics` });
    }
    this.isReady = true;
    this.resolveReady();
    this.health.set("serving");
    this.log.info("Process Manager ready", {
      processes: this.supervisor.list().length,
      addresses: this.bindAddresses.join(","),
    });
    await notifySystemd(this.log, "ready", this.statusLine());
  }

  /**
   * What tracks the processes and enforces their limits: info when each runs in a cgroup of its
   * own, a warning naming why not when only their process groups are tracked.
   */
  private async logCgroupStatus(): Promise<void> {
    let status: CgroupStatus;
    try {
      status = await this.supervisor.cgroupStatus();
    } catch (e) {
      this.log.warn("cannot tell whether cgroups are used", { error: (e as Error).message });
      return;
    }
    if (status.active) this.log.info("cgroups active", { cgroups: status.summary });
    else {
      // A child that leaves the process group then escapes stop and usage.
      this.log.warn("cgroups not used: processes are tracked by their process group only", {
        reason: status.summary,
      });
    }
  }

  /**
   * An invalid file at start must not cost the API processes (or crash-loop under systemd): the
   * daemon runs without config processes, logs every issue at error priority, and the next
   * reload applies the fixed file. `--check-config` is the way to refuse a bad file up front.
   */
  private async loadStartupConfig(path: string): Promise<LoadedConfig> {
    try {
      const config = await loadConfig(path);
      this.logConfigLoaded(config);
      return config;
    } catch (e) {
      const ce = ConfigError.from(e);
      this.log.error(
        `config invalid, starting without config processes; fix it, then pm-cli reload-config:\n${formatConfigError(ce)}`,
        { config: path },
      );
      return { path, processes: [], files: [], missing: false };
    }
  }

  private logConfigLoaded(config: LoadedConfig): void {
    if (config.missing) {
      this.log.info("config file not found; no config processes", { config: config.path });
    } else {
      this.log.info("config loaded", {
        config: config.path,
        files: config.files.length,
        processes: config.processes.length,
      });
    }
  }

  private async warnAgainstHost(config: LoadedConfig): Promise<void> {
    try {
      for (const issue of await checkAgainstHost(config.processes)) {
        this.log.warn(`config: ${issue.path}: ${issue.message}`);
      }
    } catch (e) {
      this.log.debug("user/group check failed", { error: (e as Error).message });
    }
  }

  private logDiff(diff: ConfigDiff, dryRun: boolean): void {
    this.log.info(dryRun ? "config reload (dry run)" : "config applied", {
      added: diff.added.join(",") || "-",
      removed: diff.removed.join(",") || "-",
      changed: diff.changed.join(",") || "-",
      unchanged: diff.unchanged.length,
    });
  }

  /**
   * The one reload path (ReloadConfig RPC and SIGHUP): load and validate the whole file, then
   * apply the diff. An invalid file changes nothing; its error is logged and thrown.
   */
  reload(options: { dryRun: boolean }): Promise<ConfigDiff> {
    const run = this.reloadChain.then(async () => {
      await this.readyPromise;
      if (options.dryRun) return this.applyConfigFile(options);
      await notifySystemd(this.log, "reloading", "reloading the config");
      try {
        return await this.applyConfigFile(options);
      } finally {
        await notifySystemd(this.log, "ready", this.statusLine());
      }
    });
    this.reloadChain = run.catch(() => {});
    return run;
  }

  /** What `systemctl status` shows of the daemon: how many processes, how many run. */
  private statusLine(): string {
    const list = this.supervisor.list();
    const running = list.filter((p) => p.state === "running").length;
    return `${list.length} processes, ${running} running`;
  }

  /** Loads the config file and applies it (or, with `dryRun`, answers what would change). */
  private async applyConfigFile(options: { dryRun: boolean }): Promise<ConfigDiff> {
    let config: LoadedConfig;
    try {
      config = await loadConfig(this.settings.configPath);
    } catch (e) {
      const ce = ConfigError.from(e);
      this.log.error(`config reload refused, nothing changed:\n${formatConfigError(ce)}`, {
        config: this.settings.configPath,
      });
      throw ce;
    }
    if (config.missing) {
      this.log.warn("config file not found; every config process will be removed", {
        config: config.path,
      });
    }
    if (!options.dryRun) await this.warnAgainstHost(config);
    const diff = await this.supervisor.apply(config.processes, {
      dryRun: options.dryRun,
      wait: false,
    });
    this.logDiff(diff, options.dryRun);
    if (!options.dryRun) this.eventFeed.reloaded(diff);
    return diff;
  }

  /** SIGHUP: reload (errors only logged), reopen every log file, reload the TLS certificate. */
  async hangup(): Promise<void> {
    this.log.info("SIGHUP: reloading config and reopening logs");
    await this.reload({ dryRun: false }).catch(() => {});
    await this.api.reloadTls();
    await this.supervisor.reopenLogs().catch((e: unknown) => {
      this.log.error("reopening log files failed", { error: (e as Error).message });
    });
  }

  private async restorePersisted(): Promise<void> {
    let loaded: Awaited<ReturnType<ProcessStore["load"]>>;
    try {
      loaded = await this.store.load();
    } catch (e) {
      // Both files unreadable: do not overwrite them; run without API processes.
      this.log.error("cannot read persisted processes; not restoring any", {
        error: (e as Error).message,
      });
      this.unrestorable = [];
      this.persistBroken = true;
      return;
    }
    if (loaded.source === "backup") {
      this.log.warn("processes.json is damaged; restored from processes.json.bak", {
        error: loaded.mainError,
      });
    }
    for (const p of loaded.processes) {
      try {
        const config = resolveProcessConfig(p.name, p.config, { path: `processes.json:${p.name}` });
        if (config.autoStart && !p.running) {
          // It was stopped on purpose: do not let auto_start start it again.
          await this.supervisor.create(
            { ...config, autoStart: false },
            { source: "api", id: p.id },
          );
          await this.supervisor.update(p.id, config, { restart: false });
        } else {
          const info = await this.supervisor.create(config, { source: "api", id: p.id });
          if (p.running && !isDesiredRunning(this.supervisor.get(info.id))) {
            await this.supervisor.start(info.id);
          }
        }
        this.log.info("restored process", {
          ...processFields(p),
          running: p.running,
        });
      } catch (e) {
        this.unrestorable.push(p);
        const msg = e instanceof ConfigError ? formatConfigError(e) : (e as Error).message;
        this.log.error(`cannot restore persisted process ${p.name}: ${msg}`, processFields(p));
      }
    }
  }

  private persistBroken = false;

  private snapshot(): PersistedProcess[] {
    const live = this.supervisor
      .list()
      .filter((p) => p.source === "api")
      .map((p) => ({
        id: p.id,
        name: p.name,
        config: processConfigToRaw(p.config),
        running: isDesiredRunning(p),
      }));
    const names = new Set(live.map((p) => p.name));
    return [...live, ...this.unrestorable.filter((p) => !names.has(p.name))];
  }

  /** Resolves once the API processes as they are now are saved (or saving them failed). */
  private persisted(): Promise<void> {
    this.schedulePersist();
    return this.persistChain;
  }

  private schedulePersist(): void {
    if (!this.persistEnabled || this.persistBroken || this.persistScheduled) return;
    this.persistScheduled = true;
    this.persistChain = this.persistChain.then(async () => {
      this.persistScheduled = false;
      if (!this.persistEnabled) return;
      try {
        const list = this.snapshot();
        const text = JSON.stringify(list);
        if (text === this.lastPersisted) return;
        await this.store.save(list);
        if (this.persistFailing) this.log.info("saving API processes works again");
        this.persistFailing = false;
        this.lastPersisted = text;
      } catch (e) {
        // The last good file stays (the store writes a new one beside it): tried again every
        // few seconds, so a disk that fills up and frees again loses no change.
        const error = (e as Error).message;
        const said = "saving API processes failed; the last saved state is kept, trying again";
        if (!this.persistFailing) this.log.error(said, { error });
        this.persistFailing = true;
        setTimeout(() => this.schedulePersist(), persistRetryMs).unref();
      }
    });
  }

  private attachPersistence(): void {
    // What is saved of a state is whether the process should run: a change of state that keeps
    // it (a restart: running -> starting -> running) saves nothing, so a crash loop costs no
    // snapshot of every API process per exit.
    const desired = new Map<string, boolean>();
    const onChange = ({ process }: { process: ProcessInfo }) => {
      if (process.source !== "api") return;
      desired.set(process.id, isDesiredRunning(process));
      this.schedulePersist();
    };
    const onState = ({ process }: { process: ProcessInfo }) => {
      if (process.source !== "api" || desired.get(process.id) === isDesiredRunning(process)) return;
      onChange({ process });
    };
    const onDeleted = ({ process }: { process: ProcessInfo }) => {
      desired.delete(process.id);
      this.schedulePersist();
    };
    this.supervisor.on("created", onChange);
    this.supervisor.on("updated", onChange);
    this.supervisor.on("state", onState);
    this.supervisor.on("deleted", onDeleted);
  }

  /**
   * Graceful stop: save API processes as they are (so a restart brings them back), close the
   * API, stop every process, remove the socket and the token file. Idempotent.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      // Probes see NOT_SERVING at once; Watch streams get it, then end.
      this.health.set("stopping");
      await notifySystemd(this.log, "stopping", "stopping every process");
      // Freeze persistence with the current desired states before processes are stopped.
      this.schedulePersist();
      await this.persistChain;
      this.persistEnabled = false;
      this.shutdownController.abort();
      await this.api.close();
      try {
        await this.supervisor.shutdown();
      } catch (e) {
        this.log.error("stopping processes failed", { error: (e as Error).message });
      }
      this.detachLifecycle?.();
      if (this.metricsServer !== undefined) {
        const m = this.metricsServer;
        m.closeAllConnections();
        await new Promise<void>((r) => m.close(() => r()));
      }
      this.log.info("Process Manager stopped");
    })();
    return this.stopping;
  }
}

function unlimitedListeners(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}
