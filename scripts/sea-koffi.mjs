// koffi's native module in a single executable (used by scripts/build-sea.mjs). koffi (FFI, for
// the sd_notify socket) loads a `.node` file, which esbuild cannot bundle: when a bundle uses
// koffi, the runtime's platform's koffi.node is embedded as a SEA asset and a small loader stands
// in for koffi's per-platform package; at run time it writes the asset to a private directory
// under a content-addressed name and dlopen()s it there. koffi's module is N-API: one file serves
// every Node version, so the pinned runtime (scripts/node-runtime.mjs) loads the same file.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The SEA asset holding koffi's native module. */
export const KOFFI_ASSET = "koffi.node";
export const KOFFI_LOADER = "sea-native:koffi";

/**
 * The target's koffi.node, from koffi's per-platform package (`@koromix/koffi-linux-x64`). The
 * pinned runtimes are the official glibc builds, so the glibc flavour (`linux_x64`).
 */
function koffiNativeFile(koffiEntry, target) {
  const pkg = `@koromix/koffi-${target.platform}-${target.arch}`;
  const pkgJson = createRequire(koffiEntry).resolve(`${pkg}/package.json`);
  const triplet = `${target.platform}_${target.arch}`;
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
 * koffi tries and skips. `target` is the runtime's { platform, arch }. `used` gets the native file and its hash when anything imports koffi.
 */
export function koffiNativePlugin(used, target) {
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
        const { file } = koffiNativeFile(r.path, target);
        used.file = file;
        used.sha256 = createHash("sha256")
          .update(await readFile(file))
          .digest("hex");
        return { path: "koffi", namespace: "sea-native", pluginData: r.path };
      });
      build.onResolve({ filter: /^@koromix\/koffi-/ }, (args) => {
        const { pkg } = koffiNativeFile(args.importer, target);
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
