// Retention of what would otherwise only grow (issue #12): the log purge also
// deletes finished retry_queue rows past retry_retention_days and the
// snapshots beyond the newest cache_generations_keep (never the current one),
// and the Task Scheduler's queue counts are read from an index alone.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { clientAs, runBin, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, configWith, disableAll, dispatch, publish, q } from '../lib/dispatch.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => { disableAll(); rx.reset(); });

const EVENT = 'clients.balance_zero';
// --days 36500: these tests are about the retry queue and the snapshots, not the log.
const purge = (config) => runBin('prov-admin', ['logs', 'purge', '--days', '36500', '--config', config]);

function queueRow(tag, name, { state, daysAgo, claimedBy = null }) {
  sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
         state, next_attempt_at, claimed_by, created_at, updated_at)
       VALUES (UUID(), 1, ${q(name)}, ${q(EVENT)}, ${q(tag)}, '{}', 2, ${q(state)},
         UTC_TIMESTAMP(6) + INTERVAL 1 HOUR, ${q(claimedBy)}, UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY,
         UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY)`);
}

test('done and exhausted retry rows older than retry_retention_days go; younger and scheduled ones stay', () => {
  const tag = uniqueName('retention');
  queueRow(tag, 'done old', { state: 'done', daysAgo: 31 });
  queueRow(tag, 'exhausted old', { state: 'exhausted', daysAgo: 45 });
  queueRow(tag, 'done young', { state: 'done', daysAgo: 29 });
  queueRow(tag, 'exhausted young', { state: 'exhausted', daysAgo: 1 });
  queueRow(tag, 'scheduled old', { state: 'scheduled', daysAgo: 400 });
  queueRow(tag, 'claimed old', { state: 'scheduled', daysAgo: 400, claimedBy: 'dead:1' });
  const due = Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE state IN ('done', 'exhausted')
    AND updated_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY`));
  // Script redeliveries the panel queued: run ones past retention go too (their outcome is logged).
  for (const [state, daysAgo, what] of [['done', 31, 'done old'], ['done', 29, 'done young'], ['queued', 400, 'queued old'],
    ['running', 400, 'running old']]) {
    sql(`INSERT INTO redeliver_queue (log_id, state, error, created_at, updated_at) VALUES (1, ${q(state)},
      ${q(`${tag} ${what}`)}, UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY, UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY)`);
  }
  const redeliveries = Number(sqlValue(`SELECT COUNT(*) FROM redeliver_queue WHERE state = 'done'
    AND updated_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY`));
  // Bulk redeliveries: finished ones past retention go with their items; a
  // young one and a running one stay.
  const bulkIds = {};
  for (const [state, daysAgo, what] of [['done', 31, 'done old'], ['done', 29, 'done young'], ['running', 400, 'running old']]) {
    bulkIds[what] = Number(sqlValue(`INSERT INTO bulk_redeliveries (since, until, max_log_id, expected, total, state,
        requested_by, created_at, updated_at, finished_at) VALUES ('2000-01-01', '2000-01-02', 1, 2, 2, ${q(state)},
        ${q(`${tag} ${what}`)}, UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY, UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY,
        ${state === 'done' ? `UTC_TIMESTAMP(6) - INTERVAL ${daysAgo} DAY` : 'NULL'}); SELECT LAST_INSERT_ID()`));
    sql(`INSERT INTO bulk_redelivery_items (bulk_id, log_id, state) VALUES (${bulkIds[what]}, 1, 'delivered'), (${bulkIds[what]}, 2, 'failed')`);
  }
  const bulks = Number(sqlValue(`SELECT COUNT(*) FROM bulk_redeliveries WHERE state = 'done'
    AND finished_at < UTC_TIMESTAMP(6) - INTERVAL 30 DAY`));
  // Script Send tests (handler_test_queue): a day old go whatever their state (their execution is logged).
  for (const [state, hoursAgo] of [['done', 25], ['queued', 30], ['running', 48], ['done', 23], ['queued', 1]]) {
    sql(`INSERT INTO handler_test_queue (state, requested_by, created_at, updated_at, handler_name, events_id, task,
      timeout_ms, data) VALUES (${q(state)}, ${q(`${tag} ${state} ${hoursAgo}`)}, UTC_TIMESTAMP(6) - INTERVAL ${hoursAgo} HOUR,
      UTC_TIMESTAMP(6) - INTERVAL ${hoursAgo} HOUR, 'x', 'clients.create', 'x.sh', 1000, '{}')`);
  }
  const tests = Number(sqlValue('SELECT COUNT(*) FROM handler_test_queue WHERE created_at < UTC_TIMESTAMP(6) - INTERVAL 24 HOUR'));
  assert.ok(due >= 2);
  const config = configWith('retention.conf', { retry_retention_days: 30 });
  const r = purge(config);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`\nremoved ${due} finished retry queue rows, ${redeliveries} run script redeliveries and ${bulks} finished bulk redeliveries older than 30 days, \\d+ snapshot generations beyond the newest 20, \\d+ metrics roll-up rows older than 35 days, ${tests} script tests older than 24 h\ntook \\d+\\.\\d\\d s for the log and \\d+\\.\\d\\d s for the retention\n$`));
  assert.deepEqual(sql(`SELECT handler_name FROM retry_queue WHERE event_uid = ${q(tag)} ORDER BY id`).map(([n]) => n),
    ['done young', 'exhausted young', 'scheduled old', 'claimed old']);
  assert.match(sqlValue("SELECT CONCAT(last_result, ' ', last_detail) FROM services WHERE name = 'retention'"),
    new RegExp(`^ok removed ${due} finished retry queue rows, ${redeliveries} run script redeliveries and ${bulks} finished bulk redeliveries older than 30 days and \\d+ snapshot generations beyond the newest 20; \\d+ metrics roll-up rows older than 35 days; ${tests} script tests older than 24 h$`));
  assert.deepEqual(sql(`SELECT requested_by FROM handler_test_queue WHERE requested_by LIKE ${q(`${tag}%`)} ORDER BY id`).map(([r]) => r),
    [`${tag} done 23`, `${tag} queued 1`], 'script tests a day old go, whatever their state');
  sql(`DELETE FROM handler_test_queue WHERE requested_by LIKE ${q(`${tag}%`)}`); // no worker of a later test runs it
  assert.deepEqual(sql(`SELECT error FROM redeliver_queue WHERE error LIKE ${q(`${tag}%`)} ORDER BY id`).map(([e]) => e),
    [`${tag} done young`, `${tag} queued old`, `${tag} running old`], 'run redeliveries past retention go; waiting ones stay');
  assert.deepEqual(sql(`SELECT requested_by, (SELECT COUNT(*) FROM bulk_redelivery_items i WHERE i.bulk_id = b.id)
      FROM bulk_redeliveries b WHERE requested_by LIKE ${q(`${tag}%`)} ORDER BY id`),
    [[`${tag} done young`, '2'], [`${tag} running old`, '2']], 'finished bulk redeliveries past retention go with their items');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM bulk_redelivery_items WHERE bulk_id = ${bulkIds['done old']}`)), 0);
  // A shorter setting takes the young done row too.
  assert.equal(purge(configWith('retention-short.conf', { retry_retention_days: 10 })).status, 0);
  assert.deepEqual(sql(`SELECT handler_name FROM retry_queue WHERE event_uid = ${q(tag)} ORDER BY id`).map(([n]) => n),
    ['exhausted young', 'scheduled old', 'claimed old']);
});

test('the newest cache_generations_keep snapshots and the current one are kept, the rest go', async () => {
  addHandler({ name: 'kept', event: EVENT, task: `${rx.url}/echo?kept=1` });
  const first = publish();
  for (let i = 0; i < 4; i++) publish();
  const last = first + 4;
  // A rollback may point the current generation back at an old one: it stays.
  sql(`UPDATE cache_state SET generation = ${first + 1} WHERE id = 1`);
  try {
    const r = purge(configWith('retention-keep3.conf', { cache_generations_keep: 3 }));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /snapshot generations beyond the newest 3, \d+ metrics roll-up rows older than 35 days, \d+ script tests older than 24 h\ntook \d+\.\d\d s for the log and \d+\.\d\d s for the retention\n$/);
    assert.deepEqual(sql('SELECT generation FROM cache_generations ORDER BY generation').map(([g]) => Number(g)),
      [first + 1, last - 2, last - 1, last]);
  } finally {
    sql(`UPDATE cache_state SET generation = ${last} WHERE id = 1`);
  }
  const r = purge(configWith('retention-keep2.conf', { cache_generations_keep: 2 }));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /, 2 snapshot generations beyond the newest 2, \d+ metrics roll-up rows older than 35 days, \d+ script tests older than 24 h\ntook \d+\.\d\d s for the log and \d+\.\d\d s for the retention\n$/);
  assert.deepEqual(sql('SELECT generation FROM cache_generations ORDER BY generation').map(([g]) => Number(g)),
    [last - 1, last]);
  const d = await dispatch([EVENT], {});
  assert.equal(d.status, 0, d.stderr);
  assert.equal(d.result.generation, last);
  assert.deepEqual(rx.requests.map((x) => x.query.kept), ['1']);
  // The current one and the one before it (rollback) are the least kept.
  const one = purge(configWith('retention-keep1.conf', { cache_generations_keep: 1 }));
  assert.equal(one.status, 78);
  assert.match(one.stderr, /key 'cache_generations_keep' is out of range/);
});

test('the Task Scheduler reads the queue counts from an index: EXPLAIN of the query it sends', async () => {
  const tag = uniqueName('retention-explain');
  // Enough finished rows that a scan would cost; none of them is read.
  sql(`INSERT INTO retry_queue (delivery_id, handler_id, handler_name, events_id, event_uid, envelope, attempt,
         state, next_attempt_at, created_at, updated_at)
       SELECT UUID(), 1, 'bulk', ${q(EVENT)}, ${q(tag)}, REPEAT('x', 2000), 1, IF(seq % 10 = 0, 'exhausted', 'done'),
         UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) FROM seq_1_to_3000`);
  sql('ANALYZE TABLE retry_queue');
  const viewer = await clientAs('viewer');
  sql("SET GLOBAL log_output = 'TABLE'; TRUNCATE mysql.general_log; SET GLOBAL general_log = 'ON'");
  let page;
  try {
    page = await viewer.get('/scheduler');
  } finally {
    sql("SET GLOBAL general_log = 'OFF'");
  }
  assert.equal(page.status, 200);
  const counts = sql(`SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log
    WHERE argument LIKE '%COUNT(*) FROM (SELECT 1 FROM retry_queue%' ORDER BY event_time DESC LIMIT 1`);
  sql('TRUNCATE mysql.general_log');
  assert.equal(counts.length, 1, 'the panel sent the counts query');
  const plan = sql(`EXPLAIN ${counts[0][0]}`)
    .map(([id, selectType, table, type, possibleKeys, key, keyLen, ref, rows, extra]) => ({ table, type, key, extra }))
    .filter((p) => p.table === 'retry_queue');
  assert.equal(plan.length, 4, JSON.stringify(plan));
  for (const p of plan) {
    assert.ok(['ref', 'range'].includes(p.type), `a range of the index, not a scan: ${JSON.stringify(p)}`);
    assert.match(p.extra, /Using index/, `the index alone: ${JSON.stringify(p)}`);
  }
  const [done, exhausted] = sql(`SELECT SUM(state = 'done'), SUM(state = 'exhausted') FROM retry_queue`)[0];
  assert.match(page.text, new RegExp(`id="retry-exhausted"><span class="status status-failed">${exhausted}</span>`));
  assert.ok(page.text.includes(`>${done}<`), 'the done count is shown');
  sql(`DELETE FROM retry_queue WHERE event_uid = ${q(tag)}`);
});
