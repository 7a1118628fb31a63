// The operator panel's handler pages over HTTP against the real Apache +
// MariaDB: create / edit / toggle / delete, every validation rule through the
// form, CSRF and role refusals (with the database checked unchanged), the
// list's filters, sorting, pages, pending-changes notice and health hints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { Client, clientAs, csrfFrom, runBin, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';

const scriptsDir = `${runDir}/scripts`;

// An executable script in the instance's scripts directory; returns its name.
function script(name, body = '#!/bin/sh\ncat\n') {
  writeFileSync(`${scriptsDir}/${name}`, body);
  chmodSync(`${scriptsDir}/${name}`, 0o755);
  return name;
}

const FORM_DEFAULTS = {
  name: 'handler', events_id: 'clients.create', task: 'http://127.0.0.1:5000/api', status: 'enabled',
  priority: '1', timeout: '5', retry_enabled: '1', retry_schedule: '', retry_max_attempts: '',
  secret_action: 'keep', return: '',
};

async function createHandler(client, fields) {
  const r = await client.submit('/handlers/new', '/handlers/new', { ...FORM_DEFAULTS, ...fields });
  const id = r.status === 303 ? Number(new URL(r.location, 'http://x').searchParams.get('id')) : undefined;
  return { ...r, id };
}

