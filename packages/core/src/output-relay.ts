/**
 * The output relay: a child's stdout and stderr from the pipe the daemon reads to the log
 * files (in order, nothing dropped), then to the process's `subscribeOutput` listeners and the
 * `output` event. It owns the pipes (named pipes made ahead by the FIFO pool, or Node's
 * socketpair when none is ready), the log sinks (one per file, reopened for logrotate) and the
 * per-process subscriptions.
 *
 * Every FIFO is read into one shared 64 KiB buffer and a chunk is written to its file from that
 * buffer synchronously when nothing waits (LogSink): the read path allocates nothing. What must
 * outlive a read (a queued chunk, a chunk handed to listeners) is copied, and only then.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { Socket, type SocketConstructorOpts } from "node:net";
import { isAbsolute, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import type { OutputTarget, ProcessConfig } from "@procmgr/config";
import { type JournalSender, journalSocketPath, openJournalSender } from "@procmgr/platform";
import { SupervisorError } from "./errors.js";
import { FifoPool, type PipeEnds } from "./fifo-pool.js";
import { JournalSink } from "./journal-sink.js";
import type { LogRotation } from "./log-rotation.js";
import { LogSink } from "./log-sink.js";
import type { Destination, Host, Managed, OutputSink, Owner, Sinks, Stream } from "./managed.js";
import type { OutputListener } from "./types.js";

/** The most named pipes kept ready (two per process up to this). */
const maxReadyFifos = 4096;

/**
 * One buffer for the reads of every output FIFO: libuv reads into it and the callback is done
 * with the bytes before the next read, so a read allocates nothing and no stream machinery runs
 * (one write per line of a chatty child is one read of a few lines).
 */
const fifoReadBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The daemon's end of an output FIFO. `onChunk` gets a view of the shared read buffer, valid
 * only during the call, and returns false to stop the reads until `resume()`. The socket ends
 * and closes at EOF like any other.
 */
function readFifo(fd: number, onChunk: (chunk: Buffer) => boolean): Socket {
  const options: SocketConstructorOpts = {
    fd,
    readable: true,
    writable: false,
    onread: { buffer: fifoReadBuffer, callback: (n) => onChunk(fifoReadBuffer.subarray(0, n)) },
  };
  return new Socket(options);
}

/** Node's stdio for an output target: a pipe the relay reads, the daemon's own, or nothing. */
export function stdioFor(target: OutputTarget): "pipe" | "inherit" | "ignore" {
  if (target.kind === "inherit") return "inherit";
  if (target.kind === "null") return "ignore";
  return "pipe";
}

/** A process's log rotation: none unless `log_max_size` is set. */
function rotationOf(config: ProcessConfig): LogRotation | undefined {
  return config.logMaxSize === undefined
    ? undefined
    : { maxBytes: config.logMaxSize, maxFiles: config.logMaxFiles };
}

/** Where a supervisor's output goes by default (files), and journald's socket (its usual one). */
export interface OutputDirs {
  readonly stateDir: string;
  readonly logDir: string;
  readonly defaultOutput?: "file" | "journal" | undefined;
  readonly journalSocket?: string | undefined;
  readonly pipeDir?: string | undefined;
}

export class OutputRelay {
  private readonly host: Host;
  private readonly dirs: OutputDirs & {
    readonly defaultOutput: "file" | "journal";
    readonly journalSocket: string;
  };
  private readonly fifos: FifoPool;
  /** Every log file opened so far (for reopen). */
  private readonly sinks = new Set<LogSink>();
  /** The one socket to journald, opened at the first journal sink's first use. */
  private journalSender: Promise<JournalSender> | undefined;
  /** "journal" asked for where journald is not: said once. */
  private noJournalSaid = false;

  constructor(host: Host, dirs: OutputDirs) {
    this.host = host;
    this.dirs = {
      ...dirs,
      defaultOutput: dirs.defaultOutput ?? "file",
      journalSocket: dirs.journalSocket ?? journalSocketPath,
    };
    this.fifos = new FifoPool(dirs.pipeDir ?? join(dirs.stateDir, "fifo"));
  }

  /** Keeps two output pipes ready per defined process, ahead of its starts and restarts. */
  reserve(processCount: number): void {
    this.fifos.want(Math.min(2 * processCount + 8, maxReadyFifos));
  }

  /** Where a stream of `m` goes (undefined for inherit/null), computed once per config. */
  destination(m: Managed, stream: Stream): Destination | undefined {
    if (m.paths?.config !== m.config) {
      m.paths = {
        config: m.config,
        stdout: this.resolveDestination(m, "stdout"),
        stderr: this.resolveDestination(m, "stderr"),
      };
    }
    return m.paths[stream];
  }

