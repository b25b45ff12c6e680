import { Code, ConnectError } from "@connectrpc/connect";
import { RpcClientError, type TlsFailure, type TlsFailureKind, tlsFailureOf } from "@procmgr/rpc";
import { CliError, type CliErrorCode, type DaemonTarget } from "./errors.js";

/**
 * Maps anything thrown by a command to a CliError: the one place where RPC codes become
 * messages and exit codes. Loaded lazily (it pulls in the RPC stack).
 */
export function toCliError(e: unknown, target?: DaemonTarget, programName = "pm-cli"): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof RpcClientError) return new CliError("usage", e.message, { cause: e });
  if (e instanceof ConnectError || isConnectErrorLike(e)) {
    const ce = ConnectError.from(e);
    const tls = tlsFailureOf(ce, target?.address.startsWith("https://") === true);
    if (tls !== undefined) return fromTlsFailure(tls, target, ce);
    return fromConnectError(ce, target, programName);
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
  const address = target?.address ?? "";
  if (/^[^/]+:\d+$/.test(address) && /socket hang up|ECONNRESET/.test(ce.rawMessage)) {
    // Something answered and hung up: what a TLS listener does with a cleartext request.
    return `the daemon at ${address} closed the connection${reason}: if it serves TLS, use --address https://${address}`;
  }
  return [
    `cannot reach the process manager daemon ${where}${reason}.`,
    "Is dd-procmgrd running? Start it with one of:",
    "  sudo systemctl start dd-procmgrd      # system service",
    "  systemctl --user start dd-procmgrd    # user service",
    "  dd-procmgrd                           # in the foreground",
    "or point the CLI at it with --address unix:/path/to.sock|host:port|https://host:port (or PM_ADDRESS).",
  ].join("\n");
}

/**
 * One line for each way a TLS connection fails: its exit code, and what is wrong with the option
 * that fixes it (`daemon` is "the daemon at https://host:port", `reason` OpenSSL's words).
 */
const tlsMessages: Record<
  TlsFailureKind,
  { code: CliErrorCode; message: (daemon: string, reason: string) => string }
> = {
  untrusted: {
    code: "unreachable",
    message: (daemon, reason) =>
      `cannot verify the TLS certificate of ${daemon} (${reason}): pass --cacert PATH (or PM_CACERT) with the CA that signed it`,
  },
  "invalid-certificate": {
    code: "unreachable",
    message: (daemon, reason) => `the TLS certificate of ${daemon} is not valid here: ${reason}`,
  },
  "client-certificate-required": {
    code: "permission",
    message: (daemon, reason) =>
      `${daemon} requires a client certificate (${reason}): pass --cert PATH and --key PATH (or PM_CLIENT_CERT, PM_CLIENT_KEY)`,
  },
  "client-certificate-refused": {
    code: "permission",
    message: (daemon, reason) => `${daemon} refused the client certificate: ${reason}`,
  },
  closed: {
    code: "unreachable",
    message: (daemon, reason) =>
      `${daemon} closed the TLS connection (${reason}); if it requires client certificates, it refused the one presented (--cert) or found none`,
  },
  "not-tls": {
    code: "unreachable",
    message: (daemon, reason) =>
      `${daemon} does not answer in TLS (${reason}): use its address without https://`,
  },
  handshake: {
    code: "unreachable",
    message: (daemon, reason) => `the TLS handshake with ${daemon} failed: ${reason}`,
  },
};

function fromTlsFailure(
  f: TlsFailure,
  target: DaemonTarget | undefined,
  cause: ConnectError,
): CliError {
  const { code, message } = tlsMessages[f.kind];
  const daemon = `the daemon${target ? ` at ${target.address}` : ""}`;
  return new CliError(code, message(daemon, f.reason), { cause });
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
