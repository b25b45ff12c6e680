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

export class RunRecords {
  readonly dir: string;
  private made = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  write(record: RunRecord): void {
    if (!this.made) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
    writeFileSync(join(this.dir, `${record.id}.json`), JSON.stringify(record), { mode: 0o600 });
  }

  remove(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
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
