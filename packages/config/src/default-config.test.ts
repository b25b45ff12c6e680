import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { defaultConfigText } from "./default-config.js";
import { parseConfigText } from "./load-config.js";
import { processFields } from "./process-fields.js";

test("the default config is valid and defines no process", () => {
  assert.deepEqual(parseConfigText(defaultConfigText, "default.yaml"), []);
});

test("uncommenting the examples block yields valid processes", () => {
  const lines = defaultConfigText.split("\n");
  const start = lines.findIndex((l) => l.startsWith("# >>> examples"));
  const end = lines.findIndex((l) => l.startsWith("# <<< examples"));
  assert.ok(start > 0 && end > start);
  const uncommented = lines.map((l, i) => (i > start && i < end ? l.replace(/^# ?/, "") : l));
  const processes = parseConfigText(uncommented.join("\n"), "uncommented.yaml");
  assert.deepEqual(
    processes.map((p) => p.name),
    ["webapp", "worker", "migrate", "proxy"],
  );
  const [webapp, worker, migrate, proxy] = processes;
  assert.deepEqual(webapp?.argv.slice(0, 2), ["gunicorn", "app:app"]);
  assert.equal(webapp?.healthCheck?.type, "http");
  assert.equal(webapp?.resourceLimits?.memoryBytes, 1024 ** 3);
  assert.equal(webapp?.logMaxSize, 100 * 1024 ** 2);
  assert.equal(webapp?.logMaxFiles, 5);
  assert.deepEqual(webapp?.environmentFile, { path: "/etc/default/webapp", optional: true });
  assert.equal(worker?.restart, "on-failure");
  assert.equal(migrate?.processType, "oneshot");
  assert.equal(migrate?.execStartPre.length, 2);
  assert.deepEqual(proxy?.ambientCapabilities, ["CAP_NET_BIND_SERVICE"]);
});

test("the default config documents every field", () => {
  for (const field of processFields) {
    assert.match(defaultConfigText, new RegExp(`#\\s+(?:${field}\\b|\\w+ / ${field}\\b)`), field);
  }
  assert.match(defaultConfigText, /processes\.d\//);
});

test("the repo's processes.yaml (the guide's `cp processes.yaml /etc/dd-procmgrd/`) is the default", () => {
  const file = readFileSync(new URL("../../../processes.yaml", import.meta.url), "utf8");
  assert.equal(file, defaultConfigText, "regenerate: node -e ... > processes.yaml (see README)");
});
