/**
 * Why a TLS connection to the daemon failed, read from the error codes Node and OpenSSL put on
 * the cause of a call's ConnectError (connect-node reports them as INTERNAL or ABORTED, which
 * says nothing to a user).
 */
export type TlsFailureKind =
  /** The daemon's certificate is not signed by a CA the client trusts (`--cacert`). */
  | "untrusted"
  /** Signed by a trusted CA but not valid here: expired, not yet valid, another host name. */
  | "invalid-certificate"
  /** The daemon asks for a client certificate and none was presented (`--cert`, `--key`). */
  | "client-certificate-required"
  /** The daemon refused the client certificate presented. */
  | "client-certificate-refused"
  /** The daemon answered in cleartext: the address should not be https://. */
  | "not-tls"
  /**
   * The daemon closed the connection: how Node's TLS server refuses a client certificate it
   * does not trust (it checks it after the handshake and sends no alert).
   */
  | "closed"
  /** Any other failed handshake. */
  | "handshake";

export interface TlsFailure {
  readonly kind: TlsFailureKind;
  /** What OpenSSL or Node said, without OpenSSL's file and line. */
  readonly reason: string;
}

const kindOfCode: Readonly<Record<string, TlsFailureKind>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted",
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted",
  CERT_UNTRUSTED: "untrusted",
  CERT_SIGNATURE_FAILURE: "untrusted",
  CERT_HAS_EXPIRED: "invalid-certificate",
  CERT_NOT_YET_VALID: "invalid-certificate",
  CERT_REVOKED: "invalid-certificate",
  INVALID_PURPOSE: "invalid-certificate",
  ERR_TLS_CERT_ALTNAME_INVALID: "invalid-certificate",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "client-certificate-required",
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: "client-certificate-refused",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "client-certificate-refused",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "client-certificate-refused",
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: "client-certificate-refused",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "client-certificate-refused",
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: "client-certificate-refused",
};

/**
 * OpenSSL's reasons, for the errors Node names only by errno (`EPROTO`) or by a code missing
 * above: a cleartext answer comes as `write EPROTO ...:wrong version number:...`.
 */
const kindOfReason: readonly (readonly [RegExp, TlsFailureKind])[] = [
  [/wrong version number|packet length too long|http request/, "not-tls"],
  [/alert certificate required/, "client-certificate-required"],
  [
    /alert (unknown ca|bad certificate|certificate unknown|unsupported certificate)/,
    "client-certificate-refused",
  ],
];

function kindOf(code: string, reason: string): TlsFailureKind | undefined {
  const known = kindOfCode[code];
  if (known !== undefined) return known;
  if (code !== "EPROTO" && !/^ERR_(SSL|TLS)_/.test(code)) return undefined;
  return kindOfReason.find(([pattern]) => pattern.test(reason))?.[1] ?? "handshake";
}

/**
 * "...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../x.c:1:".
 * Node 24 adds advice for its own users to an untrusted certificate's message ("; if the root CA
 * is installed locally, try running Node.js with --use-system-ca"), which is wrong for ours: the
 * fix is the caller's (`--cacert`), so it goes.
 */
function shortReason(message: string): string {
  const m = /:SSL routines:[^:]*:([^:]+):/.exec(message);
  const reason = m?.[1] ?? message.split("\n")[0] ?? message;
  return reason.replace(/; if the root CA is installed locally, .*$/, "").trim();
}

/**
 * The TLS failure somewhere along an error's causes, if any. With `overTls` (the call went to an
 * https:// address), a connection reset is taken for one too: Node's TLS server checks a client
 * certificate after the handshake and closes the connection without an alert when it refuses it.
 */
export function tlsFailureOf(e: unknown, overTls = false): TlsFailure | undefined {
  let reset: TlsFailure | undefined;
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === "string") {
      const reason = shortReason(c.message);
      const kind = kindOf(code, reason);
      if (kind !== undefined) return { kind, reason };
      if (overTls && code === "ECONNRESET") {
        reset = { kind: "closed", reason: shortReason(c.message) };
      }
    }
    c = c.cause;
  }
  return reset;
}
