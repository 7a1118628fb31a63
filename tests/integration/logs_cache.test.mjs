// The Execution Logs page cache (core/web_cache.c, cgi-bin/page_logs.c):
// a view kept by a panel process is answered again only while its rows, the
// handlers and the session are what they were. Each test first makes the
// panel process answer a view from its cache (X-Panel-Cache: hit; requests
// one after another go to the same, most recently idle, process), then
// changes one thing and checks the very next answers.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Client, clientAs, configPath, createUser, csrfFrom, runBin, runDir, sql, sqlValue, uniqueName,
} from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, publish, q, scriptsDir } from '../lib/dispatch.mjs';

const token = `cache${randomBytes(4).toString('hex')}`;
let admin;
let viewer;
let nextHandler = 3000000000 + Math.floor(Math.random() * 100000000);
const handlerId = () => nextHandler++; // log rows of handlers without a handlers row

const FORM = {
  events_id: 'clients.update', task: 'http://127.0.0.1:9/hook', status: 'enabled', priority: '1',
  timeout: '5', retry_enabled: '1', retry_schedule: '', retry_max_attempts: '', secret_action: 'keep', return: '',
};

// One exec_logs row, as the dispatcher writes it; dt: seconds before now.
function insertLog({ handler, status = 'success', name = `h-${token}`, ago = 0, id = null } = {}) {
  const cols = ['dt', 'status', 'events_id', 'handler_id', 'handler_name', 'event_uid', 'delivery_id', 'request_body',
    'http_status'];
  const vals = [`UTC_TIMESTAMP(6) - INTERVAL ${ago} SECOND`, q(status), q('clients.update'), String(handler), q(name),
    q(randomBytes(6).toString('hex')), q(randomUUID()), q('{}'), status === 'success' ? '200' : '500'];
  if (id !== null) {
    cols.unshift('id');
    vals.unshift(String(id));
  }
  return Number(sqlValue(`INSERT INTO exec_logs (${cols.join(', ')}) VALUES (${vals.join(', ')}); SELECT LAST_INSERT_ID()`));
}

