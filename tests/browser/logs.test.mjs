// Browser: an operator reads the Execution Logs in Chromium: menu, per-handler
// view, filters, paging both ways, a bad date, details, purge; phone width too.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, sql, sqlValue, uniqueName, loggedInPage } from '../lib/panel.mjs';

let browser;
let handlerId;
const handlerName = uniqueName('Billing CRM sync');

before(async () => {
  browser = await launchBrowser();
  handlerId = Number(sqlValue(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    VALUES ('${handlerName}', 'clients.update', 'http://127.0.0.1:9/crm', 'http', 'enabled', 3, UTC_TIMESTAMP(), UTC_TIMESTAMP());
    SELECT LAST_INSERT_ID()`));
  // 40 executions over the last 40 minutes; every fifth failed.
  const values = [];
  for (let i = 0; i < 40; i++) {
    const fail = i % 5 === 0;
    values.push(`(UTC_TIMESTAMP(6) - INTERVAL ${40 - i} MINUTE, '${fail ? 'fail' : 'success'}', 'clients.update', ${handlerId},
      '${handlerName}', ${5000 + i}, 'evt-${i}', UUID(), 1, 'dispatch', ${fail ? 502 : 200}, ${1500 + i * 997},
      '{"event":{"id":"evt-${i}","events_id":"clients.update","object_id":${5000 + i}},"data":{"id":${5000 + i},"balance":${i}.25}}',
      'Content-Type: application/json', ${fail ? "'<html>Bad Gateway</html>'" : `'{"data":{"crm_id":"CRM-${i}"}}'`},
      'HTTP/1.1 ${fail ? '502 Bad Gateway' : '200 OK'}', ${fail ? "'HTTP 502 from handler'" : 'NULL'})`);
  }
  sql(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid, delivery_id, attempt,
    trigger_kind, http_status, duration_us, request_body, request_headers, response_body, response_headers, error)
    VALUES ${values.join(',\n')}`);
});
after(async () => { await browser?.close(); });

const rowIds = (page) => page.$$eval('#logs tbody tr[data-id]', (rows) => rows.map((r) => Number(r.dataset.id)));

test('read, filter, page and open the execution logs', async () => {
  const { page, name, errors } = await loggedInPage(browser, 'admin', { viewport: { width: 1280, height: 900 }, prefix: 'operator' });

  // From the menu: all handlers, newest first.
  await page.click('nav.mainnav >> text=Execution Logs');
  await page.waitForURL(/\/logs$/);
  assert.equal(await page.textContent('h1'), 'Execution Logs');
  const all = await rowIds(page);
  assert.ok(all.length > 0 && all.length <= 25);
  await page.screenshot({ path: path.join(outputDir, 'logs-list.png'), fullPage: true });

  // Pre-filtered to one handler (where the handler list's logs icon points).
  await page.goto(`${baseUrl}/logs?handler=${handlerId}`);
  assert.match(await page.textContent('#handler-heading'), new RegExp(handlerName));
  const first = await rowIds(page);
  assert.equal(first.length, 25);
  await page.click('#page-older');
  await page.waitForURL(/before=\d+/);
  const second = await rowIds(page);
  assert.equal(second.length, 15);
  assert.equal(new Set([...first, ...second]).size, 40, 'no row on both pages');
  await page.click('#page-newer');
  await page.waitForURL(/after=\d+/);
  assert.deepEqual(await rowIds(page), first);

  // The filter form: failures whose response mentions the gateway.
  await page.selectOption('#f-status', 'fail');
  await page.fill('#f-text', 'Bad Gateway');
  await page.click('#filter-search');
  await page.waitForURL(/status=fail/);
  assert.match(page.url(), new RegExp(`handler=${handlerId}.*q=Bad\\+Gateway|q=Bad\\+Gateway.*handler=${handlerId}`));
  const failed = await page.$$eval('#logs tbody tr[data-id]', (rows) => rows.map((r) => r.dataset.status));
  assert.deepEqual(failed, Array(8).fill('fail'));
  assert.equal(await page.getAttribute('#f-text', 'value'), 'Bad Gateway', 'the form keeps the filters');
  await page.screenshot({ path: path.join(outputDir, 'logs-filtered.png'), fullPage: true });

  // An impossible date is a message next to the form, not an empty page.
  await page.fill('#f-from', '2026-13-45');
  await page.click('#filter-search');
  await page.waitForSelector('#filter-errors');
  assert.match(await page.textContent('#filter-errors'), /Date From must be a real date/);
  assert.equal(await page.getAttribute('#f-from', 'aria-invalid'), 'true');
  await page.screenshot({ path: path.join(outputDir, 'logs-bad-date.png'), fullPage: true });
  await page.click('#filter-reset');
  await page.waitForURL(/\/logs$/);

  // Details of one failed execution.
  await page.goto(`${baseUrl}/logs?handler=${handlerId}&status=fail`);
  await page.click('#logs tbody tr[data-id] a.log-link');
  await page.waitForURL(/\/logs\/\d+$/);
  assert.match(await page.textContent('h1'), /^Execution #\d+$/);
  assert.match(await page.textContent('#log-status'), /Fail/);
  assert.equal(await page.textContent('#log-code'), '502');
  assert.match(await page.textContent('#request-body'), /^\{\n {2}"event": \{\n {4}"id": "evt-\d+",/);
  assert.equal(await page.textContent('#response-body'), '<html>Bad Gateway</html>');
  await page.screenshot({ path: path.join(outputDir, 'logs-detail.png'), fullPage: true });

  // Phone width: the same pages stay readable.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: path.join(outputDir, 'logs-detail-phone.png'), fullPage: true });
  await page.goto(`${baseUrl}/logs?handler=${handlerId}`);
  await page.screenshot({ path: path.join(outputDir, 'logs-list-phone.png'), fullPage: false });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px)`);

  // An admin purges after confirming.
  await page.setViewportSize({ width: 1280, height: 900 });
  page.once('dialog', (dialog) => dialog.accept());
  await page.click('#purge-now');
  await page.waitForURL(/\/logs\?purged=1$/);
  assert.match(await page.textContent('#purge-done'), /Purge finished at .* UTC: removed \d+ rows older than 90 days\./);
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();
});
