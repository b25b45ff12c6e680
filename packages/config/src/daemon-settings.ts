import { isAbsolute, join, resolve } from "node:path";
import { daemonRuntimeDir, isLoopbackHost, splitHostPort } from "@procmgr/platform";
import { ConfigError, type ConfigIssue } from "./errors.js";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "text" | "json";
export type DefaultOutput = "file" | "journal";

/** TLS of the TCP listener: PEM files, read at start and again on SIGHUP. */
export interface TlsSettings {
  certPath: string;
  keyPath: string;
  /** Mutual TLS: a client must present a certificate signed by one of these CAs; null = none. */
  clientCaPath: string | null;
}

/** Everything the daemon needs to know before it reads processes.yaml. */
export interface DaemonSettings {
  configPath: string;
  stateDir: string;
  runtimeDir: string;
  socketPath: string;
  tokenPath: string;
  /** host:port of the TCP listener; null = no TCP listener (PM_BIND_ADDRESS=none). */
  bindAddress: string | null;
  allowRemote: boolean;
  /** TLS on the TCP listener (required for a non-loopback one); null = cleartext. */
  tls: TlsSettings | null;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Where processes' output goes when they do not say (stdout/stderr unset). */
  processOutput: DefaultOutput;
  metrics: { enabled: boolean; host: string; port: number };
  isRoot: boolean;
}

export interface DaemonSettingsInput {
  flags?: Partial<{
    config: string;
    bind: string;
    socket: string;
    stateDir: string;
    logLevel: string;
    logFormat: string;
    processOutput: string;
    allowRemote: boolean;
    tlsCert: string;
    tlsKey: string;
    tlsClientCa: string;
  }>;
  env: NodeJS.ProcessEnv;
  uid: number;
  home: string;
}

export const defaultBindAddress = "127.0.0.1:50051";
export const defaultMetricsPort = 9090;
/** sun_path is 108 bytes on Linux, including the terminating NUL. */
const maxSocketPathBytes = 107;

/** A value and the name of the flag or variable it came from (for messages). */
interface Sourced<T> {
  value: T;
  source: string;
}

function pick(
  flag: string | undefined,
  flagName: string,
  env: NodeJS.ProcessEnv,
  names: readonly string[],
): Sourced<string> | undefined {
  if (flag !== undefined && flag !== "") return { value: flag, source: flagName };
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== "") return { value, source: name };
  }
  return undefined;
}

function parseBool(s: Sourced<string>, issues: ConfigIssue[]): boolean | undefined {
  const v = s.value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(v)) return true;
  if (["false", "0", "no", "off"].includes(v)) return false;
  issues.push(invalid(s, "true or false"));
  return undefined;
}

function invalid(s: Sourced<string>, expected: string, message = "invalid value"): ConfigIssue {
  return {
    path: s.source,
    message: `${message}: ${s.source}=${JSON.stringify(s.value)}`,
    expected,
    received: JSON.stringify(s.value),
    code: "invalid",
  };
}

const levels: readonly LogLevel[] = ["error", "warn", "info", "debug"];

function logLevelOf(value: string): LogLevel | undefined {
  const v = value.trim().toLowerCase();
  if ((levels as readonly string[]).includes(v)) return v as LogLevel;
  if (v === "warning") return "warn";
  if (v === "trace") return "debug";
  return undefined;
}

function absoluteXdg(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  // The XDG spec: relative paths are invalid and must be ignored.
  return v !== undefined && v !== "" && isAbsolute(v) ? v : undefined;
}

type Flags = NonNullable<DaemonSettingsInput["flags"]>;
type Paths = Pick<
  DaemonSettings,
  "configPath" | "stateDir" | "runtimeDir" | "socketPath" | "tokenPath"
>;

