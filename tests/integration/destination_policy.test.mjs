// The outbound destination policy (issue #14, item 1) and what viewers read of
// credentials (item 2). Traffic only ever goes to loopback: the policy is
// tested with loopback receivers under a config that does not allow loopback
// (the test instance's config does); other ranges are refused in the form and
// the API without any connection, and unit-tested in tests/unit/test_netpolicy.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { api, apiUser, clientAs, sql, sqlValue } from '../lib/panel.mjs';
import { addHandler, configWith, disableAll, dispatch, logsOf, publish, q } from '../lib/dispatch.mjs';
import { makeDue, queueRow, worker } from '../lib/retry.mjs';
import { startReceiver } from '../lib/receiver.mjs';

const EVENT = 'clients.update';
// The instance's config without its loopback allowance: the default policy.
const denying = configWith('policy-default.conf', { outbound_allow: '' });

async function receiver(t) {
  const rx = await startReceiver();
  t.after(() => rx.close());
  return rx;
}

async function dispatchOnce(args = [], opts = {}) {
  const uid = randomUUID();
  const r = await dispatch([EVENT, '--object-id', '7', '--event-id', uid, ...args], { client_id: 7 }, opts);
  return { r, uid, logs: logsOf(uid) };
}

test('a loopback handler is blocked by the default policy, logged as such, and not retried', async (t) => {
  const rx = await receiver(t);
  disableAll();
  const id = addHandler({ name: 'internal service', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const { r, logs } = await dispatchOnce(['--config', denying]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].handlerId, id, JSON.stringify(logs));
  assert.equal(logs[0].status, 'fail');
  assert.equal(logs[0].error, 'blocked by the destination policy: 127.0.0.1 (loopback 127.0.0.0/8)');
  assert.equal(logs[0].http, 'NULL', 'no HTTP answer');
  assert.ok(!(logs[0].responseLength > 0), 'no reply stored');
  assert.equal(rx.requests.length, 0, 'the receiver got nothing');
  assert.equal(queueRow(logs[0].deliveryId), null, 'a blocked delivery is final: no retry row');
  assert.match(r.result.handlers[0].error, /blocked by the destination policy/);

  // With the loopback allowance (the test instance's config) it is delivered.
  const allowed = await dispatchOnce();
  assert.equal(allowed.logs[0].status, 'success', allowed.logs[0].error);
  assert.equal(rx.requests.length, 1);
});

test('every spelling of a loopback literal is blocked at connect time', async (t) => {
  const rx = await receiver(t);
  disableAll();
  for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]']) {
    addHandler({ name: `spelling ${host}`, event: EVENT, task: `http://${host}:${rx.port}/echo` });
  }
  publish();
  const { logs } = await dispatchOnce(['--config', denying]);
  assert.equal(logs.length, 5);
  for (const row of logs) {
    assert.equal(row.status, 'fail');
    assert.match(row.error, /^blocked by the destination policy: (127\.0\.0\.1|::ffff:127\.0\.0\.1) \(loopback 127\.0\.0\.0\/8\)$/, `${row.name}: ${row.error}`);
  }
  assert.equal(rx.requests.length, 0);
});

test('a name is checked on the address it resolves to (localhost), so DNS cannot get around the policy', async (t) => {
  const rx = await receiver(t);
  disableAll();
  addHandler({ name: 'by name', event: EVENT, task: `http://localhost:${rx.port}/echo` });
  publish();
  const { logs } = await dispatchOnce(['--config', denying]);
  assert.equal(logs.length, 1);
  assert.match(logs[0].error, /^blocked by the destination policy: (127\.0\.0\.1 \(loopback 127\.0\.0\.0\/8\)|::1 \(loopback ::1\))$/);
  assert.equal(rx.requests.length, 0);
  assert.equal(queueRow(logs[0].deliveryId), null);
  const allowed = await dispatchOnce();
  assert.equal(allowed.logs[0].status, 'success', allowed.logs[0].error);
});

test('a proxy from the environment is not used: it would connect for the dispatcher, past the policy', async (t) => {
  const rx = await receiver(t);
  const proxy = await receiver(t); // sees the request if libcurl goes through http_proxy
  disableAll();
  addHandler({ name: 'proxied', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const env = { http_proxy: proxy.url, HTTP_PROXY: proxy.url, ALL_PROXY: proxy.url, all_proxy: proxy.url, no_proxy: '', NO_PROXY: '' };
  const allowed = await dispatchOnce([], { env });
  assert.equal(allowed.logs[0].status, 'success', allowed.logs[0].error);
  assert.equal(proxy.requests.length, 0, 'the proxy saw nothing');
  assert.equal(rx.requests.length, 1, 'the handler was reached directly');
  const denied = await dispatchOnce(['--config', denying], { env });
  assert.match(denied.logs[0].error, /^blocked by the destination policy/);
  assert.equal(proxy.requests.length, 0);
  assert.equal(rx.requests.length, 1);
});

test('the retry worker obeys the policy: a queued retry to a refused address ends, without traffic', async (t) => {
  const rx = await receiver(t);
  disableAll();
  addHandler({ name: 'flaky internal', event: EVENT, task: `${rx.url}/status/503` });
  publish();
  const first = await dispatchOnce(); // allowed: 503, queued for retry
  assert.equal(first.logs[0].http, '503');
  const deliveryId = first.logs[0].deliveryId;
  assert.equal(queueRow(deliveryId).state, 'scheduled');
  makeDue(`delivery_id = ${q(deliveryId)}`);
  const w = await worker(['--once', '--config', denying]);
  assert.equal(w.status, 0, w.stderr);
  const rows = sql(`SELECT attempt, trigger_kind, error FROM exec_logs WHERE delivery_id = ${q(deliveryId)} ORDER BY id`);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1].slice(0, 2), ['2', 'retry']);
  assert.equal(rows[1][2], 'blocked by the destination policy: 127.0.0.1 (loopback 127.0.0.0/8)');
  assert.equal(queueRow(deliveryId).state, 'exhausted', 'not scheduled again');
  assert.equal(rx.requests.length, 1, 'only the first, allowed delivery reached the receiver');
});

