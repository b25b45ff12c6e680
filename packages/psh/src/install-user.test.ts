import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { PshError } from "./errors.js";
import { lookupInstallUser, selectInstallUserName } from "./install-user.js";

describe("selectInstallUserName", () => {
  it("uses $SUDO_USER when running as root under sudo", () => {
    assert.equal(
      selectInstallUserName({
        env: { SUDO_USER: "pilot", USER: "root" },
        uid: 0,
        currentUser: "root",
      }),
      "pilot",
    );
  });

  it("is root only when really root without $SUDO_USER (or sudo from root)", () => {
    assert.equal(
      selectInstallUserName({ env: { USER: "pilot" }, uid: 0, currentUser: "root" }),
      "root",
    );
    assert.equal(
      selectInstallUserName({ env: { SUDO_USER: "root" }, uid: 0, currentUser: "root" }),
      "root",
    );
    assert.equal(
      selectInstallUserName({ env: { SUDO_USER: " " }, uid: 0, currentUser: "root" }),
      "root",
    );
  });

  it("is the current user when not root, whatever $USER or $SUDO_USER say", () => {
    assert.equal(
      selectInstallUserName({ env: { USER: "root" }, uid: 1000, currentUser: "pilot" }),
      "pilot",
    );
    assert.equal(
      selectInstallUserName({ env: { SUDO_USER: "admin" }, uid: 1000, currentUser: "pilot" }),
      "pilot",
    );
  });
});

describe("lookupInstallUser", () => {
  it("returns the user's primary group, not a group named like the user", async () => {
    // Debian: nobody's primary group is nogroup (gid 65534).
    const nobody = await lookupInstallUser("nobody");
    assert.equal(nobody.user, "nobody");
    assert.equal(nobody.gid, 65534);
    assert.notEqual(nobody.group, "nobody");
    assert.equal(nobody.group, "nogroup");
    const root = await lookupInstallUser("root");
    assert.deepEqual([root.uid, root.gid, root.group], [0, 0, "root"]);
  });

  it("fails clearly for an unknown user", async () => {
    await assert.rejects(
      lookupInstallUser("no-such-user-psh"),
      (e: unknown) =>
        e instanceof PshError &&
        e.code === "not-found" &&
        /unknown user "no-such-user-psh"/.test(e.message),
    );
  });
});
