// Browser: an operator drives the Provisioning API pages in Chromium, as in
// the seed: create handlers, search, sort, page, toggle, archive, edit,
// delete, refused input; a viewer reads; screenshots of list and form.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';

let browser;
let context;
let page;
const problems = []; // script errors and CSP violations, on every page

function watch(p) {
  p.on('pageerror', (e) => problems.push(e.message));
  p.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
  p.on('dialog', (d) => { if (d.type() === 'alert') problems.push(`alert: ${d.message()}`); });
}

async function login(p, role) {
  const name = uniqueName(`browser-${role}`);
  const password = createUser(name, role);
  await p.goto(`${baseUrl}/login`);
  await p.fill('#username', name);
  await p.fill('#password', password);
  await p.click('button[type=submit]');
  await p.waitForURL(/\/handlers$/);
}

const shot = (p, name) => p.screenshot({ path: path.join(outputDir, name), fullPage: true });
const ids = (p) => p.$$eval('#handlers tbody tr[data-id]', (rows) => rows.map((r) => Number(r.dataset.id)));
const idOf = (name) => Number(sqlValue(`SELECT id FROM handlers WHERE name='${name}'`));

async function fillForm(p, { name, event, task, status, priority }) {
  if (name !== undefined) await p.fill('#f-name', name);
  if (event !== undefined) await p.selectOption('#f-event', event);
  if (task !== undefined) await p.fill('#f-task', task);
  if (status !== undefined) await p.selectOption('#f-status', status);
  if (priority !== undefined) await p.fill('#f-priority', priority);
}

async function search(p, { event = '', type = '', status = '' }) {
  await p.click('#advanced-search summary');
  await p.selectOption('#search-event', event);
  await p.selectOption('#search-type', type);
  await p.selectOption('#search-status', status);
  await Promise.all([p.waitForNavigation(), p.click('#search-submit')]);
}

before(async () => {
  sql('DELETE FROM handlers');
  writeFileSync(`${runDir}/scripts/notify.py`, '#!/usr/bin/env python3\nimport sys\nsys.stdout.write(sys.stdin.read())\n');
  chmodSync(`${runDir}/scripts/notify.py`, 0o755);
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  watch(page);
  await login(page, 'admin');
});
after(async () => {
  await browser?.close();
  sql('DELETE FROM handlers'); // leave no handlers behind for later test files
});

