import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  createProcessManagerConnection,
  type DaemonAddress,
  discoverDaemon,
  formatAddress,
  type ProcessManagerConnection,
  type TlsClientOptions,
} from "@procmgr/rpc";
import type { CliContext } from "./context.js";
import { CliError, type DaemonTarget } from "./errors.js";

// Loaded lazily by BaseCommand (it pulls in the RPC stack).

export interface DaemonConnection {
  connection: ProcessManagerConnection;
  target: DaemonTarget;
}

/** `--cacert`, `--cert` and `--key`: paths of PEM files, for an https:// address. */
export interface TlsFlags {
  readonly cacert?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

/** Each TLS option: its flag and the variable that stands for it. */
const tlsOptionSources = [
  { option: "ca", flag: "--cacert", env: "PM_CACERT", what: "CA certificate" },
  { option: "cert", flag: "--cert", env: "PM_CLIENT_CERT", what: "client certificate" },
  { option: "key", flag: "--key", env: "PM_CLIENT_KEY", what: "client key" },
] as const;

/**
 * The TLS options of a connection: for an https:// address, the files of the flags, else of
 * PM_CACERT, PM_CLIENT_CERT and PM_CLIENT_KEY, read here (an error names the file). A TLS flag
 * with another address is a usage error; the variables then do not apply.
 */
export async function tlsOptionsFor(
  context: CliContext,
  address: DaemonAddress,
  flags: TlsFlags,
): Promise<TlsClientOptions | undefined> {
  const byFlag = { ca: flags.cacert, cert: flags.cert, key: flags.key };
  if (address.kind !== "tcp" || address.tls !== true) {
    const given = tlsOptionSources.find((s) => byFlag[s.option] !== undefined);
    if (given === undefined) return undefined;
    throw new CliError(
      "usage",
      `${given.flag} is for an https:// address, and the daemon is at ${formatAddress(address)}: pass --address https://host:port`,
    );
  }
  const options: TlsClientOptions = {};
  for (const source of tlsOptionSources) {
    const path = byFlag[source.option] ?? (context.env[source.env] || undefined);
    if (path === undefined) continue;
    try {
      options[source.option] = await readFile(resolve(context.cwd, path));
    } catch (e) {
      throw new CliError(
        "usage",
        `cannot read the ${source.what} ${path} (${source.flag}, ${source.env}): ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new CliError(
      "usage",
      "a client certificate needs its key: pass --cert PATH and --key PATH (PM_CLIENT_CERT, PM_CLIENT_KEY) together",
    );
  }
  return options;
}

/** Where the daemon is (flag, PM_ADDRESS, then discovery), without connecting. */
export async function locateDaemon(
  context: CliContext,
  addressFlag: string | undefined,
): Promise<{ target: DaemonTarget; address: DaemonAddress; token: string | undefined }> {
  const env: NodeJS.ProcessEnv = { ...context.env };
  if (addressFlag !== undefined) env.PM_ADDRESS = addressFlag;
  const explicit = env.PM_ADDRESS !== undefined && env.PM_ADDRESS.trim() !== "";
  const found = await discoverDaemon(env, context.uid);
  return {
    target: { address: formatAddress(found.address), searched: found.searched, explicit },
    address: found.address,
    token: found.token,
  };
}

export async function connectDaemon(
  context: CliContext,
  flags: { address?: string | undefined } & TlsFlags,
  onTarget: (target: DaemonTarget) => void,
): Promise<DaemonConnection> {
  const { target, address, token } = await locateDaemon(context, flags.address);
  onTarget(target);
  const tls = await tlsOptionsFor(context, address, flags);
  const connection = createProcessManagerConnection(address, { token, tls });
  return { connection, target };
}
