import type { CliContext } from "../context.js";
import type { Candidate } from "./complete-words.js";

/** How long completion waits for the daemon before offering no names. */
const listTimeoutMs = 1500;

/**
 * The daemon's processes as candidates (`web`, described by its state), through the normal
 * discovery (`--address` from the line, PM_ADDRESS, the sockets) and List call. No names when
 * the daemon cannot be reached, refuses, does not answer within the timeout or the address is
 * not one: a completion must not print into the line being typed. Anything else is a bug and
 * is thrown.
 */
export async function processCandidates(
  context: CliContext,
  address: string | undefined,
): Promise<Candidate[]> {
  const [{ connectDaemon }, { stateName }, { toCliError }] = await Promise.all([
    import("../connection.js"),
    import("../format/process.js"),
    import("../rpc-errors.js"),
  ]);
  let close = () => {};
  try {
    const { connection } = await connectDaemon(context, { address }, () => {});
    close = () => connection.close();
    const { processes } = await connection.client.list({}, { timeoutMs: listTimeoutMs });
    return processes.map((p) => ({ word: p.name, description: stateName(p.state) }));
  } catch (e) {
    if (toCliError(e).code === "internal") throw e;
    return [];
  } finally {
    close();
  }
}
