/**
 * RPC fuzzing: 10,000 mutated requests (1,000 short) spread over every method of
 * ProcessManager, as bytes over HTTP/1.1 and HTTP/2 to the unix socket and the TCP listener, in
 * Connect JSON, Connect binary and gRPC framing (fuzz-rpc-requests.ts); then requests of 8 and
 * 64 MiB in each protocol, HTTP version and listener, and raw bytes (fuzz-rpc-raw.ts). After
 * each batch of 500 the daemon is alive and `list` answers, and every process it has was made
 * by the config or by a Create that succeeded. Promised: every answer a status, every rejection
 * a proper code and a message, no INTERNAL, the size limit enforced and named.
 */
import { maxRequestBytes } from "@procmgr/daemon";
import type { ProcessManagerClient } from "@procmgr/rpc";
import { type DaemonInstance, pidAlive, removeDaemonDirs, startDaemon } from "../harness/daemon.js";
import { reasonKey } from "./fuzz-config-check.js";
import { fuzzUser } from "./fuzz-config-daemon.js";
import { inputRng } from "./fuzz-random.js";
import { type Answer, answerOf, createdName, rawAnswer } from "./fuzz-rpc-check.js";
import { oversizedBody, rawInput } from "./fuzz-rpc-raw.js";
import { type FuzzRequest, fuzzRequest, methods } from "./fuzz-rpc-requests.js";
import {
  H2Sessions,
  sendH1,
  sendH2,
  sendRaw,
  type Target,
  type WireResponse,
} from "./fuzz-rpc-wire.js";
import { Failures, Tally } from "./fuzz-tally.js";
import type { Scenario, ScenarioContext, ScenarioResult } from "./suite.js";

const config = `processes:
  steady:
    command: /bin/sleep 1000
    auto_start: true
  idle:
    command: /bin/true
`;
const baseNames = ["idle", "steady"];
const batchSize = 500;
const unaryDeadlineMs = 15_000;
const streamDeadlineMs = 600;

interface Run {
  readonly d: DaemonInstance;
  readonly client: ProcessManagerClient;
  readonly token: string;
  readonly targets: { readonly unix: Target; readonly tcp: Target };
  readonly sessions: H2Sessions;
  readonly outcomes: Tally;
  readonly perMethod: Tally;
  readonly reasons: Tally;
  readonly how: Tally;
  readonly failures: Failures;
  /** Processes a Create answered OK for (this batch). */
  readonly created: Set<string>;
  crashed: boolean;
}

/** Bodies this big go over an HTTP/2 connection of their own (see `left` in the notes). */
const ownConnectionBytes = 1 << 20;
/** Less than what a unix or TCP socket's buffers take in one write here. */
const socketTakesAtOnce = 64 * 1024;

async function send(run: Run, req: FuzzRequest, deadlineMs: number): Promise<WireResponse> {
  const target = run.targets[req.listener];
  const wire = { method: "POST", path: req.path, headers: req.headers, body: req.body };
  if (req.http === 1) return sendH1(target, wire, deadlineMs);
  if (req.body.length < ownConnectionBytes) return sendH2(run.sessions, target, wire, deadlineMs);
  const own = new H2Sessions();
  try {
    return await sendH2(own, target, wire, deadlineMs);
  } finally {
    own.close();
  }
}

async function fuzzOne(run: Run, seed: number, index: number): Promise<void> {
  const req = fuzzRequest(inputRng(seed, "rpc", index), index, run.token);
  const streaming = req.method.methodKind === "server_streaming";
  const res = await send(run, req, streaming ? streamDeadlineMs : unaryDeadlineMs);
  const answered = answerOf(res, streaming);
  // Node's HTTP/1.1 server may answer (a connect-timeout-ms already past, a body past the
  // limit), then close the connection under an upload the socket could not take at once: the
  // client, still writing, reads EPIPE instead of the answer.
  const cut =
    req.http === 1 &&
    req.body.length > socketTakesAtOnce &&
    /EPIPE|ECONNRESET/.test(answered.problem ?? "");
  const a = cut ? { outcome: "h1 closed under the upload", message: "" } : answered;
  run.outcomes.add(a.outcome);
  run.perMethod.add(req.method.name);
  run.how.add(req.how.split(",")[0] as string);
  if (a.outcome !== "ok" && a.outcome !== "stream open") {
    run.reasons.add(`${a.outcome}: ${reasonKey(a.message)}`);
  }
  const at = `rpc input #${index} (seed ${seed}: ${req.method.name}, ${req.protocol}, HTTP/${req.http}, ${req.listener}, ${req.how})`;
  if (a.problem !== undefined) run.failures.add(a.outcome, `${at}: ${a.problem}`);
  // The answer of a Create was lost (a refused stream, a closed connection): it may have run.
  if (req.method.name === "Create" && a.problem !== undefined) run.created.add(`fz${index}`);
  if (req.method.name === "Create" && a.outcome === "ok") {
    const name = createdName(req, res);
    if (name === undefined)
      run.failures.add("create", `${at}: a Create answered OK without a process`);
    else run.created.add(name);
  }
}

