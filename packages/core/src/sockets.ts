/**
 * The listening sockets of processes (`sockets:`), opened and held by the supervisor: at a
 * process's first start (or its first arming for `start_on_connect`), passed to each run as fd 3
 * on, and kept across its restarts, so a connection that arrives while the program restarts
 * waits in the backlog for the next one. Closed when the process is deleted, when its sockets
 * change, and at shutdown.
 */

import { resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { ProcessConfig, SocketConfig } from "@procmgr/config";
import {
  type ListenSocket,
  openListenSocket,
  parseListenAddress,
  watchConnections,
} from "@procmgr/platform";
import { daemonIdentity, resolveIdentity } from "./identity.js";

interface Held {
  /** The process's name (errors name the holder). */
  readonly name: string;
  readonly specs: readonly SocketConfig[];
  readonly open: readonly ListenSocket[];
  /** Stops watching for a first connection (start_on_connect). */
  unwatch?: (() => void) | undefined;
}

/** What a run gets: the descriptors in order and the environment that names them. */
export interface PassedSockets {
  readonly fds: readonly number[];
  readonly env: Readonly<Record<string, string>>;
}

/** The uid/gid of "user" or "user:group" (the user's primary group by default). */
async function ownerIds(owner: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = owner.split(":");
  try {
    const id = await resolveIdentity(user, group, daemonIdentity().identity);
    return { uid: id.uid, gid: id.gid };
  } catch (e) {
    throw new Error(`owner: ${(e as Error).message}`);
  }
}

/** What a run of a process without sockets gets. */
const noSockets: PassedSockets = { fds: [], env: {} };

export class Sockets {
  private readonly held = new Map<string, Held>();

  /**
   * The sockets of process `id` as `config` declares them: those held already when unchanged,
   * else (re)opened. Throws why one cannot be opened, naming the process and the socket.
   */
  async ensure(id: string, config: ProcessConfig): Promise<PassedSockets> {
    let held = this.held.get(id);
    if (held === undefined && config.sockets.length === 0) return noSockets;
    if (held !== undefined && !isDeepStrictEqual(held.specs, config.sockets)) {
      this.close(id);
      held = undefined;
    }
    if (held === undefined) {
      held = { name: config.name, specs: config.sockets, open: await this.open(id, config) };
      this.held.set(id, held);
    }
    const names = config.sockets.map((s) => s.name ?? config.name);
    if (held.open.length === 0) return noSockets;
    return {
      fds: held.open.map((s) => s.fd),
      env: { LISTEN_FDS: String(held.open.length), LISTEN_FDNAMES: names.join(":") },
    };
  }

  /**
   * The sockets a run of process `id` gets: held (opened if needed), no longer watched, and
   * blocking again (a previous program may have made them non-blocking: the flags are shared).
   */
  async forRun(id: string, config: ProcessConfig): Promise<PassedSockets> {
    const passed = await this.ensure(id, config);
    this.disarm(id);
    for (const s of this.held.get(id)?.open ?? []) s.prepareForChild();
    return passed;
  }

  private async open(id: string, config: ProcessConfig): Promise<ListenSocket[]> {
    const opened: ListenSocket[] = [];
    try {
      for (const [i, s] of config.sockets.entries()) {
        const what = `process "${config.name}" socket ${s.listen}`;
        const holder = this.holderOf(s, id);
        if (holder !== undefined) throw new Error(`${what}: already held by process "${holder}"`);
        if (config.sockets.slice(0, i).some((other) => sameAddress(other, s))) {
          throw new Error(`${what}: declared twice`);
        }
        const owner = s.owner === undefined ? undefined : await ownerIds(s.owner);
        opened.push(
          await openListenSocket(
            {
              listen: s.listen,
              type: s.type,
              ...(s.backlog !== undefined ? { backlog: s.backlog } : {}),
              ...(s.mode !== undefined ? { mode: s.mode } : {}),
              ...(owner !== undefined ? { owner } : {}),
            },
            what,
          ),
        );
      }
      return opened;
    } catch (e) {
      for (const s of opened) s.close();
      throw e;
    }
  }

  /** The name of the other process that holds `socket`'s address, if any. */
  private holderOf(socket: SocketConfig, except: string): string | undefined {
    for (const [id, held] of this.held) {
      if (id !== except && held.specs.some((s) => sameAddress(s, socket))) return held.name;
    }
    return undefined;
  }

  /**
   * Opens the sockets of process `id` if needed and calls `onConnect` once at the first
   * connection (or datagram) on any of them, which stays queued for the program.
   */
  async arm(id: string, config: ProcessConfig, onConnect: () => void): Promise<void> {
    await this.ensure(id, config);
    const held = this.held.get(id);
    if (held === undefined || held.unwatch !== undefined) return;
    const stops = held.open.map((s) =>
      watchConnections(s, () => {
        this.disarm(id);
        onConnect();
      }),
    );
    held.unwatch = () => {
      for (const stop of stops) stop();
    };
  }

  /** Stops watching (before a run gets the descriptors: the watch's flags are on them). */
  disarm(id: string): void {
    const held = this.held.get(id);
    held?.unwatch?.();
    if (held !== undefined) held.unwatch = undefined;
  }

  /** Closes the sockets of process `id` (deleted, or its sockets changed). */
  close(id: string): void {
    const held = this.held.get(id);
    if (held === undefined) return;
    this.disarm(id);
    for (const s of held.open) s.close();
    this.held.delete(id);
  }

  closeAll(): void {
    for (const id of [...this.held.keys()]) this.close(id);
  }
}

/**
 * Whether two sockets would take the same address: one unix path however written, or one port
 * of one protocol on the same host or on every address (`:port`).
 */
function sameAddress(a: SocketConfig, b: SocketConfig): boolean {
  const x = parseListenAddress(a.listen);
  const y = parseListenAddress(b.listen);
  if (x.kind === "unix" || y.kind === "unix") {
    return x.kind === "unix" && y.kind === "unix" && resolve(x.path) === resolve(y.path);
  }
  if (a.type !== b.type || x.port !== y.port) return false;
  return x.allAddresses || y.allAddresses || x.host === y.host;
}