/** processes.yaml, the state dir, and the runtime dir with its socket and token. */
function resolvePaths(input: DaemonSettingsInput, flags: Flags, issues: ConfigIssue[]): Paths {
  const { env, uid, home } = input;
  const isRoot = uid === 0;
  const configDefault = isRoot
    ? "/etc/dd-procmgrd/processes.yaml"
    : join(
        absoluteXdg(env, "XDG_CONFIG_HOME") ?? join(home, ".config"),
        "dd-procmgrd",
        "processes.yaml",
      );
  const stateDefault = isRoot
    ? "/var/lib/dd-procmgrd"
    : join(absoluteXdg(env, "XDG_DATA_HOME") ?? join(home, ".local", "share"), "dd-procmgrd");
  const runtimeDefault = daemonRuntimeDir(env, uid);

  const configPath = resolve(
    pick(flags.config, "--config", env, ["PM_CONFIG_PATH"])?.value ?? configDefault,
  );
  const stateDir = resolve(
    pick(flags.stateDir, "--state-dir", env, ["PM_STATE_DIR"])?.value ?? stateDefault,
  );
  const runtimeDir = resolve(pick(undefined, "", env, ["PM_RUNTIME_DIR"])?.value ?? runtimeDefault);

  const socket = pick(flags.socket, "--socket", env, ["PM_SOCKET_PATH"]);
  const socketPath = resolve(socket?.value ?? join(runtimeDir, "dd-procmgrd.sock"));
  if (Buffer.byteLength(socketPath) > maxSocketPathBytes) {
    issues.push(
      invalid(
        socket ?? {
          value: runtimeDir,
          source: env.PM_RUNTIME_DIR ? "PM_RUNTIME_DIR" : "runtime dir",
        },
        `a socket path of at most ${maxSocketPathBytes} bytes`,
        "socket path too long",
      ),
    );
  }
  const tokenPath = resolve(
    pick(undefined, "", env, ["PM_TOKEN_PATH"])?.value ?? join(runtimeDir, "dd-procmgrd.token"),
  );
  return { configPath, stateDir, runtimeDir, socketPath, tokenPath };
}

/**
 * Why the TCP listener may not bind `host`, or undefined when it may: loopback always; another
 * address only with TLS (what it serves is root access) and, explicitly, `--allow-remote`.
 */
export function remoteBindRefusal(
  host: string,
  allowRemote: boolean,
  tls: boolean,
): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const serveTls = "serve TLS with --tls-cert PATH and --tls-key PATH (PM_TLS_CERT, PM_TLS_KEY)";
  const allow = "--allow-remote (PM_ALLOW_REMOTE=true)";
  if (!tls && allowRemote) {
    return `a non-loopback address is served only with TLS, even with --allow-remote: ${serveTls}`;
  }
  if (!tls)
    return `a non-loopback address needs TLS and --allow-remote: ${serveTls}, and pass ${allow}`;
  if (!allowRemote) return `a non-loopback address needs ${allow} as well as TLS`;
  return undefined;
}

/** `--tls-cert`, `--tls-key` and `--tls-client-ca` (or PM_TLS_*): both or neither of the first two. */
function resolveTls(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): TlsSettings | null {
  const cert = pick(flags.tlsCert, "--tls-cert", env, ["PM_TLS_CERT"]);
  const key = pick(flags.tlsKey, "--tls-key", env, ["PM_TLS_KEY"]);
  const clientCa = pick(flags.tlsClientCa, "--tls-client-ca", env, ["PM_TLS_CLIENT_CA"]);
  const missing = (given: Sourced<string>, needed: string) =>
    issues.push(invalid(given, `${needed} as well`, `${given.source} needs ${needed}`));
  if (cert !== undefined && key === undefined) missing(cert, "--tls-key PATH (PM_TLS_KEY)");
  if (key !== undefined && cert === undefined) missing(key, "--tls-cert PATH (PM_TLS_CERT)");
  if (clientCa !== undefined && cert === undefined) {
    missing(clientCa, "--tls-cert PATH and --tls-key PATH");
  }
  if (cert === undefined || key === undefined) return null;
  return {
    certPath: resolve(cert.value),
    keyPath: resolve(key.value),
    clientCaPath: clientCa === undefined ? null : resolve(clientCa.value),
  };
}

