// Send test of a script handler over the API (issue #16): the web server never
// runs a script, so POST /handlers/{id}/test and POST /handlers/test queue it
// (202) and a real prov-worker runs it as its own user, at most once, even
// with two workers; GET /handler-tests/{id} answers the state, then the
// result a 200 answer has. The queue is bounded; a test nobody took in 15 min
// is never run; a read-only key is refused.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { api, apiUser, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, q, scriptsDir } from '../lib/dispatch.mjs';
import { startWorker, worker } from '../lib/retry.mjs';
import { sqlSession, until } from '../lib/faults.mjs';

const admin = apiUser('admin');
const viewer = apiUser('viewer');
const tag = uniqueName('script-test').replace(/[^A-Za-z0-9]/g, '');
// Each run of the script adds a line here: how many times it really ran.
const ranFile = path.join(runDir, `${tag}.ran`);
const scriptName = `${tag}.sh`;
const script = path.join(scriptsDir, scriptName);
const failing = path.join(scriptsDir, `${tag}-fail.sh`);

before(() => {
  writeFileSync(script, `#!/bin/sh
body=$(cat)
echo "$PROV_TRIGGER $PROV_HANDLER_ID $PROV_EVENT" >> ${ranFile}
case "$body" in
  *'"client_id":5'*) echo '{"allow": false, "reason": "client 5 is <blocked>"}' ;;
  *) echo '{"allow": true}' ;;
esac
`);
  chmodSync(script, 0o755);
  writeFileSync(failing, `#!/bin/sh\ncat >/dev/null\necho "no CRM today" >&2\necho '{"oops":1}'\nexit 3\n`);
  chmodSync(failing, 0o755);
});

after(() => {
  sql(`DELETE FROM handler_test_queue WHERE task LIKE ${q(`%${tag}%`)} OR requested_by LIKE ${q(`${tag}%`)}`);
  for (const f of [script, failing, ranFile]) if (existsSync(f)) unlinkSync(f);
});

const runs = () => (existsSync(ranFile) ? readFileSync(ranFile, 'utf8').split('\n').filter(Boolean) : []);
const testLogs = (handlerName) => Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE trigger_kind = 'test'
  AND handler_name = ${q(handlerName)}`));

test('a saved, disabled script handler: 202 queued, the worker runs it once, GET has the result', async () => {
  const name = `${tag} CRM script`;
  const id = addHandler({ name, event: 'clients.update', task: script, type: 'script', status: 'disabled' });
  const r = await api('POST', `/handlers/${id}/test`, { key: admin.key, body: { data: { client_id: 5 } } });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.state, 'queued');
  assert.equal(r.json.location, `/handler-tests/${r.json.test_id}`);

  const waiting = await api('GET', r.json.location, { key: admin.key });
  assert.equal(waiting.status, 200, waiting.text);
  assert.equal(waiting.json.state, 'queued');
  assert.equal(waiting.json.waiting, true);
  assert.equal(waiting.json.handler_id, id);
  assert.equal(waiting.json.task, script);
  assert.equal(waiting.json.result, undefined, 'no result before it ran');
  assert.match(waiting.json.requested_by, new RegExp(admin.name));
  assert.deepEqual(runs(), [], 'the web server ran nothing');
  assert.equal(testLogs(name), 0);

  const w = await worker(['--once']);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /1 script test run/);
  const done = await api('GET', r.json.location, { key: admin.key });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.state, 'done');
  assert.equal(done.json.waiting, false);
  assert.equal(done.json.error, null);
  assert.match(done.json.claimed_by, /:\d+$/, 'the worker that ran it');
  const result = done.json.result;
  assert.equal(result.exit_code, 0);
  assert.equal(result.http_status, null);
  assert.equal(result.status, 'success');
  assert.equal(result.verdict, 'forbidden');
  assert.equal(result.reason, 'client 5 is <blocked>');
  assert.match(result.reply, /"allow": false/);
  assert.deepEqual(result.request.data, { client_id: 5 }, 'the edited payload');
  assert.equal(result.request.event.events_id, 'clients.update');
  assert.equal(done.json.log_id, result.log_id);
  assert.equal(sqlValue(`SELECT CONCAT(trigger_kind, '/', verdict, '/', handler_id) FROM exec_logs WHERE id = ${result.log_id}`),
    `test/forbidden/${id}`);
  assert.deepEqual(runs(), [`test ${id} clients.update`], 'ran once, as a test, for this handler');
  assert.equal(sqlValue(`SELECT IFNULL(last_status, 'none') FROM handlers WHERE id = ${id}`), 'none', 'not its last status');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE handler_id = ${id}`)), 0, 'never queued for retry');

  const again = await worker(['--once']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(runs().length, 1, 'a done test is never run again');
  assert.equal(testLogs(name), 1);
});

