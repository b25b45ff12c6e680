import { DaemonError } from "./errors.js";

/** The parsed command line of dd-procmgrd. */
export interface DaemonArgs {
  readonly config?: string;
  readonly bind?: string;
  readonly socket?: string;
  readonly stateDir?: string;
  readonly logLevel?: string;
  readonly logFormat?: string;
  readonly processOutput?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsClientCa?: string;
  readonly allowRemote: boolean;
  readonly noTcp: boolean;
  /** `--check-config` given; `checkConfigPath` is its optional argument. */
  readonly checkConfig: boolean;
  readonly checkConfigPath?: string;
  readonly initConfig: boolean;
  readonly version: boolean;
  readonly help: boolean;
}

/** Flags with a value; each key is also the name of the setting's flag (resolveDaemonSettings). */
export const valueFlags = {
  "--config": "config",
  "--bind": "bind",
  "--socket": "socket",
  "--state-dir": "stateDir",
  "--log-level": "logLevel",
  "--log-format": "logFormat",
  "--process-output": "processOutput",
  "--tls-cert": "tlsCert",
  "--tls-key": "tlsKey",
  "--tls-client-ca": "tlsClientCa",
} as const;

const boolFlags = {
  "--allow-remote": "allowRemote",
  "--no-tcp": "noTcp",
  "--init-config": "initConfig",
  "--version": "version",
  "-V": "version",
  "--help": "help",
  "-h": "help",
} as const;

export const usage = `Usage: dd-procmgrd [options]

The procmgr daemon: supervises the processes of processes.yaml and those created through its API.

Options:
  --config PATH         Config file (env PM_CONFIG_PATH; root: /etc/dd-procmgrd/processes.yaml,
                        others: $XDG_CONFIG_HOME/dd-procmgrd/processes.yaml)
  --bind ADDR           TCP address (env PM_BIND_ADDRESS, default 127.0.0.1:50051)
  --no-tcp              Listen on the unix socket only
  --socket PATH         Unix socket (env PM_SOCKET_PATH, default <runtime dir>/dd-procmgrd.sock)
  --state-dir DIR       State directory (env PM_STATE_DIR)
  --log-level LEVEL     error|warn|info|debug (env PM_LOG_LEVEL, RUST_LOG)
  --log-format FORMAT   text|json (env PM_LOG_FORMAT)
  --process-output TO   file|journal: where processes' stdout/stderr go when they do not say
                        (env PM_PROCESS_OUTPUT, default file: <state dir>/logs/NAME.stdout.log)
  --tls-cert PATH       Serve TLS on TCP with this PEM certificate (chain) (env PM_TLS_CERT)
  --tls-key PATH        ... and its PEM private key (env PM_TLS_KEY); both are read again on
                        SIGHUP
  --tls-client-ca PATH  Mutual TLS: clients must present a certificate signed by a CA of this
                        PEM bundle (env PM_TLS_CLIENT_CA)
  --allow-remote        Allow binding a non-loopback address, which also needs TLS
                        (env PM_ALLOW_REMOTE=true)
  --check-config [PATH] Validate the config and exit: 0 valid, 1 invalid (every error printed)
  --init-config         Write the default config to the config path if it is missing, then run
  -V, --version         Print the version and exit
  -h, --help            Print this help and exit
`;

/** Parses argv (the arguments after the script). Throws DaemonError("usage") on a mistake. */
export function parseArgs(argv: readonly string[]): DaemonArgs {
  const out: Record<string, string | boolean> = {
    allowRemote: false,
    noTcp: false,
    checkConfig: false,
    initConfig: false,
    version: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (flag === "--check-config") {
      out.checkConfig = true;
      const next = argv[i + 1];
      if (inline !== undefined) out.checkConfigPath = inline;
      else if (next !== undefined && !next.startsWith("-")) {
        out.checkConfigPath = next;
        i++;
      }
      continue;
    }
    if (flag in valueFlags) {
      const key = valueFlags[flag as keyof typeof valueFlags];
      let value = inline;
      if (value === undefined) {
        value = argv[i + 1];
        i++;
      }
      if (value === undefined || value === "") {
        throw new DaemonError("usage", `option ${flag} needs a value`);
      }
      out[key] = value;
      continue;
    }
    if (flag in boolFlags) {
      if (inline !== undefined) {
        throw new DaemonError("usage", `option ${flag} takes no value (received "${inline}")`);
      }
      out[boolFlags[flag as keyof typeof boolFlags]] = true;
      continue;
    }
    throw new DaemonError(
      "usage",
      arg.startsWith("-") ? `unknown option ${arg}` : `unexpected argument "${arg}"`,
    );
  }
  return out as unknown as DaemonArgs;
}
