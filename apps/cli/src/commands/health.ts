import { setTimeout as delay } from "node:timers/promises";
import { Option } from "clipanion";
import * as t from "typanion";
import { BaseCommand } from "./base.js";

export class HealthCommand extends BaseCommand {
  static override paths = [["health"]];

  static override usage = BaseCommand.Usage({
    category: "Daemon",
    description: "Exit 0 when the daemon answers ready (--wait: keep trying until --timeout)",
    details: `
      Exit codes: 0 ready, 1 the daemon answered but is not ready (or did not become ready in
      time), 3 the daemon cannot be reached. Handy in scripts and \`ExecStartPost=\`.
    `,
    examples: [
      ["Is the daemon up?", "$0 health"],
      ["Wait up to 10 s for it", "$0 health --wait --timeout 10"],
    ],
  });

  wait = Option.Boolean("--wait", false, {
    description: "Retry until the daemon is ready or the timeout expires",
  });

  timeout = Option.String("--timeout", "30", {
    description: "Seconds to wait with --wait (default 30)",
    validator: t.cascade(t.isNumber(), t.isAtLeast(0)),
  });

  async run(): Promise<number> {
    const deadline = Date.now() + this.timeout * 1000;
    let lastError: unknown;
    let answeredNotReady = false;
    for (;;) {
      try {
        const client = await this.client();
        const remaining = Math.max(100, Math.min(5000, deadline - Date.now()));
        const s = await client.getStatus({}, { timeoutMs: this.wait ? remaining : 5000 });
        if (s.ready) {
          if (this.json) {
            this.printJson({
              ready: true,
              version: s.version,
              address: this.target?.address ?? null,
            });
          } else {
            this.print(`ready (dd-procmgrd ${s.version} at ${this.target?.address ?? "?"})`);
          }
          return 0;
        }
        answeredNotReady = true;
        lastError = undefined;
      } catch (e) {
        if (!this.wait) throw e;
        lastError = e;
        answeredNotReady = false;
      }
      if (!this.wait || Date.now() >= deadline || this.context.signal.aborted) break;
      this.closeConnection();
      try {
        await delay(Math.min(250, Math.max(0, deadline - Date.now())), undefined, {
          signal: this.context.signal,
        });
      } catch {
        break;
      }
    }
    if (lastError !== undefined && !answeredNotReady) throw lastError;
    if (this.json) this.printJson({ ready: false, address: this.target?.address ?? null });
    else {
      this.context.stderr.write(
        `${this.context.programName}: the daemon at ${this.target?.address ?? "?"} is not ready${this.wait ? ` after ${this.timeout}s` : ""}\n`,
      );
    }
    return 1;
  }
}
