import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  describedFields,
  type FieldRow,
  HealthCheckSchema,
  hotFields,
  ProcessSchema,
  processConfigToSpec,
  processFields,
  processFieldTable,
  protoLocalName,
  ResourceLimitsSchema,
  resolveProcessConfig,
  specFields,
  specToRaw,
} from "@procmgr/config";
import { ProcessSpecSchema } from "@procmgr/rpc";
import { UpdateCommand } from "./commands/update.js";
import { describeLayout } from "./format/describe-page.js";
import { buildSpec } from "./spec-build.js";
import { baseExtraFlags, specFlags } from "./spec-flags.js";

/*
 * The field table of @procmgr/config is the one list of process fields: this holds it equal to
 * the .proto's ProcessSpec (the generated descriptor), the valibot schema, the CLI's flags and
 * the describe rows. Adding a field: a row in packages/config/src/process-fields.ts and a field
 * in process_manager.proto; this test says what else is missing.
 */

/** The proto's fields of a message against a table's rows: names, order, local names. */
function assertSameFields(message: DescMessage, rows: readonly FieldRow[], skip: string[] = []) {
  const protoFields = message.fields.filter((f) => !skip.includes(f.name));
  assert.deepEqual(
    protoFields.map((f) => f.name),
    rows.map((row) => row.proto),
    `${message.typeName}: the proto's fields, in order, are the table's`,
  );
  for (const row of rows) {
    const field = protoFields.find((f) => f.name === row.proto) as DescField;
    assert.equal(protoLocalName(row.proto), field.localName, row.proto);
    assertSameKind(row, field);
  }
}

/** An enumeration's spellings are the proto enum's values; a nested table is a message. */
function assertSameKind(row: FieldRow, field: DescField) {
  const spellings = row.codec.spellings;
  if (spellings !== undefined) {
    assert.equal(field.fieldKind, "enum", `${row.proto} is an enum`);
    const values = field.fieldKind === "enum" ? field.enum.values : [];
    const fromProto = Object.fromEntries(
      values
        .filter((value) => value.number !== 0)
        .map((value) => [value.localName.toLowerCase().replaceAll("_", "-"), value.number]),
    );
    assert.deepEqual(spellings, fromProto, `${row.proto}: spellings and proto values`);
  } else {
    assert.notEqual(field.fieldKind, "enum", `${row.proto} has no spellings`);
  }
  if (row.fields !== undefined) {
    assert.equal(field.fieldKind, "message", `${row.proto} is a message`);
    if (field.fieldKind === "message") assertSameFields(field.message, row.fields);
  }
}

const full = resolveProcessConfig("full", {
  command: "server --port 80 'quoted arg'",
  args: ["-v", "x y"],
  description: "a server",
  user: "www-data",
  group: "www-data",
  working_dir: "/srv",
  env: { PORT: "8000", EMPTY: "" },
  environment_file: "-/etc/default/full",
  auto_start: true,
  restart: "on-failure",
  restart_sec: "250ms",
  restart_max_delay_sec: 300,
  start_limit_burst: 0,
  start_limit_interval_sec: 60,
  timeout_start_sec: "infinity",
  timeout_stop_sec: 3,
  kill_signal: "INT",
  kill_mode: "mixed",
  success_exit_status: [0, 1],
  stdout: null,
  stderr: "/var/log/full.err",
  log_max_size: "10M",
  log_max_files: 3,
  pidfile: "/run/full.pid",
  exec_start_pre: ["echo 'a b'", ["touch", "/tmp/x"]],
  exec_start_post: "true",
  exec_stop_post: ["rm -f /tmp/x"],
  runtime_directory: ["full"],
  condition_path_exists: ["|!/a", "/b"],
  ambient_capabilities: "net_bind_service",
  after: ["db"],
  before: ["z"],
  requires: ["db"],
  wants: ["cache"],
  binds_to: ["db"],
  conflicts: ["other"],
  process_type: "notify",
  health_check: {
    type: "http",
    endpoint: "/h",
    host: "127.0.0.1",
    port: 8080,
    interval: "1m",
    retries: 2,
  },
  resource_limits: { cpu: "500m", memory: "1G", pids: 10 },
});