test('an unsaved script handler, and one that fails: exit code, stderr in the log, verdict failed', async () => {
  const r = await api('POST', '/handlers/test', { key: admin.key,
    body: { handler: { name: `${tag} unsaved`, events_id: 'clients.create', task: scriptName, timeout_ms: 2000 } } });
  assert.equal(r.status, 202, r.text);
  const f = await api('POST', '/handlers/test', { key: admin.key,
    body: { handler: { name: `${tag} failing`, events_id: 'clients.create', task: failing } } });
  assert.equal(f.status, 202, f.text);
  const before = runs().length;
  const w = await worker(['--once']);
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /2 script tests run/);

  const ok = (await api('GET', r.json.location, { key: admin.key })).json;
  assert.equal(ok.state, 'done');
  assert.equal(ok.handler_id, null, 'unsaved');
  assert.equal(ok.result.verdict, 'unchanged');
  assert.equal(ok.result.exit_code, 0);
  assert.equal(ok.result.timeout_ms, 2000);
  assert.equal(ok.result.request.data.login, 'sample.client', 'the clients.create sample');
  assert.equal(sqlValue(`SELECT IFNULL(handler_id, 'null') FROM exec_logs WHERE id = ${ok.result.log_id}`), 'null');
  assert.deepEqual(runs().slice(before), ['test 0 clients.create']);

  const bad = (await api('GET', f.json.location, { key: admin.key })).json;
  assert.equal(bad.state, 'done');
  assert.equal(bad.result.status, 'fail');
  assert.equal(bad.result.verdict, 'failed');
  assert.equal(bad.result.exit_code, 3);
  assert.match(bad.result.error, /exit|status 3|code 3/i);
  assert.match(sqlValue(`SELECT script_stderr FROM exec_logs WHERE id = ${bad.result.log_id}`), /no CRM today/);

  // A script outside the scripts directory is refused like a create refuses it: nothing queued.
  const outside = await api('POST', '/handlers/test', { key: admin.key,
    body: { handler: { name: `${tag} outside`, events_id: 'clients.create', task: '/bin/true' } } });
  assert.equal(outside.status, 422, outside.text);
  assert.equal(outside.json.error.data.field, 'task');
});

test('the queue is bounded: 20 waiting tests refuse the next (429, one line); stale ones do not count and never run', async () => {
  const id = addHandler({ name: `${tag} bounded`, event: 'clients.update', task: script, type: 'script' });
  const fill = (n, minutesAgo) => sql(`INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at,
      handler_id, handler_name, events_id, task, timeout_ms, data)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})
    SELECT 'queued', '${tag} filler ${minutesAgo}', UTC_TIMESTAMP(6) - INTERVAL ${minutesAgo} MINUTE,
      UTC_TIMESTAMP(6) - INTERVAL ${minutesAgo} MINUTE, ${id}, 'filler', 'clients.update', ${q(script)}, 1000, '{}' FROM n`);
  const waitingNow = () => Number(sqlValue("SELECT COUNT(*) FROM handler_test_queue WHERE state = 'queued'"));
  assert.equal(waitingNow(), 0, 'no test left waiting by another test');
  fill(20, 16); // waited past the 15 min limit: they do not count
  const young = await api('POST', `/handlers/${id}/test`, { key: admin.key });
  assert.equal(young.status, 202, young.text);
  fill(19, 0);
  const before = waitingNow();
  sql("UPDATE services SET last_run_at = UTC_TIMESTAMP(6) - INTERVAL 3 HOUR WHERE name = 'retry_worker'");
  const full = await api('POST', `/handlers/${id}/test`, { key: admin.key });
  assert.equal(full.status, 429, full.text);
  assert.equal(full.json.error.data.code, 'queue_full');
  assert.match(full.json.error.message, /20 script tests are already waiting for the retry worker/);
  assert.match(full.json.error.message, /No retry worker has run in the last 2 minutes \(last run 3 h ago\): start prov-worker/);
  assert.doesNotMatch(full.json.error.message, /\n/);
  assert.equal(waitingNow(), before, 'nothing queued');

  // A waiting test says plainly that no worker runs.
  const quiet = await api('GET', young.json.location, { key: admin.key });
  assert.equal(quiet.json.waiting, true);
  assert.match(quiet.json.notice, /No retry worker has run in the last 2 minutes/);
  sql("UPDATE services SET last_run_at = NULL WHERE name = 'retry_worker'");
  assert.match((await api('GET', young.json.location, { key: admin.key })).json.notice, /No retry worker has ever run/);

  // The worker expires the stale ones without running them, then runs the 20 young ones.
  const ran = runs().length;
  const w = await worker(['--once']);
  assert.equal(w.status, 0, w.stderr);
  assert.equal(runs().length, ran + 20, 'the young test and the 19 young fillers ran, the stale ones did not');
  const stale = sql(`SELECT state, IFNULL(log_id, 0), error FROM handler_test_queue WHERE requested_by = '${tag} filler 16'`);
  assert.equal(stale.length, 20);
  for (const [state, logId, error] of stale) {
    assert.equal(state, 'done');
    assert.equal(logId, '0');
    assert.match(error, /^not run: no retry worker took it within 15 min/);
  }
  assert.equal(Number(sqlValue("SELECT COUNT(*) FROM handler_test_queue WHERE state <> 'done'")), 0);
  assert.equal((await api('GET', young.json.location, { key: admin.key })).json.notice, null, 'the worker ran: nothing to say');
});