const rowIds = (r) => [...r.text.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
const cache = (r) => r.headers.get('x-panel-cache');

// Ask for path until the panel process answers it from its cache.
async function warm(client, urlPath) {
  for (let i = 0; i < 20; i++) {
    const r = await client.get(urlPath);
    assert.equal(r.status, 200, `${urlPath}: ${r.status}`);
    if (cache(r) === 'hit') return r;
  }
  throw new Error(`${urlPath} never came from the page cache`);
}

// The next answers for path (three, so a kept copy would be met if it were used).
async function next(client, urlPath, check) {
  for (let i = 0; i < 3; i++) {
    const r = await client.get(urlPath);
    assert.equal(r.status, 200, `${urlPath}: ${r.status}`);
    check(r, i);
  }
}

before(async () => {
  admin = await clientAs('admin');
  viewer = await clientAs('viewer');
});

test('cacheable views say so; text search, dates, paging and purge answers are not kept', async () => {
  const h = handlerId();
  for (let i = 0; i < 3; i++) insertLog({ handler: h, ago: 10 + i });
  const first = await admin.get(`/logs?handler=${h}`);
  assert.ok(['hit', 'miss'].includes(cache(first)), 'a first page by handler is kept');
  await warm(admin, `/logs?handler=${h}`);
  const [older] = rowIds(first);
  for (const p of [`/logs?handler=${h}&q=x`, `/logs?handler=${h}&from=2020-01-01`, `/logs?handler=${h}&before=${older}`,
    `/logs?handler=${h}&after=${older}`, '/logs?purged=1', `/logs?handler=${h}&status=nope`, `/logs/${older}`]) {
    for (let i = 0; i < 2; i++) assert.equal(cache(await admin.get(p)), null, p);
  }
});

test('a row inserted straight into MariaDB is on the next answer of every view it belongs to', async () => {
  const h = handlerId();
  for (let i = 0; i < 3; i++) insertLog({ handler: h, ago: 60 + i });
  const views = ['/logs', `/logs?handler=${h}`, `/logs?handler=${h}&status=fail`, '/logs?status=fail'];
  for (const v of views) await warm(admin, v);
  const before = await warm(admin, `/logs?handler=${h}&status=success`);
  const added = insertLog({ handler: h, status: 'fail', name: `added-${token}` });
  for (const v of views) {
    await next(admin, v, (r, i) => {
      assert.equal(rowIds(r)[0], added, `${v} (answer ${i + 1}) shows the new row first`);
      assert.match(r.text, new RegExp(`added-${token}`));
    });
  }
  // Where it does not belong, the kept copy stays good.
  const success = await warm(admin, `/logs?handler=${h}&status=success`);
  assert.equal(success.text, before.text);
});

test('rows committed out of id order, or dated back, are on the next answer too', async () => {
  // A dispatcher that commits after a later one leaves a row whose id is below
  // the newest: MAX(id) and MIN(id) stay as they were.
  const h = handlerId();
  const reserved = insertLog({ handler: handlerId(), ago: 5 });
  sql(`DELETE FROM exec_logs WHERE id = ${reserved}`);
  for (let i = 0; i < 4; i++) insertLog({ handler: h, ago: 30 + 10 * i });
  const maxBefore = sqlValue('SELECT MAX(id) FROM exec_logs');
  await warm(admin, `/logs?handler=${h}`);
  await warm(admin, '/logs');
  insertLog({ handler: h, id: reserved, name: `late-${token}` });
  assert.equal(sqlValue('SELECT MAX(id) FROM exec_logs'), maxBefore, 'the late row did not move MAX(id)');
  for (const v of [`/logs?handler=${h}`, '/logs']) {
    await next(admin, v, (r) => assert.equal(rowIds(r)[0], reserved, `${v} shows the late row`));
  }
  // A spool replay: an older execution logged now, in the middle of the page.
  await warm(admin, `/logs?handler=${h}`);
  const replayed = insertLog({ handler: h, ago: 45, name: `replayed-${token}` });
  await next(admin, `/logs?handler=${h}`, (r) => {
    const ids = rowIds(r);
    assert.equal(ids.length, 6);
    assert.equal(ids[3], replayed, 'between the rows 40 and 50 seconds old');
  });
});

test('the row after the page counts: the Older link comes and goes with it', async () => {
  const h = handlerId();
  for (let i = 0; i < 25; i++) insertLog({ handler: h, ago: 100 + i });
  const view = `/logs?handler=${h}`;
  const full = await warm(admin, view);
  assert.equal(rowIds(full).length, 25);
  assert.doesNotMatch(full.text, /id="page-older"/);
  const oldest = insertLog({ handler: h, ago: 500 }); // below the page: the page's rows are unchanged
  await next(admin, view, (r) => {
    assert.equal(rowIds(r).length, 25);
    assert.ok(!rowIds(r).includes(oldest));
    assert.match(r.text, /id="page-older"/, 'there is an older page now');
  });
  await warm(admin, view);
  sql(`DELETE FROM exec_logs WHERE id = ${oldest}`);
  await next(admin, view, (r) => assert.doesNotMatch(r.text, /id="page-older"/));
});

test('a deleted row and a purge are gone from the next answer', async () => {
  const h = handlerId();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(insertLog({ handler: h, ago: 20 + i }));
  await warm(admin, `/logs?handler=${h}`);
  sql(`DELETE FROM exec_logs WHERE id = ${ids[1]}`);
  await next(admin, `/logs?handler=${h}`, (r) => assert.deepEqual(rowIds(r), [ids[0], ids[2]]));

  // Past the retention (90 days): the admin's Purge now, then prov-admin logs purge.
  const old = handlerId();
  for (let i = 0; i < 3; i++) insertLog({ handler: old, ago: 200 * 86400 + i });
  await warm(admin, `/logs?handler=${old}`);
  const purged = await admin.submit('/logs', '/logs/purge', {});
  assert.equal(purged.status, 303);
  await next(admin, `/logs?handler=${old}`, (r) => {
    assert.deepEqual(rowIds(r), []);
    assert.match(r.text, /No executions match these filters\./);
  });
  const old2 = handlerId();
  insertLog({ handler: old2, ago: 200 * 86400 });
  assert.equal(rowIds(await warm(admin, `/logs?handler=${old2}`)).length, 1);
  assert.equal(runBin('prov-admin', ['logs', 'purge']).status, 0);
  await next(admin, `/logs?handler=${old2}`, (r) => assert.deepEqual(rowIds(r), []));
});

test('a handler renamed or switched in the panel shows so on the next answer', async () => {
  const created = await admin.submit('/handlers/new', '/handlers/new', { ...FORM, name: `before-${token}` });
  assert.equal(created.status, 303);
  const id = Number(new URL(created.location, 'http://x').searchParams.get('id'));
  insertLog({ handler: id, name: `before-${token}` });
  const views = ['/logs', `/logs?handler=${id}`];
  const shown = await warm(admin, views[1]);
  assert.match(shown.text, new RegExp(`id="handler-heading">&middot; before-${token}</span>`));
  await warm(admin, views[0]);
  const form = await admin.get(`/handlers/${id}`);
  const renamed = await admin.post(`/handlers/${id}`, { ...FORM, name: `after-${token}`, csrf_token: csrfFrom(form.text) });
  assert.equal(renamed.status, 303);
  for (const v of views) {
    await next(admin, v, (r) => {
      assert.match(r.text, new RegExp(`<option value="${id}"[^>]*>after-${token} \\(#${id}\\)</option>`), v);
      assert.doesNotMatch(r.text, new RegExp(`>before-${token} \\(#`), v);
    });
  }
  await warm(admin, views[0]);
  const off = await admin.submit('/handlers', `/handlers/${id}/status`, { to: 'disabled' });
  assert.equal(off.status, 303);
  await next(admin, views[0], (r) => {
    assert.match(r.text, new RegExp(`>after-${token} \\(#${id}, disabled\\)</option>`));
  });
});

test('a dispatch logs a row and auto-disables its handler: both on the next answer', async () => {
  disableAll();
  const script = `fail-${token}.sh`;
  writeFileSync(path.join(scriptsDir, script), '#!/bin/sh\necho "no credit" >&2\nexit 3\n');
  chmodSync(path.join(scriptsDir, script), 0o755);
  const h = addHandler({ name: `hook-${token}`, event: 'clients.custom_fields.update', task: script, type: 'script' });
  publish();
  const conf = path.join(runDir, `cache-${token}.conf`);
  writeFileSync(conf, `${readFileSync(configPath, 'utf8')}auto_disable_failures = 1\n`);
  insertLog({ handler: h, name: `hook-${token}`, ago: 30 });
  const views = ['/logs', `/logs?handler=${h}`];
  for (const v of views) {
    const r = await warm(admin, v);
    assert.match(r.text, new RegExp(`>hook-${token} \\(#${h}\\)</option>`), 'enabled: no status shown');
  }
  const r = await dispatch(['clients.custom_fields.update', '--config', conf, '--object-id', '77'], { ok: 1 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /was disabled after 1 failures in a row/);
  const logged = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE handler_id = ${h} AND trigger_kind = 'dispatch' AND object_id = 77`));
  for (const v of views) {
    await next(admin, v, (page) => {
      assert.equal(rowIds(page)[0], logged, `${v}: the dispatched row`);
      assert.match(page.text, new RegExp(`>hook-${token} \\(#${h}, disabled\\)</option>`), `${v}: auto-disabled`);
    });
  }
});

