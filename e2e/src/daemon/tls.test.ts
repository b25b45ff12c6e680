import * as assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { runCli } from "../cli/cli-support.js";
import {
  type CertFiles,
  fingerprint,
  issueCert,
  makeCa,
  opensslSkipReason,
} from "../harness/certs.js";
import {
  type DaemonInstance,
  daemonEnv,
  makeDaemonDirs,
  pidAlive,
  removeDaemonDirs,
  runDaemonCommand,
  type StartDaemonOptions,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";
import { grpcJsClient } from "../harness/grpc-js.js";

const skip = opensslSkipReason();

/** The SHA-256 fingerprint of the certificate a TLS listener presents now. */
async function servedFingerprint(port: number, caPath: string): Promise<string> {
  const ca = await readFile(caPath);
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.once("error", reject);
  });
}

/**
 * A daemon serving TLS with one process ("web", not started), started in `before` and stopped
 * (with its dirs removed) in `after` of the enclosing suite; `options()` is read in `before`.
 */
function tlsDaemon(options: () => StartDaemonOptions): {
  daemon(): DaemonInstance;
  address(): string;
} {
  let d: DaemonInstance | undefined;
  before(async () => {
    d = await startDaemon({ config: "processes:\n  web:\n    command: sleep 300\n", ...options() });
  });
  after(async () => {
    if (d === undefined) return;
    await d.stop();
    await removeDaemonDirs(d);
  });
  const daemon = (): DaemonInstance => {
    assert.ok(d !== undefined, "the daemon did not start");
    return d;
  };
  return { daemon, address: () => `https://127.0.0.1:${daemon().port}` };
}

/** `pm-cli` with no token, no socket to discover: only what the test passes. */
function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: tmpdir(),
    PM_RUNTIME_DIR: "/nonexistent",
    ...extra,
  };
}

