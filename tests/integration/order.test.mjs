// Per-object order (issue #15): for each (handler, object_id) of an ordered
// handler, deliveries happen in event order. While an earlier delivery of an
// object is failing or queued, later events of that object are logged
// 'waiting' (behind #ID), queued behind it and delivered by the retry worker
// once it is done; other objects are not held back. Single runs, --batch, two
// dispatcher services against one MariaDB with two workers, the switch off,
// a head given up (blocked until released), and the race between the check
// and the head finishing.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { api, apiUser, binDir, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, configWith, disableAll, dispatch, editHandler, envelope, publish, q, run, startBatch } from '../lib/dispatch.mjs';
import { makeDue, mariadbRunning, mariadbStart, mariadbStop, startWorker, worker } from '../lib/retry.mjs';

const EVENT = 'clients.subscriptions.renew';

// A receiver that fails (503) every delivery of the objects in `failing`,
// and records what it received: object, event id, attempt, answer.
let rx;
function startOrderReceiver() {
  const failing = new Set();
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let event = {};
      try { event = JSON.parse(Buffer.concat(chunks).toString('utf8')).event || {}; } catch { /* not JSON */ }
      const fail = failing.has(event.object_id) && !req.url.includes('always-ok');
      got.push({ path: req.url, object: event.object_id, uid: event.id, attempt: Number(req.headers['x-prov-attempt']),
        status: fail ? 503 : 200 });
      res.writeHead(fail ? 503 : 200, { 'content-type': 'application/json' });
      res.end(fail ? '{"error":"down"}' : '{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    failing,
    got,
    reset() { failing.clear(); got.length = 0; },
    // What the handler at path received for object, in arrival order.
    of(object, p) { return got.filter((g) => g.object === object && g.path.startsWith(p)); },
    close() { return new Promise((r) => { server.closeAllConnections?.(); server.close(r); }); },
  })));
}

