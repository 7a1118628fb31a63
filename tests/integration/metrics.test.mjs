// GET /metrics (issue #17): its access rules, its content checked by
// promtool and by a real Prometheus (Debian's package) scraping it with a
// bearer token, on loopback, and the roll-up's guarantee: counters are
// written in the log's own transaction, so a log transaction that fails
// leaves no count, and after the spool import the counts equal the log rows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { apiUser, baseUrl, configPath, runBin, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { addHandler, configWith, disableAll, dispatch, publish, q } from '../lib/dispatch.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { worker } from '../lib/retry.mjs';
import { startService } from '../lib/faults.mjs';

const EVENT = 'clients.accounts.update';
let rx;
let viewer;
before(async () => {
  rx = await startReceiver();
  viewer = apiUser('viewer');
});
after(() => rx.close());

const scrape = (headers = {}, urlPath = '/metrics', method = 'GET') =>
  fetch(`${baseUrl}${urlPath}`, { method, headers, redirect: 'manual' });

// The samples of one metric in a text exposition, as { labels, value }.
function samples(text, name) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf('{');
    const labels = {};
    let rest = line.slice(name.length);
    if (brace === name.length) {
      const end = line.lastIndexOf('}');
      for (const m of line.slice(brace + 1, end).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
      rest = line.slice(end + 1);
    }
    out.push({ labels, value: Number(rest.trim()) });
  }
  return out;
}

