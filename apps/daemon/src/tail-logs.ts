/**
 * TailLogs: the last lines of one process's output or of every process's, then (following)
 * what they write next, interleaved as it comes; from log files and from the journal alike.
 */
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { ProcessInfo, SupervisorApi, SupervisorEvents } from "@procmgr/core";
import {
  LogStream,
  type TailLogsRequest,
  type TailLogsResponse,
  TailLogsResponseSchema,
} from "@procmgr/rpc";
import { AsyncQueue } from "./async-queue.js";
import { streamName } from "./convert.js";
import { toConnectError } from "./errors.js";
import { type JournalQuery, readJournal } from "./journal-read.js";
import { FileFollower, readLastLines } from "./log-tail.js";

/** Where one stream of one process is read: its log file, or the journal. */
interface LogSource {
  readonly process: ProcessInfo;
  readonly stream: LogStream;
  /** The file; undefined for the journal. */
  readonly path: string | undefined;
}

/** "all" for `lines` (uint32): every line (with `since`, every line since). */
const allLines = 0xffffffff;

/** The sources of `processes` for the streams asked (inherit/null ones have none). */
function logSources(processes: readonly ProcessInfo[], stream: LogStream): LogSource[] {
  const streams =
    stream === LogStream.UNSPECIFIED ? [LogStream.STDOUT, LogStream.STDERR] : [stream];
  return processes.flatMap((p) =>
    streams.flatMap((s): LogSource[] => {
      const out = streamName(s) === "stdout";
      if (out ? p.stdoutJournal : p.stderrJournal) {
        return [{ process: p, stream: s, path: undefined }];
      }
      const path = out ? p.stdoutPath : p.stderrPath;
      return path === undefined ? [] : [{ process: p, stream: s, path }];
    }),
  );
}

const response = (
  process: ProcessInfo,
  stream: LogStream,
  data: Buffer,
  time?: Date,
): TailLogsResponse =>
  create(TailLogsResponseSchema, {
    stream,
    data,
    process: process.name,
    ...(time === undefined ? {} : { time: timestampFromDate(time) }),
  });

const notice = (text: string): TailLogsResponse => create(TailLogsResponseSchema, { notice: text });

/** `2026-12-05T01:02:03.456Z ` at the start of a line (log_timestamps). */
const stampPattern = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;

/**
 * The last lines of one process's output (`id`), or of every process's (no `id`: each response
 * names its process), then with `follow` what they write next, interleaved as it comes.
 */
export async function* tailLogs(
  sup: SupervisorApi,
  req: TailLogsRequest,
  ctx: HandlerContext,
): AsyncGenerator<TailLogsResponse> {
  let processes: ProcessInfo[];
  try {
    processes = req.id === "" ? sup.list() : [sup.get(req.id)];
  } catch (e) {
    throw toConnectError(e);
  }
  const sources = logSources(processes, req.stream);
  const only = req.id === "" ? undefined : processes[0];
  if (only !== undefined && sources.length === 0) {
    throw new ConnectError(
      `process "${only.name}" has no log (its output is inherited or discarded)`,
      Code.FailedPrecondition,
    );
  }
  const since = req.since === undefined ? undefined : timestampDate(req.since);
  const files = sources.filter((s) => s.path !== undefined);
  const positions = new Map<LogSource, number>();
  for (const f of files) yield* fileHistory(f, req.lines, since, req.follow, positions);
  const journal = sources.filter((s) => s.path === undefined);
  const journalQuery = journalQueryOf(journal, req, since, ctx.signal);
  if (journal.length > 0 && (req.lines > 0 || since !== undefined) && !req.follow) {
    yield* fromJournal(journal, { ...journalQuery, follow: false });
  }
  if (!req.follow) return;
  yield* followLogs(sup, files, positions, journal, journalQuery, only, ctx);
}

function journalQueryOf(
  journal: readonly LogSource[],
  req: TailLogsRequest,
  since: Date | undefined,
  signal: AbortSignal,
): JournalQuery {
  return {
    processIds: [...new Set(journal.map((s) => s.process.id))],
    signal,
    follow: true,
    ...(req.stream === LogStream.UNSPECIFIED ? {} : { stream: streamName(req.stream) }),
    ...(req.lines === allLines ? {} : { lines: req.lines }),
    ...(since === undefined ? {} : { since }),
  };
}