// Insert straight into the table, for list tests that need many rows.
function insertHandler({ name, event = 'clients.create', task = 'http://127.0.0.1:9/x', type = 'http',
  status = 'enabled', priority = 1 }) {
  sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
       VALUES ('${name}', '${event}', '${task}', '${type}', '${status}', ${priority}, UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  return Number(sqlValue(`SELECT MAX(id) FROM handlers WHERE name='${name}'`));
}

const rowIds = (html) => [...html.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
const fieldErrors = (html) => Object.fromEntries(
  [...html.matchAll(/<p class="field-error" id="error-([a-z_]+)">([^<]*)<\/p>/g)].map((m) => [m[1], m[2]]));
const handlerCount = () => Number(sqlValue('SELECT COUNT(*) FROM handlers'));
const version = () => Number(sqlValue('SELECT handlers_version FROM cache_state WHERE id = 1'));
const tableDigest = () => sqlValue(`SELECT MD5(COALESCE(GROUP_CONCAT(CONCAT_WS('|', id, name, events_id, task,
  status, priority, timeout_ms, retry_enabled, COALESCE(secret, '-')) ORDER BY id), '')) FROM handlers`);

// Publish what is there now: the Cache Manager restart, from its command line.
function publish() {
  const r = runBin('prov-cache', ['reload', '--by', 'panel-test']);
  assert.equal(r.status, 0, r.stderr);
}

let admin;
before(async () => {
  sql('DELETE FROM handlers');
  admin = await clientAs('admin');
});
// Leave no handlers behind for the test files that run after this one.
after(() => sql('DELETE FROM handlers'));

test('an admin creates an HTTP and a script handler; they are listed in priority order', async () => {
  sql('DELETE FROM handlers');
  script('provision.sh');
  const before = version();
  const web = await createHandler(admin, { name: 'CRM sync', task: '120.0.0.1:5000/api', priority: '5' });
  assert.equal(web.status, 303);
  assert.match(web.location, /^\/handlers\?done=created&id=\d+$/);
  const local = await createHandler(admin, {
    name: 'Local provisioning', events_id: 'clients.subscriptions.activate', task: 'provision.sh', priority: '2',
    timeout: '2.5', retry_enabled: '0', retry_schedule: '10s, 1m', retry_max_attempts: '3',
  });
  assert.equal(local.status, 303);
  assert.equal(version(), before + 2, 'each write bumps handlers_version');

  const rows = sql(`SELECT name, events_id, task, task_type, status, priority, timeout_ms, retry_enabled,
    COALESCE(retry_schedule, '-'), COALESCE(retry_max_attempts, '-'), secret IS NULL FROM handlers ORDER BY id`);
  assert.deepEqual(rows[0], ['CRM sync', 'clients.create', 'http://120.0.0.1:5000/api', 'http', 'enabled', '5',
    '5000', '1', '-', '-', '1']);
  const real = sqlValue(`SELECT task FROM handlers WHERE id=${local.id}`);
  assert.match(real, /\/scripts\/provision\.sh$/);
  assert.deepEqual(rows[1].slice(1), ['clients.subscriptions.activate', real, 'script', 'enabled', '2', '2500', '0',
    '10s,1m', '3', '1']);

  const list = await admin.get(web.location);
  assert.equal(list.status, 200);
  assert.deepEqual(rowIds(list.text), [local.id, web.id], 'priority 2 before priority 5');
  assert.match(list.text, new RegExp(`id="flash">Handler #${web.id} created\\.<`));
  assert.match(list.text, /id="result-count">2 handlers</);
  assert.match(list.text, /<span class="badge badge-script">script<\/span> <code>[^<]*provision\.sh<\/code>/);
  assert.match(list.text, /<span class="event-group">Clients Packages<\/span> activate/);
  assert.match(list.text, new RegExp(`href="/logs\\?handler=${web.id}"`), 'logs icon links to the handler\'s logs');
  assert.match(list.text, /id="pending-notice"[\s\S]*Cache Manager[\s\S]*href="\/scheduler"/);
});

test('the pending notice follows the published generation', async () => {
  await createHandler(admin, { name: uniqueName('pending') });
  publish();
  let list = await admin.get('/handlers');
  assert.doesNotMatch(list.text, /id="pending-notice"/, 'nothing pending right after a publish');
  const generation = sqlValue('SELECT generation FROM cache_state WHERE id = 1');
  const id = Number(sqlValue('SELECT MIN(id) FROM handlers'));
  const status = sqlValue(`SELECT status FROM handlers WHERE id=${id}`);
  const toggled = await admin.submit('/handlers', `/handlers/${id}/status`,
    { to: status === 'enabled' ? 'disabled' : 'enabled' });
  assert.equal(toggled.status, 303);
  list = await admin.get('/handlers');
  assert.match(list.text, /id="pending-notice"/, 'an edit after the publish is pending again');
  assert.match(list.text, new RegExp(`id="published-at">Running now: generation ${generation}, published [0-9-]+ [0-9:]+ UTC by panel-test\\.<`));
});

test('every bad input is refused with a message next to its field, nothing saved', async () => {
  script('ok.sh');
  mkdirSync(`${scriptsDir}/sub`, { recursive: true });
  try { symlinkSync('/bin/sh', `${scriptsDir}/sneaky.sh`); } catch { /* left from an earlier run */ }
  const cases = [
    [{ name: '' }, 'name', /The name is required/],
    [{ name: '   ' }, 'name', /The name is required/],
    [{ name: 'x'.repeat(10 * 1024) }, 'name', /longer than 255 characters/],
    [{ events_id: 'clients.explode' }, 'events_id', /Unknown event; valid events are: clients\.create, .*clients\.subscriptions\.close/],
    [{ events_id: '' }, 'events_id', /Choose an event/],
    [{ priority: '0' }, 'priority', /whole number from 1/],
    [{ priority: '-1' }, 'priority', /whole number from 1/],
    [{ priority: 'abc' }, 'priority', /whole number from 1/],
    [{ priority: '' }, 'priority', /whole number from 1/],
    [{ task: 'ftp://x' }, 'task', /Only http:\/\/ and https:\/\/ URLs can be handlers, not ftp:\/\//],
    [{ task: '../../bin/sh' }, 'task', /must be inside the scripts directory/],
    [{ task: '/bin/sh' }, 'task', /must be inside the scripts directory/],
    [{ task: 'sneaky.sh' }, 'task', /resolves outside the scripts directory \S+ \(through a symbolic link\)/],
    [{ task: 'no-such.sh' }, 'task', /no such script/],
    [{ task: 'sub' }, 'task', /not a regular file/],
    [{ task: '' }, 'task', /The task is required/],
    [{ task: 'http://exa mple.com/' }, 'task', /must not contain spaces/],
    [{ status: 'paused' }, 'status', /enabled, disabled or archived/],
    [{ timeout: '0' }, 'timeout', /seconds from 0\.1 to 300/],
    [{ retry_schedule: '5 minutes' }, 'retry_schedule', /not valid/],
    [{ retry_max_attempts: '0' }, 'retry_max_attempts', /whole number from 1 to 100/],
    [{ secret_action: 'show' }, 'secret_action', /keep, generate or remove/],
  ];
  const count = handlerCount();
  const digest = tableDigest();
  for (const [fields, field, message] of cases) {
    const r = await createHandler(admin, { name: 'valid name', ...fields });
    assert.equal(r.status, 422, `${JSON.stringify(fields).slice(0, 60)} is refused`);
    const errors = fieldErrors(r.text);
    assert.deepEqual(Object.keys(errors), [field], `only ${field} is marked for ${JSON.stringify(fields).slice(0, 60)}`);
    assert.match(errors[field], message);
    assert.match(r.text, /id="form-errors">The handler was not saved: correct the field marked below\./);
    assert.match(r.text, new RegExp(`(name="${field}"|role="radiogroup")[^>]*aria-invalid="true" aria-describedby="error-${field}"`));
  }
  // The operator's values come back, escaped, for another try.
  const several = await createHandler(admin, { name: '<img src=x onerror=alert(1)>', priority: 'abc', task: 'ftp://x', timeout: '9.5' });
  assert.equal(several.status, 422);
  assert.deepEqual(Object.keys(fieldErrors(several.text)).sort(), ['priority', 'task']);
  assert.match(several.text, /id="form-errors">The handler was not saved: correct the 2 fields marked below\./);
  assert.match(several.text, /name="name" type="text" value="&lt;img src=x onerror=alert\(1\)&gt;"/);
  assert.match(several.text, /name="priority" type="text" inputmode="numeric" value="abc"/);
  assert.match(several.text, /name="task" type="text" value="ftp:\/\/x"/);
  assert.match(several.text, /name="timeout" type="text" inputmode="decimal" value="9\.5"/);
  assert.ok(!several.text.includes('<img src=x'), 'markup in a value is never echoed raw');
  assert.equal(handlerCount(), count, 'nothing was inserted');
  assert.equal(tableDigest(), digest);
});

test('HTML in a name is stored as text and shown escaped everywhere', async () => {
  const evil = `<script>alert("x")</script><b onmouseover=alert(1)>bold</b> & 'q'`;
  const r = await createHandler(admin, { name: evil, priority: '1' });
  assert.equal(r.status, 303);
  assert.equal(sqlValue(`SELECT name FROM handlers WHERE id=${r.id}`), evil);
  const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt; &amp; &#39;q&#39;';
  for (const page of ['/handlers', `/handlers/${r.id}`, `/handlers/${r.id}/delete`]) {
    const html = (await admin.get(page)).text;
    assert.ok(html.includes(escaped), `${page} shows the name escaped`);
    assert.ok(!html.includes('<script>alert'), `${page} never carries the raw markup`);
    assert.ok(!html.includes('<b onmouseover'), `${page} never carries the raw markup`);
  }
});

test('POSTs without or with a wrong CSRF token are refused and change nothing', async () => {
  const target = await createHandler(admin, { name: uniqueName('csrf') });
  const digest = tableDigest();
  const before = version();
  const writes = [
    ['/handlers/new', { ...FORM_DEFAULTS, name: 'forged' }],
    [`/handlers/${target.id}`, { ...FORM_DEFAULTS, name: 'forged' }],
    [`/handlers/${target.id}/status`, { to: 'disabled' }],
    [`/handlers/${target.id}/delete`, {}],
  ];
  for (const [path, form] of writes) {
    const missing = await admin.post(path, form);
    assert.equal(missing.status, 403, `${path} without a token`);
    assert.match(missing.text, /form has expired or was not sent by this panel/);
    const wrong = await admin.post(path, { ...form, csrf_token: 'b'.repeat(64) });
    assert.equal(wrong.status, 403, `${path} with a wrong token`);
    // Another user's valid token is still the wrong one.
    const other = await clientAs('admin');
    const foreign = csrfFrom((await other.get('/handlers')).text);
    assert.equal((await admin.post(path, { ...form, csrf_token: foreign })).status, 403);
  }
  assert.equal(tableDigest(), digest);
  assert.equal(version(), before);
});

test('a viewer reads everything and every write is refused with 403', async () => {
  const target = await createHandler(admin, { name: uniqueName('viewer-target') });
  const viewer = await clientAs('viewer');
  const list = await viewer.get('/handlers');
  assert.equal(list.status, 200);
  assert.ok(rowIds(list.text).includes(target.id));
  assert.doesNotMatch(list.text, /id="new-handler"/, 'no New Handler button');
  assert.doesNotMatch(list.text, /class="inline toggle-form"/, 'status icons are not buttons');
  assert.doesNotMatch(list.text, /delete-link/, 'no delete icons');
  const form = await viewer.get(`/handlers/${target.id}`);
  assert.equal(form.status, 200);
  assert.match(form.text, /<fieldset class="plain" disabled>/);
  assert.match(form.text, /id="read-only"/);
  assert.doesNotMatch(form.text, /id="save"/);

  const digest = tableDigest();
  const before = version();
  const token = csrfFrom(list.text);
  const attempts = [
    ['GET', '/handlers/new'],
    ['GET', `/handlers/${target.id}/delete`],
    ['POST', '/handlers/new', { ...FORM_DEFAULTS, name: 'by viewer' }],
    ['POST', `/handlers/${target.id}`, { ...FORM_DEFAULTS, name: 'renamed by viewer' }],
    ['POST', `/handlers/${target.id}/status`, { to: 'disabled' }],
    ['POST', `/handlers/${target.id}/delete`, {}],
  ];
  for (const [method, path, fields] of attempts) {
    const r = method === 'GET' ? await viewer.get(path) : await viewer.post(path, { ...fields, csrf_token: token });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.match(r.text, /Your role does not allow this action\./);
  }
  assert.equal(tableDigest(), digest, 'nothing changed in the database');
  assert.equal(version(), before);
});

test('status icon toggles enabled <-> disabled; archived only through the form', async () => {
  const h = await createHandler(admin, { name: uniqueName('toggle') });
  const off = await admin.submit('/handlers', `/handlers/${h.id}/status`, { to: 'disabled', return: 'sort=name&type=http' });
  assert.equal(off.status, 303);
  assert.equal(off.location, `/handlers?type=http&sort=name&done=disabled&id=${h.id}`, 'back to the same view');
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${h.id}`), 'disabled');
  const v = version();
  const again = await admin.submit('/handlers', `/handlers/${h.id}/status`, { to: 'disabled' });
  assert.equal(again.status, 303, 'asking for the status it has is fine (double click)');
  assert.equal(version(), v, 'and is not a change');
  await admin.submit('/handlers', `/handlers/${h.id}/status`, { to: 'enabled' });
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${h.id}`), 'enabled');

  const toArchived = await admin.submit('/handlers', `/handlers/${h.id}/status`, { to: 'archived' });
  assert.equal(toArchived.status, 400);
  const archived = await createHandler(admin, { name: uniqueName('archived'), status: 'archived' });
  const refused = await admin.submit('/handlers', `/handlers/${archived.id}/status`, { to: 'enabled' });
  assert.equal(refused.status, 409);
  assert.match(refused.text, /archived: change its status in the edit form/);
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${archived.id}`), 'archived');
  assert.equal((await admin.submit('/handlers', '/handlers/999999/status', { to: 'enabled' })).status, 404);
  // A hostile return value never leaves the list: it is rebuilt from checked values.
  const hostile = await admin.submit('/handlers', `/handlers/${h.id}/status`,
    { to: 'disabled', return: 'event=//evil.example&sort=x%0d%0aSet-Cookie:a=b&page=-3' });
  assert.equal(hostile.location, `/handlers?done=disabled&id=${h.id}`);
});

test('edit re-renders invalid input, saves valid input, and 404s for unknown ids', async () => {
  script('edit.sh');
  const h = await createHandler(admin, { name: uniqueName('edit'), priority: '7' });
  const page = await admin.get(`/handlers/${h.id}?return=status%3Ddisabled`);
  assert.equal(page.status, 200);
  assert.match(page.text, /name="priority" type="text" inputmode="numeric" value="7"/);
  assert.match(page.text, /<option value="clients.create" selected>Clients &rsaquo; create<\/option>/);
  assert.match(page.text, /name="return" value="status=disabled"/);
  const digest = tableDigest();
  const bad = await admin.post(`/handlers/${h.id}`, { ...FORM_DEFAULTS, csrf_token: csrfFrom(page.text), name: 'x', priority: '0' });
  assert.equal(bad.status, 422);
  assert.deepEqual(Object.keys(fieldErrors(bad.text)), ['priority']);
  assert.match(bad.text, /name="name" type="text" value="x"/);
  assert.equal(tableDigest(), digest);

  const ok = await admin.post(`/handlers/${h.id}`, {
    ...FORM_DEFAULTS, csrf_token: csrfFrom(page.text), name: 'Edited', events_id: 'clients.accounts.delete',
    task: 'edit.sh', status: 'archived', priority: '3', timeout: '0.25', return: 'status=archived',
  });
  assert.equal(ok.status, 303);
  assert.equal(ok.location, `/handlers?status=archived&done=archived&id=${h.id}`);
  const archivedView = await admin.get(ok.location);
  assert.match(archivedView.text, new RegExp(`id="flash">Handler #${h.id} archived\\.</p>`), 'already in view: no link');
  const defaultView = await admin.get(`/handlers?sort=name&done=archived&id=${h.id}`);
  assert.match(defaultView.text, new RegExp(`id="flash">Handler #${h.id} archived: it is listed under <a href="/handlers\\?status=archived&amp;sort=name" id="flash-archived">Status: archived</a>\\.</p>`));
  assert.deepEqual(sql(`SELECT name, events_id, task_type, status, priority, timeout_ms FROM handlers WHERE id=${h.id}`)[0],
    ['Edited', 'clients.accounts.delete', 'script', 'archived', '3', '250']);
  const shown = await admin.get(`/handlers/${h.id}`);
  assert.match(shown.text, /name="timeout" type="text" inputmode="decimal" value="0.25"/);

  for (const path of ['/handlers/999999', '/handlers/999999/delete']) {
    const missing = await admin.get(path);
    assert.equal(missing.status, 404, path);
  }
  assert.equal((await admin.post('/handlers/999999', { ...FORM_DEFAULTS, csrf_token: csrfFrom(page.text) })).status, 404);
  assert.equal((await admin.get('/handlers/0')).status, 404);
  assert.equal((await admin.get('/handlers/12abc')).status, 404);
  assert.equal((await admin.get('/handlers/99999999999999999999')).status, 404);
});

test('delete asks first, then removes the handler and keeps its execution logs', async () => {
  const name = uniqueName('doomed');
  const h = await createHandler(admin, { name });
  sql(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, event_uid, delivery_id, request_body)
       VALUES (UTC_TIMESTAMP(6), 'success', 'clients.create', ${h.id}, '${name}', 'uid-1',
               '00000000-0000-4000-8000-000000000001', '{}')`);
  const confirm = await admin.get(`/handlers/${h.id}/delete?return=sort%3Did`);
  assert.equal(confirm.status, 200);
  assert.match(confirm.text, new RegExp(`Delete handler #${h.id}\\?`));
  assert.match(confirm.text, /execution logs stay readable/);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${h.id}`), '1', 'the confirmation page deletes nothing');
  const before = version();
  const r = await admin.post(`/handlers/${h.id}/delete`, { csrf_token: csrfFrom(confirm.text), return: 'sort=id' });
  assert.equal(r.status, 303);
  assert.equal(r.location, `/handlers?sort=id&done=deleted&id=${h.id}`);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${h.id}`), '0');
  assert.equal(version(), before + 1);
  assert.deepEqual(sql(`SELECT handler_id, handler_name FROM exec_logs WHERE handler_id=${h.id}`), [[String(h.id), name]]);
  const twice = await admin.post(`/handlers/${h.id}/delete`, { csrf_token: csrfFrom(confirm.text) });
  assert.equal(twice.status, 404);
});

