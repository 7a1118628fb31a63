// The Cache Manager: edits are not run until published (prov-cache or the Task
// Scheduler's restart), several dispatcher hosts pick up a publish, the local
// copy carries a dispatcher through a database outage, periodic publishing,
// and a generation's identity: a re-created or restored database whose
// generation numbers repeat is never taken for the local copy's.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { binDir, clientAs, configPath, csrfFrom, runBin, runDir, sql, sqlValue } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, disableAll, dispatch, editHandler, envelope, publish, q, startBatch } from '../lib/dispatch.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => { disableAll(); rx.reset(); });

const EVENT = 'clients.balance_zero';
const baseConfig = () => readFileSync(configPath, 'utf8');

// A config for another dispatcher host: same database, its own local copy.
function hostConfig(name, extra = '', cacheName = name) {
  const file = path.join(runDir, `${name}.conf`);
  const text = baseConfig().replace(/^cache_path = .*$/m, `cache_path = ${runDir}/cache/${cacheName}.json`);
  writeFileSync(file, text + extra);
  return file;
}

test('edits are not seen by the dispatcher until the Cache Manager publishes them', async () => {
  const id = addHandler({ name: 'v1', event: EVENT, task: `${rx.url}/echo?v=1` });
  const gen = publish();
  let r = await dispatch([EVENT], { a: 1 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.generation, gen);
  assert.deepEqual(rx.requests.map((x) => x.query.v), ['1']);
  editHandler(id, `name = 'v2', task = ${`'${rx.url}/echo?v=2'`}`);
  const added = addHandler({ name: 'new', event: EVENT, task: `${rx.url}/echo?v=new`, priority: 5 });
  assert.match(runBin('prov-cache', ['show']).stdout, /pending edits: yes/);
  r = await dispatch([EVENT], { a: 1 });
  assert.deepEqual(rx.requests.map((x) => x.query.v), ['1', '1'], 'still the published set');
  assert.equal(r.result.handlers[0].name, 'v1');
  const next = publish();
  assert.equal(next, gen + 1);
  assert.match(runBin('prov-cache', ['show']).stdout, /pending edits: no/);
  r = await dispatch([EVENT], { a: 1 });
  assert.deepEqual(rx.requests.slice(2).map((x) => x.query.v), ['2', 'new']);
  assert.deepEqual(r.result.handlers.map((h) => h.id), [id, added]);
  assert.equal(r.result.generation, next);
  assert.equal(sqlValue(`SELECT handler_name FROM exec_logs WHERE handler_id=${id} ORDER BY id DESC LIMIT 1`), 'v2');
  const row = sql(`SELECT published_by, handler_count, handlers_version = (SELECT handlers_version FROM cache_state)
                   FROM cache_generations WHERE generation = ${next}`)[0];
  assert.deepEqual(row, ['tests', '2', '1']);
  assert.match(sqlValue("SELECT CONCAT(last_result, ' ', last_detail) FROM services WHERE name='cache_manager'"),
    new RegExp(`^ok generation ${next} published by tests: 2 enabled handlers$`));
});

test('the local copy is private and replaced atomically; another host picks up a publish', async () => {
  addHandler({ name: 'host', event: EVENT, task: `${rx.url}/echo?h=1` });
  const gen = publish();
  const hostB = hostConfig('host-b');
  let r = await dispatch([EVENT, '--config', hostB], {});
  assert.equal(r.status, 0, r.stderr);
  const copy = `${runDir}/cache/host-b.json`;
  assert.equal(statSync(copy).mode & 0o777, 0o600, 'the snapshot holds secrets');
  assert.equal(JSON.parse(readFileSync(copy, 'utf8')).generation, gen);
  addHandler({ name: 'host 2', event: EVENT, task: `${rx.url}/echo?h=2`, priority: 2 });
  const next = publish();
  r = await dispatch([EVENT, '--config', hostB], {});
  assert.equal(r.result.generation, next, 'the generation check sees the publish');
  assert.equal(JSON.parse(readFileSync(copy, 'utf8')).generation, next);
  assert.deepEqual(rx.requests.map((x) => x.query.h), ['1', '1', '2']);
});

test('with MariaDB unreachable the dispatcher runs the local copy and reports the unwritten log', async () => {
  addHandler({ name: 'offline', event: EVENT, task: `${rx.url}/modify?set=${encodeURIComponent('{"offline":true}')}` });
  publish();
  const hostC = hostConfig('host-c');
  assert.equal((await dispatch([EVENT, '--config', hostC], {})).status, 0); // fills host-c's copy
  const down = hostConfig('host-c-down', `db_socket = ${runDir}/no-such-mysqld.sock\n`, 'host-c');
  const logs = Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));
  rx.reset();
  const r = await dispatch([EVENT, '--config', down, '--event-id', 'offline-1'], { b: 1 });
  assert.equal(r.status, 0, 'the verdict: the log rows are spooled, nothing is lost');
  assert.match(r.stderr, /the execution log was not written: database unreachable.*; kept in the spool \(.*\/journal\.\d+\.\w+\) for prov-worker/);
  assert.equal(rx.requests.length, 1, 'the handler still ran');
  assert.equal(r.result.verdict, 'allow');
  assert.deepEqual(r.result.data, { b: 1, offline: true });
  assert.equal(r.result.logged, false);
  assert.equal(r.result.spooled, true);
  assert.equal(Number(sqlValue('SELECT COUNT(*) FROM exec_logs')), logs);
  // No local copy and no database: nothing can run.
  const empty = hostConfig('host-d-down', `db_socket = ${runDir}/no-such-mysqld.sock\n`);
  rx.reset();
  const none = await dispatch([EVENT, '--config', empty], {});
  assert.equal(none.status, 69, none.stderr);
  assert.match(none.stderr, /^prov-dispatch: no handler set to run: the database is unreachable and no local snapshot copy/);
  assert.equal(rx.requests.length, 0);
  assert.equal(existsSync(`${runDir}/cache/host-d-down.json`), false);
});

