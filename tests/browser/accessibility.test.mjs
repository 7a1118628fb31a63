// Browser: axe-core (npm, injected from node_modules) checks every panel page
// at desktop (1280 px) and phone (390 px) width; any violation of impact
// serious or critical fails, with the rule, the nodes and axe's summary; so
// does a fieldset without a legend.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { baseUrl, createUser, launchBrowser, outputDir, runBin, sql, sqlValue, uniqueName } from '../lib/panel.mjs';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WIDTHS = [1280, 390];
const PREFIX = uniqueName('a11y');

let browser;
let admin; // { context, page }
let viewer;
let handlerId;
let logId;
let waitingId; // per-object order: a delivery logged 'waiting' behind logId

async function loginContext(role) {
  const name = uniqueName(`${PREFIX}-${role}`);
  const password = createUser(name, role);
  // The panel's CSP allows no inline script: axe goes in through bypassCSP.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/handlers$/), page.click('button[type=submit]')]);
  return { context, page };
}

function insertHandler(name, { event = 'clients.update', status = 'enabled', priority = 1 } = {}) {
  return Number(sqlValue(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    VALUES ('${name}', '${event}', 'http://127.0.0.1:9/${priority}', 'http', '${status}', ${priority}, UTC_TIMESTAMP(), UTC_TIMESTAMP());
    SELECT LAST_INSERT_ID()`));
}

// Serious and critical violations on page, each as "rule (impact): n nodes: targets".
async function seriousViolations(page) {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} node(s): ${v.nodes.slice(0, 5).join(' | ')}`);
}

// Open url (or run open) at each width, check it, keep a screenshot.
async function check(who, label, open) {
  const failures = [];
  for (const width of WIDTHS) {
    await who.page.setViewportSize({ width, height: 900 });
    if (typeof open === 'string') await who.page.goto(`${baseUrl}${open}`);
    else await open(who.page);
    await who.page.screenshot({ path: path.join(outputDir, `a11y-${label}-${width}.png`), fullPage: true });
    for (const v of await seriousViolations(who.page)) failures.push(`${label} at ${width} px: ${v}`);
    // A group of fields says what it groups (axe leaves this to best practice).
    const unnamed = await who.page.$$eval('fieldset', (sets) => sets.filter((f) => !f.querySelector(':scope > legend')).length);
    if (unnamed > 0) failures.push(`${label} at ${width} px: ${unnamed} fieldset(s) without a legend`);
  }
  assert.ok(failures.length === 0, `axe found serious or critical violations:\n${failures.join('\n')}`);
}

before(async () => {
  browser = await launchBrowser();
  handlerId = insertHandler(`${PREFIX} CRM sync`, { priority: 3 });
  insertHandler(`${PREFIX} Old gateway`, { status: 'disabled', priority: 4 });
  insertHandler(`${PREFIX} Archived`, { status: 'archived', priority: 5 });
  sql('UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1'); // the pending notice shows
  logId = Number(sqlValue(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid,
      delivery_id, attempt, trigger_kind, http_status, duration_us, request_body, request_headers, response_body,
      response_headers, error)
    VALUES (UTC_TIMESTAMP(6), 'fail', 'clients.update', ${handlerId}, '${PREFIX} CRM sync', 12, 'evt-a11y', UUID(), 2,
      'retry', 502, 1500, '{"event":{"id":"evt-a11y"},"data":{"id":12}}', 'Content-Type: application/json',
      '<html>Bad Gateway</html>', 'HTTP/1.1 502 Bad Gateway', 'HTTP 502 from handler');
    SELECT LAST_INSERT_ID()`));
  waitingId = Number(sqlValue(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id,
      event_uid, delivery_id, attempt, trigger_kind, duration_us, request_body, behind_log_id)
    VALUES (UTC_TIMESTAMP(6), 'waiting', 'clients.update', ${handlerId}, '${PREFIX} CRM sync', 12, 'evt-a11y-w', UUID(), 1,
      'dispatch', 0, '{"event":{"id":"evt-a11y-w"},"data":{"id":12}}', ${logId});
    SELECT LAST_INSERT_ID()`));
  sql(`INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid, delivery_id,
      attempt, trigger_kind, http_status, duration_us, request_body, response_body)
    VALUES (UTC_TIMESTAMP(6), 'success', 'clients.update', ${handlerId}, '${PREFIX} CRM sync', 13, 'evt-a11y-2', UUID(),
      1, 'dispatch', 200, 900, '{}', '{"data":{"ok":true}}')`);
  // The charts (issue #17) read the roll-ups: this hour's counts of the rows above.
  for (const [table, column, value] of [['exec_rollup', 'minute', "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:00')"],
    ['exec_rollup_hour', 'hour', "DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00')"], ['exec_rollup_day', 'day', 'UTC_DATE()']]) {
    const verdict = table === 'exec_rollup' ? ', verdict' : '';
    sql(`INSERT INTO ${table} (${column}, handler_id, events_id, status${verdict}, trigger_kind, executions, duration_us_sum, b1, b0)
      VALUES (${value}, ${handlerId}, 'clients.update', 'fail'${verdict ? ", 'failed'" : ''}, 'retry', 1, 1500, 1, 0),
             (${value}, ${handlerId}, 'clients.update', 'success'${verdict ? ", 'unchanged'" : ''}, 'dispatch', 1, 900, 0, 1)
      ON DUPLICATE KEY UPDATE executions = executions + 1`);
  }
  sql(`UPDATE handlers SET last_status = 'fail', last_run_at = UTC_TIMESTAMP(6), failing_since = UTC_TIMESTAMP(6),
    consecutive_failures = 1, last_error = 'HTTP 502 from handler' WHERE id = ${handlerId}`);
  admin = await loginContext('admin');
  viewer = await loginContext('viewer');
});

