// The retry queue and prov-worker: failed deliveries are queued in the same
// transaction as their log rows, delivered again with the same delivery id,
// rescheduled, exhausted, Retry-After, SIGTERM, the Task Scheduler counts,
// handler auto-disable.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientAs, configPath, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, disableAll, dispatch, editHandler, publish, q } from '../lib/dispatch.mjs';
import { logRows, makeDue, queueRow, startWorker, worker } from '../lib/retry.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => {
  disableAll();
  rx.reset();
  // Rows other tests left due must not be delivered by this file's workers.
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state = 'scheduled'");
});

const EVENT = 'clients.balance_zero';
const byId = (r) => Object.fromEntries(r.result.handlers.map((h) => [h.id, h]));

test('a failed delivery is queued with its log row and delivered again with the same delivery id', async () => {
  const h = addHandler({ name: 'flaky', event: EVENT, task: `${rx.url}/status/503?times=1` });
  publish();
  const uid = uniqueName('retry-basic');
  const r = await dispatch([EVENT, '--event-id', uid, '--object-id', '42'], { balance: 0 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.logged, true);
  assert.equal(r.result.spooled, false);
  const id = byId(r)[h].delivery_id;
  let row = queueRow(id);
  assert.equal(row.state, 'scheduled');
  assert.equal(row.attempt, 1);
  assert.ok(row.dueIn > 4 && row.dueIn <= 5.6, `first retry after ~5 s (jitter 10%): ${row.dueIn}`);
  assert.equal(row.lastError, 'the handler answered HTTP 503');
  assert.equal(row.logId, Number(sqlValue(`SELECT id FROM exec_logs WHERE delivery_id = ${q(id)}`)));

  let w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.equal(rx.requests.length, 1, 'not due yet: nothing sent');
  makeDue(`delivery_id = ${q(id)}`);
  w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /^1 delivered, 0 rescheduled, 0 exhausted; queue: 0 due/m);
  assert.equal(rx.requests.length, 2);
  const [first, again] = rx.requests;
  assert.equal(again.headers['x-prov-delivery'], id, 'the same delivery id');
  assert.equal(again.headers['x-prov-attempt'], '2');
  assert.equal(first.headers['x-prov-attempt'], '1');
  assert.equal(again.body, first.body, 'the same envelope');
  assert.equal(again.headers['x-prov-event-id'], uid);
  assert.deepEqual(logRows(id).map((l) => [l.attempt, l.trigger, l.status]),
    [[1, 'dispatch', 'fail'], [2, 'retry', 'success']]);
  row = queueRow(id);
  assert.equal(row.state, 'done');
  assert.equal(row.attempt, 2);
  assert.equal(row.claimedBy, '');
  assert.equal(sqlValue(`SELECT object_id FROM exec_logs WHERE delivery_id = ${q(id)} AND trigger_kind = 'retry'`), '42');
  assert.deepEqual(sql(`SELECT last_status, consecutive_failures FROM handlers WHERE id = ${h}`)[0], ['success', '0']);
  assert.match(sqlValue("SELECT CONCAT(last_result, ' ', last_detail) FROM services WHERE name = 'retry_worker'"),
    /^ok 1 delivered, 0 rescheduled, 0 exhausted; queue: 0 due/);
  w = await worker();
  assert.equal(rx.requests.length, 2, 'a finished row is not sent again');
});

