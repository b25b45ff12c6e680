/**
 * Test certificates, made with the openssl command (Node cannot create X.509 certificates): a
 * CA, and certificates it signs for the daemon (valid for 127.0.0.1 and localhost) or a client.
 * P-256 keys, valid for a day, in a directory the test removes.
 */
import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key (paths of PEM files). */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** Why TLS tests cannot run here, if they cannot. */
export function opensslSkipReason(): string | false {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return false;
  } catch {
    return "the openssl command is missing (apt-get install openssl)";
  }
}

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A self-signed CA named `name`: `<dir>/<name>.pem` and `<name>.key`. */
export async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  await run("openssl", [
    "req",
    "-x509",
    ...newKey,
    "-keyout",
    files.key,
    "-out",
    files.cert,
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
  ]);
  return files;
}

/** A certificate signed by `ca`: for the daemon (127.0.0.1, localhost) or for a client. */
export async function issueCert(
  dir: string,
  ca: CertFiles,
  name: string,
  use: "server" | "client",
): Promise<CertFiles> {
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await run("openssl", [
    "req",
    ...newKey,
    "-keyout",
    files.key,
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ]);
  await writeFile(
    ext,
    use === "server"
      ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
      : "extendedKeyUsage=clientAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    files.cert,
    "-days",
    "1",
    "-extfile",
    ext,
  ]);
  return files;
}

/** The SHA-256 fingerprint of a PEM certificate file, as `tls` reports a peer's. */
export async function fingerprint(certPath: string): Promise<string> {
  return new X509Certificate(await readFile(certPath)).fingerprint256;
}
