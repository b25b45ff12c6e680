import type { ProcessStatus } from "@procmgr/rpc";
import { Option, UsageError } from "clipanion";
import { BaseCommand } from "./base.js";

/** How many RPCs of one verb are in flight at once (one HTTP/2 connection multiplexes them). */
const concurrency = 64;

/**
 * start, stop and restart: the same verb over NAME... (or --all), with a different RPC and past
 * tense. The calls run concurrently, so stopping 100 processes takes about as long as the
 * slowest stop, not the sum; results print in the order the names were given.
 */
export abstract class LifecycleVerbCommand extends BaseCommand {
  protected abstract readonly verb: "start" | "stop" | "restart";

  all = Option.Boolean("--all", false, { description: "Every process the daemon knows" });

  names = Option.Rest({ name: "NAME" });

  async run(): Promise<number> {
    if (this.all === this.names.length > 0) {
      throw new UsageError(`${this.verb}: give process names or --all (not both)`);
    }
    const client = await this.client();
    const f = await import("../format/process.js");
    const ids = this.all ? (await client.list({})).processes.map((p) => p.id) : this.names;
    const results = new Array<{ process?: ProcessStatus | undefined }>(ids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const i = next++;
        results[i] = await client[this.verb]({ id: ids[i] as string });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    const out: Record<string, unknown>[] = [];
    for (const { process: p } of results) {
      if (p === undefined) continue;
      if (this.json) {
        out.push(f.processToJson(p));
        continue;
      }
      const pid = this.verb !== "stop" && p.pid > 0 ? ` (pid ${p.pid})` : "";
      this.print(`${pastTense[this.verb]} ${p.name}${pid}: ${f.stateName(p.state)}`);
    }
    if (this.json) this.printJson(out.length === 1 ? out[0] : out);
    return 0;
  }
}

const pastTense = { start: "started", stop: "stopped", restart: "restarted" } as const;
