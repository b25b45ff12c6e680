/**
 * Test support (not exported from the package): config builder, event waiters, fixtures.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { type ProcessConfig, resolveProcessConfig } from "@procmgr/config";
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

export { isGone } from "./proc-fs.js";
