#!/usr/bin/env node
// Builds an installable single executable (Node single-executable application) of an app.
//
//   node scripts/build-sea.mjs daemon   -> apps/daemon/dist-bin/dd-procmgrd
//   node scripts/build-sea.mjs cli      -> apps/cli/dist-bin/dd-procmgr-cli
//   node scripts/build-sea.mjs <app-dir> --name <bin> [--pass-argv0] [--out <file>]
//
// 1. esbuild bundles <app>/dist/main.js (+ all dependencies) into one CommonJS file
//    (platform node, target node20), behind a small entry calling main(...).
// 2. `node --experimental-sea-config` turns the bundle into a blob, a copy of this node
//    binary gets the blob injected with postject (NODE_SEA_BLOB + the SEA fuse).
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
import { basename, dirname, join, resolve } from "node:path";
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
    `build-sea: ${message}\nusage: build-sea.mjs daemon|cli | <app-dir> --name <bin> [--pass-argv0] [--out <file>] [--force]\n`,
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
  let force = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--name") opts.name = rest[++i];
    else if (a === "--out") out = resolve(rest[++i] ?? "");
    else if (a === "--pass-argv0") opts.passArgv0 = true;
    else if (a === "--force") force = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  if (!opts.name) usage("--name is required for an app directory");
  return { ...opts, out: out ?? join(opts.dir, "dist-bin", opts.name), force };
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

async function bundle(opts, bundlePath) {
  const { build } = await import("esbuild");
  const mainPath = join(opts.dir, "dist", "main.js");
  await build({
    stdin: {
      contents: entrySource(mainPath, opts),
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
  });
}

async function main() {
  const started = Date.now();
  const opts = parse(process.argv.slice(2));
  const mainJs = join(opts.dir, "dist", "main.js");
  if (!existsSync(mainJs)) {
    process.stderr.write(`build-sea: ${mainJs} does not exist yet, no executable built\n`);
    return;
  }
  const work = join(opts.dir, "dist-bin", ".sea");
  await mkdir(work, { recursive: true });
  const bundlePath = join(work, `${opts.name}.cjs`);
  await bundle(opts, bundlePath);

  const hash = createHash("sha256");
  hash.update(await readFile(bundlePath));
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
  process.stdout.write(
    `build-sea: wrote ${opts.out} (${(size / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`build-sea: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
