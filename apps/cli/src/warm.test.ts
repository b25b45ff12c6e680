import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { warmUp } from "./warm.js";

describe("warmUp (the single executable's snapshot warm-up)", () => {
  it("runs every everyday line to exit 0 against its in-memory daemon", async () => {
    // The build of dist-bin/dd-procmgr-cli fails when this throws; here it fails first, with
    // the line and its stderr.
    await assert.doesNotReject(warmUp());
  });

  it("leaves no handles behind (the snapshot is taken with an empty event loop)", async () => {
    const before = process.getActiveResourcesInfo().length;
    await warmUp();
    assert.equal(process.getActiveResourcesInfo().length, before);
  });
});