// The POST saves and redirects to the secret page, which shows it once.
async function followToSecret(client, posted) {
  assert.equal(posted.status, 303, posted.text);
  const id = Number(/^\/handlers\/(\d+)\/secret(\?return=[^&]*)?$/.exec(posted.location)?.[1]);
  assert.ok(id > 0, `redirected to the secret page: ${posted.location}`);
  const page = await client.get(posted.location);
  assert.equal(page.status, 200);
  return { id, page, secret: /id="secret-value">(whsec_[A-Za-z0-9+/]{43}=)</.exec(page.text)?.[1] };
}

test('a signing secret is shown once, never again, and can be regenerated or removed', async () => {
  const name = uniqueName('signed');
  const posted = await admin.submit('/handlers/new', '/handlers/new',
    { ...FORM_DEFAULTS, name, secret_action: 'generate', return: 'sort=name' });
  assert.match(posted.location, /\/secret\?return=sort%3Dname$/, 'the list view travels along');
  const waiting = sqlValue(`SELECT COUNT(*) FROM session_flash f JOIN handlers h ON h.id = f.handler_id
    WHERE h.name = '${name}' AND f.secret = h.secret`);
  assert.equal(waiting, '1', 'kept server-side for the session until shown');
  const { id, page: created, secret } = await followToSecret(admin, posted);
  assert.ok(secret, 'secret shown');
  assert.match(created.text, /not shown again/);
  assert.match(created.text, /href="\/handlers\?sort=name" id="secret-done"/);
  assert.equal(sqlValue(`SELECT id FROM handlers WHERE secret='${secret}'`), String(id), 'stored');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM session_flash WHERE handler_id = ${id}`), '0', 'deleted once shown');
  // A reload (the GET again) neither shows it nor saves anything.
  const again = await admin.get(`/handlers/${id}/secret`);
  assert.equal(again.status, 200);
  assert.ok(!again.text.includes(secret));
  assert.match(again.text, /id="secret-shown">The signing secret of <strong>[^<]+<\/strong>\s+was already shown/);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE name = '${name}'`), '1', 'no second handler');
  const form = await admin.get(`/handlers/${id}`);
  assert.ok(!form.text.includes(secret), 'the form never shows it');
  assert.match(form.text, /A secret is set/);
  const kept = await admin.post(`/handlers/${id}`, { ...FORM_DEFAULTS, csrf_token: csrfFrom(form.text), name: 'still signed' });
  assert.equal(kept.status, 303);
  assert.equal(sqlValue(`SELECT secret FROM handlers WHERE id=${id}`), secret, 'keep keeps it');
  const regenerated = await admin.post(`/handlers/${id}`, { ...FORM_DEFAULTS, csrf_token: csrfFrom(form.text), secret_action: 'generate' });
  const { secret: fresh } = await followToSecret(admin, regenerated);
  assert.ok(fresh && fresh !== secret);
  assert.equal(sqlValue(`SELECT secret FROM handlers WHERE id=${id}`), fresh);
  const removed = await admin.post(`/handlers/${id}`, { ...FORM_DEFAULTS, csrf_token: csrfFrom(form.text), secret_action: 'remove' });
  assert.equal(removed.status, 303);
  assert.equal(sqlValue(`SELECT secret IS NULL FROM handlers WHERE id=${id}`), '1');
  // Another admin's session never sees a secret kept for this one.
  const other = await clientAs('admin');
  const regeneratedForm = await admin.get(`/handlers/${id}`);
  const pending = await admin.post(`/handlers/${id}`, { ...FORM_DEFAULTS, name, csrf_token: csrfFrom(regeneratedForm.text), secret_action: 'generate' });
  const foreign = await other.get(pending.location);
  assert.match(foreign.text, /already shown/);
  assert.ok(!/id="secret-value"/.test(foreign.text));
  assert.equal((await followToSecret(admin, pending)).secret, sqlValue(`SELECT secret FROM handlers WHERE id=${id}`));
  // A viewer cannot open the page at all; logging out drops what was kept.
  const viewer = await clientAs('viewer');
  assert.equal((await viewer.get(`/handlers/${id}/secret`)).status, 403);
  const otherForm = await other.get(`/handlers/${id}`);
  await other.post(`/handlers/${id}`, { ...FORM_DEFAULTS, name, csrf_token: csrfFrom(otherForm.text), secret_action: 'generate' });
  assert.equal(sqlValue(`SELECT COUNT(*) FROM session_flash WHERE handler_id = ${id}`), '1');
  await other.post('/logout', { csrf_token: csrfFrom(otherForm.text) });
  assert.equal(sqlValue(`SELECT COUNT(*) FROM session_flash WHERE handler_id = ${id}`), '0', 'gone with the session');
  const logs = readFileSync(`${runDir}/apache/error.log`, 'utf8') + readFileSync(`${runDir}/apache/access.log`, 'utf8');
  assert.ok(!logs.includes(secret) && !logs.includes(fresh), 'secrets never reach the logs');
});