test('sessions never get each other\'s page: user, role and CSRF token are their own', async () => {
  const name = uniqueName('cache-admin');
  const password = createUser(name, 'admin');
  const one = new Client();
  await one.login(name, password);
  const two = new Client(); // the same user in a second browser: another CSRF token
  await two.login(name, password);
  const csrfOf = (client) => sqlValue(`SELECT csrf_token FROM sessions WHERE token_hash = SHA2(${q(client.cookies.get('prov_session'))}, 256)`);
  const expected = [[one, csrfOf(one), name, 'admin'], [two, csrfOf(two), name, 'admin'],
    [viewer, csrfOf(viewer), viewer.userName, 'viewer'], [admin, csrfOf(admin), admin.userName, 'admin']];
  assert.notEqual(expected[0][1], expected[1][1]);
  await warm(one, '/logs');
  for (let round = 0; round < 3; round++) {
    for (const [client, csrf, user, role] of expected) {
      const r = await client.get('/logs');
      assert.equal(r.status, 200);
      const tokens = [...r.text.matchAll(/name="csrf_token" value="([0-9a-f]{64})"/g)].map((m) => m[1]);
      assert.ok(tokens.length >= 1);
      assert.ok(tokens.every((t) => t === csrf), `${user} (${role}) gets its own CSRF token`);
      assert.match(r.text, new RegExp(`title="Role: ${role}">${user} <small`));
      if (role === 'viewer') assert.doesNotMatch(r.text, /id="purge-now"/);
      else assert.match(r.text, /id="purge-now"/);
    }
  }
});

