import { Option } from "clipanion";
import { CliError } from "../errors.js";
import { BaseCommand, processArgument } from "./base.js";

export class DeleteCommand extends BaseCommand {
  static override paths = [["delete"], ["remove"], ["rm"]];

  static override usage = BaseCommand.Usage({
    category: "Processes",
    description: "Delete processes (a running one only with --force, which stops it first)",
    examples: [
      ["Delete myapp", "$0 delete myapp"],
      ["Stop and delete a running process", "$0 delete myapp --force"],
    ],
  });

  force = Option.Boolean("-f,--force", false, {
    description: "Stop the process first if it is running",
  });

  names = Option.Rest({ name: processArgument, required: 1 });

  async run(): Promise<number> {
    const client = await this.client();
    const out: Record<string, unknown>[] = [];
    for (const id of this.names) {
      const res = await client.delete({ id, force: this.force }).catch(async (e: unknown) => {
        const { Code, ConnectError } = await import("@connectrpc/connect");
        const ce = ConnectError.from(e);
        if (ce.code === Code.FailedPrecondition && !this.force) {
          throw new CliError("failed", `${ce.rawMessage} (add --force to stop and delete it)`, {
            cause: e,
          });
        }
        throw e;
      });
      if (this.json) out.push({ id: res.id, name: res.name, deleted: true });
      else this.print(`deleted ${res.name || id}`);
    }
    if (this.json) this.printJson(out.length === 1 ? out[0] : out);
    return 0;
  }
}