test('what is retried: 5xx, 408, 429, timeouts and scripts; 4xx, retries off and acknowledged replies are final', async () => {
  const cases = {
    s500: addHandler({ name: 's500', event: EVENT, task: `${rx.url}/status/500`, priority: 1 }),
    s408: addHandler({ name: 's408', event: EVENT, task: `${rx.url}/status/408`, priority: 2 }),
    s429: addHandler({ name: 's429', event: EVENT, task: `${rx.url}/status/429`, priority: 3 }),
    s404: addHandler({ name: 's404', event: EVENT, task: `${rx.url}/status/404`, priority: 4 }),
    s400: addHandler({ name: 's400', event: EVENT, task: `${rx.url}/status/400`, priority: 5 }),
    off: addHandler({ name: 'retries off', event: EVENT, task: `${rx.url}/status/500?off`, priority: 6 }),
    refused: addHandler({ name: 'refused', event: EVENT, task: 'http://127.0.0.1:9/x', priority: 7 }),
    big: addHandler({ name: 'big', event: EVENT, task: `${rx.url}/big?mb=2`, priority: 8 }),
    script: addHandler({ name: 'script', event: EVENT, type: 'script', task: 'missing-script.sh', priority: 9 }),
  };
  editHandler(cases.off, 'retry_enabled = 0');
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('retry-kinds')], {});
  assert.equal(r.status, 0, r.stderr);
  const steps = byId(r);
  const queued = Object.fromEntries(Object.entries(cases).map(([k, id]) => [k, queueRow(steps[id].delivery_id)?.state ?? 'none']));
  assert.deepEqual(queued, {
    s500: 'scheduled', s408: 'scheduled', s429: 'scheduled', s404: 'none', s400: 'none', off: 'none',
    refused: 'scheduled', big: 'none', script: 'scheduled',
  });
  assert.equal(steps[cases.big].http_status, 200, 'a 2xx answer is an acknowledgement, even when the reply is unusable');
});

test('a per-handler schedule and attempt limit end in exhausted; Retry-After is honoured', async () => {
  const limited = addHandler({ name: 'always 500', event: EVENT, task: `${rx.url}/status/500`, priority: 1 });
  const busy = addHandler({ name: 'busy', event: EVENT, task: `${rx.url}/retry-after`, priority: 2 });
  editHandler(limited, "retry_schedule = '1m,2h', retry_max_attempts = 3");
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('retry-limit')], {});
  const id = byId(r)[limited].delivery_id;
  const busyId = byId(r)[busy].delivery_id;
  let row = queueRow(id);
  assert.ok(row.dueIn > 50 && row.dueIn <= 66, `the handler's first step, 1m: ${row.dueIn}`);
  const busyRow = queueRow(busyId);
  assert.ok(busyRow.dueIn > 115 && busyRow.dueIn <= 121, `Retry-After: 120 beats 5 s: ${busyRow.dueIn}`);
  makeDue(`delivery_id = ${q(id)}`);
  let w = await worker();
  assert.equal(w.status, 0, w.stderr);
  row = queueRow(id);
  assert.equal(row.state, 'scheduled');
  assert.equal(row.attempt, 2);
  assert.ok(row.dueIn > 6400 && row.dueIn <= 7920, `the second step, 2h: ${row.dueIn}`);
  makeDue(`delivery_id = ${q(id)}`);
  w = await worker();
  assert.match(w.stdout, /^0 delivered, 0 rescheduled, 1 exhausted; queue: 0 due, 1 scheduled later, \d+ exhausted/m);
  row = queueRow(id);
  assert.equal(row.state, 'exhausted', 'three attempts made: the limit');
  assert.equal(row.attempt, 3);
  assert.equal(row.lastError, 'the handler answered HTTP 500');
  assert.deepEqual(logRows(id).map((l) => `${l.attempt} ${l.trigger} ${l.status}`),
    ['1 dispatch fail', '2 retry fail', '3 retry fail']);
  makeDue(`delivery_id = ${q(id)}`);
  await worker();
  assert.equal(logRows(id).length, 3, 'an exhausted row stays as it is');
  assert.equal(rx.requests.filter((x) => x.headers['x-prov-delivery'] === id).length, 3);
});

test('a row whose handler is no longer published is exhausted with a clear error, not delivered', async () => {
  const h = addHandler({ name: 'going away', event: EVENT, task: `${rx.url}/status/500?gone` });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('retry-gone')], {});
  const id = byId(r)[h].delivery_id;
  editHandler(h, "status = 'archived'");
  publish();
  makeDue(`delivery_id = ${q(id)}`);
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  const row = queueRow(id);
  assert.equal(row.state, 'exhausted');
  assert.equal(row.lastError, `handler ${h} is no longer published (deleted, disabled or archived)`);
  assert.equal(rx.requests.length, 1, 'only the first delivery');
  assert.equal(logRows(id).length, 1);
});

