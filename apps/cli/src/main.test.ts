import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "./main.js";
import { capturedStreams } from "./testing.js";

async function capture(argv: string[], argv0: string, env: Record<string, string> = {}) {
  const { stdout, stderr, text } = capturedStreams();
  const code = await main(argv, env, argv0, {
    stdout,
    stderr,
    uid: 1000,
    signal: new AbortController().signal,
  });
  const { stdout: out, stderr: err } = text();
  return { code, out, err };
}

describe("main", () => {
  it("ignores the leading -- that `pnpm start -- list` passes", async () => {
    const r = await capture(["--", "--version"], "/repo/apps/cli/bin/pm-cli.js");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^pm-cli \d+\.\d+\.\d+ \(node v\d+\.\d+\.\d+\)\n$/);
  });

  it("names itself after argv0 or PM_CLI_NAME", async () => {
    const psh = await capture(["--help"], "/repo/apps/cli/bin/psh.js");
    assert.match(psh.out, /\$ psh <command>/);
    const dd = await capture(["--help"], "/usr/bin/pm-cli", { PM_CLI_NAME: "dd-procmgr-cli" });
    assert.match(dd.out, /\$ dd-procmgr-cli <command>/);
  });

  it("stops quietly with status 141 when the reader of its output goes away", async () => {
    const bin = fileURLToPath(new URL("../bin/pm-cli.js", import.meta.url));
    for (const argv of [["--help"], ["--version"]]) {
      const child = spawn(process.execPath, [bin, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
      // The read end is closed before the CLI writes: its first write fails with EPIPE.
      child.stdout.destroy();
      let err = "";
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      assert.equal(code, 141, `${argv.join(" ")}: stderr ${err}`);
      assert.equal(err, "");
    }
  });
});