test('create an HTTP and a script handler and see them in priority order', async () => {
  await page.click('#new-handler');
  await page.waitForURL(/\/handlers\/new$/);
  await fillForm(page, { name: 'CRM sync', event: 'clients.create', task: '127.0.0.1:5000/api', priority: '5' });
  await shot(page, 'panel-form.png');
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.match(await page.textContent('#flash'), /^Handler #\d+ created\.$/);
  assert.equal(new URL(page.url()).search, '', 'the one-time message is taken out of the address');

  await page.click('#new-handler');
  await fillForm(page, { name: 'Local notify', event: 'clients.subscriptions.activate', task: 'notify.py', priority: '1' });
  await page.fill('#f-timeout', '2.5');
  await page.check('#f-retry-off');
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.deepEqual(await ids(page), [idOf('Local notify'), idOf('CRM sync')]);
  const scriptRow = page.locator(`tr[data-id="${idOf('Local notify')}"]`);
  assert.equal(await scriptRow.locator('.badge').textContent(), 'script');
  assert.match(await scriptRow.locator('td.task code').textContent(), /\/scripts\/notify\.py$/);
  assert.equal(await page.locator(`tr[data-id="${idOf('CRM sync')}"] td.task code`).textContent(), 'http://127.0.0.1:5000/api');
  assert.ok(await page.isVisible('#pending-notice'));
  assert.equal(await page.getAttribute('#pending-link', 'href'), '/scheduler');
  assert.equal(await page.getAttribute(`tr[data-id="${idOf('CRM sync')}"] a.logs-link`, 'href'), `/logs?handler=${idOf('CRM sync')}`);
});

test('Advanced Search filters by each field and together; the view is a shareable address', async () => {
  for (let i = 0; i < 3; i++) {
    sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
         VALUES ('zero-${i}', 'clients.balance_zero', 'http://127.0.0.1:9/z${i}', 'http',
                 '${['enabled', 'disabled', 'archived'][i]}', ${10 + i}, UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  }
  await page.goto(`${baseUrl}/handlers`);
  await page.click('#advanced-search summary');
  await page.screenshot({ path: path.join(outputDir, 'panel-advanced-search.png') });
  await page.click('#advanced-search summary');

  await search(page, { event: 'clients.balance_zero' });
  assert.deepEqual(await ids(page), [idOf('zero-0'), idOf('zero-1')], 'archived stays hidden by default');
  assert.equal(new URL(page.url()).searchParams.get('event'), 'clients.balance_zero');
  await search(page, { type: 'script' });
  assert.deepEqual(await ids(page), [idOf('Local notify')]);
  await search(page, { status: 'archived' });
  assert.deepEqual(await ids(page), [idOf('zero-2')]);
  await search(page, { status: 'disabled' });
  assert.deepEqual(await ids(page), [idOf('zero-1')]);
  await search(page, { event: 'clients.balance_zero', type: 'http', status: 'enabled' });
  assert.deepEqual(await ids(page), [idOf('zero-0')]);
  assert.match(await page.textContent('#active-filters'), /Event: Clients › balance became <=0[\s\S]*Type: HTTP[\s\S]*Status: enabled/);
  await search(page, { event: 'clients.accounts.delete', type: 'script' });
  assert.match(await page.textContent('#handlers tbody'), /No handler matches these filters/);

  // A bookmarked or shared view opens the same way in another tab.
  const shared = `${baseUrl}/handlers?event=clients.balance_zero&status=archived`;
  const other = await context.newPage();
  watch(other);
  await other.goto(shared);
  assert.deepEqual(await ids(other), [idOf('zero-2')]);
  assert.equal(await other.$eval('#search-status', (s) => s.value), 'archived');
  await other.close();

  await page.click('#advanced-search summary');
  await Promise.all([page.waitForNavigation(), page.click('#search-reset')]);
  assert.equal(new URL(page.url()).search, '');
  assert.equal((await ids(page)).length, 4);
});

test('sort by a column both ways, page through with a page size choice', async () => {
  for (let i = 0; i < 9; i++) {
    sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
         VALUES ('bulk-${i}', 'clients.update', 'http://127.0.0.1:9/b${i}', 'http', 'enabled', ${20 + i},
                 UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  }
  await page.goto(`${baseUrl}/handlers`);
  await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="name"]')]);
  assert.equal(new URL(page.url()).searchParams.get('sort'), 'name');
  const names = await page.$$eval('#handlers tbody a.handler-link', (as) => as.map((a) => a.textContent));
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
  await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="name"]')]);
  assert.equal(new URL(page.url()).searchParams.get('dir'), 'desc');
  const reversed = await page.$$eval('#handlers tbody a.handler-link', (as) => as.map((a) => a.textContent));
  assert.deepEqual(reversed, [...names].reverse());

  await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="priority"]')]);
  await Promise.all([page.waitForNavigation(), page.selectOption('#page-size', '10')]);
  assert.equal((await ids(page)).length, 10);
  assert.match(await page.textContent('#result-range'), /Showing 1–10 of 13/);
  await Promise.all([page.waitForNavigation(), page.click('#pager a[rel=next]')]);
  assert.equal((await ids(page)).length, 3);
  assert.match(await page.textContent('#result-range'), /Showing 11–13 of 13/);
  assert.equal(new URL(page.url()).searchParams.get('size'), '10');
  assert.equal(new URL(page.url()).searchParams.get('page'), '2');
});