test('a row whose worker died comes back when its lease ends; a live lease is left alone', async () => {
  const h = addHandler({ name: 'leased', event: EVENT, task: `${rx.url}/status/500?lease` });
  publish();
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push(byId(await dispatch([EVENT], {}))[h].delivery_id);
  sql(`UPDATE retry_queue SET claimed_by = 'dead:1', next_attempt_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND
       WHERE delivery_id = ${q(ids[0])}`);
  sql(`UPDATE retry_queue SET claimed_by = 'alive:1', next_attempt_at = UTC_TIMESTAMP(6) + INTERVAL 60 SECOND
       WHERE delivery_id = ${q(ids[1])}`);
  editHandler(h, `task = ${q(`${rx.url}/echo?lease`)}`);
  publish();
  rx.reset();
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.deepEqual(rx.requests.map((x) => x.headers['x-prov-delivery']), [ids[0]], 'only the expired lease');
  assert.deepEqual([queueRow(ids[0]).state, queueRow(ids[0]).claimedBy], ['done', '']);
  assert.deepEqual([queueRow(ids[1]).state, queueRow(ids[1]).claimedBy], ['scheduled', 'alive:1']);
});

test('Redeliver from the log: a success finishes the waiting retry, a failure leaves it scheduled', async () => {
  const h = addHandler({ name: 'manual fix', event: EVENT, task: `${rx.url}/status/503?manual` });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('retry-manual')], {});
  const id = byId(r)[h].delivery_id;
  const logId = Number(sqlValue(`SELECT id FROM exec_logs WHERE delivery_id = ${q(id)}`));
  const admin = await clientAs('admin');
  let red = await admin.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.equal(red.status, 303, red.text);
  assert.deepEqual([queueRow(id).state, queueRow(id).attempt], ['scheduled', 1], 'still failing: retries go on');
  editHandler(h, `task = ${q(`${rx.url}/echo?manual`)}`);
  publish();
  red = await admin.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.match(red.location, /redelivered=ok$/);
  assert.deepEqual([queueRow(id).state, queueRow(id).attempt], ['done', 3]);
  makeDue(`delivery_id = ${q(id)}`);
  await worker();
  assert.equal(rx.requests.length, 3, 'delivered: the worker does not send it again');
  assert.deepEqual(logRows(id).map((l) => `${l.attempt} ${l.trigger} ${l.status}`),
    ['1 dispatch fail', '2 manual fail', '3 manual success']);
});

