// "The record is the truth" (issue #12, SPEC sections 7 and 10): fault
// injection against the execution log. Each fault test counts events sent,
// deliveries the receiver acknowledged (by X-Prov-Delivery and attempt),
// executions logged, duplicated, lost (acknowledged, never logged once
// prov-worker has imported the spool) and invented (a logged success the
// receiver never acknowledged), prints one "figures:" line and asserts that
// nothing is lost, duplicated or invented:
//   - KILL CONNECTION of the dispatcher's MariaDB threads at random moments
//     during a 2,000-event --batch and during 8 parallel callers of the service;
//   - a COMMIT whose connection is lost (a proxy drops it; deterministic);
//   - mariadbd killed with -9 in the middle of a batch, then started again;
//   - the journal of a run cut after every record and inside records;
//   - spool_dir on a full, read-only or impossible filesystem (exit 73);
// and the guarantees a mutation must break: 8 callers of one event cause no
// InnoDB deadlock; the retry queue's SKIP LOCKED and claim lease.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { binDir, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import {
  addHandler, configWith, disableAll, dispatch, editHandler, envelope, publish, q, run, startBatch,
} from '../lib/dispatch.mjs';
import { journals, logRows, queueRow, startWorker, worker } from '../lib/retry.mjs';
import {
  configValue, mariadbAlive, mariadbKill9, mariadbStartAsync, recordFigures, spoolRecord, spoolRecords, sqlSession,
  startDbProxy, startKiller, startService, until,
} from '../lib/faults.mjs';

let rx;
const cleanups = []; // what a failed test left running: stopped in after()
before(async () => { rx = await startReceiver(); });
after(async () => {
  for (const c of cleanups.splice(0)) { try { await c(); } catch { /* best effort */ } }
  if (!mariadbAlive()) await mariadbStartAsync();
  // Leave no due or scheduled row, and no enabled handler, to the files after this one.
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state = 'scheduled'");
  disableAll();
  await worker();
  await rx?.close();
});
beforeEach(async () => {
  if (!mariadbAlive()) await mariadbStartAsync();
  disableAll();
  rx.reset();
  sql("UPDATE retry_queue SET state = 'exhausted' WHERE state = 'scheduled'");
  await worker(); // what earlier tests left in the spool is not this test's
});

const dbUser = configValue('db_user');
const dispatchBin = path.join(binDir, 'prov-dispatch');
const ndjson = (lines) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
const parseLines = (stdout) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
const setSchedule = (id, schedule) => editHandler(id, `retry_schedule = ${q(schedule)}`);
const assertClean = (f, what) => {
  assert.equal(f.lost, 0, `${what}: acknowledged deliveries without a log row: ${f.lostKeys.slice(0, 5).join(', ')}`);
  assert.equal(f.unlogged, 0, `${what}: received requests without a log row`);
  assert.equal(f.duplicated, 0, `${what}: executions logged twice`);
  assert.equal(f.invented, 0, `${what}: rows the receiver cannot account for: ${JSON.stringify(f.inventedRows.slice(0, 3))}`);
};

// Import what the faults left in the spool; the worker must get through it.
async function importSpool() {
  const w = await worker(['--once', '--id', 'record-faults']);
  assert.equal(w.status, 0, `prov-worker: ${w.stdout}${w.stderr}`);
  assert.deepEqual(journals(), [], 'the spool was imported');
  return w;
}

// Every failed dispatch delivery of these events has its retry_queue row (one transaction).
function assertFailuresQueued(uidLike) {
  const missing = sqlValue(`SELECT COUNT(*) FROM exec_logs l WHERE l.event_uid LIKE '${uidLike}'
    AND l.status = 'fail' AND l.trigger_kind = 'dispatch'
    AND NOT EXISTS (SELECT 1 FROM retry_queue r WHERE r.delivery_id = l.delivery_id)`);
  assert.equal(missing, '0', 'a logged failure without its retry_queue row');
}

// Two events: one with two succeeding handlers (the one-block log), one with a
// success and a failure (the transaction with its own COMMIT and a queued retry).
function twoEventHandlers(tag) {
  addHandler({ name: `${tag} ok 1`, event: 'clients.update', task: `${rx.url}/echo?t=${tag}1`, priority: 1 });
  addHandler({ name: `${tag} ok 2`, event: 'clients.update', task: `${rx.url}/echo?t=${tag}2`, priority: 2 });
  addHandler({ name: `${tag} ok 3`, event: 'clients.create', task: `${rx.url}/echo?t=${tag}3`, priority: 1 });
  const failing = addHandler({ name: `${tag} 503`, event: 'clients.create', task: `${rx.url}/status/503?t=${tag}4`, priority: 2 });
  setSchedule(failing, '1h'); // queued, never due during the test
  publish();
}

