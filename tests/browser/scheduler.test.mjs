// Browser: an admin opens the Task Scheduler, sees pending edits, restarts the
// Cache Manager and sees the new generation; screenshots at desktop and phone width.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, sql, sqlValue, uniqueName, loggedInPage } from '../lib/panel.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('restart the Cache Manager from the Task Scheduler', async () => {
  sql('UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1'); // an edit is pending
  const { page, errors } = await loggedInPage(browser, 'admin', { prefix: 'operator' });
  await page.click('nav >> text=Task Scheduler');
  await page.waitForURL(/\/scheduler$/);
  assert.equal(await page.textContent('h1'), 'Task Scheduler');
  assert.equal((await page.textContent('#cache-pending')).trim(), 'yes');
  await page.screenshot({ path: path.join(outputDir, 'scheduler-pending.png'), fullPage: true });
  const before = Number(sqlValue('SELECT IFNULL(generation, 0) FROM cache_state'));
  await page.click('#cache-restart');
  await page.waitForURL(/\/scheduler\?published=\d+$/);
  assert.match(await page.textContent('#flash'), new RegExp(`generation ${before + 1} is now published`));
  assert.equal((await page.textContent('#cache-pending')).trim(), 'no');
  assert.equal((await page.textContent('#cache-generation')).trim(), String(before + 1));
  assert.match(await page.textContent('tr[data-service="cache_manager"]'), /ok/);
  assert.equal(await page.locator('#services tbody tr').count(),
    Number(sqlValue('SELECT COUNT(*) FROM services')), 'one row per service, no more');
  await page.screenshot({ path: path.join(outputDir, 'scheduler.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: path.join(outputDir, 'scheduler-phone.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();
});
