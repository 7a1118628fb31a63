// Send test over the API (issue #16): POST /handlers/{id}/test and the unsaved
// POST /handlers/test: one execution of that handler only, logged with
// trigger 'test', never queued, never the handler's last status; bad input
// sends nothing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiUser, sql, sqlValue } from '../lib/panel.mjs';
import { addHandler, disableAll, publish } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

const admin = apiUser('admin');
const viewer = apiUser('viewer');
let rx;
before(async () => { rx = await startReceiver(); disableAll(); publish(); });
after(async () => { await rx.close(); });

const logs = () => Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));
const queued = () => Number(sqlValue('SELECT COUNT(*) FROM retry_queue'));

test('a saved, disabled handler is tested alone, signed, with the sample; logged as test', async () => {
  const id = addHandler({ name: 'API test target', event: 'clients.create', task: `${rx.url}/echo`, status: 'disabled',
    secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=' });
  const other = addHandler({ name: 'API test bystander', event: 'clients.create', task: `${rx.url}/bystander`, priority: 0 });
  publish();
  rx.reset();
  const r = await api('POST', `/handlers/${id}/test`, { key: admin.key, body: {} });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'success');
  assert.equal(r.json.verdict, 'unchanged');
  assert.equal(r.json.http_status, 200);
  assert.equal(r.json.request.data.login, 'sample.client', 'the clients.create sample');
  assert.match(r.json.request_headers, /X-Prov-Signature: t=\d+,v1=\[redacted\]/, 'signed, the signature kept out of the log');
  assert.match(rx.requests[0].headers['x-prov-signature'], /^t=\d+,v1=[0-9a-f]{64}$/, 'signed with the stored secret');
  assert.doesNotMatch(r.json.request_headers + r.text, /c2VjcmV0c2Vj/, 'never the secret itself');
  assert.equal(rx.requests.length, 1, 'sent once, to this handler only');
  assert.equal(rx.requests[0].path, '/echo');
  assert.equal(sqlValue(`SELECT CONCAT(trigger_kind, ' ', verdict, ' ', handler_id) FROM exec_logs WHERE id = ${r.json.log_id}`),
    `test unchanged ${id}`);
  assert.equal(sqlValue(`SELECT IFNULL(last_status, 'none') FROM handlers WHERE id = ${id}`), 'none',
    'a test is not the handler\'s last status');
  assert.ok(other > 0);
});

test('edited data, a forbid reply, another event; a failure is never queued', async () => {
  const id = addHandler({ name: 'API forbid', event: 'clients.update', task: `${rx.url}/forbid?reason=over%20limit` });
  const r = await api('POST', `/handlers/${id}/test`, { key: admin.key, body: { events_id: 'clients.delete', data: { client_id: 7 } } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.verdict, 'forbidden');
  assert.equal(r.json.reason, 'over limit');
  assert.deepEqual(r.json.request.data, { client_id: 7 });
  assert.equal(r.json.request.event.events_id, 'clients.delete');
  assert.equal(sqlValue(`SELECT forbid_reason FROM exec_logs WHERE id = ${r.json.log_id}`), 'over limit');

  const before500 = queued();
  const failing = addHandler({ name: 'API 500', event: 'clients.update', task: `${rx.url}/status/500` });
  const f = await api('POST', `/handlers/${failing}/test`, { key: admin.key });
  assert.equal(f.status, 200, f.text);
  assert.equal(f.json.status, 'fail');
  assert.equal(f.json.verdict, 'failed');
  assert.equal(f.json.http_status, 500);
  assert.equal(queued(), before500, 'a failed test is never queued for retry');
});

test('a receiver that never answers: the test ends at its timeout', async () => {
  const id = addHandler({ name: 'API hang', event: 'clients.update', task: `${rx.url}/hang`, timeoutMs: 500 });
  const t0 = Date.now();
  const r = await api('POST', `/handlers/${id}/test`, { key: admin.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'fail');
  assert.match(r.json.error, /timed out|Timeout/i);
  assert.ok(Date.now() - t0 < 8000, 'bounded');
  assert.equal(r.json.timeout_ms, 500);
});

test('unsaved handler: validated exactly like a create; bad input sends nothing', async () => {
  rx.reset();
  const n = logs();
  const r = await api('POST', '/handlers/test', { key: admin.key,
    body: { handler: { name: 'Unsaved', events_id: 'clients.create', task: `${rx.url}/modify?set=%7B%22tag%22%3A1%7D` } } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.verdict, 'modified');
  assert.equal(r.json.data.tag, 1);
  assert.equal(sqlValue(`SELECT IFNULL(handler_id, 'null') FROM exec_logs WHERE id = ${r.json.log_id}`), 'null');
  assert.equal(rx.requests.length, 1);

  const bad = [
    [{ handler: { name: '', events_id: 'clients.create', task: `${rx.url}/echo` } }, 'name'],
    [{ handler: { name: 'x', events_id: 'nope', task: `${rx.url}/echo` } }, 'events_id'],
    [{ handler: { name: 'x', events_id: 'clients.create', task: `${rx.url}/echo` }, data: [1] }, 'data'],
    [{ handler: { name: 'x', events_id: 'clients.create', task: `${rx.url}/echo` }, extra: 1 }, 'extra'],
  ];
  const before = logs();
  for (const [body, field] of bad) {
    const b = await api('POST', '/handlers/test', { key: admin.key, body });
    assert.equal(b.status, 422, b.text);
    assert.equal(b.json.error.data.field, field, b.text);
    assert.doesNotMatch(b.json.error.message, /\n/, 'one line');
  }
  assert.equal(logs(), before, 'nothing logged');
  assert.equal(rx.requests.length, 1, 'nothing sent');
  assert.ok(n >= 0);
});

test('viewers are refused; unknown handler is 404', async () => {
  const id = addHandler({ name: 'API viewer', event: 'clients.update', task: `${rx.url}/echo` });
  rx.reset();
  const r = await api('POST', `/handlers/${id}/test`, { key: viewer.key });
  assert.equal(r.status, 403, r.text);
  const u = await api('POST', '/handlers/test', { key: viewer.key, body: { handler: { name: 'x', events_id: 'clients.create', task: `${rx.url}/echo` } } });
  assert.equal(u.status, 403, u.text);
  assert.equal(rx.requests.length, 0);
  assert.equal((await api('POST', '/handlers/999999/test', { key: admin.key })).status, 404);
});

test('/metrics counts tests under trigger="test"', async () => {
  const m = await api('GET', '/metrics', { key: admin.key });
  assert.equal(m.status, 200);
  assert.match(m.text, /trigger="test"/);
});

test('GET /logs?verdict= filters by what executions decided; details carry it', async () => {
  const gate = addHandler({ name: 'API verdict gate', event: 'clients.update', task: `${rx.url}/forbid?reason=no` });
  const t = await api('POST', `/handlers/${gate}/test`, { key: admin.key });
  assert.equal(t.json.verdict, 'forbidden');
  const echo = addHandler({ name: 'API verdict echo', event: 'clients.update', task: `${rx.url}/echo` });
  assert.equal((await api('POST', `/handlers/${echo}/test`, { key: admin.key })).json.verdict, 'unchanged');
  const r = await api('GET', '/logs?verdict=forbidden&limit=200', { key: viewer.key });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.logs.length >= 1);
  assert.ok(r.json.logs.every((l) => l.verdict === 'forbidden'), r.text);
  assert.ok(r.json.logs.some((l) => l.id === t.json.log_id));
  const failed = await api('GET', '/logs?verdict=failed&limit=200', { key: viewer.key });
  assert.ok(failed.json.logs.every((l) => l.verdict === 'failed' && l.status === 'fail'));
  const bad = await api('GET', '/logs?verdict=maybe', { key: viewer.key });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.data.field, 'verdict');
  const detail = await api('GET', `/logs/${t.json.log_id}`, { key: viewer.key });
  assert.equal(detail.json.verdict, 'forbidden');
  assert.equal(detail.json.forbid_reason, 'no');
  assert.equal(detail.json.trigger, 'test');
});

test('a verdict filter reads a bounded window of the status index per request, then goes on', async () => {
  const h = addHandler({ name: 'API window', event: 'clients.update', task: `${rx.url}/echo` });
  const cols = `dt, status, verdict, forbid_reason, events_id, handler_id, handler_name, event_uid, delivery_id,
    trigger_kind, duration_us, request_body`;
  sql(`INSERT INTO exec_logs (${cols}) VALUES (UTC_TIMESTAMP(6) - INTERVAL 2 DAY, 'success', 'forbidden', 'old', 'clients.update',
    ${h}, 'API window', 'win-old', UUID(), 'dispatch', 10, '{}')`);
  sql(`SET STATEMENT max_recursive_iterations = 10000 FOR INSERT INTO exec_logs (${cols}) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5100)
    SELECT UTC_TIMESTAMP(6) - INTERVAL i SECOND, 'success', 'unchanged', NULL, 'clients.update', ${h}, 'API window',
    CONCAT('win-', i), UUID(), 'dispatch', 10, '{}' FROM n`);
  const first = await api('GET', `/logs?handler=${h}&verdict=forbidden`, { key: viewer.key });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.logs.length, 0, 'the window ended before the forbidden row');
  assert.equal(first.json.search_window_ended, true);
  assert.ok(first.json.older, 'a cursor to go on');
  const next = await api('GET', `/logs?handler=${h}&verdict=forbidden&before=${first.json.older}`, { key: viewer.key });
  assert.deepEqual(next.json.logs.map((l) => l.forbid_reason), ['old']);
});
