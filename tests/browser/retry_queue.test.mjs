// Browser: the Task Scheduler's retry queue counts (due, scheduled later,
// exhausted, delivered on a retry) and the Retry Worker's last run, as an
// operator sees them; screenshots at desktop and phone width.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, sql, uniqueName, loggedInPage } from '../lib/panel.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('the retry queue card shows what waits, what is due and what gave up', async () => {
  const tag = uniqueName('browser-queue');
  const states = [['scheduled', 'UTC_TIMESTAMP(6)'], ['scheduled', 'UTC_TIMESTAMP(6)'],
    ['scheduled', 'UTC_TIMESTAMP(6) + INTERVAL 1 HOUR'], ['exhausted', 'UTC_TIMESTAMP(6)'], ['done', 'UTC_TIMESTAMP(6)']];
  for (const [i, [state, at]] of states.entries()) {
    sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
           state, next_attempt_at, created_at, updated_at)
         VALUES (UUID(), 1, 'crm', 'clients.create', '${tag}-${i}', '{}', 2, '${state}', ${at}, UTC_TIMESTAMP(6),
           UTC_TIMESTAMP(6))`);
  }
  sql(`UPDATE services SET last_run_at = UTC_TIMESTAMP(6), last_result = 'ok',
       last_detail = '3 delivered, 1 rescheduled, 0 exhausted; queue: 2 due, 1 scheduled later, 1 exhausted'
       WHERE name = 'retry_worker'`);
  const [due, later, exhausted, done] = sql(`SELECT SUM(state = 'scheduled' AND next_attempt_at <= UTC_TIMESTAMP(6)),
    SUM(state = 'scheduled' AND next_attempt_at > UTC_TIMESTAMP(6)), SUM(state = 'exhausted'), SUM(state = 'done')
    FROM retry_queue`)[0];
  const { page, name, errors } = await loggedInPage(browser, 'viewer', { viewport: { width: 1280, height: 800 }, prefix: 'viewer' });
  await page.goto(`${baseUrl}/scheduler`);
  assert.equal((await page.textContent('#retry-due')).trim(), due);
  assert.equal((await page.textContent('#retry-scheduled')).trim(), later);
  assert.equal((await page.textContent('#retry-exhausted')).trim(), exhausted);
  assert.equal((await page.textContent('#retry-done')).trim(), done);
  assert.match(await page.textContent('tr[data-service="retry_worker"]'), /ok.*queue: 2 due/s);
  await page.locator('#retry-queue').screenshot({ path: path.join(outputDir, 'scheduler-retry-queue.png') });
  await page.screenshot({ path: path.join(outputDir, 'scheduler-retry.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: path.join(outputDir, 'scheduler-retry-phone.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();
  sql(`DELETE FROM retry_queue WHERE event_uid LIKE '${tag}-%';
       UPDATE services SET last_run_at = NULL, last_result = NULL, last_detail = NULL WHERE name = 'retry_worker'`);
});