/** The TCP listener: an address (see remoteBindRefusal) or none. */
function resolveBind(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  tls: boolean,
  issues: ConfigIssue[],
): Pick<DaemonSettings, "bindAddress" | "allowRemote"> {
  let allowRemote = flags.allowRemote ?? false;
  if (flags.allowRemote === undefined) {
    const s = pick(undefined, "", env, ["PM_ALLOW_REMOTE"]);
    if (s !== undefined) allowRemote = parseBool(s, issues) ?? false;
  }

  let bindAddress: string | null = defaultBindAddress;
  const bind = pick(flags.bind, "--bind", env, ["PM_BIND_ADDRESS"]);
  if (bind !== undefined) {
    const v = bind.value.trim();
    if (["none", "off", "false", "disabled"].includes(v.toLowerCase())) bindAddress = null;
    else {
      const hp = splitHostPort(v);
      const refusal = hp && remoteBindRefusal(hp.host, allowRemote, tls);
      if (hp === undefined) {
        issues.push(invalid(bind, 'host:port ("127.0.0.1:50051", "[::1]:50051") or "none"'));
      } else if (refusal !== undefined) {
        issues.push(
          invalid(
            bind,
            "a loopback address, or TLS and --allow-remote",
            `refusing to listen on ${v}: ${refusal}`,
          ),
        );
      }
      bindAddress = v;
    }
  }
  return { bindAddress, allowRemote };
}

function resolveLogging(
  flags: Flags,
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): Pick<DaemonSettings, "logLevel" | "logFormat" | "processOutput"> {
  let logLevel: LogLevel = "info";
  const level = pick(flags.logLevel, "--log-level", env, ["PM_LOG_LEVEL"]);
  if (level !== undefined) {
    const l = logLevelOf(level.value);
    if (l === undefined) issues.push(invalid(level, "one of error, warn, info, debug"));
    else logLevel = l;
  } else if (env.RUST_LOG !== undefined) {
    // RUST_LOG is honoured only as a plain level; filter directives (a=debug,b) are ignored.
    logLevel = logLevelOf(env.RUST_LOG) ?? logLevel;
  }

  const format = pick(flags.logFormat, "--log-format", env, ["PM_LOG_FORMAT"]);
  const logFormat = oneOf(format, ["text", "json"] as const, issues);
  const output = pick(flags.processOutput, "--process-output", env, ["PM_PROCESS_OUTPUT"]);
  const processOutput = oneOf(output, ["file", "journal"] as const, issues);
  return { logLevel, logFormat, processOutput };
}

/** One of `choices` (any case), the first when not given; a wrong value is an issue. */
function oneOf<T extends string>(
  given: Sourced<string> | undefined,
  choices: readonly [T, ...T[]],
  issues: ConfigIssue[],
): T {
  if (given === undefined) return choices[0];
  const v = given.value.trim().toLowerCase();
  const found = choices.find((c) => c === v);
  if (found === undefined) issues.push(invalid(given, choices.join(" or ")));
  return found ?? choices[0];
}

function resolveMetrics(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): DaemonSettings["metrics"] {
  let metricsEnabled = false;
  const me = pick(undefined, "", env, ["METRICS_ENABLED"]);
  if (me !== undefined) metricsEnabled = parseBool(me, issues) ?? false;
  let metricsPort = defaultMetricsPort;
  const mp = pick(undefined, "", env, ["METRICS_PORT"]);
  if (mp !== undefined) {
    const n = /^\d+$/.test(mp.value.trim()) ? Number(mp.value) : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      issues.push(invalid(mp, "a port from 0 to 65535"));
    else metricsPort = n;
  }
  return { enabled: metricsEnabled, host: "127.0.0.1", port: metricsPort };
}

/**
 * Resolve the daemon's paths and options from flags, environment and identity (BRIEF rules):
 * flags win over variables, variables over defaults. Throws ConfigError naming every bad
 * variable or flag with its value.
 */
export function resolveDaemonSettings(input: DaemonSettingsInput): DaemonSettings {
  const flags = input.flags ?? {};
  const issues: ConfigIssue[] = [];
  const paths = resolvePaths(input, flags, issues);
  const tls = resolveTls(flags, input.env, issues);
  const bind = resolveBind(flags, input.env, tls !== null, issues);
  const logging = resolveLogging(flags, input.env, issues);
  const metrics = resolveMetrics(input.env, issues);
  if (issues.length > 0) throw ConfigError.fromIssues(issues);
  return { ...paths, ...bind, tls, ...logging, metrics, isRoot: input.uid === 0 };
}
