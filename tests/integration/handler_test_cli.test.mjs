// prov-admin handlers test (issue #16): a script handler runs here (as the
// invoking user), an HTTP handler with --event and --data -, bad input
// refused with one line and nothing sent or logged.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, run, scriptsDir } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx.close(); });
const admin = (args, input = '') => run(path.join(binDir, 'prov-admin'), ['handlers', 'test', ...args], { input });
const logs = () => Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));

test('a script handler runs from the CLI with the sample; its forbid is the verdict', async () => {
  const name = `${uniqueName('cli').replace(/[^A-Za-z0-9]/g, '')}.sh`;
  const file = path.join(scriptsDir, name);
  writeFileSync(file, '#!/bin/sh\nread line\necho "{\\"allow\\": false, \\"reason\\": \\"seen $PROV_EVENT\\"}"\n');
  chmodSync(file, 0o755);
  const id = addHandler({ name: 'CLI script', event: 'clients.accounts.create', task: file, type: 'script', status: 'disabled' });
  const r = await admin([String(id)]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.verdict, 'forbidden');
  assert.equal(r.result.exit_code, 0);
  assert.match(r.result.reason, /seen clients.accounts.create/);
  assert.equal(r.result.request.data.account_id, 20001, 'the event sample');
  assert.equal(sqlValue(`SELECT CONCAT(trigger_kind, '/', verdict) FROM exec_logs WHERE id = ${r.result.log_id}`), 'test/forbidden');
});

test('an HTTP handler with --event and --data -; a failure exits 1', async () => {
  const id = addHandler({ name: 'CLI http', event: 'clients.create', task: `${rx.url}/echo` });
  rx.reset();
  const r = await admin([String(id), '--event', 'clients.delete', '--data', '-'], '{"client_id": 99}');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(rx.requests.length, 1);
  assert.deepEqual(JSON.parse(rx.requests[0].body).data, { client_id: 99 });
  assert.equal(JSON.parse(rx.requests[0].body).event.events_id, 'clients.delete');
  const failing = addHandler({ name: 'CLI 503', event: 'clients.create', task: `${rx.url}/status/503` });
  const f = await admin([String(failing)]);
  assert.equal(f.status, 1);
  assert.equal(f.result.status, 'fail');
  assert.equal(f.result.http_status, 503);
});

test('bad input: one line, exit 1 or 64, nothing sent or logged', async () => {
  const id = addHandler({ name: 'CLI bad', event: 'clients.create', task: `${rx.url}/echo` });
  rx.reset();
  const before = logs();
  for (const [args, input, status, message] of [
    [[String(id), '--data', '-'], '{"a":', 1, /not valid JSON/],
    [[String(id), '--data', '-'], '[1]', 1, /must be a JSON object/],
    [[String(id), '--event', 'nope'], '', 1, /unknown event 'nope'/],
    [['999999'], '', 1, /no handler with that id/],
    [['x'], '', 64, /handler ID/],
    [[String(id), '--colour'], '', 64, /unexpected argument/],
    [[String(id), '--data', '/nonexistent/file'], '', 1, /nonexistent/],
  ]) {
    const r = await admin(args, input);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  assert.equal(rx.requests.length, 0);
  assert.equal(logs(), before);
});

test('a spooled run keeps its verdicts and forbid reason through the import', async () => {
  const { configWith, dispatch, disableAll, publish } = await import('../lib/dispatch.mjs');
  const { mkdirSync, rmSync } = await import('node:fs');
  const { runDir } = await import('../lib/panel.mjs');
  disableAll();
  addHandler({ name: 'spool modify', event: 'clients.archive', task: `${rx.url}/modify?set=%7B%22m%22%3A1%7D`, priority: 1 });
  addHandler({ name: 'spool forbid', event: 'clients.archive', task: `${rx.url}/forbid?reason=spooled%20no`, priority: 2 });
  publish();
  const warm = await dispatch(['clients.archive'], {}); // also refreshes the local snapshot copy
  assert.equal(warm.result?.verdict, 'forbid', warm.stderr);
  const spool = path.join(runDir, 'tc-spool');
  rmSync(spool, { recursive: true, force: true });
  mkdirSync(spool, { mode: 0o700 });
  const down = configWith('tc-down.conf', { db_socket: path.join(runDir, 'no-such-mysqld.sock'), spool_dir: spool });
  const uid = uniqueName('tc-spooled').replace(/[^A-Za-z0-9._:-]/g, '');
  const r = await dispatch(['clients.archive', '--config', down, '--event-id', uid], { client_id: 3 });
  assert.equal(r.result?.spooled, true, r.stderr);
  const w = await run(path.join(binDir, 'prov-worker'), ['--once', '--config', configWith('tc-up.conf', { spool_dir: spool })]);
  assert.equal(w.status, 0, w.stderr);
  assert.deepEqual(
    sql(`SELECT verdict, IFNULL(forbid_reason, '') FROM exec_logs WHERE event_uid = '${uid}' ORDER BY dt, id`),
    [['modified', ''], ['forbidden', 'spooled no']]);
  disableAll();
  publish();
});