  private resolveDestination(m: Managed, stream: Stream): Destination | undefined {
    const target: OutputTarget = m.config[stream];
    const defaultFile = join(this.dirs.logDir, `${m.name}.${stream}.log`);
    if (target.kind === "file") {
      const path = isAbsolute(target.path)
        ? target.path
        : resolve(m.config.workingDir ?? this.dirs.stateDir, target.path);
      return { journal: false, path };
    }
    const journal =
      target.kind === "journal" ||
      (target.kind === "default" && this.dirs.defaultOutput === "journal");
    if (journal && this.journalThere(m)) return { journal: true, path: defaultFile };
    if (journal || target.kind === "default") return { journal: false, path: defaultFile };
    return undefined;
  }

  /** Whether journald's socket is there; when not, says once that files are used instead. */
  private journalThere(m: Managed): boolean {
    if (existsSync(this.dirs.journalSocket)) return true;
    if (!this.noJournalSaid) {
      this.noJournalSaid = true;
      this.host.warn(
        m,
        `journald is not running (no ${this.dirs.journalSocket}): output asked for the journal goes to files in ${this.dirs.logDir} instead`,
      );
    }
    return false;
  }

  /** Where a run of `m` and its hooks write (a run and its hooks share them). */
  sinksOf(m: Managed): Sinks {
    return { stdout: this.sinkFor(m, "stdout"), stderr: this.sinkFor(m, "stderr") };
  }

  private sinkFor(m: Managed, stream: Stream): OutputSink | undefined {
    const to = this.destination(m, stream);
    if (to === undefined) return undefined;
    const current = m.sinks[stream];
    if (to.journal) {
      if (current instanceof JournalSink) return current;
      const sink = new JournalSink(
        { name: m.name, id: m.id, stream, pid: () => m.run?.pid },
        {
          sender: () => {
            this.journalSender ??= openJournalSender(this.dirs.journalSocket);
            return this.journalSender;
          },
          fallback: () => this.fileSink(m, stream, to.path),
          warn: (message) => this.host.warn(m, message),
        },
      );
      m.sinks[stream] = sink;
      return sink;
    }
    if (current?.path === to.path && current instanceof LogSink) {
      current.setRotation(rotationOf(m.config));
      return current;
    }
    const sink = this.fileSink(m, stream, to.path);
    m.sinks[stream] = sink;
    return sink;
  }

  private fileSink(m: Managed, stream: Stream, path: string): LogSink {
    const sink = new LogSink(
      path,
      (e) => this.host.warn(m, `cannot write ${stream} of "${m.name}" to ${path}: ${e.message}`, e),
      (message) => this.host.warn(m, `${stream} of "${m.name}": ${message}`),
    );
    sink.setRotation(rotationOf(m.config));
    this.sinks.add(sink);
    return sink;
  }

  /** `log_max_size` / `log_max_files` changed (a hot update): the open files rotate by the new ones. */
  rotationChanged(m: Managed): void {
    const rotation = rotationOf(m.config);
    for (const s of [m.sinks.stdout, m.sinks.stderr]) s?.setRotation(rotation);
  }

  /** Forgets the closed log files of a deleted process. */
  forget(m: Managed): void {
    for (const s of [m.sinks.stdout, m.sinks.stderr]) {
      const file = s instanceof JournalSink ? s.fallbackFile : s;
      if (file instanceof LogSink && !file.isOpen) this.sinks.delete(file);
    }
  }

  /**
   * A fresh pipe for a child's stream when its target is a file: the child gets the write end as
   * stdout/stderr, `relay` reads the other. Undefined for inherit/null, or when no named pipe is
   * ready (the child then gets Node's socketpair: the same output, slower).
   */
  takePipe(target: OutputTarget): PipeEnds | undefined {
    return stdioFor(target) === "pipe" ? this.fifos.take() : undefined;
  }

  /**
   * Relays a spawned child's output to `sinks`: from the read ends of its pipes, or from
   * child.stdout/err when it got none. Resolves when both are closed.
   */
  relay(
    m: Managed,
    child: ChildProcess,
    outPipe: PipeEnds | undefined,
    errPipe: PipeEnds | undefined,
    sinks: Sinks,
    owner: Owner | undefined,
  ): Promise<unknown> {
    const stdout = outPipe
      ? this.fromFifo(m, outPipe.read, sinks.stdout, "stdout", owner)
      : this.fromStream(m, child.stdout, sinks.stdout, "stdout", owner);
    const stderr = errPipe
      ? this.fromFifo(m, errPipe.read, sinks.stderr, "stderr", owner)
      : this.fromStream(m, child.stderr, sinks.stderr, "stderr", owner);
    return Promise.all(
      [stdout, stderr].map((s) => (s && !s.closed ? once(s, "close").catch(() => {}) : undefined)),
    );
  }