// ---------------------------------------------------------------- KILL CONNECTION

test('KILL CONNECTION at random moments during a 2,000-event --batch: nothing acknowledged is lost, nothing twice', { timeout: 300000 }, async () => {
  twoEventHandlers('kcb');
  const tag = uniqueName('kcb');
  const n = 2000;
  const lines = Array.from({ length: n }, (_, i) => envelope(i % 2 ? 'clients.create' : 'clients.update', { i },
    { id: `${tag}-${i}`, objectId: i }));
  const killer = startKiller({ user: dbUser, minMs: 1, maxMs: 12 });
  cleanups.push(() => killer.stop());
  let r;
  const started = Date.now();
  try {
    r = await run(dispatchBin, ['--batch'], { input: ndjson(lines) });
  } finally {
    await killer.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.status, 0, `the batch ran every line (spooling what it could not log): ${r.stderr.slice(0, 2000)}`);
  const results = parseLines(r.stdout);
  assert.equal(results.length, n, 'one result line per event');
  assert.deepEqual(results.map((x) => x.line), lines.map((_, i) => i + 1));
  for (const x of results) {
    assert.equal(x.verdict, 'allow', JSON.stringify(x));
    assert.ok(x.logged || x.spooled, `line ${x.line}: neither logged nor spooled`);
  }
  const spooled = results.filter((x) => !x.logged).length;
  await importSpool();
  const f = recordFigures('kill-connection-batch', {
    sent: n, uidLike: `${tag}-%`, requests: rx.requests, extra: { kills: killer.kills(), spooled, seconds: seconds.toFixed(1) },
  });
  assert.equal(f.received, 2 * n, 'every handler ran once per event');
  assert.equal(f.acked, n + n / 2);
  assertClean(f, 'KILL CONNECTION during a batch');
  assert.equal(f.logged, 2 * n);
  assertFailuresQueued(`${tag}-%`);
  assert.ok(killer.kills() > 0, 'the killer killed something');
});

test('KILL CONNECTION at random moments during 8 parallel callers × 150 events through the service', { timeout: 300000 }, async () => {
  twoEventHandlers('kcs');
  const config = configWith('rf-service.conf', {
    dispatch_socket: path.join(runDir, 'rf-dispatch.sock'), dispatch_workers: 8, dispatch_wait_ms: 30000,
  });
  const svc = await startService(config, { workers: 8 });
  cleanups.push(() => svc.kill());
  const tag = uniqueName('kcs');
  const env = { PROV_CONFIG: config };
  const perCaller = 150;
  const killer = startKiller({ user: dbUser, minMs: 1, maxMs: 12 });
  cleanups.push(() => killer.stop());
  const results = [];
  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) {
        // Two in three events with their own COMMIT (the fault most likely to lose rows).
        const event = i % 3 ? 'clients.create' : 'clients.update';
        const r = await dispatch([event, '--event-id', `${tag}-${c}-${i}`, '--object-id', String(c * 1000 + i)], { c, i }, { env });
        results.push(r);
      }
    }));
  } finally {
    await killer.stop();
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
  const seconds = (Date.now() - started) / 1000;
  for (const r of results) {
    assert.equal(r.status, 0, `caller exit ${r.status}: ${r.stderr}`);
    assert.ok(r.result.logged || r.result.spooled, 'neither logged nor spooled');
  }
  const spooled = results.filter((r) => !r.result.logged).length;
  await importSpool();
  const n = 8 * perCaller;
  const f = recordFigures('kill-connection-service', {
    sent: n, uidLike: `${tag}-%`, requests: rx.requests, extra: { kills: killer.kills(), spooled, seconds: seconds.toFixed(1) },
  });
  assert.equal(f.received, 2 * n);
  assertClean(f, 'KILL CONNECTION during the service');
  assert.equal(f.logged, 2 * n);
  assertFailuresQueued(`${tag}-%`);
  assert.doesNotMatch(svc.stderr(), /AddressSanitizer|runtime error/);
});

// ---------------------------------------------------------------- one COMMIT lost

