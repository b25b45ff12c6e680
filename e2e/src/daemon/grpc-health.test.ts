/**
 * gRPC health and server reflection as tools of other implementations see them: `buf curl` (Go;
 * the reflection client grpcurl uses too, shipped on npm by @bufbuild/buf) and @grpc/grpc-js
 * with the committed health.proto. No grpcurl or grpc_health_probe binary can be installed here
 * (neither is on npm or in Debian); `buf curl` to grpc.health.v1.Health/Check over h2c is the
 * call grpc_health_probe makes.
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  type DaemonInstance,
  daemonExecutable,
  removeDaemonDirs,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";
import { grpcJsClient } from "../harness/grpc-js.js";

const bufBin = createRequire(import.meta.url).resolve("@bufbuild/buf/bin/buf");
const children = new Set<ChildProcess>();

interface BufResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `buf curl ARGS` to completion (buf's exit code for a failed RPC is the gRPC code << 3). */
function bufCurl(args: readonly string[]): Promise<BufResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [bufBin, "curl", "--timeout", "20s", ...args],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/" } },
      (error, stdout, stderr) => {
        children.delete(child);
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        if (code === null) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    children.add(child);
  });
}

/** The non-empty lines of a listing. */
const lines = (text: string): string[] => text.split("\n").filter((l) => l !== "");

const services = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "procmgr.v1.ProcessManager",
];

describe("dd-procmgrd: gRPC health and reflection for grpcurl-like tools, without a token", () => {
  let d: DaemonInstance;
  let base: string;

  before(async () => {
    d = await startDaemon({ config: "processes:\n  web:\n    command: sleep 300\n" });
    base = `http://${d.tcpAddress}`;
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.pid !== undefined) c.kill("SIGKILL");
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("reflection v1 and v1alpha list the services, on TCP and on the unix socket", async () => {
    for (const args of [
      ["--list-services", base],
      ["--list-services", "--reflect-protocol", "grpc-v1alpha", base],
      ["--list-services", "--unix-socket", d.socketPath, "http://localhost"],
    ]) {
      const r = await bufCurl(args);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), services, args.join(" "));
    }
    const methods = await bufCurl(["--list-methods", base]);
    assert.equal(methods.code, 0, methods.stderr);
    assert.ok(lines(methods.stdout).includes("procmgr.v1.ProcessManager/WatchEvents"));
    assert.ok(lines(methods.stdout).includes("grpc.health.v1.Health/Watch"));
  });

  test("a ProcessManager call whose schema came from reflection alone", async () => {
    const r = await bufCurl(["--protocol", "grpc", `${base}/procmgr.v1.ProcessManager/List`]);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { processes: { name: string; state: string }[] };
    assert.deepEqual(
      list.processes.map((p) => [p.name, p.state]),
      [["web", "PROCESS_STATE_CREATED"]],
    );
  });

  test("Health/Check over gRPC: SERVING for '' and the daemon's service, NOT_FOUND else", async () => {
    const check = (url: string, service: string, ...extra: string[]) =>
      bufCurl(["--protocol", "grpc", ...extra, "-d", JSON.stringify({ service }), url]);
    for (const service of ["", "procmgr.v1.ProcessManager"]) {
      const viaTcp = await check(`${base}/grpc.health.v1.Health/Check`, service);
      assert.equal(viaTcp.code, 0, viaTcp.stderr);
      assert.deepEqual(JSON.parse(viaTcp.stdout), { status: "SERVING" });
      const viaSocket = await check(
        "http://localhost/grpc.health.v1.Health/Check",
        service,
        "--unix-socket",
        d.socketPath,
      );
      assert.deepEqual(JSON.parse(viaSocket.stdout), { status: "SERVING" });
    }
    const unknown = await check(`${base}/grpc.health.v1.Health/Check`, "nope.v1.Nope");
    assert.equal(unknown.code, grpc.status.NOT_FOUND << 3, unknown.stderr);
    assert.match(unknown.stdout + unknown.stderr, /not_found/);
  });

  test("@grpc/grpc-js with the committed health.proto: SERVING, and NOT_FOUND", async () => {
    const client = await grpcJsClient(d.tcpAddress, {
      service: { proto: "grpc/health/v1/health.proto", name: "grpc.health.v1.Health" },
    });
    try {
      assert.deepEqual(await client.call("Check", { service: "" }), { status: "SERVING" });
      await assert.rejects(
        client.call("Check", { service: "nope" }),
        (e: unknown) => (e as grpc.ServiceError).code === grpc.status.NOT_FOUND,
      );
    } finally {
      client.close();
    }
  });

  test("Health/Watch: SERVING, then NOT_SERVING when SIGTERM stops the daemon, then OK", async () => {
    const watch = spawn(
      process.execPath,
      [bufBin, "curl", "--protocol", "grpc", `${base}/grpc.health.v1.Health/Watch`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.add(watch);
    let out = "";
    let err = "";
    watch.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const exited = new Promise<number | null>((res) => watch.once("exit", (code) => res(code)));
    await new Promise<void>((res, rej) => {
      watch.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes('"SERVING"')) res();
      });
      void exited.then(() => rej(new Error(`buf curl exited early: ${err}`)));
    });
    const stopped = d.stop();
    assert.equal(await exited, 0, err);
    children.delete(watch);
    assert.equal((await stopped).code, 0);
    const statuses = [...out.matchAll(/"status": "(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["SERVING", "NOT_SERVING"]);
  });
});

describe("dd-procmgrd single executable: health and reflection are in the bundle", {
  skip: existsSync(daemonExecutable) ? false : `not built: ${daemonExecutable} (run pnpm build)`,
}, () => {
  let d: DaemonInstance;
  before(async () => {
    d = await startDaemon({ executable: true });
  });
  after(async () => {
    await stopAllDaemons();
    await removeDaemonDirs(d);
  });

  test("buf curl lists the services and checks health", async () => {
    const list = await bufCurl(["--list-services", `http://${d.tcpAddress}`]);
    assert.deepEqual(lines(list.stdout), services, list.stderr);
    const check = await bufCurl([
      "--protocol",
      "grpc",
      `http://${d.tcpAddress}/grpc.health.v1.Health/Check`,
    ]);
    assert.deepEqual(JSON.parse(check.stdout), { status: "SERVING" }, check.stderr);
  });
});