after(async () => {
  await browser?.close();
  sql(`DELETE FROM exec_logs WHERE handler_name LIKE '${PREFIX}%'`);
  sql(`DELETE FROM exec_rollup WHERE handler_id = ${handlerId}; DELETE FROM exec_rollup_hour WHERE handler_id = ${handlerId};
    DELETE FROM exec_rollup_day WHERE handler_id = ${handlerId}`);
  sql(`DELETE FROM handlers WHERE name LIKE '${PREFIX}%'`);
});

test('the login page', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  await check({ page }, 'login', '/login');
  await check({ page }, 'login-refused', async (p) => {
    await p.goto(`${baseUrl}/login`);
    await p.fill('#username', uniqueName('nobody'));
    await p.fill('#password', 'wrong password');
    await Promise.all([p.waitForLoadState(), p.click('button[type=submit]')]);
    await p.waitForSelector('#login-error');
  });
  await context.close();
});

test('the handler list, plain and filtered, with a message and the pending notice', async () => {
  await check(admin, 'handlers', `/handlers?done=disabled&id=${handlerId}`);
  await check(admin, 'handlers-filtered', '/handlers?event=clients.update&type=http&status=disabled');
  await check(admin, 'handlers-search-open', async (p) => {
    await p.goto(`${baseUrl}/handlers?status=archived`);
    await p.click('#advanced-search summary');
  });
  await check(viewer, 'handlers-viewer', '/handlers');
});

test('the handler form: new, edit, refused input, a viewer\'s read-only form', async () => {
  await check(admin, 'form-new', '/handlers/new');
  await check(admin, 'form-edit', `/handlers/${handlerId}`);
  await check(admin, 'form-errors', async (p) => {
    await p.goto(`${baseUrl}/handlers/new`);
    await p.fill('#f-task', 'ftp://x');
    await Promise.all([p.waitForNavigation(), p.click('#save')]);
  });
  await check(viewer, 'form-viewer', `/handlers/${handlerId}`);
});

test('the delete confirmation and the signing secret page', async () => {
  await check(admin, 'delete-confirm', `/handlers/${handlerId}/delete`);
  await check(admin, 'secret', async (p) => {
    await p.goto(`${baseUrl}/handlers/${handlerId}`);
    await p.check('#f-secret-generate');
    await Promise.all([p.waitForNavigation(), p.click('#save')]);
    await p.waitForSelector('h1');
  });
});

