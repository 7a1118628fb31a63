// The cluster rehearsal (issue #19): a 3-node Galera cluster, two web nodes
// behind haproxy and two billing hosts, under faults. Run by
// tests/cluster/run.sh (`make test-cluster`), which starts and stops it.
// Each fault writes a line of the fault table (sent, acknowledged by the
// receiver, logged, duplicated, lost) to $PROV_TEST_OUTPUT/cluster-faults.md.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { api, createApiKey, createUser, launchBrowser, uniqueName } from '../lib/panel.mjs';
import {
  bin, clusterSh, config, crun, nodeAlive, out, recordFault, run, sleep, sql, sqlValue,
  startReceiver, until, wsrep,
} from './lib.mjs';

const front = process.env.CLUSTER_URL;
const webUrl = (n) => `http://127.0.0.1:${process.env[`CLUSTER_WEB${n}_PORT`]}`;
let receiver;
let key;

before(async () => {
  receiver = await startReceiver();
  const admin = uniqueName('cl-admin');
  createUser(admin, 'admin');
  key = createApiKey(admin, 'cluster');
});

after(async () => { await receiver?.close(); });

// Create an enabled handler through web node `web` and publish it there.
async function handler(web, name, event, task, extra = {}) {
  const r = await api('POST', '/handlers', {
    key, base: webUrl(web), body: { name, events_id: event, task, status: 'enabled', ...extra },
  });
  assert.equal(r.status, 201, r.text);
  const p = await api('POST', '/cache/restart', { key, base: webUrl(web) });
  assert.equal(p.status, 200, p.text);
  return r.json.id;
}

