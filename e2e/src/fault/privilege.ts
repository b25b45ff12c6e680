/**
 * Privilege: a daemon run as root (the user it supervises for), probed by user `nobody` through
 * every way in: its unix socket, TCP without a token and with a wrong one (every call that
 * changes something, and TailLogs), the token file, the state and log files, the runtime dir,
 * the notify socket (a forged READY=1 for another process's pid), and Describe's environment.
 * Every attempt must be refused (or, for Describe without the token, the secret redacted).
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code } from "@connectrpc/connect";
import { removeDaemonDirs, startDaemon } from "../harness/daemon.js";
import type { Scenario, ScenarioResult } from "./suite.js";

const run = promisify(execFile);

const config = `processes:
  secretive:
    command: sleep 300
    auto_start: true
    env:
      API_KEY: hunter2-the-secret
  waiting:
    command: sleep 300
    process_type: notify
    timeout_start_sec: 120
    auto_start: true
`;

/** Run as nobody: tries each way in, prints {attempt: outcome} as JSON. */
const probe = (rpcEntry: string) => `
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
const { createProcessManagerConnection } = await import(${JSON.stringify(rpcEntry)});
const [tcp, socketPath, tokenPath, stateDir, runtimeDir] = process.argv.slice(2);
const out = {};
const fsTry = (name, f) => { try { f(); out[name] = "ALLOWED"; } catch (e) { out[name] = e.code; } };
fsTry("read the token file", () => readFileSync(tokenPath));
fsTry("read processes.json", () => readFileSync(stateDir + "/processes.json"));
fsTry("list the run records", () => readdirSync(stateDir + "/run"));
fsTry("read a root process's log", () => readFileSync(stateDir + "/logs/secretive.stdout.log"));
fsTry("write in the runtime dir", () => writeFileSync(runtimeDir + "/planted", "x"));
fsTry("write in the state dir", () => writeFileSync(stateDir + "/planted", "x"));
out["open the unix socket"] = await new Promise((res) => {
  const s = createConnection({ path: socketPath });
  s.once("connect", () => { s.destroy(); res("ALLOWED"); });
  s.once("error", (e) => res(e.code));
});
const calls = (c) => ({
  Create: () => c.client.create({ spec: { name: "evil", command: "id" } }),
  Start: () => c.client.start({ id: "secretive" }),
  Stop: () => c.client.stop({ id: "secretive" }),
  Restart: () => c.client.restart({ id: "secretive" }),
  Delete: () => c.client.delete({ id: "secretive" }),
  Update: () => c.client.update({ id: "secretive", spec: { command: "id" }, fields: ["command"] }),
  ReloadConfig: () => c.client.reloadConfig({}),
  TailLogs: async () => { for await (const r of c.client.tailLogs({ id: "secretive", lines: 5 })) void r; },
});
for (const [how, token] of [["TCP without a token", undefined], ["TCP with a wrong token", "f".repeat(64)]]) {
  const c = createProcessManagerConnection(tcp, token === undefined ? {} : { token });
  for (const [name, call] of Object.entries(calls(c))) {
    try { await call(); out[how + ": " + name] = "ALLOWED"; } catch (e) { out[how + ": " + name] = e.code; }

  }
  const d = await c.client.describe({ id: "secretive" });
  out[how + ": Describe shows the environment"] = JSON.stringify(d, (_k, v) => (typeof v === "bigint" ? String(v) : v)).includes("hunter2") ? "ALLOWED" : "REDACTED";
  c.close();
}
console.log(JSON.stringify(out));
`;

export const privilege: Scenario = {
  name: "privilege",
  skip: () => (process.getuid?.() === 0 ? false : "runs probes as nobody: needs root"),
  async run(ctx): Promise<ScenarioResult> {
    const d = await startDaemon({ config, openDirs: true });
    const failures: string[] = [];
    try {
      const c = await d.connect("unix");
      await c.client.list({});
      const script = join(d.dir, "probe.mjs");
      await writeFile(script, probe(import.meta.resolve("@procmgr/rpc")), { mode: 0o644 });
      await chmod(d.dir, 0o755);
      const asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];
      const { stdout } = await run("setpriv", [
        ...asNobody,
        process.execPath,
        script,
        d.tcpAddress,
        d.socketPath,
        d.tokenPath,
        d.stateDir,
        d.runtimeDir,
      ]);
      const out = JSON.parse(stdout) as Record<string, string | number>;
      // A forged readiness: nobody sends READY=1 naming the waiting process's pid as MAINPID.
      const waiting = (await c.client.describe({ id: "waiting" })).process;
      const notify = join(d.runtimeDir, "notify");
      await run(
        "setpriv",
        [...asNobody, "systemd-notify", "--ready", `--pid=${waiting?.pid ?? 1}`],
        { env: { NOTIFY_SOCKET: notify, PATH: process.env.PATH ?? "/usr/bin:/bin" } },
      ).catch(() => {}); // refused at the socket is as good as ignored
      await new Promise((r) => setTimeout(r, 500));
      const after = (await c.client.describe({ id: "waiting" })).process;
      out["forge READY=1 on the notify socket"] =
        after?.state === waiting?.state ? "IGNORED" : `ALLOWED (${after?.state})`;
      for (const [attempt, raw] of Object.entries(out)) {
        // Connect codes come as numbers: their names read better.
        const outcome = typeof raw === "number" ? (Code[raw] ?? String(raw)) : String(raw);
        ctx.log(`${attempt}: ${outcome}`);
        if (outcome.startsWith("ALLOWED")) failures.push(`nobody could ${attempt}`);
      }
      const secret = (await c.client.describe({ id: "secretive" })).spec?.env.API_KEY;
      if (secret !== "hunter2-the-secret")
        failures.push("the unix socket (root) did not see the env");
      return {
        inputs: Object.keys(out).length,
        notes: [`${Object.keys(out).length} ways in tried as nobody, ${failures.length} allowed`],
        failures,
      };
    } finally {
      await d.stop();
      await removeDaemonDirs(d);
    }
  },
};
