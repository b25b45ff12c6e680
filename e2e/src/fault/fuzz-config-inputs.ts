/**
 * The inputs of the config fuzzer, each made from its own seeded generator: processes.yaml
 * files mutated from valid seeds (the repo's processes.yaml examples, the README's, a process
 * with every field of the field table), environment files and psh host profiles.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText, processConfigToRaw, processFieldTable } from "@procmgr/config";
import { mutateBytes, withAliasBomb, yamlTrap } from "./fuzz-bytes.js";
import { nastyString, type Rng, randomText } from "./fuzz-random.js";
import { mutateTree, Pairs, type Tree, toJson, toToml, toTree, toYaml } from "./fuzz-tree.js";

/** A typical value for each field (by its YAML name); fields without one take their default. */
const examples: Readonly<Record<string, unknown>> = {
  command: "/bin/sleep 1000",
  args: ["--flag", "x"],
  description: "fuzz seed",
  user: "nobody",
  group: "nogroup",
  working_dir: "/tmp",
  env: { A: "1", B: "two words", C: 3 },
  environment_file: "-/nonexistent/fuzz.env",
  auto_start: true,
  restart: "on-failure",
  restart_sec: "500ms",
  restart_max_delay_sec: "1m30s",
  timeout_start_sec: "infinity",
  kill_signal: "SIGINT",
  kill_mode: "mixed",
  success_exit_status: [0, 3],
  stdout: "null",
  stderr: "inherit",
  log_max_size: "10M",
  log_max_files: 3,
  pidfile: "/nonexistent/fuzz.pid",
  exec_start_pre: ["/bin/true", "/bin/echo pre"],
  exec_start_post: "/bin/true",
  runtime_directory: ["fuzz"],
  condition_path_exists: ["!/nonexistent", "|/tmp"],
  ambient_capabilities: ["net_bind_service"],
  sockets: ["127.0.0.1:18080", { listen: "/nonexistent/fuzz.sock", name: "s", mode: "0660" }],
  after: ["other"],
  requires: ["other"],
  wants: ["other"],
  process_type: "notify",
  watchdog_sec: 10,
  health_check: {
    type: "http",
    endpoint: "http://127.0.0.1:1/health",
    interval: "10s",
    retries: 3,
    start_period: 0,
    restart_after: 2,
  },
  resource_limits: { cpu: "500m", memory: "64M", pids: 16 },
};

/** Every field name of the field table, nested ones included ("interval", "cpu"...). */
export const configFieldNames: readonly string[] = processFieldTable.flatMap((row) => [
  row.yaml,
  ...(row.fields ?? []).map((f) => f.yaml),
]);

/** A process with every field of the field table. */
function everyFieldProcess(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of processFieldTable) {
    const value = examples[row.yaml] ?? row.default;
    if (
      value !== undefined &&
      (typeof value !== "object" || value === null || !("kind" in value))
    ) {
      out[row.yaml] = value;
    }
  }
  return out;
}

/** processes.yaml's examples block, uncommented (it is the file's documentation). */
function repoExamples(repoRoot: string): string {
  const text = readFileSync(join(repoRoot, "processes.yaml"), "utf8");
  const block = /^# >>> examples.*\n([\s\S]*?)^# <<< examples/m.exec(text)?.[1] ?? "";
  return `processes:\n${block.replace(/^# ?/gm, "")}`;
}

/** The README's processes.yaml examples. */
function readmeExamples(repoRoot: string): string[] {
  const text = readFileSync(join(repoRoot, "README.md"), "utf8");
  return [...text.matchAll(/```yaml\n(processes:[\s\S]*?)```/g)].map((m) => m[1] as string);
}

export interface ConfigSeeds {
  /** Valid files as text (mutated as bytes). */
  readonly texts: readonly string[];
  /** The same files as trees (mutated as trees, then written). */
  readonly trees: readonly Tree[];
}

/** A valid file as a tree: its processes as the config library writes them back. */
function seedTree(text: string): Tree {
  const processes = parseConfigText(text, "seed.yaml");
  return toTree({
    processes: Object.fromEntries(processes.map((p) => [p.name, processConfigToRaw(p)])),
  });
}

/** The valid processes.yaml seeds (each checked valid here: a seed that is not throws). */
export function configSeeds(repoRoot: string): ConfigSeeds {
  const every = { processes: { every: everyFieldProcess(), other: { command: "/bin/true" } } };
  const texts = [repoExamples(repoRoot), ...readmeExamples(repoRoot), toYaml(toTree(every))];
  return { texts, trees: texts.map(seedTree) };
}

