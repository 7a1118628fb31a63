// Browser (issue #16): an admin sends tests from the handler form (an HTTP
// handler to a local receiver, a forbid reply, a receiver that never answers,
// unsaved edits, bad JSON, a script handler queued for the retry worker and
// its page updating itself once the worker ran it) and reads the chain of one event
// (a modify, a forbid, the handlers it skipped) and the verdict filter; a
// viewer's test is refused on the server. Screenshots at 1280 and 390 px.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseUrl, launchBrowser, loggedInPage, outputDir, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { worker } from '../lib/retry.mjs';
import { addHandler, disableAll, dispatch, publish, scriptsDir } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

let browser;
let rx;
const P = uniqueName('chain');
before(async () => {
  browser = await launchBrowser();
  rx = await startReceiver();
  disableAll();
  publish();
});
after(async () => { await browser?.close(); await rx?.close(); });

const logCount = () => Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));

async function sendTest(page) {
  await Promise.all([page.waitForNavigation(), page.click('#send-test')]);
}

test('Send test: a disabled HTTP handler, its sample, the result inline', async () => {
  const id = addHandler({ name: `${P} CRM`, event: 'clients.create', task: `${rx.url}/echo`, status: 'disabled',
    secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=' });
  const bystander = addHandler({ name: `${P} bystander`, event: 'clients.create', task: `${rx.url}/bystander` });
  publish();
  const { page, errors } = await loggedInPage(browser, 'admin', { prefix: `${P}-admin` });
  await page.goto(`${baseUrl}/handlers/${id}`);
  const sample = JSON.parse(await page.inputValue('#f-test-data'));
  assert.equal(sample.login, 'sample.client', 'prefilled with the clients.create sample');
  rx.reset();
  await sendTest(page);
  await page.waitForSelector('#test-result');
  assert.match(await page.textContent('#test-result .verdict'), /Unchanged/);
  assert.equal((await page.textContent('#test-code')).trim(), '200');
  assert.match(await page.textContent('#test-headers'), /X-Prov-Signature: t=\d+,v1=\[redacted\]/);
  assert.doesNotMatch(await page.content(), /c2VjcmV0c2Vj/, 'never the secret');
  assert.match(await page.textContent('#test-reply'), /"login": "sample.client"/, 'pretty-printed reply');
  assert.equal(rx.requests.length, 1, 'sent once');
  assert.equal(rx.requests[0].path, '/echo', 'to this handler only, never the bystander');
  assert.match(rx.requests[0].headers['x-prov-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
  const logId = Number(/#(\d+)/.exec(await page.textContent('#test-log'))[1]);
  assert.equal(sqlValue(`SELECT CONCAT(trigger_kind, '/', verdict) FROM exec_logs WHERE id = ${logId}`), 'test/unchanged');
  assert.equal(sqlValue(`SELECT status FROM handlers WHERE id = ${id}`), 'disabled', 'nothing saved');
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.locator('#test-send').screenshot({ path: path.join(outputDir, `send-test-result-${width}.png`) });
  }
  assert.deepEqual(errors, []);
  assert.ok(bystander > 0);
});

test('Send test: a forbid reply, a receiver that never answers, bad JSON, unsaved edits', async () => {
  const id = addHandler({ name: `${P} gate`, event: 'clients.update', task: `${rx.url}/forbid?reason=credit%20limit%20%3Cexceeded%3E`, timeoutMs: 600 });
  const { page } = await loggedInPage(browser, 'admin', { prefix: `${P}-admin2` });
  await page.goto(`${baseUrl}/handlers/${id}`);
  await sendTest(page);
  assert.match(await page.textContent('#test-result .verdict'), /Forbidden/);
  assert.equal(await page.textContent('#test-reason'), 'credit limit <exceeded>', 'escaped, shown as text');
  await page.screenshot({ path: path.join(outputDir, 'send-test-forbid-1280.png'), fullPage: true });

  // Unsaved: the URL changed in the form only, and the timeout of a receiver that never answers.
  rx.reset();
  await page.fill('#f-task', `${rx.url}/hang`);
  const t0 = Date.now();
  await sendTest(page);
  assert.ok(Date.now() - t0 < 8000, 'bounded by the handler timeout');
  assert.match(await page.textContent('#test-error'), /timed out|timeout/i);
  assert.match(await page.textContent('#test-result .verdict'), /Failed/);
  assert.equal(rx.requests[0]?.path, '/hang', 'sent to the URL as it stands in the form');
  assert.equal(await page.inputValue('#f-task'), `${rx.url}/hang`, 'the form keeps the unsaved value');
  assert.match(sqlValue(`SELECT task FROM handlers WHERE id = ${id}`), /\/forbid/, 'nothing saved');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE handler_id = ${id}`)), 0, 'never queued');

  // Invalid JSON: one line, nothing sent or logged.
  rx.reset();
  const before = logCount();
  await page.fill('#f-test-data', '{"client_id": 1,');
  await sendTest(page);
  assert.match(await page.textContent('#test-refused'), /not valid JSON/);
  assert.equal(await page.$('#test-result'), null);
  assert.equal(rx.requests.length, 0);
  assert.equal(logCount(), before);

  // An unsaved New form with an invalid field: the field's message, nothing sent.
  await page.goto(`${baseUrl}/handlers/new`);
  await page.fill('#f-name', `${P} new`);
  await page.selectOption('#f-event', 'clients.update');
  await page.fill('#f-task', 'ftp://nowhere');
  await sendTest(page);
  assert.match(await page.textContent('#test-refused'), /not sent/);
  assert.equal(logCount(), before);

  // An unsaved New form, valid: sent, logged without a handler.
  await page.fill('#f-task', `${rx.url}/modify?set=%7B%22crm_id%22%3A%22CRM-1%22%7D`);
  await sendTest(page);
  assert.match(await page.textContent('#test-result .verdict'), /Modified/);
  assert.match(rx.requests.at(-1).body, /"changed":\["email","phone"\]/, 'the sample of the event chosen after the form loaded');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM handlers WHERE name = '${P} new'`)), 0, 'not created');
});

test('Send test: a script handler is queued for the retry worker; its page shows the result once the worker ran it', async () => {
  const tag = P.replace(/[^A-Za-z0-9]/g, '');
  const script = path.join(scriptsDir, `${tag}.sh`);
  const ranFile = path.join(runDir, `${tag}.ran`);
  writeFileSync(script, `#!/bin/sh\ncat >/dev/null\necho "$PROV_TRIGGER" >> ${ranFile}\necho '{"allow": false, "reason": "<b>held</b> by CRM"}'\n`);
  chmodSync(script, 0o755);
  const id = addHandler({ name: `${P} script`, event: 'clients.update', task: script, type: 'script', status: 'disabled' });
  const { page, errors } = await loggedInPage(browser, 'admin', { prefix: `${P}-admin3` });
  await page.goto(`${baseUrl}/handlers/${id}`);
  await page.fill('#f-test-data', '{"client_id": 42}');
  const before = logCount();
  sql("UPDATE services SET last_run_at = UTC_TIMESTAMP(6) WHERE name = 'retry_worker'"); // a worker "runs"
  await sendTest(page);
  assert.match(page.url(), /\/handlers\/tests\/\d+$/, 'POST/redirect/GET to the test\'s page');
  assert.equal((await page.textContent('#test-state')).trim(), 'queued');
  assert.match(await page.textContent('#test-waiting'), /Queued for the retry worker \(prov-worker\)/);
  assert.equal(await page.$('#test-notice'), null, 'a worker ran lately: nothing to warn about');
  assert.equal(await page.getAttribute('#test-progress', 'data-poll'), '2000');
  assert.equal(logCount(), before, 'the web server ran nothing');
  assert.equal(existsSync(ranFile), false);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(outputDir, `send-test-script-queued-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // The worker runs it; the page (still open) swaps the result in by itself.
  const w = await worker(['--once']);
  assert.equal(w.status, 0, w.stderr);
  await page.waitForSelector('#test-result', { timeout: 15000 });
  assert.equal((await page.textContent('#test-state')).trim(), 'done');
  assert.equal(await page.getAttribute('#test-progress', 'data-poll'), null, 'polling stopped');
  assert.match(await page.textContent('#test-result .verdict'), /Forbidden/);
  assert.equal((await page.textContent('#test-code')).trim(), '0', 'the exit code');
  assert.equal(await page.textContent('#test-reason'), '<b>held</b> by CRM', 'escaped, shown as text');
  assert.match(await page.textContent('#test-reply'), /"allow": false/, 'the reply, indented');
  assert.match(await page.textContent('#test-ran-on'), /Ran on the retry worker .+:\d+/);
  const logId = Number(/#(\d+)/.exec(await page.textContent('#test-log'))[1]);
  assert.equal(sqlValue(`SELECT CONCAT(trigger_kind, '/', verdict, '/', handler_id) FROM exec_logs WHERE id = ${logId}`),
    `test/forbidden/${id}`);
  assert.match(sqlValue(`SELECT request_body FROM exec_logs WHERE id = ${logId}`), /"client_id":42/, 'the edited payload');
  assert.equal(readFileSync(ranFile, 'utf8'), 'test\n', 'ran once, as a test');
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(outputDir, `send-test-script-done-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // An unsaved New form with a script, while no worker has run for hours: said plainly.
  sql("UPDATE services SET last_run_at = UTC_TIMESTAMP(6) - INTERVAL 3 HOUR WHERE name = 'retry_worker'");
  await page.goto(`${baseUrl}/handlers/new`);
  await page.fill('#f-name', `${P} new script`);
  await page.selectOption('#f-event', 'clients.create');
  await page.fill('#f-task', script);
  await sendTest(page);
  assert.match(await page.textContent('#test-handler'), /new script \(unsaved\)/);
  assert.match(await page.textContent('#test-notice'), /No retry worker has run in the last 2 minutes \(last run 3 h ago\): start prov-worker/);
  await page.screenshot({ path: path.join(outputDir, 'send-test-script-no-worker-1280.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 900 });
  await page.screenshot({ path: path.join(outputDir, 'send-test-script-no-worker-390.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM handlers WHERE name = '${P} new script'`)), 0, 'not created');
  assert.equal((await worker(['--once'])).status, 0);
  await page.waitForSelector('#test-result', { timeout: 15000 });
  assert.match(await page.textContent('#test-result .verdict'), /Forbidden/);
  assert.equal(await page.$('#test-notice'), null, 'the worker ran: the warning went with the update');
  assert.equal(readFileSync(ranFile, 'utf8'), 'test\ntest\n');

  // 20 script tests already waiting: the form comes back refused, with the edits, nothing queued.
  sql(`INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at, handler_name, events_id, task, timeout_ms, data)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
    SELECT 'queued', '${P} filler', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'filler', 'clients.update', 'x.sh', 1000, '{}' FROM n`);
  try {
    await page.goto(`${baseUrl}/handlers/${id}`);
    await page.fill('#f-name', `${P} script renamed`);
    await sendTest(page);
    assert.match(await page.textContent('#test-refused'), /20 script tests are already waiting for the retry worker/);
    assert.equal(await page.inputValue('#f-name'), `${P} script renamed`, 'the form keeps its edits');
    assert.equal(Number(sqlValue("SELECT COUNT(*) FROM handler_test_queue WHERE state = 'queued'")), 20, 'nothing queued');
  } finally {
    sql(`DELETE FROM handler_test_queue WHERE requested_by = '${P} filler'`);
  }
  assert.deepEqual(errors, [], 'no script error, no CSP violation');
});

test('a viewer cannot send a test (refused on the server)', async () => {
  const id = addHandler({ name: `${P} viewer target`, event: 'clients.update', task: `${rx.url}/echo` });
  const { page } = await loggedInPage(browser, 'viewer', { prefix: `${P}-viewer` });
  await page.goto(`${baseUrl}/handlers/${id}`);
  assert.equal(await page.$('#send-test'), null, 'no button for a viewer');
  rx.reset();
  const r = await page.evaluate(async (hid) => {
    const token = document.querySelector('input[name=csrf_token]')?.value || '';
    const body = new URLSearchParams({ csrf_token: token, name: 'x', events_id: 'clients.update', task: 'http://127.0.0.1:1/x' });
    const res = await fetch(`/handlers/${hid}/test`, { method: 'POST', body });
    return { status: res.status, text: await res.text() };
  }, id);
  assert.equal(r.status, 403);
  assert.match(r.text, /Your role does not allow this action/, 'refused for the role (with a valid CSRF token)');
  assert.equal(rx.requests.length, 0);
  // Nor read a script test's page (its reply may hold what only admins see).
  const testId = Number(sqlValue(`INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at, handler_name,
      events_id, task, timeout_ms, data) VALUES ('done', '${P}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'x', 'clients.update',
      'x.sh', 1000, '{}'); SELECT LAST_INSERT_ID()`));
  const shown = await page.goto(`${baseUrl}/handlers/tests/${testId}`);
  assert.equal(shown.status(), 403);
  assert.equal(await page.$('#test-request'), null);
  sql(`DELETE FROM handler_test_queue WHERE id = ${testId}`);
});

test('the event view: a modify, a forbid and the handlers it skipped; the verdict filter', async () => {
  disableAll();
  const mod = addHandler({ name: `${P} enrich`, event: 'clients.update', task: `${rx.url}/modify?set=%7B%22crm_id%22%3A%22CRM-9%22%7D`, priority: 1 });
  const gate = addHandler({ name: `${P} billing gate`, event: 'clients.update', task: `${rx.url}/forbid?reason=over%20limit`, priority: 2 });
  const late1 = addHandler({ name: `${P} mailer`, event: 'clients.update', task: `${rx.url}/echo`, priority: 3 });
  const late2 = addHandler({ name: `${P} archive`, event: 'clients.update', task: `${rx.url}/echo`, priority: 4 });
  publish();
  const uid = `${P.replace(/[^A-Za-z0-9._:-]/g, '')}-evt`;
  const r = await dispatch(['clients.update', '--event-id', uid], { client_id: 7, email: 'a@example.com' });
  assert.equal(r.status === 0 || r.status === 1, true, r.stderr);
  assert.equal(sqlValue(`SELECT skipped_handlers FROM exec_logs WHERE event_uid = '${uid}' AND handler_id = ${gate}`), `${late1},${late2}`);
  const firstLog = Number(sqlValue(`SELECT MIN(id) FROM exec_logs WHERE event_uid = '${uid}'`));

  const { page, errors } = await loggedInPage(browser, 'viewer', { prefix: `${P}-reader` });
  await page.goto(`${baseUrl}/logs/${firstLog}`);
  await Promise.all([page.waitForNavigation(), page.click('#event-chain')]);
  const steps = await page.$$eval('.chain-step', (els) => els.map((e) => [Number(e.dataset.handler), e.dataset.verdict]));
  assert.deepEqual(steps, [[mod, 'modified'], [gate, 'forbidden'], [late1, 'skipped'], [late2, 'skipped']]);
  assert.match(await page.textContent(`#step-${firstLog} .step-before`), /"email"/);
  assert.match(await page.textContent(`#step-${firstLog} .step-after`), /"crm_id": "CRM-9"/);
  assert.match(await page.textContent(`#step-${firstLog} .changes`), /\+crm_id/);
  const skippedText = await page.$$eval('.chain-step.skipped .skipped-why', (els) => els.map((e) => e.textContent));
  assert.deepEqual(skippedText, [`skipped: forbidden by #${gate}`, `skipped: forbidden by #${gate}`]);
  assert.match(await page.textContent('.chain-step[data-verdict=forbidden]'), /over limit/);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(outputDir, `event-view-${width}.png`), fullPage: true });
  }

  // The verdict filter: forbidden rows only; the list shows the verdict.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${baseUrl}/logs`);
  await page.selectOption('#f-verdict', 'forbidden');
  await Promise.all([page.waitForNavigation(), page.click('#filter-search')]);
  assert.match(page.url(), /verdict=forbidden/);
  const badges = await page.$$eval('#logs tbody tr[data-id] .verdict', (els) => els.map((e) => e.textContent.trim()));
  assert.ok(badges.length >= 1);
  assert.ok(badges.every((b) => /Forbidden/.test(b)), badges.join(','));
  await page.screenshot({ path: path.join(outputDir, 'logs-verdict-filter-1280.png'), fullPage: true });
  await page.goto(`${baseUrl}/logs?verdict=forbidden&status=fail`);
  assert.match(await page.textContent('#e-verdict'), /never has status fail/);
  assert.deepEqual(errors, []);
});