/** After a batch: alive, answering, nothing made but by a successful Create; then clean up. */
async function afterBatch(run: Run, label: string): Promise<void> {
  if (!pidAlive(run.d.pid)) {
    run.crashed = true;
    run.failures.add("crash", `${label}: the daemon died: ${run.d.output().slice(-2000)}`);
    return;
  }
  const { processes } = await run.client.list({}, { timeoutMs: unaryDeadlineMs });
  for (const p of processes) {
    if (baseNames.includes(p.name)) continue;
    if (!run.created.has(p.name)) {
      run.failures.add(
        "garbage",
        `${label}: process "${p.name}" exists, but no Create of it succeeded`,
      );
    }
    await run.client.delete({ id: p.id, force: true }, { timeoutMs: unaryDeadlineMs });
  }
  run.created.clear();
  await run.client.reloadConfig({ dryRun: false }, { timeoutMs: unaryDeadlineMs });
}

/** Inputs 0..count-1, `parallel` at a time, checked after each batch. */
async function fuzzRequests(run: Run, ctx: ScenarioContext, count: number): Promise<void> {
  const parallel = 4;
  for (let start = 0; start < count && !run.crashed; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    let next = start;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let i = next++; i < end; i = next++) await fuzzOne(run, ctx.seed, i);
      }),
    );
    await afterBatch(run, `after inputs ${start}..${end - 1}`);
    ctx.log(`${end} requests: ${run.outcomes.top(6)}`);
  }
}

/**
 * Over the limit, the answer is RESOURCE_EXHAUSTED naming it, or a refusal below the RPC layer
 * (as sentences for the notes): Node's HTTP/2 resets a stream whose body outgrows the session's
 * memory (ENHANCE_YOUR_CALM) before connect-node reads it; having answered a stream whose body
 * still comes, it resets it (NO_ERROR, as RFC 9113 8.1 allows), and under a 64 MiB upload the
 * client then sometimes sees the reset without the answer; and Node's HTTP/1.1 server may close
 * the connection under an upload whose answer it has sent (the client then reads EPIPE).
 */
function oversizeVerdict(a: Answer, req: FuzzRequest): string | undefined {
  if (a.outcome === "resource_exhausted" && a.message.includes(String(maxRequestBytes)))
    return "named";
  if (req.http === 2 && /ENHANCE_YOUR_CALM/.test(a.problem ?? "")) return "h2 refused the stream";
  if (req.http === 2 && /stream closed \(NO_ERROR\)/.test(a.problem ?? "")) {
    return "h2 reset the stream, its answer unseen";
  }
  if (req.http === 1 && /EPIPE|ECONNRESET/.test(a.problem ?? "")) return "h1 connection closed";
  return undefined;
}