test('a claim whose rows are gone when read back frees what it allocated (ASan: detect_leaks)', async () => {
  // Between the claim's commit and its re-read another worker may finish the
  // rows; a trigger makes that happen every time: the lease sets claimed_by,
  // the trigger marks the row done, the re-read finds nothing.
  const uid = uniqueName('retry-vanish');
  sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
         state, next_attempt_at, created_at, updated_at)
       VALUES (UUID(), 1, 'vanishing', '${EVENT}', '${uid}', '{}', 1, 'scheduled', UTC_TIMESTAMP(6),
         UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))`);
  sql(`CREATE TRIGGER vanish_on_claim BEFORE UPDATE ON retry_queue FOR EACH ROW
         SET NEW.state = IF(NEW.claimed_by LIKE 'vanish@%' AND OLD.claimed_by IS NULL, 'done', NEW.state)`);
  try {
    const w = await worker(['--once', '--id', 'vanish']);
    assert.doesNotMatch(w.stderr, /LeakSanitizer/);
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stdout, /^0 delivered, 0 rescheduled, 0 exhausted/m);
  } finally {
    sql('DROP TRIGGER IF EXISTS vanish_on_claim');
  }
  assert.equal(sqlValue(`SELECT state FROM retry_queue WHERE event_uid = ${q(uid)}`), 'done');
  assert.equal(rx.requests.length, 0);
});

test('loop mode: SIGTERM lets the delivery in flight finish, then the worker exits 0', async () => {
  const h = addHandler({ name: 'slow later', event: EVENT, task: `${rx.url}/status/503?term` });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('retry-term')], {});
  const id = byId(r)[h].delivery_id;
  // The retry goes to a slow URL: SIGTERM arrives while it is in flight.
  editHandler(h, `task = ${q(`${rx.url}/slow?ms=700`)}`);
  publish();
  makeDue(`delivery_id = ${q(id)}`);
  const w = startWorker(['--interval', '1', '--id', 'loop-test']);
  await rx.waitFor((x) => x.headers['x-prov-delivery'] === id && x.headers['x-prov-attempt'] === '2');
  const sent = Date.now();
  w.child.kill('SIGTERM');
  assert.equal(await w.exited, 0, w.out());
  assert.ok(Date.now() - sent >= 500, 'it waited for the answer');
  assert.match(w.out(), /prov-worker: stopped/);
  assert.equal(queueRow(id).state, 'done');
  assert.deepEqual(logRows(id).map((l) => `${l.attempt} ${l.trigger} ${l.status}`), ['1 dispatch fail', '2 retry success']);
});

test('the Task Scheduler shows the retry queue: due, scheduled, exhausted', async () => {
  const h = addHandler({ name: 'counted', event: EVENT, task: `${rx.url}/status/500?count` });
  publish();
  for (let i = 0; i < 3; i++) await dispatch([EVENT], {});
  const ids = sql(`SELECT delivery_id FROM retry_queue WHERE handler_id = ${h} ORDER BY id`).map(([x]) => x);
  assert.equal(ids.length, 3);
  makeDue(`delivery_id = ${q(ids[0])}`);
  sql(`UPDATE retry_queue SET state = 'exhausted' WHERE delivery_id = ${q(ids[1])}`);
  const [due, scheduled, exhausted] = sql(`SELECT SUM(state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6)),
    SUM(state = 'scheduled' AND next_attempt_at > UTC_TIMESTAMP(6)), SUM(state = 'exhausted') FROM retry_queue`)[0];
  const viewer = await clientAs('viewer');
  const page = await viewer.get('/scheduler');
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`id="retry-due"><span class="status status-archived">${due}</span>`));
  assert.match(page.text, new RegExp(`id="retry-scheduled">${scheduled}</dd>`));
  assert.match(page.text, new RegExp(`id="retry-exhausted"><span class="status status-failed">${exhausted}</span>`));
});

test('auto-disable: off by default; at N failures in a row the handler is disabled, pending, and it is said', async () => {
  const h = addHandler({ name: 'hopeless', event: EVENT, task: `${rx.url}/status/500?hopeless` });
  publish();
  const conf = path.join(runDir, 'auto-disable.conf');
  writeFileSync(conf, `${readFileSync(configPath, 'utf8')}auto_disable_failures = 3\n`);
  for (let i = 0; i < 3; i++) {
    const r = await dispatch([EVENT], {});
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '', 'the default: never disabled');
  }
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id = ${h}`), 'enabled');
  const version = Number(sqlValue('SELECT handlers_version FROM cache_state'));
  sql(`UPDATE handlers SET consecutive_failures = 0 WHERE id = ${h}`);
  let r = await dispatch([EVENT, '--config', conf], {});
  r = await dispatch([EVENT, '--config', conf], {});
  assert.equal(r.stderr, '');
  r = await dispatch([EVENT, '--config', conf], {});
  assert.equal(r.status, 0);
  assert.match(r.stderr, new RegExp(`^provisioning: handler ${h} \\(hopeless\\) was disabled after 3 failures in a row \\(last: the handler answered HTTP 500\\); publish`));
  assert.deepEqual(sql(`SELECT status, consecutive_failures, auto_disabled_at IS NOT NULL FROM handlers WHERE id = ${h}`)[0],
    ['disabled', '3', '1']);
  assert.equal(Number(sqlValue('SELECT handlers_version FROM cache_state')), version + 1, 'shown as pending');
});

