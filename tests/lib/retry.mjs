// Helpers for the retry worker and fault tests: running prov-worker, making
// queued retries due without sleeping, stopping and starting the test
// instance's MariaDB, and the fault figures (sent, delivered, logged,
// duplicated, lost) computed from the receiver's record and exec_logs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { binDir, runDir, sql } from './panel.mjs';
import { q, run } from './dispatch.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const spoolDir = path.join(runDir, 'spool');

export function worker(args = ['--once'], opts = {}) {
  return run(path.join(binDir, 'prov-worker'), args, opts);
}

// Start prov-worker in the background; { child, exited (promise of the status), out () }.
export function startWorker(args, env = {}) {
  const child = spawn(path.join(binDir, 'prov-worker'), args, { env: { ...process.env, ...env } });
  const out = [];
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => out.push(c));
  const exited = new Promise((resolve) => child.on('close', resolve));
  return { child, exited, out: () => Buffer.concat(out).toString('utf8') };
}

// Make queued retries due now (rather than waiting for their schedule).
export function makeDue(where = '1') {
  sql(`UPDATE retry_queue SET next_attempt_at = UTC_TIMESTAMP(6) WHERE state = 'scheduled' AND (${where})`);
}

export function queueRow(deliveryId) {
  const rows = sql(`SELECT state, attempt, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), next_attempt_at) / 1e6,
    IFNULL(last_error, ''), IFNULL(claimed_by, ''), log_id FROM retry_queue WHERE delivery_id = ${q(deliveryId)}`);
  if (!rows.length) return null;
  const [state, attempt, dueIn, lastError, claimedBy, logId] = rows[0];
  return { state, attempt: Number(attempt), dueIn: Number(dueIn), lastError, claimedBy, logId: Number(logId) };
}

export function logRows(deliveryId) {
  return sql(`SELECT attempt, trigger_kind, status, IFNULL(http_status, ''), IFNULL(error, '')
    FROM exec_logs WHERE delivery_id = ${q(deliveryId)} ORDER BY id`)
    .map(([attempt, trigger, status, http, error]) => ({ attempt: Number(attempt), trigger, status, http, error }));
}

export function journals() {
  return readdirSync(spoolDir).filter((f) => f.startsWith('journal.') && !f.endsWith('.corrupt'));
}

// A loopback port nothing listens on (for a receiver that is down).
export async function freePort() {
  const s = net.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function servers(command) {
  const r = spawnSync('bash', ['-c', `. scripts/servers.sh; ${command}`], {
    cwd: root, encoding: 'utf8', env: { ...process.env, RUN: runDir }, timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
}

export function mariadbStop() {
  servers('prov_mariadb_stop "$RUN"');
}

export function mariadbStart() {
  // The data folder was initialised by prov_instance_start; say so.
  writeFileSync(path.join(runDir, 'mysql', '.prov-initialised'), '');
  servers('prov_mariadb_start "$RUN/mysql" "$RUN"');
}

export function mariadbRunning() {
  return existsSync(path.join(runDir, 'mysqld.pid'));
}

// The fault figures for a set of deliveries (delivery ids the dispatcher or
// the queue started) against what the receiver saw (records with the
// X-Prov-Delivery and X-Prov-Attempt headers) and what exec_logs holds:
//   sent        deliveries started
//   delivered   deliveries with a 2xx answer logged as success
//   logged      exec_logs rows of them (every attempt)
//   duplicated  executions logged twice, requests the receiver got twice for
//               one attempt, or again after a logged acknowledgement
//   lost        requests the receiver got whose attempt has no log row
export function faultFigures(name, deliveryIds, requests) {
  const ids = new Set(deliveryIds);
  const rows = ids.size === 0 ? [] : sql(`SELECT delivery_id, attempt, trigger_kind, status, dt FROM exec_logs
    WHERE delivery_id IN (${[...ids].map(q).join(',')})`);
  const seen = requests.filter((r) => ids.has(r.headers['x-prov-delivery']));
  const logged = new Map();
  const acknowledgedAt = new Map();
  let duplicated = 0;
  for (const [id, attempt, trigger, status, dt] of rows) {
    const key = `${id}/${attempt}/${trigger}/${dt}`;
    if (logged.has(key)) duplicated += 1;
    logged.set(key, true);
    logged.set(`${id}/${attempt}`, true);
    if (status === 'success') acknowledgedAt.set(id, Math.min(Number(attempt), acknowledgedAt.get(id) ?? Infinity));
  }
  const perAttempt = new Map();
  let lost = 0;
  for (const r of seen) {
    const id = r.headers['x-prov-delivery'];
    const attempt = Number(r.headers['x-prov-attempt']);
    const key = `${id}/${attempt}`;
    perAttempt.set(key, (perAttempt.get(key) || 0) + 1);
    if (perAttempt.get(key) > 1) duplicated += 1;
    if (acknowledgedAt.has(id) && attempt > acknowledgedAt.get(id)) duplicated += 1;
    if (!logged.has(key)) lost += 1;
  }
  const figures = { sent: ids.size, delivered: acknowledgedAt.size, logged: rows.length, duplicated, lost };
  console.log(`fault figures: ${name}: sent ${figures.sent}, delivered ${figures.delivered}, `
    + `logged ${figures.logged}, duplicated ${figures.duplicated}, lost ${figures.lost}`);
  return figures;
}