test('/metrics needs a key (Bearer or X-Api-Key, a viewer\'s will do), GET only, one-line errors', async () => {
  const none = await scrape();
  assert.equal(none.status, 401);
  const noneText = await none.text();
  assert.equal(noneText.trim().split('\n').length, 1);
  assert.equal(JSON.parse(noneText).error.data.code, 'missing_api_key');
  assert.match(JSON.parse(noneText).error.message, /Bearer/);
  const bad = await scrape({ authorization: `Bearer pk_${'0'.repeat(64)}` });
  assert.equal(bad.status, 401);
  assert.equal(JSON.parse(await bad.text()).error.data.code, 'invalid_api_key');
  assert.equal((await scrape({ authorization: `Basic ${viewer.key}` })).status, 401, 'only the Bearer scheme');
  const post = await scrape({ authorization: `Bearer ${viewer.key}` }, '/metrics', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
  assert.equal((await post.text()).trim().split('\n').length, 1);
  for (const headers of [{ authorization: `Bearer ${viewer.key}` }, { authorization: `bearer ${viewer.key}` },
    { 'x-api-key': viewer.key }]) {
    const r = await scrape(headers);
    assert.equal(r.status, 200, JSON.stringify(headers));
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.match(await r.text(), /^# HELP prov_executions_total /);
  }
  // The same page under the API's prefix.
  assert.equal((await scrape({ 'x-api-key': viewer.key }, '/api/v1/metrics')).status, 200);
});

// Handlers of every verdict; some fail (and are queued for retry).
let ids;
let weirdName;
const SECRET = `whsec_${'s3cr3t'.repeat(6)}`;
const N = 8;

test('N events dispatched in parallel: counters equal the log rows, in both tables', async () => {
  disableAll();
  weirdName = uniqueName('say "hi" \\ back\nslash');
  ids = {
    ok: addHandler({ name: weirdName, event: EVENT, task: `${rx.url}/echo`, priority: 1 }),
    fail: addHandler({ name: uniqueName('m-fail'), event: EVENT, task: `${rx.url}/status/500`, priority: 2 }),
    modify: addHandler({ name: uniqueName('m-mod'), event: EVENT, task: `${rx.url}/modify?set=${encodeURIComponent('{"m":1}')}`, priority: 3 }),
    forbid: addHandler({ name: uniqueName('m-forbid'), event: EVENT, task: `http://user:pa55word-xyz@127.0.0.1:${rx.port}/forbid?reason=no&token=tok-xyz`, priority: 4, secret: SECRET }),
  };
  publish();
  const uid = uniqueName('metrics');
  // In parallel: writers of the same counter rows must wait, not deadlock.
  const runs = await Promise.all(Array.from({ length: N }, (_, i) =>
    dispatch([EVENT, '--event-id', `${uid}-${i}`], { i })));
  for (const r of runs) {
    assert.equal(r.status, 1, r.stderr); // forbidden by the last handler
    assert.equal(r.result.logged, true, r.stdout);
  }
  const idList = Object.values(ids).join(',');
  const logged = sql(`SELECT handler_id, status, COUNT(*) FROM exec_logs WHERE handler_id IN (${idList})
    GROUP BY handler_id, status ORDER BY handler_id`);
  const totals = sql(`SELECT handler_id, status, SUM(executions) FROM exec_totals WHERE handler_id IN (${idList})
    GROUP BY handler_id, status ORDER BY handler_id`);
  const rollup = sql(`SELECT handler_id, status, SUM(executions) FROM exec_rollup WHERE handler_id IN (${idList})
    GROUP BY handler_id, status ORDER BY handler_id`);
  assert.deepEqual(totals, logged);
  assert.deepEqual(rollup, logged);
  assert.deepEqual(logged.map(([, s, n]) => [s, Number(n)]),
    [['success', N], ['fail', N], ['success', N], ['success', N]]);
  // Every execution in one bucket: the bucket counts add up (none over 300 s).
  assert.equal(sqlValue(`SELECT SUM(b0+b1+b2+b3+b4+b5+b6+b7+b8+b9+b10+b11+b12+b13+b14+b15) FROM exec_totals
    WHERE handler_id IN (${idList})`), String(4 * N));
  assert.equal(sqlValue(`SELECT SUM(duration_us_sum) FROM exec_totals WHERE handler_id IN (${idList})`),
    sqlValue(`SELECT SUM(duration_us) FROM exec_logs WHERE handler_id IN (${idList})`));
});

test('a scrape passes promtool, escapes names and never shows a secret', async () => {
  const r = await scrape({ authorization: `Bearer ${viewer.key}` });
  assert.equal(r.status, 200);
  const text = await r.text();
  writeFileSync(path.join(process.env.PROV_TEST_OUTPUT || runDir, 'metrics-scrape.txt'), text);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  const info = samples(text, 'prov_handler_info').find((s) => s.labels.handler === String(ids.ok));
  assert.equal(info.labels.name, weirdName.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n'));
  for (const secret of [SECRET, 'pa55word-xyz', 'tok-xyz', viewer.key, 'user:']) {
    assert.ok(!text.includes(secret), `the page shows ${secret}`);
  }
  const failed = samples(text, 'prov_executions_total')
    .filter((s) => s.labels.handler === String(ids.fail));
  assert.deepEqual(failed, [{ labels: { handler: String(ids.fail), event: EVENT, status: 'fail', verdict: 'failed', trigger: 'dispatch' }, value: N }]);
  assert.ok(samples(text, 'prov_retry_queue_rows').find((s) => s.labels.state === 'scheduled').value >= N);
});

// ---------------------------------------------------------------- Prometheus

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, fn, timeoutMs = 45000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}

// The dispatcher service's figures (one row per host, written by its
// reporter every 5 s) and the answers by status (flushed by each FastCGI
// process at most every 5 s, after a later request).
const host = os.hostname();
let served;
test('dispatcher service workers, events served and exec fallbacks; answers by status', async () => {
  disableAll();
  const id = addHandler({ name: uniqueName('m-svc'), event: EVENT, task: `${rx.url}/echo` });
  publish();
  const sock = path.join(mkdtempSync(path.join(runDir, 'msvc-')), 'd.sock');
  const config = configWith('metrics-service.conf', { dispatch_socket: sock, dispatch_workers: 2, dispatch_wait_ms: 10000 });
  sql(`DELETE FROM dispatch_service_stats WHERE host = ${q(host)}`);
  const svc = await startService(config, { workers: 2 });
  const row = () => sql(`SELECT workers, busy, events_served, exec_fallbacks FROM dispatch_service_stats WHERE host = ${q(host)}`)[0];
  try {
    await until('the reporter\'s first row', () => row()?.[0] === '2');
    for (let i = 0; i < 3; i++) {
      const r = await dispatch([EVENT, '--event-id', uniqueName('m-svc')], { i }, { env: { PROV_CONFIG: config } });
      assert.equal(r.result?.logged, true, r.stderr);
    }
    await until('3 events served in the row', () => row()?.[2] === '3', 20000);
    const text = await (await scrape({ authorization: `Bearer ${viewer.key}` })).text();
    const one = (name, labels = {}) => samples(text, name).filter((x) => x.labels.host === host
      && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).map((x) => x.value);
    assert.deepEqual(one('prov_dispatch_service_up'), [1]);
    assert.deepEqual(one('prov_dispatch_service_workers', { state: 'busy' }), [0]);
    assert.deepEqual(one('prov_dispatch_service_workers', { state: 'idle' }), [2]);
    assert.deepEqual(one('prov_dispatch_events_served_total'), [3]);
    assert.deepEqual(one('prov_dispatch_exec_fallbacks_total'), [0]);
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
  // Stopped: its last report says so; the next event runs in prov-dispatch's own process and is counted.
  assert.equal(row()[0], '0', 'the stopped pool was reported');
  const r = await dispatch([EVENT, '--event-id', uniqueName('m-fallback')], {}, { env: { PROV_CONFIG: config } });
  assert.equal(r.result?.logged, true, r.stderr);
  assert.equal(row()[3], '1', 'one exec fallback');
  const text = await (await scrape({ 'x-api-key': viewer.key })).text();
  assert.deepEqual(samples(text, 'prov_dispatch_exec_fallbacks_total').filter((x) => x.labels.host === host).map((x) => x.value), [1]);
  assert.deepEqual(samples(text, 'prov_dispatch_service_up').filter((x) => x.labels.host === host).map((x) => x.value), [0]);
  served = 3;
  sql(`UPDATE handlers SET status = 'disabled' WHERE id = ${id}`);

  // Answers by status: 5 refused keys, counted once each process flushes (a later request, 5 s on).
  const counted = (program, status) => Number(sqlValue(`SELECT IFNULL(SUM(requests), 0) FROM request_stats
    WHERE program = '${program}' AND status = ${status}`));
  const before = counted('api', 401);
  for (let i = 0; i < 5; i++) assert.equal((await scrape({ authorization: `Bearer pk_${'1'.repeat(64)}` })).status, 401);
  const flushed = await until('the 401s flushed', async () => {
    const page = await (await scrape({ authorization: `Bearer ${viewer.key}` })).text();
    const v = samples(page, 'prov_http_requests_total').find((x) => x.labels.program === 'api' && x.labels.status === '401');
    return v && v.value >= before + 5 ? v.value : undefined;
  }, 60000);
  assert.ok(flushed >= before + 5);
  assert.ok(counted('api', 200) > 0, 'the scrapes themselves');
  const panelBefore = counted('panel', 200);
  await until('a panel answer counted', async () => {
    await fetch(`${baseUrl}/login`);
    return counted('panel', 200) > panelBefore;
  }, 60000);
});

test('a real Prometheus scrapes /metrics with a bearer token; PromQL returns the counts', async () => {
  const dir = mkdtempSync(path.join(runDir, 'prometheus-'));
  const port = await freePort();
  const target = new URL(baseUrl).host; // 127.0.0.1:PORT
  assert.match(target, /^127\.0\.0\.1:\d+$/, 'loopback only');
  writeFileSync(path.join(dir, 'prometheus.yml'), `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prov
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: ${viewer.key}
    static_configs:
      - targets: ['${target}']
`);
  const child = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  child.stderr.on('data', (c) => log.push(c));
  const exited = new Promise((resolve) => child.on('close', resolve));
  const prom = `http://127.0.0.1:${port}`;
  const query = async (promql) => {
    const r = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await r.json();
    if (body.status !== 'success') throw new Error(JSON.stringify(body));
    return body.data.result;
  };
  const value = async (promql) => {
    const result = await query(promql);
    return result.length === 1 ? Number(result[0].value[1]) : undefined;
  };
  try {
    await until('prometheus to be ready', async () => (await fetch(`${prom}/-/ready`)).status === 200);
    // Readiness: the first scrape holding our handlers' counters.
    await until('a scrape with the counters',
      async () => (await value(`prov_executions_total{handler="${ids.fail}"}`)) === N);
    assert.equal(await value('up{job="prov"}'), 1);
    const byVerdict = await query(`sum by (verdict) (prov_executions_total{handler=~"${Object.values(ids).join('|')}"})`);
    assert.deepEqual(Object.fromEntries(byVerdict.map((s) => [s.metric.verdict, Number(s.value[1])])),
      { unchanged: N, failed: N, modified: N, forbidden: N });
    assert.equal(await value(`sum(prov_executions_total{handler="${ids.ok}",status="success",trigger="dispatch",event="${EVENT}"})`), N);
    assert.equal(await value(`prov_execution_duration_seconds_count{handler="${ids.modify}"}`), N);
    const p95 = await value(`histogram_quantile(0.95, prov_execution_duration_seconds_bucket{handler="${ids.ok}"})`);
    assert.ok(Number.isFinite(p95) && p95 > 0 && p95 <= 5, `p95 ${p95}`);
    const name = await query(`prov_handler_info{handler="${ids.ok}"}`);
    assert.equal(name[0].metric.name, weirdName, 'the label value comes back whole (escaping)');
    assert.ok((await value('prov_retry_queue_rows{state="scheduled"}')) >= N);
    assert.ok((await value('prov_cache_generation')) >= 1);
    assert.equal(await value(`prov_dispatch_events_served_total{host="${host}"}`), served);
    assert.equal(await value(`prov_dispatch_exec_fallbacks_total{host="${host}"}`), 1);
    assert.ok((await value('sum(prov_http_requests_total{program="api",status="401"})')) >= 5);
    const targets = await (await fetch(`${prom}/api/v1/targets`)).json();
    assert.equal(targets.data.activeTargets[0].health, 'up', JSON.stringify(targets.data.activeTargets[0]));
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.doesNotMatch(Buffer.concat(log).toString('utf8'), /level=error/);
});

// ---------------------------------------------------------------- guarantees

test('a log transaction that fails leaves no count; the spool import then counts each row once', async () => {
  disableAll();
  const id = addHandler({ name: uniqueName('m-fault'), event: EVENT, task: `${rx.url}/echo` });
  publish();
  // The handler's state update is the last statement of the log transaction,
  // after the counters: it fails, so the whole transaction is rolled back.
  sql(`CREATE TRIGGER metrics_fault BEFORE UPDATE ON handlers FOR EACH ROW
       SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'metrics test fault'`);
  const uid = uniqueName('metrics-fault');
  let d;
  try {
    d = await dispatch([EVENT, '--event-id', uid], {});
  } finally {
    sql('DROP TRIGGER IF EXISTS metrics_fault');
  }
  assert.equal(d.status, 0, d.stderr);
  assert.equal(d.result.logged, false, d.stdout);
  assert.equal(d.result.spooled, true, d.stdout);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = ${q(uid)}`), '0');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_totals WHERE handler_id = ${id}`), '0', 'no count without its row');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_rollup WHERE handler_id = ${id}`), '0');
  const w = await worker(['--once', '--id', 'metrics-test']);
  assert.equal(w.status, 0, `${w.stdout}${w.stderr}`);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = ${q(uid)}`), '1');
  assert.equal(sqlValue(`SELECT SUM(executions) FROM exec_totals WHERE handler_id = ${id}`), '1');
  assert.equal(sqlValue(`SELECT SUM(executions) FROM exec_rollup WHERE handler_id = ${id}`), '1');
  // A second import finds nothing more to count.
  assert.equal((await worker(['--once', '--id', 'metrics-test'])).status, 0);
  assert.equal(sqlValue(`SELECT SUM(executions) FROM exec_totals WHERE handler_id = ${id}`), '1');
});

