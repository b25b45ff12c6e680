import * as assert from "node:assert/strict";
import { test } from "node:test";
import { checkAgainstHost } from "./host-checks.js";
import { parseConfigText } from "./load-config.js";
import { resolveProcessConfig } from "./resolve-process.js";
import { checkUsersAndGroups } from "./users.js";

test("known users and groups (and numeric ids) pass", async () => {
  const configs = [
    resolveProcessConfig("a", { command: "x", user: "root", group: "root" }),
    resolveProcessConfig("b", { command: "x", user: "nobody" }),
    resolveProcessConfig("c", { command: "x", user: 12345, group: 12345 }),
    resolveProcessConfig("d", { command: "x" }),
  ];
  assert.deepEqual(await checkUsersAndGroups(configs), []);
});

test("unknown users and groups are issues, located in the file when known", async () => {
  const configs = parseConfigText(
    "processes:\n  web:\n    command: x\n    user: no-such-user-zz\n    group: no-such-group-zz\n",
    "/etc/p.yaml",
  );
  const issues = await checkUsersAndGroups(configs);
  assert.deepEqual(issues, [
    {
      file: "/etc/p.yaml",
      line: 4,
      column: 11,
      path: "processes.web.user",
      message: 'unknown user "no-such-user-zz"',
      expected: "a user known to getent passwd",
      received: '"no-such-user-zz"',
      code: "unknown-user",
    },
    {
      file: "/etc/p.yaml",
      line: 5,
      column: 12,
      path: "processes.web.group",
      message: 'unknown group "no-such-group-zz"',
      expected: "a group known to getent group",
      received: '"no-such-group-zz"',
      code: "unknown-group",
    },
  ]);
});

test("checkAgainstHost: health check hosts that do not resolve are named", async () => {
  const configs = [
    resolveProcessConfig("a", {
      command: "x",
      health_check: { type: "http", endpoint: "http://no-such-host.invalid:8000/health" },
    }),
    resolveProcessConfig("b", { command: "x", health_check: { type: "tcp", port: 80 } }),
    resolveProcessConfig("c", {
      command: "x",
      health_check: { type: "tcp", host: "localhost", port: 80 },
    }),
  ];
  const issues = await checkAgainstHost(configs);
  assert.deepEqual(
    issues.map((i) => [i.path, i.code]),
    [["processes.a.health_check.endpoint", "unresolved-host"]],
  );
  assert.match(
    issues[0]?.message ?? "",
    /host "no-such-host.invalid" does not resolve \((ENOTFOUND|EAI_AGAIN)\)/,
  );
});
