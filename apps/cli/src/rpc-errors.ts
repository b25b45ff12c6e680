import { Code, ConnectError } from "@connectrpc/connect";
import { RpcClientError } from "@procmgr/rpc";
import { CliError, type DaemonTarget } from "./errors.js";

/**
 * Maps anything thrown by a command to a CliError: the one place where RPC codes become
 * messages and exit codes. Loaded lazily (it pulls in the RPC stack).
 */
export function toCliError(e: unknown, target?: DaemonTarget, programName = "pm-cli"): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof RpcClientError) return new CliError("usage", e.message, { cause: e });
  if (e instanceof ConnectError || isConnectErrorLike(e)) {
    return fromConnectError(ConnectError.from(e), target, programName);
  }
  return CliError.from(e);
}

function isConnectErrorLike(e: unknown): boolean {
  return e instanceof Error && e.name === "ConnectError";
}

function unreachableMessage(ce: ConnectError, target: DaemonTarget | undefined): string {
  const where = target
    ? target.explicit || target.searched.length <= 1
      ? `at ${target.address}`
      : `(looked at ${target.searched.join(", ")})`
    : "";
  const reason = ce.rawMessage ? ` (${ce.rawMessage})` : "";
  return [
    `cannot reach the process manager daemon ${where}${reason}.`,
    "Is dd-procmgrd running? Start it with one of:",
    "  sudo systemctl start dd-procmgrd      # system service",
    "  systemctl --user start dd-procmgrd    # user service",
    "  dd-procmgrd                           # in the foreground",
    "or point the CLI at it with --address unix:/path/to.sock|host:port (or PM_ADDRESS).",
  ].join("\n");
}

function fromConnectError(
  ce: ConnectError,
  target: DaemonTarget | undefined,
  programName: string,
): CliError {
  const msg = ce.rawMessage || Code[ce.code];
  switch (ce.code) {
    case Code.Unavailable:
      return new CliError("unreachable", unreachableMessage(ce, target), { cause: ce });
    case Code.DeadlineExceeded:
      return new CliError(
        "unreachable",
        `the daemon${target ? ` at ${target.address}` : ""} did not answer in time: ${msg}`,
        { cause: ce },
      );
    case Code.Unauthenticated:
    case Code.PermissionDenied: {
      const hint = /sudo/i.test(msg)
        ? ""
        : `; run with sudo (sudo ${programName} ...) or as the daemon's user`;
      return new CliError("permission", `permission denied: ${msg}${hint}`, { cause: ce });
    }
    case Code.InvalidArgument:
      return new CliError("usage", `invalid argument: ${msg}`, { cause: ce });
    case Code.NotFound:
      return new CliError("failed", `not found: ${msg}`, { cause: ce });
    case Code.AlreadyExists:
      return new CliError("failed", `already exists: ${msg}`, { cause: ce });
    case Code.FailedPrecondition:
      return new CliError("failed", msg, { cause: ce });
    case Code.Unimplemented:
      return new CliError("failed", `the daemon does not support this call: ${msg}`, {
        cause: ce,
      });
    default:
      return new CliError("failed", `${Code[ce.code] ?? "error"}: ${msg}`, { cause: ce });
  }
}