test('the Task Scheduler lists the services and an admin restarts the Cache Manager', async () => {
  addHandler({ name: 'panel', event: EVENT, task: `${rx.url}/echo?p=1` });
  const admin = await clientAs('admin');
  let page = await admin.get('/scheduler');
  assert.equal(page.status, 200);
  for (const title of ['Cache Manager', 'Retry Worker', 'Execution Log Purge']) assert.ok(page.text.includes(title), title);
  assert.match(page.text, /id="cache-pending"><span class="status status-archived">yes</);
  assert.match(page.text, /<a href="\/scheduler" class="active">Task Scheduler<\/a>/);
  const before = Number(sqlValue('SELECT generation FROM cache_state'));
  const r = await admin.post('/scheduler/cache/restart', { csrf_token: csrfFrom(page.text) });
  assert.equal(r.status, 303);
  assert.equal(r.location, `/scheduler?published=${before + 1}`);
  assert.equal(Number(sqlValue('SELECT generation FROM cache_state')), before + 1);
  assert.equal(sqlValue(`SELECT published_by FROM cache_generations WHERE generation=${before + 1}`), admin.userName);
  page = await admin.get(r.location);
  assert.match(page.text, new RegExp(`Cache Manager restarted: generation ${before + 1} is now published`));
  assert.match(page.text, /id="cache-pending"><span class="status status-enabled">no</);
  assert.match(page.text, new RegExp(`by ${admin.userName}</dd>`));
  const d = await dispatch([EVENT], {});
  assert.equal(d.result.generation, before + 1);
  assert.deepEqual(rx.requests.map((x) => x.query.p), ['1']);
  // Forged or missing token, and viewers, are refused; nothing is published.
  const forged = await admin.post('/scheduler/cache/restart', { csrf_token: 'f'.repeat(64) });
  assert.equal(forged.status, 403);
  const viewer = await clientAs('viewer');
  const vpage = await viewer.get('/scheduler');
  assert.equal(vpage.status, 200);
  assert.ok(!vpage.text.includes('id="cache-restart"'), 'no restart button for a viewer');
  const refused = await viewer.post('/scheduler/cache/restart', { csrf_token: csrfFrom(vpage.text) });
  assert.equal(refused.status, 403);
  assert.equal(Number(sqlValue('SELECT generation FROM cache_state')), before + 1);
  const flash = await admin.get('/scheduler?published=<b>x</b>&failed=2');
  assert.ok(!flash.text.includes('id="flash"'), 'only digits are shown back');
});

