// Signed deliveries, checked with the receivers' official libraries from npm:
// stripe (webhooks.constructEvent) for X-Prov-Signature, standardwebhooks
// (Webhook.verify) for Standard Webhooks; on the first delivery, a retry and
// a redelivery (webhook-id stays the delivery id); secret rotation: during the
// window a receiver holding only the old secret and one holding only the new
// one both accept, after it only the new one does; the old secret is never
// shown or logged. Node 18 compatible (no toSorted, no getSetCookie).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { api, apiUser, clientAs, csrfFrom, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { disableAll, dispatch, publish, q } from '../lib/dispatch.mjs';
import { makeDue, worker } from '../lib/retry.mjs';

const EVENT = 'clients.accounts.create';
const stripe = new Stripe('sk_test_not_used_for_webhooks');
let rx;
let admin;

before(async () => {
  rx = await startReceiver();
  admin = apiUser('admin');
});
after(async () => { await rx?.close(); });
beforeEach(() => {
  disableAll();
  rx.reset();
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state = 'scheduled'");
});

// Whether a receiver holding only secret accepts the request, per library.
function stripeAccepts(req, secret) {
  try {
    const event = stripe.webhooks.constructEvent(req.body, req.headers['x-prov-signature'], secret);
    assert.deepEqual(event, JSON.parse(req.body));
    return true;
  } catch (e) {
    if (e.type === 'StripeSignatureVerificationError') return false;
    throw e;
  }
}
function standardAccepts(req, secret) {
  try {
    assert.deepEqual(new Webhook(secret).verify(req.body, req.headers), JSON.parse(req.body));
    return true;
  } catch (e) {
    if (e instanceof WebhookVerificationError) return false;
    throw e;
  }
}
const accepts = (scheme, req, secret) => (scheme === 'standard' ? standardAccepts(req, secret) : stripeAccepts(req, secret));

async function createHandler(body) {
  const r = await api('POST', '/handlers', {
    key: admin.key,
    body: { name: uniqueName('signed'), events_id: EVENT, task: `${rx.url}/echo`, secret_action: 'generate', ...body },
  });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  return r.json;
}

