/**
 * Rows of the process field table (process-fields.ts, see there for the columns), spread into it
 * in place: a process's output (where stdout and stderr go, rotation, timestamps), and its
 * sockets and dependencies. Apart only to keep the table's file short.
 */
import * as v from "valibot";
import * as codecs from "./field-codecs.js";
import { field, optional } from "./field-row.js";
import * as leaf from "./process-schema.js";

export const outputFieldRows = [
  // YAML null (or "null") discards the stream: the leaf reads null itself.
  field({
    yaml: "stdout",
    key: "stdout",
    schema: v.optional(leaf.outputSchema),
    default: { kind: "default" },
    proto: "stdout",
    codec: codecs.outputTarget,
    flag: {
      names: ["--stdout"],
      help: 'Stdout file, "journal", "inherit" or "null" (default: the daemon\'s default)',
    },
    describe: { label: "Stdout" },
  }),
  field({
    yaml: "stderr",
    key: "stderr",
    schema: v.optional(leaf.outputSchema),
    default: { kind: "default" },
    proto: "stderr",
    codec: codecs.outputTarget,
    flag: {
      names: ["--stderr"],
      help: 'Stderr file, "journal", "inherit" or "null" (default: the daemon\'s default)',
    },
    describe: { label: "Stderr" },
  }),
  // Built-in rotation of the log files (stdout and stderr, each on its own): off unless set.
  // Past this size the file becomes <path>.1 (.1 → .2 ...) at a line boundary (LogSink).
  field({
    yaml: "log_max_size",
    key: "logMaxSize",
    schema: optional(leaf.memorySchema),
    hot: true,
    proto: "log_max_size",
    codec: codecs.bytes,
    flag: {
      names: ["--log-max-size"],
      help: 'Rotate each log file past this size (bytes or "10M", "1G"); off when unset',
    },
    describe: { label: "Log max size" },
  }),
  // Rotated files kept (<path>.1 ... <path>.N), the oldest deleted; at least 1.
  field({
    yaml: "log_max_files",
    key: "logMaxFiles",
    schema: optional(leaf.integerSchema(1)),
    default: 5,
    hot: true,
    proto: "log_max_files",
    codec: codecs.count,
    flag: { names: ["--log-max-files"], help: "Rotated log files kept (with --log-max-size)" },
    describe: { label: "Log max files" },
  }),
  field({
    yaml: "log_timestamps",
    key: "logTimestamps",
    schema: optional(leaf.booleanSchema),
    default: false,
    proto: "log_timestamps",
    codec: codecs.bool,
    flag: {
      names: ["--log-timestamps"],
      help: "Start each line of its log files with the time it arrived (ISO 8601, UTC)",
    },
    describe: { label: "Log timestamps" },
  }),
] as const;

export const socketAndDependencyRows = [
  // Listening sockets the daemon holds and passes (fd 3 on, LISTEN_FDS): kept across restarts.
  field({
    yaml: "sockets",
    key: "sockets",
    schema: optional(leaf.socketsSchema),
    default: [],
    proto: "sockets",
    codec: codecs.sockets,
    flag: {
      names: ["--socket"],
      help: 'A listening socket passed as fd 3 on (repeatable): "127.0.0.1:8080", "name=/run/app.sock", "listen=:53,type=datagram"',
      kind: "words",
    },
    describe: { label: "Sockets" },
  }),
  field({
    yaml: "start_on_connect",
    key: "startOnConnect",
    schema: optional(leaf.booleanSchema),
    default: false,
    hot: true,
    proto: "start_on_connect",
    codec: codecs.bool,
    flag: {
      names: ["--start-on-connect"],
      help: "Started by the first connection to one of its sockets (--no-start-on-connect to clear)",
    },
    describe: { label: "Start on connect" },
  }),
  field({
    yaml: "after",
    key: "after",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "after",
    codec: codecs.strings,
    flag: { names: ["--after"], help: "Start after these processes (repeatable)" },
    describe: { label: "After" },
  }),
  field({
    yaml: "before",
    key: "before",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "before",
    codec: codecs.strings,
    flag: { names: ["--before"], help: "Start before these processes (repeatable)" },
    describe: { label: "Before" },
  }),
  field({
    yaml: "requires",
    key: "requires",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "requires",
    codec: codecs.strings,
    flag: { names: ["--requires"], help: "Hard dependencies (repeatable)" },
    describe: { label: "Requires" },
  }),
  field({
    yaml: "wants",
    key: "wants",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "wants",
    codec: codecs.strings,
    flag: { names: ["--wants"], help: "Soft dependencies (repeatable)" },
    describe: { label: "Wants" },
  }),
  field({
    yaml: "binds_to",
    key: "bindsTo",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "binds_to",
    codec: codecs.strings,
    flag: { names: ["--binds-to"], help: "Stop when these stop (repeatable)" },
    describe: { label: "Binds to" },
  }),
  field({
    yaml: "conflicts",
    key: "conflicts",
    schema: optional(leaf.dependencySchema),
    default: [],
    hot: true,
    proto: "conflicts",
    codec: codecs.strings,
    flag: { names: ["--conflicts"], help: "Never run together with these (repeatable)" },
    describe: { label: "Conflicts" },
  }),
] as const;
