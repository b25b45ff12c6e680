import { link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { RawProcess } from "@procmgr/config";
import { DaemonError } from "./errors.js";

/** One API-created process as saved in `<stateDir>/processes.json`. */
export interface PersistedProcess {
  readonly id: string;
  readonly name: string;
  /** processes.yaml-shaped config (processConfigToRaw). */
  readonly config: RawProcess;
  /** Whether it should run (it was running when last saved). */
  readonly running: boolean;
}

interface StoreFile {
  readonly version: 1;
  readonly processes: readonly PersistedProcess[];
}

export interface LoadResult {
  readonly processes: PersistedProcess[];
  /** Which file the list came from; "none" when neither exists. */
  readonly source: "main" | "backup" | "none";
  /** Why the main file was not used, when the backup was. */
  readonly mainError?: string;
}

function parseStore(text: string, file: string): PersistedProcess[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DaemonError("persist", `${file}: not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const d = data as Partial<StoreFile> | null;
  if (d === null || typeof d !== "object" || d.version !== 1 || !Array.isArray(d.processes)) {
    throw new DaemonError("persist", `${file}: expected {"version":1,"processes":[...]}`);
  }
  for (const [i, p] of d.processes.entries()) {
    if (
      p === null ||
      typeof p !== "object" ||
      typeof p.id !== "string" ||
      typeof p.name !== "string" ||
      typeof p.config !== "object" ||
      p.config === null ||
      typeof p.running !== "boolean"
    ) {
      throw new DaemonError("persist", `${file}: processes[${i}] is malformed`);
    }
  }
  return [...d.processes];
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function unlinkOptional(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
}

/**
 * The API-created processes, saved atomically: write `<file>.tmp`, fsync, keep the previous file
 * as `<file>.bak` (hard link), rename the tmp over the file, fsync the directory. A crash or a
 * full disk leaves either the old or the new file, never a half-written one; a corrupt main file
 * falls back to the backup.
 */
export class ProcessStore {
  readonly path: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  get backupPath(): string {
    return `${this.path}.bak`;
  }

  async load(): Promise<LoadResult> {
    const main = await readOptional(this.path);
    let mainError: string | undefined;
    if (main !== undefined) {
      try {
        return { processes: parseStore(main, this.path), source: "main" };
      } catch (e) {
        mainError = (e as Error).message;
      }
    }
    const bak = await readOptional(this.backupPath);
    if (bak !== undefined) {
      return {
        processes: parseStore(bak, this.backupPath),
        source: "backup",
        ...(mainError !== undefined ? { mainError } : {}),
      };
    }
    if (mainError !== undefined) throw new DaemonError("persist", mainError);
    return { processes: [], source: "none" };
  }

  /** Saves are serialized; each one replaces the whole list. */
  save(processes: readonly PersistedProcess[]): Promise<void> {
    const run = this.chain.then(() => this.write(processes));
    this.chain = run.catch(() => {});
    return run;
  }

  private async write(processes: readonly PersistedProcess[]): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const body: StoreFile = { version: 1, processes };
    const text = `${JSON.stringify(body, null, 2)}\n`;
    const tmp = `${this.path}.tmp`;
    try {
      const fh = await open(tmp, "w", 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if ((await readOptional(this.path)) !== undefined) {
        const bakTmp = `${this.backupPath}.tmp`;
        await unlinkOptional(bakTmp);
        await link(this.path, bakTmp);
        await rename(bakTmp, this.backupPath);
      }
      await rename(tmp, this.path);
      const dh = await open(dir, "r");
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (e) {
      await unlinkOptional(tmp).catch(() => {});
      throw new DaemonError("persist", `cannot save ${this.path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