async function deliverOnce(uid = uniqueName('sig')) {
  const before = rx.requests.length;
  const r = await dispatch([EVENT, '--event-id', uid, '--object-id', '7'], { account_id: 7 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(rx.requests.length, before + 1);
  return { req: rx.requests[rx.requests.length - 1], result: r.result };
}

test('scheme prov (the default): X-Prov-Signature verifies with stripe, no webhook-* headers', async () => {
  const h = await createHandler({});
  assert.equal(h.signature_scheme, 'prov');
  assert.equal(h.old_secret_until, null);
  publish();
  const { req } = await deliverOnce();
  assert.match(req.headers['x-prov-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.equal(req.headers['webhook-signature'], undefined);
  assert.equal(req.headers['webhook-id'], undefined);
  assert.ok(stripeAccepts(req, h.secret));
  assert.ok(!stripeAccepts(req, 'whsec_someone_else'));
  assert.ok(!stripeAccepts({ ...req, body: req.body.replace('7', '8') }, h.secret), 'a changed body fails');
});

test('scheme standard: webhook-id (the delivery id), -timestamp, -signature verify with standardwebhooks', async () => {
  const h = await createHandler({ signature_scheme: 'standard' });
  assert.equal(h.signature_scheme, 'standard');
  publish();
  const { req, result } = await deliverOnce();
  assert.equal(req.headers['x-prov-signature'], undefined, 'one scheme per handler');
  assert.equal(req.headers['webhook-id'], result.handlers[0].delivery_id);
  assert.equal(req.headers['webhook-id'], req.headers['x-prov-delivery']);
  assert.ok(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
  assert.match(req.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.ok(standardAccepts(req, h.secret));
  assert.ok(!stripeAccepts({ ...req, headers: { ...req.headers, 'x-prov-signature': req.headers['webhook-signature'] } }, h.secret));
  const other = `whsec_${Buffer.from('another key of thirty-two bytes!').toString('base64')}`;
  assert.ok(!standardAccepts(req, other));
  assert.ok(!standardAccepts({ ...req, headers: { ...req.headers, 'webhook-id': 'msg_other' } }, h.secret),
    'the id is signed: a replay under another id fails');
  const hex = sqlValue(`SELECT HEX(request_headers) FROM exec_logs WHERE delivery_id = ${q(req.headers['webhook-id'])}`);
  const stored = Buffer.from(hex, 'hex').toString('utf8');
  assert.match(stored, /^webhook-signature: v1,\[redacted\]$/m, 'the log keeps no usable signature');
  assert.match(stored, new RegExp(`^webhook-id: ${req.headers['webhook-id']}$`, 'm'));
});

test('switching an existing handler to standard and back changes the headers on the next publish', async () => {
  const h = await createHandler({});
  let r = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { signature_scheme: 'standard' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.signature_scheme, 'standard');
  assert.equal(r.json.secret, undefined, 'no secret in an answer that did not make one');
  assert.equal(sqlValue(`SELECT secret FROM handlers WHERE id = ${h.id}`), h.secret, 'the secret is kept');
  publish();
  let { req } = await deliverOnce();
  assert.ok(standardAccepts(req, h.secret));
  r = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { name: 'back to prov', signature_scheme: 'prov' } });
  assert.equal(r.json.signature_scheme, 'prov');
  publish();
  ({ req } = await deliverOnce());
  assert.ok(stripeAccepts(req, h.secret));
  assert.equal(req.headers['webhook-signature'], undefined);
});

for (const scheme of ['prov', 'standard']) {
  test(`${scheme}: a retry and a redelivery are signed again and verify, webhook-id unchanged`, async () => {
    const h = await createHandler({ signature_scheme: scheme, task: `${rx.url}/status/503?times=2` });
    publish();
    const { req: first, result } = await deliverOnce();
    const deliveryId = result.handlers[0].delivery_id;
    assert.equal(first.status, 503);
    assert.ok(accepts(scheme, first, h.secret));
    makeDue(`delivery_id = ${q(deliveryId)}`);
    const w = await worker();
    assert.equal(w.status, 0, w.stderr);
    const retried = rx.requests[rx.requests.length - 1];
    assert.equal(retried.headers['x-prov-attempt'], '2');
    assert.equal(retried.status, 503, 'still failing: times=2');
    assert.ok(accepts(scheme, retried, h.secret), 'the retry verifies');
    const failedLog = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE delivery_id = ${q(deliveryId)}`));
    const again = await api('POST', `/logs/${failedLog}/redeliver`, { key: admin.key });
    assert.equal(again.status, 200, again.text);
    const redelivered = rx.requests[rx.requests.length - 1];
    assert.equal(redelivered.status, 200);
    assert.equal(redelivered.headers['x-prov-delivery'], deliveryId);
    assert.ok(accepts(scheme, redelivered, h.secret), 'the redelivery verifies');
    if (scheme === 'standard') {
      for (const r of [first, retried, redelivered]) assert.equal(r.headers['webhook-id'], deliveryId);
    }
  });
}

// Rotate h's secret through the API keeping the old one `hours`; the new secret.
async function rotate(h, hours) {
  const r = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { secret_action: 'generate', old_secret_hours: hours } });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.json.secret, h.secret);
  return r.json;
}

for (const scheme of ['prov', 'standard']) {
  test(`${scheme}: during a rotation's window the old and the new secret both verify; after it only the new one`, async () => {
    const h = await createHandler({ signature_scheme: scheme });
    const rotated = await rotate(h, 2);
    const until = rotated.old_secret_until;
    assert.match(until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'ISO 8601 in UTC');
    const inHours = (Date.parse(until) - Date.now()) / 3600e3;
    assert.ok(inHours > 1.9 && inHours <= 2, `the window ends in 2 hours: ${until}`);
    const got = await api('GET', `/handlers/${h.id}`, { key: admin.key });
    assert.equal(got.json.old_secret_until, until, 'the API shows until when');
    assert.ok(!got.text.includes(h.secret) && !got.text.includes(rotated.secret), 'and neither secret');
    publish();
    let { req } = await deliverOnce();
    if (scheme === 'prov') assert.match(req.headers['x-prov-signature'], /^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    else assert.match(req.headers['webhook-signature'], /^v1,\S{44} v1,\S{44}$/);
    assert.ok(accepts(scheme, req, h.secret), 'a receiver with only the old secret accepts');
    assert.ok(accepts(scheme, req, rotated.secret), 'a receiver with only the new secret accepts');

    // The window ends (the column set into the past, as time would).
    sql(`UPDATE handlers SET old_secret_until = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE id = ${h.id};
         UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
    publish();
    ({ req } = await deliverOnce());
    assert.ok(!accepts(scheme, req, h.secret), 'the old secret no longer verifies');
    assert.ok(accepts(scheme, req, rotated.secret));
    assert.equal((await api('GET', `/handlers/${h.id}`, { key: admin.key })).json.old_secret_until, null);
  });
}

test('the dispatcher itself stops sending the old signature when the window ends, without a publish', async () => {
  const h = await createHandler({ signature_scheme: 'standard' });
  const rotated = await rotate(h, 1);
  sql(`UPDATE handlers SET old_secret_until = UTC_TIMESTAMP() + INTERVAL 4 SECOND WHERE id = ${h.id};
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
  const ends = Date.now() + 4000;
  publish();
  let { req } = await deliverOnce();
  assert.ok(Date.now() < ends - 500, 'delivered inside the window');
  assert.ok(standardAccepts(req, h.secret) && standardAccepts(req, rotated.secret));
  await new Promise((resolve) => setTimeout(resolve, ends - Date.now() + 1100));
  ({ req } = await deliverOnce());
  assert.ok(!standardAccepts(req, h.secret), 'the old secret is not sent after the window');
  assert.ok(standardAccepts(req, rotated.secret));
});

test('rotating with 0 hours, or again, or removing: only what should sign does', async () => {
  const h = await createHandler({});
  const a = await rotate(h, 0);
  assert.equal(a.old_secret_until, null, '0 hours: the old secret stops at once');
  const b = await rotate(a, 5);
  const c = await rotate(b, 5); // a second rotation keeps the secret it replaced, b, not a
  assert.ok(c.old_secret_until);
  publish();
  let { req } = await deliverOnce();
  assert.ok(stripeAccepts(req, b.secret) && stripeAccepts(req, c.secret));
  assert.ok(!stripeAccepts(req, a.secret) && !stripeAccepts(req, h.secret));
  const removed = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { secret_action: 'remove' } });
  assert.equal(removed.json.has_secret, false);
  assert.equal(removed.json.old_secret_until, null, 'removing ends the window too');
  assert.equal(sqlValue(`SELECT secret IS NULL AND old_secret IS NULL AND old_secret_until IS NULL FROM handlers WHERE id = ${h.id}`), '1');
  publish();
  ({ req } = await deliverOnce());
  assert.equal(req.headers['x-prov-signature'], undefined);
});

test('bad values get a one-line reason (422 naming the field) and nothing is written', async () => {
  const h = await createHandler({});
  const before = sql(`SELECT secret, signature_scheme, IFNULL(old_secret, ''), updated_at FROM handlers WHERE id = ${h.id}`)[0];
  const cases = [
    [{ signature_scheme: 'svix' }, 'signature_scheme', /prov or standard/],
    [{ secret_action: 'generate', old_secret_hours: 169 }, 'old_secret_hours', /from 0 to 168/],
    [{ secret_action: 'generate', old_secret_hours: -1 }, 'old_secret_hours', /from 0 to 168/],
    [{ old_secret_hours: 24 }, 'old_secret_hours', /only when a new one is generated/],
    [{ secret_action: 'remove', old_secret_hours: 24 }, 'old_secret_hours', /only when a new one is generated/],
    [{ old_secret_hours: '24' }, 'old_secret_hours', /must be an integer/],
  ];
  for (const [body, field, message] of cases) {
    const r = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body });
    assert.equal(r.status, 422, JSON.stringify(body));
    assert.equal(r.json.error.data.field, field);
    assert.match(r.json.error.message, message);
    assert.ok(!r.json.error.message.includes('\n'));
  }
  const created = await api('POST', '/handlers', { key: admin.key, body: { name: 'x', events_id: EVENT, task: `${rx.url}/echo`, signature_scheme: 'stripe' } });
  assert.equal(created.status, 422);
  assert.deepEqual(sql(`SELECT secret, signature_scheme, IFNULL(old_secret, ''), updated_at FROM handlers WHERE id = ${h.id}`)[0], before);
  const viewer = apiUser('viewer');
  const refused = await api('PATCH', `/handlers/${h.id}`, { key: viewer.key, body: { secret_action: 'generate', old_secret_hours: 1 } });
  assert.equal(refused.status, 403);
});

test('the panel form: scheme select, rotation window, its end shown, the old secret never', async () => {
  const adminPanel = await clientAs('admin');
  const FORM = { name: uniqueName('form-signed'), events_id: EVENT, task: `${rx.url}/echo`, status: 'enabled', priority: '1', timeout: '5', retry_enabled: '1', retry_schedule: '', retry_max_attempts: '' };
  const posted = await adminPanel.submit('/handlers/new', '/handlers/new', { ...FORM, secret_action: 'generate', signature_scheme: 'standard' });
  assert.equal(posted.status, 303, posted.text); // to the secret page, which shows it once
  const created = await adminPanel.get(posted.location);
  const first = /id="secret-value">([^<]+)</.exec(created.text)[1];
  assert.match(created.text, /Standard Webhooks: <code>webhook-signature<\/code>/);
  const id = Number(sqlValue(`SELECT id FROM handlers WHERE secret = ${q(first)}`));
  assert.equal(sqlValue(`SELECT signature_scheme FROM handlers WHERE id = ${id}`), 'standard');
  let form = await adminPanel.get(`/handlers/${id}`);
  assert.match(form.text, /<option value="standard" selected>/);
  assert.match(form.text, /id="f-old-hours" name="old_secret_hours"[^>]*value="0"/);
  assert.ok(!form.text.includes('id="old-secret-until"'));
  // Keeping the old secret without a new one is refused, with the values kept.
  const refused = await adminPanel.post(`/handlers/${id}`, { ...FORM, csrf_token: csrfFrom(form.text), secret_action: 'keep', old_secret_hours: '12', signature_scheme: 'standard' });
  assert.equal(refused.status, 422);
  assert.match(refused.text, /id="error-old_secret_hours">The old secret is kept only when a new one is generated/);
  const rotatedPost = await adminPanel.post(`/handlers/${id}`, { ...FORM, csrf_token: csrfFrom(form.text), secret_action: 'generate', old_secret_hours: '12', signature_scheme: 'standard' });
  assert.equal(rotatedPost.status, 303, rotatedPost.text);
  const rotated = await adminPanel.get(rotatedPost.location);
  const second = /id="secret-value">([^<]+)</.exec(rotated.text)[1];
  assert.notEqual(second, first);
  assert.match(rotated.text, /id="secret-overlap">The previous secret keeps signing too, next to this one, for\s+12 hours/);
  form = await adminPanel.get(`/handlers/${id}`);
  const until = sqlValue(`SELECT DATE_FORMAT(old_secret_until, '%Y-%m-%d %H:%i:%s') FROM handlers WHERE id = ${id}`);
  assert.match(form.text, new RegExp(`id="old-secret-until">Rotation under way: the previous secret still signs too, until ${until} UTC`));
  assert.ok(!form.text.includes(first) && !form.text.includes(second), 'no secret in the form');
  // Without the CSRF token nothing changes.
  const forged = await adminPanel.post(`/handlers/${id}`, { ...FORM, secret_action: 'generate', old_secret_hours: '1', signature_scheme: 'prov' });
  assert.equal(forged.status, 403);
  assert.equal(sqlValue(`SELECT secret FROM handlers WHERE id = ${id}`), second);
  publish();
  const { req } = await deliverOnce();
  assert.ok(standardAccepts(req, first) && standardAccepts(req, second));
  const logs = readFileSync(`${runDir}/apache/error.log`, 'utf8') + readFileSync(`${runDir}/apache/access.log`, 'utf8');
  const stored = sql(`SELECT CONCAT(request_headers, IFNULL(response_headers, ''), IFNULL(response_body, '')) FROM exec_logs WHERE handler_id = ${id}`).flat().join('\n');
  for (const secret of [first, second]) {
    assert.ok(!logs.includes(secret), 'no secret in the web server logs');
    assert.ok(!stored.includes(secret), 'no secret in the execution log');
  }
});
