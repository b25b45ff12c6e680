import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { isGone, tempDir } from "./harness.js";

const example = fileURLToPath(new URL("../examples/supervise.mjs", import.meta.url));

describe("examples/supervise.mjs", () => {
  it("loads a processes.yaml, applies it, prints events, and stops everything on SIGTERM", async () => {
    const dir = tempDir("procmgr-example-");
    const config = join(dir, "processes.yaml");
    writeFileSync(
      config,
      [
        "processes:",
        "  hello:",
        "    command: sh -c 'echo hello'",
        "    auto_start: true",
        "  sleeper:",
        "    command: sleep",
        "    args: ['1000']",
        "    auto_start: true",
        "    restart: always",
        "",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [example, config, join(dir, "state")], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const seen = (re: RegExp): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (re.test(out)) {
            child.stdout.off("data", check);
            resolve();
          }
        };
        child.stdout.on("data", check);
        check();
      });
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    await Promise.all([
      seen(/^applied .*"added":\["hello","sleeper"\]/m),
      seen(/^hello: running -> exited/m),
      seen(/^sleeper: starting -> running/m),
    ]);
    const closed = new Promise<number | null>((r) => child.once("close", r));
    child.kill("SIGTERM");
    assert.equal(await closed, 0);
    assert.match(out, /^sleeper: stopping -> stopped/m);
    assert.match(out, /^all stopped$/m);
    const pidLine = /hello: exit code=0 signal=null success=true/.exec(out);
    assert.ok(pidLine, out);
    assert.ok(isGone(child.pid ?? 0));
  });
});