test('prov-cache validates its arguments; watch publishes pending edits periodically', async () => {
  assert.equal(runBin('prov-cache', []).status, 64);
  assert.equal(runBin('prov-cache', ['nope']).status, 64);
  assert.equal(runBin('prov-cache', ['watch']).status, 64);
  assert.equal(runBin('prov-cache', ['watch', '--interval', '0']).status, 64);
  const help = runBin('prov-cache', ['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /reload.*\n(.*\n)*.*watch --interval N/);
  publish();
  const gen = Number(sqlValue('SELECT generation FROM cache_state'));
  const watcher = spawn(path.join(binDir, 'prov-cache'), ['watch', '--interval', '1', '--by', 'watcher']);
  const exited = new Promise((resolve) => watcher.on('close', resolve));
  try {
    addHandler({ name: 'watched', event: EVENT, task: `${rx.url}/echo` });
    const deadline = Date.now() + 10000;
    while (Number(sqlValue('SELECT generation FROM cache_state')) === gen && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(Number(sqlValue('SELECT generation FROM cache_state')), gen + 1);
    assert.equal(sqlValue(`SELECT published_by FROM cache_generations WHERE generation=${gen + 1}`), 'watcher');
  } finally {
    watcher.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'watch stops cleanly on SIGTERM');
});

// ---------------------------------------------------------------- other databases
// A database of its own (same server) with a dispatcher host of its own, to
// re-create and restore without touching the one the other tests share.
const schemaPath = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../schema.sql');

function mariadb(args, input = '') {
  const r = spawnSync('mariadb', ['--no-defaults', `--socket=${runDir}/mysqld.sock`, '-uroot', '--batch',
    '--skip-column-names', '--raw', ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`mariadb ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// DROP + CREATE + schema.sql: what `make stop; rm -rf var; make run` does to the data.
function createDatabase(db) {
  const user = /^db_user = (.*)$/m.exec(baseConfig())[1];
  mariadb(['-e', `DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ${db}.* TO '${user}'@'localhost'`]);
  mariadb([db], readFileSync(schemaPath, 'utf8'));
}

function dbHost(name, db) {
  const file = hostConfig(name, 'batch_generation_check_ms = 0\n');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^db_name = .*$/m, `db_name = ${db}`));
  return file;
}

function addHandlerIn(db, name, task) {
  mariadb([db, '-e', `INSERT INTO handlers (name, events_id, task, task_type, created_at, updated_at)
    VALUES (${q(name)}, ${q(EVENT)}, ${q(task)}, 'http', UTC_TIMESTAMP(), UTC_TIMESTAMP());
    UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`]);
}

function publishIn(config) {
  const r = runBin('prov-cache', ['reload', '--by', 'tests', '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  return Number(/generation (\d+)/.exec(r.stdout)[1]);
}

const ran = () => rx.requests.map((x) => x.query.db);
const localCopy = (name) => JSON.parse(readFileSync(`${runDir}/cache/${name}.json`, 'utf8'));
const currentUid = (db) => mariadb([db, '-e',
  'SELECT g.generation_uid FROM cache_state s JOIN cache_generations g ON g.generation = s.generation'])[0][0];

test('a re-created database publishing generation 1 again is not taken for the local copy of generation 1', async (t) => {
  const db = 'prov_recreated';
  createDatabase(db);
  const host = dbHost('recreated', db);
  addHandlerIn(db, 'before', `${rx.url}/echo?db=before`);
  assert.equal(publishIn(host), 1);
  assert.equal((await dispatch([EVENT, '--config', host], {})).status, 0);
  const batch = startBatch({ args: ['--config', host] });
  t.after(() => batch.end());
  assert.equal((await batch.send(envelope(EVENT, { n: 1 }))).verdict, 'allow');
  const before = localCopy('recreated');
  assert.equal(before.generation, 1);
  assert.match(before.generation_uid, /^[0-9a-f]{32}$/);
  assert.deepEqual(ran(), ['before', 'before']);

  createDatabase(db);
  addHandlerIn(db, 'after', `${rx.url}/echo?db=after`);
  assert.equal(publishIn(host), 1, 'the generation number repeats');
  assert.notEqual(currentUid(db), before.generation_uid);
  const line = await batch.send(envelope(EVENT, { n: 2 }));
  assert.equal(line.handlers[0].name, 'after', 'the running batch checks the identity before the event');
  const r = await dispatch([EVENT, '--config', host], {});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.handlers[0].name, 'after');
  assert.deepEqual(ran(), ['before', 'before', 'after', 'after']);
  const after = localCopy('recreated');
  assert.equal(after.generation_uid, currentUid(db), 'the local copy is replaced');
  assert.equal(after.handlers[0].name, 'after');
  assert.equal((await batch.end()).status, 0);
  mariadb(['-e', `DROP DATABASE ${db}`]);
});

test('a restored older backup whose generation numbers catch up with the local copy is not taken for it', async (t) => {
  const db = 'prov_restored';
  createDatabase(db);
  const host = dbHost('restored', db);
  addHandlerIn(db, 'v1', `${rx.url}/echo?db=v1`);
  assert.equal(publishIn(host), 1);
  const dump = spawnSync('mariadb-dump', ['--no-defaults', `--socket=${runDir}/mysqld.sock`, '-uroot', db],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(dump.status, 0, dump.stderr);
  addHandlerIn(db, 'v1 later', `${rx.url}/echo?db=later`);
  publishIn(host);
  assert.equal(publishIn(host), 3);
  assert.equal((await dispatch([EVENT, '--config', host], {})).status, 0);
  const batch = startBatch({ args: ['--config', host] });
  t.after(() => batch.end());
  await batch.send(envelope(EVENT, { n: 1 }));
  const held = localCopy('restored');
  assert.equal(held.generation, 3);
  assert.deepEqual(ran(), ['v1', 'later', 'v1', 'later']);

  mariadb([db], dump.stdout); // the backup taken at generation 1
  mariadb([db, '-e', `UPDATE handlers SET status = 'disabled';
    UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`]);
  addHandlerIn(db, 'restored', `${rx.url}/echo?db=restored`);
  rx.reset();
  assert.equal(publishIn(host), 2);
  let r = await dispatch([EVENT, '--config', host], {});
  assert.equal(r.result.handlers[0].name, 'restored');
  assert.equal(publishIn(host), 3, 'the numbers caught up with the local copy');
  // The direct run above moved this host's copy on; put the one of generation 3 back.
  writeFileSync(`${runDir}/cache/restored.json`, JSON.stringify(held), { mode: 0o600 });
  r = await dispatch([EVENT, '--config', host], {});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.generation, 3);
  assert.deepEqual(r.result.handlers.map((h) => h.name), ['restored']);
  const line = await batch.send(envelope(EVENT, { n: 2 }));
  assert.deepEqual(line.handlers.map((h) => h.name), ['restored'], 'nor by a batch holding generation 3');
  assert.deepEqual(ran(), ['restored', 'restored', 'restored']);
  assert.equal(localCopy('restored').generation_uid, currentUid(db));
  assert.equal((await batch.end()).status, 0);
  mariadb(['-e', `DROP DATABASE ${db}`]);
});
