// prov-dispatch --batch group commit (issue #15): the lines waiting on stdin
// are logged in groups, one transaction each, and a result line is printed
// only once its event's log rows are committed. A lost COMMIT turns its whole
// group into "spooled" results that the import logs once; a kill -9 mid-batch
// leaves no printed result without its rows; a long stream keeps its memory.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, configWith, disableAll, envelope, publish, releaseBinDir, run } from '../lib/dispatch.mjs';
import { journals, worker } from '../lib/retry.mjs';
import { startDbProxy } from '../lib/faults.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { disableAll(); await worker(); await rx?.close(); });
beforeEach(async () => { disableAll(); rx.reset(); await worker(); });

const ndjson = (lines) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
const parseLines = (stdout) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
const rowsOf = (tag) => sql(`SELECT event_uid, COUNT(*) FROM exec_logs WHERE event_uid LIKE '${tag}-%' GROUP BY event_uid`);

async function importSpool() {
  const w = await worker(['--once', '--id', 'group-commit']);
  assert.equal(w.status, 0, `prov-worker: ${w.stdout}${w.stderr}`);
  assert.deepEqual(journals(), [], 'the spool was imported');
}

for (const at of ['before', 'after']) {
  test(`lines waiting are logged in groups; a group whose COMMIT is lost ${at} MariaDB got it is reported spooled and imported once`, { timeout: 120000 }, async () => {
    addHandler({ name: `group ${at}`, event: 'clients.update', task: `${rx.url}/echo?g=${at}` });
    publish();
    const proxy = await startDbProxy(path.join(runDir, `group-proxy-${at}.sock`));
    const config = configWith(`group-proxy-${at}.conf`, { db_socket: proxy.socketPath });
    const tag = uniqueName(`group-${at}`);
    const n = 600;
    const lines = Array.from({ length: n }, (_, i) => envelope('clients.update', { i }, { id: `${tag}-${i}` }));
    proxy.setFault({ at, every: 2 });
    let r;
    try {
      r = await run(path.join(binDir, 'prov-dispatch'), ['--batch'], { input: ndjson(lines), env: { PROV_CONFIG: config } });
    } finally {
      proxy.setFault(null);
      await proxy.close();
    }
    assert.equal(r.status, 0, r.stderr);
    const results = parseLines(r.stdout);
    assert.deepEqual(results.map((x) => x.line), lines.map((_, i) => i + 1), 'every line, in order');
    const { commits, dropped } = proxy.counts();
    assert.ok(commits >= 2 && commits <= n / 4, `grouped: ${commits} COMMITs for ${n} events`);
    assert.ok(dropped >= 1, 'a COMMIT was lost');
    // Before any import: every result that says logged has its row, committed before it was printed.
    const logged = new Set(results.filter((x) => x.logged).map((x) => x.event.id));
    const rows = new Map(rowsOf(tag));
    for (const uid of logged) assert.equal(rows.get(uid), '1', `${uid} was printed as logged`);
    const notLogged = results.filter((x) => !x.logged);
    assert.ok(notLogged.length > 0);
    for (const x of notLogged) assert.equal(x.spooled, true, `line ${x.line}: neither logged nor spooled`);
    if (at === 'before') {
      for (const x of notLogged) assert.equal(rows.has(x.event.id), false, `line ${x.line}: rolled back`);
    }
    await importSpool();
    const all = rowsOf(tag);
    assert.equal(all.length, n, 'every event logged');
    assert.ok(all.every(([, count]) => count === '1'), 'none twice');
  });
}

test('kill -9 mid-batch: every printed result has its log rows; the import logs the rest once', { timeout: 120000 }, async () => {
  addHandler({ name: 'group kill', event: 'clients.update', task: `${rx.url}/echo?g=kill` });
  publish();
  const tag = uniqueName('group-kill');
  const n = 5000;
  const child = spawn(path.join(binDir, 'prov-dispatch'), ['--batch']);
  const printed = [];
  let pending = '';
  const killed = new Promise((resolve) => child.on('close', resolve));
  child.stdout.on('data', (c) => {
    pending += c.toString('utf8');
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      printed.push(JSON.parse(pending.slice(0, nl)));
      pending = pending.slice(nl + 1);
    }
    if (printed.length >= 300) child.kill('SIGKILL');
  });
  child.stdin.on('error', () => {}); // the pipe breaks at the kill
  child.stdin.end(ndjson(Array.from({ length: n }, (_, i) => envelope('clients.update', { i }, { id: `${tag}-${i}` }))));
  await killed;
  assert.ok(printed.length >= 300 && printed.length < n, `killed mid-batch after ${printed.length} results`);
  const rows = new Map(rowsOf(tag));
  for (const x of printed) {
    assert.equal(x.logged, true);
    assert.equal(rows.get(x.event.id), '1', `line ${x.line} was printed before its row was committed`);
  }
  await importSpool();
  const delivered = new Set(rx.requests.map((q) => JSON.parse(q.body).event.id).filter((id) => id.startsWith(`${tag}-`)));
  const after = rowsOf(tag);
  assert.equal(after.length, delivered.size, 'every delivery made is logged (the journal holds what was not committed)');
  assert.ok(after.every(([uid, count]) => count === '1' && delivered.has(uid)));
});

test('a long batch keeps its memory: peak RSS under 64 MiB (release build), every line waiting from the start', { timeout: 180000 }, async () => {
  addHandler({ name: 'group rss', event: 'clients.update', task: `${rx.url}/status/200?g=rss` });
  publish();
  const tag = uniqueName('group-rss');
  const n = 20000;
  const big = 'x'.repeat(5000); // 100 MB of input: held whole, it would not fit in 64 MiB
  // stdin is a file: every line is waiting all along, so only the group's own
  // bounds (events, bytes, milliseconds) end a group.
  const input = path.join(runDir, `${tag}.ndjson`);
  writeFileSync(input, ndjson(Array.from({ length: n }, (_, i) => envelope('clients.update', { i, big }, { id: `${tag}-${i}` }))));
  const fd = openSync(input, 'r');
  // No generation check for an hour: it would end a group too (before the snapshot may change).
  const config = configWith('group-rss.conf', { batch_generation_check_ms: 3600000 });
  const child = spawn(path.join(releaseBinDir, 'prov-dispatch'), ['--batch'], {
    stdio: [fd, 'pipe', 'inherit'], env: { ...process.env, PROV_CONFIG: config },
  });
  closeSync(fd);
  let results = 0;
  let peakKib = 0;
  let pending = '';
  child.stdout.on('data', (c) => {
    pending += c.toString('latin1');
    const parts = pending.split('\n');
    pending = parts.pop();
    results += parts.length;
  });
  const sample = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peakKib = Math.max(peakKib, Number(hwm[1]));
    } catch { /* exited */ }
  }, 20);
  const status = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(sample);
  rmSync(input, { force: true });
  assert.equal(status, 0);
  assert.equal(results, n);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid LIKE '${tag}-%'`), String(n));
  assert.ok(peakKib > 0 && peakKib < 64 * 1024, `peak RSS ${peakKib} KiB`);
});
