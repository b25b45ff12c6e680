import { PassThrough } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createConnectRouter } from "@connectrpc/connect";
import { createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import {
  ProcessManager,
  ProcessSource,
  ProcessState,
  type ProcessStatus,
  ProcessStatusSchema,
  RestartPolicy,
} from "@procmgr/rpc/contract";
import { connectionOver, createDaemonTransport } from "@procmgr/rpc/transport";
import { runCli } from "./cli.js";
import type { CliContext } from "./context.js";

/**
 * Runs the everyday command lines once against an in-memory daemon, for the single executable's
 * startup snapshot (scripts/build-sea.mjs calls this while building it). A function V8 has run
 * is in the snapshot as bytecode; one it has not is compiled from source at its first call in
 * every CLI run: clipanion's parser, connect's client pipeline, the status codec and the
 * formatters. Measured: a cold `pm-cli list -o json` of 100 takes 82-85 ms with this warm-up and
 * 88-93 without (bench/README.md, "CLI round trip (session 5)").
 *
 * Nothing here touches the network, the environment or process-wide state: the daemon is a
 * connect router called in memory, the streams are PassThroughs. Throws when a line does not
 * succeed, so that a broken warm-up fails the build instead of quietly warming nothing.
 */
export async function warmUp(): Promise<void> {
  const statuses = [status("web", 4242), status("worker", 0)];
  const router = createConnectRouter().service(ProcessManager, {
    list: () => ({ processes: statuses }),
    start: (req) => ({ processes: statuses.filter((s) => req.ids.includes(s.name)) }),
    stop: (req) => ({ processes: statuses.filter((s) => req.ids.includes(s.name)) }),
    restart: (req) => ({ processes: statuses.filter((s) => req.ids.includes(s.name)) }),
    reloadConfig: () => ({ added: ["web"], unchanged: ["worker"], configPath: "/dev/null" }),
  });
  const transport = createDaemonTransport(
    createUniversalHandlerClient(router.handlers),
    "http://in-memory",
  );
  const daemon = connectionOver(transport, { kind: "unix", path: "/dev/null" }, () => {});
  const lines = [
    ["list", "-o", "json"],
    ["list"],
    ["start", "web", "worker"],
    ["stop", "web", "worker"],
    ["restart", "web"],
    ["stop", "-o", "json", "web", "worker"],
    ["reload-config"],
  ];
  for (const argv of lines) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.resume();
    const errors: Buffer[] = [];
    stderr.on("data", (b: Buffer) => errors.push(b));
    const context: CliContext = {
      env: {},
      stdin: new PassThrough(),
      stdout,
      stderr,
      colorDepth: 1,
      programName: "pm-cli",
      cwd: "/",
      uid: 0,
      signal: new AbortController().signal,
      daemon,
    };
    const code = await runCli(argv, context);
    if (code !== 0) {
      throw new Error(
        `warm-up: \`pm-cli ${argv.join(" ")}\` exited ${code}: ${Buffer.concat(errors).toString()}`,
      );
    }
  }
}

function status(name: string, pid: number): ProcessStatus {
  const now = Date.now();
  return create(ProcessStatusSchema, {
    id: `00000000-0000-4000-8000-00000000000${pid === 0 ? 1 : 2}`,
    name,
    pid,
    state: pid > 0 ? ProcessState.RUNNING : ProcessState.EXITED,
    command: "/bin/sleep",
    args: ["100000"],
    runCount: 1,
    exitCode: pid > 0 ? undefined : 0,
    user: "root",
    source: ProcessSource.CONFIG,
    createdAt: timestampFromMs(now - 60_000),
    startedAt: timestampFromMs(now - 30_000),
    ...(pid > 0 ? {} : { endedAt: timestampFromMs(now - 1_000) }),
    uptimeSeconds: pid > 0 ? 30 : 0,
    autoStart: true,
    restart: RestartPolicy.ON_FAILURE,
  });
}