describe("dd-procmgrd over TLS", { skip }, () => {
  let certDir: string;
  let ca: CertFiles;
  let server: CertFiles;
  let client: CertFiles;
  let strangerClient: CertFiles;

  before(async () => {
    certDir = await mkdtemp(join(tmpdir(), "pm-tls-"));
    ca = await makeCa(certDir, "ca");
    server = await issueCert(certDir, ca, "daemon", "server");
    client = await issueCert(certDir, ca, "client", "client");
    const stranger = await makeCa(certDir, "stranger-ca");
    strangerClient = await issueCert(certDir, stranger, "stranger", "client");
  });
  after(async () => {
    await stopAllDaemons();
    await rm(certDir, { recursive: true, force: true });
  });

  test("a non-loopback bind without TLS is refused, even with --allow-remote, naming the fix", async () => {
    const dirs = await makeDaemonDirs();
    try {
      const env = daemonEnv(dirs, { PM_BIND_ADDRESS: "0.0.0.0:0" });
      const allowed = await runDaemonCommand(["--allow-remote"], env);
      assert.equal(allowed.code, 2);
      assert.match(
        allowed.stderr,
        /refusing to listen on 0\.0\.0\.0:0: a non-loopback address is served only with TLS, even with --allow-remote: serve TLS with --tls-cert PATH and --tls-key PATH/,
      );
      const plain = await runDaemonCommand([], env);
      assert.equal(plain.code, 2);
      assert.match(plain.stderr, /needs TLS and --allow-remote/);
      const tlsOnly = await runDaemonCommand(
        ["--tls-cert", server.cert, "--tls-key", server.key],
        env,
      );
      assert.equal(tlsOnly.code, 2);
      assert.match(tlsOnly.stderr, /needs --allow-remote \(PM_ALLOW_REMOTE=true\) as well as TLS/);
    } finally {
      await removeDaemonDirs(dirs);
    }
  });

  test("an unreadable certificate or a key of another certificate: a start-up error naming the file", async () => {
    const dirs = await makeDaemonDirs();
    try {
      const env = daemonEnv(dirs);
      const missing = join(certDir, "missing.pem");
      const unreadable = await runDaemonCommand(
        ["--tls-cert", missing, "--tls-key", server.key],
        env,
      );
      assert.equal(unreadable.code, 1);
      assert.match(
        unreadable.stderr,
        new RegExp(`cannot read the TLS certificate ${missing} \\(--tls-cert\\): ENOENT`),
      );
      const mismatch = await runDaemonCommand(
        ["--tls-cert", server.cert, "--tls-key", client.key],
        env,
      );
      assert.equal(mismatch.code, 1);
      assert.ok(
        mismatch.stderr.includes(
          `the TLS key ${client.key} does not match the certificate ${server.cert}`,
        ),
        mismatch.stderr,
      );
    } finally {
      await removeDaemonDirs(dirs);
    }
  });

  describe("bound beyond loopback (0.0.0.0, --allow-remote, TLS)", () => {
    const tls = tlsDaemon(() => ({
      env: { PM_BIND_ADDRESS: "0.0.0.0:0", PM_TLS_CERT: server.cert, PM_TLS_KEY: server.key },
      args: ["--allow-remote"],
    }));

    test("the CLI trusting the CA lists the processes", async () => {
      const r = await runCli(["list", "--address", tls.address(), "--cacert", ca.cert], {
        env: cliEnv(),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^web\s/m);
      const viaEnv = await runCli(["list", "-o", "json"], {
        env: cliEnv({ PM_ADDRESS: tls.address(), PM_CACERT: ca.cert }),
      });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
    });

    test("without --cacert: one line saying the certificate is not trusted, and the fix", async () => {
      const r = await runCli(["list", "--address", tls.address()], { env: cliEnv() });
      assert.equal(r.code, 3);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        /^pm-cli: cannot verify the TLS certificate of the daemon at https:\/\/127\.0\.0\.1:\d+ \((unable to verify the first certificate|self-signed certificate in certificate chain)\): pass --cacert PATH \(or PM_CACERT\) with the CA that signed it\n$/,
      );
    });

    test("cleartext to the TLS port: one line pointing at https://", async () => {
      const r = await runCli(["list", "--address", `127.0.0.1:${tls.daemon().port}`], {
        env: cliEnv(),
      });
      assert.equal(r.code, 3);
      assert.match(
        r.stderr,
        /closed the connection .*: if it serves TLS, use --address https:\/\//,
      );
      assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    });
  });

  describe("mutual TLS (--tls-client-ca)", () => {
    const tls = tlsDaemon(() => ({
      args: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", ca.cert],
    }));

    test("without a client certificate: refused, saying which options to pass", async () => {
      const r = await runCli(["list", "--address", tls.address(), "--cacert", ca.cert], {
        env: cliEnv(),
      });
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /requires a client certificate .*--cert PATH and --key PATH/);
    });

    test("with a certificate of another CA: refused", async () => {
      const r = await runCli(
        [
          "list",
          "--address",
          tls.address(),
          "--cacert",
          ca.cert,
          "--cert",
          strangerClient.cert,
          "--key",
          strangerClient.key,
        ],
        { env: cliEnv() },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /closed the TLS connection|refused the client certificate/);
    });

    test("with a client certificate signed by the CA: accepted (and the token still gates changes)", async () => {
      const tlsArgs = [
        "--address",
        tls.address(),
        "--cacert",
        ca.cert,
        "--cert",
        client.cert,
        "--key",
        client.key,
      ];
      const r = await runCli(["list", ...tlsArgs], { env: cliEnv() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^web\s/m);
      const anon = await runCli(["start", ...tlsArgs, "web"], { env: cliEnv() });
      assert.equal(anon.code, 4, anon.stderr);
      const admin = await runCli(["start", ...tlsArgs, "web"], {
        env: cliEnv({ PM_TOKEN_PATH: tls.daemon().tokenPath }),
      });
      assert.equal(admin.code, 0, admin.stderr);
    });
  });

  test("a gRPC client of another implementation (grpc-js) over mutual TLS, HTTP/2 by ALPN", async () => {
    const d = await startDaemon({
      config: "processes:\n  web:\n    command: sleep 300\n",
      args: ["--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", ca.cert],
    });
    try {
      const [caPem, keyPem, certPem] = await Promise.all(
        [ca.cert, client.key, client.cert].map((f) => readFile(f)),
      );
      const grpcClient = await grpcJsClient(`localhost:${d.port}`, {
        credentials: grpc.credentials.createSsl(caPem, keyPem, certPem),
      });
      try {
        const list = await grpcClient.call("List", {});
        assert.deepEqual(
          (list.processes as { name: string }[]).map((p) => p.name),
          ["web"],
        );
      } finally {
        grpcClient.close();
      }
    } finally {
      await d.stop();
      await removeDaemonDirs(d);
    }
  });

  test("SIGHUP serves a rotated certificate without a restart; a broken one keeps the old", async () => {
    const live: CertFiles = { cert: join(certDir, "live.pem"), key: join(certDir, "live.key") };
    await copyFile(server.cert, live.cert);
    await copyFile(server.key, live.key);
    const d = await startDaemon({ args: ["--tls-cert", live.cert, "--tls-key", live.key] });
    try {
      assert.equal(await servedFingerprint(d.port, ca.cert), await fingerprint(server.cert));
      const next = await issueCert(certDir, ca, "daemon-next", "server");
      await copyFile(next.cert, live.cert);
      await copyFile(next.key, live.key);
      let from = d.output().length;
      d.signal("SIGHUP");
      await d.waitForOutput(/TLS certificate reloaded/, from);
      assert.equal(await servedFingerprint(d.port, ca.cert), await fingerprint(next.cert));
      const r = await runCli(
        ["status", "--address", `https://127.0.0.1:${d.port}`, "--cacert", ca.cert],
        {
          env: cliEnv(),
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`PID:\\s+${d.pid}\\b`));

      await copyFile(client.key, live.key); // no longer the certificate's key
      from = d.output().length;
      d.signal("SIGHUP");
      const failed = await d.waitForOutput(/TLS reload failed/, from);
      assert.ok(
        failed.includes(`the TLS key ${live.key} does not match the certificate ${live.cert}`),
        failed,
      );
      assert.equal(await servedFingerprint(d.port, ca.cert), await fingerprint(next.cert));
      assert.ok(pidAlive(d.pid));
    } finally {
      await d.stop();
      await removeDaemonDirs(d);
    }
  });
});
