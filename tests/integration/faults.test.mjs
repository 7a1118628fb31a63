// Delivery guarantees under faults (SPEC section 7): a receiver that is down,
// slow, answers garbage or 10 MB or resets the connection; MariaDB stopped
// during dispatches; a dispatcher killed with -9 mid-run; four workers
// draining 2,000 deliveries at once; a spool file with a torn last record.
// Each test prints its figures: sent, delivered, logged, duplicated, lost.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, configPath, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, disableAll, dispatch, editHandler, logsOf, publish, q } from '../lib/dispatch.mjs';
import {
  faultFigures, freePort, journals, logRows, makeDue, mariadbRunning, mariadbStart, mariadbStop, queueRow,
  spoolDir, startWorker, worker,
} from '../lib/retry.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(async () => {
  disableAll();
  rx.reset();
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state = 'scheduled'");
  await worker(); // what earlier tests left in the spool is not this test's
});

const EVENT = 'clients.balance_zero';

// Poll a condition (a readiness check, every 100 ms, 30 s at most).
async function until(condition, what) {
  const deadline = Date.now() + 30000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const deliveryIds = (r) => r.result.handlers.map((h) => h.delivery_id);

test('receiver down for the first 3 attempts, then up: delivered exactly once more, every attempt logged', async () => {
  const port = await freePort();
  const h = addHandler({ name: 'down', event: EVENT, task: `http://127.0.0.1:${port}/echo` });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('down3')], { sip: 'block' });
  assert.equal(r.status, 0, r.stderr);
  const [id] = deliveryIds(r);
  assert.match(r.result.handlers[0].error, /connect/i);
  for (let attempt = 2; attempt <= 3; attempt++) {
    makeDue(`delivery_id = ${q(id)}`);
    const w = await worker();
    assert.equal(w.status, 0, w.stderr);
    assert.equal(queueRow(id).attempt, attempt);
  }
  const up = await startReceiver({ port });
  try {
    makeDue(`delivery_id = ${q(id)}`);
    let w = await worker();
    assert.match(w.stdout, /^1 delivered/m);
    makeDue(`delivery_id = ${q(id)}`);
    w = await worker();
    assert.equal(up.requests.length, 1, 'delivered exactly once');
    assert.equal(up.requests[0].headers['x-prov-attempt'], '4');
    assert.deepEqual(JSON.parse(up.requests[0].body).data, { sip: 'block' });
    assert.deepEqual(logRows(id).map((l) => `${l.attempt} ${l.trigger} ${l.status}`),
      ['1 dispatch fail', '2 retry fail', '3 retry fail', '4 retry success']);
    assert.equal(queueRow(id).state, 'done');
    assert.equal(sqlValue(`SELECT consecutive_failures FROM handlers WHERE id = ${h}`), '0');
    const f = faultFigures('receiver down for 3 attempts', [id], up.requests);
    assert.deepEqual(f, { sent: 1, delivered: 1, logged: 4, duplicated: 0, lost: 0 });
  } finally {
    await up.close();
  }
});

test('receiver slow past the timeout, garbage, 10 MB, a reset: logged, retried when not acknowledged', async () => {
  const slow = addHandler({ name: 'slow', event: EVENT, task: `${rx.url}/slow?ms=1500&times=1`, timeoutMs: 300, priority: 1 });
  const garbage = addHandler({ name: 'garbage', event: EVENT, task: `${rx.url}/garbage?times=1`, priority: 2 });
  const big = addHandler({ name: 'ten MB', event: EVENT, task: `${rx.url}/big?mb=10`, priority: 3 });
  const reset = addHandler({ name: 'reset', event: EVENT, task: `${rx.url}/close?times=1`, priority: 4 });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('faults')], { n: 1 });
  assert.equal(r.status, 0, r.stderr);
  const step = Object.fromEntries(r.result.handlers.map((x) => [x.id, x]));
  assert.match(step[slow].error, /^timeout: no complete answer within 300 ms/);
  assert.equal(step[garbage].http_status, null);
  assert.match(step[big].error, /reply is larger than/);
  assert.match(step[reset].error, /Server returned nothing|Empty reply|reset|closed/i);
  assert.equal(queueRow(step[big].delivery_id), null, 'the 10 MB answer was a 200: acknowledged, not sent again');
  makeDue();
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /^3 delivered, 0 rescheduled, 0 exhausted/m);
  for (const [name, id] of Object.entries({ slow, garbage, reset })) {
    const d = step[id].delivery_id;
    assert.deepEqual(logRows(d).map((l) => `${l.attempt} ${l.trigger} ${l.status}`), ['1 dispatch fail', '2 retry success'], name);
    assert.equal(queueRow(d).state, 'done', name);
    const f = faultFigures(`receiver ${name === 'slow' ? 'slow past the timeout' : name === 'reset' ? 'resets the connection' : 'answers garbage'}`,
      [d], rx.requests);
    assert.deepEqual(f, { sent: 1, delivered: 1, logged: 2, duplicated: 0, lost: 0 }, name);
  }
  const bigId = step[big].delivery_id;
  assert.deepEqual(sql(`SELECT status, http_status, response_truncated, CHAR_LENGTH(response_body) FROM exec_logs
    WHERE delivery_id = ${q(bigId)}`), [['fail', '200', '1', '65536']]);
  const f = faultFigures('receiver answers 10 MB', [bigId], rx.requests);
  assert.deepEqual(f, { sent: 1, delivered: 0, logged: 1, duplicated: 0, lost: 0 });
});

