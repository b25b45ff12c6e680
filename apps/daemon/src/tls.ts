import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { TlsSettings } from "@procmgr/config";
import { DaemonError } from "./errors.js";

/** The TLS files of the TCP listener, read and checked: what its secure context is made of. */
export interface TlsMaterial {
  /** For `tls.createServer` and `setSecureContext`. */
  readonly context: SecureContextOptions;
  /** The certificate's subject, for the log. */
  readonly subject: string;
  /** When the certificate expires (ISO 8601). */
  readonly validTo: string;
  readonly expired: boolean;
}

async function readPem(path: string, what: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new DaemonError(
      "tls",
      `cannot read the TLS ${what} ${path} (${flag}): ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

function parsed<T>(path: string, what: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new DaemonError("tls", `${path} is not a PEM ${what}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Reads the certificate, its key and the client CA bundle, and checks them one by one so that an
 * error names the file at fault: unreadable, not PEM, a key that is not the certificate's.
 */
export async function loadTlsMaterial(tls: TlsSettings): Promise<TlsMaterial> {
  const certPem = await readPem(tls.certPath, "certificate", "--tls-cert");
  const keyPem = await readPem(tls.keyPath, "key", "--tls-key");
  const caPem =
    tls.clientCaPath === null
      ? undefined
      : await readPem(tls.clientCaPath, "client CA", "--tls-client-ca");
  const cert = parsed(tls.certPath, "certificate", () => new X509Certificate(certPem));
  const key: KeyObject = parsed(tls.keyPath, "private key", () => createPrivateKey(keyPem));
  if (!cert.checkPrivateKey(key)) {
    throw new DaemonError(
      "tls",
      `the TLS key ${tls.keyPath} does not match the certificate ${tls.certPath}`,
    );
  }
  if (caPem !== undefined && tls.clientCaPath !== null) {
    const caPath = tls.clientCaPath;
    parsed(caPath, "CA certificate", () => new X509Certificate(caPem));
  }
  const context: SecureContextOptions = {
    cert: certPem,
    key: keyPem,
    ...(caPem !== undefined ? { ca: caPem } : {}),
  };
  try {
    createSecureContext(context);
  } catch (e) {
    const files = [tls.certPath, tls.keyPath, tls.clientCaPath].filter((f) => f !== null);
    throw new DaemonError("tls", `TLS files ${files.join(", ")}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const validTo = new Date(cert.validTo);
  return {
    context,
    subject: cert.subject.replaceAll("\n", ", "),
    validTo: validTo.toISOString(),
    expired: validTo.getTime() < Date.now(),
  };
}
