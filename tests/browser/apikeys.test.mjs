// Browser: an admin creates and revokes an API key; the key is shown once.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, baseUrl, createUser, launchBrowser, outputDir, uniqueName } from '../lib/panel.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('create a key, copy it once, revoke it after confirming', async () => {
  const name = uniqueName('keyadmin');
  const password = createUser(name, 'admin');
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', name);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/handlers$/);
  await page.click('nav >> text=API keys');
  await page.waitForURL(/\/apikeys$/);
  await page.fill('#key-name', 'Billing CRM');
  await page.selectOption('#key-user', name);
  await page.click('text=Create key');
  const key = (await page.textContent('#created-key pre')).trim();
  assert.match(key, /^pk_[0-9a-f]{64}$/);
  assert.equal((await api('GET', '/me', { key })).status, 200);
  await page.screenshot({ path: path.join(outputDir, 'apikeys.png'), fullPage: true });
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.click(`tr:has-text("Billing CRM") >> text=Revoke`);
  assert.equal((await api('GET', '/me', { key })).status, 200, 'dismissing the confirmation keeps the key');
  page.once('dialog', (dialog) => dialog.accept());
  await Promise.all([page.waitForURL(/revoked=1/), page.click(`tr:has-text("Billing CRM") >> text=Revoke`)]);
  assert.equal((await api('GET', '/me', { key })).status, 401);
  assert.match(await page.textContent('tr:has-text("Billing CRM")'), /revoked/);
  await page.close();
});