test('prov-worker: usage errors, --help, an unreachable database', async () => {
  for (const args of [['--batch', '0'], ['--interval', 'x'], ['--nope'], ['--id'], ['--id', 'a@b']]) {
    const r = await worker(args);
    assert.equal(r.status, 64, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /^prov-worker: .*\(see --help\)\n$/);
  }
  const help = await worker(['--help']);
  assert.equal(help.status, 0);
  for (const code of ['0', '64', '69', '70', '78']) assert.match(help.stdout, new RegExp(`^  ${code} `, 'm'));
  const down = path.join(runDir, 'worker-down.conf');
  writeFileSync(down, `${readFileSync(configPath, 'utf8')}db_socket = ${runDir}/no-such.sock\n`);
  const r = await worker(['--once', '--config', down]);
  assert.equal(r.status, 69);
  assert.match(r.stderr, /^prov-worker: database unreachable/);
});

test('a backlog of millions costs the Task Scheduler a bounded count: above 10,000 it says "more than 10,000"', async () => {
  const before = Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE state = 'done'`));
  sql(`SET SESSION max_recursive_iterations = 20000;
    INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
                             state, next_attempt_at, created_at, updated_at)
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${10000 - before})
    SELECT CONCAT('backlog-', LPAD(n, 28, '0')), 1, 'backlog', '${EVENT}', CONCAT('backlog-', n), '{}', 1,
           'done', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq`);
  try {
    const viewer = await clientAs('viewer');
    let page = await viewer.get('/scheduler');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="retry-done">10000<\/dd>/, 'exactly the cap: still counted');
    sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
                                  state, next_attempt_at, created_at, updated_at)
         VALUES ('backlog-one-more', 1, 'backlog', '${EVENT}', 'backlog-x', '{}', 1, 'done',
                 UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))`);
    page = await viewer.get('/scheduler');
    assert.match(page.text, /id="retry-done">more than 10,000<\/dd>/);
    // Thousands more cost nothing more: each state's count stops after the cap
    // + 1 index entries (read again from its derived table: twice that). The
    // other states' rows (other tests') count too; the backlog is made larger
    // than everything a bounded count may read, so that a plain COUNT shows.
    const capped = (n) => Math.min(Number(n), 10001);
    const others = sql(`SELECT SUM(state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6)),
      SUM(state = 'scheduled' AND next_attempt_at > UTC_TIMESTAMP(6)), SUM(state = 'exhausted') FROM retry_queue`)[0]
      .reduce((sum, n) => sum + capped(n ?? 0), 0);
    // The health summary's retry trend (core/health.c) adds three counts of
    // the last hour, each stopping at 1,001 index entries (read twice).
    const bound = 2 * (10001 + others) + 500 + 3 * 2 * 1001;
    const more = bound + 10000 - 10001;
    sql(`SET SESSION max_recursive_iterations = ${more + 10};
      INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
                               state, next_attempt_at, created_at, updated_at)
      WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${more})
      SELECT CONCAT('backlog-more-', n), 1, 'backlog', '${EVENT}', CONCAT('backlog-m', n), '{}', 1, 'done',
             UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq`);
    const read = () => Number(sqlValue(`SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS
      WHERE VARIABLE_NAME IN ('HANDLER_READ_NEXT','HANDLER_READ_PREV','HANDLER_READ_RND_NEXT','HANDLER_READ_FIRST',
                              'HANDLER_READ_LAST','HANDLER_READ_KEY','HANDLER_READ_RND')`));
    const before0 = read();
    page = await viewer.get('/scheduler');
    const rows = read() - before0;
    assert.match(page.text, /id="retry-done">more than 10,000<\/dd>/);
    assert.ok(rows < bound, `the page read ${rows} rows (bound ${bound}) for ${more + 10001} finished rows`);
  } finally {
    sql(`DELETE FROM retry_queue WHERE handler_name = 'backlog'`);
  }
});
