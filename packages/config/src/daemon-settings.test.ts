import * as assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { resolveDaemonSettings } from "./daemon-settings.js";
import { ConfigError, formatConfigError } from "./errors.js";

function fails(input: Parameters<typeof resolveDaemonSettings>[0]): ConfigError {
  try {
    resolveDaemonSettings(input);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

test("root defaults", () => {
  assert.deepEqual(resolveDaemonSettings({ env: {}, uid: 0, home: "/root" }), {
    configPath: "/etc/dd-procmgrd/processes.yaml",
    stateDir: "/var/lib/dd-procmgrd",
    runtimeDir: "/run/dd-procmgrd",
    socketPath: "/run/dd-procmgrd/dd-procmgrd.sock",
    tokenPath: "/run/dd-procmgrd/dd-procmgrd.token",
    bindAddress: "127.0.0.1:50051",
    allowRemote: false,
    tls: null,
    logLevel: "info",
    logFormat: "text",
    processOutput: "file",
    metrics: { enabled: false, host: "127.0.0.1", port: 9090 },
    isRoot: true,
  });
});

test("root ignores XDG variables", () => {
  const s = resolveDaemonSettings({
    env: { XDG_CONFIG_HOME: "/x/config", XDG_DATA_HOME: "/x/data", XDG_RUNTIME_DIR: "/x/run" },
    uid: 0,
    home: "/root",
  });
  assert.equal(s.configPath, "/etc/dd-procmgrd/processes.yaml");
  assert.equal(s.runtimeDir, "/run/dd-procmgrd");
});

test("non-root without XDG variables", () => {
  const s = resolveDaemonSettings({ env: {}, uid: 1000, home: "/home/al" });
  assert.equal(s.isRoot, false);
  assert.equal(s.configPath, "/home/al/.config/dd-procmgrd/processes.yaml");
  assert.equal(s.stateDir, "/home/al/.local/share/dd-procmgrd");
  assert.equal(s.runtimeDir, "/tmp/dd-procmgrd-1000");
  assert.equal(s.socketPath, "/tmp/dd-procmgrd-1000/dd-procmgrd.sock");
  assert.equal(s.tokenPath, "/tmp/dd-procmgrd-1000/dd-procmgrd.token");
});

test("non-root with XDG variables (relative ones are ignored, as the spec says)", () => {
  const s = resolveDaemonSettings({
    env: {
      XDG_CONFIG_HOME: "/x/config",
      XDG_DATA_HOME: "/x/data",
      XDG_RUNTIME_DIR: "/run/user/1000",
    },
    uid: 1000,
    home: "/home/al",
  });
  assert.equal(s.configPath, "/x/config/dd-procmgrd/processes.yaml");
  assert.equal(s.stateDir, "/x/data/dd-procmgrd");
  assert.equal(s.runtimeDir, "/run/user/1000");
  assert.equal(s.socketPath, "/run/user/1000/dd-procmgrd.sock");
  assert.equal(s.tokenPath, "/run/user/1000/dd-procmgrd.token");
  const rel = resolveDaemonSettings({
    env: { XDG_CONFIG_HOME: "rel", XDG_RUNTIME_DIR: "" },
    uid: 1000,
    home: "/home/al",
  });
  assert.equal(rel.configPath, "/home/al/.config/dd-procmgrd/processes.yaml");
  assert.equal(rel.runtimeDir, "/tmp/dd-procmgrd-1000");
});

test("every PM_* variable, and flags over variables", () => {
  const env = {
    PM_CONFIG_PATH: "/c/p.yaml",
    PM_BIND_ADDRESS: "127.0.0.2:6000",
    PM_SOCKET_PATH: "/s/d.sock",
    PM_RUNTIME_DIR: "/r",
    PM_STATE_DIR: "/st",
    PM_TOKEN_PATH: "/t/token",
    PM_LOG_LEVEL: "DEBUG",
    PM_LOG_FORMAT: "json",
    PM_PROCESS_OUTPUT: "journal",
    PM_ALLOW_REMOTE: "false",
    METRICS_ENABLED: "true",
    METRICS_PORT: "9100",
  };
  const s = resolveDaemonSettings({ env, uid: 1000, home: "/h" });
  assert.deepEqual(s, {
    configPath: "/c/p.yaml",
    stateDir: "/st",
    runtimeDir: "/r",
    socketPath: "/s/d.sock",
    tokenPath: "/t/token",
    bindAddress: "127.0.0.2:6000",
    allowRemote: false,
    tls: null,
    logLevel: "debug",
    logFormat: "json",
    processOutput: "journal",
    metrics: { enabled: true, host: "127.0.0.1", port: 9100 },
    isRoot: false,
  });
  const f = resolveDaemonSettings({
    env,
    uid: 1000,
    home: "/h",
    flags: {
      config: "/f/c.yaml",
      bind: "0.0.0.0:7000",
      socket: "/f/s.sock",
      stateDir: "/f/state",
      logLevel: "warn",
      logFormat: "text",
      processOutput: "file",
      allowRemote: true,
      tlsCert: "/f/cert.pem",
      tlsKey: "/f/key.pem",
    },
  });
  assert.equal(f.processOutput, "file", "the flag over PM_PROCESS_OUTPUT");
  assert.equal(f.configPath, "/f/c.yaml");
  assert.equal(f.bindAddress, "0.0.0.0:7000");
  assert.equal(f.socketPath, "/f/s.sock");
  assert.equal(f.stateDir, "/f/state");
  assert.equal(f.logLevel, "warn");
  assert.equal(f.logFormat, "text");
  assert.equal(f.allowRemote, true);
  assert.deepEqual(f.tls, { certPath: "/f/cert.pem", keyPath: "/f/key.pem", clientCaPath: null });
  assert.equal(f.runtimeDir, "/r");
});

test("PM_RUNTIME_DIR moves the socket and token", () => {
  const s = resolveDaemonSettings({ env: { PM_RUNTIME_DIR: "/rt" }, uid: 0, home: "/root" });
  assert.equal(s.socketPath, "/rt/dd-procmgrd.sock");
  assert.equal(s.tokenPath, "/rt/dd-procmgrd.token");
});

test("RUST_LOG is honoured when it is a plain level; PM_LOG_LEVEL wins", () => {
  const level = (env: Record<string, string>) =>
    resolveDaemonSettings({ env, uid: 0, home: "/root" }).logLevel;
  assert.equal(level({ RUST_LOG: "info" }), "info");
  assert.equal(level({ RUST_LOG: "debug" }), "debug");
  assert.equal(level({ RUST_LOG: "warn" }), "warn");
  assert.equal(level({ RUST_LOG: "error" }), "error");
  assert.equal(level({ RUST_LOG: "trace" }), "debug");
  assert.equal(level({ RUST_LOG: "dd_procmgrd=debug,info" }), "info", "directives are ignored");
  assert.equal(level({ RUST_LOG: "error", PM_LOG_LEVEL: "debug" }), "debug");
});

test("bind address: none disables TCP; IPv6 loopback; non-loopback needs TLS and allow-remote", () => {
  const tls = { PM_TLS_CERT: "/c.pem", PM_TLS_KEY: "/k.pem" };
  const bind = (env: Record<string, string>) =>
    resolveDaemonSettings({ env, uid: 0, home: "/root" }).bindAddress;
  assert.equal(bind({ PM_BIND_ADDRESS: "none" }), null);
  assert.equal(bind({ PM_BIND_ADDRESS: "[::1]:50051" }), "[::1]:50051");
  assert.equal(bind({ PM_BIND_ADDRESS: "localhost:0" }), "localhost:0");
  assert.equal(bind({ PM_BIND_ADDRESS: "127.0.0.1:0", ...tls }), "127.0.0.1:0", "TLS on loopback");
  assert.equal(
    bind({ PM_BIND_ADDRESS: "0.0.0.0:50051", PM_ALLOW_REMOTE: "true", ...tls }),
    "0.0.0.0:50051",
  );
  const e = fails({ env: { PM_BIND_ADDRESS: "0.0.0.0:50051" }, uid: 0, home: "/root" });
  assert.equal(e.issues[0]?.path, "PM_BIND_ADDRESS");
  assert.match(
    formatConfigError(e),
    /PM_BIND_ADDRESS: refusing to listen on 0\.0\.0\.0:50051: a non-loopback address needs TLS and --allow-remote: serve TLS with --tls-cert PATH and --tls-key PATH \(PM_TLS_CERT, PM_TLS_KEY\), and pass --allow-remote/,
  );
  const cleartext = fails({
    env: { PM_BIND_ADDRESS: "0.0.0.0:50051", PM_ALLOW_REMOTE: "true" },
    uid: 0,
    home: "/root",
  });
  assert.match(
    formatConfigError(cleartext),
    /served only with TLS, even with --allow-remote: serve TLS with --tls-cert PATH/,
  );
  const tlsOnly = fails({ env: { PM_BIND_ADDRESS: "0.0.0.0:1", ...tls }, uid: 0, home: "/root" });
  assert.match(formatConfigError(tlsOnly), /needs --allow-remote \(PM_ALLOW_REMOTE=true\) as well/);
  const flag = fails({ env: {}, flags: { bind: "10.0.0.1:1" }, uid: 0, home: "/root" });
  assert.equal(flag.issues[0]?.path, "--bind");
});

test("TLS: flags over PM_TLS_* variables, paths made absolute; cert and key go together", () => {
  const s = resolveDaemonSettings({
    env: { PM_TLS_CERT: "/env/c.pem", PM_TLS_KEY: "/env/k.pem", PM_TLS_CLIENT_CA: "ca.pem" },
    flags: { tlsCert: "/flag/c.pem" },
    uid: 0,
    home: "/root",
  });
  assert.deepEqual(s.tls, {
    certPath: "/flag/c.pem",
    keyPath: "/env/k.pem",
    clientCaPath: resolve("ca.pem"),
  });
  const alone = fails({ env: { PM_TLS_CERT: "/c.pem" }, uid: 0, home: "/root" });
  assert.match(formatConfigError(alone), /PM_TLS_CERT needs --tls-key PATH \(PM_TLS_KEY\)/);
  const ca = fails({ env: {}, flags: { tlsClientCa: "/ca.pem" }, uid: 0, home: "/root" });
  assert.deepEqual(
    ca.issues.map((i) => i.path),
    ["--tls-client-ca"],
  );
  assert.match(formatConfigError(ca), /--tls-client-ca needs --tls-cert PATH and --tls-key PATH/);
});

test("invalid values name the variable and the value, all at once", () => {
  const e = fails({
    env: {
      PM_LOG_LEVEL: "verbose",
      PM_LOG_FORMAT: "xml",
      PM_PROCESS_OUTPUT: "syslog",
      PM_BIND_ADDRESS: "nonsense",
      METRICS_ENABLED: "maybe",
      METRICS_PORT: "99999",
      PM_ALLOW_REMOTE: "perhaps",
    },
    uid: 0,
    home: "/root",
  });
  assert.equal(e.code, "invalid");
  assert.deepEqual(formatConfigError(e).split("\n"), [
    'PM_ALLOW_REMOTE: invalid value: PM_ALLOW_REMOTE="perhaps" (expected true or false, received "perhaps")',
    'PM_BIND_ADDRESS: invalid value: PM_BIND_ADDRESS="nonsense" (expected host:port ("127.0.0.1:50051", "[::1]:50051") or "none", received "nonsense")',
    'PM_LOG_LEVEL: invalid value: PM_LOG_LEVEL="verbose" (expected one of error, warn, info, debug, received "verbose")',
    'PM_LOG_FORMAT: invalid value: PM_LOG_FORMAT="xml" (expected text or json, received "xml")',
    'PM_PROCESS_OUTPUT: invalid value: PM_PROCESS_OUTPUT="syslog" (expected file or journal, received "syslog")',
    'METRICS_ENABLED: invalid value: METRICS_ENABLED="maybe" (expected true or false, received "maybe")',
    'METRICS_PORT: invalid value: METRICS_PORT="99999" (expected a port from 0 to 65535, received "99999")',
  ]);
});

test("a socket path too long for sun_path is rejected", () => {
  const e = fails({ env: { PM_SOCKET_PATH: `/${"x".repeat(120)}.sock` }, uid: 0, home: "/root" });
  assert.equal(e.issues[0]?.path, "PM_SOCKET_PATH");
  assert.match(e.issues[0]?.message ?? "", /socket path too long/);
});
