// JSON API: handlers CRUD with the panel's validation, roles, input errors,
// and the Cache Manager; a round trip through the panel and the dispatcher.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiUser, clientAs, sql, sqlValue } from '../lib/panel.mjs';
import { dispatch } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

const admin = apiUser('admin');
const viewer = apiUser('viewer');
const valid = { name: 'CRM sync', events_id: 'clients.create', task: '127.0.0.1:9/hook' };
const digest = () => sqlValue(`SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, events_id, task,
  status, priority, timeout_ms, retry_enabled, COALESCE(secret, '')))), 0)) FROM handlers`);

function assertError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error.data.code, code, r.text);
  if (field !== undefined) assert.equal(r.json.error.data.field, field, r.text);
  assert.equal(typeof r.json.error.message, 'string');
}

test('create, read, list, patch, toggle and delete a handler', async () => {
  const created = await api('POST', '/handlers', {
    key: admin.key, body: { ...valid, priority: 4, timeout_ms: 2500, retry_schedule: '1s,1m', secret_action: 'generate' },
  });
  assert.equal(created.status, 201, created.text);
  const h = created.json;
  assert.equal(h.task, 'http://127.0.0.1:9/hook', 'host:port/path is stored as http://');
  assert.equal(h.task_type, 'http');
  assert.equal(h.status, 'enabled');
  assert.deepEqual([h.priority, h.timeout_ms, h.retry_enabled, h.retry_schedule], [4, 2500, true, '1s,1m']);
  assert.match(h.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a generated secret is returned once');
  assert.equal(sqlValue(`SELECT secret FROM handlers WHERE id=${h.id}`), h.secret);

  // Times are ISO 8601 in UTC, with their zone.
  assert.match(h.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Math.abs(Date.parse(h.created_at) - Date.now()) < 120e3, `created_at is now: ${h.created_at}`);

  const got = await api('GET', `/handlers/${h.id}`, { key: viewer.key });
  assert.equal(got.status, 200);
  assert.equal(got.json.secret, undefined, 'never shown again');
  assert.equal(got.json.has_secret, true);

  const list = await api('GET', '/handlers?events_id=clients.create&task_type=http&sort=id&order=desc&limit=1', { key: viewer.key });
  assert.equal(list.status, 200);
  assert.equal(list.json.handlers.length, 1);
  assert.equal(list.json.handlers[0].id, h.id);
  assert.ok(list.json.total >= 1);

  const patched = await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { priority: 9, retry_enabled: false, retry_schedule: null } });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual([patched.json.priority, patched.json.retry_enabled, patched.json.retry_schedule, patched.json.name],
    [9, false, null, 'CRM sync']);
  assert.equal(patched.json.has_secret, true, 'PATCH keeps the secret unless asked');

  const off = await api('POST', `/handlers/${h.id}/status`, { key: admin.key, body: { status: 'disabled' } });
  assert.equal(off.json.status, 'disabled');
  await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { status: 'archived' } });
  assertError(await api('POST', `/handlers/${h.id}/status`, { key: admin.key, body: { status: 'enabled' } }), 409, 'archived');
  assert.equal((await api('GET', '/handlers', { key: viewer.key })).json.handlers.some((x) => x.id === h.id), false,
    'archived is not in the default list');
  assert.equal((await api('GET', '/handlers?status=archived', { key: viewer.key })).json.handlers.some((x) => x.id === h.id), true);

  const gone = await api('DELETE', `/handlers/${h.id}`, { key: admin.key });
  assert.equal(gone.status, 204);
  assert.equal(gone.text, '');
  assertError(await api('GET', `/handlers/${h.id}`, { key: admin.key }), 404, 'not_found');
  assertError(await api('DELETE', `/handlers/${h.id}`, { key: admin.key }), 404, 'not_found');
  assertError(await api('PATCH', `/handlers/${h.id}`, { key: admin.key, body: { priority: 2 } }), 404, 'not_found');
});

