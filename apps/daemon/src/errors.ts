import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError, formatConfigError } from "@procmgr/config";
import { SupervisorError } from "@procmgr/core";

export type DaemonErrorCode =
  | "usage"
  | "socket-in-use"
  | "socket-path"
  | "remote-bind"
  | "tls"
  | "listen"
  | "persist"
  | "io";

/** The daemon's own failures (bad flags, a live daemon on the socket, I/O). */
export class DaemonError extends Error {
  override readonly name = "DaemonError";
  readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static from(e: unknown): DaemonError {
    if (e instanceof DaemonError) return e;
    const message = e instanceof Error ? e.message : String(e);
    return new DaemonError("io", message, { cause: e });
  }
}

const supervisorCodes: Record<string, Code> = {
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "invalid-state": Code.FailedPrecondition,
  "spawn-failed": Code.FailedPrecondition,
  "invalid-argument": Code.InvalidArgument,
};

/**
 * The one place where domain errors become RPC errors. `configCode` is the code of a
 * ConfigError: INVALID_ARGUMENT for a spec sent by the caller, FAILED_PRECONDITION for a config
 * file on disk (reload).
 */
export function toConnectError(e: unknown, configCode: Code = Code.InvalidArgument): ConnectError {
  if (e instanceof ConnectError) return e;
  if (e instanceof SupervisorError) {
    return new ConnectError(
      e.message,
      supervisorCodes[e.code] ?? Code.Internal,
      undefined,
      undefined,
      e,
    );
  }
  if (e instanceof ConfigError) {
    return new ConnectError(formatConfigError(e), configCode, undefined, undefined, e);
  }
  if (e instanceof DaemonError) {
    return new ConnectError(e.message, Code.Internal, undefined, undefined, e);
  }
  return ConnectError.from(e, Code.Internal);
}