test('after logout the kept page is not served to the old cookie', async () => {
  const name = uniqueName('cache-out');
  const password = createUser(name, 'viewer');
  const client = new Client();
  await client.login(name, password);
  await warm(client, '/logs');
  const cookie = client.cookies.get('prov_session');
  const out = await client.submit('/logs', '/logout', {});
  assert.equal(out.status, 303);
  const replay = new Client();
  replay.cookies.set('prov_session', cookie);
  for (let i = 0; i < 3; i++) {
    const r = await replay.get('/logs');
    assert.equal(r.status, 303);
    assert.equal(r.location, '/login');
    assert.doesNotMatch(r.text, new RegExp(name));
  }
});

test('filters and paging stay right around kept pages', async () => {
  const h = handlerId();
  const rows = [];
  for (let i = 0; i < 30; i++) rows.push(insertLog({ handler: h, status: i % 3 ? 'success' : 'fail', ago: 1000 - i }));
  const newestFirst = [...rows].reverse();
  const view = `/logs?handler=${h}`;
  const first = await warm(admin, view);
  assert.deepEqual(rowIds(first), newestFirst.slice(0, 25));
  const olderLink = /href="([^"]*)" id="page-older"/.exec(first.text)[1].replace(/&amp;/g, '&');
  const second = await admin.get(olderLink);
  assert.deepEqual(rowIds(second), newestFirst.slice(25));
  const fails = await warm(admin, `${view}&status=fail`);
  assert.deepEqual(rowIds(fails), newestFirst.filter((id) => rows.indexOf(id) % 3 === 0));
  await warm(admin, `${view}&status=success`);

  const added = insertLog({ handler: h, status: 'success', ago: 1 });
  await next(admin, view, (r) => {
    assert.deepEqual(rowIds(r), [added, ...newestFirst.slice(0, 24)]);
    assert.equal(/href="([^"]*)" id="page-older"/.exec(r.text)[1], `/logs?handler=${h}&amp;before=${newestFirst[23]}`);
  });
  await next(admin, `${view}&status=success`, (r) => assert.equal(rowIds(r)[0], added));
  const kept = await warm(admin, `${view}&status=fail`); // a success row leaves it as it was
  assert.deepEqual(rowIds(kept), rowIds(fails));
  assert.deepEqual(rowIds(await admin.get(olderLink)), newestFirst.slice(25), 'older pages are read afresh');
});
