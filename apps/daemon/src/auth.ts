import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
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

export function newToken(): string {
  return randomBytes(32).toString("hex");
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Constant-time check of an `authorization` header value against the token. */
export function authorizationMatches(header: string | null, token: string): boolean {
  if (header === null || token === "") return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const presented = m?.[1] ?? "";
  // Compare digests so that the lengths are equal and the timing says nothing.
  return timingSafeEqual(digest(presented), digest(token)) && presented.length === token.length;
}

export function unauthenticatedMessage(daemonUser: string): string {
  return `permission denied: mutating calls and log reads need the daemon token; run pm-cli with sudo (or as ${daemonUser})`;
}

/**
 * Decides who the caller is: unix socket callers are trusted, TCP callers when they present the
 * token. Untrusted callers may only use the other read-only RPCs (which then redact env values);
 * the open services (health, reflection) pass without a check.
 */
export function authInterceptor(token: () => string, daemonUser: string): Interceptor {
  return (next) => async (req) => {
    if (openServices.has(req.service.typeName)) return await next(req);
    const trusted =
      req.contextValues.get(transportKey) === "unix" ||
      authorizationMatches(req.header.get("authorization"), token());
    req.contextValues.set(trustedKey, trusted);
    if (!trusted && privilegedMethods.has(req.method.name)) {
      throw new ConnectError(unauthenticatedMessage(daemonUser), Code.Unauthenticated);
    }
    return await next(req);
  };
}

/**
 * Writes a fresh token file readable only by the daemon's user (0600). An existing file (from a
 * crashed daemon) is replaced; O_EXCL|O_NOFOLLOW so that nothing is written through a symlink.
 */
export async function writeTokenFile(path: string, token: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw e;
  });
  const fh = await open(
    path,
    fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
    0o600,
  );
  try {
    await fh.writeFile(`${token}\n`);
    await fh.chmod(0o600);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes the token file if it still holds our token. */
export async function removeTokenFile(path: string, token: string): Promise<void> {
  try {
    const content = (await readFile(path, "utf8")).trim();
    if (content === token) await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
