// Supervise a processes.yaml with @procmgr/core, printing every event.
// Usage: node examples/supervise.mjs ./processes.yaml ./state   (Ctrl-C stops everything)
import { loadConfig } from "@procmgr/config";
import { Supervisor } from "@procmgr/core";

const [configPath = "processes.yaml", stateDir = "./state"] = process.argv.slice(2);
const { processes } = await loadConfig(configPath); // throws a ConfigError listing every issue

const supervisor = new Supervisor({ stateDir });
supervisor.on("state", ({ process: p, previous }) =>
  console.log(`${p.name}: ${previous} -> ${p.state} ${p.failureReason ?? p.stateReason ?? ""}`),
);
supervisor.on("exit", ({ process: p, exit }) =>
  console.log(`${p.name}: exit code=${exit.code} signal=${exit.signal} success=${exit.success}`),
);
supervisor.on("restart", ({ process: p, delayMs }) =>
  console.log(`${p.name}: restart in ${delayMs} ms`),
);

await supervisor.recover(); // children a crashed run left behind
console.log("applied", JSON.stringify(await supervisor.apply(processes)));
process.on("SIGHUP", async () =>
  console.log(
    "reloaded",
    JSON.stringify(await supervisor.apply((await loadConfig(configPath)).processes)),
  ),
);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => supervisor.shutdown().then(() => console.log("all stopped")));
}
