import * as assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, formatConfigError } from "./errors.js";
import { loadConfig, parseConfigText } from "./load-config.js";

const fixtures = fileURLToPath(new URL("../test/fixtures/", import.meta.url));
let tmp = "";

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "procmgr-config-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function dir(files: Record<string, string>): Promise<string> {
  const d = await mkdtemp(join(tmp, "case-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(d, name, ".."), { recursive: true });
    await writeFile(join(d, name), text);
  }
  return d;
}

async function rejection(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

function thrown(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

test("the seed guide's first example loads as written", async () => {
  const c = await loadConfig(join(fixtures, "seed-basic.yaml"));
  assert.equal(c.missing, false);
  assert.equal(c.processes.length, 1);
  const web = c.processes[0];
  assert.equal(web?.name, "webapp");
  assert.deepEqual(web?.argv, ["gunicorn", "app:app"]);
  assert.equal(web?.user, "www-data");
  assert.equal(web?.group, "www-data");
  assert.equal(web?.autoStart, true);
  assert.equal(web?.restart, "always");
  assert.equal(web?.workingDir, "/var/www/app");
  assert.deepEqual(web?.stdout, { kind: "file", path: "/var/log/dd-procmgrd/webapp.log" });
  assert.deepEqual(web?.stderr, { kind: "file", path: "/var/log/dd-procmgrd/webapp-error.log" });
});

test("the seed guide's second example loads as written", async () => {
  const c = await loadConfig(join(fixtures, "seed-full.yaml"));
  assert.deepEqual(
    c.processes.map((p) => p.name),
    ["webapp", "worker"],
  );
  const [web, worker] = c.processes;
  assert.deepEqual(web?.argv, ["/usr/bin/gunicorn", "app:app", "-w", "4", "-b", "0.0.0.0:8000"]);
  assert.equal(web?.restartSec, 5);
  assert.deepEqual(web?.env, {
    DJANGO_SETTINGS_MODULE: "app.settings.production",
    DATABASE_URL: "postgresql://localhost/myapp",
  });
  assert.deepEqual(worker?.argv, ["/usr/bin/celery", "-A", "app", "worker"]);
  assert.equal(worker?.restartSec, 10);
  assert.deepEqual(c.files, [join(fixtures, "seed-full.yaml")]);
});

test("a multi-error file reports every issue with file:line:col, path, expected/received", async () => {
  const file = join(fixtures, "multi-error.yaml");
  const e = await rejection(loadConfig(file));
  assert.equal(e.code, "invalid");
  const expected = [
    `${file}:5:5: processes.webapp.auto_strat: unknown field "auto_strat", did you mean "auto_start"?`,
    `${file}:6:14: processes.webapp.restart: unknown value (expected one of never, always, on-failure, on-success, received "sometimes")`,
    `${file}:7:18: processes.webapp.restart_sec: invalid duration (expected a duration: seconds (5, 0.5) or a string like "5s", "500ms", "1m30s", "2h", "infinity", received "5x")`,
    `${file}:8:18: processes.webapp.kill_signal: unknown signal (expected a signal name ("SIGTERM", "TERM") or number (15), received "SIGFOO")`,
    `${file}:9:13: processes.webapp.after[0]: unknown process "db" (expected the name of a defined process, received "db")`,
    `${file}:10:27: processes.webapp.ambient_capabilities: unknown capability "fly" (expected capability names (CAP_NET_BIND_SERVICE or net_bind_service), received a list)`,
    `${file}:12:15: processes.webapp.resource_limits.memory: invalid size (expected bytes (536870912) or a size with a K, M, G or T suffix ("512M"), received "lots")`,
    `${file}:13:7: processes.webapp.resource_limits.cpus: unknown field "cpus", did you mean "cpu"?`,
    `${file}:14:3: processes.bad name: a process name must not contain whitespace (expected a name without whitespace or /, received "bad name")`,
    `${file}:15:14: processes.bad name.command: the command is empty (expected a non-empty command, received "")`,
    `${file}:18:12: processes.a.after[0]: dependency cycle: a → b → a (a after b, b requires a)`,
    `${file}:22:3: processes.webapp: process "webapp" is defined twice: in ${file}:3 and in ${file}:22`,
  ];
  assert.deepEqual(formatConfigError(e).split("\n"), expected);
  assert.equal(e.issues.length, expected.length);
  assert.match(e.message, /auto_strat.*\(and 11 more\)/);
});

test("empty file, comments only, processes: empty or null all mean no processes", () => {
  for (const text of [
    "",
    "# nothing\n",
    "processes:\n",
    "processes: {}\n",
    "processes: null\n",
    "---\n",
  ]) {
    assert.deepEqual(parseConfigText(text, "x.yaml"), [], JSON.stringify(text));
  }
});

test("a missing file means no processes and missing: true", async () => {
  const d = await dir({});
  const c = await loadConfig(join(d, "processes.yaml"));
  assert.deepEqual(c, { path: join(d, "processes.yaml"), processes: [], files: [], missing: true });
});

test("a YAML syntax error reports file:line:col", () => {
  const e = thrown(() => parseConfigText("processes:\n  a:\n    command: [x\n", "syn.yaml"));
  assert.equal(e.code, "parse");
  assert.equal(e.issues.length, 1);
  assert.match(formatConfigError(e), /^syn\.yaml:4:1: YAML syntax error: /);
  const tabs = thrown(() => parseConfigText("processes:\n\ta:\n", "tab.yaml"));
  assert.match(formatConfigError(tabs), /^tab\.yaml:2:\d+: YAML syntax error/);
});

test("top level: only processes (and x- keys); processes must be a map", () => {
  const e = thrown(() => parseConfigText("process:\n  a:\n    command: x\n", "t.yaml"));
  assert.equal(
    formatConfigError(e),
    't.yaml:1:1: process: unknown top-level key "process", did you mean "processes"? (expected processes)',
  );
  assert.deepEqual(
    parseConfigText(
      "x-defaults: &d\n  restart: always\nprocesses:\n  a:\n    <<: *d\n    command: x\n",
      "anchors.yaml",
    ).map((p) => p.restart),
    ["always"],
  );
  assert.match(
    formatConfigError(thrown(() => parseConfigText("- a\n", "l.yaml"))),
    /l\.yaml:1:1: the file must be a mapping/,
  );
  assert.match(
    formatConfigError(thrown(() => parseConfigText("processes: [a]\n", "l.yaml"))),
    /l\.yaml:1:12: processes: wrong type \(expected a mapping of process name to definition, received a list\)/,
  );
  assert.match(
    formatConfigError(thrown(() => parseConfigText("processes:\n  a:\n", "n.yaml"))),
    /n\.yaml:2:3: processes\.a: empty process definition/,
  );
});

test("duplicate keys inside a process are reported with both lines", () => {
  const e = thrown(() =>
    parseConfigText("processes:\n  a:\n    command: x\n    command: y\n", "d.yaml"),
  );
  assert.equal(e.code, "duplicate");
  assert.equal(
    formatConfigError(e),
    'd.yaml:4:5: processes.a.command: duplicate key "command" (first at line 3)',
  );
});

test("processes.d: one file per process, combined with processes.yaml", async () => {
  const d = await dir({
    "processes.yaml": "processes:\n  web:\n    command: web\n    after: [db]\n",
    "processes.d/db.yaml": "command: postgres -D /var/lib/pg\nrestart: on-failure\n",
    "processes.d/cache.yml": "command: redis-server\nbefore: web\n",
    "processes.d/README.md": "ignored",
    "processes.d/.hidden.yaml": "ignored: [",
    "processes.d/old.yaml.bak": "ignored",
  });
  const c = await loadConfig(join(d, "processes.yaml"));
  assert.deepEqual(
    c.processes.map((p) => [p.name, p.argv]),
    [
      ["web", ["web"]],
      ["cache", ["redis-server"]],
      ["db", ["postgres", "-D", "/var/lib/pg"]],
    ],
  );
  assert.deepEqual(c.files, [
    join(d, "processes.yaml"),
    join(d, "processes.d", "cache.yml"),
    join(d, "processes.d", "db.yaml"),
  ]);
});

test("processes.d works without processes.yaml (missing: true)", async () => {
  const d = await dir({ "processes.d/solo.yaml": "command: sleep 100\n" });
  const c = await loadConfig(join(d, "processes.yaml"));
  assert.equal(c.missing, true);
  assert.deepEqual(
    c.processes.map((p) => p.name),
    ["solo"],
  );
});

test("a name defined twice across files is an error naming both files", async () => {
  const d = await dir({
    "processes.yaml": "processes:\n  web:\n    command: a\n",
    "processes.d/web.yaml": "command: b\n",
    "processes.d/x.yaml": "command: c\n",
    "processes.d/x.yml": "command: d\n",
  });
  const e = await rejection(loadConfig(join(d, "processes.yaml")));
  assert.equal(e.code, "duplicate");
  const main = join(d, "processes.yaml");
  const webFile = join(d, "processes.d", "web.yaml");
  const x = join(d, "processes.d", "x.yaml");
  const xyml = join(d, "processes.d", "x.yml");
  assert.deepEqual(formatConfigError(e).split("\n"), [
    `${webFile}:1:1: processes.web: process "web" is defined twice: in ${main}:2 and in ${webFile}:1`,
    `${xyml}:1:1: processes.x: process "x" is defined twice: in ${x}:1 and in ${xyml}:1`,
  ]);
});

test("processes.d errors are located in their own file; a processes: map there is explained", async () => {
  const d = await dir({
    "processes.d/bad.yaml": "command: x\nrestart: 5\n",
    "processes.d/wrapped.yaml": "processes:\n  wrapped:\n    command: x\n",
    "processes.d/empty.yaml": "",
  });
  const e = await rejection(loadConfig(join(d, "processes.yaml")));
  const text = formatConfigError(e);
  assert.match(
    text,
    /bad\.yaml:2:10: processes\.bad\.restart: wrong type \(expected one of never, always, on-failure, on-success, received 5\)/,
  );
  assert.match(
    text,
    /wrapped\.yaml:1:1: processes\.wrapped\.processes: a processes\.d file holds ONE process definition/,
  );
  assert.match(text, /empty\.yaml: processes\.empty: empty process definition/);
});

test("dependency cycles are reported with their path, each once", () => {
  const e = thrown(() =>
    parseConfigText(
      [
        "processes:",
        "  a: { command: x, after: [b] }",
        "  b: { command: x, requires: [c] }",
        "  c: { command: x, binds_to: [a] }",
        "  d: { command: x, before: [e] }",
        "  e: { command: x, before: [d] }",
        "  f: { command: x, after: [a], wants: [f2] }",
        "  f2: { command: x, wants: [f] }",
        "",
      ].join("\n"),
      "cyc.yaml",
    ),
  );
  assert.equal(e.code, "cycle");
  assert.deepEqual(formatConfigError(e).split("\n"), [
    "cyc.yaml:2:28: processes.a.after[0]: dependency cycle: a → b → c → a (a after b, b requires c, c binds_to a)",
    "cyc.yaml:6:29: processes.e.before[0]: dependency cycle: d → e → d (e before d, d before e)",
  ]);
});

test("unreadable config is an io error", async () => {
  const d = await dir({ "processes.yaml/inner": "" });
  const e = await rejection(loadConfig(join(d, "processes.yaml")));
  assert.equal(e.code, "io");
});

test("a syntax error in one file does not hide the issues of the others", async () => {
  const d = await dir({
    "processes.yaml": "processes:\n  web:\n    command: [x\n",
    "processes.d/broken.yaml": "command: 'x\n",
    "processes.d/ok.yaml": "command: x\nafter: [web, broken]\nrestart: nope\n",
  });
  const e = await rejection(loadConfig(join(d, "processes.yaml")));
  assert.equal(e.code, "parse", "a syntax error makes the whole error a parse error");
  const lines = formatConfigError(e).split("\n");
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[0] ?? "", /processes\.yaml:4:1: YAML syntax error/);
  assert.match(lines[1] ?? "", /broken\.yaml:\d+:\d+: YAML syntax error/);
  assert.match(lines[2] ?? "", /ok\.yaml:3:10: processes\.ok\.restart: unknown value/);
});
