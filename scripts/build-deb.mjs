#!/usr/bin/env node
// Builds the Debian package of the multi-call executable (`pnpm package`):
//
//   dist-deb/dd-procmgrd_<version>_<arch>.deb
//     /usr/bin/dd-procmgrd                       the executable (scripts/build-sea.mjs)
//     /usr/bin/{dd-procmgr-cli,pm-cli,psh}       symlinks to it: it runs as the name called
//     /usr/lib/systemd/system/dd-procmgrd{,-capability,-secure}.service
//     /usr/lib/systemd/user/dd-procmgrd.service  the user variant (`systemctl --user`)
//     /etc/dd-procmgrd/processes.yaml            the default config (conffile)
//     /etc/logrotate.d/dd-procmgrd               (conffile)
//     /usr/share/doc/dd-procmgrd/                copyright, the embedded Node's LICENSE
//   maintainer scripts: scripts/deb/maintainer-scripts.mjs
//
// The units are rendered by @procmgr/unitgen for /usr/bin/dd-procmgrd. Only dpkg-deb is needed
// (it is part of dpkg). Needs `pnpm build` first (the `package` script runs it).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { daemonUnit, daemonUnitFileName, renderUnit } from "@procmgr/unitgen";
import { logrotate, postinst, postrm, prerm } from "./deb/maintainer-scripts.mjs";
import { nodeRuntime } from "./node-runtime.mjs";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = "dd-procmgrd";
const DAEMON_PATH = "/usr/bin/dd-procmgrd";
const CLI_NAMES = ["dd-procmgr-cli", "pm-cli", "psh"];
const DEB_ARCH = { x64: "amd64", arm64: "arm64" };

async function put(stage, path, content, mode = 0o644) {
  const file = join(stage, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  await chmod(file, mode);
}

/** The units: the three system variants by their file names, the user one as dd-procmgrd. */
async function putUnits(stage) {
  for (const variant of ["standard", "capability", "secure"]) {
    const text = renderUnit(daemonUnit(variant, { daemonPath: DAEMON_PATH }));
    await put(stage, join("usr/lib/systemd/system", daemonUnitFileName(variant)), text);
  }
  const user = renderUnit(daemonUnit("user", { daemonPath: DAEMON_PATH }));
  await put(stage, "usr/lib/systemd/user/dd-procmgrd.service", user);
}

function control({ version, arch, installedKiB, runtime }) {
  return `Package: ${PACKAGE}
Version: ${version}
Architecture: ${arch}
Maintainer: procmgr maintainers <procmgr@localhost>
Installed-Size: ${installedKiB}
Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1, passwd
Recommends: systemd, logrotate
Section: admin
Priority: optional
Description: process manager daemon for systemd hosts (dd-procmgrd, pm-cli, psh)
 dd-procmgrd supervises processes (restarts with backoff, readiness, health
 checks, cgroup limits, logs to files or the journal) and serves a gRPC/Connect
 API; pm-cli (also dd-procmgr-cli) and psh are its command line. One
 executable, with Node.js ${runtime} embedded.
 .
 Not started at installation: systemctl enable --now dd-procmgrd (root), or
 dd-procmgrd-capability / dd-procmgrd-secure for the other variants.
`;
}

const copyright = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: procmgr

Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
 The executable embeds Node.js, whose license is in node-LICENSE beside this file.
`;

async function stageTree(stage, exe, runtime, version) {
  await mkdir(join(stage, "usr/bin"), { recursive: true });
  await copyFile(exe, join(stage, DAEMON_PATH));
  await chmod(join(stage, DAEMON_PATH), 0o755);
  for (const name of CLI_NAMES) await symlink("dd-procmgrd", join(stage, "usr/bin", name));
  await putUnits(stage);
  await put(stage, "etc/dd-procmgrd/processes.yaml", await readFile(join(root, "processes.yaml")));
  await put(stage, "etc/logrotate.d/dd-procmgrd", logrotate);
  const doc = "usr/share/doc/dd-procmgrd";
  await put(stage, join(doc, "copyright"), copyright);
  await put(stage, join(doc, "node-LICENSE"), await readFile(runtime.license));
  const installedKiB = Math.ceil((await stat(exe)).size / 1024) + 64;
  const arch = DEB_ARCH[runtime.arch];
  if (arch === undefined) throw new Error(`no Debian architecture for ${runtime.arch}`);
  await put(
    stage,
    "DEBIAN/control",
    control({ version, arch, installedKiB, runtime: `v${runtime.version}` }),
  );
  await put(
    stage,
    "DEBIAN/conffiles",
    "/etc/dd-procmgrd/processes.yaml\n/etc/logrotate.d/dd-procmgrd\n",
  );
  await put(stage, "DEBIAN/postinst", postinst, 0o755);
  await put(stage, "DEBIAN/prerm", prerm, 0o755);
  await put(stage, "DEBIAN/postrm", postrm, 0o755);
  return arch;
}

async function main() {
  const exe = join(root, "dist-bin", "procmgr");
  if (!existsSync(exe)) throw new Error(`${exe} is missing: run pnpm build first`);
  const pkg = JSON.parse(await readFile(join(root, "apps", "daemon", "package.json"), "utf8"));
  const runtime = await nodeRuntime();
  const license = join(dirname(dirname(runtime.node)), "LICENSE");
  const out = join(root, "dist-deb");
  const stage = join(out, "stage");
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true, mode: 0o755 });
  await chmod(stage, 0o755);
  const arch = await stageTree(stage, exe, { ...runtime, license }, pkg.version);
  const deb = join(out, `${PACKAGE}_${pkg.version}_${arch}.deb`);
  await run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", stage, deb], {
    maxBuffer: 16 * 1024 * 1024,
  });
  await rm(stage, { recursive: true, force: true });
  const size = (await stat(deb)).size;
  process.stdout.write(`build-deb: wrote ${relative(root, deb)} (${(size / 1e6).toFixed(1)} MB)\n`);
}

main().catch((e) => {
  process.stderr.write(`build-deb: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
