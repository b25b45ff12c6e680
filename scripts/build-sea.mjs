#!/usr/bin/env node
// Builds an installable single executable (Node single-executable application) of an app.
//
//   node scripts/build-sea.mjs daemon   -> apps/daemon/dist-bin/dd-procmgrd
//   node scripts/build-sea.mjs cli      -> apps/cli/dist-bin/dd-procmgr-cli
//   node scripts/build-sea.mjs <app-dir> --name <bin> [--pass-argv0] [--out <file>]
//                              [--main <file.js>]   (default <app-dir>/dist/main.js)
//
// 1. esbuild bundles <app>/dist/main.js (+ all dependencies) into one CommonJS file
//    (platform node, target node20), behind a small entry calling main(...).
// 2. `node --experimental-sea-config` turns the bundle into a blob, a copy of this node
//    binary gets the blob injected with postject (NODE_SEA_BLOB + the SEA fuse).
// 3. Native code: koffi (FFI, used for the sd_notify socket) loads a `.node` file, which esbuild
//    cannot bundle. When the bundle uses koffi, this platform's koffi.node is embedded as a SEA
//    asset and a small loader stands in for koffi's per-platform package: at run time it writes
//    the asset to a private directory under a content-addressed name and dlopen()s it there
//    (see koffiNativePlugin). Bundles that never import koffi embed nothing.
// The result runs without the repo and without Node on the target (same OS/arch/libc).
// The build is skipped when the bundle and the node binary are unchanged (stamp file).
// When <app>/dist/main.js does not exist yet, a warning is printed and nothing is built.
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

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/**
 * Known apps: directory, executable name, whether main() takes argv0, how to exit, and the name
 * under target/release/ (the installation guide copies `target/release/daemon` and
 * `target/release/cli` to /usr/bin: those paths work as written from the repo root).
 */
const APPS = {
  daemon: {
    dir: "apps/daemon",
    name: "dd-procmgrd",
    passArgv0: false,
    exit: "exit",
    release: "daemon",
  },
  cli: {
    dir: "apps/cli",
    name: "dd-procmgr-cli",
    passArgv0: true,
    exit: "exitCode",
    release: "cli",
  },
};

/** target/release/<name>: a hard link to the executable (a copy across file systems). */
async function linkRelease(out, name) {
  if (name === undefined) return;
  const dest = join(root, "target", "release", name);
  await mkdir(dirname(dest), { recursive: true });
  await rm(dest, { force: true });
  await link(out, dest).catch(() => copyFile(out, dest));
}

function usage(message) {
  process.stderr.write(
    `build-sea: ${message}\nusage: build-sea.mjs daemon|cli | <app-dir> --name <bin> [--pass-argv0] [--out <file>] [--main <file.js>] [--force]\n`,
  );
  process.exit(2);
}

function parse(argv) {
  const [app, ...rest] = argv;
  if (app === undefined) usage("missing app");
  const known = APPS[app];
  const opts = known
    ? { ...known, dir: join(root, known.dir) }
    : { dir: resolve(app), name: undefined, passArgv0: false, exit: "exitCode" };
  let out;
  let main;
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--name") opts.name = rest[++i];
    else if (a === "--out") out = resolve(rest[++i] ?? "");
    else if (a === "--main" && !known) main = resolve(rest[++i] ?? "");
    else if (a === "--pass-argv0") opts.passArgv0 = true;
    else if (a === "--force") force = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!opts.name) usage("--name is required for an app directory");
  return {
    ...opts,
    main: main ?? join(opts.dir, "dist", "main.js"),
    out: out ?? join(opts.dir, "dist-bin", opts.name),
    force,
  };
}

function entrySource(mainPath, { passArgv0, exit }) {
  const args = passArgv0
    ? "process.argv.slice(2), process.env, process.argv[1] ?? process.argv0"
    : "process.argv.slice(2), process.env";
  const done =
    exit === "exit"
      ? "process.exit(code)"
      : "process.exitCode = typeof code === 'number' ? code : 0";
  return `import { main } from ${JSON.stringify(mainPath)};
main(${args}).then(
  (code) => { ${done}; },
  (error) => {
    process.stderr.write(\`\${error instanceof Error ? (error.stack ?? error.message) : String(error)}\\n\`);
    process.exit(1);
  },
);
`;
}