async function disable(web, id) {
  const r = await api('POST', `/handlers/${id}/status`, { key, base: webUrl(web), body: { status: 'disabled' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await api('POST', '/cache/restart', { key, base: webUrl(web) })).status, 200);
}

const dispatchVia = (host, event, uid, objectId, data = {}) => run(path.join(bin, 'prov-dispatch'),
  [event, '--event-id', uid, '--object-id', String(objectId)],
  { input: JSON.stringify(data), env: { PROV_CONFIG: config(`bill${host}`) } });

function batchVia(host, envelopes) {
  return run(path.join(bin, 'prov-dispatch'), ['--batch'], {
    input: `${envelopes.map((e) => JSON.stringify(e)).join('\n')}\n`,
    env: { PROV_CONFIG: config(`bill${host}`) },
  });
}

// No execution waits in host's spool: every file is empty (each service worker
// keeps its own journal open, empty between events) and none is corrupt.
function spoolEmpty(host) {
  const dir = path.join(crun, `bill${host}`, 'spool');
  const files = readdirSync(dir);
  assert.deepEqual(files.filter((f) => f.endsWith('.corrupt')), [], 'no corrupt journal');
  return files.every((f) => statSync(path.join(dir, f)).size === 0);
}

const workerLog = (host) => path.join(crun, `bill${host}`, 'worker.log');

// Deliveries a host's retry worker reported ("N delivered, ...") after byte offset from.
function delivered(host, from) {
  const text = readFileSync(workerLog(host)).subarray(from).toString('utf8');
  return [...text.matchAll(/^(\d+) delivered/gm)].reduce((s, m) => s + Number(m[1]), 0);
}

// Counts for the fault table: executions logged for event ids LIKE prefix%,
// deliveries the receiver acknowledged, duplicates and losses.
function tally(prefix) {
  const logged = sql(`SELECT delivery_id, COUNT(*) FROM exec_logs WHERE event_uid LIKE '${prefix}%'
                      AND trigger_kind = 'dispatch' GROUP BY delivery_id`);
  const loggedIds = new Set(logged.map(([id]) => id));
  const loggedRows = logged.reduce((s, [, c]) => s + Number(c), 0);
  const events = Number(sqlValue(`SELECT COUNT(DISTINCT event_uid) FROM exec_logs WHERE event_uid LIKE '${prefix}%'`));
  let acked = 0; let received = 0; let lost = 0; let dupDeliveries = 0;
  for (const [id, d] of receiver.deliveries) {
    if (!d.eventUid?.startsWith(prefix)) continue;
    received += 1;
    if (d.acked > 0) { acked += 1; if (!loggedIds.has(id)) lost += 1; }
    if (d.count > 1) dupDeliveries += 1;
  }
  return { loggedRows, events, acked, received, lost, duplicated: loggedRows - loggedIds.size + dupDeliveries };
}

test('handlers published from one web node are used by both billing hosts at their next event', async () => {
  const id = await handler(2, uniqueName('cl-pub'), 'clients.update', `${receiver.url}/pub`);
  for (const host of [1, 2]) {
    const uid = `cl-pub-${host}-${Date.now()}`;
    const r = await dispatchVia(host, 'clients.update', uid, 1);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.ok(result.handlers.some((h) => h.id === id && h.status === 'success'),
      `bill${host} ran the handler published on web2: ${r.stdout}`);
    assert.ok([...receiver.deliveries.values()].some((d) => d.eventUid === uid && d.acked === 1));
  }
  await disable(1, id);
});

test('both billing hosts dispatch 10,000 events while a Galera node is SIGKILLed and rejoins: nothing lost', async () => {
  const id = await handler(1, uniqueName('cl-load'), 'clients.subscriptions.renew', `${receiver.url}/load`);
  const prefix = `cl-load-${Date.now()}-`;
  const certBefore = [1, 2, 3].reduce((s, n) => s + Number(wsrep(n, 'WSREP_LOCAL_CERT_FAILURES')), 0);
  const SINGLE_PER_CALLER = 500; const CALLERS = 2; const BATCH = 4000;
  const results = { lines: 0, logged: 0, spooled: 0, bad: [] };
  const account = (r) => {
    results.lines += 1;
    if (r.logged) results.logged += 1; else if (r.spooled) results.spooled += 1; else results.bad.push(r);
  };
  const started = Date.now();
  let recovered = '';
  const work = [];
  for (const host of [1, 2]) {
    for (let c = 0; c < CALLERS; c += 1) {
      work.push((async () => {
        for (let i = 0; i < SINGLE_PER_CALLER; i += 1) {
          const r = await dispatchVia(host, 'clients.subscriptions.renew', `${prefix}s${host}-${c}-${i}`, 1000 + i);
          assert.equal(r.status, 0, `single run exit ${r.status}: ${r.stderr}`);
          account(JSON.parse(r.stdout));
        }
      })());
    }
    const envelopes = [];
    for (let i = 0; i < BATCH; i += 1) {
      envelopes.push({ event: { events_id: 'clients.subscriptions.renew', id: `${prefix}b${host}-${i}`, object_id: i }, data: { n: i } });
    }
    work.push(batchVia(host, envelopes).then((r) => {
      assert.equal(r.status, 0, `batch exit ${r.status}: ${r.stderr.slice(0, 500)}`);
      for (const line of r.stdout.split('\n').filter(Boolean)) account(JSON.parse(line));
    }));
  }
  // The fault: the writer node dies mid-run, comes back and rejoins.
  const fault = (async () => {
    await until('2,000 deliveries before the kill', () => [...receiver.deliveries.values()]
      .filter((d) => d.eventUid?.startsWith(prefix)).length >= 2000, 300000);
    const writer = [1, 2, 3].find((n) => nodeAlive(n));
    clusterSh(`cluster_db_kill ${writer}`);
    const killedAt = Date.now();
    const dbLog = path.join(crun, `db${writer}`, 'mariadb.log');
    const logFrom = statSync(dbLog).size;
    await sleep(3000); // the node stays dead for a while (the fault's length, not a wait for readiness)
    clusterSh(`cluster_db_node_start ${writer}`);
    await until(`db${writer} Synced again`, () => nodeAlive(writer) && wsrep(writer, 'WSREP_LOCAL_STATE_COMMENT') === 'Synced', 180000, 200);
    const rejoinLog = readFileSync(dbLog).subarray(logFrom).toString('utf8');
    const recoverLog = path.join(crun, `db${writer}`, 'recover.log');
    recovered = existsSync(recoverLog)
      ? (readFileSync(recoverLog, 'utf8').match(/Recovered position.*|ERROR.*/g) || ['no position']).join('; ')
      : 'not run';
    // An IST rejoin also runs the SST script, which only hands over the
    // recovered position ("SST received"); "IST received" is the IST.
    const how = /IST received:/.test(rejoinLog) ? 'IST' : /SST received/.test(rejoinLog) ? 'SST' : 'no state transfer';
    return { writer, how, rejoinMs: Date.now() - killedAt - 3000 };
  })();
  await Promise.all(work);
  const elapsed = (Date.now() - started) / 1000;
  const { writer, how, rejoinMs } = await fault;
  const total = 2 * (CALLERS * SINGLE_PER_CALLER + BATCH);
  assert.equal(results.lines, total);
  assert.deepEqual(results.bad, [], 'every result says logged or spooled');
  // The workers import what was spooled while the writer was gone.
  await until('spools imported', () => spoolEmpty(1) && spoolEmpty(2), 180000, 250);
  await until('every execution logged', () => tally(prefix).loggedRows >= total, 120000, 500);
  const t = tally(prefix);
  const certAfter = [1, 2, 3].reduce((s, n) => s + Number(wsrep(n, 'WSREP_LOCAL_CERT_FAILURES')), 0);
  recordFault(`| Galera writer db${writer} SIGKILLed during 10,000 dispatches (2 hosts, single runs + batches) | ${total} | ${t.acked} | ${t.loggedRows} (${results.spooled} via spool) | ${t.duplicated} | ${t.lost} | restarted after 3 s, Synced again (${how}) ${(rejoinMs / 1000).toFixed(1)} s later; ${(total / elapsed).toFixed(0)} events/s; ${certAfter - certBefore} certification failures |`);
  assert.equal(t.events, total, 'every event has its execution logged');
  assert.equal(t.loggedRows, total, 'one execution row per event');
  assert.equal(t.acked, total, 'the receiver acknowledged every delivery');
  assert.equal(t.lost, 0, 'nothing acknowledged is missing from the log');
  assert.equal(t.duplicated, 0, 'nothing delivered or logged twice');
  // haproxy's one writer: certification failures only in the moment the writer
  // changes (writes spread over the nodes meet thousands in this run).
  assert.ok(certAfter - certBefore <= total / 100, `${certAfter - certBefore} certification failures: one node took the writes`);
  // The killed node found its position (--wsrep-recover) and fetched only what it missed.
  assert.equal(how, 'IST', `the killed node rejoined by IST (recovery: ${recovered})`);
  await disable(1, id);
});

test('the retry workers of both hosts drain 2,000 queued deliveries, each delivered once per claim', async () => {
  const id = await handler(1, uniqueName('cl-retry'), 'clients.update', `${receiver.url}/retry`,
    { retry_enabled: true, retry_schedule: '2s', retry_max_attempts: 50 });
  const prefix = `cl-retry-${Date.now()}-`;
  const N = 2000;
  receiver.state.failing = true;
  const logStart = [1, 2].map((host) => statSync(workerLog(host)).size);
  const envelopes = [];
  for (let i = 0; i < N; i += 1) envelopes.push({ event: { events_id: 'clients.update', id: `${prefix}${i}`, object_id: i }, data: {} });
  const r = await batchVia(1, envelopes);
  assert.equal(r.status, 0, r.stderr.slice(0, 500));
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE event_uid LIKE '${prefix}%' AND state = 'scheduled'`)), N);
  receiver.state.failing = false;
  await until('the queue drained', () => Number(sqlValue(`SELECT COUNT(*) FROM retry_queue WHERE event_uid LIKE '${prefix}%' AND state <> 'done'`)) === 0, 300000, 500);
  let repeatedAttempt = 0; let notOnce = 0; let deliveries = 0;
  for (const d of receiver.deliveries.values()) {
    if (!d.eventUid?.startsWith(prefix)) continue;
    deliveries += 1;
    if (new Set(d.attempts).size !== d.attempts.length) repeatedAttempt += 1;
    if (d.acked !== 1) notOnce += 1;
  }
  const byWorker = [1, 2].map((host) => [`bill${host}`, delivered(host, logStart[host - 1])]);
  const logged = Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid LIKE '${prefix}%'`));
  const requests = [...receiver.deliveries.values()].filter((d) => d.eventUid?.startsWith(prefix))
    .reduce((s, d) => s + d.count, 0);
  recordFault(`| Retry workers of both hosts drain ${N} queued deliveries | ${N} | ${deliveries - notOnce} | ${logged} (${requests} requests) | ${repeatedAttempt} | ${notOnce} | claims by ${byWorker.map(([w, c]) => `${w}: ${c}`).join(', ')} |`);
  assert.equal(deliveries, N);
  assert.equal(repeatedAttempt, 0, 'no attempt delivered twice (one delivery per claim)');
  assert.equal(notOnce, 0, 'each delivery acknowledged exactly once');
  assert.equal(logged, requests, 'every request the receiver saw is logged');
  assert.ok(byWorker.every(([, c]) => c > 0), `both workers claimed: ${JSON.stringify(byWorker)}`);
  await disable(1, id);
});

