import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as S,
  ServerReflection,
} from "@procmgr/rpc/grpc-standard";
import { servedServices } from "./api-handler.js";
import { authInterceptor, openServices } from "./auth.js";
import { DaemonHealth, healthRoutes } from "./grpc-health.js";
import { reflectionRoutes } from "./grpc-reflection.js";

const own = "procmgr.v1.ProcessManager";

function client(health: DaemonHealth) {
  return createClient(Health, createRouterTransport(healthRoutes(health)));
}

async function codeOf(p: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

describe("DaemonHealth", () => {
  test("phases follow the table: starting -> serving -> stopping, never back", () => {
    const h = new DaemonHealth([own]);
    assert.equal(h.phase, "starting");
    assert.equal(h.status(""), S.NOT_SERVING);
    h.set("serving");
    assert.equal(h.status(""), S.SERVING);
    assert.equal(h.status(own), S.SERVING);
    assert.equal(h.status("other.Service"), undefined);
    h.set("stopping");
    assert.equal(h.status(own), S.NOT_SERVING);
    h.set("stopping"); // stop() is idempotent
    assert.throws(() => h.set("serving"), /no transition from stopping to serving/);
    // A start-up that fails stops from starting.
    const failed = new DaemonHealth([]);
    failed.set("stopping");
    assert.equal(failed.phase, "stopping");
  });

  test("Check: SERVING for '' and the daemon's service, NOT_FOUND for any other", async () => {
    const h = new DaemonHealth([own]);
    const c = client(h);
    assert.equal((await c.check({ service: "" })).status, S.NOT_SERVING);
    h.set("serving");
    assert.equal((await c.check({})).status, S.SERVING);
    assert.equal((await c.check({ service: own })).status, S.SERVING);
    assert.equal(await codeOf(c.check({ service: "nope.v1.Nope" })), Code.NotFound);
    const list = await c.list({});
    assert.deepEqual(Object.keys(list.statuses).sort(), ["", own]);
    assert.equal(list.statuses[own]?.status, S.SERVING);
  });

  test("Watch: the status now, each change, then NOT_SERVING at shutdown and the end", async () => {
    const h = new DaemonHealth([own]);
    const seen: S[] = [];
    const stream = client(h).watch({ service: own });
    const done = (async () => {
      for await (const r of stream) {
        seen.push(r.status);
        if (seen.length === 1) h.set("serving");
        if (seen.length === 2) h.set("stopping");
      }
    })();
    await done;
    assert.deepEqual(seen, [S.NOT_SERVING, S.SERVING, S.NOT_SERVING]);
  });

  test("Watch of an unknown service: SERVICE_UNKNOWN and the call stays open", async () => {
    const h = new DaemonHealth([own]);
    h.set("serving");
    const ac = new AbortController();
    const seen: S[] = [];
    const code = await codeOf(
      (async () => {
        for await (const r of client(h).watch({ service: "nope" }, { signal: ac.signal })) {
          seen.push(r.status);
          ac.abort(); // the client gives up: the server ends the stream
        }
      })(),
    );
    assert.deepEqual(seen, [S.SERVICE_UNKNOWN]);
    assert.equal(code, Code.Canceled);
  });

  test("Watch ended by its caller leaves no watcher behind", async () => {
    const h = new DaemonHealth([own]);
    const ac = new AbortController();
    const it = h.watch("", ac.signal);
    assert.equal((await it.next()).value, S.NOT_SERVING);
    assert.equal(h.watching, 1);
    const next = it.next();
    ac.abort();
    assert.equal((await next).done, true);
    assert.equal(h.watching, 0);
  });
});

test("health and reflection answer a TCP caller without the token (the auth interceptor lets them by)", async () => {
  const health = new DaemonHealth([own]);
  health.set("serving");
  // The default context is an untrusted TCP caller; the token is never sent.
  const transport = createRouterTransport(
    (router) => {
      healthRoutes(health)(router);
      reflectionRoutes(servedServices)(router);
    },
    { router: { interceptors: [authInterceptor(() => "secret", "root")] } },
  );
  assert.equal((await createClient(Health, transport).check({})).status, S.SERVING);
  assert.equal((await createClient(Health, transport).list({})).statuses[""]?.status, S.SERVING);
  const requests = (async function* () {
    yield { messageRequest: { case: "listServices" as const, value: "" } };
  })();
  for await (const r of createClient(ServerReflection, transport).serverReflectionInfo(requests)) {
    assert.equal(r.messageResponse.case, "listServicesResponse");
  }
  assert.deepEqual([...openServices].sort(), [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
  ]);
});