test('the status icon toggles in place, with and without JavaScript', async () => {
  await page.goto(`${baseUrl}/handlers?sort=id`);
  const id = idOf('CRM sync');
  const icon = `tr[data-id="${id}"] .toggle-form button`;
  assert.equal(await page.getAttribute(`${icon} img`, 'alt'), 'enabled');
  const before = page.url();
  await page.click(icon);
  await page.waitForSelector(`tr[data-id="${id}"] .toggle-form button img[alt="disabled"]`);
  assert.equal(page.url(), before, 'no navigation: the row changed in place');
  assert.equal(await page.textContent('#flash'), `Handler #${id} disabled.`);
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${id}`), 'disabled');
  await page.click(icon);
  await page.waitForSelector(`tr[data-id="${id}"] .toggle-form button img[alt="enabled"]`);
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${id}`), 'enabled');

  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 860 } });
  await plain.addCookies(await context.cookies());
  const noJs = await plain.newPage();
  await noJs.goto(`${baseUrl}/handlers?sort=id`);
  await Promise.all([noJs.waitForNavigation(), noJs.click(icon)]);
  assert.match(noJs.url(), /\/handlers\?sort=id&done=disabled&id=\d+$/);
  assert.equal(await noJs.getAttribute(`${icon} img`, 'alt'), 'disabled');
  await Promise.all([noJs.waitForNavigation(), noJs.click(icon)]);
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id=${id}`), 'enabled');
  // Without JS the delete icon opens a confirmation page.
  await Promise.all([noJs.waitForNavigation(), noJs.click(`tr[data-id="${id}"] a.delete-link`)]);
  assert.match(await noJs.textContent('h1'), new RegExp(`Delete handler #${id}\\?`));
  await Promise.all([noJs.waitForNavigation(), noJs.click('#cancel-delete')]);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${id}`), '1');
  await plain.close();
});

test('archive through the form: it leaves the default view', async () => {
  const id = idOf('zero-0');
  await page.goto(`${baseUrl}/handlers`);
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-id="${id}"] a.handler-link`)]);
  await fillForm(page, { status: 'archived', name: 'zero-0 (old)', priority: '3' });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.equal(await page.textContent('#flash'), `Handler #${id} archived: it is listed under Status: archived.`);
  assert.ok(!(await ids(page)).includes(id), 'archived handlers are not in the default view');
  await search(page, { status: 'archived' });
  assert.ok((await ids(page)).includes(id));
  const archivedIcon = page.locator(`tr[data-id="${id}"] span.status-icon img`);
  assert.equal(await archivedIcon.getAttribute('alt'), 'archived', 'archived is an icon, not a toggle');
  assert.equal(await page.locator(`tr[data-id="${id}"] .toggle-form`).count(), 0);
  assert.deepEqual(sql(`SELECT name, status, priority FROM handlers WHERE id=${id}`)[0], ['zero-0 (old)', 'archived', '3']);
});