/** 8 and 64 MiB in every protocol, HTTP version and listener; just under the limit is read. */
async function oversized(run: Run): Promise<string[]> {
  const seen = new Tally();
  const method = methods.find((m) => m.name === "Create");
  const types = {
    "connect-json": "application/json",
    "connect-proto": "application/proto",
    grpc: "application/grpc",
  };
  for (const size of [8 << 20, 64 << 20, maxRequestBytes - 1024]) {
    for (const protocol of ["connect-json", "connect-proto", "grpc"] as const) {
      const body = oversizedBody(protocol, size);
      for (const [listener, http] of [
        ["unix", 1],
        ["unix", 2],
        ["tcp", 1],
        ["tcp", 2],
      ] as const) {
        const headers: Record<string, string> = { "content-type": types[protocol] };
        if (protocol === "grpc") headers.te = "trailers";
        if (listener === "tcp") headers.authorization = `Bearer ${run.token}`;
        const req = {
          method,
          protocol,
          http,
          listener,
          token: true,
          path: "/procmgr.v1.ProcessManager/Create",
          headers,
          body,
          how: `${size} bytes`,
        } as FuzzRequest;
        // A connection of its own: what an upload does to its connection stays there.
        const sessions = new H2Sessions();
        const a = answerOf(await send({ ...run, sessions }, req, unaryDeadlineMs));
        sessions.close();
        if (a.outcome === "ok") run.created.add("big");
        const at = `a ${size}-byte ${protocol} Create over HTTP/${http} on ${listener}`;
        if (size < maxRequestBytes) {
          seen.add(`under: ${a.outcome}`);
          if (a.outcome === "resource_exhausted")
            run.failures.add("size", `${at}: refused under the limit`);
        } else {
          const verdict = oversizeVerdict(a, req);
          seen.add(`over: ${verdict ?? a.outcome}`);
          if (verdict === undefined) {
            run.failures.add(
              "size",
              `${at}: ${a.problem ?? a.outcome} "${a.message.slice(0, 200)}" (expected resource_exhausted naming ${maxRequestBytes})`,
            );
          }
        }
        await run.client.getStatus({}, { timeoutMs: unaryDeadlineMs });
      }
    }
  }
  return [`size limit ${maxRequestBytes} bytes: ${seen.all()}`];
}

/** Raw bytes: whatever comes back, the daemon lives on. */
async function raw(run: Run, seed: number, count: number): Promise<string> {
  const seen = new Tally();
  for (let i = 0; i < count; i++) {
    const r = inputRng(seed, "raw", i);
    const input = rawInput(r);
    const target = r.chance(0.5) ? run.targets.unix : run.targets.tcp;
    seen.add(`${input.how} -> ${rawAnswer(await sendRaw(target, input.bytes, 1000))}`);
  }
  await afterBatch(run, "after the raw inputs");
  return `raw: ${seen.top(8)}`;
}

/** What this fuzzer found, and where it was fixed (each with a regression test there). */
const findings: readonly string[] = [
  "found+fixed: two starts of one process arriving together both launched it; the second spawn threw from a child-process event and the daemon died (core lifecycle.ts launch: one start at a time)",
  "found+fixed: no request size limit (connect-node's default 4 GiB read any body into memory): maxRequestBytes 4 MiB, RESOURCE_EXHAUSTED naming it",
  "noted: an undecodable request answers INTERNAL 'parse binary: ...', as gRPC's status-code table says (Error parsing request proto); a compressed flag without grpc-encoding likewise",
  "noted: a stream's status comes with its first message (connect-node): WatchEvents with no event has no headers yet",
  "left: over HTTP/2, after some 16-24 MiB of request bodies past the limit on one connection, Node's http2 session refuses that stream and every later one on the connection with ENHANCE_YOUR_CALM (its memory is not given back; draining or resetting the unread body did not help); other connections are served. Bodies over 1 MiB get a connection of their own here",
];

export const fuzzRpc: Scenario = {
  name: "fuzz-rpc",
  skip: () => (process.getuid?.() === 0 ? false : "needs root (runs the daemon as nobody)"),
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const count = ctx.short ? 1000 : 10_000;
    const rawCount = count / 50;
    const d = await startDaemon({ config, user: fuzzUser });
    const run: Run = {
      d,
      client: (await d.connect("unix")).client,
      token: await d.token(),
      targets: { unix: { kind: "unix", path: d.socketPath }, tcp: { kind: "tcp", port: d.port } },
      sessions: new H2Sessions(),
      outcomes: new Tally(),
      perMethod: new Tally(),
      reasons: new Tally(),
      how: new Tally(),
      failures: new Failures(),
      created: new Set(),
      crashed: false,
    };
    try {
      await fuzzRequests(run, ctx, count);
      const sizeNotes = run.crashed ? [] : await oversized(run);
      const rawNote = run.crashed ? "" : await raw(run, ctx.seed, rawCount);
      if (!run.crashed) await afterBatch(run, "at the end");
      return {
        inputs: count + rawCount + 36,
        crashes: run.crashed ? 1 : 0,
        notes: [
          `per method: ${run.perMethod.all()}`,
          `outcomes: ${run.outcomes.all()}`,
          `top rejections: ${run.reasons.top(5)}`,
          `mutations: ${run.how.top(12)}`,
          ...sizeNotes,
          rawNote,
          ...findings,
        ],
        failures: run.failures.list(),
      };
    } finally {
      run.sessions.close();
      await d.stop();
      await removeDaemonDirs(d);
    }
  },
};
