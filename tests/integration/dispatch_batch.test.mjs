// prov-dispatch --batch against real MariaDB and a real local receiver: results
// in line order, data kept apart between events, bad lines reported and
// skipped, one HTTP connection across events, one committed log per event, the
// published generation re-checked between events, exit codes, valgrind.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { binDir, runBin, runDir, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import {
  addHandler, configWith, disableAll, envelope, logsOf, publish, releaseBinDir, run, scriptsDir, startBatch,
} from '../lib/dispatch.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => { disableAll(); rx.reset(); });

const bin = path.join(binDir, 'prov-dispatch');
const enc = (value) => encodeURIComponent(JSON.stringify(value));
const ndjson = (lines) => `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;
const logCount = () => Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));


test('results come back in line order; each event has its own data and log; a bad line is skipped', async () => {
  addHandler({ name: 'batch modify', event: 'clients.update', task: `${rx.url}/modify?set=${enc({ seen: true })}` });
  addHandler({ name: 'batch echo', event: 'clients.create', task: `${rx.url}/echo` });
  publish();
  const ids = [1, 2, 3, 4, 5].map((n) => uniqueName(`batch-${n}`));
  const input = ndjson([
    envelope('clients.update', { n: 1 }, { id: ids[0], objectId: 11, dt: '2024-05-01T12:00:00.250Z' }),
    '{"event":{"events_id":"clients.update"},"data":',
    envelope('clients.create', { n: 3 }, { id: ids[2] }),
    envelope('clients.nope', { n: 4 }, { id: ids[3] }),
    envelope('clients.update', { n: 5 }, { id: ids[4], objectId: 15 }),
  ]);
  const r = await run(bin, ['--batch'], { input });
  assert.equal(r.status, 64, `a bad line makes the exit code 64: ${r.stderr}`);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((x) => x.line), [1, 2, 3, 4, 5], 'one result per line, in order');
  assert.match(results[1].error, /^not valid JSON: /);
  assert.match(results[3].error, /^unknown event 'clients\.nope'; valid events: clients\.create, /);
  assert.equal(results[1].verdict, undefined, 'nothing ran for a bad line');
  assert.deepEqual(results.filter((x) => x.event).map((x) => x.event.id), [ids[0], ids[2], ids[4]]);
  assert.deepEqual(results[0].data, { n: 1, seen: true });
  assert.deepEqual(results[2].data, { n: 3 });
  assert.deepEqual(results[4].data, { n: 5, seen: true }, 'no data carried over from line 1');
  assert.deepEqual(results[4].event, { id: ids[4], dt: results[4].event.dt, events_id: 'clients.update', object_id: 15 });
  for (const x of [results[0], results[2], results[4]]) {
    assert.equal(x.verdict, 'allow');
    assert.equal(x.logged, true);
    assert.equal(x.handlers.length, 1);
  }
  const bodies = rx.requests.map((x) => JSON.parse(x.body));
  assert.deepEqual(bodies.map((b) => b.event.id), [ids[0], ids[2], ids[4]], 'bad lines send nothing');
  assert.equal(bodies[0].event.dt, '2024-05-01T12:00:00.250Z', 'the given time is passed on');
  assert.equal(bodies[0].event.object_id, 11);
  assert.deepEqual(bodies[2].data, { n: 5 });
  assert.equal(new Set(rx.requests.map((x) => x.socket)).size, 1, 'one HTTP connection across the events');
  for (const [i, objectId] of [[0, '11'], [2, 'NULL'], [4, '15']]) {
    const logs = logsOf(ids[i]);
    assert.equal(logs.length, 1, `line ${i + 1} is logged once`);
    assert.equal(logs[0].status, 'success');
    assert.equal(logs[0].objectId, objectId);
    assert.equal(logs[0].deliveryId, results[i].handlers[0].delivery_id);
  }
  assert.equal(logsOf(ids[3]).length, 0);
  assert.match(r.stderr, /^prov-dispatch: line 2: not valid JSON/m);
  assert.match(r.stderr, /^prov-dispatch: line 4: unknown event/m);
});

test('events run one after another: each log is committed before the next event, a publish is seen, a forbid stops only its own chain', async () => {
  const first = addHandler({ name: 'batch first', event: 'clients.update', task: `${rx.url}/echo`, priority: 1 });
  addHandler({ name: 'batch forbid', event: 'clients.delete', task: `${rx.url}/forbid?reason=open%20invoices` });
  const generation = publish();
  const batch = startBatch({ env: { PROV_CONFIG: configWith('batch-check-always.conf', { batch_generation_check_ms: 0 }) } });
  const id1 = uniqueName('batch-live-1');
  const one = await batch.send(envelope('clients.update', { step: 1 }, { id: id1 }));
  assert.equal(one.generation, generation);
  assert.deepEqual(one.handlers.map((h) => h.id), [first]);
  assert.equal(logsOf(id1).length, 1, 'the first event is logged (committed) while the batch still runs');

  const second = addHandler({ name: 'batch second', event: 'clients.update', task: `${rx.url}/modify?set=${enc({ two: 2 })}`, priority: 2 });
  const newer = publish();
  const id2 = uniqueName('batch-live-2');
  const two = await batch.send(envelope('clients.update', { step: 2 }, { id: id2 }));
  assert.equal(two.generation, newer, 'the next event runs the generation published meanwhile');
  assert.deepEqual(two.handlers.map((h) => h.id), [first, second]);
  assert.deepEqual(two.data, { step: 2, two: 2 });

  const forbidden = await batch.send(envelope('clients.delete', { client: 9 }));
  assert.equal(forbidden.verdict, 'forbid');
  assert.equal(forbidden.reason, 'open invoices');
  const after = await batch.send(envelope('clients.update', { step: 4 }));
  assert.equal(after.verdict, 'allow', 'a forbid stops its own chain only');
  const { status, stderr } = await batch.end();
  assert.equal(status, 0, `forbidden events are verdicts, not errors: ${stderr}`);
  assert.equal(stderr, '');
  assert.equal(new Set(rx.requests.map((x) => x.socket)).size, 1, 'keep-alive across events and generations');
});

test('bad lines: too long, NUL byte, empty, wrong shape; CRLF line ends are fine; usage errors', async () => {
  addHandler({ name: 'batch never bad', event: 'clients.update', task: `${rx.url}/echo` });
  publish();
  const small = configWith('batch-small.conf', { payload_max_bytes: 1024 });
  const ok = uniqueName('batch-crlf');
  const logsBefore = logCount();
  const input = [
    JSON.stringify(envelope('clients.update', { pad: 'x'.repeat(2000) })),
    '{"event":{"events_id":"clients.update"},"data":{"a":"\u0000"}}'.replace('\\u0000', '\u0000'),
    '',
    JSON.stringify(envelope('clients.update', [1, 2])),
    JSON.stringify(envelope('clients.update', {}, { dt: '2024-05-01 12:00:00' })),
    JSON.stringify(envelope('clients.update', {}, { objectId: -3 })),
    JSON.stringify({ event: { events_id: 'clients.update', event_id: 'x' }, data: {} }),
    '[]',
  ].join('\n');
  const r = await run(bin, ['--batch', '--config', small], { input: `${input}\n${JSON.stringify(envelope('clients.update', { ok: 1 }, { id: ok }))}\r\n` });
  assert.equal(r.status, 64, r.stderr);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((x) => x.line), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const errors = results.slice(0, 8).map((x) => x.error);
  assert.equal(errors[0], 'the line is larger than payload_max_bytes');
  assert.equal(errors[1], 'the line contains a NUL byte');
  assert.equal(errors[2], 'the line is empty');
  assert.equal(errors[3], '"data" is missing or not a JSON object');
  assert.match(errors[4], /^"event\.dt" must be an ISO-8601 UTC time/);
  assert.match(errors[5], /^"event\.object_id" must be a non-negative integer/);
  assert.match(errors[6], /^unknown member "event\.event_id"/);
  assert.match(errors[7], /^the line must be a JSON object/);
  assert.equal(results[8].verdict, 'allow', 'the CRLF line runs');
  assert.deepEqual(results[8].data, { ok: 1 });
  assert.equal(rx.requests.length, 1, 'nothing was sent for the bad lines');
  assert.equal(logCount(), logsBefore + 1, 'only the good line is logged');
  assert.equal(r.stderr.trim().split('\n').length, 8, 'one stderr line per bad line');

  for (const args of [['--batch', 'clients.update'], ['--batch', '--object-id', '3'], ['--batch', '--event-id', 'x']]) {
    const u = await run(bin, args, { input: '' });
    assert.equal(u.status, 64, args.join(' '));
    assert.match(u.stderr, /^prov-dispatch: --batch takes the events from stdin/);
    assert.equal(u.stdout, '');
  }
  const empty = await run(bin, ['--batch'], { input: '' });
  assert.equal(empty.status, 0, 'no lines: nothing to do');
  assert.equal(empty.stdout, '');
  const help = await run(bin, ['--help']);
  assert.match(help.stdout, /--batch/);
  assert.match(help.stdout, /^ {6}--batch: at least one line was bad/m);
});

test('a reader that goes away stops the batch: exit 70, the remaining lines are not run', async () => {
  addHandler({ name: 'batch reader gone', event: 'clients.update', task: `${rx.url}/echo` });
  publish();
  const child = spawn(bin, ['--batch']);
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  child.stdout.once('data', () => child.stdout.destroy());
  child.stdin.on('error', () => {});
  // More results than a pipe buffers, so the dispatcher must notice the closed end.
  child.stdin.end(ndjson(Array.from({ length: 400 }, (_, i) => envelope('clients.update', { i }))));
  const status = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(status, 70);
  assert.match(Buffer.concat(err).toString('utf8'), /^prov-dispatch: the result could not be written: Broken pipe$/m);
  assert.ok(rx.requests.length > 0 && rx.requests.length < 400, `${rx.requests.length} of 400 events ran`);
});

test('the database unreachable: events run from the local snapshot copy and are spooled, then imported', async () => {
  addHandler({ name: 'batch offline', event: 'clients.update', task: `${rx.url}/echo` });
  publish();
  const warm = await run(bin, ['--batch'], { input: ndjson([envelope('clients.update', { warm: 1 })]) });
  assert.equal(warm.status, 0, warm.stderr); // the local copy now holds this generation
  rx.reset();
  const offline = configWith('batch-offline.conf', { db_socket: path.join(runDir, 'no-such.sock') });
  const r = await run(bin, ['--batch'], {
    input: ndjson([envelope('clients.update', { a: 1 }), envelope('clients.update', { a: 2 })]),
    env: { PROV_CONFIG: offline },
  });
  assert.equal(r.status, 0, r.stderr);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((x) => [x.line, x.verdict, x.logged, x.spooled]),
    [[1, 'allow', false, true], [2, 'allow', false, true]]);
  assert.equal(rx.requests.length, 2, 'the handlers still ran');
  assert.match(r.stderr, /kept in the spool/);
  const uids = results.map((x) => x.event.id);
  const logged = () => Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid IN ('${uids.join("','")}')`));
  assert.equal(logged(), 0);
  const worker = runBin('prov-worker', ['--once']);
  assert.equal(worker.status, 0, worker.stderr);
  assert.equal(logged(), 2, 'prov-worker imported both events once the database was reachable');
});

