#!/usr/bin/env node
// Builds the installable single executable (a Node single-executable application).
//
//   node scripts/build-sea.mjs [procmgr]  -> dist-bin/procmgr, the daemon and the CLI in one
//       file choosing by the name it is called (scripts/multicall.mjs), hard-linked as
//       apps/daemon/dist-bin/dd-procmgrd, apps/cli/dist-bin/dd-procmgr-cli and
//       target/release/{daemon,cli} (the installation guide's paths)
//   node scripts/build-sea.mjs <app-dir> --name <bin> [--pass-argv0] [--out <file>]
//                              [--main <file.js>]   (default <app-dir>/dist/main.js)
//
// 1. The runtime: the pinned Node LTS of scripts/node-runtime.mjs (fetched from the npm registry
//    once, cached), whatever Node runs this script.
// 2. esbuild bundles the entry (+ all dependencies) into one CommonJS file for that runtime.
// 3. The runtime makes the blob (`--experimental-sea-config`), a copy of the runtime gets the blob
//    injected with postject (NODE_SEA_BLOB + the SEA fuse).
// 4. Native code: koffi's `.node` is embedded as a SEA asset when the bundle uses koffi
//    (scripts/sea-koffi.mjs).
// The result runs without the repo and without Node on the target (same OS/arch, glibc).
// The build is skipped when the bundle and the runtime are unchanged (stamp file).
// When a main.js does not exist yet, a warning is printed and nothing is built.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  copyFile,
  link,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { nodeRuntime } from "./node-runtime.mjs";
import { KOFFI_ASSET, KOFFI_LOADER, koffiNativePlugin } from "./sea-koffi.mjs";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** The multi-call executable: its programs' mains, and the names it is linked under. */
const MULTICALL = {
  name: "procmgr",
  dir: root,
  daemonMain: join(root, "apps", "daemon", "dist", "main.js"),
  cliMain: join(root, "apps", "cli", "dist", "main.js"),
  links: [
    "apps/daemon/dist-bin/dd-procmgrd",
    "apps/cli/dist-bin/dd-procmgr-cli",
    "target/release/daemon",
    "target/release/cli",
  ],
};

/** A hard link to the executable at each of `links` (a copy across file systems). */
async function linkAll(out, links) {
  for (const name of links) {
    const dest = join(root, name);
    await mkdir(dirname(dest), { recursive: true });
    await rm(dest, { force: true });
    await link(out, dest).catch(() => copyFile(out, dest));
  }
}

function usage(message) {
  process.stderr.write(
    `build-sea: ${message}\nusage: build-sea.mjs [procmgr] [--force] | <app-dir> --name <bin> [--pass-argv0] [--out <file>] [--main <file.js>] [--force]\n`,
  );
  process.exit(2);
}

function parse(argv) {
  const multicall = argv[0] === undefined || argv[0] === "procmgr" || argv[0] === "--force";
  const rest = multicall ? argv.filter((a) => a !== "procmgr") : argv.slice(1);
  const opts = multicall
    ? { ...MULTICALL, mains: [MULTICALL.daemonMain, MULTICALL.cliMain] }
    : { dir: resolve(argv[0] ?? ""), name: undefined, passArgv0: false, links: [] };
  let out;
  let main;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--name" && !multicall) opts.name = rest[++i];
    else if (a === "--out") out = resolve(rest[++i] ?? "");
    else if (a === "--main" && !multicall) main = resolve(rest[++i] ?? "");
    else if (a === "--pass-argv0" && !multicall) opts.passArgv0 = true;
    else if (a === "--force") force = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!opts.name) usage("--name is required for an app directory");
  if (!multicall) opts.mains = [main ?? join(opts.dir, "dist", "main.js")];
  return { ...opts, multicall, out: out ?? join(opts.dir, "dist-bin", opts.name), force };
}

const fail = `(error) => {
    process.stderr.write(\`\${error instanceof Error ? (error.stack ?? error.message) : String(error)}\\n\`);
    process.exit(1);
  }`;

/** The entry of one app: main(argv, env[, argv0]), then its exit code. */
function appEntrySource(mainPath, passArgv0) {
  const args = passArgv0
    ? "process.argv.slice(2), process.env, process.argv[1] ?? process.argv0"
    : "process.argv.slice(2), process.env";
  return `import { main } from ${JSON.stringify(mainPath)};
main(${args}).then((code) => { process.exitCode = typeof code === "number" ? code : 0; }, ${fail});
`;
}

/**
 * The multi-call entry: chooses the program (scripts/multicall.mjs), then imports only its main
 * (a dynamic import: esbuild initializes the other program's modules never). The daemon exits
 * with process.exit (its handles are closed by then; a stray one must not keep it), the CLI
 * through exitCode (its output drains first).
 */
function multicallEntrySource(version) {
  const m = JSON.stringify(join(root, "scripts", "multicall.mjs"));
  return `import { chooseProgram, multicallUsage } from ${m};
const called = process.argv[1] ?? process.argv0;
const choice = chooseProgram(called, process.argv.slice(2));
if (choice.role === "daemon") {
  import(${JSON.stringify(MULTICALL.daemonMain)})
    .then(({ main }) => main(choice.args, process.env))
    .then((code) => process.exit(code), ${fail});
} else if (choice.role === "cli") {
  import(${JSON.stringify(MULTICALL.cliMain)})
    .then(({ main }) => main(choice.args, process.env, choice.argv0))
    .then((code) => { process.exitCode = code; }, ${fail});
} else if (choice.role === "version") {
  process.stdout.write(${JSON.stringify(`procmgr ${version}`)} + " (node " + process.version + ")\\n");
} else {
  process[choice.out].write(multicallUsage(require("node:path").basename(called)));
  process.exitCode = choice.code;
}
`;
}

