// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal "${VAR}" strings are test data
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UnitError } from "./errors.js";
import {
  envReference,
  escapeSpecifiers,
  quoteEnvironment,
  quoteExecArgv,
  withSpecifiers,
} from "./escape.js";
import { renderUnit } from "./render.js";
import { serviceUnit } from "./service.js";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof UnitError) return e.code;
    throw e;
  }
  return assert.fail("expected a UnitError");
}

describe("escapeSpecifiers", () => {
  test("doubles every percent sign", () => {
    assert.equal(escapeSpecifiers("100% %h %%"), "100%% %%h %%%%");
  });
});

describe("quoteExecArgv", () => {
  test("leaves plain words alone", () => {
    assert.equal(quoteExecArgv(["/bin/echo", "a", "--b=c", "x/y"]), "/bin/echo a --b=c x/y");
  });
  test("quotes words with spaces, quotes, backslashes and control characters", () => {
    assert.equal(
      quoteExecArgv(["/bin/echo", "a b", `it's`, 'say "hi"', "C:\\x", "l1\nl2", "t\tb", "\u0007"]),
      String.raw`/bin/echo "a b" "it's" "say \"hi\"" "C:\\x" "l1\nl2" "t\tb" "\x07"`,
    );
  });
  test("escapes $ and % in arguments, quotes empty words and a lone ;", () => {
    assert.equal(
      quoteExecArgv(["/bin/echo", "$HOME", "${X}", "100%", "", ";", "a;b"]),
      '/bin/echo $$HOME $${X} 100%% "" ";" a;b',
    );
  });
  test("quotes an executable path with spaces", () => {
    assert.equal(quoteExecArgv(["/opt/my app/run", "x"]), '"/opt/my app/run" x');
  });
  test("uses the @ form for an executable containing $ (the path is not substituted, argv[0] is)", () => {
    assert.equal(quoteExecArgv(["/opt/a$b", "x"]), "@/opt/a$b /opt/a$$b x");
  });
  test("keeps specifiers of SpecifierText and environment references", () => {
    assert.equal(
      quoteExecArgv([
        withSpecifiers("%h/bin/x"),
        withSpecifiers("--n=%n 100%%"),
        envReference("MAINPID", { split: true }),
        envReference("A"),
      ]),
      '%h/bin/x "--n=%n 100%%" $MAINPID ${A}',
    );
  });
  test("rejects what cannot be expressed", () => {
    assert.equal(
      code(() => quoteExecArgv([])),
      "invalid-command",
    );
    assert.equal(
      code(() => quoteExecArgv(["bin/echo"])),
      "invalid-path",
    );
    assert.equal(
      code(() => quoteExecArgv(["/usr//bin/echo"])),
      "invalid-path",
    );
    assert.equal(
      code(() => quoteExecArgv(["/usr/bin/../echo"])),
      "invalid-path",
    );
    assert.equal(
      code(() => quoteExecArgv(["/bin/echo", "a\0b"])),
      "invalid-value",
    );
    assert.equal(
      code(() => quoteExecArgv(["/bin/echo", "\ud800"])),
      "invalid-value",
    );
    assert.equal(
      code(() => quoteExecArgv([envReference("X")])),
      "invalid-command",
    );
    assert.equal(
      code(() => withSpecifiers("%Z")),
      "invalid-specifier",
    );
    assert.equal(
      code(() => withSpecifiers("trailing %")),
      "invalid-specifier",
    );
    assert.equal(
      code(() => envReference("1X")),
      "invalid-env-name",
    );
  });
});

describe("quoteEnvironment", () => {
  test('always writes "KEY=value" with C escapes, % doubled, $ literal', () => {
    assert.equal(quoteEnvironment("A", "x"), '"A=x"');
    assert.equal(quoteEnvironment("A", ""), '"A="');
    assert.equal(
      quoteEnvironment("A", 'say "hi" \\ $HOME 100%\nnext'),
      String.raw`"A=say \"hi\" \\ $HOME 100%%\nnext"`,
    );
    assert.equal(quoteEnvironment("B", withSpecifiers("%h/x 100%%")), '"B=%h/x 100%%"');
  });
  test("rejects invalid names and NUL", () => {
    for (const k of ["", "1X", "A-B", "A B", "A=B", "A\nB", "\u00e9"]) {
      assert.equal(
        code(() => quoteEnvironment(k, "v")),
        "invalid-env-name",
        k,
      );
    }
    assert.equal(
      code(() => quoteEnvironment("A", "a\0b")),
      "invalid-value",
    );
  });
});

