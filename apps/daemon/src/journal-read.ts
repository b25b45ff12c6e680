/**
 * Reading processes' lines back from the journal (`stdout: journal`) with journalctl: the
 * journal's files are systemd's format, read by its own tool (matches, --since, -n, -f), the
 * same way a user would (`journalctl PROCMGR_PROCESS_ID=<id>`).
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** One line of a process's output, as the journal has it. */
export interface JournalLine {
  readonly processId: string;
  readonly stream: "stdout" | "stderr";
  /** The line, without its "\n". */
  readonly message: Buffer;
  readonly time: Date;
}

export interface JournalQuery {
  readonly processIds: readonly string[];
  /** Only this stream (both when undefined). */
  readonly stream?: "stdout" | "stderr";
  /** The last this many lines (of all the processes together); all of them when undefined. */
  readonly lines?: number;
  readonly since?: Date;
  /** Then what comes next, until `signal` aborts. */
  readonly follow: boolean;
  readonly signal: AbortSignal;
}

/** `journalctl -o json`'s MESSAGE: text, bytes (not UTF-8) as an array, or null. */
type JsonField = string | number[] | null | undefined;

function fieldBytes(value: JsonField): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (Array.isArray(value)) return Buffer.from(value);
  return Buffer.alloc(0);
}

/** journalctl's arguments for `q`. */
export function journalctlArgs(q: JournalQuery): string[] {
  const args = ["--no-pager", "--all", "-o", "json"];
  args.push("--output-fields=MESSAGE,PROCMGR_PROCESS_ID,PROCMGR_STREAM");
  args.push("-n", q.lines === undefined ? "all" : String(q.lines));
  if (q.since !== undefined) args.push(`--since=@${Math.floor(q.since.getTime() / 1000)}`);
  if (q.follow) args.push("-f");
  for (const id of q.processIds) args.push(`PROCMGR_PROCESS_ID=${id}`);
  if (q.stream !== undefined) args.push(`PROCMGR_STREAM=${q.stream}`);
  return args;
}

/**
 * The lines of `q` from the journal, oldest first, then (following) as they come. Throws with
 * journalctl's own words when it fails (not installed, no permission to read the journal).
 */
export async function* readJournal(q: JournalQuery): AsyncGenerator<JournalLine> {
  const child = spawn("journalctl", journalctlArgs(q), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, error }));
    child.once("close", (code) => resolve({ code }));
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  };
  q.signal.addEventListener("abort", stop, { once: true });
  const sinceMs = q.since?.getTime();
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (line === "") continue;
      const e = JSON.parse(line) as Record<string, JsonField>;
      const time = new Date(Number(e.__REALTIME_TIMESTAMP) / 1000);
      // --since takes whole seconds: the rest of the second is cut here.
      if (sinceMs !== undefined && time.getTime() < sinceMs) continue;
      yield {
        processId: typeof e.PROCMGR_PROCESS_ID === "string" ? e.PROCMGR_PROCESS_ID : "",
        stream: e.PROCMGR_STREAM === "stderr" ? "stderr" : "stdout",
        message: fieldBytes(e.MESSAGE),
        time,
      };
    }
    const { code, error } = await exited;
    if (q.signal.aborted) return;
    if (error !== undefined) {
      throw new Error(
        (error as NodeJS.ErrnoException).code === "ENOENT"
          ? "journalctl is not installed: the journal cannot be read"
          : `journalctl: ${error.message}`,
      );
    }
    if (code !== 0) throw new Error(`journalctl exited with ${code}: ${stderr.trim()}`);
  } finally {
    q.signal.removeEventListener("abort", stop);
    stop();
  }
}