  /** Child output from its FIFO (the usual case), read into the shared buffer. */
  private fromFifo(
    m: Managed,
    fd: number,
    sink: OutputSink | undefined,
    name: Stream,
    owner: Owner | undefined,
  ): Socket {
    sink?.acquire(owner);
    const socket = readFifo(
      fd,
      this.writer(m, sink, name, () => socket.resume()),
    );
    socket.once("close", () => sink?.release());
    return socket;
  }

  /** Child output from a stream: child.stdout when no FIFO was ready, and hooks. */
  fromStream(
    m: Managed,
    stream: Readable | null,
    sink: OutputSink | undefined,
    name: Stream,
    owner: Owner | undefined,
  ): Readable | null {
    if (!stream) return null;
    sink?.acquire(owner);
    const write = this.writer(m, sink, name, () => stream.resume());
    stream.on("data", (chunk: Buffer) => {
      if (!write(chunk)) stream.pause();
    });
    stream.once("close", () => sink?.release());
    return stream;
  }

  /**
   * What happens to each chunk of output: to the file (in order, nothing dropped: the source
   * pauses while the file is behind), then to the listeners once it is in the file. The chunk
   * may be a view of the shared read buffer: nothing keeps it past the call. Returns false when
   * the source must pause; `resume` is called once the file has caught up.
   */
  private writer(
    m: Managed,
    sink: OutputSink | undefined,
    name: Stream,
    resume: () => void,
  ): (chunk: Buffer) => boolean {
    const host = this.host;
    let failed = false;
    const line = { atStart: true };
    return (chunk) => {
      let more = true;
      if (sink && !failed) {
        try {
          if (!sink.write(m.config.logTimestamps ? stamped(chunk, line) : chunk)) {
            more = false;
            void sink.drained().then(resume);
          }
        } catch (e) {
          failed = true;
          host.warn(
            m,
            `cannot write ${name} of "${m.name}" to ${sink.path}: ${(e as Error).message}`,
            e,
          );
        }
      }
      const everyProcess = host.events.listenerCount("output") > 0;
      if (everyProcess || m.outputListeners.size > 0) {
        const copy = Buffer.from(chunk);
        const emit = () => {
          for (const listener of m.outputListeners) listener(name, copy);
          if (everyProcess) {
            host.events.emit("output", { process: host.snapshot(m), stream: name, chunk: copy });
          }
        };
        if (sink?.pending) void sink.flushed().then(emit);
        else emit();
      }
      return more;
    };
  }

  /** Calls `listener` with each chunk of `m`'s output once it is in the file, until unsubscribed. */
  subscribe(m: Managed, listener: OutputListener): () => void {
    const listeners = m.outputListeners;
    // A wrapper of its own, so that subscribing the same function twice needs two unsubscribes.
    const entry: OutputListener = (stream, chunk) => listener(stream, chunk);
    listeners.add(entry);
    return () => listeners.delete(entry);
  }

  /** Closes and reopens every open log file (logrotate), without touching the children. */
  async reopen(): Promise<void> {
    const errors: unknown[] = [];
    for (const sink of this.sinks) {
      try {
        sink.reopen();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) {
      throw new SupervisorError("invalid-state", `could not reopen ${errors.length} log file(s)`, {
        cause: errors.length === 1 ? errors[0] : new AggregateError(errors),
      });
    }
  }

  /** Removes the pipes not taken. */
  close(): Promise<void> {
    return this.fifos.close();
  }
}

/**
 * `chunk` with the time it arrived before each line that starts in it (log_timestamps: the one
 * per-line work of the relay, for those who ask). `line.atStart`: the previous chunk ended a line.
 */
export function stamped(chunk: Buffer, line: { atStart: boolean }): Buffer {
  const time = Buffer.from(`${new Date().toISOString()} `);
  const parts: Buffer[] = [];
  let from = 0;
  while (from < chunk.length) {
    if (line.atStart) parts.push(time);
    const nl = chunk.indexOf(10, from);
    const end = nl < 0 ? chunk.length : nl + 1;
    parts.push(chunk.subarray(from, end));
    line.atStart = nl >= 0;
    from = end;
  }
  return Buffer.concat(parts);
}