describe("renderUnit", () => {
  test("renders header, sections, booleans and numbers", () => {
    assert.equal(
      renderUnit({
        header: ["hello", ""],
        sections: [
          { name: "Unit", entries: [["Description", "x"]] },
          {
            name: "Service",
            entries: [
              ["RemainAfterExit", true],
              ["RestartSec", 1.5],
            ],
          },
        ],
      }),
      "# hello\n#\n\n[Unit]\nDescription=x\n\n[Service]\nRemainAfterExit=yes\nRestartSec=1.5\n",
    );
  });
  test("rejects keys, values and section names that cannot be expressed", () => {
    const one = (key: string, value: string | number) =>
      renderUnit({ sections: [{ name: "Service", entries: [[key, value]] }] });
    assert.equal(
      code(() => one("Bad Key", "x")),
      "invalid-key",
    );
    assert.equal(
      code(() => one("Key=", "x")),
      "invalid-key",
    );
    assert.equal(
      code(() => one("Description", "a\nb")),
      "invalid-value",
    );
    assert.equal(
      code(() => one("Description", "a\rb")),
      "invalid-value",
    );
    assert.equal(
      code(() => one("Description", "a\0b")),
      "invalid-value",
    );
    assert.equal(
      code(() => one("Description", " padded")),
      "invalid-value",
    );
    assert.equal(
      code(() => one("Description", "ends with \\")),
      "invalid-value",
    );
    assert.equal(
      code(() => one("Description", "100%")),
      "invalid-specifier",
    );
    assert.equal(
      code(() => one("RestartSec", Number.NaN)),
      "invalid-value",
    );
    assert.equal(
      code(() => renderUnit({ sections: [{ name: "Bad]", entries: [] }] })),
      "invalid-section",
    );
    assert.equal(
      code(() => renderUnit({ header: ["a\nb"], sections: [] })),
      "invalid-header",
    );
  });
});

describe("serviceUnit", () => {
  const base = { description: "d", service: { execStart: ["/bin/true"] } } as const;
  test("escapes literal text in Description=, WorkingDirectory=, EnvironmentFile=", () => {
    const text = renderUnit(
      serviceUnit({
        description: "100% sure",
        service: {
          execStart: ["/bin/true"],
          workingDirectory: "/srv/50%",
          environmentFiles: ["-/etc/a b/%env"],
        },
      }),
    );
    assert.match(text, /^Description=100%% sure$/m);
    assert.match(text, /^WorkingDirectory=\/srv\/50%%$/m);
    assert.match(text, /^EnvironmentFile=-\/etc\/a b\/%%env$/m);
  });
  test("rejects invalid specs with the field named", () => {
    assert.equal(
      code(() => serviceUnit({ ...base, description: "a\nb" })),
      "invalid-value",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { execStart: [["/bin/a"], ["/bin/b"]] } })),
      "invalid-command",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { execStart: [] } })),
      "invalid-command",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { ...base.service, user: "bad user" } })),
      "invalid-value",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { ...base.service, user: "nobody" } })),
      "invalid-value",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { ...base.service, workingDirectory: "rel" } })),
      "invalid-path",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { ...base.service, environmentFiles: ["x"] } })),
      "invalid-path",
    );
    assert.equal(
      code(() =>
        serviceUnit({ ...base, service: { ...base.service, environment: { "A-B": "1" } } }),
      ),
      "invalid-env-name",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, after: ["a b.target"] })),
      "invalid-value",
    );
    assert.equal(
      code(() => serviceUnit({ ...base, service: { ...base.service, restartSec: -1 } })),
      "invalid-value",
    );
  });
});

describe("UnitError", () => {
  test("from() keeps UnitErrors and wraps anything else with its cause", () => {
    const e = new UnitError("invalid-key", "x");
    assert.equal(UnitError.from(e), e);
    const cause = new Error("boom");
    const w = UnitError.from(cause);
    assert.equal(w.code, "unknown");
    assert.equal(w.message, "boom");
    assert.equal(w.cause, cause);
    assert.equal(UnitError.from("s").message, "s");
  });
});
