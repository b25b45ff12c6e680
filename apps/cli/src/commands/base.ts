import type { ProcessManagerClient, ProcessManagerConnection, ProcessStatus } from "@procmgr/rpc";
import { Command, Option } from "clipanion";
import * as t from "typanion";
import { type CliContext, isTty } from "../context.js";
import { CliError, type DaemonTarget } from "../errors.js";
import { type Colors, colors, shouldColor } from "../format/color.js";

export type OutputFormat = "text" | "json";

/** The option that names the daemon to talk to (completion reads it off the line too). */
export const addressFlag = "--address";

/**
 * The name of a positional that is a process the daemon knows (`start NAME...`, `describe
 * NAME`): shell completion offers the live processes' names for it.
 */
export const processArgument = "NAME";

/**
 * The base of every verb: `--address` (and its TLS files), `-o/--output`, `--no-color`, one
 * connection to the daemon, and the single error path (stderr, exit code by CliError.code).
 */
export abstract class BaseCommand extends Command<CliContext> {
  address = Option.String(addressFlag, {
    description:
      "Daemon address: unix:/path/to.sock, host:port or https://host:port (TLS) (default: $PM_ADDRESS, then discovery)",
  });

  cacert = Option.String("--cacert", {
    description: "TLS: trust the daemon's certificate if this CA (PEM) signed it (or $PM_CACERT)",
  });

  cert = Option.String("--cert", {
    description: "Mutual TLS: present this client certificate (PEM) (or $PM_CLIENT_CERT)",
  });

  key = Option.String("--key", {
    description: "Mutual TLS: the client certificate's key (PEM) (or $PM_CLIENT_KEY)",
  });

  output = Option.String("-o,--output", "text", {
    description: "Output format: text or json",
    validator: t.isEnum(["text", "json"] as const),
  });

  color = Option.Boolean("--color", {
    description: "Colour the output (default: on a terminal; --no-color disables)",
  });

  /** Where the daemon was looked for, once known (for "unreachable" messages). */
  protected target: DaemonTarget | undefined;
  private connection: ProcessManagerConnection | undefined;

  /** The verb itself; returns the exit code (undefined = 0). */
  abstract run(): Promise<number | undefined>;

  async execute(): Promise<number> {
    try {
      return (await this.run()) ?? 0;
    } catch (e) {
      return await this.report(e);
    } finally {
      this.closeConnection();
    }
  }

  protected async report(e: unknown): Promise<number> {
    let err: CliError;
    try {
      const { toCliError } = await import("../rpc-errors.js");
      err = toCliError(e, this.target, this.context.programName);
    } catch {
      err = CliError.from(e);
    }
    let text = `${this.context.programName}: ${err.message}\n`;
    if (err.code === "usage") {
      const verb = this.path.length > 0 ? ` ${this.path.join(" ")}` : "";
      text += `Run \`${this.context.programName}${verb} --help\` for usage.\n`;
    }
    this.context.stderr.write(text);
    return err.exitCode;
  }

  protected get json(): boolean {
    return this.output === "json";
  }

  protected get colors(): Colors {
    return colors(shouldColor(this.color, this.context.env, isTty(this.context)));
  }

  /** The connection to the daemon (discovered once per command run). */
  private async daemon(): Promise<ProcessManagerConnection> {
    if (this.connection === undefined) {
      const { connectDaemon } = await import("../connection.js");
      const flags = { address: this.address, cacert: this.cacert, cert: this.cert, key: this.key };
      const { connection } = await connectDaemon(this.context, flags, (target) => {
        this.target = target;
      });
      this.connection = connection;
    }
    return this.connection;
  }

  /** The daemon client. */
  protected async client(): Promise<ProcessManagerClient> {
    return (await this.daemon()).client;
  }

  /** Every process's status (List). */
  protected async listStatuses(): Promise<ProcessStatus[]> {
    return (await (await this.client()).list({})).processes;
  }

  protected closeConnection(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  protected print(text: string): void {
    this.context.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  protected printJson(value: unknown): void {
    this.context.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}
