/**
 * Slow and many clients: 1,000 idle connections on each listener (the unix socket and TCP) and
 * slowloris clients (an HTTP/1.1 request and an HTTP/2 preface, one byte at a time) do not stop
 * `list` from answering on either; past 1,024 connections a listener refuses new ones and the
 * daemon says so naming the limit; an HTTP/2 connection is told its stream limit (SETTINGS).
 */
import { connect as connectHttp2 } from "node:http2";
import { createConnection, type Socket } from "node:net";
import { maxConcurrentStreams, maxConnections } from "@procmgr/daemon";
import { createProcessManagerConnection } from "@procmgr/rpc";
import { pidAlive, removeDaemonDirs, startDaemon } from "../harness/daemon.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./suite.js";

const idlePerListener = 1000;

/** Opens a connection and resolves once it is connected (or refused). */
function open(target: { path: string } | { port: number; host: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(target);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** Whether the daemon closed `s` within `ms` (refused it) or kept it open. */
function closedWithin(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    s.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Sends `data` one byte every `everyMs` until stopped. */
function dribble(s: Socket, data: string, everyMs: number): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (at < data.length && !s.destroyed) s.write(data[at++] as string);
  }, everyMs);
  return () => clearInterval(timer);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

export const manyClients: Scenario = {
  name: "many-clients",
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const d = await startDaemon({ config: "processes:\n  napper:\n    command: sleep 300\n" });
    const sockets: Socket[] = [];
    const stops: (() => void)[] = [];
    const failures: string[] = [];
    try {
      const tcp = { host: "127.0.0.1", port: d.port };
      for (let i = 0; i < idlePerListener; i++) {
        sockets.push(await open({ path: d.socketPath }), await open(tcp));
      }
      for (let i = 0; i < 5; i++) {
        const h1 = await open(tcp);
        stops.push(
          dribble(h1, "POST /procmgr.v1.ProcessManager/List HTTP/1.1\r\nHost: x\r\n", 200),
        );
        const h2 = await open(tcp);
        stops.push(dribble(h2, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 200));
        sockets.push(h1, h2);
      }
      ctx.log(`${sockets.length} connections open, 10 of them slowloris`);
      const times: number[] = [];
      const rounds = ctx.short ? 5 : 20;
      for (let i = 0; i < rounds; i++) {
        for (const address of [`unix:${d.socketPath}`, d.tcpAddress]) {
          const c = createProcessManagerConnection(address, { timeoutMs: 10_000 });
          const t0 = performance.now();
          try {
            const { processes } = await c.client.list({});
            if (processes.length !== 1) failures.push(`list over ${address}: ${processes.length}`);
            times.push(performance.now() - t0);
          } catch (e) {
            failures.push(`list over ${address} failed: ${(e as Error).message}`);
          } finally {
            c.close();
          }
        }
      }
      times.sort((a, b) => a - b);
      // The stream limit, as an HTTP/2 client sees it.
      const session = connectHttp2(`http://127.0.0.1:${d.port}`);
      const announced = await new Promise<number | undefined>((resolve) => {
        session.once("remoteSettings", (s) => resolve(s.maxConcurrentStreams));
        session.once("error", () => resolve(undefined));
        session.once("close", () => resolve(undefined));
      });
      session.destroy();
      if (announced !== maxConcurrentStreams) {
        failures.push(`HTTP/2 SETTINGS announce ${announced} streams, not ${maxConcurrentStreams}`);
      }
      // Past the limit: what is over it is closed at once.
      let refused = 0;
      const extra: Socket[] = [];
      for (let i = 0; i < 100; i++) {
        try {
          extra.push(await open(tcp));
        } catch {
          refused++;
        }
      }
      const closed = await Promise.all(extra.map((s) => closedWithin(s, 2000)));
      refused += closed.filter(Boolean).length;
      sockets.push(...extra);
      const tcpOpen = idlePerListener + 10; // the idle ones and the slowloris
      const expected = 100 - Math.max(0, maxConnections - tcpOpen);
      if (refused < expected)
        failures.push(`only ${refused} of 100 connections past the limit refused`);
      if (!d.output().includes(`connections open, new ones are refused`)) {
        failures.push("the daemon did not say that it refused connections");
      }
      const alive = pidAlive(d.pid);
      return {
        inputs: sockets.length,
        crashes: alive ? 0 : 1,
        notes: [
          `list with ${idlePerListener} idle connections on each listener and 10 slowloris: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`,
          `${refused} of 100 connections past the limit (${maxConnections}) refused`,
          `HTTP/2 stream limit announced: ${announced}`,
        ],
        failures,
      };
    } finally {
      for (const stop of stops) stop();
      for (const s of sockets) s.destroy();
      await d.stop();
      await removeDaemonDirs(d);
    }
  },
};