test('Advanced Search filters by event, type and status, alone and combined', async () => {
  sql('DELETE FROM handlers');
  const ids = {
    createHttp: insertHandler({ name: 'a', event: 'clients.create', priority: 1 }),
    createScript: insertHandler({ name: 'b', event: 'clients.create', type: 'script', task: '/x.sh', priority: 2 }),
    zeroHttpOff: insertHandler({ name: 'c', event: 'clients.balance_zero', status: 'disabled', priority: 3 }),
    zeroScriptArch: insertHandler({ name: 'd', event: 'clients.balance_zero', type: 'script', task: '/y.sh', status: 'archived', priority: 4 }),
    renewHttpArch: insertHandler({ name: 'e', event: 'clients.subscriptions.renew', status: 'archived', priority: 5 }),
  };
  const expect = async (query, wanted, count = wanted.length) => {
    const r = await admin.get(`/handlers${query}`);
    assert.equal(r.status, 200, query);
    assert.deepEqual(rowIds(r.text), wanted.map((k) => ids[k]), query);
    assert.match(r.text, new RegExp(`id="result-count">${count} handlers?<`), query);
    return r;
  };
  await expect('', ['createHttp', 'createScript', 'zeroHttpOff']);
  await expect('?status=', ['createHttp', 'createScript', 'zeroHttpOff']);
  await expect('?status=archived', ['zeroScriptArch', 'renewHttpArch']);
  await expect('?status=enabled', ['createHttp', 'createScript']);
  await expect('?status=disabled', ['zeroHttpOff']);
  await expect('?event=clients.create', ['createHttp', 'createScript']);
  await expect('?event=clients.balance_zero', ['zeroHttpOff']);
  await expect('?type=script', ['createScript']);
  await expect('?type=http', ['createHttp', 'zeroHttpOff']);
  await expect('?event=clients.balance_zero&status=archived', ['zeroScriptArch']);
  await expect('?event=clients.balance_zero&type=script&status=archived', ['zeroScriptArch']);
  await expect('?type=http&status=archived', ['renewHttpArch']);
  const none = await expect('?event=clients.accounts.update', []);
  assert.match(none.text, /No handler matches these filters/);
  // The drop-down shows the active filters; Reset keeps only sorting and page size.
  const r = await expect('?event=clients.balance_zero&type=script&status=archived&sort=name&size=10', ['zeroScriptArch']);
  assert.match(r.text, /<option value="clients.balance_zero" selected>Clients &rsaquo; balance became &lt;=0<\/option>/);
  assert.match(r.text, /<option value="script" selected>script<\/option>/);
  assert.match(r.text, /<option value="archived" selected>Archived<\/option>/);
  assert.match(r.text, /id="search-reset" href="\/handlers\?sort=name&amp;size=10"/);
  assert.match(r.text, /id="active-filters"/);
  // All 15 events are offered, grouped.
  const groups = [...r.text.matchAll(/<optgroup label="([^"]+)">/g)].map((m) => m[1]);
  assert.deepEqual(groups, ['Clients', 'Accounts', 'Clients Packages']);
  assert.equal([...r.text.matchAll(/<option value="clients\.[a-z_.]+"/g)].length, 15);
  // Unknown values are named and dropped, not a crash or an empty page.
  const bad = await admin.get('/handlers?event=clients.nope&type=ftp');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /id="list-error">Unknown (event|handler type)/);
  assert.deepEqual(rowIds(bad.text), [ids.createHttp, ids.createScript, ids.zeroHttpOff]);
});

