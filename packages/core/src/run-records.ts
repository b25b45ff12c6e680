/** Run records: what a crashed supervisor left running, to be found by the next one. */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface RunRecord {
  readonly id: string;
  readonly name: string;
  readonly pid: number;
  readonly pgid: number;
  /** Field 22 of /proc/<pid>/stat. */
  readonly startTime: number;
  readonly bootId: string;
  readonly killSignal: NodeJS.Signals;
  readonly timeoutStopSec: number;
}

/**
 * The records, one file per process. Writing or removing one never throws: a state dir that
 * is full or read-only must not stop a start or an exit (the cgroups still find what a crash
 * leaves); `onProblem` hears of it once when it begins and once when the dir works again.
 */
export class RunRecords {
  readonly dir: string;
  private made = false;
  private readonly onProblem: (warning: { message: string }) => void;
  private failing = false;

  constructor(dir: string, onProblem: (warning: { message: string }) => void = () => {}) {
    this.dir = dir;
    this.onProblem = onProblem;
  }

  write(record: RunRecord): void {
    this.attempt(() => {
      if (!this.made) {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.made = true;
      }
      writeFileSync(join(this.dir, `${record.id}.json`), JSON.stringify(record), { mode: 0o600 });
    });
  }

  remove(id: string): void {
    this.attempt(() => rmSync(join(this.dir, `${id}.json`), { force: true }));
  }

  private attempt(change: () => void): void {
    try {
      change();
    } catch (e) {
      if (!this.failing) {
        this.failing = true;
        this.onProblem({
          message: `cannot write run records in ${this.dir} (${(e as Error).message}): a crash of the supervisor now would leave only the cgroups to find its processes`,
        });
      }
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.onProblem({ message: `run records in ${this.dir} are written again` });
    }
  }

  readAll(): RunRecord[] {
    let files: string[];
    try {
      files = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: RunRecord[] = [];
    for (const f of files) {
      if (!f.endsWith(".json")) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, f), "utf8")) as Partial<RunRecord>;
        if (typeof r.pid === "number" && typeof r.pgid === "number") {
          out.push({
            id: f.slice(0, -5),
            name: String(r.name ?? "?"),
            pid: r.pid,
            pgid: r.pgid,
            startTime: Number(r.startTime),
            bootId: String(r.bootId ?? ""),
            killSignal: (r.killSignal ?? "SIGTERM") as NodeJS.Signals,
            timeoutStopSec: Number(r.timeoutStopSec ?? 10),
          });
        } else {
          rmSync(join(this.dir, f), { force: true });
        }
      } catch {
        rmSync(join(this.dir, f), { force: true });
      }
    }
    return out;
  }
}