/** The SEA asset holding koffi's native module. */
const KOFFI_ASSET = "koffi.node";
const KOFFI_LOADER = "sea-native:koffi";

/**
 * This platform's koffi.node, from koffi's per-platform package (`@koromix/koffi-linux-x64`),
 * in the flavour of this node's libc: the executable is a copy of this node binary.
 */
function koffiNativeFile(koffiEntry) {
  const pkg = `@koromix/koffi-${process.platform}-${process.arch}`;
  const pkgJson = createRequire(koffiEntry).resolve(`${pkg}/package.json`);
  const glibc = process.report.getReport().header.glibcVersionRuntime !== undefined;
  const triplet = `${process.platform === "linux" && !glibc ? "musl" : process.platform}_${process.arch}`;
  const file = join(dirname(pkgJson), triplet, "koffi.node");
  if (!existsSync(file)) throw new Error(`${pkg} has no ${triplet}/koffi.node (${file})`);
  return { pkg, file };
}

/**
 * The loader: the module that stands for koffi's per-platform package in the bundle (koffi's
 * CommonJS entry does `require("@koromix/koffi-<platform>-<arch>")` and checks the version of what
 * it gets). A native module must be a file to be loaded: the asset is written once to
 * `<dir>/dd-procmgr-native-<uid>/koffi-<sha256 prefix>.node`, the directory being private (created
 * 0700, refused unless owned by this uid and closed to others) and `<dir>` the unit's
 * $RUNTIME_DIRECTORY under systemd, else /run for root, else $XDG_RUNTIME_DIR, else the temporary
 * directory. An existing file is used when its content
 * hashes to the name; else it is written anew (temporary file, then rename).
 */
function koffiLoaderSource(sha256) {
  return `"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");
const sha256 = ${JSON.stringify(sha256)};
function privateDir() {
  const uid = process.getuid();
  const xdg = process.env.XDG_RUNTIME_DIR;
  // systemd's RuntimeDirectory= of the unit first: writable whatever else the unit protects.
  const unitDir = (process.env.RUNTIME_DIRECTORY || "").split(":")[0];
  const base = unitDir.startsWith("/") ? unitDir
    : uid === 0 ? "/run" : xdg && xdg.startsWith("/") ? xdg : tmpdir();
  const dir = join(base, "dd-procmgr-native-" + uid);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
  }
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new Error(dir + " is not a private directory of uid " + uid + " (owner " + st.uid +
      ", mode " + (st.mode & 0o7777).toString(8) + "): refusing to load native code from it");
  }
  return dir;
}
function extract() {
  const file = join(privateDir(), "koffi-" + sha256.slice(0, 32) + ".node");
  let existing;
  try {
    existing = fs.readFileSync(file);
  } catch (e) {
    if (e.code !== "ENOENT") throw e;
  }
  if (existing !== undefined && createHash("sha256").update(existing).digest("hex") === sha256) {
    return file;
  }
  const tmp = file + "." + process.pid + ".tmp";
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, Buffer.from(require("node:sea").getAsset(${JSON.stringify(KOFFI_ASSET)})), {
    mode: 0o500,
    flag: "wx",
  });
  fs.renameSync(tmp, file);
  return file;
}
const file = extract();
const native = { exports: {} };
try {
  process.dlopen(native, file);
} catch (e) {
  throw new Error("cannot load koffi's native module " + file + ": " + e.message +
    " (a file system mounted noexec? set XDG_RUNTIME_DIR or TMPDIR elsewhere)", { cause: e });
}
module.exports = native.exports;
`;
}

/**
 * esbuild plugin. `koffi` becomes a module that first loads the native module (loader above),
 * then is koffi's CommonJS entry: koffi requires its platform package inside a try/catch that
 * would hide why loading failed (a noexec directory...), so the loader runs before, outside it,
 * and its error reaches the importer. In koffi's entry, this platform's package resolves to that
 * same loader module (already loaded); other platforms' packages stay unresolved requires, which
 * koffi tries and skips. `used` gets the native file and its hash when anything imports koffi.
 */