test('every column sorts both ways; unknown sort values fall back to priority', async () => {
  sql('DELETE FROM handlers');
  const a = insertHandler({ name: 'Bravo', event: 'clients.subscriptions.close', task: 'http://b/', priority: 2 });
  const b = insertHandler({ name: 'alpha', event: 'clients.create', type: 'script', task: '/z.sh', status: 'disabled', priority: 3 });
  const c = insertHandler({ name: 'Charlie', event: 'clients.accounts.create', task: 'http://a/', priority: 1 });
  const order = async (q) => rowIds((await admin.get(`/handlers?${q}`)).text);
  assert.deepEqual(await order(''), [c, a, b]);
  assert.deepEqual(await order('sort=priority&dir=desc'), [b, a, c]);
  assert.deepEqual(await order('sort=id'), [a, b, c]);
  assert.deepEqual(await order('sort=id&dir=desc'), [c, b, a]);
  assert.deepEqual(await order('sort=name'), [b, a, c], 'case-insensitive names');
  assert.deepEqual(await order('sort=name&dir=desc'), [c, a, b]);
  assert.deepEqual(await order('sort=event'), [b, c, a], 'catalog order: Clients, Accounts, Clients Packages');
  assert.deepEqual(await order('sort=event&dir=desc'), [a, c, b]);
  assert.deepEqual(await order('sort=handler'), [c, a, b], 'HTTP before script, then by task');
  assert.deepEqual(await order('sort=handler&dir=desc'), [b, a, c]);
  assert.deepEqual(await order('sort=status'), [c, a, b], 'enabled before disabled');
  assert.deepEqual(await order('sort=status&dir=desc'), [b, c, a]);
  assert.deepEqual(await order("sort=name;DROP TABLE handlers&dir=sideways"), [c, a, b]);
  assert.equal(handlerCount(), 3);
  const page = await admin.get('/handlers?sort=name&event=clients.create');
  assert.match(page.text, /aria-sort="ascending"><a href="\/handlers\?event=clients.create&amp;sort=name&amp;dir=desc" class="sort sort-asc" data-sort="name">/);
});