test('valgrind: the release dispatcher in batch mode is clean (HTTP, script, bad line)', { timeout: 120000 }, async () => {
  const script = path.join(scriptsDir, 'batch-vg.sh');
  writeFileSync(script, '#!/bin/sh\ncat\n');
  chmodSync(script, 0o755);
  addHandler({ name: 'batch vg http', event: 'clients.update', task: `${rx.url}/modify?set=${enc({ vg: 1 })}`, priority: 1, secret: 'k' });
  addHandler({ name: 'batch vg script', event: 'clients.update', type: 'script', task: 'batch-vg.sh', priority: 2 });
  publish();
  const id = uniqueName('batch-vg');
  const r = await run(path.join(releaseBinDir, 'prov-dispatchd'), ['--batch'], {
    input: ndjson([envelope('clients.update', { a: 1 }, { id }), 'nope', envelope('clients.update', { a: 2 })]),
    prefix: ['valgrind', '--quiet', '--leak-check=full', '--show-leak-kinds=definite,indirect',
      '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99', '--track-fds=no'],
  });
  assert.equal(r.status, 64, r.stderr);
  const report = r.stderr.split('\n').filter((l) => l && !/^prov-dispatch: line 2: /.test(l)
    && !/syscall: 434|own handler|README_MISSING|consider this a bug|bug_reports/.test(l));
  assert.deepEqual(report, [], 'no valgrind report');
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results[0].data, { a: 1, vg: 1 });
  assert.deepEqual(results[2].data, { a: 2, vg: 1 });
  assert.equal(logsOf(id).length, 2);
  assert.equal(spawnSync('valgrind', ['--version']).status, 0);
});