// Deterministic: a proxy between the dispatcher and MariaDB loses the
// connection exactly at every 3rd COMMIT. Each event has a failing handler,
// so its log is a transaction closed by COMMIT. A COMMIT that failed is a
// failure (SPEC section 10): the journal is kept and imported; a COMMIT
// retried on a new connection commits an empty transaction and the rows of
// the dropped one are lost.
for (const at of ['before', 'after']) {
  const what = at === 'before' ? 'before MariaDB got it (rolled back)' : 'after MariaDB committed, its answer lost';
  test(`a COMMIT whose connection is lost ${what}: the run is spooled, imported once, nothing lost`, { timeout: 120000 }, async () => {
    addHandler({ name: 'commit ok', event: 'clients.accounts.create', task: `${rx.url}/echo?c=${at}`, priority: 1 });
    const failing = addHandler({ name: 'commit 503', event: 'clients.accounts.create', task: `${rx.url}/status/503?c=${at}`, priority: 2 });
    setSchedule(failing, '1h');
    publish();
    const proxy = await startDbProxy(path.join(runDir, `rf-proxy-${at}.sock`));
    cleanups.push(() => proxy.close());
    const config = configWith(`rf-proxy-${at}.conf`, { db_socket: proxy.socketPath });
    const tag = uniqueName(`commit-${at}`);
    const n = 30;
    const lines = Array.from({ length: n }, (_, i) => envelope('clients.accounts.create', { i }, { id: `${tag}-${i}` }));
    proxy.setFault({ at, every: 3 });
    // One line at a time, each sent once the last result came: every event is
    // a group of its own, one COMMIT each (lines given all at once are logged
    // in groups: dispatch_group.test.mjs loses a group's COMMIT).
    let r;
    const results = [];
    try {
      const batch = startBatch({ env: { PROV_CONFIG: config } });
      for (const line of lines) results.push(await batch.send(line));
      r = await batch.end();
    } finally {
      proxy.setFault(null);
      await proxy.close();
    }
    assert.equal(r.status, 0, r.stderr);
    assert.equal(results.length, n);
    const notLogged = results.filter((x) => !x.logged);
    for (const x of notLogged) assert.equal(x.spooled, true, `line ${x.line}`);
    const { dropped, commits } = proxy.counts();
    await importSpool();
    const f = recordFigures(`commit-lost-${at}`, {
      sent: n, uidLike: `${tag}-%`, requests: rx.requests, extra: { commits, dropped, reported_not_logged: notLogged.length },
    });
    assert.ok(dropped >= 5, `the proxy dropped COMMITs (${dropped})`);
    assertClean(f, `COMMIT lost ${at}`);
    assert.equal(f.logged, 2 * n);
    assert.equal(notLogged.length, dropped, 'every lost COMMIT is reported as not logged (spooled), none as logged');
  });
}

// ---------------------------------------------------------------- deadlocks

test('8 parallel callers dispatching the same event through the service: 0 InnoDB deadlocks, every execution logged', { timeout: 300000 }, async () => {
  // Ids in the opposite order of priorities: a chain of successes and a chain
  // with a failure must still lock the handlers' rows in one order.
  const ids = [3, 2, 1].map((priority) => addHandler({
    name: `same event p${priority}`, event: 'clients.balance_notzero', priority,
    task: priority === 1 ? `${rx.url}/flip?same=1` : `${rx.url}/echo?same=${priority}`,
  }));
  setSchedule(ids[2], '1h');
  publish();
  const config = configWith('rf-same.conf', {
    dispatch_socket: path.join(runDir, 'rf-same.sock'), dispatch_workers: 8, dispatch_wait_ms: 30000,
  });
  const svc = await startService(config, { workers: 8 });
  cleanups.push(() => svc.kill());
  const env = { PROV_CONFIG: config };
  const tag = uniqueName('same');
  const deadlocks = () => Number(sql("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")[0][1]);
  const before = deadlocks();
  const results = [];
  const perCaller = 25;
  try {
    await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < perCaller; i++) {
        results.push(await dispatch(['clients.balance_notzero', '--event-id', `${tag}-${c}-${i}`], { c, i }, { env }));
      }
    }));
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
  const deadlocked = deadlocks() - before;
  for (const r of results) assert.equal(r.status, 0, r.stderr);
  const notLogged = results.filter((r) => !r.result?.logged);
  await importSpool(); // a run whose log met a deadlock is spooled: counted, then imported
  const n = 8 * perCaller;
  const f = recordFigures('same-event-8-callers', {
    sent: n, uidLike: `${tag}-%`, requests: rx.requests,
    extra: { failed: rx.requests.filter((x) => x.status === 503).length, deadlocks: deadlocked, not_logged: notLogged.length },
  });
  assert.equal(f.received, 3 * n);
  assertClean(f, 'the same event by 8 callers');
  assert.equal(f.logged, 3 * n);
  assert.equal(deadlocked, 0, `InnoDB deadlocks during 8 parallel dispatches of one event: ${deadlocked}`);
  assert.deepEqual(notLogged.map((r) => r.stderr), [], 'every run logged at once');
});