test('bad input is refused next to each field and HTML in a name is shown, never run', async () => {
  const count = sqlValue('SELECT COUNT(*) FROM handlers');
  await page.goto(`${baseUrl}/handlers/new`);
  await fillForm(page, { name: '', event: 'clients.create', task: 'ftp://x', priority: 'abc' });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.equal(await page.textContent('#error-name'), 'The name is required');
  assert.match(await page.textContent('#error-task'), /not ftp:\/\//);
  assert.match(await page.textContent('#error-priority'), /whole number from 1/);
  assert.equal(await page.inputValue('#f-task'), 'ftp://x', 'the operator\'s values come back');
  assert.equal(await page.inputValue('#f-priority'), 'abc');
  await shot(page, 'panel-form-errors.png');

  await fillForm(page, { name: 'sh', task: '../../bin/sh', priority: '0' });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.match(await page.textContent('#error-task'), /must be inside the scripts directory/);
  assert.match(await page.textContent('#error-priority'), /whole number from 1/);
  await fillForm(page, { task: 'http://127.0.0.1:9/x', priority: '-1' });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.match(await page.textContent('#error-priority'), /whole number from 1/);
  // An event the select does not offer (a tampered form).
  await page.$eval('#f-event', (s) => { s.options[1].value = 'clients.before_create'; s.selectedIndex = 1; });
  await fillForm(page, { priority: '1', name: 'x'.repeat(10 * 1024) });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.match(await page.textContent('#error-events_id'), /Unknown event; valid events are: clients\.create/);
  assert.match(await page.textContent('#error-name'), /longer than 255 characters/);
  assert.equal(sqlValue('SELECT COUNT(*) FROM handlers'), count, 'nothing was saved');

  const evil = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  await fillForm(page, { name: evil, event: 'clients.delete', task: 'http://127.0.0.1:9/evil', priority: '2' });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  const link = page.locator(`tr[data-id="${idOf(evil.replace(/'/g, "''"))}"] a.handler-link`);
  assert.equal(await link.textContent(), evil, 'the name is text on the page');
  assert.equal(await page.locator('#handlers img[src="x"]').count(), 0);
  await page.goto(`${baseUrl}/handlers/${idOf(evil)}`);
  assert.equal(await page.inputValue('#f-name'), evil);
});

test('edit, then delete with confirmation (dismissed, then accepted)', async () => {
  const id = idOf('CRM sync');
  await page.goto(`${baseUrl}/handlers/${id}`);
  await fillForm(page, { name: 'CRM sync v2', task: 'https://crm.example.com/hook', priority: '4' });
  await page.check('#f-secret-generate');
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  const secret = await page.textContent('#secret-value');
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  await Promise.all([page.waitForNavigation(), page.click('#secret-done')]);
  assert.equal(await page.locator(`tr[data-id="${id}"] a.handler-link`).textContent(), 'CRM sync v2');
  await page.goto(`${baseUrl}/handlers/${id}`);
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
  await page.goto(`${baseUrl}/handlers`);

  page.once('dialog', (d) => d.dismiss());
  await page.click(`tr[data-id="${id}"] a.delete-link`);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${id}`), '1', 'dismissed: still there');
  let question = '';
  page.once('dialog', (d) => { question = d.message(); d.accept(); });
  await Promise.all([page.waitForNavigation(), page.click(`tr[data-id="${id}"] a.delete-link`)]);
  assert.match(question, new RegExp(`Delete handler #${id} “CRM sync v2”\\?`));
  assert.equal(await page.textContent('#flash'), `Handler #${id} deleted.`);
  assert.ok(!(await ids(page)).includes(id));
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE id=${id}`), '0');
  await shot(page, 'panel-list.png');
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'panel-list-phone.png');
  await page.goto(`${baseUrl}/handlers/${idOf('Local notify')}`);
  await shot(page, 'panel-form-phone.png');
  await page.setViewportSize({ width: 1280, height: 860 });
});

test('the pending notice leads to the Cache Manager restart, which clears it', async () => {
  await page.goto(`${baseUrl}/handlers`);
  assert.ok(await page.isVisible('#pending-notice'));
  await Promise.all([page.waitForNavigation(), page.click('#pending-link')]);
  assert.match(page.url(), /\/scheduler$/);
  await Promise.all([page.waitForNavigation(), page.click('#cache-restart')]);
  await page.goto(`${baseUrl}/handlers`);
  assert.equal(await page.locator('#pending-notice').count(), 0, 'published: nothing pending');
  const id = idOf('Local notify');
  await page.click(`tr[data-id="${id}"] .toggle-form button`);
  await page.waitForSelector('#pending-notice');
  assert.match(await page.textContent('#published-at'), /Running now: generation \d+, published .* UTC by /);
});

test('a viewer sees the list and forms read-only; then both log out', async () => {
  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const viewer = await viewerContext.newPage();
  watch(viewer);
  await login(viewer, 'viewer');
  assert.ok((await ids(viewer)).length > 0);
  assert.equal(await viewer.locator('#new-handler').count(), 0);
  assert.equal(await viewer.locator('a.delete-link').count(), 0);
  assert.equal(await viewer.locator('.toggle-form').count(), 0);
  await Promise.all([viewer.waitForNavigation(), viewer.locator('a.handler-link').first().click()]);
  assert.ok(await viewer.isDisabled('#f-name'));
  assert.equal(await viewer.locator('#save').count(), 0);
  await Promise.all([viewer.waitForNavigation(), viewer.click('text=Log out')]);
  assert.match(viewer.url(), /\/login$/);
  await viewerContext.close();

  await page.goto(`${baseUrl}/handlers`);
  await Promise.all([page.waitForNavigation(), page.click('text=Log out')]);
  assert.match(page.url(), /\/login$/);
  await page.goto(`${baseUrl}/handlers/new`);
  assert.match(page.url(), /\/login$/, 'logged out: the form is behind the login again');
  assert.deepEqual(problems, [], 'no script errors, CSP violations or alerts on any page');
});
