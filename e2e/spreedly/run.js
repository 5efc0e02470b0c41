#!/usr/bin/env node
// Drives kassa's Spreedly dialect with the npm `spreedly` client (0.0.16), reading
// each response the way a Spreedly integration reads it.
//
//   node run.js <base-url> <environment-key> <access-secret>
//   node run.js http://127.0.0.1:8080/spreedly T12345678 sk_test_…
//
// The client requests <base-url>/v1/….json. One line per step; the first failure
// exits non-zero. Neither the secret nor a card number is ever printed.
'use strict';

const assert = require('node:assert/strict');
const Spreedly = require('spreedly').default;

const [base, envKey, secret] = process.argv.slice(2);
if (!base || !envKey || !secret) {
  console.error('usage: node run.js <base-url> <environment-key> <access-secret>');
  process.exit(2);
}

const GOOD_CARD = '4111111111111111';
const DECLINED_CARD = '4012888888881881';
// Never printed: replaced wherever they would show, and never allowed in a response.
const hidden = [secret, GOOD_CARD, DECLINED_CARD];
const scrub = (s) => hidden.reduce((out, h) => out.split(h).join('[hidden]'), String(s));

// A hung server must not hang the caller.
setTimeout(() => fail('timeout', new Error('the run took longer than 50 s')), 50000).unref();

function fail(step, err) {
  let msg = err && err.message ? err.message : String(err);
  const res = (err && err.response) || current;
  if (res) {
    const req = res.config || {};
    msg = `${msg}\n  request: ${String(req.method || '').toUpperCase()} ${req.baseURL || ''}${req.url || ''}` +
      `\n  response: HTTP ${res.status} ${JSON.stringify(res.data)}`;
  }
  console.error(scrub(`FAIL ${step}: ${msg}`));
  process.exit(1);
}

// The response the current step is reading, shown when the step fails.
let current;

// seen records a response and checks that its body holds neither a full card
// number nor the secret.
function seen(res) {
  current = res;
  const text = typeof res.data === 'string' ? res.data : JSON.stringify(res.data);
  for (const h of hidden) {
    assert.ok(!text.includes(h), 'the response shows a full card number or the access secret');
  }
  return res;
}

