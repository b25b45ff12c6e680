import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { createCli, programNames } from "../cli.js";
import { commands } from "../commands/index.js";
import { closedPort, runInProcess } from "../testing.js";
import { offerFor } from "./complete-words.js";
import { verbsOf } from "./verb-syntax.js";

/** `pm-cli __complete WORDS...`: the candidates' words, and the whole lines. */
async function complete(words: string[], env: Record<string, string> = {}) {
  const r = await runInProcess(["__complete", ...words], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const lines = r.stdout === "" ? [] : r.stdout.replace(/\n$/, "").split("\n");
  return { words: lines.map((l) => l.split("\t")[0] ?? ""), lines };
}

describe("__complete: verbs", () => {
  it("offers every verb and alias, and hides itself and the options", async () => {
    const { words } = await complete([""]);
    for (const verb of ["list", "ls", "ps", "start", "delete", "rm", "logs", "sys", "daemon"]) {
      assert.ok(words.includes(verb), `${verb} in ${words.join(" ")}`);
    }
    assert.ok(words.includes("completion"));
    assert.ok(!words.includes("__complete"));
    assert.ok(!words.some((w) => w.startsWith("-")), words.join(" "));
    assert.equal(new Set(words).size, words.length, "no word twice");
  });

  it("offers the verbs that start with the word, with their descriptions", async () => {
    const { words, lines } = await complete(["st"]);
    assert.deepEqual([...words].sort(), ["start", "stats", "status", "stop"]);
    assert.ok(lines.includes("start\tStart processes (a failed one gets its start limit reset)"));
  });

  it("offers each documented verb of the CLI's definitions", async () => {
    for (const def of createCli("pm-cli").definitions()) {
      const path = def.path.split(" ").slice(1);
      const { words } = await complete([...path.slice(0, -1), ""]);
      assert.ok(words.includes(path.at(-1) ?? ""), `${def.path} in ${words.join(" ")}`);
    }
  });

  it("offers nested verbs after their group, the group described by them", async () => {
    assert.deepEqual((await complete(["sys", ""])).words.sort(), [
      "debug",
      "disable",
      "down",
      "enable",
      "setup",
      "teardown",
      "up",
    ]);
    assert.deepEqual((await complete(["daemon", "u"])).words, ["uninstall"]);
    assert.ok(
      (await complete(["s"])).lines.includes(
        "sys\tsetup, teardown, enable, disable, up, down, debug",
      ),
    );
  });

  it("offers nothing after an unknown verb, and the builtins' flags at the start", async () => {
    assert.deepEqual((await complete(["frobnicate", ""])).words, []);
    assert.deepEqual((await complete(["--"])).words, ["--help", "--version"]);
  });
});

describe("__complete: options", () => {
  it("offers a verb's options once a dash is typed, with the shared ones and --help", async () => {
    const { words } = await complete(["logs", "-"]);
    for (const flag of ["-f", "--follow", "-n", "--lines", "--stdout", "--stderr"]) {
      assert.ok(words.includes(flag), `${flag} in ${words.join(" ")}`);
    }
    for (const flag of ["--address", "-o", "--output", "--color", "--no-color", "-h", "--help"]) {
      assert.ok(words.includes(flag), `${flag} in ${words.join(" ")}`);
    }
    assert.deepEqual((await complete(["logs", "--std"])).words, ["--stdout", "--stderr"]);
  });

  it("offers the options of nested verbs, with the negations their help names", async () => {
    const install = (await complete(["daemon", "install", "--"])).words;
    for (const flag of ["--variant", "--dry-run", "--bin-dir", "--no-start", "--no-enable"]) {
      assert.ok(install.includes(flag), `${flag} in ${install.join(" ")}`);
    }
    const up = (await complete(["sys", "up", "--"])).words;
    assert.deepEqual(up.sort(), ["--dry-run", "--help", "--module", "--service"]);
  });

  it("offers create's and update's field options and the values of an enumeration", async () => {
    assert.ok((await complete(["create", "web", "--auto"])).words.includes("--auto-start"));
    const update = (await complete(["update", "web", "--"])).words;
    for (const flag of ["--dry-run", "--restart-process", "--restart-sec", "--health-type"]) {
      assert.ok(update.includes(flag), `${flag} in ${update.join(" ")}`);
    }
    const policies = (await complete(["update", "web", "--restart", ""])).words;
    assert.ok(policies.includes("always") && policies.includes("on-failure"), policies.join(" "));
    assert.deepEqual((await complete(["update", "web", "--restart=on-f"])).words, [
      "--restart=on-failure",
    ]);
  });

  it("offers nothing for an option's value it cannot know", async () => {
    assert.deepEqual((await complete(["logs", "-n", ""])).words, []);
    assert.deepEqual((await complete(["list", "--address", ""])).words, []);
  });
});

describe("__complete: process names", () => {
  const verbs = verbsOf(commands);

  it("asks for the daemon's processes where a verb takes a process name", async () => {
    for (const words of [
      ["start", ""],
      ["stop", "w"],
      ["describe", ""],
      ["logs", "-f", ""],
    ]) {
      const offer = await offerFor(words, verbs);
      assert.equal(offer.kind, "processes", words.join(" "));
    }
    const update = await offerFor(["update", "--dry-run", "w"], verbs);
    assert.deepEqual(update, { kind: "processes", prefix: "w", exclude: [] });
  });

  it("leaves out the names already given, and reads --address off the line", async () => {
    const offer = await offerFor(["restart", "--address", "unix:/x.sock", "web", ""], verbs);
    assert.deepEqual(offer, {
      kind: "processes",
      prefix: "",
      exclude: ["web"],
      address: "unix:/x.sock",
    });
    const inline = await offerFor(["stop", "--address=127.0.0.1:1", ""], verbs);
    assert.equal(inline.kind === "processes" && inline.address, "127.0.0.1:1");
  });

  it("offers no names where none is taken (create's new name, a second describe)", async () => {
    for (const words of [
      ["create", ""],
      ["describe", "web", ""],
      ["list", ""],
      ["sys", "up", ""],
    ]) {
      assert.deepEqual(await offerFor(words, verbs), { kind: "words", candidates: [] });
    }
  });

  it("prints no names, and no error, when the daemon cannot be reached", async () => {
    const port = await closedPort();
    const r = await complete(["start", ""], { PM_ADDRESS: `127.0.0.1:${port}` });
    assert.deepEqual(r.lines, []);
  });
});

describe("completion SHELL", () => {
  it("prints each shell's script, registered for every program name", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const r = await runInProcess(["completion", shell]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /__complete/);
      for (const name of programNames) assert.ok(r.stdout.includes(name), `${shell}: ${name}`);
    }
  });

  it("prints a bash script that bash parses and that registers the three names", async () => {
    const { stdout } = await runInProcess(["completion", "bash"]);
    const bash = spawnSync("bash", ["-c", `${stdout}\ncomplete -p ${programNames.join(" ")}`], {
      encoding: "utf8",
    });
    assert.equal(bash.status, 0, bash.stderr);
    for (const name of programNames) {
      assert.match(bash.stdout, new RegExp(`complete -F _procmgr_complete ${name}\\n`));
    }
  });

  it("refuses an unknown shell, naming the supported ones", async () => {
    const r = await runInProcess(["completion", "tcsh"]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /unknown shell "tcsh".*bash, zsh, fish/);
  });
});
