/**
 * One health check, once: an HTTP request, a TCP connect or a command, within `timeout`.
 *
 * Nothing here blocks the event loop: sockets and child processes only, host names through
 * Node's asynchronous `dns.lookup` (none for an address). A probe holds nothing after it
 * answers: HTTP goes through no keep-alive agent and its socket is closed once the response is
 * drained; a TCP connection is reset at once (no TIME_WAIT left per check, as Kubernetes' and
 * EaseProbe's probes do with SO_LINGER); a command runs in its own process group (and, as a
 * control process of the process it checks, in its own cgroup: control-processes.ts), which is
 * SIGKILLed when it exits (what it left behind) or at the timeout.
 *
 * `resolveProbe` validates a `HealthCheck` once into what each probe needs (the request's
 * options, the address, the argv and who runs it); `startProbe` runs one without a promise (the
 * monitor's path); `probe` is both, as a promise.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { type ClientRequest, request as httpRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect, type Socket } from "node:net";
import { type HealthCheck, splitCommand } from "@procmgr/config";
import type { Control } from "./control-processes.js";
import { SupervisorError } from "./errors.js";
import { type DaemonIdentity, type Identity, type LaunchPlan, planLaunch } from "./identity.js";
import type { Owner } from "./managed.js";
import { signalAs } from "./stopper.js";

/** How one check went. */
export interface ProbeResult {
  readonly ok: boolean;
  /** "HTTP 200", "HTTP 404 (expected 200)", "connection refused 127.0.0.1:8080", "timed out
   * after 5s", "exit code 3: <last output>", "killed at timeout (5s)", "aborted". */
  readonly detail: string;
  readonly durationMs: number;
}

/**
 * Who an exec check runs as and with, like the process it checks: its identity, whether the
 * supervisor switches users for it, its environment, working directory and ambient
 * capabilities, and the daemon's own identity (for `planLaunch`). A `Launch` of the launcher
 * has the first three; http and tcp checks need none of it.
 */
export interface ProbeTarget {
  readonly identity: Identity;
  readonly switchUser: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  readonly ambientCapabilities: readonly string[];
  readonly daemon: DaemonIdentity;
  /**
   * Runs each check as a control process of the process it checks (its own cgroup or a record,
   * control-processes.ts), so that a daemon killed meanwhile does not leave it running;
   * undefined: untracked (a one-off `probe`).
   */
  readonly control?: ((plan: LaunchPlan) => Control) | undefined;
}

/** A check validated once, with what its probes need. */
export type ResolvedProbe = HttpProbe | TcpProbe | ExecProbe;

interface Deadline {
  /** undefined: no deadline (a timeout of 0 or infinity, as timeout_stop_sec). */
  readonly timeoutMs: number | undefined;
  /** "5s" */
  readonly timeoutText: string;
}

interface HttpProbe extends Deadline {
  readonly type: "http";
  readonly request: typeof httpRequest;
  readonly options: RequestOptions;
  readonly expectedStatus: number;
  /** host:port, for messages. */
  readonly where: string;
}

interface TcpProbe extends Deadline {
  readonly type: "tcp";
  readonly host: string;
  readonly port: number;
  readonly where: string;
  /** "connected to host:port", made once. */
  readonly connected: string;
}

interface ExecProbe extends Deadline {
  readonly type: "exec";
  readonly argv: readonly string[];
  readonly target: ProbeTarget;
}

/** Node's timers take at most 2^31-1 ms (longer ones fire after 1 ms). */
export const maxTimerMs = 2 ** 31 - 1;

const defaultHost = "127.0.0.1";
/** How much of an exec check's output its `detail` keeps (the end). */
const outputTail = 200;

/** An invalid check: the field, the value and what was expected, as a SupervisorError. */
function invalid(field: string, value: unknown, expected: string): SupervisorError {
  return new SupervisorError(
    "invalid-argument",
    `health_check.${field}: expected ${expected}, received ${JSON.stringify(value) ?? String(value)}`,
  );
}

/** `[::1]` for an IPv6 address, the host itself otherwise. */
function bracketed(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function seconds(sec: number): string {
  return `${Number.isFinite(sec) ? Number(sec.toFixed(3)) : sec}s`;
}

function deadlineOf(check: HealthCheck): Deadline {
  const t = check.timeoutSec;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) {
    throw invalid("timeout", t, "a duration >= 0 (0: none)");
  }
  const none = t === 0 || !Number.isFinite(t);
  return { timeoutMs: none ? undefined : Math.min(t * 1000, maxTimerMs), timeoutText: seconds(t) };
}

function portOf(check: HealthCheck, why: string): number {
  const p = check.port;
  if (p === undefined || !Number.isInteger(p) || p < 1 || p > 65535) {
    throw invalid("port", p, `a port from 1 to 65535 (${why})`);
  }
  return p;
}

