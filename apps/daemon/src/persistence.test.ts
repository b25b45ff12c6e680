import * as assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ProcessStore } from "./persistence.js";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pm-store-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const a = { id: "1", name: "a", config: { command: "sleep 1" }, running: true };
const b = { id: "2", name: "b", config: { command: "sleep 2" }, running: false };

test("missing files: empty list", () =>
  withDir(async (dir) => {
    const r = await new ProcessStore(join(dir, "processes.json")).load();
    assert.deepEqual(r, { processes: [], source: "none" });
  }));

test("save then load; previous version kept as .bak; mode 0600", () =>
  withDir(async (dir) => {
    const store = new ProcessStore(join(dir, "processes.json"));
    await store.save([a]);
    await store.save([a, b]);
    assert.deepEqual((await store.load()).processes, [a, b]);
    const bak = JSON.parse(await readFile(store.backupPath, "utf8")) as { processes: unknown };
    assert.deepEqual(bak.processes, [a]);
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
  }));

test("a corrupt main file falls back to the backup", () =>
  withDir(async (dir) => {
    const store = new ProcessStore(join(dir, "processes.json"));
    await store.save([a]);
    await store.save([a, b]);
    await writeFile(store.path, '{"version":1,"proc');
    const r = await store.load();
    assert.equal(r.source, "backup");
    assert.deepEqual(r.processes, [a]);
    assert.match(r.mainError ?? "", /not valid JSON/);
  }));

test("an empty main file (crash during a non-atomic write elsewhere) falls back too", () =>
  withDir(async (dir) => {
    const store = new ProcessStore(join(dir, "processes.json"));
    await store.save([b]);
    await store.save([]);
    await writeFile(store.path, "");
    assert.deepEqual((await store.load()).processes, [b]);
  }));
