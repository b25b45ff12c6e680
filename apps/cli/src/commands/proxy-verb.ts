import { UsageError } from "clipanion";
import {
  baseExtraFlags,
  type ExtraFlag,
  type ParsedProxyArgs,
  type ProxyParseOptions,
  parseProxyArgs,
} from "../proxy-args.js";
import { BaseCommand } from "./base.js";

/** A proxy verb's own flags: the field flags it takes and its flags that are not fields. */
export type VerbFlags = Omit<ProxyParseOptions, "extraFlags"> & {
  extraFlags?: readonly ExtraFlag[];
};

/**
 * A verb whose arguments come through a clipanion proxy (create, update): parses them with
 * parseProxyArgs and applies the shared flags (--address, -o, --color) found among them.
 */
export abstract class ProxyVerbCommand extends BaseCommand {
  /**
   * True when the first positional is a process the daemon knows (`update NAME`), false when
   * it is a new one (`create NAME`): shell completion offers live names for the former.
   */
  abstract readonly firstIsProcess: boolean;

  /** The verb's own flags (loads the field table). */
  protected abstract verbFlags(): Promise<VerbFlags>;

  /** Every flag the proxied words may hold: run() parses with them, completion offers them. */
  async parseOptions(): Promise<ProxyParseOptions> {
    const own = await this.verbFlags();
    return { ...own, extraFlags: [...baseExtraFlags, ...(own.extraFlags ?? [])] };
  }

  protected parseArgs(argv: readonly string[], options: ProxyParseOptions): ParsedProxyArgs {
    const parsed = parseProxyArgs(argv, options);
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