test('what the form refuses the API refuses with 422 naming the field', async () => {
  const before = digest();
  const cases = [
    [{ ...valid, name: '' }, 'name'],
    [{ ...valid, name: 'x'.repeat(10240) }, 'name'],
    [{ ...valid, events_id: 'clients.explode' }, 'events_id'],
    [{ ...valid, priority: 0 }, 'priority'],
    [{ ...valid, priority: -1 }, 'priority'],
    [{ ...valid, task: 'ftp://x' }, 'task'],
    [{ ...valid, task: '../../bin/sh' }, 'task'],
    [{ ...valid, task: '/bin/sh' }, 'task'],
    [{ ...valid, status: 'paused' }, 'status'],
    [{ ...valid, timeout_ms: 0 }, 'timeout_ms'],
    [{ ...valid, retry_schedule: '5x' }, 'retry_schedule'],
    [{ ...valid, secret_action: 'leak' }, 'secret_action'],
  ];
  for (const [body, field] of cases) {
    const r = await api('POST', '/handlers', { key: admin.key, body });
    assertError(r, 422, 'validation', field);
    assert.equal(typeof r.json.error.data.fields[field], 'string');
  }
  const unknownEvent = await api('POST', '/handlers', { key: admin.key, body: { ...valid, events_id: 'nope' } });
  assert.match(unknownEvent.json.error.message, /clients\.subscriptions\.close/, 'the valid events are listed');
  assertError(await api('POST', '/handlers', { key: admin.key, body: { ...valid, priority: 'abc' } }), 422, 'invalid_type', 'priority');
  assertError(await api('POST', '/handlers', { key: admin.key, body: { ...valid, retry_enabled: 'yes' } }), 422, 'invalid_type', 'retry_enabled');
  assertError(await api('POST', '/handlers', { key: admin.key, body: { ...valid, name: 12 } }), 422, 'invalid_type', 'name');
  assertError(await api('POST', '/handlers', { key: admin.key, body: { ...valid, owner: 'x' } }), 422, 'unknown_field', 'owner');
  assertError(await api('POST', '/handlers/1/status', { key: admin.key, body: { status: 'archived' } }), 422, 'validation', 'status');
  assert.equal(digest(), before, 'nothing was written');
});

test('malformed bodies, wrong content types, oversize bodies and bad queries', async () => {
  const before = digest();
  assertError(await api('POST', '/handlers', { key: admin.key, rawBody: '{"name": ' }), 400, 'invalid_json');
  assertError(await api('POST', '/handlers', { key: admin.key, rawBody: '[1,2]' }), 400, 'invalid_json');
  assertError(await api('POST', '/handlers', { key: admin.key, rawBody: '{"name":"a","name":"b"}' }), 400, 'invalid_json');
  assertError(await api('POST', '/handlers', { key: admin.key, rawBody: JSON.stringify(valid), contentType: 'text/plain' }), 415, 'unsupported_media_type');
  assertError(await api('POST', '/handlers', { key: admin.key, rawBody: JSON.stringify({ ...valid, name: 'x'.repeat(300000) }) }), 413, 'too_large');
  assertError(await api('POST', '/handlers', { key: admin.key }), 400, 'bad_request');
  assertError(await api('GET', '/handlers?status=paused', { key: admin.key }), 400, 'bad_request');
  assertError(await api('GET', '/handlers?limit=0', { key: admin.key }), 400, 'bad_request', 'limit');
  assertError(await api('GET', '/handlers?limit=100000', { key: admin.key }), 400, 'bad_request', 'limit');
  assertError(await api('GET', '/handlers?sort=name;DROP', { key: admin.key }), 400, 'bad_request');
  // A misspelled or foreign filter is refused, not ignored (which would list every handler).
  let r = await api('GET', '/handlers?event=clients.update', { key: admin.key });
  assertError(r, 400, 'bad_request', 'event');
  assert.match(r.json.error.message, /unknown query parameter 'event'; this list takes: events_id, task_type, status/);
  r = await api('GET', '/logs?handler_id=1', { key: admin.key });
  assertError(r, 400, 'bad_request', 'handler_id');
  assert.match(r.json.error.message, /this list takes: handler, event, status, verdict, q, from, to, before, after, limit/);
  assert.equal((await api('GET', '/handlers?events_id=clients.update&limit=5', { key: admin.key })).status, 200);
  assertError(await api('GET', '/handlers/abc', { key: admin.key }), 404, 'not_found');
  assert.equal(digest(), before);
});