test('pages: size choice, numbered links, a count, and clamping', async () => {
  sql('DELETE FROM handlers');
  for (let i = 1; i <= 23; i++) insertHandler({ name: `h${String(i).padStart(2, '0')}`, priority: i });
  const first = await admin.get('/handlers?size=10');
  assert.equal(rowIds(first.text).length, 10);
  assert.match(first.text, /id="result-range">Showing 1&ndash;10 of 23</);
  assert.match(first.text, /id="result-count">23 handlers</);
  assert.match(first.text, /<a href="\/handlers\?size=10&amp;page=2" rel="next"/);
  assert.match(first.text, /<option value="10" selected>10<\/option>/);
  const last = await admin.get('/handlers?size=10&page=3');
  assert.equal(rowIds(last.text).length, 3);
  assert.match(last.text, /Showing 21&ndash;23 of 23/);
  assert.match(last.text, /<span class="current" aria-current="page">3<\/span>/);
  const past = await admin.get('/handlers?size=10&page=99');
  assert.match(past.text, /Showing 21&ndash;23 of 23/, 'a page past the end shows the last one');
  const odd = await admin.get('/handlers?size=7&page=abc');
  assert.equal(rowIds(odd.text).length, 23, 'an unknown size falls back to the default (25)');
  const fifty = await admin.get('/handlers?size=50&sort=name&dir=desc');
  assert.equal(rowIds(fifty.text)[0], Number(sqlValue("SELECT id FROM handlers WHERE name='h23'")));
  assert.doesNotMatch(fifty.text, /id="pager"/, 'one page needs no pager');
});