test('the purge prunes roll-up minutes older than metrics_rollup_retention_days; totals stay', () => {
  const h = 4000000000; // no real handler
  sql(`DELETE FROM exec_rollup WHERE handler_id = ${h};
    INSERT INTO exec_rollup (minute, handler_id, events_id, status, verdict, trigger_kind, executions, duration_us_sum)
    VALUES (UTC_TIMESTAMP() - INTERVAL 11 DAY, ${h}, '${EVENT}', 'success', 'unchanged', 'dispatch', 3, 30),
           (UTC_TIMESTAMP() - INTERVAL 9 DAY, ${h}, '${EVENT}', 'success', 'unchanged', 'dispatch', 2, 20);
    INSERT INTO exec_totals (handler_id, events_id, status, verdict, trigger_kind, executions, duration_us_sum)
    VALUES (${h}, '${EVENT}', 'success', 'unchanged', 'dispatch', 5, 50)
    ON DUPLICATE KEY UPDATE executions = 5`);
  const r = runBin('prov-admin', ['logs', 'purge', '--config', configWith('metrics-retention.conf', { metrics_rollup_retention_days: 10 })]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /, [1-9]\d* metrics roll-up rows older than 10 days, \d+ script tests older than 24 h\ntook \d+\.\d\d s for the log and \d+\.\d\d s for the retention\n$/);
  assert.equal(sqlValue(`SELECT GROUP_CONCAT(executions) FROM exec_rollup WHERE handler_id = ${h}`), '2');
  assert.equal(sqlValue(`SELECT executions FROM exec_totals WHERE handler_id = ${h}`), '5');
  assert.match(sqlValue("SELECT last_detail FROM services WHERE name = 'retention'"), /metrics roll-up rows older than 10 days; \d+ script tests older than 24 h$/);
  sql(`DELETE FROM exec_rollup WHERE handler_id = ${h}; DELETE FROM exec_totals WHERE handler_id = ${h}`);
  const bad = runBin('prov-admin', ['logs', 'purge', '--config', configWith('metrics-retention0.conf', { metrics_rollup_retention_days: 0 })]);
  assert.equal(bad.status, 78);
  assert.match(bad.stderr, /metrics_rollup_retention_days/);
});

