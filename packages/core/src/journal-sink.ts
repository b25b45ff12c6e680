/**
 * A process's stream to journald (`stdout: journal`): each line one entry through the native
 * protocol (platform journal.ts), as systemd's StandardOutput=journal makes of a unit's lines,
 * plus fields naming the process. The daemon relays the bytes itself rather than handing the
 * child a stream socket to journald (which needs no relay) because a stream socket carries no
 * fields of our own (PROCMGR_PROCESS=) and `pm-cli logs -f` must see the output too.
 *
 * What journald does with a unit's lines, done here: a line longer than 48 KiB (its LineMax)
 * becomes several entries; a `<N>` prefix (sd-daemon(3)) sets the priority and is removed;
 * bytes are passed as they are (binary lines become blob fields); a line without its end is
 * held until the end arrives or the stream closes.
 *
 * Nothing is dropped: when journald's queue is full (EAGAIN) entries wait, in order, and go in
 * batches that wait for room off the event loop (JournalSender.sendEntries; the pipe pauses past
 * 8 MiB waiting, like a log file's); when the journal cannot be written (its socket gone), lines
 * go to the process's log file instead, said once, and the journal is tried again after a few
 * seconds.
 */
import { type JournalSender, journalEntry, PlatformError } from "@procmgr/platform";
import type { LogSink } from "./log-sink.js";
import type { OutputSink, Stream } from "./managed.js";

/** journald's default LineMax: longer lines are cut into entries of this size. */
export const journalLineMax = 48 * 1024;
const highWater = 8 * 1024 * 1024;
const lowWater = 1024 * 1024;
/** A batch of entries sent while journald's queue is full: at most this many, this many bytes. */
const batchMax = 1024;
const batchBytesMax = 4 * 1024 * 1024;
/** After a failed send (not a full queue), lines go to the file this long before a new try. */
const fallbackMs = 5000;

/** Whose stream a journal sink carries (fields of every entry). */
export interface JournalSource {
  readonly name: string;
  readonly id: string;
  readonly stream: Stream;
  /** The pid of the current run (SYSLOG_PID, OBJECT_PID), if one runs. */
  readonly pid: () => number | undefined;
}

/** What the sink needs besides its source. */
export interface JournalLink {
  /** The shared socket to journald (opened once, on first use). */
  readonly sender: () => Promise<JournalSender>;
  /** The process's log file, written when the journal cannot be (made at the first need). */
  readonly fallback: () => LogSink;
  /** Says that the journal failed (or works again); the sink says it once per change. */
  readonly warn: (message: string) => void;
}

interface Entry {
  readonly data: Buffer;
  /** The line as the child wrote it (for the fallback file). */
  readonly line: Buffer;
}

export class JournalSink implements OutputSink {
  readonly path = "the journal";
  private readonly source: JournalSource;
  private readonly link: JournalLink;
  private readonly defaultPriority: string;
  private sender: JournalSender | undefined;
  private opening: Promise<void> | undefined;
  private refs = 0;
  private partial: Buffer | null = null;
  private header: { pid: number | undefined; data: Buffer } | undefined;
  private queue: Entry[] = [];
  private queued = 0;
  /** A batch is on its way (sendEntries): nothing else is sent meanwhile, to keep the order. */
  private inFlight = false;
  /** Lines go to the file until then (ms since the epoch), after a failed send. */
  private fallbackUntil = 0;
  private file: LogSink | undefined;
  /** The file is open for this sink (while lines go to it). */
  private fileHeld = false;
  private accepted = 0;
  private done = 0;
  private flushWaiters: { until: number; resolve: () => void }[] = [];
  private drainWaiters: (() => void)[] = [];

  constructor(source: JournalSource, link: JournalLink) {
    this.source = source;
    this.link = link;
    this.defaultPriority = source.stream === "stderr" ? "3" : "6";
  }

  get isOpen(): boolean {
    return this.refs > 0;
  }

  get pending(): boolean {
    return this.done < this.accepted;
  }

  acquire(): void {
    this.refs++;
    if (this.sender === undefined && this.opening === undefined) {
      this.opening = this.link.sender().then(
        (sender) => {
          this.sender = sender;
          this.send();
        },
        (e: unknown) => {
          this.failed(e as Error);
          this.send();
        },
      );
    }
  }

  /** The last stream closed: a line without its end is written as it is. */
  release(): void {
    if (this.refs > 0) this.refs--;
    if (this.refs > 0) return;
    const partial = this.partial;
    this.partial = null;
    if (partial !== null) this.push(partial);
    this.send();
  }

