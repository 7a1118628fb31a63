// Issue #16, the API and the CLI: bulk recovery (prov-admin logs redeliver,
// POST /bulk-redeliveries, prov-worker running it), the history of handler
// changes and publishes, the publish preview and the rollback to a kept
// generation (prov-cache, POST /cache/rollback) that the dispatcher then runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { api, apiUser, configPath, runBin, runDir, sql, sqlValue } from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, editHandler, publish } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { worker } from '../lib/retry.mjs';

const admin = apiUser('admin');
const viewer = apiUser('viewer');

function utcNow() {
  return sqlValue("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s')");
}

// A handler whose receiver fails its first `failures` requests, then echoes; the
// events are dispatched (and fail) while it is down. Retries are off, so only
// the bulk redelivery sends them again.
async function outage(t, { failures, objects, event = 'clients.update' }) {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  disableAll();
  const task = `${receiver.url}/status/503?times=${failures}`;
  const handlerId = addHandler({ name: `Outage ${Date.now()}`, event, task });
  editHandler(handlerId, 'retry_enabled = 0');
  publish();
  const since = utcNow();
  for (const object of objects) {
    const run = await dispatch([event, '--object-id', String(object)], { client_id: object });
    assert.equal(run.status, 0, run.stderr);
  }
  const failed = sql(`SELECT id, delivery_id, object_id FROM exec_logs WHERE handler_id = ${handlerId} AND status = 'fail' ORDER BY id`);
  assert.equal(failed.length, objects.length, 'every dispatch failed while the receiver was down');
  return { receiver, handlerId, since, failed };
}

test('prov-admin logs redeliver: N stated, a second request is the first, the worker delivers each once in order', async (t) => {
  const { receiver, handlerId, since, failed } = await outage(t, { failures: 4, objects: [7, 8, 7, 9] });
  const before = receiver.requests.length;
  const asked = runBin('prov-admin', ['logs', 'redeliver', '--handler', String(handlerId), '--since', since]);
  assert.equal(asked.status, 0, asked.stderr);
  assert.match(asked.stdout, /^4 failed executions to redeliver/m);
  const id = Number(/bulk redelivery #(\d+)/.exec(asked.stdout)[1]);
  const again = runBin('prov-admin', ['logs', 'redeliver', '--handler', String(handlerId), '--since', since]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /already pending: nothing queued twice/);
  assert.equal(Number(/bulk redelivery #(\d+)/.exec(again.stdout)[1]), id, 'the same request');
  // The API's identical request (ISO time) is that one too.
  const viaApi = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { handler_id: handlerId, since: `${since.replace(' ', 'T')}Z` } });
  assert.equal(viaApi.status, 200, viaApi.text);
  assert.equal(viaApi.json.id, id);
  assert.equal(viaApi.json.existing, true);
  assert.equal(viaApi.json.expected, 4);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM bulk_redeliveries WHERE handler_id = ${handlerId}`), '1');

  const pass = await worker(['--once']);
  assert.equal(pass.status, 0, pass.stderr);
  assert.match(pass.stdout, /bulk redelivery: 4 queued, 4 delivered, 0 failed, \d+ requests? finished/); // others: earlier tests' empty ones
  const progress = await api('GET', `/bulk-redeliveries/${id}`, { key: viewer.key });
  assert.equal(progress.status, 200);
  assert.deepEqual([progress.json.state, progress.json.total, progress.json.delivered, progress.json.failed, progress.json.done],
    ['done', 4, 4, 0, 4]);
  // Each failed execution was sent once more, and in log order per object (7 before 7).
  const sent = receiver.requests.slice(before);
  assert.equal(sent.length, 4);
  assert.deepEqual(sent.map((r) => r.headers['x-prov-delivery']), failed.map(([, delivery]) => delivery),
    'in log id order, each delivery once');
  assert.deepEqual(sent.map((r) => JSON.parse(r.body).event.object_id), [7, 8, 7, 9]);
  const manual = sql(`SELECT redelivery_of, status, trigger_kind FROM exec_logs WHERE handler_id = ${handlerId} AND trigger_kind = 'manual' ORDER BY id`);
  assert.deepEqual(manual.map(([of]) => of), failed.map(([logId]) => logId));
  assert.ok(manual.every(([, status]) => status === 'success'));
  // Done: asking again finds nothing left (the last attempts succeeded), and a new pass sends nothing.
  const after = runBin('prov-admin', ['logs', 'redeliver', '--handler', String(handlerId), '--since', since]);
  assert.match(after.stdout, /^0 failed executions to redeliver/m);
  await worker(['--once']);
  assert.equal(receiver.requests.length, before + 4, 'nothing delivered twice');
  const shown = runBin('prov-admin', ['logs', 'bulk', String(id)]);
  assert.match(shown.stdout, /#\d+: done; 4 of 4 done \(4 delivered, 0 failed again\)/);
});

test('POST /bulk-redeliveries: 202 with progress, failures counted, viewers refused, bad input 422', async (t) => {
  const { handlerId, since } = await outage(t, { failures: 3, objects: [1, 2] }); // still down for the first redelivery
  const refused = await api('POST', '/bulk-redeliveries', { key: viewer.key, body: { handler_id: handlerId, since } });
  assert.equal(refused.status, 403);
  const bad = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { handler_id: handlerId } });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.data.field, 'since');
  const unknown = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { since, events_id: 'clients.nope' } });
  assert.equal(unknown.status, 422);
  const r = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { handler_id: handlerId, since } });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.state, 'selecting');
  assert.equal(r.json.expected, 2);
  assert.match(r.json.requested_by, /^key test key \(api-admin/);
  await worker(['--once']);
  const done = await api('GET', `/bulk-redeliveries/${r.json.id}`, { key: admin.key });
  assert.deepEqual([done.json.state, done.json.delivered, done.json.failed], ['done', 1, 1]);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM bulk_redelivery_items WHERE bulk_id = ${r.json.id} AND active_log_id IS NOT NULL`), '0');
  // The one that failed again is the last of its delivery now: a new request takes it (once).
  const next = await api('POST', '/bulk-redeliveries', { key: admin.key, body: { handler_id: handlerId, since } });
  assert.equal(next.status, 202);
  assert.equal(next.json.expected, 1);
});

