// The OpenAPI description (static/openapi.json) is checked against the server:
// it is served, every $ref resolves, every route of cgi-bin/api.c is documented
// (with a unique operationId) and nothing else is, and every operation's x-examples run with the documented
// status, covering every status the operation documents; api() checks each
// answer against the document's schema (tests/lib/api_contract.mjs). An
// example with missing_table runs while that table is renamed away: api_keys
// makes the key check fail (503), the operation's own table its query (500);
// one with fill_test_queue runs while the script test queue is full (429).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { api, apiUser, baseUrl, sql, sqlValue } from '../lib/panel.mjs';
import { dispatch, publish, scriptsDir } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

const root = new URL('../../', import.meta.url);
const doc = JSON.parse(readFileSync(new URL('static/openapi.json', root), 'utf8'));
const methods = ['get', 'post', 'patch', 'delete', 'put'];
const admin = apiUser('admin');
const viewer = apiUser('viewer');
const ids = {};
let receiver;

function resolve(ref) {
  return ref.replace(/^#\//, '').split('/').reduce((node, key) => node?.[key], doc);
}

before(async () => {
  receiver = await startReceiver();
  const make = async (body) => {
    const r = await api('POST', '/handlers', { key: admin.key, body: { events_id: 'clients.accounts.update', task: `${receiver.url}/echo`, ...body } });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  ids.handler = await make({ name: 'OpenAPI example' });
  ids.archived = await make({ name: 'OpenAPI archived', status: 'archived' });
  ids.disposable = await make({ name: 'OpenAPI disposable' });
  // A script handler: its redelivery is queued for the retry worker (202).
  writeFileSync(`${scriptsDir}/openapi-example.sh`, '#!/bin/sh\ncat\n');
  chmodSync(`${scriptsDir}/openapi-example.sh`, 0o755);
  ids.script = await make({ name: 'OpenAPI script', task: 'openapi-example.sh' });
  ids.missing = 999999999;
  ids.generation = publish(); // POST /cache/rollback's example publishes it again
  // A bulk redelivery of nothing (a range in the future): GET /bulk-redeliveries/{id}'s example.
  const bulk = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { since: '2097-01-01T00:00:00Z' } });
  assert.equal(bulk.status, 202, bulk.text);
  ids.bulk = bulk.json.id;
  const run = await dispatch(['clients.accounts.update', '--object-id', '3'], { account_id: 3 });
  assert.equal(run.status, 0, run.stderr);
  ids.log = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE handler_id = ${ids.handler}`));
  ids.unpublished_log = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE handler_id = ${ids.handler}`));
  // A log row whose handler is not published: the archived one never is.
  sql(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id, attempt,
       trigger_kind, duration_us, request_body) SELECT dt, 'fail', events_id, ${ids.archived}, 'OpenAPI archived',
       event_uid, UUID(), 1, 'dispatch', 1, request_body FROM exec_logs WHERE id = ${ids.log}`);
  ids.unpublished_log = Number(sqlValue('SELECT MAX(id) FROM exec_logs'));
  sql(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id, attempt,
       trigger_kind, duration_us, request_body) SELECT dt, 'success', events_id, ${ids.script}, 'OpenAPI script',
       event_uid, UUID(), 1, 'dispatch', 1, request_body FROM exec_logs WHERE id = ${ids.log}`);
  ids.script_log = Number(sqlValue('SELECT MAX(id) FROM exec_logs'));
  // A script's Send test, queued for the retry worker: GET /handler-tests/{id}'s example.
  const queued = await api('POST', `/handlers/${ids.script}/test`, { key: admin.key, body: {} });
  assert.equal(queued.status, 202, queued.text);
  ids.test = queued.json.test_id;
});

// x-example fill_test_queue: the script test queue holds its bound (20) while it runs.
async function withFullTestQueue(fill, fn) {
  if (!fill) return fn();
  const mark = 'openapi queue filler';
  sql(`INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at, handler_name, events_id, task,
    timeout_ms, data) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
    SELECT 'queued', '${mark}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'filler', 'clients.create', 'openapi-example.sh',
    1000, '{}' FROM n`);
  try {
    return await fn();
  } finally {
    sql(`DELETE FROM handler_test_queue WHERE requested_by = '${mark}'`);
  }
}

after(() => {
  receiver?.close(); // here, not at the end of a test: a failed example would leave the file hanging
  sql(`DELETE FROM redeliver_queue WHERE log_id = ${ids.script_log}`); // no run for later tests
  sql(`DELETE FROM handler_test_queue WHERE id = ${ids.test || 0}`);
});

