import {
  createProcessManagerConnection,
  discoverDaemon,
  formatAddress,
  type ProcessManagerConnection,
} from "@procmgr/rpc";
import type { CliContext } from "./context.js";
import type { DaemonTarget } from "./errors.js";

// Loaded lazily by BaseCommand (it pulls in the RPC stack).

export interface DaemonConnection {
  connection: ProcessManagerConnection;
  target: DaemonTarget;
}

/** Where the daemon is (flag, PM_ADDRESS, then discovery), without connecting. */
export async function locateDaemon(
  context: CliContext,
  addressFlag: string | undefined,
): Promise<{ target: DaemonTarget; token: string | undefined }> {
  const env: NodeJS.ProcessEnv = { ...context.env };
  if (addressFlag !== undefined) env.PM_ADDRESS = addressFlag;
  const explicit = env.PM_ADDRESS !== undefined && env.PM_ADDRESS.trim() !== "";
  const found = await discoverDaemon(env, context.uid);
  return {
    target: { address: formatAddress(found.address), searched: found.searched, explicit },
    token: found.token,
  };
}

export async function connectDaemon(
  context: CliContext,
  addressFlag: string | undefined,
  onTarget: (target: DaemonTarget) => void,
): Promise<DaemonConnection> {
  const { target, token } = await locateDaemon(context, addressFlag);
  onTarget(target);
  const connection = createProcessManagerConnection(target.address, { token });
  return { connection, target };
}