/** The daemon's version, for `procmgr --version`. */
async function appVersion() {
  const pkg = JSON.parse(await readFile(join(root, "apps", "daemon", "package.json"), "utf8"));
  return pkg.version;
}

/** Bundles for the runtime; resolves with the native file to embed as the koffi asset, if the bundle uses it. */
async function bundle(opts, runtime, bundlePath) {
  const { build } = await import("esbuild");
  const native = {};
  const result = await build({
    plugins: [koffiNativePlugin(native, runtime)],
    stdin: {
      contents: opts.multicall
        ? multicallEntrySource(await appVersion())
        : appEntrySource(opts.mains[0], opts.passArgv0),
      resolveDir: opts.dir,
      sourcefile: "sea-entry.mjs",
      loader: "js",
    },
    bundle: true,
    platform: "node",
    target: `node${runtime.version}`,
    format: "cjs",
    outfile: bundlePath,
    // import.meta.url does not exist in CommonJS: give dependencies that use it the bundle's URL.
    define: { "import.meta.url": "__sea_import_meta_url" },
    banner: {
      js: 'const __sea_import_meta_url = require("node:url").pathToFileURL(typeof __filename === "string" ? __filename : process.execPath).href;',
    },
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  // koffi is resolved wherever it is imported, but only counts when its loader survived tree
  // shaking (the daemon imports @procmgr/platform, not necessarily its notify socket).
  const inputs = Object.values(result.metafile.outputs).flatMap((o) => Object.entries(o.inputs));
  const kept = inputs.some(([name, i]) => name.endsWith(KOFFI_LOADER) && i.bytesInOutput > 0);
  return kept ? { file: native.file, sha256: native.sha256 } : undefined;
}

/** The blob (made by the runtime itself) injected into a copy of the runtime, at `out`. */
async function makeExecutable(runtime, { bundlePath, native, work, name, out }) {
  const blobPath = join(work, `${name}.blob`);
  const configPath = join(work, `${name}.sea.json`);
  await writeFile(
    configPath,
    JSON.stringify({
      main: bundlePath,
      output: blobPath,
      disableExperimentalSEAWarning: true,
      // The V8 code cache of the bundle: the executable skips compiling it at every start.
      useCodeCache: true,
      ...(native === undefined ? {} : { assets: { [KOFFI_ASSET]: native.file } }),
    }),
  );
  await run(runtime.node, ["--experimental-sea-config", configPath], { cwd: work });

  await mkdir(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp`);
  await rm(tmp, { force: true });
  await copyFile(runtime.node, tmp);
  await chmod(tmp, 0o755);
  // postject's CLI in a child process, to drop LIEF's harmless "Can't find string offset" noise.
  const postject = join(dirname(createRequire(import.meta.url).resolve("postject")), "cli.js");
  const injected = await run(
    process.execPath,
    [postject, tmp, "NODE_SEA_BLOB", blobPath, "--sentinel-fuse", FUSE],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const noise = /^warning: Can't find string offset for section name/;
  for (const line of `${injected.stderr}`.split("\n")) {
    if (line.trim() !== "" && !noise.test(line)) process.stderr.write(`${line}\n`);
  }
  // The executable is a copy of postject's output (renamed into place), not that output itself:
  // postject writes the whole file in one call, and the page cache then holds it in large folios
  // that the kernel maps whole at a page fault, so every process of that file showed 12-20 MiB
  // more RSS (the same code, more of the file mapped). A copy (copy_file_range, as cp and
  // install do) is cached like any installed binary (bench/README.md, "RSS").
  const copied = `${tmp}.copy`;
  await copyFile(tmp, copied);
  await chmod(copied, 0o755);
  await rm(tmp, { force: true });
  await rename(copied, out);
}

async function main() {
  const started = Date.now();
  const opts = parse(process.argv.slice(2));
  const missing = opts.mains.find((m) => !existsSync(m));
  if (missing !== undefined) {
    process.stderr.write(`build-sea: ${missing} does not exist yet, no executable built\n`);
    return;
  }
  const runtime = await nodeRuntime();
  const work = join(opts.dir, "dist-bin", ".sea");
  await mkdir(work, { recursive: true });
  const bundlePath = join(work, `${opts.name}.cjs`);
  const native = await bundle(opts, runtime, bundlePath);

  const hash = createHash("sha256");
  hash.update(await readFile(bundlePath));
  hash.update(`${native?.sha256 ?? "no native asset"}\0${runtime.version}\0${runtime.integrity}`);
  const digest = hash.digest("hex");
  const stampPath = join(work, `${opts.name}.stamp`);
  const stamp = existsSync(stampPath) ? await readFile(stampPath, "utf8") : "";
  if (!opts.force && stamp === `${digest}\n${opts.out}\n` && existsSync(opts.out)) {
    process.stdout.write(`build-sea: ${opts.out} up to date\n`);
  } else {
    await makeExecutable(runtime, { bundlePath, native, work, name: opts.name, out: opts.out });
    await writeFile(stampPath, `${digest}\n${opts.out}\n`);
    const size = (await stat(opts.out)).size;
    const embedded = native === undefined ? "" : `, embedding ${relative(root, native.file)}`;
    process.stdout.write(
      `build-sea: wrote ${opts.out} (${(size / 1e6).toFixed(1)} MB, node v${runtime.version}${embedded}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
  await linkAll(opts.out, opts.links);
}

main().catch((e) => {
  process.stderr.write(`build-sea: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