describe("the field table", () => {
  it("is the proto's ProcessSpec: fields, order, local names, enums and messages", () => {
    assertSameFields(ProcessSpecSchema, processFieldTable, ["name"]);
    assert.equal(ProcessSpecSchema.fields[0]?.name, "name");
  });

  it("is the valibot schema and the API's field list", () => {
    const yaml = processFieldTable.map((row) => row.yaml);
    assert.deepEqual(Object.keys(ProcessSchema.entries), yaml);
    assert.deepEqual([...processFields], yaml);
    assert.deepEqual([...specFields], yaml);
    const nested = (name: string) =>
      (processFieldTable.find((row) => row.yaml === name)?.fields ?? []).map((row) => row.yaml);
    assert.deepEqual(Object.keys(HealthCheckSchema.entries), nested("health_check"));
    assert.deepEqual(Object.keys(ResourceLimitsSchema.entries), nested("resource_limits"));
  });

  it("is ProcessConfig: one row per key (but name and argv)", () => {
    assert.deepEqual(
      Object.keys(full).sort(),
      ["name", "argv", ...processFieldTable.map((row) => row.key)].sort(),
    );
    const nestedKeys = (name: string) =>
      (processFieldTable.find((row) => row.yaml === name)?.fields ?? []).map((row) => row.key);
    assert.deepEqual(
      Object.keys(full.healthCheck ?? {}).sort(),
      nestedKeys("health_check")
        .filter((k) => k !== "command")
        .sort(),
      "an http check: every key but the exec command (and its argv)",
    );
    assert.deepEqual(
      Object.keys(full.resourceLimits ?? {}).sort(),
      nestedKeys("resource_limits").sort(),
    );
  });

  it("maps a config to a ProcessSpec and back through the wire", () => {
    const init = processConfigToSpec(full) as MessageInitShape<typeof ProcessSpecSchema>;
    const spec = fromBinary(
      ProcessSpecSchema,
      toBinary(ProcessSpecSchema, create(ProcessSpecSchema, init)),
    );
    assert.deepStrictEqual(resolveProcessConfig("full", specToRaw(spec)), full);
    assert.equal(spec.name, "full");
  });

  it("marks the hot fields", () => {
    assert.deepEqual(
      [...hotFields].sort(),
      processFieldTable
        .filter((row) => row.hot === true)
        .map((row) => row.yaml)
        .sort(),
    );
  });
});

describe("the CLI's flags", () => {
  it("are the table's flags: names, help, kind, enumeration values", () => {
    const flagOf = (row: FieldRow, field: string) =>
      row.flag === undefined
        ? []
        : [
            {
              field,
              names: row.flag.names,
              description: row.flag.help,
              kind: row.flag.kind ?? row.codec.flagKind,
              updateOnly: row.flag.updateOnly === true,
            },
          ];
    // Each row's, then those of its nested message's rows (by their path), in table order.
    const expected = processFieldTable.flatMap((row: FieldRow) => [
      ...flagOf(row, row.yaml),
      ...(row.fields ?? []).flatMap((sub) => flagOf(sub, `${row.yaml}.${sub.yaml}`)),
    ]);
    assert.deepEqual(
      specFlags.map((f) => ({
        field: f.field,
        names: f.names,
        description: f.description,
        kind: f.kind,
        updateOnly: f.updateOnly === true,
      })),
      expected,
    );
    const restart = specFlags.find((f) => f.field === "restart");
    assert.deepEqual(restart?.values, ["never", "always", "on-failure", "on-success"]);
    const healthType = specFlags.find((f) => f.field === "health_check.type");
    assert.deepEqual(healthType?.values, ["http", "tcp", "exec"]);
  });

  it("cover every field of the health check, each named --health-*", () => {
    const health = processFieldTable.find((row) => row.yaml === "health_check");
    const paths = (health?.fields ?? []).map((row) => `health_check.${row.yaml}`);
    const flags = specFlags.filter((f) => f.field.startsWith("health_check."));
    assert.deepEqual(
      flags.map((f) => f.field),
      paths,
    );
    for (const f of flags) assert.match(f.names[0] ?? "", /^--health-[a-z-]+$/, f.field);
    assert.equal(flags.find((f) => f.field === "health_check.args")?.kind, "words");
  });

  it("of nested fields make the message an Update sets them on, by path", () => {
    const parsed = specFlags.filter((f) =>
      ["health_check.port", "health_check.host", "restart_sec"].includes(f.field),
    );
    const values = new Map(parsed.map((f) => [f, [f.kind === "int" ? "8080" : "2"]]));
    const spec = create(ProcessSpecSchema, buildSpec(values).spec);
    assert.equal(spec.healthCheck?.port, 8080);
    assert.equal(spec.healthCheck?.host, "2");
    assert.equal(spec.restartSec, 2);
    assert.deepEqual(specToRaw(spec), {
      restart_sec: 2,
      health_check: { host: "2", port: 8080 },
    });
  });

  it("have names of their own, shown in the help of create and update", () => {
    const names = [...specFlags, ...baseExtraFlags].flatMap((f) => f.names);
    assert.equal(new Set(names).size, names.length, names.join(" "));
    const help = String(UpdateCommand.usage?.details);
    for (const flag of specFlags) {
      assert.ok(help.includes(flag.names.join(",")), flag.field);
      assert.ok(help.includes(flag.description), flag.field);
    }
  });
});

describe("describe", () => {
  it("places every field the table describes once, and no other", () => {
    const placed = describeLayout.flatMap(([, rows]) =>
      rows.flatMap((row) => ("field" in row ? [row.field] : [])),
    );
    assert.deepEqual([...placed].sort(), describedFields.map((f) => f.path).sort());
    assert.equal(new Set(placed).size, placed.length);
  });

  it("leaves out only fields shown by another row", () => {
    const shown = new Set(describedFields.map((f) => f.path.split(".")[0]));
    const hidden = processFieldTable.map((row) => row.yaml).filter((f) => !shown.has(f));
    assert.deepEqual(hidden, ["args", "start_limit_interval_sec"]);
  });
});
