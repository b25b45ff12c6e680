/**
 * Socket activation (`sockets:`, `start_on_connect`) with the real daemon, the real CLI and real
 * clients: the daemon opens and holds the listening sockets and passes them as fd 3 on
 * (packages/core/test/fixtures/fd3-server.mjs checks LISTEN_PID/LISTEN_FDS and answers with its pid and
 * LISTEN_FDNAMES). Checks a socket that cannot be opened (fails that process only, named), the
 * first connection starting a lazy process, no refused connection across 20 `pm-cli restart`s and
 * across `pm-cli reload-config` (unchanged, then changed), and `create --socket` / `delete`
 * freeing the port.
 */
import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { cliE2eSkipReason, freePort, runCli, waitFor } from "../cli/cli-support.js";
import {
  type DaemonDirs,
  type DaemonInstance,
  makeDaemonDirs,
  pidAlive,
  removeDaemonDirs,
  repoRoot,
  startDaemon,
  stopAllDaemons,
} from "../harness/daemon.js";

const fd3Server = join(repoRoot, "packages/core/test/fixtures/fd3-server.mjs");

type Target = { port: number } | { path: string };

/** One request: the server's answer, or why there is none ("error ECONNREFUSED", "timeout"). */
function ask(target: Target, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ ...target, host: "127.0.0.1" });
    let text = "";
    const timer = setTimeout(() => {
      c.destroy();
      resolve(`timeout after ${timeoutMs} ms`);
    }, timeoutMs);
    c.on("data", (d: Buffer) => {
      text += d.toString();
    });
    c.on("end", () => {
      clearTimeout(timer);
      resolve(text);
    });
    c.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`error ${e.code ?? e.message}`);
    });
  });
}

/** The pid in an answer "pid=N fds=.. names=..", or undefined for a failed request. */
function answerPid(answer: string): number | undefined {
  const m = /^pid=(\d+) fds=\d+ names=\S*\n$/.exec(answer);
  return m === null ? undefined : Number(m[1]);
}

interface Traffic {
  readonly answers: readonly string[];
  /** Resolves once an answer came from `pid`. */
  answeredBy(pid: number): Promise<void>;
  /** Ends the loop after the request in flight. */
  stop(): Promise<{ total: number; failed: string[]; pids: Set<number> }>;
}

/**
 * A client asking `target` in a loop, one request at a time, until `stop()` or until `signal`
 * (the test's) aborts: a test cancelled by its suite's timeout must not leave the loop spinning
 * on refused connections, which keeps the test process alive for ever.
 */
function traffic(target: Target, signal: AbortSignal): Traffic {
  const answers: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running && !signal.aborted) answers.push(await ask(target));
  })();
  return {
    answers,
    answeredBy: (pid) =>
      waitFor(`an answer from pid ${pid}`, () =>
        answers.some((a) => answerPid(a) === pid) ? true : undefined,
      ).then(() => undefined),
    async stop() {
      running = false;
      await loop;
      const pids = new Set(answers.flatMap((a) => answerPid(a) ?? []));
      return { total: answers.length, failed: answers.filter((a) => !answerPid(a)), pids };
    },
  };
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

function config(o: { webPort: number; lazyPath: string; squatPort: number; gen: number }): string {
  const node = JSON.stringify(process.execPath);
  const args = `[${JSON.stringify(fd3Server)}]`;
  return [
    "processes:",
    "  web:",
    `    command: ${node}`,
    `    args: ${args}`,
    `    sockets: ["http=127.0.0.1:${o.webPort}"]`,
    `    env: {GENERATION: "${o.gen}"}`,
    "    restart: always",
    "    restart_sec: 0",
    "    auto_start: true",
    "  lazy:",
    `    command: ${node}`,
    `    args: ${args}`,
    `    sockets: [${JSON.stringify(o.lazyPath)}]`,
    "    start_on_connect: true",
    "  squat:",
    `    command: ${node}`,
    `    args: ${args}`,
    `    sockets: ["127.0.0.1:${o.squatPort}"]`,
    "    auto_start: true",
    "",
  ].join("\n");
}