test('two different pending requests never queue one execution twice (the database refuses the second)', async (t) => {
  const { receiver, handlerId, since } = await outage(t, { failures: 2, objects: [3, 4] });
  const before = receiver.requests.length;
  const wide = runBin('prov-admin', ['logs', 'redeliver', '--handler', String(handlerId), '--since', since]);
  const narrow = runBin('prov-admin', ['logs', 'redeliver', '--handler', String(handlerId), '--event', 'clients.update', '--since', since]);
  assert.equal(wide.status, 0, wide.stderr);
  assert.equal(narrow.status, 0, narrow.stderr);
  const [wideId, narrowId] = [wide, narrow].map((r) => Number(/bulk redelivery #(\d+)/.exec(r.stdout)[1]));
  assert.notEqual(wideId, narrowId, 'another filter: another request');
  const pass = await worker(['--once']);
  assert.equal(pass.status, 0, pass.stderr);
  const [a, b] = await Promise.all([wideId, narrowId].map((id) => api('GET', `/bulk-redeliveries/${id}`, { key: admin.key })));
  assert.deepEqual([a.json.total, a.json.skipped, a.json.delivered], [2, 0, 2]);
  assert.deepEqual([b.json.state, b.json.total, b.json.skipped], ['done', 0, 2], 'already waiting in the first: skipped');
  assert.equal(receiver.requests.length, before + 2, 'each execution sent once');
  assert.match(runBin('prov-admin', ['logs', 'bulk', String(narrowId)]).stdout, /2 skipped \(queued by another pending request\)/);
});

test('history: API create, edit, secret, status and delete are recorded with the key, secrets never', async () => {
  const created = await api('POST', '/handlers', { key: admin.key, body: { name: 'History API', events_id: 'clients.create', task: 'http://127.0.0.1:9/h' } });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  const edited = await api('PATCH', `/handlers/${id}`, { key: admin.key, body: { task: 'http://127.0.0.1:9/h2', secret_action: 'generate' } });
  assert.equal(edited.status, 200, edited.text);
  const secret = edited.json.secret;
  assert.match(secret, /^whsec_/);
  assert.equal((await api('POST', `/handlers/${id}/status`, { key: admin.key, body: { status: 'disabled' } })).status, 200);
  assert.equal((await api('DELETE', `/handlers/${id}`, { key: admin.key })).status, 204);
  const h = await api('GET', `/handlers/${id}/history`, { key: viewer.key });
  assert.equal(h.status, 200);
  assert.deepEqual(h.json.history.map((e) => e.action), ['delete', 'status', 'edit', 'create']);
  assert.ok(h.json.history.every((e) => e.actor_kind === 'api' && e.actor === `key test key (${admin.name})`));
  const edit = h.json.history[2];
  assert.deepEqual(edit.changes.map((c) => [c.field, c.before, c.after]),
    [['task', 'http://127.0.0.1:9/h', 'http://127.0.0.1:9/h2'], ['secret', null, 'set']]);
  assert.deepEqual(h.json.history[1].changes.map((c) => [c.field, c.before, c.after]), [['status', 'enabled', 'disabled']]);
  assert.equal(h.json.history[0].after, null);
  assert.equal(h.json.history[0].before.name, 'History API');
  const stored = sql(`SELECT CONCAT(IFNULL(before_json,''), IFNULL(after_json,'')) FROM change_history WHERE handler_id = ${id}`).join('');
  assert.ok(!stored.includes(secret) && !stored.includes(secret.slice(6, 30)), 'the secret is never stored');
});

test('publish preview, history and a rollback the dispatcher then runs (API and prov-cache)', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  disableAll();
  const keep = addHandler({ name: 'Kept v1', event: 'clients.archive', task: `${receiver.url}/echo?v=1` });
  const gone = addHandler({ name: 'Goes away', event: 'clients.archive', task: `${receiver.url}/echo?gone=1`, priority: 2 });
  const first = publish();
  editHandler(keep, `name = 'Kept v2', task = '${receiver.url}/echo?v=2'`);
  editHandler(gone, "status = 'disabled'");
  const added = addHandler({ name: 'New one', event: 'clients.archive', task: `${receiver.url}/echo?new=1`, priority: 3 });
  const preview = await api('GET', '/cache/preview', { key: viewer.key });
  assert.equal(preview.status, 200);
  assert.equal(preview.json.pending, true);
  const d = preview.json.diff;
  assert.deepEqual(d.added.map((e) => e.id), [added]);
  assert.deepEqual(d.removed.map((e) => e.id), [gone]);
  assert.deepEqual(d.changed.map((e) => [e.id, e.changes.map((c) => c.field)]), [[keep, ['name', 'task']]]);
  const cli = runBin('prov-cache', ['preview']);
  assert.match(cli.stdout, /^1 added, 1 changed, 1 removed$/m);
  assert.match(cli.stdout, /^ {4}Name: Kept v1 -> Kept v2$/m);
  const second = publish();
  const hist = await api('GET', '/cache/history', { key: viewer.key });
  const entry = hist.json.history.find((e) => e.generation === second);
  assert.equal(entry.previous, first);
  assert.deepEqual([entry.diff.added_count, entry.diff.changed_count, entry.diff.removed_count], [1, 1, 1]);

  const viewerRollback = await api('POST', '/cache/rollback', { key: viewer.key, body: { generation: first } });
  assert.equal(viewerRollback.status, 403);
  const rolled = await api('POST', '/cache/rollback', { key: admin.key, body: { generation: first } });
  assert.equal(rolled.status, 200, rolled.text);
  assert.equal(rolled.json.rollback_of, first);
  const cache = await api('GET', '/cache', { key: admin.key });
  assert.equal(cache.json.generation, rolled.json.generation);
  assert.equal(cache.json.pending, true, 'the handlers table still has the later edits');
  const run = await dispatch(['clients.archive', '--object-id', '4'], { client_id: 4 });
  assert.equal(run.status, 0, run.stderr);
  const paths = receiver.requests.map((r) => JSON.stringify(r.query));
  assert.deepEqual(paths, ['{"v":"1"}', '{"gone":"1"}'], 'the rolled-back set runs: v1 and the removed one, not the new one');
  const gens = await api('GET', '/cache/generations', { key: viewer.key });
  assert.deepEqual(gens.json.generations.filter((g) => g.current).map((g) => g.generation), [rolled.json.generation]);
  const h = await api('GET', '/cache/history', { key: viewer.key });
  assert.deepEqual([h.json.history[0].action, h.json.history[0].rollback_of, h.json.history[0].actor], ['rollback', first, `key test key (${admin.name})`]);
  // prov-cache: a generation that is not kept; a rollback by the CLI, recorded with --by.
  const missing = runBin('prov-cache', ['rollback', '999999999']);
  assert.equal(missing.status, 65);
  assert.match(missing.stderr, /generation 999999999 is not kept/);
  const back = runBin('prov-cache', ['rollback', String(second), '--by', 'ops-oncall']);
  assert.equal(back.status, 0, back.stderr);
  assert.match(back.stdout, new RegExp(`generation ${second}'s 2 enabled handlers again`));
  assert.equal(sqlValue("SELECT actor FROM change_history WHERE kind = 'cache' ORDER BY id DESC LIMIT 1"), 'ops-oncall');
  assert.equal(sqlValue("SELECT actor_kind FROM change_history WHERE kind = 'cache' ORDER BY id DESC LIMIT 1"), 'cli');
});

test('history: an auto-disable (auto_disable_failures) is recorded as a status change by the system', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  disableAll();
  const id = addHandler({ name: 'Hopeless (history)', event: 'clients.custom_fields.update', task: `${receiver.url}/status/500` });
  publish();
  const conf = path.join(runDir, 'history-auto-disable.conf');
  writeFileSync(conf, `${readFileSync(configPath, 'utf8')}auto_disable_failures = 2\n`);
  for (let i = 0; i < 2; i++) await dispatch(['clients.custom_fields.update', '--config', conf], {});
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id = ${id}`), 'disabled');
  const h = await api('GET', `/handlers/${id}/history`, { key: viewer.key });
  assert.deepEqual(h.json.history.map((e) => [e.action, e.actor_kind, e.actor]),
    [['status', 'system', 'auto-disable: 2 failures in a row']]);
  assert.deepEqual(h.json.history[0].changes.map((c) => [c.field, c.before, c.after]), [['status', 'enabled', 'disabled']]);
});