function eq(actual, expected, what) {
  assert.ok(actual === expected, `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
}

// step runs fn; a rejected request or a failed assertion ends the run.
async function step(name, fn) {
  let detail;
  current = undefined;
  try {
    detail = await fn();
  } catch (err) {
    fail(name, err);
  }
  console.log(scrub(`ok   ${name}${detail ? ': ' + detail : ''}`));
}

// rejected expects the request to fail with an HTTP error and returns its response.
async function rejected(promise) {
  let res;
  try {
    res = await promise;
  } catch (err) {
    if (!err.response) throw err; // no HTTP response at all
    return err.response;
  }
  throw Object.assign(new Error(`expected an HTTP error, got HTTP ${res.status}`), { response: res });
}

const client = new Spreedly(envKey, secret, { endpoint: base, version: 1 });

function creditCard(number) {
  return {
    creditCard: {
      firstName: 'Jane', lastName: 'Doe', number, verificationValue: '123', month: 12, year: 2030,
    },
    email: 'jane@example.com',
    retained: false,
  };
}

// createCard checks the AddPaymentMethod transaction and returns the card's token.
async function createCard(number) {
  const res = seen(await client.createCreditCard(creditCard(number)));
  eq(res.status, 201, 'create payment method: HTTP status');
  const tx = res.data.transaction;
  assert.ok(tx, 'create payment method: no transaction in the body');
  eq(tx.succeeded, true, 'transaction.succeeded');
  eq(tx.transaction_type, 'AddPaymentMethod', 'transaction.transaction_type');
  const pm = tx.payment_method;
  assert.ok(pm, 'transaction.payment_method missing');
  assert.ok(typeof pm.token === 'string' && pm.token !== '', 'transaction.payment_method.token');
  const last4 = number.slice(-4);
  eq(pm.last_four_digits, last4, 'payment_method.last_four_digits');
  eq(pm.card_type, 'visa', 'payment_method.card_type');
  eq(pm.storage_state, 'cached', 'payment_method.storage_state');
  eq(pm.number, `XXXX-XXXX-XXXX-${last4}`, 'payment_method.number');
  return pm.token;
}

async function main() {
  console.log(`spreedly@${require('spreedly/package.json').version} (axios@${require('axios/package.json').version}) against ${base}/v1/`);
  let gatewayToken, cardToken, declinedToken;

  await step('createGateway test', async () => {
    const res = seen(await client.createGateway({ gatewayType: 'test' }));
    eq(res.status, 201, 'HTTP status');
    const gw = res.data.gateway;
    assert.ok(gw, 'no gateway in the body');
    assert.ok(typeof gw.token === 'string' && gw.token !== '', 'gateway.token');
    eq(gw.gateway_type, 'test', 'gateway.gateway_type');
    eq(gw.state, 'retained', 'gateway.state');
    gatewayToken = gw.token;
    return `201 gateway ${gw.token}`;
  });

  await step('createCreditCard visa', async () => {
    cardToken = await createCard(GOOD_CARD);
    return `201 payment method ${cardToken}, cached`;
  });

  await step('updateCreditCard', async () => {
    const res = seen(await client.updateCreditCard(cardToken, { firstName: 'Janet', month: 11 }));
    eq(res.status, 200, 'HTTP status');
    const pm = res.data.payment_method;
    assert.ok(pm, 'no payment_method in the body');
    eq(pm.token, cardToken, 'payment_method.token');
    eq(pm.first_name, 'Janet', 'payment_method.first_name');
    eq(pm.month, 11, 'payment_method.month');
    return '200 first_name Janet, month 11';
  });

  await step('retainCreditCard (PUT, no body)', async () => {
    const res = seen(await client.retainCreditCard(cardToken));
    eq(res.status, 200, 'HTTP status');
    const tx = res.data.transaction;
    assert.ok(tx && tx.payment_method, 'no transaction.payment_method in the body');
    eq(tx.payment_method.token, cardToken, 'transaction.payment_method.token');
    eq(tx.payment_method.storage_state, 'retained', 'transaction.payment_method.storage_state');
    return '200 retained';
  });

  await step('getCreditCard', async () => {
    const res = seen(await client.getCreditCard(cardToken));
    eq(res.status, 200, 'HTTP status');
    const pm = res.data.payment_method;
    assert.ok(pm, 'no payment_method in the body');
    eq(pm.token, cardToken, 'payment_method.token');
    eq(pm.storage_state, 'retained', 'payment_method.storage_state');
    return '200 retained';
  });

  await step('purchase', async () => {
    const res = seen(await client.purchase(gatewayToken, {
      paymentMethodToken: cardToken, amount: 1000, currencyCode: 'USD', orderId: 'order-1',
    }));
    eq(res.status, 200, 'HTTP status');
    const tx = res.data.transaction;
    assert.ok(tx, 'no transaction in the body');
    eq(tx.succeeded, true, 'transaction.succeeded');
    eq(tx.transaction_type, 'Purchase', 'transaction.transaction_type');
    eq(tx.amount, 1000, 'transaction.amount');
    eq(tx.currency_code, 'USD', 'transaction.currency_code');
    eq(tx.state, 'succeeded', 'transaction.state');
    assert.ok(tx.payment_method, 'transaction.payment_method missing');
    eq(tx.payment_method.token, cardToken, 'transaction.payment_method.token');
    eq(tx.gateway_token, gatewayToken, 'transaction.gateway_token');
    return `200 purchase ${tx.token} succeeded`;
  });

  await step('createCreditCard declining visa', async () => {
    declinedToken = await createCard(DECLINED_CARD);
    return `201 payment method ${declinedToken}, cached`;
  });

  await step('purchase declined', async () => {
    const res = seen(await rejected(client.purchase(gatewayToken, {
      paymentMethodToken: declinedToken, amount: 1000, currencyCode: 'USD', orderId: 'order-2',
    })));
    eq(res.status, 422, 'HTTP status');
    const tx = res.data && res.data.transaction;
    assert.ok(tx, 'no transaction in the 422 body');
    eq(tx.succeeded, false, 'transaction.succeeded');
    eq(tx.state, 'gateway_processing_failed', 'transaction.state');
    return `422 purchase ${tx.token} gateway_processing_failed`;
  });

  await step('wrong access secret', async () => {
    const wrong = new Spreedly(envKey, 'sk_test_wrong' + Date.now(), { endpoint: base, version: 1 });
    const res = seen(await rejected(wrong.getCreditCard(cardToken)));
    eq(res.status, 401, 'HTTP status');
    const errors = res.data && res.data.errors;
    assert.ok(Array.isArray(errors) && errors.length > 0, 'no errors array in the 401 body');
    eq(errors[0].key, 'errors.access_denied', 'errors[0].key');
    return '401 errors.access_denied';
  });

  console.log('PASS');
}

main().catch((err) => fail('run', err));
