import * as assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { goldenCases } from "./golden-cases.js";
import { renderUnit } from "./render.js";
import { serviceUnit } from "./service.js";
import { verifyUnits } from "./verify.js";

const goldenDir = fileURLToPath(new URL("../test/golden/", import.meta.url));
const update = process.env.UPDATE_GOLDEN === "1";

describe("golden units", () => {
  for (const c of goldenCases) {
    test(`${c.name}.service matches test/golden (UPDATE_GOLDEN=1 rewrites)`, async () => {
      const text = renderUnit(serviceUnit(c.spec));
      const file = `${goldenDir}${c.name}.service`;
      if (update) await writeFile(file, text);
      assert.equal(text, await readFile(file, "utf8"));
    });

    test(`${c.name}.service passes systemd-analyze verify without any warning`, async (t) => {
      const text = renderUnit(serviceUnit(c.spec));
      const result = await verifyUnits([{ name: `unitgen-${c.name}.service`, content: text }], {
        stubs: c.stubs,
        user: c.user ?? false,
      });
      if (result.status === "skipped") {
        t.skip(result.reason);
        return;
      }
      assert.equal(result.status, "ok", result.status === "failed" ? result.stderr : "");
    });
  }
});

describe("verifyUnits", () => {
  test("fails on a unit systemd warns about (so the checks above can fail)", async (t) => {
    const result = await verifyUnits([
      {
        name: "unitgen-bad.service",
        content: "[Unit]\nDescription=bad\n\n[Service]\nFooBar=3\nExecStart=/bin/true\n",
      },
    ]);
    if (result.status === "skipped") {
      t.skip(result.reason);
      return;
    }
    assert.equal(result.status, "failed");
    assert.match(result.status === "failed" ? result.stderr : "", /Unknown key .FooBar./);
  });
});