test('two workers at once: every queued test runs exactly once', async () => {
  const id = addHandler({ name: `${tag} twice`, event: 'clients.delete', task: script, type: 'script' });
  const ids = [];
  for (let i = 0; i < 8; i++) {
    const r = await api('POST', `/handlers/${id}/test`, { key: admin.key, body: { data: { n: i } } });
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.test_id);
  }
  const before = runs().length;
  const [a, b] = await Promise.all([worker(['--once', '--id', 'one']), worker(['--once', '--id', 'two'])]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(runs().length - before, 8, 'eight tests, eight runs');
  const rows = sql(`SELECT state, claimed_by, log_id FROM handler_test_queue WHERE id IN (${ids.join(',')})`);
  assert.ok(rows.every(([state, by]) => state === 'done' && /^(one|two)@/.test(by)), JSON.stringify(rows));
  assert.equal(new Set(rows.map(([, , logId]) => logId)).size, 8, 'one log row each');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE trigger_kind = 'test' AND handler_id = ${id}`)), 8);
});

test('a test another worker is claiming (its row locked) is skipped, the others run meanwhile; it never runs twice', { timeout: 120000 }, async (t) => {
  const id = addHandler({ name: `${tag} locked`, event: 'clients.update', task: script, type: 'script' });
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await api('POST', `/handlers/${id}/test`, { key: admin.key });
    assert.equal(r.status, 202, r.text);
    ids.push(r.json.test_id);
  }
  const [first, ...others] = ids;
  // Another worker half-way through its claim: the oldest queued test read FOR UPDATE, not yet committed.
  const session = sqlSession();
  t.after(() => session.close());
  const held = await session.query(`BEGIN; SELECT id FROM handler_test_queue WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE`);
  assert.deepEqual(held.rows, [[String(first)]], held.errors);
  const before = runs().length;
  const w = startWorker(['--once', '--id', 'skipper']);
  t.after(() => w.child.kill('SIGKILL'));
  const state = (x) => sqlValue(`SELECT state FROM handler_test_queue WHERE id = ${x}`);
  await until('the worker to run the unlocked tests while the lock is held', () => others.every((x) => state(x) === 'done'), 30000);
  assert.equal(await w.exited, 0, w.out());
  assert.equal(state(first), 'queued', 'the locked one was left to its claimer');
  // The other worker finishes its claim; a later pass must not run the test again.
  await session.query(`UPDATE handler_test_queue SET state = 'running', claimed_by = 'other@host:1', updated_at = UTC_TIMESTAMP(6)
    WHERE id = ${first}; COMMIT`);
  assert.equal((await worker(['--once'])).status, 0);
  assert.equal(runs().length - before, 2, 'the two unlocked tests ran, the claimed one did not run here');
  assert.equal(sqlValue(`SELECT CONCAT(state, ' ', claimed_by) FROM handler_test_queue WHERE id = ${first}`), 'running other@host:1');
  sql(`UPDATE handler_test_queue SET state = 'done' WHERE id = ${first}`);
});

test('a worker that stopped mid-test: the test says so instead of waiting forever', async () => {
  const id = addHandler({ name: `${tag} lost`, event: 'clients.update', task: script, type: 'script' });
  const r = await api('POST', `/handlers/${id}/test`, { key: admin.key });
  assert.equal(r.status, 202, r.text);
  sql(`UPDATE handler_test_queue SET state = 'running', claimed_by = 'gone@host:1',
    updated_at = UTC_TIMESTAMP(6) - INTERVAL 2 MINUTE WHERE id = ${r.json.test_id}`);
  const lost = (await api('GET', r.json.location, { key: admin.key })).json;
  assert.equal(lost.state, 'running');
  assert.equal(lost.waiting, false);
  assert.match(lost.notice, /gone@host:1 took this test 2 min ago and has not finished it: it may have stopped/);
  sql(`UPDATE handler_test_queue SET state = 'done' WHERE id = ${r.json.test_id}`);
});

test('read-only keys are refused: no test queued, no test read', async () => {
  const id = addHandler({ name: `${tag} viewer`, event: 'clients.update', task: script, type: 'script' });
  const count = () => Number(sqlValue('SELECT COUNT(*) FROM handler_test_queue'));
  const n = count();
  const r = await api('POST', `/handlers/${id}/test`, { key: viewer.key });
  assert.equal(r.status, 403, r.text);
  const u = await api('POST', '/handlers/test', { key: viewer.key,
    body: { handler: { name: 'x', events_id: 'clients.create', task: scriptName } } });
  assert.equal(u.status, 403, u.text);
  assert.equal(count(), n, 'nothing queued');
  const queued = await api('POST', `/handlers/${id}/test`, { key: admin.key });
  assert.equal(queued.status, 202, queued.text);
  const read = await api('GET', queued.json.location, { key: viewer.key });
  assert.equal(read.status, 403, read.text);
  assert.equal((await api('GET', '/handler-tests/999999999', { key: admin.key })).status, 404);
  sql(`DELETE FROM handler_test_queue WHERE id = ${queued.json.test_id}`);
});
