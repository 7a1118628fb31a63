// Browser: a handler created through the JSON API shows in the panel; after a
// Cache Manager restart through the API and a dispatch, its execution shows in
// the Execution Logs.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, apiUser, baseUrl, createUser, launchBrowser, outputDir, uniqueName } from '../lib/panel.mjs';
import { dispatch } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

let browser;
let receiver;
before(async () => { browser = await launchBrowser(); receiver = await startReceiver(); });
after(async () => { await browser?.close(); await receiver?.close(); });

test('API-created handler in the panel, dispatched, logged', async () => {
  const admin = apiUser('admin');
  const name = uniqueName('Billing CRM via API');
  const created = await api('POST', '/handlers', {
    key: admin.key, body: { name, events_id: 'clients.custom_fields.update', task: `${receiver.url}/echo`, priority: 2 },
  });
  assert.equal(created.status, 201, created.text);
  const operator = uniqueName('operator');
  const password = createUser(operator, 'viewer');
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', operator);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/handlers/);
  await page.goto(`${baseUrl}/handlers?events_id=clients.custom_fields.update`);
  const row = page.locator(`tr[data-id="${created.json.id}"]`);
  assert.match(await row.textContent(), new RegExp(name));
  assert.equal((await api('POST', '/cache/restart', { key: admin.key })).status, 200);
  const run = await dispatch(['clients.custom_fields.update', '--object-id', '42'], { fields: { tariff: 'gold' } });
  assert.equal(run.status, 0, run.stderr);
  await page.goto(`${baseUrl}/logs?handler=${created.json.id}`);
  const logRow = page.locator('table tbody tr').first();
  assert.match(await logRow.textContent(), /42/);
  await page.screenshot({ path: path.join(outputDir, 'api-roundtrip-logs.png'), fullPage: true });
  await page.close();
});