function resolveHttp(check: HealthCheck, deadline: Deadline): HttpProbe {
  const endpoint = check.endpoint;
  let url: URL;
  if (endpoint !== undefined && /^https?:\/\//i.test(endpoint)) {
    try {
      url = new URL(endpoint);
    } catch {
      throw invalid("endpoint", endpoint, "a valid URL");
    }
  } else if (endpoint?.startsWith("/")) {
    const port = portOf(check, `the endpoint "${endpoint}" is a path`);
    const host = bracketed(check.host ?? defaultHost);
    try {
      url = new URL(`http://${host}:${port}${endpoint}`);
    } catch {
      throw invalid("host", check.host, "a host name or address");
    }
  } else {
    throw invalid("endpoint", endpoint, 'a URL ("http://127.0.0.1:8000/health") or a path');
  }
  const https = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? (https ? 443 : 80) : Number(url.port);
  const options: RequestOptions & { rejectUnauthorized?: boolean } = {
    protocol: url.protocol,
    hostname,
    port,
    path: `${url.pathname}${url.search}`,
    method: check.method,
    // A new agent per request, without keep-alive: the socket closes with the response.
    agent: false,
    headers: { "user-agent": "procmgr-health-check", accept: "*/*" },
  };
  if (url.username !== "" || url.password !== "") {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  // As Kubernetes' HTTPS probes: whether the process answers, not whether its certificate is
  // trusted here (a local process often serves a self-signed one).
  if (https) options.rejectUnauthorized = false;
  if (!Number.isInteger(check.expectedStatus)) {
    throw invalid("expected_status", check.expectedStatus, "an HTTP status code");
  }
  return {
    type: "http",
    ...deadline,
    request: https ? httpsRequest : httpRequest,
    options,
    expectedStatus: check.expectedStatus,
    where: `${bracketed(hostname)}:${port}`,
  };
}

/** `command` split like a process's command, then `args` (what the config resolver puts in argv). */
function execArgv(check: HealthCheck): readonly string[] {
  if (check.command === undefined) return [];
  try {
    return [...splitCommand(check.command), ...check.args];
  } catch (e) {
    throw invalid("command", check.command, `a command line (${(e as Error).message})`);
  }
}

/**
 * Validates `check` into what its probes need; an exec check needs `target`. Throws a
 * SupervisorError ("invalid-argument") naming the field, the value and what was expected.
 */
export function resolveProbe(check: HealthCheck, target?: ProbeTarget): ResolvedProbe {
  const deadline = deadlineOf(check);
  switch (check.type) {
    case "http":
      return resolveHttp(check, deadline);
    case "tcp": {
      const port = portOf(check, "required by tcp checks");
      const host = check.host ?? defaultHost;
      const where = `${bracketed(host)}:${port}`;
      return { type: "tcp", ...deadline, host, port, where, connected: `connected to ${where}` };
    }
    case "exec": {
      const argv = check.argv ?? execArgv(check);
      if (argv.length === 0 || argv[0] === "") {
        throw invalid("command", check.command, "a command (exec checks)");
      }
      if (target === undefined) {
        throw new SupervisorError(
          "invalid-argument",
          "health_check: an exec check needs the process's identity and environment (a ProbeTarget)",
        );
      }
      return { type: "exec", ...deadline, argv, target };
    }
    default:
      throw invalid("type", (check as { type: unknown }).type, "http, tcp or exec");
  }
}

/** Called once with a probe's verdict. */
type Finish = (ok: boolean, detail: string) => void;
/** Ends a probe early: at its deadline, or when it is cancelled. */
type Cancel = (why: "timeout" | "abort") => void;

/**
 * Starts one probe; `done` is called once with its result, never from within `startProbe` (a
 * failure at once is reported on the next tick). Answers a function that cancels it: the result
 * is then "aborted" (an http or tcp probe's at once, from within the cancel; an exec check's at
 * its exit, its group SIGKILLed by the cancel).
 */
export function startProbe(p: ResolvedProbe, done: (result: ProbeResult) => void): () => void {
  const t0 = performance.now();
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const finish: Finish = (ok, detail) => {
    if (settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    done({ ok, detail, durationMs });
  };
  let cancel: Cancel;
  try {
    if (p.type === "http") cancel = httpProbe(p, finish);
    else if (p.type === "tcp") cancel = tcpProbe(p, finish);
    else cancel = execProbe(p, finish);
  } catch (e) {
    // What Node throws synchronously (a bad header, spawn's EINVAL...) is this check's failure.
    const message = (e as Error).message;
    cancel = () => {};
    process.nextTick(finish, false, `could not run: ${message}`);
  }
  if (p.timeoutMs !== undefined && !settled) timer = setTimeout(cancel, p.timeoutMs, "timeout");
  return () => {
    if (!settled) cancel("abort");
  };
}

/** One probe as a promise; aborting `signal` cancels it (result "aborted"). */
export function probe(
  check: HealthCheck,
  target?: ProbeTarget,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  let resolved: ResolvedProbe;
  try {
    resolved = resolveProbe(check, target);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ ok: false, detail: "aborted", durationMs: 0 });
    const onAbort = (): void => cancel();
    const cancel = startProbe(resolved, (result) => {
      signal?.removeEventListener("abort", onAbort);
      resolve(result);
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A socket error, as a check's detail. */
function netError(e: Error, where: string): string {
  const err = e as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  // Trying several addresses (autoSelectFamily) fails with an AggregateError.
  const code = err.code ?? err.errors?.[0]?.code;
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused ${where}`;
    case "ECONNRESET":
      return `connection reset ${where}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `cannot resolve ${where}`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `unreachable ${where}`;
    default:
      return `${where}: ${err.message || code || "error"}`;
  }
}

function httpProbe(p: HttpProbe, finish: Finish): Cancel {
  // Known once the headers are in; the probe ends when the body is drained.
  let ok = false;
  let verdict: string | undefined;
  const req: ClientRequest = p.request(p.options, (res) => {
    const status = res.statusCode ?? 0;
    ok = status === p.expectedStatus;
    verdict = ok ? `HTTP ${status}` : `HTTP ${status} (expected ${p.expectedStatus})`;
    const end = (): void => {
      req.destroy();
      finish(ok, verdict ?? "");
    };
    res.once("end", end);
    res.once("close", end);
    res.once("error", end);
    res.resume();
  });
  req.once("error", (e) => {
    req.destroy();
    finish(ok, verdict ?? netError(e, p.where));
  });
  req.end();
  return (why) => {
    req.destroy();
    if (verdict !== undefined) finish(ok, verdict);
    else finish(false, why === "timeout" ? `timed out after ${p.timeoutText}` : "aborted");
  };
}

function tcpProbe(p: TcpProbe, finish: Finish): Cancel {
  const socket: Socket = connect(p.port, p.host);
  socket.once("connect", () => {
    // RST instead of FIN: no TIME_WAIT per check.
    socket.resetAndDestroy();
    finish(true, p.connected);
  });
  socket.on("error", (e) => {
    socket.destroy();
    finish(false, netError(e, p.where));
  });
  return (why) => {
    socket.destroy();
    finish(false, why === "timeout" ? `timed out after ${p.timeoutText}` : "aborted");
  };
}

/** Keeps the last `outputTail` bytes of what an exec check writes. */
class Tail {
  private buf: Buffer | undefined;
  readonly add = (chunk: Buffer): void => {
    const next = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    this.buf = next.length > outputTail ? next.subarray(next.length - outputTail) : next;
  };
  /** ": <output on one line>", or "" when there was none. */
  text(): string {
    if (this.buf === undefined) return "";
    const s = this.buf.toString("utf8").replace(/\s+/g, " ").trim();
    return s === "" ? "" : `: ${s}`;
  }
}

function execProbe(p: ExecProbe, finish: Finish): Cancel {
  const { target } = p;
  let child: ChildProcess;
  let control: Control | undefined;
  try {
    const plan = planLaunch(p.argv, target.identity, target.daemon, {
      switchUser: target.switchUser,
      ambientCapabilities: target.ambientCapabilities,
    });
    control = target.control?.(plan);
    const argv = control?.argv ?? plan.argv;
    child = spawn(argv[0] ?? "", argv.slice(1), {
      cwd: target.cwd,
      env: target.env,
      // Its own process group (pgid = pid): the kill reaches whatever it started.
      detached: true,
      ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
      ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    control?.end();
    process.nextTick(finish, false, `could not run: ${(e as Error).message}`);
    return () => {};
  }
  if (child.pid !== undefined) control?.spawned(child.pid);
  const owner: Owner | undefined = target.switchUser
    ? { uid: target.identity.uid, gid: target.identity.gid }
    : undefined;
  const tail = new Tail();
  child.stdout?.on("data", tail.add);
  child.stderr?.on("data", tail.add);
  let why: "timeout" | "abort" | undefined;
  let exit: { ok: boolean; detail: string } | undefined;
  const killGroup = (): void => {
    if (child.pid !== undefined) signalAs(owner, -child.pid, "SIGKILL");
    control?.kill();
  };
  const closePipes = (): void => {
    child.stdout?.destroy();
    child.stderr?.destroy();
  };
  const report = (): void => {
    if (exit !== undefined) finish(exit.ok, exit.detail);
  };
  child.once("error", (e) => {
    killGroup();
    control?.end();
    closePipes();
    finish(false, `could not run: ${e.message}`);
  });
  child.once("exit", (code, signal) => {
    killGroup(); // what it left in its group and cgroup
    control?.end();
    const out = tail.text();
    if (why === "timeout")
      exit = { ok: false, detail: `killed at timeout (${p.timeoutText})${out}` };
    else if (why === "abort") exit = { ok: false, detail: "aborted" };
    else if (code === 0) exit = { ok: true, detail: `exit code 0${out}` };
    else if (signal !== null) exit = { ok: false, detail: `killed by ${signal}${out}` };
    else exit = { ok: false, detail: `exit code ${code}${out}` };
    // Its last output may still be in the pipes: the result waits for them ('close'), unless a
    // process that left the group holds them and there is no deadline to wait for.
    if (why !== undefined || p.timeoutMs === undefined) {
      closePipes();
      report();
    }
  });
  child.once("close", report);
  return (w) => {
    if (exit !== undefined) {
      // Exited, but something outside its group holds the pipes past the deadline.
      closePipes();
      report();
      return;
    }
    why = w;
    killGroup();
  };
}
