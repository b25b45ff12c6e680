import * as assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { isInProcessTree } from "./proc-fs.js";

/** First line the child writes on stdout. */
async function firstLine(child: ChildProcess): Promise<string> {
  let text = "";
  for await (const chunk of child.stdout ?? []) {
    text += String(chunk);
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
  }
  throw new Error(`no line from pid ${child.pid}`);
}

describe("isInProcessTree: the ppid chain of /proc/<pid>/stat", () => {
  // sh (child of this process) runs sleep (its child, our grandchild) and waits for it.
  let shell: ChildProcess;
  let shellPid: number;
  let sleepPid: number;

  before(async () => {
    shell = spawn("sh", ["-c", "sleep 300 & echo $!; wait"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    shellPid = shell.pid ?? 0;
    sleepPid = Number(await firstLine(shell));
    assert.ok(shellPid > 0 && sleepPid > 0);
  });
  after(async () => {
    const exited = shell.exitCode === null ? once(shell, "exit") : undefined;
    try {
      process.kill(sleepPid, "SIGKILL");
    } catch {
      // already gone (the last test kills it)
    }
    await exited;
  });

  it("a process is in its own tree", () => {
    assert.equal(isInProcessTree(sleepPid, sleepPid), true);
    assert.equal(isInProcessTree(process.pid, process.pid), true);
  });

  it("a child and a grandchild are in the tree; a parent is not in its child's", () => {
    assert.equal(isInProcessTree(sleepPid, shellPid), true);
    assert.equal(isInProcessTree(shellPid, process.pid), true);
    assert.equal(isInProcessTree(sleepPid, process.pid), true);
    assert.equal(isInProcessTree(shellPid, sleepPid), false);
    assert.equal(isInProcessTree(process.pid, shellPid), false);
  });

  it("an ancestor or an unrelated process is not in the tree", () => {
    assert.equal(isInProcessTree(process.pid, sleepPid), false);
    assert.equal(isInProcessTree(process.ppid, process.pid), false);
  });

  it("pid 0 and negative pids are in no tree", () => {
    assert.equal(isInProcessTree(0, 0), false);
    assert.equal(isInProcessTree(0, shellPid), false);
    assert.equal(isInProcessTree(sleepPid, 0), false);
    assert.equal(isInProcessTree(-1, -1), false);
  });

  it("a process that is gone is in no tree", async () => {
    const exited = once(shell, "exit");
    process.kill(sleepPid, "SIGKILL");
    await exited; // sh's wait returns once sleep is reaped, then sh exits and is reaped by us
    assert.equal(isInProcessTree(sleepPid, shellPid), false);
    assert.equal(isInProcessTree(shellPid, process.pid), false);
  });
});
