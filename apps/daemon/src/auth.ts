import { createHash, timingSafeEqual } from "node:crypto";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { Health, ServerReflection, ServerReflectionV1alpha } from "@procmgr/rpc/grpc-standard";

/** How the caller reached us: the unix socket (trusted by its permissions) or TCP. */
export type CallerTransport = "unix" | "tcp";

/** Set per listener by `contextValues`; the default (in-memory transports) is untrusted. */
export const transportKey = createContextKey<CallerTransport>("tcp", {
  description: "caller transport",
});
/** Set by the auth interceptor: may the caller see secrets and mutate? */
export const trustedKey = createContextKey<boolean>(false, { description: "caller trusted" });

export function contextValuesFor(transport: CallerTransport): ContextValues {
  return createContextValues().set(transportKey, transport);
}

/**
 * The RPCs that need root-equivalent proof on TCP: those that change something, and TailLogs,
 * whose output may carry secrets of processes running as other users (their files are 0640).
 */
export const privilegedMethods: ReadonlySet<string> = new Set([
  "Create",
  "Start",
  "Stop",
  "Restart",
  "Delete",
  "Update",
  "ReloadConfig",
  "TailLogs",
]);

/**
 * The services every caller may use, token or not, on either listener: gRPC health, because
 * grpc_health_probe and Kubernetes' gRPC probes send no token and a serving status reveals
 * nothing; and server reflection, because it tells the API's shape (the published .proto tells
 * as much) and nothing of the processes. Neither changes anything.
 */
export const openServices: ReadonlySet<string> = new Set([
  Health.typeName,
  ServerReflection.typeName,
  ServerReflectionV1alpha.typeName,
]);

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * Whether a presented token is the expected one, in constant time: the SHA-256 digests of both
 * are compared with `timingSafeEqual`, so the buffers have equal lengths whatever was presented
 * and the time says nothing of where they differ. No expected token ("") matches nothing.
 */
export function tokensEqual(presented: string, expected: string): boolean {
  if (expected === "") return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Whether an `authorization` header value is `Bearer <token>` (see tokensEqual). */
export function authorizationMatches(header: string | null, token: string): boolean {
  if (header === null) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return tokensEqual(m?.[1] ?? "", token);
}

export function unauthenticatedMessage(daemonUser: string): string {
  return `permission denied: mutating calls and log reads need the daemon token; run pm-cli with sudo (or as ${daemonUser})`;
}

/**
 * Decides who the caller is: unix socket callers are trusted, TCP callers when they present the
 * token. Untrusted callers may only use the other read-only RPCs (which then redact env values);
 * the open services (health, reflection) pass without a check. `token` is asked for at each call
 * that presents one: the token accepted now (rotation).
 */
export function authInterceptor(
  token: () => string | Promise<string>,
  daemonUser: string,
): Interceptor {
  return (next) => async (req) => {
    if (openServices.has(req.service.typeName)) return await next(req);
    const header = req.header.get("authorization");
    const trusted =
      req.contextValues.get(transportKey) === "unix" ||
      (header !== null && authorizationMatches(header, await token()));
    req.contextValues.set(trustedKey, trusted);
    if (!trusted && privilegedMethods.has(req.method.name)) {
      throw new ConnectError(unauthenticatedMessage(daemonUser), Code.Unauthenticated);
    }
    return await next(req);
  };
}
