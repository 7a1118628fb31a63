// Browser: the charts of issue #17 after real executions (prov-dispatch, so
// the roll-ups are written as in production): the handler form's 24 h / 7 d
// charts, the list's sparklines, the Execution Logs' histogram (a bar narrows
// the dates), and the Task Scheduler's health summary (a failing handler, a
// late service). Assertions on SVG elements, names and text summaries.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { baseUrl, launchBrowser, loggedInPage, outputDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, publish } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';

const EVENT = 'clients.accounts.create';
const N = 6;
let browser;
let rx;
let okId;
let failId;
let workerRun;

before(async () => {
  browser = await launchBrowser();
  rx = await startReceiver();
  disableAll();
  okId = addHandler({ name: uniqueName('charts ok'), event: EVENT, task: `${rx.url}/echo`, priority: 1 });
  failId = addHandler({ name: uniqueName('charts <fail>'), event: EVENT, task: `${rx.url}/status/500`, priority: 2 });
  publish();
  const uid = uniqueName('charts');
  for (let i = 0; i < N; i++) {
    const r = await dispatch([EVENT, '--event-id', `${uid}-${i}`], { i });
    assert.equal(r.result?.logged, true, r.stderr);
  }
  workerRun = sqlValue("SELECT IFNULL(last_run_at, 'NULL') FROM services WHERE name = 'retry_worker'");
});

after(async () => {
  await browser?.close();
  rx?.close();
  sql(workerRun === 'NULL' ? "UPDATE services SET last_run_at = NULL WHERE name = 'retry_worker'"
    : `UPDATE services SET last_run_at = '${workerRun}' WHERE name = 'retry_worker'`);
  sql(`UPDATE handlers SET status = 'disabled' WHERE id IN (${okId}, ${failId})`);
});

async function shoot(page, name) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(outputDir, `charts-${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('the handler form: 24 h and 7 days of success rate and p50/p95', async () => {
  const { page, errors } = await loggedInPage(browser, 'viewer', { viewport: { width: 1280, height: 900 } });
  await page.goto(`${baseUrl}/handlers/${okId}`);
  assert.match(await page.textContent('#chart-day-summary'),
    new RegExp(`^Last 24 h: ${N} executions, 100\\.0% succeeded; duration p50 [0-9.]+ (µs|ms), p95 [0-9.]+ (µs|ms)\\.$`));
  assert.match(await page.textContent('#chart-week-summary'), new RegExp(`^Last 7 days: ${N} executions, 100\\.0% succeeded`));
  // Each window: a rate chart and a duration chart with its p50 and p95 lines, named by their <title>.
  for (const key of ['day', 'week']) {
    const charts = await page.$$eval(`#chart-${key} svg.chart`, (svgs) => svgs.map((s) => ({
      role: s.getAttribute('role'),
      name: document.getElementById(s.getAttribute('aria-labelledby'))?.textContent,
      lines: [...s.querySelectorAll('path.line')].map((p) => ({ cls: p.getAttribute('class'), d: p.getAttribute('d') })),
    })));
    assert.equal(charts.length, 2);
    assert.equal(charts[0].role, 'img');
    assert.match(charts[0].name, /^Success rate, Last (24 h|7 days), per \d h$/);
    assert.match(charts[1].name, /^Duration p50 and p95/);
    // The current period is the last point: the rate at 100 % (y = 2), drawn.
    assert.match(charts[0].lines[0].d, /(H|L)[0-9.]+ 2\.00"?$|2\.00H[0-9.]+$/);
    assert.deepEqual(charts[1].lines.map((l) => l.cls), ['line p95', 'line p50']);
    assert.ok(charts[1].lines.every((l) => /^M/.test(l.d)), 'both duration lines have a point');
  }
  await page.goto(`${baseUrl}/handlers/${failId}`);
  assert.match(await page.textContent('#chart-day-summary'), new RegExp(`^Last 24 h: ${N} executions, 0\\.0% succeeded`));
  await shoot(page, 'form');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the handler list: a sparkline per row, named with its counts', async () => {
  const { page } = await loggedInPage(browser, 'admin', { viewport: { width: 1280, height: 900 } });
  // Pages of other lengths first: one statement serves every length (a cached
  // statement with the wrong number of ids would leave the rows without one).
  for (const size of [10, 25]) {
    await page.goto(`${baseUrl}/handlers?size=${size}`);
    const rows = await page.locator('#handlers tbody tr[data-id]').count();
    assert.equal(await page.locator('#handlers tbody tr[data-id] .spark-wrap svg').count(), rows);
  }
  await page.goto(`${baseUrl}/handlers?event=${EVENT}&status=enabled`);
  const spark = (id) => page.$eval(`#handlers tr[data-id="${id}"] .spark-wrap`, (w) => ({
    label: w.querySelector('svg').getAttribute('aria-label'),
    title: w.querySelector('svg title').textContent,
    text: w.querySelector('.spark-text').textContent,
    ok: w.querySelectorAll('rect.ok').length,
    fail: w.querySelectorAll('rect.fail').length,
  }));
  const ok = await spark(okId);
  assert.equal(ok.text, `24 h: ${N} runs, 0 failed`);
  assert.equal(ok.label, `Executions per hour of handler #${okId} over the last 24 h: ${N} runs, 0 failed`);
  assert.equal(ok.title, ok.label);
  assert.ok(ok.ok >= 1 && ok.fail === 0);
  const failing = await spark(failId);
  assert.equal(failing.text, `24 h: ${N} runs, ${N} failed`);
  assert.ok(failing.fail >= 1 && failing.ok === 0);
  await shoot(page, 'list');
  await page.close();
});

