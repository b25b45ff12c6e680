import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeStep,
  type InstallOptions,
  planInstall,
  planUninstall,
  type Step,
  stepCommand,
} from "./plan.js";

const base: InstallOptions = {
  variant: "standard",
  daemonBinary: "/build/dd-procmgrd",
  cliBinary: "/build/dd-procmgr-cli",
  unitText: "[Service]\nExecStart=/usr/bin/dd-procmgrd\n",
  configText: "processes: {}\n",
  home: "/home/al",
  enable: true,
  start: true,
};

const commands = (steps: Step[]) => steps.map((s) => stepCommand(s).join(" "));

describe("planInstall", () => {
  it("standard: the seed's root installation, in order", () => {
    assert.deepEqual(commands(planInstall(base)), [
      "install -m 0755 -o root -g root /build/dd-procmgrd /usr/bin/dd-procmgrd",
      "install -m 0755 -o root -g root /build/dd-procmgr-cli /usr/bin/dd-procmgr-cli",
      "ln -sfn dd-procmgr-cli /usr/bin/pm-cli",
      "install -d -m 0700 -o root -g root /etc/dd-procmgrd",
      "install -d -m 0755 -o root -g root /var/lib/dd-procmgrd",
      "install -d -m 0755 -o root -g root /var/log/dd-procmgrd",
      "install -d -m 0755 -o root -g root /run/dd-procmgrd",
      "install -m 0644 -o root -g root /dev/stdin /etc/dd-procmgrd/processes.yaml",
      "install -m 0644 -o root -g root /dev/stdin /etc/systemd/system/dd-procmgrd.service",
      "systemctl daemon-reload",
      "systemctl enable dd-procmgrd",
      "systemctl start dd-procmgrd",
    ]);
  });

  it("secure: same files as standard, its own unit text", () => {
    const steps = planInstall({ ...base, variant: "secure", unitText: "secure\n" });
    assert.deepEqual(commands(steps), commands(planInstall(base)));
    const unit = steps.find((s) => s.kind === "file" && s.unit);
    assert.equal(unit?.kind === "file" && unit.content, "secure\n");
  });

  it("capability: service user, ownerships, setcap, 0750/0640", () => {
    const steps = planInstall({ ...base, variant: "capability", nologinShell: "/bin/false" });
    assert.deepEqual(commands(steps), [
      "install -m 0755 -o root -g root /build/dd-procmgrd /usr/bin/dd-procmgrd",
      "install -m 0755 -o root -g root /build/dd-procmgr-cli /usr/bin/dd-procmgr-cli",
      "ln -sfn dd-procmgr-cli /usr/bin/pm-cli",
      "useradd -r -s /bin/false -d /var/lib/dd-procmgrd dd-procmgrd",
      "install -d -m 0750 -o root -g dd-procmgrd /etc/dd-procmgrd",
      "install -d -m 0755 -o dd-procmgrd -g dd-procmgrd /var/lib/dd-procmgrd",
      "install -d -m 0755 -o dd-procmgrd -g dd-procmgrd /var/log/dd-procmgrd",
      "install -d -m 0755 -o dd-procmgrd -g dd-procmgrd /run/dd-procmgrd",
      "setcap cap_setuid,cap_setgid+ep /usr/bin/dd-procmgrd",
      "install -m 0640 -o root -g dd-procmgrd /dev/stdin /etc/dd-procmgrd/processes.yaml",
      "install -m 0644 -o root -g root /dev/stdin /etc/systemd/system/dd-procmgrd.service",
      "systemctl daemon-reload",
      "systemctl enable dd-procmgrd",
      "systemctl start dd-procmgrd",
    ]);
  });

  it("user: ~/.local/bin and XDG dirs, systemctl --user, no owners", () => {
    const steps = planInstall({ ...base, variant: "user" });
    assert.deepEqual(commands(steps), [
      "mkdir -p /home/al/.local/bin",
      "install -m 0755 /build/dd-procmgrd /home/al/.local/bin/dd-procmgrd",
      "install -m 0755 /build/dd-procmgr-cli /home/al/.local/bin/pm-cli",
      "mkdir -p /home/al/.config/dd-procmgrd",
      "mkdir -p /home/al/.local/share/dd-procmgrd",
      "mkdir -p /home/al/.local/share/dd-procmgrd/logs",
      "install -m 0644 /dev/stdin /home/al/.config/dd-procmgrd/processes.yaml",
      "mkdir -p /home/al/.config/systemd/user",
      "install -m 0644 /dev/stdin /home/al/.config/systemd/user/dd-procmgrd.service",
      "systemctl --user daemon-reload",
      "systemctl --user enable dd-procmgrd",
      "systemctl --user start dd-procmgrd",
    ]);
  });

  it("user: honours XDG_CONFIG_HOME / XDG_DATA_HOME and --bin-dir", () => {
    const steps = planInstall({
      ...base,
      variant: "user",
      xdgConfigHome: "/x/cfg",
      xdgDataHome: "/x/data",
      binDir: "/opt/bin",
    });
    const paths = steps.flatMap((s) => ("path" in s ? [s.path] : []));
    assert.ok(paths.includes("/opt/bin/dd-procmgrd"));
    assert.ok(paths.includes("/x/cfg/systemd/user/dd-procmgrd.service"));
    assert.ok(paths.includes("/x/cfg/dd-procmgrd/processes.yaml"));
    assert.ok(paths.includes("/x/data/dd-procmgrd/logs"));
  });

  it("one multi-call executable: installed once, the CLI a link, but for file capabilities", () => {
    const one = { ...base, daemonBinary: "/build/procmgr", cliBinary: "/build/procmgr" };
    const bins = (variant: InstallOptions["variant"]) =>
      commands(planInstall({ ...one, variant })).filter((c) => /\/(bin)\//.test(c));
    assert.deepEqual(bins("standard"), [
      "install -m 0755 -o root -g root /build/procmgr /usr/bin/dd-procmgrd",
      "ln -sfn dd-procmgrd /usr/bin/dd-procmgr-cli",
      "ln -sfn dd-procmgr-cli /usr/bin/pm-cli",
    ]);
    assert.deepEqual(bins("secure"), bins("standard"));
    assert.deepEqual(bins("user"), [
      "install -m 0755 /build/procmgr /home/al/.local/bin/dd-procmgrd",
      "ln -sfn dd-procmgrd /home/al/.local/bin/pm-cli",
    ]);
    // setcap marks the file: a link would give CAP_SETUID to whoever runs the CLI.
    assert.deepEqual(bins("capability"), [
      "install -m 0755 -o root -g root /build/procmgr /usr/bin/dd-procmgrd",
      "install -m 0755 -o root -g root /build/procmgr /usr/bin/dd-procmgr-cli",
      "ln -sfn dd-procmgr-cli /usr/bin/pm-cli",
      "setcap cap_setuid,cap_setgid+ep /usr/bin/dd-procmgrd",
    ]);
  });

  it("--no-enable / --no-start drop those steps; config only if missing", () => {
    const steps = planInstall({ ...base, enable: false, start: false });
    assert.deepEqual(commands(steps).slice(-1), ["systemctl daemon-reload"]);
    const config = steps.find((s) => s.kind === "file" && !s.unit);
    assert.ok(config?.kind === "file" && config.ifMissing);
    assert.match(describeStep(config), /only if missing/);
  });
});

describe("planUninstall", () => {
  it("system: stop, disable, unit, reload, executables; keeps data", () => {
    assert.deepEqual(
      commands(planUninstall({ variant: "capability", home: "/root", purge: false })),
      [
        "systemctl stop dd-procmgrd",
        "systemctl disable dd-procmgrd",
        "rm -f /etc/systemd/system/dd-procmgrd.service",
        "systemctl daemon-reload",
        "rm -f /usr/bin/dd-procmgrd",
        "rm -f /usr/bin/dd-procmgr-cli",
        "rm -f /usr/bin/pm-cli",
      ],
    );
  });

  it("--purge removes config, state, logs, runtime dir and the service user", () => {
    const tail = commands(planUninstall({ variant: "standard", home: "/root", purge: true })).slice(
      7,
    );
    assert.deepEqual(tail, [
      "rm -rf /etc/dd-procmgrd",
      "rm -rf /var/lib/dd-procmgrd",
      "rm -rf /var/log/dd-procmgrd",
      "rm -rf /run/dd-procmgrd",
      "userdel dd-procmgrd",
    ]);
  });

  it("user: systemctl --user and the user's files", () => {
    assert.deepEqual(commands(planUninstall({ variant: "user", home: "/home/al", purge: true })), [
      "systemctl --user stop dd-procmgrd",
      "systemctl --user disable dd-procmgrd",
      "rm -f /home/al/.config/systemd/user/dd-procmgrd.service",
      "systemctl --user daemon-reload",
      "rm -f /home/al/.local/bin/dd-procmgrd",
      "rm -f /home/al/.local/bin/pm-cli",
      "rm -rf /home/al/.config/dd-procmgrd",
      "rm -rf /home/al/.local/share/dd-procmgrd",
    ]);
  });
});

describe("file capabilities", () => {
  it("default to the seed's cap_setuid,cap_setgid+ep", () => {
    const setcap = planInstall({ ...base, variant: "capability" }).find((s) => s.kind === "setcap");
    assert.equal(setcap?.kind === "setcap" && setcap.caps, "cap_setuid,cap_setgid+ep");
  });
});
