// Files the programs trust (issue #14, items 7 and 9): the spool folder is
// read back like fresh input (a record the dispatcher would have refused is
// not imported; a journal.* symbolic link is never followed), and handler
// scripts writable or owned by someone else are refused, in the form, the
// API and at run time.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configPath, runDir, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, disableAll, dispatch, logsOf, publish } from '../lib/dispatch.mjs';
import { journals, spoolDir, worker } from '../lib/retry.mjs';
import { spoolRecord, spoolRecords } from '../lib/faults.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(async () => {
  disableAll();
  rx.reset();
  await worker(); // what earlier tests left in the spool is not this test's
});

const EVENT = 'clients.balance_zero';

// A dispatch on a host whose MariaDB is unreachable: its journal stays in the spool.
async function spooledRun(uid) {
  const down = path.join(runDir, 'spool-down.conf');
  writeFileSync(down, `${readFileSync(configPath, 'utf8')}db_socket = ${runDir}/no-such-mysqld.sock\n`);
  const r = await dispatch([EVENT, '--config', down, '--event-id', uid], {});
  assert.equal(r.result?.spooled, true, r.stderr);
  const [file] = journals();
  return path.join(spoolDir, file);
}

test('spool import: a record the dispatcher would refuse is not imported; the file is kept as *.corrupt', async () => {
  const a = addHandler({ name: 'spool check a', event: EVENT, task: `${rx.url}/echo?t=a`, priority: 1 });
  addHandler({ name: 'spool check b', event: EVENT, task: `${rx.url}/echo?t=b`, priority: 2 });
  publish();
  assert.equal((await dispatch([EVENT], {})).status, 0, 'the local snapshot copy is current');
  const uid = uniqueName('invalid-spool');
  const file = await spooledRun(uid);
  const records = spoolRecords(readFileSync(file));
  assert.deepEqual(records.map((r) => r.json.k), ['begin', 'end', 'begin', 'end']);
  // b's request as no dispatcher writes it: a negative object_id, no handler name.
  const forged = { ...records[2].json, object_id: -5 };
  delete forged.handler_name;
  writeFileSync(file, Buffer.concat([records[0], records[1]].map((r) => spoolRecord(r.payload))
    .concat([spoolRecord(JSON.stringify(forged)), spoolRecord(records[3].payload)])));
  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, new RegExp(`spool ${file.replace(/[.]/g, '\\.')}: 1 invalid record not imported \\(object_id is not a non-negative integer or null\\), the valid ones imported; file kept as \\*\\.corrupt`));
  assert.match(w.stdout, /spool: 1 file, 1 execution imported \(0 interrupted\), 0 already logged, 1 unreadable record/);
  assert.ok(existsSync(`${file}.corrupt`), 'set aside for a person');
  assert.equal(existsSync(file), false);
  assert.deepEqual(logsOf(uid).map((l) => [l.handlerId, l.status]), [[a, 'success']], 'only the valid execution is logged');
  assert.equal(sqlValue("SELECT last_result FROM services WHERE name = 'retry_worker'"), 'error');
  rmSync(`${file}.corrupt`);
});

test('spool import: a journal.* symbolic link is not followed, not moved, and reported', async () => {
  addHandler({ name: 'spool link', event: EVENT, task: `${rx.url}/echo?t=link`, priority: 1 });
  publish();
  assert.equal((await dispatch([EVENT], {})).status, 0);
  const uid = uniqueName('spool-link');
  const file = await spooledRun(uid);
  const outside = path.join(runDir, 'outside-journal');
  renameSync(file, outside);
  const before = readFileSync(outside);
  const link = path.join(spoolDir, 'journal.zz-link');
  symlinkSync(outside, link);
  try {
    const w = await worker();
    assert.equal(w.status, 0, w.stderr);
    assert.match(w.stderr, new RegExp(`spool ${link.replace(/[.]/g, '\\.')}: a symbolic link, not imported \\(left alone\\)`));
    assert.deepEqual(logsOf(uid), [], 'nothing was read through the link');
    assert.ok(existsSync(link), 'the link is left for a person');
    assert.deepEqual(readFileSync(outside), before, 'the file it points to is untouched');
    assert.equal(existsSync(`${link}.corrupt`), false);
    assert.equal(sqlValue("SELECT last_result FROM services WHERE name = 'retry_worker'"), 'error');
  } finally {
    rmSync(link);
    rmSync(outside);
  }
});
