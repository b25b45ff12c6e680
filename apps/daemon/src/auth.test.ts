import * as assert from "node:assert/strict";
import { test } from "node:test";
import { authorizationMatches, tokensEqual } from "./auth.js";

const token = "a".repeat(64);

test("tokensEqual: the right token", () => {
  assert.equal(tokensEqual(token, token), true);
});

test("tokensEqual: a wrong token of the same length", () => {
  assert.equal(tokensEqual(`${"a".repeat(63)}b`, token), false);
  assert.equal(tokensEqual("b".repeat(64), token), false);
});

test("tokensEqual: tokens of other lengths (a prefix, a longer one, none)", () => {
  assert.equal(tokensEqual(token.slice(0, 32), token), false);
  assert.equal(tokensEqual(`${token}a`, token), false);
  assert.equal(tokensEqual("", token), false);
});

test("tokensEqual: no expected token matches nothing, the empty one included", () => {
  assert.equal(tokensEqual("", ""), false);
  assert.equal(tokensEqual(token, ""), false);
});

test("authorizationMatches: Bearer <token>, any case, trailing spaces", () => {
  assert.equal(authorizationMatches(`Bearer ${token}`, token), true);
  assert.equal(authorizationMatches(`bearer ${token}  `, token), true);
  assert.equal(authorizationMatches(token, token), false, "no scheme");
  assert.equal(authorizationMatches(`Basic ${token}`, token), false);
  assert.equal(authorizationMatches(`Bearer ${token} extra`, token), false);
  assert.equal(authorizationMatches(null, token), false);
});
