import * as assert from "node:assert/strict";
import { request } from "node:http";
import { describe, test } from "node:test";
import { listenTcp, type RequestHandler } from "./listener.js";

/** GET / on the port: the body, or the error that ended the request. */
function get(port: number): Promise<{ body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/" }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ body }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    req.end();
  });
}

describe("Listener.close()", () => {
  test("lets a call in flight finish before dropping the connections", async () => {
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => {
      arrived = r;
    });
    let finish!: () => void;
    const handler: RequestHandler = (_req, res) => {
      arrived();
      finish = () => res.end("last words");
    };
    const l = await listenTcp("127.0.0.1", 0, handler);
    const answer = get(l.port as number);
    await inFlight;
    const closed = l.close(10_000);
    setTimeout(() => finish(), 50);
    assert.deepEqual(await answer, { body: "last words" });
    await closed;
  });

  test("drops a call that outlives the grace", async () => {
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => {
      arrived = r;
    });
    const l = await listenTcp("127.0.0.1", 0, () => arrived());
    const answer = get(l.port as number);
    await inFlight;
    const started = Date.now();
    await l.close(50);
    assert.ok(Date.now() - started < 5_000);
    assert.ok("error" in (await answer));
  });
});