test('the log purge\'s rows removed and last run show in the metrics', async () => {
  const r = runBin('prov-admin', ['logs', 'purge']);
  assert.equal(r.status, 0, r.stderr);
  const removed = Number(/^removed (\d+) rows/.exec(r.stdout)[1]);
  const text = await (await scrape({ 'x-api-key': viewer.key })).text();
  assert.deepEqual(samples(text, 'prov_log_purge_last_removed_rows'), [{ labels: {}, value: removed }]);
  const lastRun = samples(text, 'prov_service_last_run_timestamp_seconds').find((s) => s.labels.service === 'log_purge');
  assert.ok(Math.abs(lastRun.value - Date.now() / 1000) < 120, `last run ${lastRun.value}`);
  assert.deepEqual(samples(text, 'prov_service_last_run_ok').find((s) => s.labels.service === 'log_purge').value, 1);
});

// Last: it changes the instance's config and restarts Apache (gracefully).
test('metrics_allow lets listed addresses scrape without a key, and only those', async () => {
  const original = readFileSync(configPath, 'utf8');
  const httpdConf = path.join(runDir, 'apache', 'httpd.conf');
  const graceful = () => {
    const g = spawnSync('apache2', ['-f', httpdConf, '-k', 'graceful'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
  };
  const configure = (allow) => {
    writeFileSync(configPath, `${original.replace(/^metrics_allow = .*\n/m, '')}metrics_allow = ${allow}\n`);
    graceful();
  };
  try {
    configure('10.9.8.0/24, ::1/128'); // not the tests' 127.0.0.1
    await until('the new config', async () => (await scrape()).status === 401 &&
      (await (await scrape()).text()).includes('API key is required'));
    configure('127.0.0.0/8');
    const ok = await until('a keyless scrape', async () => {
      const r = await scrape();
      return r.status === 200 ? r : null;
    });
    assert.match(await ok.text(), /^# HELP prov_executions_total /m);
    // A wrong key is still refused: a listed address does not make a bad key good.
    assert.equal((await scrape({ authorization: 'Bearer pk_nonsense' })).status, 401);
    // Other API routes still need a key.
    assert.equal((await fetch(`${baseUrl}/api/v1/me`)).status, 401);
  } finally {
    writeFileSync(configPath, original);
    graceful();
    await until('the original config', async () => (await scrape()).status === 401);
  }
});

test('prov-loggen counts its rows in every roll-up, as logstore would have', () => {
  const synthetic = 'handler_id >= 900000001';
  const clear = () => sql(`DELETE FROM exec_logs WHERE ${synthetic}; DELETE FROM exec_rollup WHERE ${synthetic};
      DELETE FROM exec_rollup_hour WHERE ${synthetic}; DELETE FROM exec_rollup_day WHERE ${synthetic};
      DELETE FROM exec_totals WHERE ${synthetic}`);
  clear(); // rows other tests generated, some since purged (test files run one at a time)
  const before = 0;
  const r = runBin('prov-loggen', ['--rows', '23456', '--handlers', '5', '--days', '3', '--seed', '11']);
  assert.equal(r.status, 0, r.stderr);
  try {
    const logs = sql(`SELECT handler_id, status, trigger_kind, COUNT(*), SUM(duration_us) FROM exec_logs WHERE ${synthetic}
      GROUP BY 1, 2, 3 ORDER BY 1, CONCAT(status), CONCAT(trigger_kind)`); // enums sort by text
    assert.ok(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE ${synthetic}`)) - Number(before) === 23456);
    for (const table of ['exec_rollup', 'exec_rollup_hour', 'exec_rollup_day', 'exec_totals']) {
      const counted = sql(`SELECT handler_id, status, trigger_kind, SUM(executions), SUM(duration_us_sum) FROM ${table}
        WHERE ${synthetic} GROUP BY 1, 2, 3 ORDER BY 1, CONCAT(status), CONCAT(trigger_kind)`);
      assert.deepEqual(counted, logs, `${table} counts what exec_logs holds`);
      assert.equal(sqlValue(`SELECT SUM(b0+b1+b2+b3+b4+b5+b6+b7+b8+b9+b10+b11+b12+b13+b14+b15) FROM ${table} WHERE ${synthetic}`),
        sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE ${synthetic} AND duration_us <= 300000000`), `${table}: buckets`);
    }
    // Per minute, hour and day too: the charts' bars.
    for (const [table, column, format] of [['exec_rollup', 'minute', '%Y-%m-%d %H:%i:00'],
      ['exec_rollup_hour', 'hour', '%Y-%m-%d %H:00:00'], ['exec_rollup_day', 'day', '%Y-%m-%d 00:00:00']]) {
      assert.deepEqual(sql(`SELECT ${column}, SUM(executions) FROM ${table} WHERE ${synthetic} GROUP BY 1 ORDER BY 1`),
        sql(`SELECT DATE_FORMAT(dt, '${format}'), COUNT(*) FROM exec_logs WHERE ${synthetic} GROUP BY 1 ORDER BY 1`),
        `${table} by ${column}`);
    }
  } finally {
    clear();
  }
});