test('a web node stops during a browser session: the operator keeps working through the other', async () => {
  const browser = await launchBrowser();
  try {
    const name = uniqueName('cl-op');
    const password = createUser(name, 'admin');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${front}/login`);
    await page.fill('#username', name);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/handlers$/);
    clusterSh('cluster_web_stop 1');
    const handlerName = uniqueName('cl-web');
    for (let i = 0; i < 6; i += 1) {
      const r = await page.goto(`${front}/handlers`);
      assert.equal(r.status(), 200);
      assert.ok(!/\/login/.test(page.url()), 'still logged in');
    }
    await page.goto(`${front}/handlers/new`);
    await page.fill('#f-name', handlerName);
    await page.selectOption('#f-event', 'clients.update');
    await page.fill('#f-task', `${receiver.url}/web`);
    await Promise.all([page.waitForNavigation(), page.click('#save')]);
    assert.ok(!/\/login/.test(page.url()), `still logged in after saving: ${page.url()}`);
    await page.screenshot({ path: path.join(out, 'cluster-web-failover.png'), fullPage: true });
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM handlers WHERE name = '${handlerName}'`)), 1);
    const served = Number(clusterSh('wc -l <"$CRUN/web2/apache/access.log"').trim());
    assert.ok(served > 0, 'web2 served the session');
    recordFault(`| Web node web1 stopped during a browser session | 8 page loads + 1 form | 8 + 1 answered (web2) | handler saved | 0 | 0 | session kept (sessions live in the database) |`);
  } finally {
    await browser.close();
    clusterSh('cluster_web_apache_start 1');
  }
});