describe("dd-procmgrd: socket activation (sockets:, start_on_connect)", {
  skip: cliE2eSkipReason(),
  timeout: 60_000,
}, () => {
  let dirs: DaemonDirs | undefined;
  let d: DaemonInstance | undefined;
  let squatter: Server | undefined;
  let settings: Parameters<typeof config>[0] | undefined;

  const cliRaw = (...args: string[]) => {
    if (d === undefined) throw new Error("no daemon");
    return runCli(args, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: d.dir,
        PM_ADDRESS: `unix:${d.socketPath}`,
      },
    });
  };
  const cli = async (...args: string[]): Promise<string> => {
    const r = await cliRaw(...args);
    assert.equal(r.code, 0, `pm-cli ${args.join(" ")}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  const describeJson = async (name: string) =>
    JSON.parse(await cli("describe", name, "-o", "json")) as {
      state: string;
      pid: number | null;
      failure_reason: string | null;
    };
  const state = async (name: string) => (await describeJson(name)).state;

  after(async () => {
    await stopAllDaemons();
    if (squatter !== undefined) await closeServer(squatter);
    if (dirs !== undefined) await removeDaemonDirs(dirs);
  });

  test("web gets its socket, squat fails naming its socket, lazy starts at the first connection", async () => {
    const squatPort = await freePort();
    squatter = await listenOn(squatPort);
    const webPort = await freePort();
    // The dirs first: lazy's unix socket goes in them.
    dirs = await makeDaemonDirs();
    settings = { webPort, lazyPath: join(dirs.dir, "lazy.sock"), squatPort, gen: 1 };
    d = await startDaemon({ dirs, config: config(settings) });

    const web = await waitFor("web to run", async () => {
      const j = await describeJson("web");
      return j.state === "running" && j.pid !== null ? j.pid : undefined;
    });
    assert.equal(await ask({ port: webPort }), `pid=${web} fds=1 names=http\n`);

    const squat = await describeJson("squat");
    assert.equal(squat.state, "failed");
    assert.match(
      squat.failure_reason ?? "",
      new RegExp(`process "squat" socket 127\\.0\\.0\\.1:${squatPort}: .*address already in use`),
    );
    assert.match(
      d.output(),
      new RegExp(
        `warn process failed process_id=\\S+ process=squat reason=.*socket 127\\.0\\.0\\.1:${squatPort}`,
      ),
    );

    // Held (the socket file exists) but not started until someone connects.
    const lazyPath = settings.lazyPath;
    await waitFor("lazy's socket file", () => (existsSync(lazyPath) ? true : undefined));
    assert.notEqual(await state("lazy"), "running");
    assert.equal((await describeJson("lazy")).pid, null);
    const answer = await ask({ path: lazyPath });
    const lazy = await describeJson("lazy");
    assert.equal(lazy.state, "running");
    assert.equal(answer, `pid=${lazy.pid} fds=1 names=lazy\n`);
  });

  test("20 × pm-cli restart web: every request answered, none refused", async (t) => {
    assert.ok(settings !== undefined);
    const flow = traffic({ port: settings.webPort }, t.signal);
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const r = JSON.parse(await cli("restart", "web", "-o", "json")) as { pid: number };
      // Each instance serves before the next restart: requests meanwhile wait in the backlog.
      await flow.answeredBy(r.pid);
    }
    const { total, failed, pids } = await flow.stop();
    t.diagnostic(
      `20 restarts in ${Date.now() - started} ms: ${total} requests, ${total - failed.length} answered, ${failed.length} failed, ${pids.size} pids`,
    );
    assert.deepEqual(failed, [], `${failed.length} of ${total} requests failed`);
    assert.ok(pids.size >= 21, `answered by ${pids.size} instances`);
  });

  test("a crash (SIGKILL of the program): the next instance answers, none refused", async (t) => {
    assert.ok(settings !== undefined);
    const before = (await describeJson("web")).pid;
    assert.ok(before !== null);
    const flow = traffic({ port: settings.webPort }, t.signal);
    await flow.answeredBy(before);
    process.kill(before, "SIGKILL");
    const next = await waitFor("web to run again", async () => {
      const j = await describeJson("web");
      return j.state === "running" && j.pid !== null && j.pid !== before ? j.pid : undefined;
    });
    await flow.answeredBy(next);
    const { total, failed } = await flow.stop();
    t.diagnostic(`crash: ${total} requests, ${failed.length} failed`);
    // The one request the killed program had accepted and not answered yet dies with it (an
    // empty answer or a reset: SIGKILL leaves it no time); none may be refused or lost beside it.
    const isCut = (a: string) => a === "" || a === "error ECONNRESET";
    const cut = failed.filter(isCut);
    assert.ok(cut.length <= 1, `more than the request in flight cut: ${cut.length}`);
    assert.deepEqual(
      failed.filter((a) => !isCut(a)),
      [],
    );
  });

  test("reload-config: unchanged keeps web's pid, a changed env restarts it; none refused", async (t) => {
    assert.ok(settings !== undefined);
    const before = (await describeJson("web")).pid;
    assert.ok(before !== null);

    let flow = traffic({ port: settings.webPort }, t.signal);
    await flow.answeredBy(before);
    const same = JSON.parse(await cli("reload-config", "-o", "json")) as {
      changed: string[];
      unchanged: string[];
    };
    assert.deepEqual([same.changed, same.unchanged.sort()], [[], ["lazy", "squat", "web"]]);
    const n = flow.answers.length;
    await waitFor("more answers after the reload", () =>
      flow.answers.length > n + 5 ? true : undefined,
    );
    let tally = await flow.stop();
    t.diagnostic(`unchanged reload: ${tally.total} requests, ${tally.failed.length} failed`);
    assert.deepEqual(tally.failed, []);
    assert.deepEqual([...tally.pids], [before], "only the same pid answered");
    assert.equal((await describeJson("web")).pid, before);

    flow = traffic({ port: settings.webPort }, t.signal);
    await flow.answeredBy(before);
    settings = { ...settings, gen: 2 };
    await writeFile(d?.configPath ?? "", config(settings));
    const diff = JSON.parse(await cli("reload-config", "-o", "json")) as { changed: string[] };
    assert.deepEqual(diff.changed, ["web"]);
    const restarted = await waitFor("web to run again", async () => {
      const j = await describeJson("web");
      return j.state === "running" && j.pid !== null && j.pid !== before ? j.pid : undefined;
    });
    await flow.answeredBy(restarted);
    tally = await flow.stop();
    t.diagnostic(`changed reload: ${tally.total} requests, ${tally.failed.length} failed`);
    assert.deepEqual(tally.failed, []);
    assert.equal(pidAlive(before), false);
  });

  test("pm-cli create --socket, start, describe, delete --force frees the port", async () => {
    const port = await freePort();
    await cli("create", "api", "--socket", `127.0.0.1:${port}`, "--", process.execPath, fd3Server);
    const started = JSON.parse(await cli("start", "api", "-o", "json")) as { pid: number };
    assert.equal(await ask({ port }), `pid=${started.pid} fds=1 names=api\n`);
    const page = await cli("describe", "api");
    assert.match(page, new RegExp(`Sockets:\\s+127\\.0\\.0\\.1:${port}`));
    // Held by api: another process cannot have it, and says who has it.
    await cli("create", "api2", "--socket", `127.0.0.1:${port}`, "--", process.execPath, fd3Server);
    const second = await cliRaw("start", "api2");
    assert.equal(second.code, 1, `${second.stdout}${second.stderr}`);
    assert.match(
      second.stdout,
      new RegExp(`process "api2" socket 127\\.0\\.0\\.1:${port}: already held by process "api"`),
    );
    await cli("delete", "api2");
    await cli("delete", "api", "--force");
    assert.equal(pidAlive(started.pid), false);
    const s = await listenOn(port);
    await closeServer(s);
  });

  test("the daemon's exit closes every socket it held", async () => {
    assert.ok(d !== undefined && settings !== undefined);
    const exit = await d.stop();
    assert.equal(exit.code, 0, d.output());
    const s = await listenOn(settings.webPort);
    await closeServer(s);
    assert.equal(existsSync(settings.lazyPath), false, "lazy's socket file is removed");
  });
});

describe("dd-procmgrd: sockets after a SIGKILL of the daemon", {
  skip: cliE2eSkipReason(),
  timeout: 30_000,
}, () => {
  let d: DaemonInstance | undefined;

  after(async () => {
    await stopAllDaemons();
    if (d !== undefined) await removeDaemonDirs(d);
  });

  // After an unclean exit the next daemon removes the output FIFOs left in its state dir: the
  // lstat of a FIFO right before the first `import("koffi")` tripped Node 20's realpath cache,
  // and koffi could not find its native package (fifo-pool.ts now unlinks without a stat).
  test("the restarted daemon stops the leftover and opens the socket again for web", async () => {
    const port = await freePort();
    const node = JSON.stringify(process.execPath);
    d = await startDaemon({
      config: [
        "processes:",
        "  web:",
        `    command: ${node}`,
        `    args: [${JSON.stringify(fd3Server)}]`,
        `    sockets: ["127.0.0.1:${port}"]`,
        "    auto_start: true",
        "",
      ].join("\n"),
    });
    const first = await waitFor("web to answer", async () => answerPid(await ask({ port })));
    await d.crash();
    d = await startDaemon({ dirs: d });
    assert.equal(pidAlive(first), false, "the leftover is stopped");
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: d.dir,
      PM_ADDRESS: `unix:${d.socketPath}`,
    };
    type Web = { state: string; pid: number; failure_reason: string };
    const web = await waitFor("web to run or fail", async () => {
      const r = await runCli(["describe", "web", "-o", "json"], { env });
      const j = JSON.parse(r.stdout) as Web;
      return j.state === "running" || j.state === "failed" ? j : undefined;
    });
    assert.equal(web.state, "running", web.failure_reason);
    assert.equal(await ask({ port }), `pid=${web.pid} fds=1 names=web\n`);
  });
});
