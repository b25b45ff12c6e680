/**
 * Test support (not exported from the package): config builder, event waiters, fixtures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { type HealthCheck, type ProcessConfig, resolveProcessConfig } from "@procmgr/config";
import { mountedHierarchies } from "./cgroup-host.js";
import { buildEnvironment } from "./environment.js";
import type { ProbeTarget } from "./health-probe.js";
import { daemonIdentity, resolveIdentity } from "./identity.js";
import { isGone } from "./proc-fs.js";
import { Supervisor } from "./supervisor.js";
import type { ProcessInfo, SupervisorOptions } from "./types.js";

/**
 * A resolved ProcessConfig for tests: every default from the config schema itself, then the
 * name and argv as given (unchecked: tests also feed the supervisor what the schema refuses),
 * then the overrides.
 */
export function testConfig(
  name: string,
  argv: readonly string[],
  overrides: Partial<ProcessConfig> = {},
): ProcessConfig {
  return {
    ...resolveProcessConfig("defaults", { command: "true" }),
    name,
    command: argv[0] ?? "",
    args: argv.slice(1),
    argv,
    ...overrides,
  };
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
}

const tempDirs: string[] = [];
process.once("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Why the cgroup tests cannot run here (not root; no cgroup hierarchy mounted), or false. Which
 * limits a host enforces is asked of the supervisor in each test (`cgroupStatus`).
 */
export function cgroupsSkip(): string | false {
  if (process.getuid?.() !== 0) return "cgroups are created by root here";
  const mounted = mountedHierarchies(
    readFileSync("/proc/self/mountinfo", "utf8"),
    readFileSync("/proc/self/cgroup", "utf8"),
  );
  return mounted.length === 0 ? "no cgroup hierarchy mounted" : false;
}

/** A loopback port nothing listens on (a listener's, closed). */
export function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((done) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      done(typeof address === "object" && address !== null ? address.port : 0);
      server.close();
    });
  });
}

/** A fresh directory under the system temp dir, removed when the test process exits. */
export function tempDir(prefix = "procmgr-core-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * Supervisors for one test file: each with a state dir of its own under `root`, runtime
 * directories in `<root>/run`, every one shut down after the file's tests.
 */
export function supervisorFactory(): {
  readonly root: string;
  newSupervisor(options?: Partial<SupervisorOptions>): Supervisor;
} {
  const root = tempDir();
  const made: Supervisor[] = [];
  let n = 0;
  after(async () => {
    await Promise.all(made.map((s) => s.shutdown()));
  });
  return {
    root,
    newSupervisor(options = {}) {
      const sup = new Supervisor({
        stateDir: join(root, `s${n++}`),
        runtimeDir: join(root, "run"),
        ...options,
      });
      made.push(sup);
      return sup;
    },
  };
}

/** Resolves with the process info once `test` holds (checked now and on every state event). */
export function waitFor(
  sup: Supervisor,
  name: string,
  test: (p: ProcessInfo) => boolean,
): Promise<ProcessInfo> {
  return new Promise((resolve) => {
    const now = sup.get(name);
    if (test(now)) return resolve(now);
    const listener = ({ process: p }: { process: ProcessInfo }): void => {
      if (p.name === name && test(p)) {
        sup.off("state", listener);
        resolve(p);
      }
    };
    sup.on("state", listener);
  });
}

export function waitState(
  sup: Supervisor,
  name: string,
  ...states: string[]
): Promise<ProcessInfo> {
  return waitFor(sup, name, (p) => states.includes(p.state));
}

/** Resolves with the first match of `re` in the accumulated output of `name`. */
export function waitOutput(sup: Supervisor, name: string, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve) => {
    let text = "";
    const listener = ({ process: p, chunk }: { process: ProcessInfo; chunk: Buffer }): void => {
      if (p.name !== name) return;
      text += chunk.toString();
      const m = re.exec(text);
      if (m) {
        sup.off("output", listener);
        resolve(m);
      }
    };
    sup.on("output", listener);
  });
}

/** Collects the state sequence of one process. */
export function recordStates(sup: Supervisor, name: string): string[] {
  const out: string[] = [];
  sup.on("state", ({ process: p }) => {
    if (p.name === name) out.push(p.state);
  });
  return out;
}

/**
 * A resolved health check from its YAML shape (`{ type: "tcp", port: 80, interval: 0.05 }`):
 * every default and the exec argv from the config schema itself.
 */
export function healthCheckConfig(raw: Record<string, unknown>): HealthCheck {
  const config = resolveProcessConfig("health", { command: "true", health_check: raw });
  if (config.healthCheck === undefined) throw new Error("no health check resolved");
  return config.healthCheck;
}

/** Who an exec check runs as, as the launcher resolves it: the daemon itself, or `user`. */
export async function probeTarget(user?: string): Promise<ProbeTarget> {
  const daemon = daemonIdentity();
  const identity = await resolveIdentity(user, undefined, daemon.identity);
  return {
    identity,
    switchUser: user !== undefined,
    env: buildEnvironment(identity, undefined, {}, {}),
    ambientCapabilities: [],
    daemon,
  };
}

/**
 * The pids of `pids` still alive once they had 5 s to go. Grandchildren are not our children:
 * no exit event to wait on (one closes its fds, ending the pipe, a moment before it is a
 * zombie), so this polls, like recover().
 */
export async function stillAlive(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  let alive = pids.filter((pid) => !isGone(pid));
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    alive = alive.filter((pid) => !isGone(pid));
  }
  return alive;
}

/** Polls `test`, for a value no event announces (a file a child writes, a STATUS= text). */
export async function until(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error("condition never held within 10 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits (polling: a check's or a child's shell writes it) until `path` has content. */
export async function untilWritten(path: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  const text = (): string => (existsSync(path) ? readFileSync(path, "utf8").trim() : "");
  while (text() === "") {
    if (Date.now() > deadline) throw new Error(`${path} was never written`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return text();
}

export { isGone };
