import * as assert from "node:assert/strict";
import { test } from "node:test";
import { parseArgs } from "./args.js";
import { DaemonError } from "./errors.js";

test("value flags, both spellings", () => {
  const a = parseArgs(["--config", "/x.yaml", "--bind=127.0.0.1:1", "--no-tcp", "--allow-remote"]);
  assert.equal(a.config, "/x.yaml");
  assert.equal(a.bind, "127.0.0.1:1");
  assert.equal(a.noTcp, true);
  assert.equal(a.allowRemote, true);
  assert.equal(a.checkConfig, false);
});

test("TLS flags", () => {
  const a = parseArgs(["--tls-cert", "/c.pem", "--tls-key=/k.pem", "--tls-client-ca", "/ca.pem"]);
  assert.deepEqual([a.tlsCert, a.tlsKey, a.tlsClientCa], ["/c.pem", "/k.pem", "/ca.pem"]);
});

test("--check-config with and without a path", () => {
  assert.deepEqual(
    [parseArgs(["--check-config"]).checkConfig, parseArgs(["--check-config"]).checkConfigPath],
    [true, undefined],
  );
  assert.equal(parseArgs(["--check-config", "/a.yaml"]).checkConfigPath, "/a.yaml");
  const b = parseArgs(["--check-config", "--config", "/b.yaml"]);
  assert.equal(b.checkConfigPath, undefined);
  assert.equal(b.config, "/b.yaml");
});

test("mistakes are usage errors", () => {
  for (const argv of [["--bogus"], ["--config"], ["stray"], ["--help=1"]]) {
    assert.throws(
      () => parseArgs(argv),
      (e: unknown) => e instanceof DaemonError && e.code === "usage",
    );
  }
});