// ---------------------------------------------------------------- mariadbd -9

test('mariadbd killed with -9 in the middle of a batch and started again: spooled runs imported, nothing lost', { timeout: 300000 }, async () => {
  twoEventHandlers('m9');
  assert.equal((await dispatch(['clients.update'], {})).status, 0, 'the local snapshot copy is current');
  rx.reset();
  const tag = uniqueName('m9');
  const n = 600;
  const lines = Array.from({ length: n }, (_, i) => envelope(i % 2 ? 'clients.create' : 'clients.update', { i },
    { id: `${tag}-${i}` }));
  const batch = run(dispatchBin, ['--batch'], { input: ndjson(lines) });
  let finished = false;
  batch.then(() => { finished = true; });
  // Kill it once the batch is well under way, start it again 400 requests later.
  await until('the batch to get going', () => rx.requests.length >= 200 || finished, 120000, 2);
  const killedAt = rx.requests.length;
  await mariadbKill9();
  await until('more events while MariaDB is down', () => rx.requests.length >= killedAt + 400 || finished, 120000, 5);
  const restartedAt = rx.requests.length;
  await mariadbStartAsync();
  const r = await batch;
  assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  const results = parseLines(r.stdout);
  assert.equal(results.length, n);
  for (const x of results) assert.ok(x.logged || x.spooled, `line ${x.line}: neither logged nor spooled`);
  const spooled = results.filter((x) => !x.logged).length;
  assert.ok(spooled > 0, 'some runs were spooled while MariaDB was down');
  await importSpool();
  const f = recordFigures('mariadbd-kill9-batch', {
    sent: n, uidLike: `${tag}-%`, requests: rx.requests, extra: { killed_at_request: killedAt, restarted_at_request: restartedAt, spooled },
  });
  assert.equal(f.received, 2 * n);
  assertClean(f, 'mariadbd -9');
  assert.equal(f.logged, 2 * n);
  assertFailuresQueued(`${tag}-%`);
});

// ---------------------------------------------------------------- journal cuts

// A journal made of the recorded one with its event uid and delivery ids
// replaced by others of the same length (CRC-32 recomputed): the same bytes at
// the same offsets, imported independently of the other copies.
function journalCopy(records, uid, copyUid) {
  const ids = new Map();
  for (const r of records) {
    if (!ids.has(r.json.delivery_id)) ids.set(r.json.delivery_id, randomUUID());
  }
  return Buffer.concat(records.map((r) => {
    let text = r.payload.toString('utf8').split(uid).join(copyUid);
    for (const [from, to] of ids) text = text.split(from).join(to);
    return spoolRecord(text);
  }));
}

// What the import of a cut journal must log: every delivery whose begin record
// is whole, once, as its outcome when its end record is whole, else interrupted.
function expectedOf(cut) {
  const records = spoolRecords(cut);
  const ends = new Map(records.filter((r) => r.json.k === 'end').map((r) => [`${r.json.delivery_id}/${r.json.attempt}`, r.json]));
  return records.filter((r) => r.json.k === 'begin').map((r) => {
    const end = ends.get(`${r.json.delivery_id}/${r.json.attempt}`);
    return `${r.json.delivery_id}/${r.json.attempt} ${end ? (end.success ? 'success' : 'fail') : 'interrupted'}`;
  }).sort();
}

