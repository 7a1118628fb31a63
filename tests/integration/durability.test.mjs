// journal_sync (README "Durability"): with it on, the request record of each
// delivery is fdatasynced before the request goes out (power-loss safety);
// with it off (the default), a record is a plain write (crash safety). Seen
// with strace: the order of fdatasync(2) and the POST's send on the wire.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runDir, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, configWith, disableAll, dispatch, logsOf, publish, releaseBinDir } from '../lib/dispatch.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => { disableAll(); rx.reset(); });

const EVENT = 'clients.accounts.update';

// The syscalls of one direct run (prov-dispatchd: no service), in order; the
// release build (what ships; LeakSanitizer cannot run under ptrace).
async function traced(config, id) {
  const trace = path.join(runDir, `strace-${id}.txt`);
  const r = await dispatch([EVENT, '--event-id', id], { a: 1 }, {
    program: 'prov-dispatchd', bin: releaseBinDir, env: { PROV_CONFIG: config },
    prefix: ['strace', '-f', '-qq', '-s', '12', '-e', 'trace=fdatasync,fsync,sendto,write,writev', '-o', trace],
  });
  const lines = readFileSync(trace, 'utf8').split('\n');
  rmSync(trace);
  return { r, lines };
}

const firstIndex = (lines, pattern) => lines.findIndex((l) => pattern.test(l));

test('journal_sync = 1: the request record reaches the disk before the request is sent; off by default', async () => {
  addHandler({ name: 'durable', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const on = await traced(configWith('durable-on.conf', { journal_sync: 1 }), uniqueName('sync-on'));
  assert.equal(on.r.status, 0, on.r.stderr);
  const post = firstIndex(on.lines, /"POST \//);
  assert.ok(post > 0, `the POST is in the trace:\n${on.lines.join('\n')}`);
  const record = firstIndex(on.lines, /"S1 \d+ /);
  const synced = firstIndex(on.lines, /fdatasync\(/);
  assert.ok(record >= 0 && record < post, 'the begin record is written before the POST');
  assert.ok(synced > record && synced < post, `fdatasync between the record and the POST:\n${on.lines.join('\n')}`);
  assert.equal(logsOf(on.r.result.event.id).length, 1);

  const off = await traced(configWith('durable-off.conf', {}), uniqueName('sync-off'));
  assert.equal(off.r.status, 0, off.r.stderr);
  const offPost = firstIndex(off.lines, /"POST \//);
  assert.ok(offPost > firstIndex(off.lines, /"S1 \d+ /), 'the record is still written first');
  assert.equal(off.lines.slice(0, offPost).filter((l) => /fdatasync\(|fsync\(/.test(l)).length, 0,
    'by default nothing is synced before the POST (crash-safe, not power-loss-safe)');
});

test('journal_sync takes 0 or 1 only', async () => {
  const r = await dispatch([EVENT], {}, { env: { PROV_CONFIG: configWith('durable-bad.conf', { journal_sync: 2 }) } });
  assert.equal(r.status, 78);
  assert.match(r.stderr, /journal_sync/);
});
