import { UsageError } from "clipanion";
import {
  baseExtraFlags,
  type ExtraFlag,
  type ParsedProxyArgs,
  type ProxyParseOptions,
  parseProxyArgs,
} from "../proxy-args.js";
import { BaseCommand } from "./base.js";

/**
 * A verb whose arguments come through a clipanion proxy (create, update): parses them with
 * parseProxyArgs and applies the shared flags (--address, -o, --color) found among them.
 */
export abstract class ProxyVerbCommand extends BaseCommand {
  protected parseArgs(
    argv: readonly string[],
    options: Omit<ProxyParseOptions, "extraFlags"> & { extraFlags?: readonly ExtraFlag[] },
  ): ParsedProxyArgs {
    const parsed = parseProxyArgs(argv, {
      ...options,
      extraFlags: [...baseExtraFlags, ...(options.extraFlags ?? [])],
    });
    const address = parsed.extra.get("address");
    if (address !== undefined) this.address = address;
    const output = parsed.extra.get("output");
    if (output !== undefined) {
      if (output !== "text" && output !== "json") {
        throw new UsageError(
          `-o/--output expects text or json; received ${JSON.stringify(output)}`,
        );
      }
      this.output = output;
    }
    const color = parsed.extra.get("color");
    if (color !== undefined) this.color = color === "true";
    return parsed;
  }

  protected printHelp(): number {
    this.context.stdout.write(this.cli.usage(this, { detailed: true }));
    return 0;
  }
}