function koffiNativePlugin(used) {
  return {
    name: "koffi-native",
    setup(build) {
      build.onResolve({ filter: /^koffi$/ }, async (args) => {
        if (args.pluginData === "koffi-entry") return undefined; // the resolve just below
        // The CommonJS entry: its require of the platform package is static, so bundled.
        const r = await build.resolve("koffi", {
          kind: "require-call",
          resolveDir: args.resolveDir,
          pluginData: "koffi-entry",
        });
        if (r.errors.length > 0) return { errors: r.errors };
        const { file } = koffiNativeFile(r.path);
        used.file = file;
        used.sha256 = createHash("sha256")
          .update(await readFile(file))
          .digest("hex");
        return { path: "koffi", namespace: "sea-native", pluginData: r.path };
      });
      build.onResolve({ filter: /^@koromix\/koffi-/ }, (args) => {
        const { pkg } = koffiNativeFile(args.importer);
        if (args.path !== pkg) return { path: args.path, external: true };
        return { path: KOFFI_LOADER, namespace: "sea-native" };
      });
      build.onLoad({ filter: /^koffi$/, namespace: "sea-native" }, (args) => ({
        contents: `require(${JSON.stringify(KOFFI_LOADER)});\nmodule.exports = require(${JSON.stringify(args.pluginData)});\n`,
        loader: "js",
        resolveDir: root,
      }));
      build.onResolve({ filter: /^sea-native:/ }, (args) => ({
        path: args.path,
        namespace: "sea-native",
      }));
      build.onLoad({ filter: /^sea-native:koffi$/, namespace: "sea-native" }, () => ({
        contents: koffiLoaderSource(used.sha256),
        loader: "js",
        resolveDir: root,
      }));
    },
  };
}

/** Bundles; resolves with the native file to embed as the koffi asset, if the bundle uses it. */
async function bundle(opts, bundlePath) {
  const { build } = await import("esbuild");
  const native = {};
  const result = await build({
    plugins: [koffiNativePlugin(native)],
    stdin: {
      contents: entrySource(opts.main, opts),
      resolveDir: opts.dir,
      sourcefile: "sea-entry.mjs",
      loader: "js",
    },
    bundle: true,
    platform: "node",
    target: "node20",
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

async function main() {
  const started = Date.now();
  const opts = parse(process.argv.slice(2));
  if (!existsSync(opts.main)) {
    process.stderr.write(`build-sea: ${opts.main} does not exist yet, no executable built\n`);
    return;
  }
  const work = join(opts.dir, "dist-bin", ".sea");
  await mkdir(work, { recursive: true });
  const bundlePath = join(work, `${opts.name}.cjs`);
  const native = await bundle(opts, bundlePath);
  if (native !== undefined && typeof (await import("node:sea")).getAsset !== "function") {
    throw new Error(
      `the bundle uses koffi, whose native module is embedded as a SEA asset: that needs Node >= 20.12 (this is ${process.version})`,
    );
  }

  const hash = createHash("sha256");
  hash.update(await readFile(bundlePath));
  hash.update(`${native?.sha256 ?? "no native asset"}\0`);
  hash.update(`${process.version}\0${process.execPath}\0${(await stat(process.execPath)).mtimeMs}`);
  const digest = hash.digest("hex");
  const stampPath = join(work, `${opts.name}.stamp`);
  const stamp = existsSync(stampPath) ? await readFile(stampPath, "utf8") : "";
  if (!opts.force && stamp === `${digest}\n${opts.out}\n` && existsSync(opts.out)) {
    process.stdout.write(`build-sea: ${opts.out} up to date\n`);
    await linkRelease(opts.out, opts.release);
    return;
  }

  const blobPath = join(work, `${opts.name}.blob`);
  const configPath = join(work, `${opts.name}.sea.json`);
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
  await run(process.execPath, ["--experimental-sea-config", configPath], { cwd: work });

  await mkdir(dirname(opts.out), { recursive: true });
  const tmp = join(dirname(opts.out), `.${basename(opts.out)}.tmp`);
  await rm(tmp, { force: true });
  await copyFile(process.execPath, tmp);
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
  await rename(copied, opts.out);
  await writeFile(stampPath, `${digest}\n${opts.out}\n`);
  await linkRelease(opts.out, opts.release);
  const size = (await stat(opts.out)).size;
  const embedded = native === undefined ? "" : `, embedding ${relative(root, native.file)}`;
  process.stdout.write(
    `build-sea: wrote ${opts.out} (${(size / 1e6).toFixed(1)} MB${embedded}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`build-sea: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
