import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DaemonIdentity, type Identity, planLaunch } from "./identity.js";

const nobody: Identity = {
  user: "nobody",
  uid: 65534,
  gid: 65534,
  groups: [65534],
  home: "/nonexistent",
  shell: "/usr/sbin/nologin",
};
const service: Identity = {
  user: "dd-procmgrd",
  uid: 999,
  gid: 999,
  groups: [999],
  home: "/var/lib/dd-procmgrd",
  shell: "/bin/false",
};
// CAP_CHOWN (0), CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7)
const caps = (1n << 0n) | (1n << 5n) | (1n << 6n) | (1n << 7n);
const options = { switchUser: true, ambientCapabilities: [] };

describe("planLaunch", () => {
  test("root switches through setpriv with login-like groups", () => {
    const root: DaemonIdentity = {
      identity: { ...service, user: "root", uid: 0, gid: 0, groups: [0] },
      capEff: caps,
      capAmb: 0n,
    };
    const plan = planLaunch(["whoami"], nobody, root, options);
    assert.deepEqual(plan.argv.slice(0, 4), [
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--groups=65534",
    ]);
    assert.equal(plan.uid, undefined);
  });

  test("ambient capabilities (systemd AmbientCapabilities=) are inherited by setpriv", () => {
    const daemon: DaemonIdentity = { identity: service, capEff: caps, capAmb: caps };
    const plan = planLaunch(["whoami"], nobody, daemon, options);
    assert.equal(plan.argv[0], "setpriv");
    assert.ok(plan.argv.includes("--ambient-caps=-all"));
  });

  test("file capabilities only (setcap): the forked child switches through uid/gid", () => {
    const daemon: DaemonIdentity = { identity: service, capEff: caps, capAmb: 0n };
    const plan = planLaunch(["whoami"], nobody, daemon, options);
    assert.deepEqual(plan, { argv: ["whoami"], uid: 65534, gid: 65534 });
  });

  test("no capabilities: switching is refused with the reason", () => {
    const daemon: DaemonIdentity = { identity: service, capEff: 0n, capAmb: 0n };
    assert.throws(() => planLaunch(["whoami"], nobody, daemon, options), /lacks CAP_SETUID/);
  });
});
