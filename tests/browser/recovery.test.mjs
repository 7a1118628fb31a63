// Browser, issue #16: bulk recovery from the Execution Logs (a receiver that
// fails then recovers; N stated; progress reaching done; a double submit
// delivering each execution once; viewers refused), the History panel of the
// handler form, the publish preview, history and rollback in the Task
// Scheduler. Screenshots at 1280 and 390 px.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, clientAs, launchBrowser, loggedInPage, outputDir, sql, sqlValue } from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, editHandler, publish } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { startWorker } from '../lib/retry.mjs';

let browser;
let receiver;
before(async () => { browser = await launchBrowser(); receiver = await startReceiver(); });
after(async () => { await browser?.close(); receiver?.close(); });

async function shots(page, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(outputDir, `${name}.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: path.join(outputDir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('bulk redelivery: N stated, submitted twice, progress to done, each execution delivered once', async () => {
  disableAll();
  const task = `${receiver.url}/status/503?times=3&bulk=browser`;
  const handlerId = addHandler({ name: 'Billing CRM (outage)', event: 'clients.balance_zero', task });
  editHandler(handlerId, 'retry_enabled = 0');
  publish();
  const since = sqlValue("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s')");
  for (const object of [31, 32, 31]) {
    const run = await dispatch(['clients.balance_zero', '--object-id', String(object)], { client_id: object });
    assert.equal(run.status, 0, run.stderr);
  }
  const failed = sql(`SELECT id, delivery_id FROM exec_logs WHERE handler_id = ${handlerId} AND status = 'fail' ORDER BY id`);
  assert.equal(failed.length, 3);
  const sentBefore = receiver.requests.length;

  const { page, errors } = await loggedInPage(browser, 'admin', { prefix: 'recovery' });
  await page.goto(`${baseUrl}/logs?handler=${handlerId}&status=fail&from=${encodeURIComponent(since)}`);
  assert.match(await page.textContent('#bulk-offer'), /3 failed executions shown/);
  assert.equal((await page.textContent('#bulk-redeliver')).trim(), 'Redeliver the 3 failed executions shown…');
  await shots(page, 'bulk-offer');
  await Promise.all([page.waitForNavigation(), page.click('#bulk-redeliver')]);
  assert.equal(await page.textContent('h1'), 'Redeliver 3 failed executions?');
  assert.equal((await page.textContent('#bulk-count')).trim(), '3');
  await shots(page, 'bulk-confirm');
  await Promise.all([page.waitForURL(/\/logs\/bulk\/\d+$/), page.click('#confirm-bulk')]);
  const bulkId = Number(/\/logs\/bulk\/(\d+)$/.exec(page.url())[1]);
  assert.notEqual(await page.getAttribute('#bulk-progress', 'data-state'), 'done');
  // The same confirmation submitted again (back, submit): the pending request, nothing queued twice.
  await page.goBack();
  await page.waitForSelector('#confirm-bulk');
  await Promise.all([page.waitForURL(new RegExp(`/logs/bulk/${bulkId}\\?existing=1$`)), page.click('#confirm-bulk')]);
  assert.match(await page.textContent('#bulk-existing'), /Nothing was queued twice/);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM bulk_redeliveries WHERE handler_id = ${handlerId}`), '1');
  await shots(page, 'bulk-pending');

  // The receiver is back (its 3 failures are used up); the worker runs the request,
  // and the page (reloading itself) reaches done.
  const w = startWorker(['--interval', '1']);
  try {
    await page.goto(`${baseUrl}/logs/bulk/${bulkId}`);
    await page.waitForSelector('#bulk-progress[data-state="done"]', { timeout: 30000 });
  } finally {
    w.child.kill('SIGTERM');
    await w.exited;
  }
  assert.equal((await page.textContent('#bulk-delivered')).trim(), '3');
  assert.equal((await page.textContent('#bulk-failed')).trim(), '0');
  assert.match(await page.textContent('#bulk-done'), /^3 \(100%\)/);
  await shots(page, 'bulk-done');
  const sent = receiver.requests.slice(sentBefore);
  assert.deepEqual(sent.map((r) => r.headers['x-prov-delivery']), failed.map(([, d]) => d), 'each once, in log order');
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();

  // A viewer gets no offer and is refused the confirmation and the request (server-side).
  const viewer = await loggedInPage(browser, 'viewer');
  await viewer.page.goto(`${baseUrl}/logs?handler=${handlerId}&status=fail&from=${encodeURIComponent(since)}`);
  assert.equal(await viewer.page.locator('#bulk-offer').count(), 0);
  const refused = await viewer.page.goto(`${baseUrl}/logs/redeliver?handler=${handlerId}&status=fail&from=${encodeURIComponent(since)}`);
  assert.equal(refused.status(), 403);
  await viewer.page.close();
  const client = await clientAs('viewer');
  const page2 = await client.get('/logs');
  const token = /name="csrf_token" value="([0-9a-f]+)"/.exec(page2.text)[1];
  const post = await client.post('/logs/redeliver', { csrf_token: token, handler: String(handlerId), status: 'fail', from: since, max_log_id: '1', expected: '3' });
  assert.equal(post.status, 403);
  // And an admin's request without the form's CSRF token is refused.
  const admin = await clientAs('admin');
  const forged = await admin.post('/logs/redeliver', { handler: String(handlerId), status: 'fail', from: since, max_log_id: '1' });
  assert.equal(forged.status, 403);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM bulk_redeliveries WHERE handler_id = ${handlerId}`), '1');
});

test('History panel, publish preview and history, rollback that the dispatcher then runs', async () => {
  disableAll();
  const { page, errors } = await loggedInPage(browser, 'admin', { prefix: 'historian' });
  // Publish a clean state first: the preview then lists only what this test changes.
  await page.goto(`${baseUrl}/scheduler`);
  await Promise.all([page.waitForURL(/published=\d+/), page.click('#cache-restart')]);
  // Create, edit, disable (from the list), as an operator does.
  await page.goto(`${baseUrl}/handlers/new`);
  await page.fill('#f-name', 'Softswitch v1');
  await page.selectOption('#f-event', 'clients.accounts.create');
  await page.fill('#f-task', `${receiver.url}/echo?softswitch=1`);
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  const id = Number(sqlValue("SELECT MAX(id) FROM handlers WHERE name = 'Softswitch v1'"));
  const other = addHandler({ name: 'Gateway', event: 'clients.accounts.create', task: `${receiver.url}/echo?gateway=1`, priority: 2 });
  await page.goto(`${baseUrl}/scheduler`);
  await Promise.all([page.waitForURL(/published=\d+/), page.click('#cache-restart')]);
  const first = Number(sqlValue('SELECT generation FROM cache_state'));

  await page.goto(`${baseUrl}/handlers/${id}`);
  await page.fill('#f-name', 'Softswitch v2');
  await page.fill('#f-task', `${receiver.url}/echo?softswitch=2`);
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  await page.goto(`${baseUrl}/handlers`);
  await Promise.all([page.waitForResponse((r) => r.url().includes(`/handlers/${id}/status`)), page.click(`tr[data-id="${id}"] .toggle-form button`)]);
  await page.goto(`${baseUrl}/handlers/${id}`);
  const entries = page.locator('#handler-history .history-entry');
  assert.deepEqual(await entries.evaluateAll((li) => li.map((e) => e.dataset.action)), ['status', 'edit', 'create']);
  const edit = entries.nth(1);
  assert.match(await edit.textContent(), /Name: Softswitch v1 → Softswitch v2/);
  assert.match(await edit.textContent(), /Task: .*softswitch=1 → .*softswitch=2/);
  assert.match(await entries.nth(0).textContent(), /Status: enabled → disabled/);
  assert.match(await entries.nth(0).locator('.history-actor').textContent(), /^historian/);
  await shots(page, 'handler-history');

  // Pending: the one disabled is removed, a new one added, the gateway changed.
  editHandler(other, 'priority = 7');
  const added = addHandler({ name: 'Late addition', event: 'clients.accounts.create', task: `${receiver.url}/echo?late=1`, priority: 3 });
  await page.goto(`${baseUrl}/scheduler`);
  const preview = page.locator('#publish-preview');
  assert.deepEqual(await preview.locator('.diff-added').evaluateAll((li) => li.map((e) => Number(e.dataset.id))), [added]);
  assert.deepEqual(await preview.locator('.diff-removed').evaluateAll((li) => li.map((e) => Number(e.dataset.id))), [id]);
  assert.match(await preview.locator(`.diff-changed[data-id="${other}"]`).textContent(), /Priority: 2 → 7/);
  await shots(page, 'scheduler-preview');
  await Promise.all([page.waitForURL(/published=\d+/), page.click('#cache-restart')]);
  const second = Number(sqlValue('SELECT generation FROM cache_state'));
  const latest = page.locator(`#publish-history .history-entry[data-generation="${second}"]`);
  assert.match(await latest.textContent(), /against generation \d+/);
  assert.equal(await latest.locator('.diff-added').count(), 1);
  assert.equal(await latest.locator('.diff-removed').count(), 1);
  assert.equal(await page.locator('#publish-preview').count(), 0, 'nothing pending after the restart');

  // Roll back to the first generation: a confirmation with its diff, then the dispatcher runs it.
  await Promise.all([page.waitForNavigation(), page.click(`#rollback-${first}`)]);
  assert.equal(await page.textContent('h1'), `Roll back to generation ${first}?`);
  assert.deepEqual(await page.locator('#rollback-diff .diff-added').evaluateAll((li) => li.map((e) => Number(e.dataset.id))), [id]);
  assert.deepEqual(await page.locator('#rollback-diff .diff-removed').evaluateAll((li) => li.map((e) => Number(e.dataset.id))), [added]);
  await shots(page, 'rollback-confirm');
  await Promise.all([page.waitForURL(/rolledback=\d+/), page.click('#confirm-rollback')]);
  assert.match(await page.textContent('#flash-rollback'), new RegExp(`handlers of generation ${first} again`));
  assert.equal((await page.textContent('#cache-pending')).trim(), 'yes');
  const rolled = page.locator('#publish-history .history-entry').first();
  assert.equal(await rolled.getAttribute('data-action'), 'rollback');
  await shots(page, 'scheduler-rolled-back');
  const sentBefore = receiver.requests.length;
  const run = await dispatch(['clients.accounts.create', '--object-id', '5'], { account_id: 5 });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(receiver.requests.slice(sentBefore).map((r) => Object.keys(r.query).filter((k) => k !== 'x')),
    [['softswitch'], ['gateway']]);
  assert.equal(receiver.requests[sentBefore].query.softswitch, '1', 'generation 1 task (v1)');

  // Delete: recorded too; its history stays readable (the API), and the Task Scheduler shows the removal pending.
  await page.goto(`${baseUrl}/handlers/${other}/delete`);
  await Promise.all([page.waitForNavigation(), page.click('#confirm-delete')]);
  assert.equal(sqlValue(`SELECT action FROM change_history WHERE kind = 'handler' AND handler_id = ${other} ORDER BY id DESC LIMIT 1`), 'delete');
  await page.goto(`${baseUrl}/scheduler`);
  assert.equal(await page.locator(`#publish-preview .diff-removed[data-id="${other}"]`).count(), 1);
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();

  // Viewers see the history but cannot roll back (no button; the server refuses).
  const viewer = await loggedInPage(browser, 'viewer');
  await viewer.page.goto(`${baseUrl}/scheduler`);
  assert.equal(await viewer.page.locator(`#rollback-${first}`).count(), 0);
  const refused = await viewer.page.goto(`${baseUrl}/scheduler/rollback/${first}`);
  assert.equal(refused.status(), 403);
  await viewer.page.close();
});