  write(chunk: Buffer): boolean {
    let from = 0;
    let partial = this.partial;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const line = chunk.subarray(from, nl);
      this.pushLine(partial === null ? line : Buffer.concat([partial, line]));
      partial = null;
      from = nl + 1;
    }
    let rest = chunk.subarray(from);
    if (partial !== null) rest = Buffer.concat([partial, rest]);
    while (rest.length >= journalLineMax) {
      this.push(rest.subarray(0, journalLineMax));
      rest = rest.subarray(journalLineMax);
    }
    // A copy: `chunk` may be a view of the relay's shared read buffer.
    this.partial = rest.length > 0 ? Buffer.from(rest) : null;
    this.send();
    return this.queued < highWater;
  }

  /** A whole line, cut at LineMax as journald cuts the lines of a stream. */
  private pushLine(line: Buffer): void {
    let rest = line;
    while (rest.length > journalLineMax) {
      this.push(rest.subarray(0, journalLineMax));
      rest = rest.subarray(journalLineMax);
    }
    this.push(rest);
  }

  /** Encodes one entry (`<N>` read off the line) and queues it. */
  private push(line: Buffer): void {
    let priority = this.defaultPriority;
    let message = line;
    if (line.length >= 3 && line[0] === 0x3c && line[2] === 0x3e) {
      const digit = (line[1] ?? 0) - 0x30;
      if (digit >= 0 && digit <= 7) {
        priority = String(digit);
        message = line.subarray(3);
      }
    }
    const tail = journalEntry({ PRIORITY: priority, MESSAGE: message });
    const data = Buffer.concat([this.headerData(), tail]);
    this.queue.push({ data, line: data.subarray(data.length - 1 - line.length, data.length - 1) });
    this.queued += data.length;
    this.accepted++;
  }

  /** The fields every entry of the current run carries, encoded once per run. */
  private headerData(): Buffer {
    const pid = this.source.pid();
    if (this.header !== undefined && this.header.pid === pid) return this.header.data;
    const { name, id, stream } = this.source;
    const data = journalEntry({
      SYSLOG_IDENTIFIER: name,
      ...(pid === undefined ? {} : { SYSLOG_PID: String(pid), OBJECT_PID: String(pid) }),
      PROCMGR_PROCESS: name,
      PROCMGR_PROCESS_ID: id,
      PROCMGR_STREAM: stream,
    });
    this.header = { pid, data };
    return data;
  }

  /**
   * Sends what waits, in order: each entry at once while journald keeps up; when its queue is
   * full, the waiting ones in batches that wait for room off the event loop (sendEntries).
   */
  private send(): void {
    while (this.queue.length > 0 && !this.inFlight) {
      const entry = this.queue[0] as Entry;
      if (this.toFileNow()) {
        this.toFile(entry);
        this.sent(1);
        continue;
      }
      const sender = this.sender;
      if (sender === undefined) break; // still opening: sent when it is open
      try {
        sender.sendEntry(entry.data);
        this.journalWorks();
        this.sent(1);
      } catch (e) {
        if (e instanceof PlatformError && e.errno === "EAGAIN") this.sendBatch(sender);
        else {
          this.failed(e as Error);
          this.toFile(entry);
          this.sent(1);
        }
      }
    }
    if (this.refs === 0 && this.queue.length === 0) this.releaseFile();
    this.settled();
  }

  /** The first waiting entries in one sendmmsg(2) that may wait for room; then on. */
  private sendBatch(sender: JournalSender): void {
    const batch: Buffer[] = [];
    let bytes = 0;
    for (const e of this.queue) {
      if (batch.length === batchMax || bytes + e.data.length > batchBytesMax) break;
      batch.push(e.data);
      bytes += e.data.length;
    }
    this.inFlight = true;
    void sender.sendEntries(batch).then(
      ({ sent, error }) => {
        this.inFlight = false;
        if (sent > 0) this.journalWorks();
        this.sent(sent);
        if (error !== undefined) this.failed(error);
        this.send();
      },
      (e: unknown) => {
        this.inFlight = false;
        this.failed(e as Error);
        this.send();
      },
    );
  }

  /** The first `n` waiting entries are sent (or written to the file). */
  private sent(n: number): void {
    for (const e of this.queue.splice(0, n)) this.queued -= e.data.length;
    this.done += n;
  }

  /** Lines go to the file: the journal failed a moment ago, or could not be opened. */
  private toFileNow(): boolean {
    return (
      Date.now() < this.fallbackUntil || (this.sender === undefined && this.opening === undefined)
    );
  }

  /** An entry reached the journal: if lines went to the file, say they come back. */
  private journalWorks(): void {
    if (!this.fileHeld) return;
    this.releaseFile();
    this.link.warn(`${this.who()} goes to the journal again`);
  }

  private failed(error: Error): void {
    this.opening = undefined;
    this.fallbackUntil = Date.now() + fallbackMs;
    if (this.fileHeld) return;
    this.file ??= this.link.fallback();
    const file = this.file;
    this.link.warn(
      `cannot write ${this.who()} to the journal (${error.message}): it goes to ${file.path} until the journal can be written again`,
    );
    try {
      file.acquire(undefined);
      this.fileHeld = true;
    } catch (e) {
      this.link.warn(`cannot open ${file.path} either (${(e as Error).message}): lines are lost`);
    }
  }

  private releaseFile(): void {
    if (!this.fileHeld) return;
    this.fileHeld = false;
    this.file?.release();
  }

  /** The log file lines went to when the journal could not be written, if that happened. */
  get fallbackFile(): LogSink | undefined {
    return this.file;
  }

  /** A line to the log file; lost only when neither the journal nor the file can be written. */
  private toFile(entry: Entry): void {
    if (!this.fileHeld) return;
    try {
      this.file?.write(Buffer.concat([entry.line, Buffer.from("\n")]));
    } catch (e) {
      this.link.warn(`cannot write ${this.who()} to ${this.file?.path}: ${(e as Error).message}`);
    }
  }

  private who(): string {
    return `${this.source.stream} of "${this.source.name}"`;
  }

  private settled(): void {
    if (this.queued < lowWater) for (const w of this.drainWaiters.splice(0)) w();
    if (this.flushWaiters.length === 0) return;
    const waiting: typeof this.flushWaiters = [];
    for (const w of this.flushWaiters) {
      if (this.done >= w.until) w.resolve();
      else waiting.push(w);
    }
    this.flushWaiters = waiting;
  }

  flushed(): Promise<void> {
    const until = this.accepted;
    if (this.done >= until) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ until, resolve }));
  }

  drained(): Promise<void> {
    if (this.queued < lowWater) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Nothing to reopen: logrotate does not touch the journal. */
  reopen(): void {}

  /** journald rotates its own files (SystemMaxUse= ...): log_max_size applies to files only. */
  setRotation(): void {}
}
