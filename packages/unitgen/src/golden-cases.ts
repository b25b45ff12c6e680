// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal "${VAR}" strings are test data
import { envReference, withSpecifiers } from "./escape.js";
import type { ServiceUnitSpec } from "./service.js";

export interface GoldenCase {
  readonly name: string;
  readonly spec: ServiceUnitSpec;
  /** Executables that do not exist on a normal host (made visible for `systemd-analyze verify`). */
  readonly stubs: readonly string[];
  readonly user?: boolean;
}

/** Units whose rendering is pinned in test/golden/<name>.service and checked by systemd. */
export const goldenCases: readonly GoldenCase[] = [
  {
    name: "minimal",
    spec: { description: "Minimal unit", service: { execStart: ["/bin/true"] } },
    stubs: [],
  },
  {
    name: "nasty-values",
    spec: {
      description: 'Nasty: 100% "quoted" $HOME \\back\\slash',
      documentation: ["https://example.com/docs?a=1&b=2", "man:systemd.service(5)"],
      after: ["network-online.target"],
      wants: ["network-online.target"],
      service: {
        type: "exec",
        workingDirectory: "/var/lib/my app",
        environmentFiles: ["-/etc/my app/env file", "-/etc/100%/env"],
        environment: {
          PLAIN: "value",
          EMPTY: "",
          SPACES: "  a b  ",
          QUOTES: `say "hi" and 'bye'`,
          DOLLAR: "$HOME and ${PATH} and $$",
          PERCENT: "100% %h %%",
          BACKSLASH: "C:\\dir\\ \\n",
          NEWLINE: "line1\nline2\r\n",
          TAB: "a\tb",
          CONTROL: "bell\u0007esc\u001b",
          UNICODE: "h\u00e9llo \u2603 \u{1f600}",
        },
        execStart: [
          "/usr/bin/unitgen test/my app",
          "--name",
          "hello world",
          "it's",
          'say "hi"',
          "$HOME",
          "${PATH}",
          "$$",
          "100%",
          "%h",
          "C:\\dir\\",
          "line1\nline2",
          ";",
          "\\;",
          "",
          "tab\there",
          "--opt=a;b",
          "#not-a-comment",
          "h\u00e9llo",
        ],
        restart: "on-failure",
        restartSec: 1.5,
      },
      install: { wantedBy: ["multi-user.target"] },
    },
    stubs: ["/usr/bin/unitgen test/my app"],
  },
  {
    name: "dollar-executable",
    spec: {
      description: "Executable path with a dollar sign",
      service: { execStart: ["/usr/bin/unitgen$test", "$1"] },
    },
    stubs: ["/usr/bin/unitgen$test"],
  },
  {
    name: "oneshot",
    spec: {
      description: "One-shot with several commands",
      service: {
        type: "oneshot",
        remainAfterExit: true,
        execStartPre: [["/bin/mkdir", "-p", "/run/unitgen test"]],
        execStart: [
          ["/bin/echo", "first"],
          ["/bin/sh", "-c", 'echo "$0 ${1:-none}" > /dev/null', "arg0"],
        ],
        execStop: [["/bin/echo", "stop"]],
        timeoutStartSec: 0,
      },
    },
    stubs: [],
  },
  {
    name: "module-service",
    spec: {
      description: "psh module demo (robot arm)",
      after: ["network.target"],
      startLimitIntervalSec: 60,
      startLimitBurst: 5,
      service: {
        type: "simple",
        user: "daemon",
        group: "daemon",
        workingDirectory: "/tmp",
        environment: { PYTHONUNBUFFERED: "1", ROS_DOMAIN_ID: "42" },
        execStart: ["/bin/bash", "-lc", "source ./setup.sh && exec ./launch.sh --port 8080"],
        execReload: [["/bin/kill", "-HUP", envReference("MAINPID", { split: true })]],
        restart: "always",
        restartSec: 5,
        killMode: "mixed",
        killSignal: "SIGINT",
        timeoutStopSec: 30,
        extra: [
          ["StandardOutput", "journal"],
          ["SyslogIdentifier", "psh-demo"],
        ],
      },
      install: { wantedBy: ["multi-user.target"] },
    },
    stubs: [],
  },
  {
    name: "user-specifiers",
    spec: {
      description: "User unit using specifiers for %n",
      service: {
        workingDirectory: withSpecifiers("%h"),
        environmentFiles: [withSpecifiers("-%h/.config/unitgen test/env")],
        environment: {
          STATE: withSpecifiers("%h/.local/state/%N"),
          LITERAL: "%h stays literal",
        },
        execStart: [
          withSpecifiers("%h/.local/bin/unitgen-demo"),
          withSpecifiers("--unit=%n"),
          withSpecifiers("--runtime=%t/my dir"),
          envReference("HOME"),
        ],
      },
      install: { wantedBy: ["default.target"] },
    },
    stubs: ["~/.local/bin/unitgen-demo"],
    user: true,
  },
];