test('the health hint shows the last execution', async () => {
  sql('DELETE FROM handlers');
  const ok = insertHandler({ name: 'healthy', priority: 1 });
  const bad = insertHandler({ name: 'failing', priority: 2 });
  const never = insertHandler({ name: 'new', priority: 3 });
  sql(`UPDATE handlers SET last_status='success', last_run_at=UTC_TIMESTAMP(6) - INTERVAL 5 MINUTE WHERE id=${ok}`);
  sql(`UPDATE handlers SET last_status='fail', last_run_at=UTC_TIMESTAMP(6) - INTERVAL 3 HOUR,
       consecutive_failures=4, last_error='HTTP 502 <Bad Gateway>' WHERE id=${bad}`);
  const html = (await admin.get('/handlers')).text;
  const cell = (id) => new RegExp(`<tr data-id="${id}"[\\s\\S]*?</tr>`).exec(html)[0];
  assert.match(cell(ok), /class="health health-success"[^>]*>Last run OK &middot; 5 min ago</);
  assert.match(cell(bad), /class="health health-fail" title="Last run [0-9-]+ [0-9:]+ UTC: HTTP 502 &lt;Bad Gateway&gt;">Failing \(4 in a row\) &middot; 3 h ago</);
  assert.match(cell(never), /Not run yet/);
  const form = (await admin.get(`/handlers/${bad}`)).text;
  assert.match(form, /<dt>Failures in a row<\/dt><dd>4<\/dd>/);
  assert.match(form, /HTTP 502 &lt;Bad Gateway&gt;/);
});

