import type { ProcessStatus } from "@procmgr/rpc";
import { Option, UsageError } from "clipanion";
import { BaseCommand, processArgument } from "./base.js";

/**
 * start, stop and restart: the same verb over NAME... (or --all), with a different RPC and past
 * tense. A start or restart answers once each process is ready; exit 1 when one ended `failed`. Several names go in one call (`ids`), which the daemon checks first and then handles
 * concurrently: stopping 100 processes takes about as long as the slowest stop, not the sum.
 */
export abstract class LifecycleVerbCommand extends BaseCommand {
  protected abstract readonly verb: "start" | "stop" | "restart";

  all = Option.Boolean("--all", false, { description: "Every process the daemon knows" });

  names = Option.Rest({ name: processArgument });

  async run(): Promise<number> {
    if (this.all === this.names.length > 0) {
      throw new UsageError(`${this.verb}: give process names or --all (not both)`);
    }
    const client = await this.client();
    const f = await import("../format/process.js");
    const ids = this.all ? (await this.listStatuses()).map((p) => p.id) : this.names;
    const processes: ProcessStatus[] =
      ids.length > 0 ? (await client[this.verb]({ ids })).processes : [];
    // A start answers once each process is ready (or why not): a failed one is a "no".
    const failed = this.verb !== "stop" && processes.some((p) => f.stateName(p.state) === "failed");
    if (this.json) {
      const out = processes.map((p) => f.processToJson(p));
      this.printJson(out.length === 1 ? out[0] : out);
      return failed ? 1 : 0;
    }
    for (const p of processes) {
      const pid = this.verb !== "stop" && p.pid > 0 ? ` (pid ${p.pid})` : "";
      const why = p.failureReason === "" ? "" : ` (${p.failureReason})`;
      this.print(`${pastTense[this.verb]} ${p.name}${pid}: ${f.stateName(p.state)}${why}`);
    }
    return failed ? 1 : 0;
  }
}

const pastTense = { start: "started", stop: "stopped", restart: "restarted" } as const;
