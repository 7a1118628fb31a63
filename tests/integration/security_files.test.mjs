// Files the programs trust (issue #14, items 7 and 9): the spool folder is
// read back like fresh input (a record the dispatcher would have refused is
// not imported; a journal.* symbolic link is never followed), and handler
// scripts writable or owned by someone else are refused, in the form, the
// API and at run time.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { api, apiUser, clientAs, configPath, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, disableAll, dispatch, logsOf, publish, scriptsDir } from '../lib/dispatch.mjs';
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

// ---------------------------------------------------------------- scripts

// A script in the scripts folder (sub may name a subfolder); returns its task.
function script(name, { mode = 0o755, owner, sub, body = '#!/bin/sh\ncat\n' } = {}) {
  const dir = sub ? path.join(scriptsDir, sub) : scriptsDir;
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, body);
  chmodSync(file, mode);
  if (owner !== undefined) chownSync(file, owner, owner);
  return sub ? `${sub}/${name}` : name;
}

const NOBODY = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
const admin = apiUser('admin');

test('scripts writable by others or owned by another user are refused by the form and the API', async () => {
  const cases = [
    { task: script(`ww-${process.pid}.sh`, { mode: 0o777 }), why: /is writable by others \(mode 0777\)/ },
    { task: script(`gw-${process.pid}.sh`, { mode: 0o775 }), why: /is writable by others \(mode 0775\)/ },
    { task: script(`nobody-${process.pid}.sh`, { owner: NOBODY }), why: new RegExp(`is owned by uid ${NOBODY}, not by root`) },
    { task: script('inner.sh', { sub: `open-dir-${process.pid}` }), why: /open-dir-\d+ is writable by others \(mode 0777\)/, dir: `open-dir-${process.pid}` },
  ];
  chmodSync(path.join(scriptsDir, cases[3].dir), 0o777);
  const ok = script(`fine-${process.pid}.sh`);
  const good = await api('POST', '/handlers', { key: admin.key, body: { name: uniqueName('trusted script'), events_id: EVENT, task: ok } });
  assert.equal(good.status, 201, good.text);
  const panel = await clientAs('admin');
  for (const c of cases) {
    const r = await api('POST', '/handlers', { key: admin.key, body: { name: uniqueName('untrusted script'), events_id: EVENT, task: c.task } });
    assert.equal(r.status, 422, `${c.task}: ${r.text}`);
    assert.equal(r.json.error.data.field, 'task');
    assert.match(r.json.error.message, /^The script is not safe to run: /);
    assert.match(r.json.error.message, c.why);
    const form = await panel.submit('/handlers/new', '/handlers/new', {
      name: uniqueName('untrusted form'), events_id: EVENT, task: c.task, status: 'enabled', priority: '1',
      timeout: '5', retry_enabled: '1', retry_schedule: '', retry_max_attempts: '', secret_action: 'keep', return: '',
    });
    assert.equal(form.status, 422, `the form is shown again for ${c.task}`);
    const [, message] = /<p class="field-error" id="error-task">([^<]*)<\/p>/.exec(form.text) || [];
    assert.match(message || '', c.why);
  }
});

test('at run time a script writable by others or owned by another user is refused, not run and not retried', async () => {
  const marker = path.join(runDir, `ran-${process.pid}`);
  const body = `#!/bin/sh\necho ran >> ${marker}\ncat\n`;
  const ww = addHandler({ name: 'run ww', event: EVENT, type: 'script', task: script(`run-ww-${process.pid}.sh`, { body }), priority: 1 });
  const nb = addHandler({ name: 'run nobody', event: EVENT, type: 'script', task: script(`run-nb-${process.pid}.sh`, { body }), priority: 2 });
  publish();
  // Validated when they were fine; someone loosened them afterwards.
  chmodSync(path.join(scriptsDir, `run-ww-${process.pid}.sh`), 0o777);
  chownSync(path.join(scriptsDir, `run-nb-${process.pid}.sh`), NOBODY, NOBODY);
  const uid = uniqueName('untrusted-run');
  const r = await dispatch([EVENT, '--event-id', uid], { a: 1 });
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = r.result.handlers;
  assert.equal(a.status, 'fail');
  assert.match(a.error, new RegExp(`^refused: ${scriptsDir}/run-ww-\\d+\\.sh is writable by others \\(mode 0777\\)$`));
  assert.equal(b.status, 'fail');
  assert.match(b.error, new RegExp(`^refused: ${scriptsDir}/run-nb-\\d+\\.sh is owned by uid ${NOBODY}, not by root or uid 0$`));
  assert.equal(existsSync(marker), false, 'neither script ran');
  assert.deepEqual(logsOf(uid).map((l) => [l.handlerId, l.status]), [[ww, 'fail'], [nb, 'fail']]);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE event_uid = '${uid}'`)), 0, 'a refusal is final: not queued');
});

test('Redeliver of a script handler runs it as the dispatcher\'s user (the retry worker), never the web server\'s', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'prov-uid-'));
  chmodSync(out, 0o1777); // whoever runs the script can say who it is
  const uidFile = path.join(out, 'uid');
  const task = script(`whoami-${process.pid}.sh`, { body: `#!/bin/sh\nid -u > ${uidFile}\ncat\n` });
  const handlerId = addHandler({ name: 'who runs me', event: EVENT, type: 'script', task });
  publish();
  const run = await dispatch([EVENT], { a: 1 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(readFileSync(uidFile, 'utf8').trim(), String(process.getuid()));
  rmSync(uidFile);
  const logId = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE handler_id = ${handlerId}`));

  const panel = await clientAs('admin');
  const r = await panel.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.equal(r.status, 303, r.text);
  assert.equal(r.location, `/logs/${logId}?redelivered=queued`);
  assert.equal(existsSync(uidFile), false, 'the panel did not run the script');
  const page = await panel.get(r.location);
  assert.match(page.text, /id="redeliver-result">Queued for the retry worker/);
  const viaApi = await api('POST', `/logs/${logId}/redeliver`, { key: admin.key });
  assert.equal(viaApi.status, 202, viaApi.text);
  assert.deepEqual({ ...viaApi.json, request_id: 0 }, { redelivery_of: logId, status: 'queued', request_id: 0 });
  assert.equal(existsSync(uidFile), false, 'nor did the API');

  const w = await worker();
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stdout, /2 queued redeliveries run/);
  assert.equal(readFileSync(uidFile, 'utf8').trim(), String(process.getuid()), "the worker's uid, not www-data's");
  const rows = sql(`SELECT trigger_kind, redelivery_of, status FROM exec_logs WHERE handler_id = ${handlerId} AND id > ${logId} ORDER BY id`);
  assert.deepEqual(rows, [['manual', String(logId), 'success'], ['manual', String(logId), 'success']]);
  assert.deepEqual(sql(`SELECT state, new_log_id IS NOT NULL, error IS NULL FROM redeliver_queue WHERE log_id = ${logId}`),
    [['done', '1', '1'], ['done', '1', '1']]);
  rmSync(out, { recursive: true });
});