before(async () => { rx = await startOrderReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => {
  disableAll();
  rx.reset();
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state IN ('scheduled', 'waiting', 'blocked')");
});

const step = (r, h) => r.result.handlers.find((s) => s.id === h);
const logId = (deliveryId, status) => Number(sqlValue(
  `SELECT id FROM exec_logs WHERE delivery_id = ${q(deliveryId)} AND status = ${q(status)} ORDER BY id LIMIT 1`));
const chainStates = (h, object) => sql(`SELECT event_uid, state FROM retry_queue WHERE handler_id = ${h}
  AND object_id = ${object} ORDER BY id`).map(([uid, state]) => `${uid}:${state}`);

// Run the worker until nothing of handler h is due or queued behind (at most `passes`).
async function drain(h, passes = 10, args = ['--once']) {
  for (let i = 0; i < passes; i++) {
    makeDue(`handler_id = ${h}`);
    const w = await worker(args);
    assert.equal(w.status, 0, w.stderr);
    if (Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE handler_id = ${h}
      AND state IN ('scheduled', 'waiting')`)) === 0) return;
  }
  throw new Error(`handler ${h}: still queued after ${passes} worker passes: ${chainStates(h, 7)}`);
}

// The issue's scenario with events sent by send(uid, object) -> result document.
async function scenario(send, drainWith = (h) => drain(h)) {
  const h = addHandler({ name: uniqueName('ordered'), event: EVENT, task: `${rx.url}/ordered` });
  publish();
  rx.failing.add(7);
  const tag = uniqueName('o');
  const uids = ['a', 'b', 'c', 'd'].map((x) => `${tag}-7${x}`);
  const results = [];
  for (const uid of uids) results.push(await send(uid, 7));
  const r8 = await send(`${tag}-8`, 8);

  // Object 8 went at once; of object 7 only the first event reached the receiver.
  assert.deepEqual(rx.of(8, '/ordered').map((g) => [g.uid, g.status]), [[`${tag}-8`, 200]]);
  assert.equal(step(r8, h).status, 'success');
  assert.deepEqual(rx.of(7, '/ordered').map((g) => [g.uid, g.status]), [[uids[0], 503]]);
  // Billing's result: the first failed, the others are waiting, each behind the one before.
  assert.equal(step(results[0], h).status, 'fail');
  const firstLog = logId(step(results[0], h).delivery_id, 'fail');
  let behind = firstLog;
  for (const r of results.slice(1)) {
    const s = step(r, h);
    assert.equal(r.result.verdict, 'allow', 'a held handler neither changes nor forbids the event');
    assert.equal(s.status, 'waiting');
    assert.equal(s.verdict, null);
    assert.equal(s.error, null);
    assert.equal(s.behind, behind, 'behind the execution of the event before it');
    assert.equal(r.result.logged, true);
    const [status, behindCol, attempt, trigger] = sql(`SELECT status, behind_log_id, attempt, trigger_kind
      FROM exec_logs WHERE delivery_id = ${q(s.delivery_id)}`)[0];
    assert.deepEqual([status, Number(behindCol), attempt, trigger], ['waiting', behind, '1', 'dispatch']);
    behind = logId(s.delivery_id, 'waiting');
  }
  assert.deepEqual(chainStates(h, 7), [`${uids[0]}:scheduled`, ...uids.slice(1).map((u) => `${u}:waiting`)]);
  // Not delivered: no handler state, no metrics counted for the waiting rows.
  assert.equal(sqlValue(`SELECT COALESCE(SUM(executions), 0) FROM exec_totals WHERE handler_id = ${h}`), '2');

  // Only a chain's head is claimable: before the head is due, a worker pass
  // delivers nothing of object 7 (the rows behind it were queued due now).
  const early = await worker();
  assert.equal(early.status, 0, early.stderr);
  assert.equal(rx.of(7, '/ordered').length, 1, 'nothing behind the head was claimed');

  // The receiver recovers; the worker delivers object 7's events in event order.
  rx.failing.delete(7);
  await drainWith(h);
  const seen = rx.of(7, '/ordered');
  assert.deepEqual(seen.map((g) => [g.uid, g.attempt, g.status]),
    [[uids[0], 1, 503], [uids[0], 2, 200], [uids[1], 1, 200], [uids[2], 1, 200], [uids[3], 1, 200]]);
  assert.deepEqual(chainStates(h, 7), uids.map((u) => `${u}:done`));
  for (const r of results.slice(1)) {
    assert.deepEqual(sql(`SELECT status, trigger_kind, attempt FROM exec_logs WHERE delivery_id = ${q(step(r, h).delivery_id)}
      ORDER BY id`), [['waiting', 'dispatch', '1'], ['success', 'retry', '1']]);
  }
  return { h, uids };
}

test('single runs: object 8 goes at once, object 7 waits behind its failed first event and arrives in order', async () => {
  await scenario(async (uid, object) => {
    const r = await dispatch([EVENT, '--event-id', uid, '--object-id', String(object)], { plan: 'x' });
    assert.equal(r.status, 0, r.stderr);
    return r;
  });
});

test('--batch: the same order, and the waiting rows are committed before their result lines', async () => {
  let batch = null; // started after the scenario published its handler
  try {
    await scenario(async (uid, object) => {
      batch ||= startBatch();
      const result = await batch.send(envelope(EVENT, { plan: 'x' }, { id: uid, objectId: object }));
      // Printed after its rows committed: the log already shows this event.
      assert.ok(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = ${q(uid)}`)) >= 1);
      return { result, status: 0 };
    });
  } finally {
    const end = await batch?.end();
    assert.equal(end?.status, 0, end?.stderr);
  }
});