test('journal crash consistency: cut after every record and inside records, each cut imports exactly what it holds', { timeout: 300000 }, async () => {
  const event = 'clients.archive';
  addHandler({ name: 'cut ok 1', event, task: `${rx.url}/echo?cut=1`, priority: 1 });
  const failing = addHandler({ name: 'cut 503', event, task: `${rx.url}/status/503?cut=2`, priority: 2 });
  addHandler({ name: 'cut ok 3', event, task: `${rx.url}/text?cut=3`, priority: 3 });
  setSchedule(failing, '1h');
  publish();
  assert.equal((await dispatch([event], {})).status, 0, 'the local snapshot copy is current');
  // Record a real run's journal: MariaDB unreachable, the journal kept in its own spool.
  const recDir = path.join(runDir, 'rf-recorded-spool');
  rmSync(recDir, { recursive: true, force: true });
  mkdirSync(recDir, { mode: 0o700 });
  const down = configWith('rf-down.conf', { db_socket: path.join(runDir, 'no-such-mysqld.sock'), spool_dir: recDir });
  const base = `jc${randomUUID().slice(0, 8)}`;
  const uid = `${base}-00000`;
  const r = await dispatch([event, '--config', down, '--event-id', uid, '--object-id', '5'], { cut: true });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.spooled, true, r.stderr);
  const [file] = readdirSync(recDir).filter((f) => f.startsWith('journal.'));
  const journal = readFileSync(path.join(recDir, file));
  const records = spoolRecords(journal);
  assert.equal(records.length, 6, 'a begin and an end record per handler');
  assert.equal(records[records.length - 1].end, journal.length, 'the recorded journal is whole');
  assert.deepEqual(records.map((x) => x.json.k), ['begin', 'end', 'begin', 'end', 'begin', 'end']);

  // Cut points: after every record; every byte inside the last record; inside
  // the others, a sample (in the header, after it, in the payload, before its newline).
  const cuts = [0, ...records.map((x) => x.end)];
  const last = records[records.length - 1];
  for (let at = last.start + 1; at < last.end; at++) cuts.push(at);
  for (const x of records.slice(0, -1)) {
    const headerEnd = journal.indexOf(0x0a, x.start) + 1;
    for (const at of [x.start + 1, x.start + 3, headerEnd - 1, headerEnd, Math.floor((headerEnd + x.end) / 2), x.end - 1]) {
      if (at > x.start && at < x.end) cuts.push(at);
    }
  }
  const cutDir = path.join(runDir, 'rf-cut-spool');
  const cutConfig = configWith('rf-cut.conf', { spool_dir: cutDir });
  const expected = new Map();
  const started = Date.now();
  let imports = 0;
  try {
    for (let from = 0; from < cuts.length; from += 250) {
      rmSync(cutDir, { recursive: true, force: true });
      mkdirSync(cutDir, { mode: 0o700 });
      for (let i = from; i < Math.min(cuts.length, from + 250); i++) {
        const copyUid = `${base}-${String(i + 1).padStart(5, '0')}`;
        const cut = journalCopy(records, uid, copyUid).subarray(0, cuts[i]);
        expected.set(copyUid, { at: cuts[i], want: expectedOf(cut) });
        writeFileSync(path.join(cutDir, `journal.1.cut${String(i).padStart(5, '0')}`), cut, { mode: 0o600 });
      }
      const w = await worker(['--once', '--config', cutConfig, '--id', 'cuts']);
      imports += 1;
      assert.equal(w.status, 0, `${w.stdout}${w.stderr}`);
      assert.doesNotMatch(w.stderr, /AddressSanitizer|runtime error/);
      assert.deepEqual(readdirSync(cutDir).filter((f) => f.endsWith('.corrupt')), [], 'a cut is never taken for damage');
      assert.deepEqual(readdirSync(cutDir).filter((f) => f.startsWith('journal.')), [], 'every cut journal was imported');
    }
    const got = new Map();
    for (const [eventUid, deliveryId, attempt, status, error, trigger] of sql(`SELECT event_uid, delivery_id, attempt,
        status, IFNULL(error, ''), trigger_kind FROM exec_logs WHERE event_uid LIKE '${base}-%' AND event_uid <> '${uid}'`)) {
      assert.equal(trigger, 'dispatch');
      const outcome = status === 'success' ? 'success' : /^interrupted/.test(error) ? 'interrupted' : 'fail';
      if (!got.has(eventUid)) got.set(eventUid, []);
      got.get(eventUid).push(`${deliveryId}/${attempt} ${outcome}`);
    }
    let checked = 0;
    for (const [copyUid, { at, want }] of expected) {
      assert.deepEqual((got.get(copyUid) || []).sort(), want, `the journal cut at byte ${at} of ${journal.length}`);
      checked += 1;
    }
    console.log(`figures: fault=journal-cuts journal_bytes=${journal.length} records=${records.length} cuts=${checked} `
      + `last_record_bytes=${last.end - last.start} imports=${imports} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
  } finally {
    rmSync(cutDir, { recursive: true, force: true });
    rmSync(recDir, { recursive: true, force: true });
    sql(`DELETE FROM retry_queue WHERE event_uid LIKE '${base}-%'; DELETE FROM exec_logs WHERE event_uid LIKE '${base}-%'`);
  }
});

// ---------------------------------------------------------------- a full spool

const isRoot = process.getuid?.() === 0;

function mountTmpfs(dir, options) {
  mkdirSync(dir, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(m.status, 0, `mount: ${m.stderr}`);
}

function umount(dir) {
  if (spawnSync('mountpoint', ['-q', dir]).status === 0) {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
  }
  rmSync(dir, { recursive: true, force: true });
}

// Fill the filesystem of dir until ENOSPC.
function fill(dir) {
  const fd = openSync(path.join(dir, 'fill'), 'a');
  const chunk = Buffer.alloc(4096, 'f');
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

const noSpoolContract = (r, dir, reason) => {
  assert.equal(r.status, 73, `exit 73 (EX_CANTCREAT) when the journal cannot be written; got ${r.status}: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
  assert.match(lines[0], /^prov-dispatch: /);
  assert.ok(lines[0].includes(dir), `the line names the spool_dir ${dir}: ${lines[0]}`);
  assert.match(lines[0], reason, 'the line gives the OS reason');
};

test('spool_dir on a full filesystem, read-only, or not a folder: exit 73, one line, no delivery', { timeout: 120000, skip: isRoot ? false : 'needs root to mount a tmpfs (CI runs as root)' }, async (t) => {
  addHandler({ name: 'full spool', event: 'clients.delete', task: `${rx.url}/echo?full=1` });
  publish();
  assert.equal((await dispatch(['clients.delete'], {})).status, 0, 'the local snapshot copy is current');
  const full = path.join(runDir, 'rf-full-spool');
  const ro = path.join(runDir, 'rf-ro-spool');
  t.after(() => { umount(full); umount(ro); });
  mountTmpfs(full, 'size=64k,mode=0700');
  fill(full);
  mountTmpfs(ro, 'size=64k,mode=0700,ro');
  const notDir = path.join(runDir, 'rf-spool-is-a-file');
  writeFileSync(notDir, 'not a folder\n');
  t.after(() => rmSync(notDir, { force: true }));
  const cases = [
    ['full', full, /No space left on device/],
    ['read-only', ro, /Read-only file system/],
    ['a regular file', notDir, /Not a directory/],
  ];
  const failures = [];
  for (const [name, dir, reason] of cases) {
    rx.reset();
    const config = configWith(`rf-spool-${name.replace(/\W/g, '')}.conf`, { spool_dir: dir });
    const uid = uniqueName('nospool');
    const r = await dispatch(['clients.delete', '--config', config, '--event-id', uid], { n: 1 });
    try {
      noSpoolContract(r, dir, reason);
      assert.equal(rx.requests.length, 0, 'no delivery without a journal');
      assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = ${q(uid)}`), '0');
    } catch (e) {
      failures.push(`${name}: ${e.message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failures, [], 'every unwritable spool refuses the event');
});

test('--batch with spool_dir filling up: the events before stay processed, the batch stops at the first one it cannot journal, exit 73', { timeout: 120000, skip: isRoot ? false : 'needs root to mount a tmpfs (CI runs as root)' }, async (t) => {
  addHandler({ name: 'full spool batch', event: 'clients.delete', task: `${rx.url}/echo?fullbatch=1` });
  publish();
  assert.equal((await dispatch(['clients.delete'], {})).status, 0, 'the local snapshot copy is current');
  const dir = path.join(runDir, 'rf-fill-spool');
  t.after(() => umount(dir));
  mountTmpfs(dir, 'size=64k,mode=0700');
  const config = configWith('rf-spool-fill.conf', { spool_dir: dir });
  const tag = uniqueName('fullbatch');
  const batch = startBatch({ env: { PROV_CONFIG: config } });
  let ended;
  t.after(async () => { if (!ended) await batch.end(); });
  const first = await batch.send(envelope('clients.delete', { n: 1 }, { id: `${tag}-1` }));
  assert.equal(first.logged, true);
  fill(dir);
  batch.send(envelope('clients.delete', { n: 2 }, { id: `${tag}-2` })).catch(() => {});
  batch.send(envelope('clients.delete', { n: 3 }, { id: `${tag}-3` })).catch(() => {});
  ended = batch.end();
  const { status, stderr } = await ended;
  const received = rx.requests.map((x) => JSON.parse(x.body).event.id).filter((id) => id.startsWith(tag));
  assert.equal(status, 73, `exit 73 when an event cannot be journaled; got ${status}: ${stderr}`);
  assert.match(stderr, /^prov-dispatch: .*rf-fill-spool.*No space left on device/m);
  assert.deepEqual(received, [`${tag}-1`], 'the event before was delivered; none after the full spool');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = ${q(`${tag}-1`)}`), '1');
});

// ---------------------------------------------------------------- a publish whose COMMIT is lost

// prov-cache reload must not say "published" for a generation it cannot
// vouch for: a COMMIT that lost its connection (before MariaDB got it, or
// after, its answer lost) is a failure, exit non-zero; nothing half-done.
test('prov-cache reload whose COMMIT loses its connection exits non-zero; the publish is whole or absent', { timeout: 60000 }, async () => {
  addHandler({ name: 'lost publish', event: 'clients.archive', task: `${rx.url}/echo?publish=1` });
  for (const at of ['before', 'after']) {
    const proxy = await startDbProxy(path.join(runDir, `rf-publish-${at}.sock`));
    cleanups.push(() => proxy.close());
    const config = configWith(`rf-publish-${at}.conf`, { db_socket: proxy.socketPath });
    const generation = () => Number(sqlValue('SELECT IFNULL(MAX(generation), 0) FROM cache_state WHERE id = 1'));
    const before = generation();
    proxy.setFault({ at, every: 1, limit: 1 }); // the first COMMIT only: one sent again would pass
    let r;
    try {
      r = await run(path.join(binDir, 'prov-cache'), ['reload', '--by', `lost-${at}`], { env: { PROV_CONFIG: config } });
    } finally {
      proxy.setFault(null);
      await proxy.close();
    }
    assert.ok(proxy.counts().dropped >= 1, `${at}: the proxy lost a COMMIT`);
    assert.notEqual(r.status, 0, `${at}: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /published/, `${at}: it does not claim a publish`);
    assert.match(r.stderr, /publishing failed/, at);
    const rows = Number(sqlValue(`SELECT COUNT(*) FROM cache_generations WHERE published_by = 'lost-${at}'`));
    if (at === 'before') {
      assert.equal(generation(), before, 'rolled back: the current generation is unchanged');
      assert.equal(rows, 0, 'and no generation row was left');
    } else {
      const published = Number(sqlValue(`SELECT MAX(generation) FROM cache_generations WHERE published_by = 'lost-${at}'`));
      assert.ok(published > before && generation() === published, `committed whole: the state points at the new generation (${before} -> ${generation()})`);
      assert.equal(rows, 1);
    }
  }
});

// ---------------------------------------------------------------- the retry queue

// Retry rows straight into the queue, due at the given offsets (seconds from now).
function queueRows(handlerId, tag, offsets, extra = '') {
  const values = offsets.map((s, i) => `(UUID(), ${handlerId}, 'rq', 'clients.update', '${tag}-${i}',
    CONCAT('{"event":{"id":"${tag}-${i}","events_id":"clients.update"},"data":{"n":${i}}}'), 1, 'scheduled',
    UTC_TIMESTAMP(6) + INTERVAL ${s} SECOND, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))`);
  sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt, state,
       next_attempt_at, created_at, updated_at) VALUES ${values.join(',')}; ${extra}`);
  return sql(`SELECT id, delivery_id FROM retry_queue WHERE event_uid LIKE '${tag}-%' ORDER BY event_uid`)
    .map(([id, deliveryId]) => ({ id: Number(id), deliveryId }));
}

test('SKIP LOCKED: a due row locked by another transaction is skipped, the other due rows are delivered meanwhile', { timeout: 120000 }, async (t) => {
  const h = addHandler({ name: 'skip locked', event: 'clients.update', task: `${rx.url}/echo?skip=1` });
  publish();
  const tag = uniqueName('skip');
  // The locked row is the first due: a worker that waits for locks waits on it.
  const rows = queueRows(h, tag, [-60, -1, -1, -1, -1]);
  const [locked, ...others] = rows;
  const session = sqlSession();
  t.after(() => session.close());
  const held = await session.query(`BEGIN; SELECT id FROM retry_queue WHERE id = ${locked.id} FOR UPDATE`);
  assert.deepEqual(held.rows, [[String(locked.id)]], held.errors);
  const w = startWorker(['--once', '--id', 'skip-locked']);
  t.after(() => w.child.kill('SIGKILL'));
  const want = new Set(others.map((x) => x.deliveryId));
  await until('the worker to deliver the unlocked rows while the lock is held',
    () => new Set(rx.requests.map((x) => x.headers['x-prov-delivery']).filter((id) => want.has(id))).size === want.size, 30000);
  assert.equal(await w.exited, 0, w.out());
  assert.ok(!rx.requests.some((x) => x.headers['x-prov-delivery'] === locked.deliveryId), 'the locked row was not delivered');
  assert.equal(queueRow(locked.deliveryId).state, 'scheduled');
  for (const x of others) assert.equal(queueRow(x.deliveryId).state, 'done');
  await session.query('ROLLBACK');
  const again = await worker(['--once', '--id', 'skip-after']);
  assert.match(again.stdout, /^1 delivered/m, again.stdout);
  assert.equal(queueRow(locked.deliveryId).state, 'done');
  const f = recordFigures('skip-locked', { sent: rows.length, uidLike: `${tag}-%`, requests: rx.requests });
  assertClean(f, 'SKIP LOCKED');
  assert.equal(f.resent, 0);
  assert.equal(f.acked, rows.length);
});

test('claim lease: rows a worker has claimed are not delivered by a second worker; an expired lease is taken over', { timeout: 120000 }, async (t) => {
  const h = addHandler({ name: 'lease slow', event: 'clients.update', task: `${rx.url}/slow?ms=3000&lease=1`, timeoutMs: 10000 });
  const fast = addHandler({ name: 'lease fast', event: 'clients.update', task: `${rx.url}/echo?lease=fast` });
  publish();
  const tag = uniqueName('lease');
  // One claim takes both: the slow row first, the other waits its turn in the same claim.
  const [row] = queueRows(h, tag, [-2]);
  const [next] = queueRows(fast, `${tag}b`, [-1]);
  const first = startWorker(['--once', '--id', 'lease-first', '--batch', '10']);
  t.after(() => first.child.kill('SIGKILL'));
  await rx.waitFor((x) => x.headers['x-prov-delivery'] === row.deliveryId, 60000);
  assert.match(queueRow(row.deliveryId).claimedBy, /^lease-first@/);
  assert.match(queueRow(next.deliveryId).claimedBy, /^lease-first@/, 'the claim took both rows');
  // The first worker is waiting for the slow answer: a second one finds nothing due.
  const second = await worker(['--once', '--id', 'lease-second']);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /^0 delivered/m, `the second worker delivered a row claimed by the first: ${second.stdout}`);
  assert.equal(await first.exited, 0, first.out());
  assert.match(first.out(), /^2 delivered/m, first.out());
  for (const d of [row, next]) {
    const seen = rx.requests.filter((x) => x.headers['x-prov-delivery'] === d.deliveryId);
    assert.equal(seen.length, 1, 'delivered once: the lease kept the second worker away');
    assert.deepEqual(logRows(d.deliveryId).map((l) => `${l.attempt} ${l.trigger} ${l.status}`), ['2 retry success']);
  }

  // A worker that died holding a claim: once its lease has run out, another takes the row.
  editHandler(h, `task = ${q(`${rx.url}/echo?lease=2`)}`);
  publish();
  const tag2 = `${tag}x`;
  const [orphan] = queueRows(h, tag2, [-5], `UPDATE retry_queue SET claimed_by = 'dead@nohost:1' WHERE event_uid = '${tag2}-0'`);
  assert.equal(queueRow(orphan.deliveryId).claimedBy, 'dead@nohost:1');
  const taker = await worker(['--once', '--id', 'lease-taker']);
  assert.equal(taker.status, 0, taker.stderr);
  assert.match(taker.stdout, /^1 delivered/m, taker.stdout);
  assert.equal(queueRow(orphan.deliveryId).state, 'done');
  const f = recordFigures('claim-lease', { sent: 3, uidLike: `${tag}%`, requests: rx.requests });
  assertClean(f, 'claim lease');
  assert.equal(f.resent, 0, 'no delivery twice');
  assert.equal(f.acked, 3);
});