test('the Execution Logs: list with a handler select, with the id field, details', async () => {
  await check(admin, 'logs', '/logs');
  await check(admin, 'logs-handler', `/logs?handler=${handlerId}&status=fail`);
  await check(admin, 'logs-histogram-day', `/logs?handler=${handlerId}&from=${sqlValue('SELECT UTC_DATE()')}`);
  await check(admin, 'logs-bad-filter', '/logs?from=yesterday');
  await check(admin, 'log-detail', `/logs/${logId}`);
  await check(admin, 'logs-waiting', '/logs?status=waiting');
  await check(admin, 'log-detail-waiting', `/logs/${waitingId}`);
  // Over 100 handlers: the handler filter is a field for the id.
  const values = [];
  for (let i = 0; i < 101; i++) {
    values.push(`('${PREFIX} many ${i}', 'clients.create', 'http://127.0.0.1:9/m', 'http', 'enabled', 50, UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  }
  sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at) VALUES ${values.join(',')}`);
  try {
    await check(admin, 'logs-many-handlers', async (p) => {
      await p.goto(`${baseUrl}/logs`);
      assert.equal(await p.getAttribute('#f-handler', 'type'), 'text', 'over 100 handlers: an id field');
    });
    await check(admin, 'logs-many-handlers-filtered', `/logs?handler=${handlerId}`);
  } finally {
    sql(`DELETE FROM handlers WHERE name LIKE '${PREFIX} many %'`);
  }
});

test('the Task Scheduler, the API keys, an error page', async () => {
  await check(admin, 'scheduler', '/scheduler');
  await check(viewer, 'scheduler-viewer', '/scheduler');
  await check(admin, 'apikeys', async (p) => {
    await p.goto(`${baseUrl}/apikeys`);
    await p.fill('#key-name', 'a11y key');
    await Promise.all([p.waitForNavigation(), p.click('form.form-inline button[type=submit]')]);
    await p.waitForSelector('#created-key');
  });
  await check(admin, 'error', '/handlers/999999999');
});

test('bulk recovery, the History panel, the publish preview and the rollback confirmation (#16)', async () => {
  await check(admin, 'logs-bulk-offer', `/logs?handler=${handlerId}&status=fail&from=2000-01-01`);
  await check(admin, 'bulk-confirm', `/logs/redeliver?handler=${handlerId}&status=fail&from=2000-01-01`);
  const bulkId = Number(sqlValue(`INSERT INTO bulk_redeliveries (handler_id, since, until, max_log_id, expected, total,
      state, requested_by, created_at, updated_at, finished_at) VALUES (${handlerId}, '2000-01-01', '9999-12-31 23:59:59',
      ${logId}, 2, 2, 'done', '${PREFIX}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6));
    SELECT LAST_INSERT_ID()`));
  sql(`INSERT INTO bulk_redelivery_items (bulk_id, log_id, handler_id, object_id, state, error) VALUES
      (${bulkId}, ${logId}, ${handlerId}, 12, 'failed', 'the handler answered HTTP 502'),
      (${bulkId}, ${logId} + 1, ${handlerId}, 13, 'delivered', NULL)`);
  try {
    await check(admin, 'bulk-progress', `/logs/bulk/${bulkId}`);
  } finally {
    sql(`DELETE FROM bulk_redeliveries WHERE id = ${bulkId}`);
  }
  sql(`INSERT INTO change_history (at, actor_kind, actor, kind, action, handler_id, before_json, after_json) VALUES
      (UTC_TIMESTAMP(6), 'panel', '${PREFIX}', 'handler', 'edit', ${handlerId}, '{"name":"old","priority":1,"secret":null}',
       '{"name":"new","priority":3,"secret":"set"}')`);
  await check(admin, 'form-history', `/handlers/${handlerId}`);
  await check(admin, 'scheduler-preview', '/scheduler'); // edits are pending (before): the preview shows
  if (Number(sqlValue('SELECT COUNT(*) FROM cache_generations')) === 0) runBin('prov-cache', ['reload', '--by', PREFIX]);
  await check(admin, 'rollback-confirm', `/scheduler/rollback/${sqlValue('SELECT MIN(generation) FROM cache_generations')}`);
});

test('Send test results, verdicts in the logs, the event view (issue #16)', async () => {
  const uid = `${PREFIX}-chain`;
  const row = (verdict, status, priority, extra = '') => `(UTC_TIMESTAMP(6) + INTERVAL ${priority} SECOND, '${status}', '${verdict}',
    ${extra}, 'clients.update', ${handlerId}, '${PREFIX} CRM sync', 14, '${uid}', UUID(), 1, 'dispatch', 200, 1200,
    '{"event":{"id":"${uid}"},"data":{"id":14}}', '{"data":{"id":14,"crm":"C-1"}}')`;
  sql(`INSERT INTO exec_logs (dt, status, verdict, forbid_reason, skipped_handlers, events_id, handler_id, handler_name,
      object_id, event_uid, delivery_id, attempt, trigger_kind, http_status, duration_us, request_body, response_body)
    VALUES ${row('modified', 'success', 1, 'NULL, NULL')}, ${row('forbidden', 'success', 2, `'over limit', '${handlerId}'`)}`);
  const first = Number(sqlValue(`SELECT MIN(id) FROM exec_logs WHERE event_uid = '${uid}'`));
  await check(admin, 'event-view', `/logs/${first}/event`);
  await check(viewer, 'log-detail-verdict', `/logs/${first + 1}`);
  await check(admin, 'logs-verdict', '/logs?verdict=forbidden');
  await check(admin, 'logs-verdict-refused', '/logs?verdict=forbidden&status=fail');
  await check(admin, 'form-test-result', async (p) => {
    await p.goto(`${baseUrl}/handlers/${handlerId}`);
    await Promise.all([p.waitForNavigation(), p.click('#send-test')]);
    await p.waitForSelector('#test-result');
  });
  // A script's Send test (queued for the retry worker, none running lately; then done).
  const result = JSON.stringify({ log_id: first, status: 'success', verdict: 'forbidden', reason: 'over <limit>',
    http_status: null, exit_code: 0, error: null, duration_ms: 4.2, timeout_ms: 5000, reply: '{"allow":false}',
    request_headers: '', data: null, request: { event: {}, data: {} }, event_id: uid, delivery_id: 'd' });
  const testRow = (state, extra) => Number(sqlValue(`INSERT INTO handler_test_queue (state, requested_by, created_at,
      updated_at, claimed_by, handler_id, handler_name, events_id, task, timeout_ms, data, log_id, result)
    VALUES ('${state}', '${PREFIX}', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), ${extra.claimedBy}, ${handlerId}, '${PREFIX} CRM sync',
      'clients.update', '/srv/scripts/crm.sh', 5000, '{}', ${extra.logId}, ${extra.result}); SELECT LAST_INSERT_ID()`));
  const queuedTest = testRow('queued', { claimedBy: 'NULL', logId: 'NULL', result: 'NULL' });
  const doneTest = testRow('done', { claimedBy: "'host-1:42'", logId: first, result: `'${result.replace(/'/g, "''")}'` });
  sql("UPDATE services SET last_run_at = UTC_TIMESTAMP(6) - INTERVAL 1 HOUR WHERE name = 'retry_worker'");
  try {
    await check(admin, 'test-script-queued', `/handlers/tests/${queuedTest}`);
    await check(admin, 'test-script-done', `/handlers/tests/${doneTest}`);
  } finally {
    sql(`DELETE FROM handler_test_queue WHERE requested_by = '${PREFIX}'`);
  }
  await check(admin, 'form-test-refused', async (p) => {
    await p.goto(`${baseUrl}/handlers/${handlerId}`);
    await p.fill('#f-test-data', '{"broken":');
    await Promise.all([p.waitForNavigation(), p.click('#send-test')]);
    await p.waitForSelector('#test-refused');
  });
});
