/** The defined processes, by id and by name, and what `apply` would change among them. */
import { randomUUID } from "node:crypto";
import { configsEqual, type ProcessConfig } from "@procmgr/config";
import { SupervisorError } from "./errors.js";
import { type Managed, newManaged } from "./managed.js";
import type { ConfigDiff, ProcessSource } from "./types.js";

/** Throws `invalid-argument` unless `config` has a name without whitespace and a command. */
export function validateConfig(config: ProcessConfig): void {
  if (typeof config?.name !== "string" || config.name === "" || /\s/.test(config.name)) {
    throw new SupervisorError(
      "invalid-argument",
      `config.name: expected a non-empty name without whitespace, received ${JSON.stringify(config?.name)}`,
    );
  }
  if (!Array.isArray(config.argv) || config.argv.length === 0 || config.argv[0] === "") {
    throw new SupervisorError(
      "invalid-argument",
      `config.argv of "${config.name}": expected a non-empty command`,
    );
  }
}

/** What `apply(configs)` changes, the configs by name, and the names an API process owns. */
export interface ApplyPlan {
  readonly diff: ConfigDiff;
  readonly wanted: ReadonlyMap<string, ProcessConfig>;
  /** Config entries ignored because a process created through the API has the name. */
  readonly shadowed: readonly string[];
}

export class Registry {
  private readonly byId = new Map<string, Managed>();
  private readonly byName = new Map<string, Managed>();

  get size(): number {
    return this.byId.size;
  }

  /** Every process, in the order defined. */
  values(): Iterable<Managed> {
    return this.byId.values();
  }

  getById(id: string): Managed | undefined {
    return this.byId.get(id);
  }

  getByName(name: string): Managed | undefined {
    return this.byName.get(name);
  }

  /** The process with this id or name; `not-found` otherwise. */
  find(idOrName: string): Managed {
    const m = this.byId.get(idOrName) ?? this.byName.get(idOrName);
    if (!m) throw new SupervisorError("not-found", `no process with id or name "${idOrName}"`);
    return m;
  }

  /** A new process (state `created`); `already-exists` for a name or id in use. */
  define(config: ProcessConfig, source: ProcessSource, id: string | undefined): Managed {
    validateConfig(config);
    if (this.byName.has(config.name)) {
      throw new SupervisorError("already-exists", `process "${config.name}" already exists`);
    }
    const pid = id ?? randomUUID();
    if (this.byId.has(pid)) {
      throw new SupervisorError("already-exists", `process id ${pid} already exists`);
    }
    const m = newManaged(config, source, pid);
    this.byId.set(m.id, m);
    this.byName.set(m.name, m);
    return m;
  }

  /** Forgets `m` (marked deleted: an exit after this ends in `stopped`). */
  remove(m: Managed): void {
    m.deleted = true;
    // Only its own entries: a process defined since under the same name or id stays.
    if (this.byId.get(m.id) === m) this.byId.delete(m.id);
    if (this.byName.get(m.name) === m) this.byName.delete(m.name);
  }

  /**
   * Compares `configs` with the `source: "config"` processes by name and deep equality.
   * Throws `invalid-argument` for a duplicate name or an invalid config. Changes nothing.
   */
  plan(configs: readonly ProcessConfig[]): ApplyPlan {
    const wanted = new Map<string, ProcessConfig>();
    for (const c of configs) {
      if (wanted.has(c.name)) {
        throw new SupervisorError("invalid-argument", `duplicate process name "${c.name}"`);
      }
      validateConfig(c);
      wanted.set(c.name, c);
    }
    const added: string[] = [];
    const removed: string[] = [];
    const changed: string[] = [];
    const unchanged: string[] = [];
    for (const m of this.byId.values()) {
      if (m.source !== "config") continue;
      const next = wanted.get(m.name);
      if (!next) removed.push(m.name);
      else if (configsEqual(m.config, next)) unchanged.push(m.name);
      else changed.push(m.name);
    }
    const shadowed: string[] = [];
    for (const name of wanted.keys()) {
      const existing = this.byName.get(name);
      if (!existing) added.push(name);
      else if (existing.source !== "config") shadowed.push(name);
    }
    const diff: ConfigDiff = {
      added: added.sort(),
      removed: removed.sort(),
      changed: changed.sort(),
      unchanged: unchanged.sort(),
    };
    return { diff, wanted, shadowed };
  }
}
