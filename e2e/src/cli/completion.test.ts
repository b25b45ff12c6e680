/**
 * Shell completion end to end: the scripts `pm-cli completion bash|zsh|fish` print, loaded into
 * the real shells, completing verbs and the names of the processes of a real daemon through
 * the CLI's `__complete`. bash is driven as it drives a completion function (COMP_WORDS...),
 * zsh by typing TAB into an interactive zsh in a pseudo-terminal, fish by `complete -C`.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pidAlive, repoRoot } from "../harness/daemon.js";
import { runCommand } from "../harness/run-command.js";
import {
  cliE2eSkipReason,
  runCli,
  startTestDaemon,
  type TestDaemon,
  waitFor,
  waitForState,
} from "./cli-support.js";

const programs = ["pm-cli", "dd-procmgr-cli", "psh"];
const bashDriver = join(repoRoot, "e2e/fixtures/bash-complete.sh");
const zshDriver = join(repoRoot, "e2e/fixtures/zsh-complete.zsh");

/** Why a shell's test cannot run here; in CI a missing shell is a failure (.ci/run installs it). */
function shellSkip(shell: string): string | false {
  const probe = spawnSync(shell, ["-c", "exit 0"], { stdio: "ignore" });
  if (probe.status === 0 || process.env.CI) return false;
  return `${shell} is not installed (apt-get install ${shell}; .ci/run installs it)`;
}

const skip = cliE2eSkipReason();

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const config = `processes:
  alpha:
    command: sleep 300
    auto_start: true
  beta:
    command: sleep 301
`;

describe("shell completion against a real daemon", { skip }, () => {
  let daemon: TestDaemon;
  let env: Record<string, string>;
  let scratch: string;
  let alphaPid = 0;
  const scripts: Record<string, string> = {};

  before(async () => {
    daemon = await startTestDaemon(config);
    scratch = await mkdtemp(join(tmpdir(), "pm-completion-"));
    // The CLI under each of its names, as installed: the scripts call back the name typed.
    const bin = join(scratch, "bin");
    await mkdir(bin);
    for (const name of programs) {
      await symlink(join(repoRoot, "apps/cli/bin", `${name}.js`), join(bin, name));
    }
    env = daemon.cliEnv({
      PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: scratch,
    });
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await runCli(["completion", shell], { env });
      assert.equal(r.code, 0, r.stderr);
      scripts[shell] = join(scratch, `completion.${shell}`);
      await writeFile(scripts[shell], r.stdout);
    }
    alphaPid = (await waitForState(daemon, "alpha", ["running"])).pid;
  });

  after(async () => {
    await daemon?.stop();
    if (alphaPid > 0)
      await waitFor("alpha's process to be gone", () => !pidAlive(alphaPid) || undefined);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("__complete lists the live processes' names, described by their state", async () => {
    const r = await runCli(["__complete", "start", ""], { env });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").sort();
    assert.equal(lines.length, 2, r.stdout);
    assert.equal(lines[0], "alpha\trunning");
    assert.match(lines[1] ?? "", /^beta\t/);
    const rest = await runCli(["__complete", "stop", "alpha", ""], { env });
    assert.equal(rest.stdout.split("\t")[0], "beta");
  });

  /** Each case: the line, COMP_WORDS as bash splits it (at COMP_WORDBREAKS: = and :). */
  type BashCase = [line: string, words: string[], expected: string];

  /** Sources the bash script and calls its function as bash does; checks the COMPREPLYs. */
  async function checkBash(cases: BashCase[], bashEnv: Record<string, string>): Promise<void> {
    const args = cases.flatMap(([line, words]) => [line, String(words.length), ...words]);
    const r = await runCommand(
      "bash",
      ["--norc", "--noprofile", bashDriver, scripts.bash ?? "", ...args],
      { env: bashEnv },
    );
    assert.equal(r.code, 0, r.stderr);
    const [registered = "", replies = ""] = r.stdout.split("--\n");
    for (const name of programs) {
      assert.match(registered, new RegExp(`^complete -F _procmgr_complete ${name}$`, "m"));
    }
    cases.forEach(([line, , expected], i) => {
      assert.equal(replies.split("\n")[i], expected, `${line}: ${r.stdout}${r.stderr}`);
    });
  }

  it("bash: the registered function fills COMPREPLY with verbs, options and names", async () => {
    await checkBash(
      [
        ["pm-cli st", ["pm-cli", "st"], "start stats status stop"],
        ["psh sys tear", ["psh", "sys", "tear"], "teardown"],
        ["dd-procmgr-cli start ", ["dd-procmgr-cli", "start", ""], "alpha beta"],
        ["pm-cli describe al", ["pm-cli", "describe", "al"], "alpha"],
        ["pm-cli stop alpha ", ["pm-cli", "stop", "alpha", ""], "beta"],
        ["pm-cli logs --std", ["pm-cli", "logs", "--std"], "--stderr --stdout"],
        [
          "pm-cli update alpha --restart=on-f",
          ["pm-cli", "update", "alpha", "--restart", "=", "on-f"],
          "on-failure",
        ],
      ],
      env,
    );
  });

  it("bash: names come from the daemon the line's --address names", async () => {
    const socket = daemon.socketPath;
    const line = `pm-cli restart --address=unix:${socket} `;
    const words = ["pm-cli", "restart", "--address", "=", "unix", ":", socket, ""];
    // PM_ADDRESS names no daemon: the names can only come from the line's address.
    const elsewhere = { ...env, PM_ADDRESS: `unix:${join(scratch, "none.sock")}` };
    await checkBash(
      [
        [line, words, "alpha beta"],
        ["pm-cli restart ", ["pm-cli", "restart", ""], ""],
      ],
      elsewhere,
    );
  });

  it("zsh: TAB completes verbs and names in an interactive zsh", {
    skip: shellSkip("zsh"),
  }, async () => {
    const typed = [
      "pm-cli desc",
      "pm-cli describe al",
      "psh sys tear",
      "dd-procmgr-cli stop alpha b",
    ];
    const r = await runCommand(
      "zsh",
      ["-f", zshDriver, scripts.zsh ?? "", join(scratch, "zsh"), ...typed],
      { env: env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n").slice(0, typed.length), [
      "pm-cli describe ",
      "pm-cli describe alpha ",
      "psh sys teardown ",
      "dd-procmgr-cli stop alpha beta ",
    ]);
  });

  it("fish: complete -C offers verbs and names with their descriptions", {
    skip: shellSkip("fish"),
  }, async () => {
    const lines = ["pm-cli sta", "psh start ", "dd-procmgr-cli logs -"];
    const program = [
      `source ${quote(scripts.fish ?? "")}`,
      ...lines.map((l) => `complete -C ${quote(l)}; echo ---`),
    ].join("\n");
    const r = await runCommand("fish", ["--no-config", "-c", program], { env: env });
    assert.equal(r.code, 0, r.stderr);
    const [verbs, names, flags] = r.stdout.split("---\n").map((block) => block.trim().split("\n"));
    assert.deepEqual(
      verbs?.map((l) => l.split("\t")[0]),
      ["start", "stats", "status"],
    );
    assert.deepEqual(names?.[0], "alpha\trunning");
    assert.match(names?.[1] ?? "", /^beta\t/);
    assert.ok(
      flags?.some((l) => l.startsWith("--follow\tKeep printing new output")),
      r.stdout,
    );
  });
});