/** One mutated processes.yaml: a tree mutation, a byte mutation, a YAML trap or an alias bomb. */
export function configInput(r: Rng, seeds: ConfigSeeds): { bytes: Buffer; how: string } {
  const k = r.int(20);
  const i = r.int(seeds.texts.length);
  if (k < 9) {
    const tree = mutateTree(r, seeds.trees[i] as Tree, configFieldNames);
    const text = r.chance(0.85) ? toYaml(tree) : toJson(tree);
    return { bytes: Buffer.from(text), how: "tree" };
  }
  if (k < 15) return { bytes: mutateBytes(r, Buffer.from(seeds.texts[i] as string)), how: "bytes" };
  if (k < 18)
    return { bytes: yamlTrap(r, Buffer.from(seeds.texts[i] as string)), how: "yaml-trap" };
  const field = r.pick([
    "args",
    "env",
    "after",
    "success_exit_status",
    "exec_start_pre",
    "sockets",
  ]);
  return { bytes: withAliasBomb(r, seeds.texts[i] as string, field), how: "alias-bomb" };
}

const envSeed = `# an environment file
A=1
export B="two words"
C='single quoted'
D="escaped \\"quote\\" and \\$dollar\\nnewline"
 E = spaced
; another comment
EMPTY=
URL=http://example.com/?a=b&c=d
`;

function envLine(r: Rng): string {
  const key = r.pick([
    "K",
    "k_1",
    "_X",
    "1BAD",
    "A-B",
    "A B",
    "",
    "export",
    "é",
    nastyString(r, 100),
  ]);
  const value = r.chance(0.5) ? nastyString(r, 300) : randomText(r, r.between(0, 30));
  const quote = r.pick(["", '"', "'", "`"]);
  return `${r.pick(["", "export ", "  ", "#", ";"])}${key}${r.pick(["=", " = ", "==", ":"])}${quote}${value}${r.chance(0.8) ? quote : ""}`;
}

/** One mutated environment file. */
export function envInput(r: Rng): { bytes: Buffer; how: string } {
  let text = envSeed;
  if (r.chance(0.6)) {
    const extra = Array.from({ length: r.pick([1, 5, 50, 50, 5000]) }, () => envLine(r));
    text += `${extra.join(r.chance(0.9) ? "\n" : "\r\n")}\n`;
  }
  return r.chance(0.5)
    ? { bytes: mutateBytes(r, Buffer.from(text)), how: "bytes" }
    : { bytes: Buffer.from(text), how: "lines" };
}

const profileSeed = {
  host: {
    name: "rover1",
    modules: ["cockpit", "ear", "gps"],
    services: ["tts", "asr"],
    ros_domain_id: 42,
    env: { SHARED: "yes" },
  },
  config: {
    mod: {
      ear: { env: { EAR_BACKEND: "service", EAR_GAIN: 3 } },
      gps: { launch: { enabled: false } },
    },
    srv: { tts: { up: true, env: { TTS_USE_CUDA: "false" } }, asr: { up: false } },
  },
  modules: { pilot: { env: { PILOT_PORT: 8080 } }, nav: { launch: false } },
  services: { llm: { up: false } },
};

export const profileFieldNames: readonly string[] = [
  "host",
  "name",
  "modules",
  "services",
  "ros_domain_id",
  "env",
  "config",
  "mod",
  "srv",
  "launch",
  "enabled",
  "up",
];

const profileWriters: Record<string, (t: Tree) => string> = {
  toml: toToml,
  json: toJson,
  jsonc: (t) =>
    `// a host profile\n${toJson(t).replace(/,/g, ", /* c */\n").replace(/}$/, ",}")}\n`,
  yaml: toYaml,
  yml: toYaml,
};

/** One mutated host profile, in one of the five formats (`ext`). */
export function profileInput(r: Rng): { bytes: Buffer; ext: string; how: string } {
  const ext = r.pick(Object.keys(profileWriters));
  const write = profileWriters[ext] as (t: Tree) => string;
  const seed = toTree(profileSeed);
  const tree = r.chance(0.1) ? seed : mutateTree(r, seed, profileFieldNames);
  const text = write(tree instanceof Pairs || r.chance(0.2) ? tree : seed);
  if (r.chance(0.4)) return { bytes: Buffer.from(text), ext, how: "tree" };
  if ((ext === "yaml" || ext === "yml") && r.chance(0.3)) {
    return { bytes: yamlTrap(r, Buffer.from(text)), ext, how: "yaml-trap" };
  }
  return { bytes: mutateBytes(r, Buffer.from(text)), ext, how: "bytes" };
}
