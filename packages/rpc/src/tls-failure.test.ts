import { strict as assert } from "node:assert";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { tlsFailureOf } from "./tls-failure.js";

/** An error as connect-node reports a failed TLS call: a ConnectError caused by Node's. */
function failed(code: string, message: string): ConnectError {
  const cause = Object.assign(new Error(message), { code });
  return new ConnectError(message, Code.Internal, undefined, undefined, cause);
}

test("an untrusted daemon certificate", () => {
  assert.deepEqual(
    tlsFailureOf(
      failed("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"),
    ),
    { kind: "untrusted", reason: "self-signed certificate in certificate chain" },
  );
  assert.equal(tlsFailureOf(failed("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "x"))?.kind, "untrusted");
  // Node 24's advice to its own users is not for ours (the CLI says to pass --cacert).
  assert.deepEqual(
    tlsFailureOf(
      failed(
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca",
      ),
    ),
    { kind: "untrusted", reason: "unable to verify the first certificate" },
  );
});

test("a certificate for another host, or expired", () => {
  assert.equal(
    tlsFailureOf(failed("ERR_TLS_CERT_ALTNAME_INVALID", "x"))?.kind,
    "invalid-certificate",
  );
  assert.equal(tlsFailureOf(failed("CERT_HAS_EXPIRED", "x"))?.kind, "invalid-certificate");
});

test("a client certificate required: OpenSSL's file and line are dropped", () => {
  const message =
    "809C6872627F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n";
  assert.deepEqual(tlsFailureOf(failed("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", message)), {
    kind: "client-certificate-required",
    reason: "tlsv13 alert certificate required",
  });
});

test("a cleartext answer, which Node names by errno only", () => {
  const message =
    "write EPROTO 805C8B2ECF7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n";
  assert.deepEqual(tlsFailureOf(failed("EPROTO", message)), {
    kind: "not-tls",
    reason: "wrong version number",
  });
});

test("other SSL errors are handshake failures; plain errors are none", () => {
  assert.equal(tlsFailureOf(failed("ERR_SSL_SOMETHING_NEW", "x"))?.kind, "handshake");
  assert.equal(tlsFailureOf(failed("ECONNREFUSED", "connect ECONNREFUSED")), undefined);
  assert.equal(tlsFailureOf(new Error("no code")), undefined);
  assert.equal(tlsFailureOf("not an error"), undefined);
});

test("a reset is a TLS failure only on a TLS connection", () => {
  const reset = failed("ECONNRESET", "socket hang up");
  assert.equal(tlsFailureOf(reset), undefined);
  assert.deepEqual(tlsFailureOf(reset, true), { kind: "closed", reason: "socket hang up" });
});