/** A log file's last lines: in one response, or one per line with its time (log_timestamps). */
async function* fileHistory(
  f: LogSource,
  lines: number,
  since: Date | undefined,
  follow: boolean,
  positions: Map<LogSource, number>,
): AsyncGenerator<TailLogsResponse> {
  const path = f.path as string;
  const stamped = f.process.config.logTimestamps;
  if (since !== undefined && !stamped) {
    yield notice(
      `${f.process.name}: its ${streamName(f.stream)} log file has no times (set log_timestamps: true, or stdout: journal), so its lines are left out of --since`,
    );
    const t = await readLastLines(path, 0);
    positions.set(f, t.position);
    return;
  }
  const t = await readLastLines(path, since === undefined ? lines : allLines);
  positions.set(f, t.position);
  let data = t.data;
  if (!follow && t.partial.length > 0 && lines > 0) {
    data = Buffer.concat([data, t.partial, Buffer.from("\n")]);
  }
  if (data.length === 0) return;
  if (!stamped) {
    yield response(f.process, f.stream, data);
    return;
  }
  const timed = data
    .toString("utf8")
    .split("\n")
    .slice(0, -1)
    .map((line) => ({ line, time: stampPattern.exec(line)?.[1] }))
    .filter(
      (l) => since === undefined || (l.time !== undefined && Date.parse(l.time) >= since.getTime()),
    );
  for (const { line, time } of timed.slice(Math.max(0, timed.length - lines))) {
    yield response(
      f.process,
      f.stream,
      Buffer.from(`${line}\n`),
      time === undefined ? undefined : new Date(time),
    );
  }
}

/** Lines from the journal, each a response with its time. */
async function* fromJournal(
  journal: readonly LogSource[],
  query: JournalQuery,
): AsyncGenerator<TailLogsResponse> {
  const byId = new Map(journal.map((s) => [s.process.id, s.process]));
  try {
    for await (const line of readJournal(query)) {
      const p = byId.get(line.processId);
      if (p === undefined) continue;
      const stream = line.stream === "stderr" ? LogStream.STDERR : LogStream.STDOUT;
      yield response(p, stream, Buffer.concat([line.message, Buffer.from("\n")]), line.time);
    }
  } catch (e) {
    throw new ConnectError((e as Error).message, Code.Unavailable);
  }
}

/**
 * What the files and the journal get next, until the caller cancels (or the one process followed
 * is deleted).
 */
async function* followLogs(
  sup: SupervisorApi,
  files: readonly LogSource[],
  positions: ReadonlyMap<LogSource, number>,
  journal: readonly LogSource[],
  journalQuery: JournalQuery,
  only: ProcessInfo | undefined,
  ctx: HandlerContext,
): AsyncGenerator<TailLogsResponse> {
  const queue = new AsyncQueue<TailLogsResponse>();
  const followers = new Map<string, FileFollower>(); // by process id and stream
  const key = (id: string, stream: LogStream) => `${id}/${stream}`;
  for (const f of files) {
    const follower = new FileFollower(
      f.path as string,
      positions.get(f) ?? 0,
      (data) => queue.push(response(f.process, f.stream, data, new Date())),
      (e) => queue.close(new ConnectError(`reading ${f.path}: ${e.message}`, Code.Internal)),
    );
    followers.set(key(f.process.id, f.stream), follower);
  }
  const stopJournal = new AbortController();
  if (journal.length > 0) {
    void (async () => {
      for await (const r of fromJournal(journal, { ...journalQuery, signal: stopJournal.signal })) {
        queue.push(r);
      }
    })().catch((e: unknown) => queue.close(e as Error));
  }
  // Only the followed processes' output: a follower costs the others nothing.
  const unsubscribes = [...new Set(files.map((f) => f.process.id))].map((id) =>
    sup.subscribeOutput(id, (stream) => {
      const s = stream === "stderr" ? LogStream.STDERR : LogStream.STDOUT;
      followers.get(key(id, s))?.poke();
    }),
  );
  const onDeleted: (...a: SupervisorEvents["deleted"]) => void = ({ process }) => {
    if (process.id === only?.id) queue.close();
  };
  sup.on("deleted", onDeleted);
  // Output written while a process exits may land just before the exit event.
  const onExit: (...a: SupervisorEvents["exit"]) => void = ({ process }) => {
    for (const s of [LogStream.STDOUT, LogStream.STDERR]) followers.get(key(process.id, s))?.poke();
  };
  sup.on("exit", onExit);
  for (const f of followers.values()) await f.start();
  const onAbort = () => queue.close();
  if (ctx.signal.aborted) queue.close();
  else ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    yield* queue;
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    stopJournal.abort();
    for (const unsubscribe of unsubscribes) unsubscribe();
    sup.off("deleted", onDeleted);
    sup.off("exit", onExit);
    for (const f of followers.values()) f.close();
  }
}
