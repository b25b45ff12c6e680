import * as assert from "node:assert/strict";
import { test } from "node:test";
import type { DaemonSettings } from "@procmgr/config";
import { tcpBinding } from "./api-server.js";
import { DaemonError } from "./errors.js";

const base: DaemonSettings = {
  configPath: "/c.yaml",
  stateDir: "/s",
  runtimeDir: "/r",
  socketPath: "/r/d.sock",
  tokenPath: "/r/d.token",
  bindAddress: "127.0.0.1:0",
  allowRemote: false,
  tls: null,
  logLevel: "info",
  logFormat: "text",
  processOutput: "file",
  metrics: { enabled: false, host: "127.0.0.1", port: 0 },
  isRoot: false,
};
const tls = { certPath: "/c.pem", keyPath: "/k.pem", clientCaPath: null };

test("tcpBinding: loopback in cleartext or TLS; none without an address", () => {
  assert.deepEqual(tcpBinding(base), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(tcpBinding({ ...base, tls }), { host: "127.0.0.1", port: 0 });
  assert.equal(tcpBinding({ ...base, bindAddress: null }), undefined);
});

test("tcpBinding: beyond loopback only with TLS and allowRemote (settings made by hand too)", () => {
  const remote = { ...base, bindAddress: "0.0.0.0:50051" };
  for (const settings of [remote, { ...remote, allowRemote: true }, { ...remote, tls }]) {
    assert.throws(
      () => tcpBinding(settings),
      (e: unknown) =>
        e instanceof DaemonError &&
        e.code === "remote-bind" &&
        e.message.startsWith("refusing to bind 0.0.0.0:50051: a non-loopback address"),
    );
  }
  assert.deepEqual(tcpBinding({ ...remote, allowRemote: true, tls }), {
    host: "0.0.0.0",
    port: 50051,
  });
});