test('MariaDB stopped before dispatches and started after: handlers ran, spooled, imported exactly once', { timeout: 180000 }, async (t) => {
  const ok = addHandler({ name: 'ok', event: EVENT, task: `${rx.url}/echo?db=down`, priority: 1 });
  const flaky = addHandler({ name: 'flaky', event: EVENT, task: `${rx.url}/status/503?db=down`, priority: 2 });
  publish();
  assert.equal((await dispatch([EVENT], {})).status, 0, 'the local snapshot copy is current');
  rx.reset();
  t.after(() => { if (!mariadbRunning()) mariadbStart(); });
  const uids = Array.from({ length: 5 }, (_, i) => uniqueName(`dbdown-${i}`));
  const results = [];
  const kept = path.join(runDir, 'journal-copy');
  let files = [];
  // A worker in loop mode rides the outage out and imports once MariaDB is back.
  const loop = startWorker(['--interval', '1', '--id', 'outage-loop']);
  t.after(() => loop.child.kill('SIGKILL'));
  mariadbStop();
  try {
    for (const uid of uids) {
      const r = await dispatch([EVENT, '--event-id', uid, '--object-id', '7'], { balance: 0 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.result.logged, false);
      assert.equal(r.result.spooled, true);
      assert.match(r.stderr, /the execution log was not written: database unreachable.*kept in the spool/);
      results.push(r);
    }
    const w = await worker();
    assert.equal(w.status, 69, 'the worker waits for the database');
    await until(() => /trying again every 1 s/.test(loop.out()), 'the loop worker noticed the outage');
    // Looked at while MariaDB is still down: once it is back the loop worker
    // may import them within its next second.
    files = journals();
    assert.equal(files.length, 5, 'one journal per dispatcher run');
    for (const f of files) assert.equal(statSync(path.join(spoolDir, f)).mode & 0o777, 0o600);
    copyFileSync(path.join(spoolDir, files[0]), kept);
  } finally {
    mariadbStart();
  }
  assert.equal(rx.requests.length, 10, 'every handler ran from the local copy');
  await until(() => journals().length === 0, 'the loop worker imported the spool and removed the files');
  loop.child.kill('SIGTERM');
  assert.equal(await loop.exited, 0, loop.out());
  assert.match(loop.out(), /database unreachable.*; trying again every 1 s\n(.*\n)*prov-worker: the database is back\n/);
  assert.match(loop.out(), /spool: 5 files, 10 executions imported \(0 interrupted\), 0 already logged/);
  let w;
  const states = [];
  for (const [i, uid] of uids.entries()) {
    const logs = logsOf(uid);
    assert.deepEqual(logs.map((l) => [l.handlerId, l.status, l.trigger, l.attempt, l.objectId]),
      [[ok, 'success', 'dispatch', 1, '7'], [flaky, 'fail', 'dispatch', 1, '7']]);
    assert.deepEqual(logs.map((l) => l.deliveryId), deliveryIds(results[i]));
    states.push(queueRow(logs[1].deliveryId).state);
  }
  // Queued from the spool; one object (7) and an ordered handler: one chain,
  // its head scheduled and the others waiting behind it (per-object order).
  assert.deepEqual(states.sort(), ['scheduled', 'waiting', 'waiting', 'waiting', 'waiting'], 'the failures were queued from the spool');
  // A journal imported again (a crash between the commit and the unlink) adds nothing.
  copyFileSync(kept, path.join(spoolDir, 'journal.1.again'));
  w = await worker();
  assert.match(w.stdout, /spool: 1 file, 0 executions imported \(0 interrupted\), 2 already logged/);
  const ids = results.flatMap(deliveryIds);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE delivery_id IN (${ids.map(q).join(',')})`)), 10);
  // The queued retries go out once the receiver answers.
  sql(`UPDATE handlers SET task = '${rx.url}/echo?db=up' WHERE id = ${flaky}`);
  sql('UPDATE cache_state SET handlers_version = handlers_version + 1');
  publish();
  makeDue(`delivery_id IN (${ids.map(q).join(',')})`);
  w = await worker();
  assert.match(w.stdout, /^5 delivered/m);
  const f = faultFigures('MariaDB stopped during 5 dispatches', ids, rx.requests);
  assert.deepEqual(f, { sent: 10, delivered: 10, logged: 15, duplicated: 0, lost: 0 });
});

test('dispatcher killed with -9 in the middle of 5 handlers: no lost log row, nothing twice', async () => {
  const ids = [];
  for (let i = 1; i <= 5; i++) {
    const task = i === 4 ? `${rx.url}/hang?times=1&h=4` : `${rx.url}/echo?h=${i}`;
    ids.push(addHandler({ name: `k${i}`, event: EVENT, task, priority: i, timeoutMs: 20000 }));
  }
  publish();
  const uid = uniqueName('kill9');
  const child = spawn(path.join(binDir, 'prov-dispatch'), [EVENT, '--event-id', uid]);
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(signal)));
  child.stdin.end('{"balance":0}');
  await rx.waitFor((x) => x.query.h === '4');
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.deepEqual(rx.requests.map((x) => x.query.h), ['1', '2', '3', '4'], 'the 5th never started');
  assert.equal(journals().length, 1, 'the killed run left its journal');
  let w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /spool: 1 file, 4 executions imported \(1 interrupted\)/);
  const logs = logsOf(uid);
  assert.deepEqual(logs.map((l) => [l.handlerId, l.status, l.trigger]),
    [[ids[0], 'success', 'dispatch'], [ids[1], 'success', 'dispatch'], [ids[2], 'success', 'dispatch'], [ids[3], 'fail', 'dispatch']]);
  assert.match(logs[3].error, /^interrupted: the dispatcher stopped during this delivery/);
  const sentIds = rx.requests.map((x) => x.headers['x-prov-delivery']);
  assert.deepEqual(logs.map((l) => l.deliveryId), sentIds, 'each request the receiver got has its row');
  // The interrupted delivery is retried with its delivery id: the receiver can tell.
  assert.equal(queueRow(sentIds[3]).state, 'scheduled');
  makeDue(`delivery_id = ${q(sentIds[3])}`);
  w = await worker();
  assert.match(w.stdout, /^1 delivered/m);
  assert.equal(rx.requests[4].headers['x-prov-delivery'], sentIds[3]);
  await worker();
  const f = faultFigures('dispatcher killed with -9 at handler 4 of 5', sentIds, rx.requests);
  assert.deepEqual(f, { sent: 4, delivered: 4, logged: 5, duplicated: 0, lost: 0 });
});

test('a worker killed with -9 during a delivery: the attempt is logged as interrupted, the row comes back', async () => {
  const h = addHandler({ name: 'doomed worker', event: EVENT, task: `${rx.url}/status/503?wk=1`, timeoutMs: 20000 });
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('worker-kill9')], {});
  const [id] = deliveryIds(r);
  editHandler(h, `task = ${q(`${rx.url}/hang?times=1&wk=2`)}`);
  publish();
  makeDue(`delivery_id = ${q(id)}`);
  const doomed = startWorker(['--once', '--id', 'doomed']);
  await rx.waitFor((x) => x.headers['x-prov-delivery'] === id && x.headers['x-prov-attempt'] === '2');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  assert.match(queueRow(id).claimedBy, /^doomed@[^:]+:\d+$/, 'its lease still holds the row');
  assert.equal(journals().length, 1, 'the killed worker left its journal');
  let w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /spool: 1 file, 1 execution imported \(1 interrupted\)/);
  const row = queueRow(id);
  assert.deepEqual([row.state, row.attempt, row.claimedBy], ['scheduled', 2, '']);
  assert.ok(row.dueIn > 250 && row.dueIn <= 330, `the schedule's second step, 5 min: ${row.dueIn}`);
  const logs = logRows(id);
  assert.deepEqual(logs.map((l) => `${l.attempt} ${l.trigger} ${l.status}`), ['1 dispatch fail', '2 retry fail']);
  assert.match(logs[1].error, /^interrupted: the retry worker stopped during this delivery/);
  makeDue(`delivery_id = ${q(id)}`);
  w = await worker();
  assert.match(w.stdout, /^1 delivered/m);
  const f = faultFigures('worker killed with -9 during a delivery', [id], rx.requests);
  assert.deepEqual(f, { sent: 1, delivered: 1, logged: 3, duplicated: 0, lost: 0 });
});

test('4 workers drain 2,000 queued deliveries at once: each delivered exactly once', { timeout: 120000 }, async () => {
  const h = addHandler({ name: 'bulk', event: EVENT, task: `${rx.url}/echo?bulk=1` });
  publish();
  const tag = uniqueName('bulk');
  sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
         state, next_attempt_at, created_at, updated_at)
       SELECT UUID(), ${h}, 'bulk', '${EVENT}', CONCAT('${tag}-', seq),
         CONCAT('{"event":{"id":"${tag}-', seq, '","events_id":"${EVENT}"},"data":{"n":', seq, '}}'), 1,
         'scheduled', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_2000`);
  const queued = sql(`SELECT delivery_id FROM retry_queue WHERE event_uid LIKE '${tag}-%'`).map(([x]) => x);
  assert.equal(queued.length, 2000);
  const deadlocks = () => Number(sql("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")[0][1]);
  const deadlocksBefore = deadlocks();
  const started = Date.now();
  const perWorker = [0, 0, 0, 0];
  let rounds = 0;
  while (Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE state = 'scheduled' AND event_uid LIKE '${tag}-%'`)) > 0) {
    assert.ok(rounds++ < 5, 'drained within 5 rounds');
    const runs = await Promise.all([1, 2, 3, 4].map((n) => worker(['--once', '--batch', '25', '--id', `bulk-${n}`])));
    for (const [n, r] of runs.entries()) {
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /deadlock|lock wait/i);
      const delivered = Number(/^(\d+) delivered/m.exec(r.stdout)[1]);
      perWorker[n] += delivered;
    }
  }
  console.log(`deliveries per worker: ${perWorker.join(', ')}; InnoDB deadlocks meanwhile: ${deadlocks() - deadlocksBefore} (a deadlocked transaction is run again)`);
  assert.equal(perWorker.reduce((a, b) => a + b, 0), 2000);
  assert.ok(perWorker.every((n) => n > 0), 'all four worked at once');
  const seconds = (Date.now() - started) / 1000;
  console.log(`4 workers delivered 2000 queued retries in ${seconds.toFixed(1)} s (${rounds} round${rounds === 1 ? '' : 's'}, ASan build)`);
  const counts = new Map();
  for (const x of rx.requests) counts.set(x.headers['x-prov-delivery'], (counts.get(x.headers['x-prov-delivery']) || 0) + 1);
  assert.equal(counts.size, 2000);
  assert.ok(queued.every((id) => counts.get(id) === 1), 'every delivery exactly once at the receiver');
  const byWorker = sql(`SELECT COUNT(DISTINCT delivery_id), COUNT(*) FROM exec_logs WHERE trigger_kind = 'retry'
    AND event_uid LIKE '${tag}-%'`)[0];
  assert.deepEqual(byWorker, ['2000', '2000']);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE event_uid LIKE '${tag}-%' AND state = 'done'`), '2000');
  const f = faultFigures('4 workers draining 2,000 deliveries', queued, rx.requests);
  assert.deepEqual(f, { sent: 2000, delivered: 2000, logged: 2000, duplicated: 0, lost: 0 });
});

test('a spool file with a torn last record is imported up to the tear and the tear reported', async () => {
  const a = addHandler({ name: 'torn a', event: EVENT, task: `${rx.url}/echo?t=a`, priority: 1 });
  const b = addHandler({ name: 'torn b', event: EVENT, task: `${rx.url}/echo?t=b`, priority: 2 });
  publish();
  assert.equal((await dispatch([EVENT], {})).status, 0, 'the local snapshot copy is current');
  rx.reset();
  // This host's dispatcher cannot reach MariaDB: it spools.
  const down = path.join(runDir, 'spool-down.conf');
  writeFileSync(down, `${readFileSync(configPath, 'utf8')}db_socket = ${runDir}/no-such-mysqld.sock\n`);
  const uid = uniqueName('torn');
  const r = await dispatch([EVENT, '--config', down, '--event-id', uid], {});
  assert.equal(r.result.spooled, true, r.stderr);
  const [file] = journals();
  const full = path.join(spoolDir, file);
  const size = statSync(full).size;
  const lastRecord = readFileSync(full, 'latin1').lastIndexOf('S1 ');
  truncateSync(full, lastRecord + Math.floor((size - lastRecord) / 2)); // a write cut short
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, new RegExp(`spool ${full.replace(/[.]/g, '\\.')}: torn last record at offset ${lastRecord} \\(a write cut short\\): imported up to it`));
  assert.match(w.stdout, /spool: 1 file, 2 executions imported \(1 interrupted\)/);
  assert.equal(existsSync(full), false);
  assert.match(sqlValue("SELECT last_detail FROM services WHERE name = 'retry_worker'"), /torn last record at offset/);
  const logs = logsOf(uid);
  assert.deepEqual(logs.map((l) => [l.handlerId, l.status]), [[a, 'success'], [b, 'fail']]);
  assert.match(logs[1].error, /^interrupted/, "b's outcome was in the torn record: unknown, so retried");
  const f = faultFigures('spool with a torn last record', deliveryIds(r), rx.requests);
  assert.deepEqual(f, { sent: 2, delivered: 1, logged: 2, duplicated: 0, lost: 0 });

  // Damage in the middle is not a crash: skipped, the rest imported, the file set aside.
  const uid2 = uniqueName('corrupt');
  const r2 = await dispatch([EVENT, '--config', down, '--event-id', uid2], {});
  assert.equal(r2.result.spooled, true);
  const [file2] = journals();
  const text = readFileSync(path.join(spoolDir, file2), 'latin1');
  const second = text.indexOf('S1 ', 1);
  const damaged = Buffer.from(text, 'latin1');
  damaged[second + 40] ^= 0x20;
  writeFileSync(path.join(spoolDir, file2), damaged);
  const w2 = await worker();
  assert.equal(w2.status, 0, w2.stderr);
  assert.match(w2.stderr, new RegExp(`damaged record at offset ${second} skipped, the records after it imported; file kept as \\*\\.corrupt`));
  assert.ok(existsSync(path.join(spoolDir, `${file2}.corrupt`)));
  assert.equal(sqlValue("SELECT last_result FROM services WHERE name = 'retry_worker'"), 'error');
  // a's outcome was the damaged record: unknown, so interrupted; b came through whole.
  assert.deepEqual(logsOf(uid2).map((l) => [l.handlerId, l.status, l.error.slice(0, 11)]),
    [[a, 'fail', 'interrupted'], [b, 'success', '']]);
});

test('an unwritable spool: nothing is delivered (exit 73), whether the database is up or not', async () => {
  addHandler({ name: 'nospool', event: EVENT, task: `${rx.url}/echo?nospool=1` });
  publish();
  assert.equal((await dispatch([EVENT], {})).status, 0, 'the local snapshot copy is current');
  const base = readFileSync(configPath, 'utf8');
  const noSpool = path.join(runDir, 'no-spool.conf');
  writeFileSync(noSpool, `${base}spool_dir = ${runDir}/no-such-spool\n`);
  rx.reset();
  const uid = uniqueName('nospool');
  let r = await dispatch([EVENT, '--config', noSpool, '--event-id', uid], {});
  assert.equal(r.status, 73, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^prov-dispatch: the spool journal in spool_dir .*no-such-spool cannot be written \(spool .*no-such-spool: cannot create a journal: No such file or directory\): no handler was run; nothing more was delivered\n$/);
  assert.equal(rx.requests.length, 0, 'no delivery without its journal');
  assert.equal(logsOf(uid).length, 0);
  const neither = path.join(runDir, 'neither.conf');
  writeFileSync(neither, `${base}spool_dir = ${runDir}/no-such-spool\ndb_socket = ${runDir}/no-such.sock\n`);
  r = await dispatch([EVENT, '--config', neither], {});
  assert.equal(r.status, 73, r.stderr);
  assert.equal(rx.requests.length, 0, 'the handler did not run');
});