test('the Execution Logs: a stacked histogram over the range; a bar narrows the dates', async () => {
  const { page } = await loggedInPage(browser, 'viewer', { viewport: { width: 1280, height: 900 } });
  const today = sqlValue('SELECT UTC_DATE()');
  await page.goto(`${baseUrl}/logs?handler=${failId}&from=${today}&to=${today}`);
  // One day: a bar per hour; every execution of this handler failed.
  assert.match(await page.textContent('#histogram-summary'),
    new RegExp(`^${N} executions from ${today} 00:00 to .* UTC: 0 succeeded, ${N} failed; one bar per hour\\.$`));
  const bars = await page.$$eval('#histogram a.bar', (as) => as.map((a) => ({
    href: a.getAttribute('href'), label: a.getAttribute('aria-label'), fail: a.querySelectorAll('rect.fail').length })));
  assert.equal(bars.length, 24);
  const filled = bars.filter((b) => b.fail > 0);
  assert.ok(filled.length >= 1 && filled.length <= 2, 'the executions of a few seconds: one hour, two at most');
  const counts = filled.map((b) => Number(/(\d+) failed$/.exec(b.label)[1]));
  assert.equal(counts.reduce((a, b) => a + b, 0), N);
  assert.match(filled[0].label, new RegExp(`^${today} \\d\\d:00 to \\d\\d:59 UTC: 0 succeeded, ${counts[0]} failed$`));
  await shoot(page, 'logs');

  // Clicking the bar: the hour it covers, the other filters kept, a bar per minute.
  const bar = page.locator('#histogram a.bar').nth(bars.indexOf(filled[0]));
  await Promise.all([page.waitForURL(/from=.*%3A00/), bar.click()]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('handler'), String(failId));
  assert.match(url.searchParams.get('from'), new RegExp(`^${today} \\d\\d:00$`));
  assert.match(url.searchParams.get('to'), new RegExp(`^${today} \\d\\d:59$`));
  assert.equal(await page.inputValue('#f-from'), url.searchParams.get('from'));
  assert.match(await page.textContent('#histogram-summary'),
    new RegExp(`^${counts[0]} executions from .*: 0 succeeded, ${counts[0]} failed; one bar per minute\\.$`));
  assert.equal(await page.locator('#histogram a.bar').count(), 60);
  assert.equal(await page.locator('#logs tbody tr[data-id]').count(), counts[0], 'the table shows the same rows');
  await shoot(page, 'logs-narrowed');

  // A text filter: the histogram says it does not apply it.
  await page.goto(`${baseUrl}/logs?handler=${failId}&q=500`);
  assert.match(await page.textContent('#histogram-note'), /the text filter applies to the table, not to them/);
  await page.close();
});

test('the Task Scheduler: a failing handler since when, a late service, each linked', async () => {
  sql("UPDATE services SET last_run_at = UTC_TIMESTAMP(6) - INTERVAL 2 HOUR WHERE name = 'retry_worker'");
  const { page } = await loggedInPage(browser, 'viewer', { viewport: { width: 1280, height: 900 } });
  await page.goto(`${baseUrl}/scheduler`);
  assert.equal(await page.textContent('#health-state'), 'needs attention');
  const failing = page.locator(`#health-failing li[data-id="${failId}"]`);
  assert.match(await failing.textContent(), /failing for \d+ s/);
  assert.match(await failing.textContent(), new RegExp(`since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, ${N} in a row`));
  assert.equal(await failing.locator('a').first().getAttribute('href'), `/handlers/${failId}`);
  assert.equal(await failing.locator('a.health-act').getAttribute('href'), `/logs?handler=${failId}&status=fail`);
  assert.equal(await page.locator(`#health-failing li[data-id="${okId}"]`).count(), 0);
  const late = page.locator('#health-services li[data-service="retry_worker"]');
  assert.match(await late.textContent(), /late\s+last ran 2 h ago: retries and the spool wait until prov-worker runs/);
  assert.equal(await late.locator('a.health-act').getAttribute('href'), '#services');
  assert.match(await page.textContent('#health-retry-trend'), /Last hour: \d+ added, \d+ finished: (growing|shrinking|steady)\./);
  await shoot(page, 'health');

  // A success clears the failing handler's state.
  sql(`UPDATE handlers SET task = '${rx.url}/echo', updated_at = UTC_TIMESTAMP() WHERE id = ${failId};
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
  publish();
  const r = await dispatch([EVENT, '--event-id', uniqueName('charts-recover')], {});
  assert.equal(r.result?.logged, true, r.stderr);
  assert.equal(sqlValue(`SELECT IFNULL(failing_since, 'NULL') FROM handlers WHERE id = ${failId}`), 'NULL');
  await page.goto(`${baseUrl}/scheduler`);
  assert.equal(await page.locator(`#health-failing li[data-id="${failId}"]`).count(), 0);
  await page.close();
});
