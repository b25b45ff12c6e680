import { constants as fsConstants } from "node:fs";
import { lstat, open, unlink } from "node:fs/promises";
import { minTokenLength, newToken, writeTokenFile } from "@procmgr/rpc";
import type { Logger } from "./logger.js";

/** What the daemon knows of the token file when it checks it. */
export interface TokenFileFacts {
  readonly isFile: boolean;
  readonly uid: number;
  readonly mode: number;
  /** The content, trimmed. */
  readonly token: string;
}

/**
 * Why the daemon will not accept the token of its file, or undefined when it will: the file must
 * be a regular file of the daemon's user that nobody else may read, holding one token of at
 * least `minTokenLength` characters. A refused file makes every token refused (fail closed).
 */
export function tokenFileProblem(facts: TokenFileFacts, euid: number): string | undefined {
  if (!facts.isFile) return "not a regular file";
  if (facts.uid !== euid) return `owned by uid ${facts.uid}, not by the daemon's user (${euid})`;
  if ((facts.mode & 0o077) !== 0) {
    return `mode ${(facts.mode & 0o777).toString(8).padStart(4, "0")} lets others read it (make it 0600)`;
  }
  if (facts.token.length < minTokenLength || /\s/.test(facts.token)) {
    return `it holds ${facts.token.length} characters; a token is one word of at least ${minTokenLength}`;
  }
  return undefined;
}

function euid(): number {
  return typeof process.geteuid === "function" ? process.geteuid() : 0;
}

/**
 * The daemon token, as its file holds it. The daemon writes a fresh one at start; whoever may
 * replace the file (root or the daemon's user: `pm-cli daemon rotate-token`) rotates it. Each
 * check costs one `lstat`; the file is read again only when its inode, size, mtime or ctime
 * changed, so a replaced token is refused from the next call on, without a restart.
 */
export class TokenFile {
  /** `ino:size:mtime:ctime` of the version `token` was read from ("" = none yet). */
  private version = "";
  private token = "";
  private pending: { version: string; token: Promise<string> } | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Writes a fresh token (mode 0600, atomically) and accepts it. */
  async create(): Promise<void> {
    await writeTokenFile(this.path, newToken());
    await this.current();
  }

  /** The token accepted now; "" when the file is missing or refused (then no token matches). */
  async current(): Promise<string> {
    let version: string;
    try {
      const st = await lstat(this.path, { bigint: true });
      version = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    } catch (e) {
      version = `missing: ${(e as Error).message}`;
    }
    if (version === this.version) return this.token;
    if (this.pending?.version !== version) {
      this.pending = { version, token: this.load(version) };
    }
    const token = await this.pending.token;
    this.version = version;
    this.token = token;
    return token;
  }

  /** Reads and checks the file (through one descriptor, never through a symlink). */
  private async load(version: string): Promise<string> {
    const first = this.version === "";
    let problem: string | undefined;
    let token = "";
    if (version.startsWith("missing: ")) problem = version;
    else {
      try {
        const fh = await open(this.path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
        try {
          const st = await fh.stat();
          token = (await fh.readFile("utf8")).trim();
          problem = tokenFileProblem(
            { isFile: st.isFile(), uid: st.uid, mode: st.mode, token },
            euid(),
          );
        } finally {
          await fh.close();
        }
      } catch (e) {
        problem = (e as Error).message;
      }
    }
    if (problem !== undefined) {
      this.log.warn(
        `token file refused: ${problem}; every TCP token is refused until it is fixed`,
        {
          token: this.path,
        },
      );
      return "";
    }
    if (!first) {
      this.log.info("token file changed: the new token is accepted, the previous one refused", {
        token: this.path,
      });
    }
    return token;
  }

  /** Removes the file at exit, if it still holds the token accepted. */
  async remove(): Promise<void> {
    const accepted = await this.current();
    if (accepted === "") return;
    await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }
}
