import * as assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopbackHost, splitHostPort } from "./address.js";

test("splitHostPort: host:port and [v6]:port", () => {
  assert.deepEqual(splitHostPort("127.0.0.1:50051"), { host: "127.0.0.1", port: 50051 });
  assert.deepEqual(splitHostPort("localhost:0"), { host: "localhost", port: 0 });
  assert.deepEqual(splitHostPort("[::1]:50051"), { host: "::1", port: 50051 });
  assert.deepEqual(splitHostPort("[fe80::1%eth0]:1"), { host: "fe80::1%eth0", port: 1 });
  for (const bad of [
    "",
    "host",
    ":1",
    "host:",
    "host:65536",
    "::1:80",
    "[::1]",
    "[1::2::3]:1",
    "a:b:1",
  ])
    assert.equal(splitHostPort(bad), undefined, bad);
});

test("isLoopbackHost: names, 127/8, ::1 in any spelling, IPv4-mapped 127/8", () => {
  for (const host of [
    "localhost",
    "LOCALHOST",
    "ip6-localhost",
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "0:0:0:0:0:0:0:1",
    "0000::0001",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::1%lo",
  ])
    assert.ok(isLoopbackHost(host), host);
  for (const host of [
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "128.0.0.1",
    "::2",
    "1::1",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "example.com",
    "localhost.example.com",
    "",
  ])
    assert.ok(!isLoopbackHost(host), host);
});
