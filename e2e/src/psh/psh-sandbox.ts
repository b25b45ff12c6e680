/**
 * Shared pieces of the `psh sys` e2e tests: a systemd sandbox holding a copy of
 * `e2e/fixtures/psh-repo` owned by the non-root user `pilot` (primary group `robots`), a stand-in
 * `docker` that records its calls and a stand-in `docker.service`; and small helpers to run
 * commands inside it.
 */
import * as assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type ExecResult, type Sandbox, startSandbox } from "../harness/systemd-sandbox.js";

export const fixtureRepo = fileURLToPath(new URL("../../fixtures/psh-repo", import.meta.url));
export const pshBin = fileURLToPath(new URL("../../../apps/cli/bin/psh.js", import.meta.url));
export const repo = "/home/pilot/psyched";
export const unitDir = "/etc/systemd/system";
export const dockerLog = "/var/log/psh-e2e-docker.log";
/** PATH for psh inside the sandbox: the stand-in docker first. */
export const pshPath =
  "/opt/psh-e2e/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The host profile's enabled units (gps has launch.enabled = false). */
export const moduleUnits = [
  "psh-module-pilot.service",
  "psh-module-ear.service",
  "psh-module-crashy.service",
];
export const allUnits = [...moduleUnits, "psh-service-tts.service"];
/** The environment psh runs with. */
export const pshEnv = { PSH_HOST: "e2e-rover", PATH: pshPath };

/** argv running `psh sys <args>` from `cwd` (inside the repo by default). */
export function pshArgv(args: readonly string[], cwd = `${repo}/modules`): string[] {
  return ["sh", "-c", 'cd "$1" && shift && exec node "$@"', "psh", cwd, pshBin, "sys", ...args];
}

/** Boots a sandbox and prepares pilot, the repo copy and the docker stand-ins in it. */
export async function startPshSandbox(name: string): Promise<Sandbox> {
  const sb = await startSandbox(name);
  const { ok } = sandboxShell(sb);
  await ok(
    [
      "groupadd robots",
      "useradd -m -g robots -s /bin/bash pilot",
      "chmod 755 /home/pilot",
      `cp -a ${fixtureRepo} ${repo}`,
      `chown -R pilot:robots ${repo}`,
      `install -m 0666 /dev/null ${dockerLog}`,
    ].join(" && "),
  );
  // A stand-in docker recording who ran it, where, with which env and arguments.
  await sb.writeFile(
    "/opt/psh-e2e/bin/docker",
    `#!/bin/sh\necho "$(id -un):$(id -gn) $(pwd) TTS_VOICE=$TTS_VOICE TTS_USE_CUDA=$TTS_USE_CUDA $*" >> ${dockerLog}\n`,
    0o755,
  );
  // docker.service does not exist here: a stand-in so Requires=docker.service can be met.
  await sb.writeFile(
    `${unitDir}/docker.service`,
    "[Unit]\nDescription=stand-in docker\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
  );
  await ok("systemctl daemon-reload");
  return sb;
}

/** Shell helpers over a sandbox, as root. */
export function sandboxShell(sb: Sandbox) {
  async function sh(script: string): Promise<ExecResult> {
    return sb.exec(["sh", "-c", script]);
  }

  /** Runs `script`, asserts it succeeded, returns its stdout. */
  async function ok(script: string): Promise<string> {
    const r = await sh(script);
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    return r.stdout;
  }

  /** A unit's property, as systemd sees it. */
  async function show(unit: string, property: string): Promise<string> {
    return (await ok(`systemctl show ${unit} -p ${property} --value`)).trim();
  }

  /** The psh unit files present (sorted). */
  async function pshFiles(): Promise<string[]> {
    return (await ok(`find ${unitDir} -name 'psh-*' -printf '%P\\n' | sort`))
      .split("\n")
      .filter(Boolean);
  }

  return { sh, ok, show, pshFiles };
}

/** Wait until `check` is true (systemd acts asynchronously); the deadline is only a safety net. */
export async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`still waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
