// Usage: node dist/write-templates.js <dir>   (regenerates systemd-templates/*.service)
import { resolve } from "node:path";
import { writeDaemonTemplates } from "./templates.js";

const dir = resolve(process.argv[2] ?? "../../systemd-templates");
const changed = await writeDaemonTemplates(dir);
process.stdout.write(
  changed.length === 0
    ? `${dir}: up to date\n`
    : changed.map((n) => `wrote ${dir}/${n}\n`).join(""),
);
