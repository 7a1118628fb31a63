// Browser: the rough edges of issue #16, each checked where an operator sees
// it: a reloaded secret page, the "Filtered by" chips, Advanced Search's
// selects, the Event selects' shown text, the phone-width menu and Task
// Scheduler rows, a viewer's read-only form, where an archived handler went.
// Screenshots at 1280 and 390 px of each.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';

const PREFIX = uniqueName('edges');
let browser;
let admin;
let viewer;
let handlerId;

async function loginPage(role) {
  const name = uniqueName(`${PREFIX}-${role}`);
  const password = createUser(name, role);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/handlers$/), page.click('button[type=submit]')]);
  return page;
}

function insertHandler(name, { event = 'clients.update', status = 'enabled', priority = 1 } = {}) {
  return Number(sqlValue(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    VALUES ('${name}', '${event}', 'http://127.0.0.1:9/${priority}', 'http', '${status}', ${priority}, UTC_TIMESTAMP(), UTC_TIMESTAMP());
    SELECT LAST_INSERT_ID()`));
}

// The choices of the selects matching selector whose text is wider than the
// closed select shows (its box less padding and the arrow).
function cutChoices(page, selector) {
  return page.$$eval(selector, (selects) => selects.flatMap((s) => {
    const style = getComputedStyle(s);
    const canvas = document.createElement('canvas').getContext('2d');
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
    return [...s.options].filter((o) => canvas.measureText(o.textContent).width > room)
      .map((o) => `${s.id}: "${o.textContent}" (${Math.round(canvas.measureText(o.textContent).width)} px in ${room} px)`);
  }));
}

async function shots(page, name) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(outputDir, `edges-${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

before(async () => {
  browser = await launchBrowser();
  handlerId = insertHandler(`${PREFIX} CRM sync`, { status: 'disabled', priority: 3 });
  admin = await loginPage('admin');
  viewer = await loginPage('viewer');
});

after(async () => {
  await browser?.close();
  sql(`DELETE FROM handlers WHERE name LIKE '${PREFIX}%'`);
});

test('a reload of the new secret page shows "already shown" and creates nothing', async () => {
  const name = `${PREFIX} signed`;
  await admin.goto(`${baseUrl}/handlers/new`);
  await admin.fill('#f-name', name);
  await admin.selectOption('#f-event', 'clients.create');
  await admin.fill('#f-task', 'http://127.0.0.1:9/signed');
  await admin.check('#f-secret-generate');
  await Promise.all([admin.waitForNavigation(), admin.click('#save')]);
  const secret = await admin.textContent('#secret-value');
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const id = Number(sqlValue(`SELECT id FROM handlers WHERE name = '${name}'`));
  assert.match(admin.url(), new RegExp(`/handlers/${id}/secret(\\?|$)`), 'the secret page is a GET after a redirect');
  await admin.screenshot({ path: path.join(outputDir, 'edges-secret-1280.png'), fullPage: true });
  await admin.reload();
  assert.equal(sqlValue(`SELECT COUNT(*) FROM handlers WHERE name = '${name}'`), '1', 'the reload created no second handler');
  assert.equal(await admin.locator('#secret-value').count(), 0, 'the secret is not shown twice');
  assert.match(await admin.textContent('#secret-shown'), /already shown/);
  assert.ok(!(await admin.content()).includes(secret));
  await shots(admin, 'secret-shown');
});

test('the "Filtered by" chips sit on one line at their own width', async () => {
  for (const width of [1280, 390]) {
    await admin.setViewportSize({ width, height: 900 });
    await admin.goto(`${baseUrl}/handlers?event=clients.update&type=http&status=disabled`);
    const chips = await admin.$$eval('#active-filters .chip', (els) => els.map((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      const text = range.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      return {
        text: el.textContent, top: Math.round(box.top), height: box.height, width: box.width,
        content: text.width + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight),
        lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.45,
      };
    }));
    assert.equal(chips.length, 3);
    for (const chip of chips) {
      assert.ok(Math.abs(chip.width - chip.content) < 2, `${width} px: "${chip.text}" is as wide as its text (${chip.width} vs ${chip.content})`);
      assert.ok(chip.height < chip.lineHeight * 1.6, `${width} px: "${chip.text}" is one line (${chip.height} px high)`);
    }
    if (width === 1280) assert.equal(new Set(chips.map((c) => c.top)).size, 1, 'all on one line');
    assert.equal(chips[0].text, 'Event: Clients › update');
  }
  await shots(admin, 'chips');
});

test('Advanced Search shows each select\'s longest choice whole', async () => {
  for (const width of [1280, 390]) {
    await admin.setViewportSize({ width, height: 900 });
    await admin.goto(`${baseUrl}/handlers`);
    await admin.click('#advanced-search summary');
    assert.deepEqual(await cutChoices(admin, '#search-form select'), [], `${width} px: choices cut off`);
    await admin.screenshot({ path: path.join(outputDir, `edges-advanced-search-${width}.png`), fullPage: true });
  }
  await admin.setViewportSize({ width: 1280, height: 900 });
});

test('a chosen event shows its group in the form and in the logs filter', async () => {
  const shown = (page, sel) => page.$eval(sel, (s) => s.selectedOptions[0].textContent.trim());
  await admin.goto(`${baseUrl}/handlers/new`);
  await admin.selectOption('#f-event', 'clients.accounts.create');
  assert.equal(await shown(admin, '#f-event'), 'Accounts › create');
  await admin.selectOption('#f-event', 'clients.create');
  assert.equal(await shown(admin, '#f-event'), 'Clients › create');
  assert.equal(await admin.locator('#f-event optgroup[label="Clients Packages"] option').count(), 5, 'still grouped');
  await shots(admin, 'form-event');
  assert.deepEqual(await cutChoices(admin, '#f-event'), []);
  for (const width of [1280, 390]) {
    await admin.setViewportSize({ width, height: 900 });
    await admin.goto(`${baseUrl}/logs?event=clients.subscriptions.renew`);
    assert.equal(await shown(admin, '#f-event'), 'Clients Packages › renew');
    assert.equal(await admin.locator('#f-event optgroup').count(), 3);
    assert.deepEqual(await cutChoices(admin, '#f-event'), [], `${width} px: the logs filter's events whole`);
  }
  await shots(admin, 'logs-event');
  await admin.goto(`${baseUrl}/handlers?event=clients.subscriptions.renew`);
  assert.equal(await shown(admin, '#search-event'), 'Clients Packages › renew');
});

test('at 390 px the whole top menu shows and Task Scheduler rows keep their labels', async () => {
  await admin.setViewportSize({ width: 390, height: 900 });
  await admin.goto(`${baseUrl}/scheduler`);
  const hidden = await admin.$$eval('header.topbar a, header.topbar button', (els) => els
    .filter((el) => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > window.innerWidth; })
    .map((el) => el.textContent.trim()));
  assert.deepEqual(hidden, [], 'menu entries past the edge of the screen');
  assert.ok(await admin.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
  const labels = await admin.$$eval('#services tbody tr:first-child td', (tds) => tds.map((td) => getComputedStyle(td, '::before').content));
  for (const label of ['Last Run (UTC)', 'State', 'Details']) {
    assert.ok(labels.some((l) => l.includes(label)), `"${label}" labels its value (${labels.join(', ')})`);
  }
  await shots(admin, 'scheduler');
  await admin.setViewportSize({ width: 1280, height: 900 });
  const wide = await admin.$$eval('#services tbody tr:first-child td', (tds) => tds.map((td) => getComputedStyle(td, '::before').content));
  assert.ok(wide.every((l) => l === 'none' || l === 'normal'), 'the table has its header row at 1280 px');
});

test('a viewer\'s read-only form looks read-only throughout', async () => {
  await viewer.goto(`${baseUrl}/handlers/${handlerId}`);
  const looks = await viewer.$$eval('#handler-form input[type=text], #handler-form select', (els) => els.map((el) => {
    const s = getComputedStyle(el);
    return `${s.backgroundColor} ${s.color} ${s.borderColor} opacity ${s.opacity}`;
  }));
  assert.ok(looks.length >= 6);
  assert.equal(new Set(looks).size, 1, `text fields and selects alike: ${[...new Set(looks)].join(' / ')}`);
  assert.ok(!looks[0].startsWith('rgb(255, 255, 255)'), 'not the white of an editable field');
  await shots(viewer, 'form-viewer');
});

test('archiving says where the handler went, with a link there', async () => {
  const id = insertHandler(`${PREFIX} to archive`, { priority: 7 });
  await admin.goto(`${baseUrl}/handlers?sort=name`);
  await Promise.all([admin.waitForNavigation(), admin.click(`tr[data-id="${id}"] a.handler-link`)]);
  await admin.selectOption('#f-status', 'archived');
  await Promise.all([admin.waitForNavigation(), admin.click('#save')]);
  assert.equal((await admin.textContent('#flash')).replace(/\s+/g, ' ').trim(),
    `Handler #${id} archived: it is listed under Status: archived.`);
  assert.equal(await admin.locator(`#handlers tr[data-id="${id}"]`).count(), 0);
  await shots(admin, 'archived');
  assert.equal(await admin.getAttribute('#flash a', 'href'), '/handlers?status=archived&sort=name');
  await Promise.all([admin.waitForNavigation(), admin.click('#flash a')]);
  assert.equal(await admin.locator(`#handlers tr[data-id="${id}"]`).count(), 1, 'the link shows it');
  // Saving it again while archived is an ordinary save.
  await Promise.all([admin.waitForNavigation(), admin.click(`tr[data-id="${id}"] a.handler-link`)]);
  await Promise.all([admin.waitForNavigation(), admin.click('#save')]);
  assert.equal(await admin.textContent('#flash'), `Handler #${id} saved.`);
});
