// Browser: per-object order (issue #15) as an operator sees it. Events held
// behind a failing delivery of their object show as "waiting behind #ID" in
// the Execution Logs and on their detail page; the handler form's switch
// turns ordering off. At 1280 px and at phone width.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { baseUrl, launchBrowser, loggedInPage, outputDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, publish } from '../lib/dispatch.mjs';

const EVENT = 'clients.subscriptions.renew';
let browser;
let server;
let handlerId;
const results = [];

before(async () => {
  browser = await launchBrowser();
  server = http.createServer((req, res) => { req.resume(); res.writeHead(503); res.end('down for maintenance'); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  disableAll();
  handlerId = addHandler({ name: uniqueName('Subscriptions CRM'), event: EVENT,
    task: `http://127.0.0.1:${server.address().port}/renew` });
  publish();
  for (const x of ['a', 'b', 'c']) {
    const r = await dispatch([EVENT, '--event-id', uniqueName(`renew-${x}`), '--object-id', '7'], { plan: 'gold' });
    assert.equal(r.status, 0, r.stderr);
    results.push(r.result.handlers[0]);
  }
});
after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  sql(`UPDATE retry_queue SET state = 'exhausted' WHERE handler_id = ${handlerId} AND state <> 'done'`);
});

test('the Execution Logs show the held deliveries as waiting behind the one before', async () => {
  assert.deepEqual(results.map((s) => s.status), ['fail', 'waiting', 'waiting']);
  const ids = sql(`SELECT id, status, IFNULL(behind_log_id, '') FROM exec_logs WHERE handler_id = ${handlerId} ORDER BY id`);
  assert.deepEqual(ids.map((r) => r[1]), ['fail', 'waiting', 'waiting']);
  const [failId, waitId1, waitId2] = ids.map((r) => r[0]);
  assert.deepEqual([ids[1][2], ids[2][2]], [failId, waitId1], 'each behind the execution before it');

  for (const [width, height, suffix] of [[1280, 900, ''], [390, 844, '-phone']]) {
    const { page, errors } = await loggedInPage(browser, 'viewer', { viewport: { width, height }, prefix: `order${suffix}` });
    await page.goto(`${baseUrl}/logs?handler=${handlerId}`);
    const rows = await page.$$eval('#logs tbody tr[data-id]', (trs) => trs.map((tr) => ({
      id: tr.dataset.id, status: tr.dataset.status, preview: tr.querySelector('.preview').textContent.trim(),
      // a waiting row has no verdict yet: its status icon; the failed one its verdict badge
      icon: tr.querySelector('.result')?.getAttribute('title') || tr.querySelector('.verdict')?.textContent.trim(),
    })));
    assert.deepEqual(rows.map((r) => [r.id, r.status, r.icon]),
      [[waitId2, 'waiting', 'Waiting'], [waitId1, 'waiting', 'Waiting'], [failId, 'fail', '\u2717 Failed']]);
    assert.match(rows[0].preview, new RegExp(`^waiting behind #${waitId1}`));
    assert.match(rows[1].preview, new RegExp(`^waiting behind #${failId}`));
    await page.screenshot({ path: path.join(outputDir, `order-logs${suffix}.png`), fullPage: true });

    // The status filter knows waiting.
    await page.selectOption('#f-status', 'waiting');
    await Promise.all([page.waitForURL(/status=waiting/), page.click('#filter-search')]);
    assert.deepEqual(await page.$$eval('#logs tbody tr[data-id]', (trs) => trs.map((tr) => tr.dataset.status)), ['waiting', 'waiting']);

    // The detail page says behind whom, with a link there.
    await page.goto(`${baseUrl}/logs/${waitId2}`);
    assert.equal((await page.textContent('#log-status')).trim(), 'Waiting');
    assert.match(await page.textContent('#log-waiting'), new RegExp(`^Waiting behind #${waitId1}: not delivered yet`));
    await page.screenshot({ path: path.join(outputDir, `order-log-detail${suffix}.png`), fullPage: true });
    await Promise.all([page.waitForURL(new RegExp(`/logs/${waitId1}$`)), page.click(`#log-waiting a`)]);
    assert.match(await page.textContent('#log-waiting'), new RegExp(`behind #${failId}`));
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test('the handler form switches per-object order off and on', async () => {
  const { page, errors } = await loggedInPage(browser, 'admin', { viewport: { width: 1280, height: 900 }, prefix: 'order-admin' });
  await page.goto(`${baseUrl}/handlers/${handlerId}`);
  assert.equal(await page.isChecked('#f-ordered-on'), true, 'on by default');
  await page.check('#f-ordered-off');
  await page.locator('#f-ordered-off').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(outputDir, 'order-form.png') });
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.equal(sqlValue(`SELECT ordered FROM handlers WHERE id = ${handlerId}`), '0');
  await page.goto(`${baseUrl}/handlers/${handlerId}`);
  assert.equal(await page.isChecked('#f-ordered-off'), true);
  await page.check('#f-ordered-on');
  await Promise.all([page.waitForNavigation(), page.click('#save')]);
  assert.equal(sqlValue(`SELECT ordered FROM handlers WHERE id = ${handlerId}`), '1');
  assert.deepEqual(errors, []);
  await page.close();
});