test('handler pages carry the security headers and never leak internals', async () => {
  const h = insertHandler({ name: 'headers' });
  for (const path of ['/handlers', '/handlers/new', `/handlers/${h}`, `/handlers/${h}/delete`, '/handlers?event=%00%27']) {
    const r = await admin.get(path);
    assert.match(r.headers.get('content-security-policy'), /default-src 'none'/, path);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.doesNotMatch(r.text, /SQL|mysql|MariaDB|Traceback|NEOERR/i, path);
  }
  const anonymous = new Client();
  assert.equal((await anonymous.get('/handlers/new')).location, '/login');
  assert.equal((await anonymous.post(`/handlers/${h}/delete`, {})).status, 401);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${h}`), '1');
});

test('two admins edit one handler: the second save is a conflict that shows the first one, never a silent overwrite', async () => {
  const h = await createHandler(admin, { name: uniqueName('rev'), priority: '4' });
  const other = await clientAs('admin');
  const mine = await admin.get(`/handlers/${h.id}`);
  const theirs = await other.get(`/handlers/${h.id}`);
  const revision = /name="revision" value="(\d+)"/.exec(mine.text)[1];
  assert.equal(/name="revision" value="(\d+)"/.exec(theirs.text)[1], revision);
  // They save first: another name and priority.
  const first = await other.post(`/handlers/${h.id}`, {
    ...FORM_DEFAULTS, csrf_token: csrfFrom(theirs.text), revision, name: 'Their name', priority: '9',
  });
  assert.equal(first.status, 303);
  // My save, made on the revision I opened, is refused with what they left.
  const digest = tableDigest();
  const mineSaved = await admin.post(`/handlers/${h.id}`, {
    ...FORM_DEFAULTS, csrf_token: csrfFrom(mine.text), revision, name: 'My name', priority: '4', timeout: '7',
  });
  assert.equal(mineSaved.status, 409);
  assert.equal(tableDigest(), digest, 'nothing changed');
  assert.match(mineSaved.text, new RegExp(`id="form-conflict">\\s*<p>Not saved: someone else saved this handler after you opened it \\(now revision ${Number(revision) + 1},`));
  assert.match(mineSaved.text, /<dt>Name<\/dt><dd>Their name<\/dd>/);
  assert.match(mineSaved.text, /<dt>Priority<\/dt><dd>9<\/dd><dt>Timeout \(s\)<\/dt><dd>5<\/dd><\/dl>/);
  assert.doesNotMatch(mineSaved.text, /<dt>Event<\/dt>/, 'the same value on both sides is not listed');
  assert.match(mineSaved.text, /name="name" type="text" value="My name"/, 'my values stay in the form');
  assert.match(mineSaved.text, new RegExp(`name="revision" value="${Number(revision) + 1}"`));
  // Saving again replaces theirs, knowingly.
  const again = await admin.post(`/handlers/${h.id}`, {
    ...FORM_DEFAULTS, csrf_token: csrfFrom(mineSaved.text), revision: String(Number(revision) + 1), name: 'My name', priority: '4', timeout: '7',
  });
  assert.equal(again.status, 303);
  assert.deepEqual(sql(`SELECT name, priority, timeout_ms, revision FROM handlers WHERE id=${h.id}`)[0],
    ['My name', '4', '7000', String(Number(revision) + 2)]);
  // A bad revision is a field error, like any other.
  const bad = await admin.post(`/handlers/${h.id}`, { ...FORM_DEFAULTS, csrf_token: csrfFrom(mine.text), revision: 'x' });
  assert.equal(bad.status, 422);
});