test('the description is served beside the API and its references resolve', async () => {
  const r = await fetch(`${baseUrl}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), doc);
  assert.equal(doc.openapi, '3.0.3');
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) || [];
  assert.ok(refs.length > 10);
  for (const ref of refs) assert.ok(resolve(ref.slice(8, -1)), `${ref} resolves`);
});

test('every route of the API is documented, and only those', () => {
  const source = readFileSync(new URL('cgi-bin/api.c', root), 'utf8');
  const served = [...source.matchAll(/\{"(GET|POST|PATCH|DELETE|PUT)", "([^"]+)", API_(READ|WRITE|SCRAPE)/g)]
    .map(([, m, p, access]) => `${m.toLowerCase()} ${p.replace('#', '{id}')} ${access.toLowerCase()}`).sort();
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.entries(ops)
    .filter(([m]) => methods.includes(m)).map(([m, o]) => `${m} ${p} ${o['x-access']}`)).sort();
  assert.deepEqual(documented, served);
  const operationIds = Object.values(doc.paths).flatMap((ops) => Object.entries(ops)
    .filter(([m]) => methods.includes(m)).map(([, o]) => o.operationId));
  assert.ok(operationIds.every((id) => /^[a-z][A-Za-z]+$/.test(id)), `operationIds: ${operationIds}`);
  assert.equal(new Set(operationIds).size, operationIds.length, 'operationIds are unique');
});

// Run fn while table is renamed away (the API's query on it fails), then put it back.
async function withoutTable(table, fn) {
  if (!table) return fn();
  assert.match(table, /^[a-z_]+$/);
  sql(`RENAME TABLE ${table} TO ${table}_contract_away`);
  try {
    return await fn();
  } finally {
    sql(`RENAME TABLE ${table}_contract_away TO ${table}`);
  }
}

test('every example runs with its documented status, covering each documented status', async () => {
  let ran = 0;
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, o] of Object.entries(ops)) {
      if (!methods.includes(method)) continue;
      const documented = Object.keys(o.responses).map(Number).sort();
      const exercised = [...new Set(o['x-examples'].map((x) => x.status))].sort();
      assert.deepEqual(exercised, documented, `${method} ${p}: examples cover every documented status`);
      for (const x of o['x-examples']) {
        const key = x.key === 'none' ? undefined : x.key === 'bad' ? 'pk_nonsense'
          : x.key === 'viewer' ? viewer.key : admin.key;
        let urlPath = p.replace('{id}', String(ids[x.id]));
        if (x.query) urlPath += `?${x.query}`;
        const opts = { key };
        if (x.body) opts.body = x.oversize ? { ...x.body, name: 'x'.repeat(x.oversize) } : x.body;
        // Members whose value is one of the ids above (a generation number is known only once published).
        for (const [member, id] of Object.entries(x.body_ids || {})) opts.body = { ...opts.body, [member]: ids[id] };
        if (x.raw !== undefined) { opts.rawBody = x.raw; }
        if (x.content_type) opts.contentType = x.content_type;
        const r = await withFullTestQueue(x.fill_test_queue,
          () => withoutTable(x.missing_table, () => api(method.toUpperCase(), urlPath, opts)));
        const label = `${method.toUpperCase()} ${urlPath} (${JSON.stringify(x).slice(0, 120)})`;
        assert.equal(r.status, x.status, `${label}: ${r.text.slice(0, 300)}`);
        let declared = o.responses[String(x.status)];
        if (declared.$ref) declared = resolve(declared.$ref.slice(2));
        const content = declared.content;
        const schemaRef = content?.['application/json']?.schema?.$ref;
        if (content?.['text/plain']) {
          assert.match(r.headers.get('content-type'), /^text\/plain/, label);
          assert.ok(r.text.length > 0, `${label}: a body`);
        } else if (schemaRef) {
          const schema = resolve(schemaRef.slice(2));
          for (const field of schema.required || []) assert.ok(field in r.json, `${label}: has ${field}`);
        } else {
          assert.equal(r.text, '', `${label}: no body`);
        }
        if (x.cleanup && r.json?.id) await api('DELETE', `/handlers/${r.json.id}`, { key: admin.key });
        if (x.cleanup_tests && r.json?.test_id) sql(`DELETE FROM handler_test_queue WHERE id = ${r.json.test_id}`); // never run later
        ran++;
      }
    }
  }
  assert.ok(ran >= 80, `ran ${ran} examples`);
});
