import { Option } from "clipanion";
import { BaseCommand } from "./base.js";

/** start, stop and restart: the same loop over NAME... with a different RPC and past tense. */
export abstract class LifecycleVerbCommand extends BaseCommand {
  protected abstract readonly verb: "start" | "stop" | "restart";

  names = Option.Rest({ name: "NAME", required: 1 });

  async run(): Promise<number> {
    const client = await this.client();
    const f = await import("../format/process.js");
    const out: Record<string, unknown>[] = [];
    for (const id of this.names) {
      const { process: p } = await client[this.verb]({ id });
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
