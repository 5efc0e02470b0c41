#!/usr/bin/env node
// Verifies webhook requests with the npm `standardwebhooks` library (1.3.0), the
// way a receiver does: new Webhook(secret).verify(body, headers).
//
//   node verify.js <cases.json>
//
// cases.json is {"cases": [{"name", "body" (base64 of the exact bytes received),
// "headers" {name: value}, "verify" [secrets that must verify], "reject" [secrets
// that must not]}]}. Every case is also checked against a secret of its own making
// and, with each secret that verifies, against its body with one byte changed: both
// must be refused. One line per failure; any failure exits non-zero. Secrets are
// never printed.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { Webhook, WebhookVerificationError } = require('standardwebhooks');

const file = process.argv[2];
if (!file) {
  console.error('usage: node verify.js <cases.json>');
  process.exit(2);
}
const { cases } = JSON.parse(fs.readFileSync(file, 'utf8'));
if (!Array.isArray(cases) || cases.length === 0) {
  console.error('FAIL: no cases in ' + file);
  process.exit(1);
}

// The secrets, by the order they first appear: printed as secret#N, never as they are.
const names = new Map();
const nameOf = (s) => {
  if (!names.has(s)) names.set(s, 'secret#' + (names.size + 1));
  return names.get(s);
};

let failures = 0;
let checks = 0;
function fail(c, msg) {
  failures++;
  console.error(`FAIL ${c.name}: ${msg}`);
}

// refused reports whether verify throws the library's verification error.
function refused(secret, body, headers) {
  try {
    new Webhook(secret).verify(body, headers);
    return false;
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    return true;
  }
}

for (const c of cases) {
  const body = Buffer.from(c.body, 'base64');
  const headers = c.headers || {};
  if (!Array.isArray(c.verify) || c.verify.length === 0) {
    fail(c, 'no secret to verify with');
    continue;
  }
  for (const secret of c.verify) {
    checks++;
    try {
      const payload = new Webhook(secret).verify(body, headers);
      assert.deepEqual(payload, JSON.parse(body.toString('utf8')));
    } catch (err) {
      fail(c, `does not verify with ${nameOf(secret)}: ${err.message}`);
      continue;
    }
    const tampered = Buffer.from(body);
    tampered[tampered.length - 1] ^= 1;
    checks++;
    if (!refused(secret, tampered, headers)) fail(c, `a changed body verifies with ${nameOf(secret)}`);
  }
  for (const secret of [...(c.reject || []), 'whsec_' + crypto.randomBytes(32).toString('base64')]) {
    checks++;
    if (!refused(secret, body, headers)) fail(c, `verifies with ${nameOf(secret)}, which must not sign it`);
  }
}

if (failures > 0) {
  console.error(`${failures} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`ok: ${cases.length} requests, ${checks} checks with standardwebhooks`);