test('the form and the API refuse literal addresses in denied ranges, with one line', async () => {
  const admin = apiUser('admin');
  const tasks = ['http://10.1.2.3/hook', 'http://[fe80::1]/x', 'http://169.254.169.254/latest/meta-data/',
    'https://user:pw@192.168.1.10/x', '100.64.0.1:8080/hook', 'http://[fd00::1]:8443/'];
  const before = sqlValue('SELECT COUNT(*) FROM handlers');
  for (const task of tasks) {
    const r = await api('POST', '/handlers', { key: admin.key, body: { name: 'internal', events_id: EVENT, task } });
    assert.equal(r.status, 422, `${task}: ${r.text}`);
    assert.equal(r.json.error.data.field, 'task');
    assert.match(r.json.error.message, /^The destination policy refuses the address [^\n]+ \(.+\); the config's outbound_allow lists/);
  }
  const client = await clientAs('admin');
  const form = await client.submit('/handlers/new', '/handlers/new', {
    name: 'internal', events_id: EVENT, task: 'http://[fe80::1]:8080/hook', status: 'enabled', priority: '1',
  });
  assert.equal(form.status, 422, form.text.slice(0, 300));
  assert.match(form.text, /The destination policy refuses the address fe80::1 \(link-local fe80::\/10\)/);
  assert.equal(sqlValue('SELECT COUNT(*) FROM handlers'), before, 'nothing stored');
  // Loopback is allowed by the test instance's config, in any spelling.
  const ok = await api('POST', '/handlers', { key: admin.key, body: { name: 'local', events_id: EVENT, task: 'http://2130706433:9/x', status: 'disabled' } });
  assert.equal(ok.status, 201, ok.text);
});

test('viewers see task URLs without passwords, tokens or query values; admins see them whole', async () => {
  const task = 'http://crm-user:Pa55word@127.0.0.1:9/hook?token=s3cr3tvalue&mode=full';
  const masked = 'http://crm-user:***@127.0.0.1:9/hook?token=***&mode=***';
  const maskedHtml = masked.replace(/&/g, '&amp;');
  const id = addHandler({ name: 'with credentials', event: EVENT, task, status: 'disabled' });
  const viewer = await clientAs('viewer');
  const list = await viewer.get('/handlers?status=disabled&size=500&sort=id&dir=desc');
  assert.equal(list.status, 200);
  assert.ok(list.text.includes(maskedHtml), 'the list shows the masked task');
  const form = await viewer.get(`/handlers/${id}`);
  assert.equal(form.status, 200);
  assert.ok(form.text.includes(maskedHtml), 'the form shows the masked task');
  for (const page of [list.text, form.text]) {
    assert.ok(!page.includes('Pa55word') && !page.includes('s3cr3tvalue'), 'no credential in the page');
  }
  const viewerKey = apiUser('viewer').key;
  const one = await api('GET', `/handlers/${id}`, { key: viewerKey });
  assert.equal(one.json.task, masked);
  const all = await api('GET', '/handlers?status=disabled&limit=500', { key: viewerKey });
  assert.ok(!all.text.includes('Pa55word') && !all.text.includes('s3cr3tvalue'));
  assert.equal(all.json.handlers.find((h) => h.id === id).task, masked);
  // Admins edit the URL: they see it whole.
  const admin = await clientAs('admin');
  const adminForm = await admin.get(`/handlers/${id}`);
  assert.ok(adminForm.text.includes(task.replace(/&/g, '&amp;')), 'the admin form has the full task');
  const adminApi = await api('GET', `/handlers/${id}`, { key: apiUser('admin').key });
  assert.equal(adminApi.json.task, task);
});

test('stored request headers carry the signature redacted: a log reader cannot replay a signed request', async (t) => {
  const rx = await receiver(t);
  disableAll();
  addHandler({ name: 'signed', event: EVENT, task: `${rx.url}/echo`, secret: 'whsec-redaction-test' });
  publish();
  const { logs } = await dispatchOnce();
  assert.equal(logs[0].status, 'success', logs[0].error);
  const sent = rx.requests[0].headers['x-prov-signature'];
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sent);
  assert.ok(m, `the receiver got a real signature: ${sent}`);
  const hex = sqlValue(`SELECT HEX(request_headers) FROM exec_logs WHERE delivery_id = ${q(logs[0].deliveryId)}`);
  const stored = Buffer.from(hex, 'hex').toString('utf8');
  assert.match(stored, new RegExp(`^X-Prov-Signature: t=${m[1]},v1=\\[redacted\\]$`, 'm'));
  assert.ok(!stored.includes(m[2]), 'the MAC is not stored');
  assert.doesNotMatch(stored, /[0-9a-f]{64}/);
  // The other headers stay as sent.
  assert.match(stored, new RegExp(`^X-Prov-Delivery: ${logs[0].deliveryId}$`, 'm'));
  // Nor does the log's detail page or the API show it.
  const logId = sqlValue(`SELECT id FROM exec_logs WHERE delivery_id = ${q(logs[0].deliveryId)}`);
  const viewer = await clientAs('viewer');
  const page = await viewer.get(`/logs/${logId}`);
  assert.ok(!page.text.includes(m[2]));
  const apiLog = await api('GET', `/logs/${logId}`, { key: apiUser('viewer').key });
  assert.ok(!apiLog.text.includes(m[2]));
});
