// Browser: an operator logs in with Chromium and sees the Provisioning API list.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, uniqueName } from '../lib/panel.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('log in, see the list, log out', async () => {
  const name = uniqueName('operator');
  const password = createUser(name, 'admin');
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  // Refused logins answer 403, which Chromium reports as a failed load; what
  // must never appear are script errors and Content-Security-Policy violations.
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) errors.push(m.text()); });
  await page.goto(`${baseUrl}/`);
  assert.match(page.url(), /\/login$/);
  await page.screenshot({ path: path.join(outputDir, 'login.png') });
  await page.fill('#username', name);
  await page.fill('#password', 'wrong-password');
  await page.click('button[type=submit]');
  assert.equal(await page.textContent('#login-error'), 'Wrong user name or password.');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/handlers$/);
  assert.equal(await page.textContent('h1'), 'Provisioning API');
  assert.match(await page.textContent('#result-count'), /^\d+ handlers?$/);
  await page.screenshot({ path: path.join(outputDir, 'handlers-list.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 800 });
  await page.screenshot({ path: path.join(outputDir, 'handlers-list-phone.png'), fullPage: true });
  await page.click('text=Log out');
  await page.waitForURL(/\/login$/);
  assert.deepEqual(errors, [], 'no console errors (CSP violations included)');
  await page.close();
});