test('SQL and HTML in string fields are stored and returned verbatim', async () => {
  const name = `'); DROP TABLE handlers; -- <img src=x onerror=alert(1)> "q"`;
  const r = await api('POST', '/handlers', { key: admin.key, body: { ...valid, name } });
  assert.equal(r.status, 201, r.text);
  try {
    assert.equal(r.json.name, name);
    assert.equal(sqlValue(`SELECT name FROM handlers WHERE id=${r.json.id}`), name);
    const panel = await clientAs('viewer');
    const page = await panel.get('/handlers?sort=id&dir=desc');
    assert.ok(page.text.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the panel escapes it');
  } finally {
    await api('DELETE', `/handlers/${r.json.id}`, { key: admin.key });
  }
});

test('hostile text in every string field is stored verbatim or refused, never an error', async () => {
  const hostile = [`'); DROP TABLE handlers; --`, '<script>alert(1)</script>', '" OR ""="', '\u0000x', '%00%27'];
  const fields = ['name', 'events_id', 'task', 'status', 'retry_schedule', 'secret_action'];
  const created = [];
  for (const field of fields) {
    for (const value of hostile) {
      const r = await api('POST', '/handlers', { key: admin.key, body: { ...valid, [field]: value } });
      assert.ok([201, 400, 422].includes(r.status), `${field}=${value}: ${r.status} ${r.text}`);
      if (r.status === 400) {
        assert.equal(r.json.error.data.code, 'invalid_json', 'only a NUL character is refused as JSON');
        assert.ok(value.includes('\u0000'));
      } else if (r.status === 201) {
        created.push(r.json.id);
        assert.equal(r.json[field], value);
        await api('DELETE', `/handlers/${r.json.id}`, { key: admin.key });
      } else {
        assert.equal(r.json.error.data.field, field);
      }
    }
  }
  const search = await api('GET', `/logs?q=${encodeURIComponent("' OR 1=1 -- <b>")}`, { key: viewer.key });
  assert.equal(search.status, 200);
  // Only this test's own rows: one another test left behind must not count.
  assert.ok(created.length > 0, 'some hostile values are stored');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id IN (${created.join(',')})`), '0',
    'every stored one was deleted again (and the table is still there)');
});

test('a viewer key is refused every write with 403 and nothing changes', async () => {
  const id = (await api('POST', '/handlers', { key: admin.key, body: valid })).json.id;
  const before = digest();
  const cacheBefore = sqlValue('SELECT COALESCE(generation, 0) FROM cache_state');
  const writes = [
    ['POST', '/handlers', valid],
    ['PATCH', `/handlers/${id}`, { priority: 2 }],
    ['DELETE', `/handlers/${id}`, undefined],
    ['POST', `/handlers/${id}/status`, { status: 'disabled' }],
    ['POST', '/cache/restart', undefined],
  ];
  for (const [method, path, body] of writes) {
    assertError(await api(method, path, { key: viewer.key, body }), 403, 'forbidden');
  }
  assert.equal(digest(), before);
  assert.equal(sqlValue('SELECT COALESCE(generation, 0) FROM cache_state'), cacheBefore);
  await api('DELETE', `/handlers/${id}`, { key: admin.key });
});

test('round trip: create by API, see it in the panel, restart the cache by API, dispatch', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  sql(`UPDATE handlers SET status = 'disabled' WHERE events_id = 'clients.archive' AND status = 'enabled';
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
  const created = await api('POST', '/handlers', {
    key: admin.key, body: { name: 'Round trip', events_id: 'clients.archive', task: `${receiver.url}/echo` },
  });
  assert.equal(created.status, 201);
  const panel = await clientAs('viewer');
  const page = await panel.get('/handlers?events_id=clients.archive');
  assert.ok(page.text.includes('Round trip'));
  assert.equal((await api('GET', '/cache', { key: viewer.key })).json.pending, true);
  const restarted = await api('POST', '/cache/restart', { key: admin.key });
  assert.equal(restarted.status, 200, restarted.text);
  assert.equal(restarted.json.pending, false);
  assert.equal(restarted.json.published_by, admin.name);
  assert.ok(restarted.json.handler_count >= 1);
  const run = await dispatch(['clients.archive', '--object-id', '77'], { client_id: 77 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(receiver.requests.length, 1);
  assert.equal(JSON.parse(receiver.requests[0].body).event.object_id, 77);
  assert.equal(run.result.handlers[0].id, created.json.id);
  const logs = await api('GET', `/logs?handler=${created.json.id}`, { key: viewer.key });
  assert.equal(logs.status, 200, logs.text);
  assert.equal(logs.json.logs.length, 1);
  assert.deepEqual([logs.json.logs[0].status, logs.json.logs[0].object_id, logs.json.logs[0].trigger], ['success', 77, 'dispatch']);
  const detail = await api('GET', `/logs/${logs.json.logs[0].id}`, { key: viewer.key });
  assert.equal(JSON.parse(detail.json.request_body).data.client_id, 77);
  assert.equal(detail.json.delivery_id, receiver.requests[0].headers['x-prov-delivery']);
  await api('DELETE', `/handlers/${created.json.id}`, { key: admin.key });
});

test('a log entry\'s time is ISO 8601 in UTC, in the list and in the details (microseconds there)', async () => {
  const handler = 4100000000 + Math.floor(Math.random() * 1000000);
  const id = Number(sqlValue(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id,
      request_body) VALUES ('2026-03-04 05:06:07.089012', 'success', 'clients.create', ${handler}, 'iso', 'iso-evt', UUID(), '{}');
    SELECT LAST_INSERT_ID()`));
  const list = await api('GET', `/logs?handler=${handler}`, { key: viewer.key });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.logs[0].dt, '2026-03-04T05:06:07Z');
  const detail = await api('GET', `/logs/${id}`, { key: viewer.key });
  assert.equal(detail.json.dt, '2026-03-04T05:06:07.089012Z');
  sql(`DELETE FROM exec_logs WHERE id = ${id}`);
});

test('optimistic locking: a PATCH on an older revision is a 409 and changes nothing; without one it checks what it read', async () => {
  const created = await api('POST', '/handlers', { key: admin.key, body: { ...valid, name: 'revisions' } });
  assert.equal(created.status, 201, created.text);
  const { id, revision } = created.json;
  assert.equal(revision, 1);
  let r = await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { priority: 2, revision } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.revision, 2);
  r = await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { priority: 3, revision } });
  assertError(r, 409, 'conflict', 'revision');
  assert.equal(sqlValue(`SELECT priority FROM handlers WHERE id=${id}`), '2', 'the stale change is not applied');
  r = await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { priority: 3 } });
  assert.equal(r.json.revision, 3);
  r = await api('POST', `/handlers/${id}/status`, { key: admin.key, body: { status: 'disabled' } });
  assert.equal(r.json.revision, 4, 'a status change is a write too');
  assertError(await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { revision: 0 } }), 422, 'validation', 'revision');
  assertError(await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { revision: '4' } }), 422, 'invalid_type', 'revision');
  sql(`DELETE FROM handlers WHERE id = ${id}`);
});
