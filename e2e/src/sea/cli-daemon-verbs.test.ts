/**
 * The CLI's single executable runs the `daemon` verbs, which load Node's modules: a bundle has
 * no dynamic import() of them (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so they are imported
 * statically. Run as the installation guide runs it: `dd-procmgr-cli daemon install`.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../harness/daemon.js";

const run = promisify(execFile);
const cliExecutable = join(repoRoot, "apps", "cli", "dist-bin", "dd-procmgr-cli");
const skip = existsSync(cliExecutable) ? false : "the CLI executable is not built (pnpm build)";

describe("the CLI executable's daemon verbs", { skip }, () => {
  let dir: string;
  const env = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "pm-sea-daemon-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("daemon install --dry-run prints the steps", async () => {
    const r = await run(cliExecutable, ["daemon", "install", "--variant", "user", "--dry-run"], {
      env: env(),
    });
    assert.match(r.stdout, /install -m 0755 .*dd-procmgrd/);
  });

  test("daemon rotate-token replaces the token", async () => {
    const path = join(dir, "dd-procmgrd.token");
    await writeFile(path, "old\n", { mode: 0o600 });
    const r = await run(cliExecutable, ["daemon", "rotate-token", "--token-file", path], {
      env: env(),
    });
    assert.match(r.stdout, /rotated the token in/);
    assert.match(await readFile(path, "utf8"), /^[0-9a-f]{64}\n$/);
  });
});