// Every line waiting at once: the batch reads them together and checks their
// objects in one statement; what it queued itself is not committed yet (its
// group is still filling, or being committed by the writer while the next
// fills), so it must know it from its own book. With 300 other events in
// between, object 7's later events come two groups after its first.
for (const filler of [0, 300]) {
  test(`--batch, all lines at once with ${filler} other events in between: object 7 held in order, object 8 at once`, async () => {
    const h = addHandler({ name: uniqueName('ordered-at-once'), event: EVENT, task: `${rx.url}/at-once` });
    publish();
    rx.failing.add(7);
    const tag = uniqueName('once');
    const uids = ['a', 'b', 'c', 'd'].map((x) => `${tag}-7${x}`);
    const lines = [envelope(EVENT, { plan: 'x' }, { id: uids[0], objectId: 7 }),
      ...Array.from({ length: filler }, (_, i) => envelope(EVENT, { plan: 'x' }, { id: `${tag}-f${i}`, objectId: 100000 + i })),
      ...uids.slice(1).map((uid) => envelope(EVENT, { plan: 'x' }, { id: uid, objectId: 7 })),
      envelope(EVENT, { plan: 'x' }, { id: `${tag}-8`, objectId: 8 })];
    const r = await run(path.join(binDir, 'prov-dispatch'), ['--batch'],
      { input: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n` });
    assert.equal(r.status, 0, r.stderr);
    const results = r.stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l));
    assert.equal(results.length, lines.length);
    const byUid = new Map(results.map((x) => [x.event.id, x]));
    assert.equal(step({ result: byUid.get(`${tag}-8`) }, h).status, 'success');
    assert.deepEqual(rx.of(7, '/at-once').map((g) => [g.uid, g.status]), [[uids[0], 503]], 'only the first of object 7 was sent');
    let behind = logId(step({ result: byUid.get(uids[0]) }, h).delivery_id, 'fail');
    for (const uid of uids.slice(1)) {
      const s = step({ result: byUid.get(uid) }, h);
      assert.equal(s.status, 'waiting', `${uid} is held`);
      assert.equal(s.behind, behind, `${uid} waits behind the event before it`);
      behind = logId(s.delivery_id, 'waiting');
    }
    // A later batch (another process) sees the chain in the queue.
    const later = await run(path.join(binDir, 'prov-dispatch'), ['--batch'],
      { input: `${JSON.stringify(envelope(EVENT, { plan: 'x' }, { id: `${tag}-7e`, objectId: 7 }))}\n` });
    assert.equal(later.status, 0, later.stderr);
    assert.equal(step({ result: JSON.parse(later.stdout) }, h).behind, behind);
    rx.failing.delete(7);
    await drain(h);
    assert.deepEqual(rx.of(7, '/at-once').map((g) => [g.uid, g.status]),
      [[uids[0], 503], [uids[0], 200], ...[...uids.slice(1), `${tag}-7e`].map((u) => [u, 200])]);
  });
}

test('ordering off: later events of a failing object are delivered at once', async () => {
  const h = addHandler({ name: uniqueName('unordered'), event: EVENT, task: `${rx.url}/unordered` });
  editHandler(h, 'ordered = 0');
  publish();
  rx.failing.add(7);
  const tag = uniqueName('off');
  for (const x of ['a', 'b', 'c']) {
    const r = await dispatch([EVENT, '--event-id', `${tag}-${x}`, '--object-id', '7'], {});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(step(r, h).status, 'fail', 'delivered (and failed), not held');
  }
  assert.deepEqual(rx.of(7, '/unordered').map((g) => g.uid), [`${tag}-a`, `${tag}-b`, `${tag}-c`]);
  assert.deepEqual(chainStates(h, 7), [`${tag}-a:scheduled`, `${tag}-b:scheduled`, `${tag}-c:scheduled`]);
});

test('an event without object_id and other handlers of the event are never held', async () => {
  const held = addHandler({ name: uniqueName('held'), event: EVENT, task: `${rx.url}/held`, priority: 1 });
  const other = addHandler({ name: uniqueName('other'), event: EVENT, task: `${rx.url}/other?always-ok`, priority: 2 });
  publish();
  rx.failing.add(7);
  const tag = uniqueName('mix');
  await dispatch([EVENT, '--event-id', `${tag}-1`, '--object-id', '7'], {});
  const r = await dispatch([EVENT, '--event-id', `${tag}-2`, '--object-id', '7'], {});
  assert.equal(step(r, held).status, 'waiting');
  assert.equal(step(r, other).status, 'success', 'the other handler of the same event is delivered');
  const none = await dispatch([EVENT, '--event-id', `${tag}-3`], {});
  assert.equal(step(none, held).status, 'success', 'no object_id: no order to keep, delivered');
});

test('a head given up is blocked: the events behind it wait until an operator releases it', async () => {
  const h = addHandler({ name: uniqueName('blocked'), event: EVENT, task: `${rx.url}/blocked` });
  editHandler(h, 'retry_max_attempts = 2');
  publish();
  rx.failing.add(7);
  const tag = uniqueName('blk');
  const first = await dispatch([EVENT, '--event-id', `${tag}-1`, '--object-id', '7'], {});
  const second = await dispatch([EVENT, '--event-id', `${tag}-2`, '--object-id', '7'], {});
  assert.equal(step(second, h).status, 'waiting');
  makeDue(`handler_id = ${h}`);
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, /the later deliveries of that object to it are held until an operator releases it \(prov-worker --release \d+\)/);
  assert.deepEqual(chainStates(h, 7), [`${tag}-1:blocked`, `${tag}-2:waiting`]);
  // A new event is held behind the chain too, and nothing more reaches the receiver.
  rx.failing.delete(7);
  const third = await dispatch([EVENT, '--event-id', `${tag}-3`, '--object-id', '7'], {});
  assert.equal(step(third, h).status, 'waiting');
  await worker();
  assert.deepEqual(rx.of(7, '/blocked').map((g) => [g.uid, g.attempt]), [[`${tag}-1`, 1], [`${tag}-1`, 2]]);
  // The operator releases it (by the log id of its last execution): the rest goes, in order.
  const blockedLog = Number(sqlValue(`SELECT log_id FROM retry_queue WHERE event_uid = ${q(`${tag}-1`)}`));
  const unknown = await worker(['--release', '999999999']);
  assert.equal(unknown.status, 65);
  assert.match(unknown.stderr, /no blocked delivery has log id 999999999/);
  const rel = await worker(['--release', String(blockedLog)]);
  assert.equal(rel.status, 0, rel.stderr);
  await drain(h);
  assert.deepEqual(rx.of(7, '/blocked').map((g) => g.uid), [`${tag}-1`, `${tag}-1`, `${tag}-2`, `${tag}-3`]);
  assert.deepEqual(chainStates(h, 7), [`${tag}-1:exhausted`, `${tag}-2:done`, `${tag}-3:done`]);
  void first;

  // A head given up with nothing behind it is simply exhausted: the object is free.
  rx.failing.add(8);
  await dispatch([EVENT, '--event-id', `${tag}-8a`, '--object-id', '8'], {});
  makeDue(`handler_id = ${h}`);
  const w8 = await worker();
  assert.equal(w8.status, 0, w8.stderr);
  assert.deepEqual(chainStates(h, 8), [`${tag}-8a:exhausted`]);
  rx.failing.delete(8);
  const later = await dispatch([EVENT, '--event-id', `${tag}-8b`, '--object-id', '8'], {});
  assert.equal(step(later, h).status, 'success');
});

test('the head finishes between the check and the enqueue: the waiting row is not stranded', async () => {
  // The ordered handler runs first (held), a slow one second: the event's
  // log transaction comes after the worker has delivered the head.
  const h = addHandler({ name: uniqueName('race'), event: EVENT, task: `${rx.url}/race`, priority: 1 });
  const slowServer = http.createServer((req, res) => { req.resume(); setTimeout(() => { res.writeHead(200); res.end("{}"); }, 3000); });
  await new Promise((r) => slowServer.listen(0, '127.0.0.1', r));
  addHandler({ name: uniqueName('slow'), event: EVENT, task: `http://127.0.0.1:${slowServer.address().port}/slow`, priority: 2 });
  publish();
  try {
    rx.failing.add(7);
    const tag = uniqueName('race');
    await dispatch([EVENT, '--event-id', `${tag}-1`, '--object-id', '7'], {});
    rx.failing.delete(7);
    makeDue(`handler_id = ${h}`);
    const pending = dispatch([EVENT, '--event-id', `${tag}-2`, '--object-id', '7'], {});
    // While the second event's slow handler runs, the head is delivered.
    await new Promise((r) => setTimeout(r, 300));
    const w = await worker();
    assert.equal(w.status, 0, w.stderr);
    assert.deepEqual(chainStates(h, 7), [`${tag}-1:done`]);
    const r = await pending;
    assert.equal(step(r, h).status, 'waiting', 'held by the check made before the head finished');
    assert.deepEqual(chainStates(h, 7), [`${tag}-1:done`, `${tag}-2:scheduled`], 'due at once: its chain had emptied');
    await drain(h);
    assert.deepEqual(rx.of(7, '/race').map((g) => [g.uid, g.status]), [[`${tag}-1`, 503], [`${tag}-1`, 200], [`${tag}-2`, 200]]);
  } finally {
    await new Promise((r) => slowServer.close(r));
  }
});

test('MariaDB down: the queue cannot be asked, so events go on from the local snapshot as before', async (t) => {
  const h = addHandler({ name: uniqueName('down-ordered'), event: EVENT, task: `${rx.url}/down-ordered` });
  publish();
  const tag = uniqueName('down');
  await dispatch([EVENT, '--event-id', `${tag}-warm`, '--object-id', '5'], {}); // the local copy of the snapshot
  t.after(() => { if (!mariadbRunning()) mariadbStart(); });
  mariadbStop();
  const r = await dispatch([EVENT, '--event-id', `${tag}-1`, '--object-id', '9'], {});
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([r.result.logged, r.result.spooled], [false, true]);
  assert.equal(step(r, h).status, 'success', 'delivered: availability during an outage is kept');
  assert.deepEqual(rx.of(9, '/down-ordered').map((g) => g.uid), [`${tag}-1`]);
  mariadbStart();
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.deepEqual(sql(`SELECT status, trigger_kind FROM exec_logs WHERE event_uid = ${q(`${tag}-1`)}`), [['success', 'dispatch']]);
});

test('the API: ordered is on by default, a PATCH switches it, a bad value is refused with nothing written', async () => {
  const admin = apiUser('admin');
  const created = await api('POST', '/handlers', { key: admin.key,
    body: { name: uniqueName('api-ordered'), events_id: EVENT, task: `${rx.url}/api` } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.ordered, true);
  const off = await api('PATCH', `/handlers/${created.json.id}`, { key: admin.key, body: { ordered: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.ordered, false);
  assert.equal(sqlValue(`SELECT ordered FROM handlers WHERE id = ${created.json.id}`), '0');
  const bad = await api('PATCH', `/handlers/${created.json.id}`, { key: admin.key, body: { ordered: 'sometimes', priority: 7 } });
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error.message, 'ordered must be true or false');
  assert.equal(bad.json.error.data.field, 'ordered');
  assert.deepEqual(sql(`SELECT ordered, priority FROM handlers WHERE id = ${created.json.id}`), [['0', '1']]);
});

// A MariaDB session the test holds open (the mariadb client on a pipe).
function openSession() {
  const child = spawn('mariadb', ['--no-defaults', `--socket=${runDir}/mysqld.sock`, '-uroot', '--batch',
    '--unbuffered', '--skip-column-names', 'provisioning']);
  const out = [];
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => out.push(c));
  const closed = new Promise((resolve) => child.on('close', resolve));
  return {
    send(text) { child.stdin.write(`${text}\n`); },
    output: () => Buffer.concat(out).toString('utf8'),
    async close() { child.stdin.end(); return closed; },
  };
}

const until = async (what, check, ms = 20000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('the enqueue locks the chain: a head finishing while the waiting row is being written sees it and lets it go', async () => {
  const h = addHandler({ name: uniqueName('lock'), event: EVENT, task: `${rx.url}/lock` });
  publish();
  rx.failing.add(7);
  const tag = uniqueName('lock');
  await dispatch([EVENT, '--event-id', `${tag}-1`, '--object-id', '7'], {});
  rx.failing.delete(7);
  makeDue(`handler_id = ${h}`);
  // Hold the chain's head row: the second event's log transaction must lock
  // the chain (its tail, the head here) before it queues its waiting row, so
  // it stops there until the session ends.
  const session = openSession();
  let pending = null;
  try {
    const headId = sqlValue(`SELECT MAX(id) FROM retry_queue WHERE handler_id = ${h} AND object_id = 7`);
    session.send(`BEGIN; SELECT id FROM retry_queue WHERE id = ${headId} FOR UPDATE; SELECT 'locked';`);
    await until('the session to hold its lock', () => session.output().includes('locked'));
    // Waiting: a LOCK WAIT in innodb_trx, or (a prepared statement's wait
    // does not always show there) the chain read still running in the
    // processlist while the session holds the row.
    const waits = () => Number(sqlValue(`SELECT (SELECT COUNT(*) FROM information_schema.innodb_trx
        WHERE trx_state = 'LOCK WAIT') + (SELECT COUNT(*) FROM information_schema.processlist
        WHERE info LIKE 'SELECT id, log_id FROM retry_queue WHERE object_id = ?%' AND time_ms > 200)`));
    pending = dispatch([EVENT, '--event-id', `${tag}-2`, '--object-id', '7'], {});
    await until('the dispatcher to wait for the chain lock', () => waits() >= 1);
    // The worker meanwhile: the head is locked, so it is skipped (SKIP
    // LOCKED) and finished only after the waiting row exists.
    const w = await worker();
    assert.equal(w.status, 0, w.stderr);
  } finally {
    session.send('COMMIT;');
    await session.close();
  }
  const r = await pending;
  assert.equal(r.status, 0, r.stderr);
  assert.equal(step(r, h).status, 'waiting');
  await drain(h);
  assert.deepEqual(rx.of(7, '/lock').map((g) => [g.uid, g.status]), [[`${tag}-1`, 503], [`${tag}-1`, 200], [`${tag}-2`, 200]]);
  assert.deepEqual(chainStates(h, 7), [`${tag}-1:done`, `${tag}-2:done`]);
});

// Two dispatcher hosts: two services with their own socket, spool and local
// snapshot against the one MariaDB, and two retry workers in loops.
const services = new Set();
after(() => { for (const pid of services) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } } });

async function startService(config) {
  const child = spawn(path.join(binDir, 'prov-dispatchd'), ['--serve'], { env: { ...process.env, PROV_CONFIG: config }, detached: true });
  services.add(child.pid);
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  const exited = new Promise((resolve) => child.on('close', (s) => { services.delete(child.pid); resolve(s); }));
  const end = Date.now() + 20000;
  while (!/worker ready/.test(Buffer.concat(err).toString('utf8'))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`service: ${Buffer.concat(err).toString('utf8')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { stop() { child.kill('SIGTERM'); return exited; }, stderr: () => Buffer.concat(err).toString('utf8') };
}

test('two dispatcher hosts and two retry workers sharing one MariaDB keep the order', async () => {
  const hosts = ['a', 'b'].map((x) => {
    const dir = path.join(runDir, `order-host-${x}`);
    mkdirSync(path.join(dir, 'spool'), { recursive: true });
    return configWith(`order-host-${x}.conf`, {
      dispatch_socket: path.join(dir, 'dispatch.sock'), dispatch_workers: 2, dispatch_wait_ms: 10000,
      spool_dir: path.join(dir, 'spool'), cache_path: path.join(dir, 'cache.json'),
    });
  });
  const svcs = [];
  for (const c of hosts) svcs.push(await startService(c));
  let workers = [];
  try {
    let n = 0;
    await scenario(async (uid, object) => {
      // Events alternate between the hosts; billing waits for each result.
      const config = hosts[n++ % 2];
      const r = await dispatch([EVENT, '--event-id', uid, '--object-id', String(object)], { plan: 'x' }, { env: { PROV_CONFIG: config } });
      assert.equal(r.status, 0, r.stderr);
      return r;
    }, async (h) => {
      makeDue(`handler_id = ${h}`);
      workers = [startWorker(['--interval', '1', '--batch', '1'], { PROV_CONFIG: hosts[0] }),
        startWorker(['--interval', '1', '--batch', '1'], { PROV_CONFIG: hosts[1] })];
      const end = Date.now() + 30000;
      while (Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE handler_id = ${h} AND state <> 'done'`)) > 0) {
        if (Date.now() > end) throw new Error(`not drained: ${chainStates(h, 7)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    // Both services ran events (each has its own snapshot copy).
    for (const c of hosts) {
      const cache = readFileSync(path.join(path.dirname(c), path.basename(c, '.conf'), 'cache.json'), 'utf8');
      assert.match(cache, /"ordered":true/);
    }
  } finally {
    for (const w of workers) { w.child.kill('SIGTERM'); await w.exited; }
    for (const s of svcs) await s.stop();
  }
});
