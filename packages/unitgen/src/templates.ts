import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { daemonUnit, daemonUnitFileName, daemonVariants } from "./daemon.js";
import { renderUnit } from "./render.js";

/** The committed systemd-templates/ files: file name -> content. */
export function daemonTemplates(): Map<string, string> {
  return new Map(daemonVariants.map((v) => [daemonUnitFileName(v), renderUnit(daemonUnit(v))]));
}

/** Writes the four daemon units into `dir`; returns the names of the files that changed. */
export async function writeDaemonTemplates(dir: string): Promise<string[]> {
  const changed: string[] = [];
  for (const [name, content] of daemonTemplates()) {
    const path = join(dir, name);
    const current = await readFile(path, "utf8").catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    });
    if (current === content) continue;
    await writeFile(path, content, { mode: 0o644 });
    changed.push(name);
  }
  return changed;
}
