// Helpers of the cluster rehearsal (tests/cluster/run.sh starts the cluster
// with scripts/cluster.sh and exports CRUN and the addresses of cluster.env).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

export const crun = process.env.CRUN;
export const bin = process.env.CLUSTER_BIN;
export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const out = process.env.PROV_TEST_OUTPUT || '/tmp';
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const config = (host) => path.join(crun, host, 'provisioning.conf');

// Run a scripts/cluster.sh function (cluster_db_kill 1, ...) with the cluster's variables.
export function clusterSh(command) {
  const r = spawnSync('bash', ['-c', `. scripts/cluster.sh && ${command}`],
    { cwd: root, encoding: 'utf8', env: { ...process.env, PROV_ROOT: root }, timeout: 180000 });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return r.stdout;
}

export function nodeAlive(n) {
  const r = spawnSync('mariadb-admin', ['--no-defaults', `--socket=${crun}/db${n}/mysqld.sock`, '-uroot', 'ping'],
    { encoding: 'utf8' });
  return r.status === 0;
}

// SQL as root on a live node (the first that answers, or node n), reading
// after every write the cluster has committed (wsrep_sync_wait).
export function sql(query, n) {
  const nodes = n ? [n] : [1, 2, 3];
  let last = '';
  for (const node of nodes) {
    const r = spawnSync('mariadb', ['--no-defaults', `--socket=${crun}/db${node}/mysqld.sock`, '-uroot',
      '--batch', '--skip-column-names', '--raw', 'provisioning',
      '-e', `SET SESSION wsrep_sync_wait = 1; ${query}`], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    last = r.stderr;
  }
  throw new Error(`sql failed on every node: ${last}`);
}

export const sqlValue = (query, n) => { const rows = sql(query, n); return rows.length ? rows[0][0] : undefined; };

export function wsrep(n, name) {
  return sqlValue(`SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '${name}'`, n);
}

export async function until(what, check, ms = 120000, stepMs = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

// A receiver on 127.0.0.1 that records every delivery by its X-Prov-Delivery
// id; answers 200 unless failing is set (then 503).
export async function startReceiver() {
  const deliveries = new Map(); // delivery id -> { count, acked, eventUid, attempt }
  const state = { failing: false, requests: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests += 1;
      const id = req.headers['x-prov-delivery'];
      const d = deliveries.get(id) || { count: 0, acked: 0, eventUid: req.headers['x-prov-event-id'], attempts: [] };
      d.count += 1;
      d.attempts.push(Number(req.headers['x-prov-attempt']));
      deliveries.set(id, d);
      const code = state.failing ? 503 : 200;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(code === 200 ? '{}' : '{"error":"down"}', () => { if (code === 200) d.acked += 1; });
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    deliveries,
    state,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

// Run a program, resolve with { status, stdout, stderr }.
export function run(program, args, { input = '', env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env } });
    const o = []; const e = [];
    child.stdout.on('data', (c) => o.push(c));
    child.stderr.on('data', (c) => e.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.on('close', (status) => resolve({
      status, stdout: Buffer.concat(o).toString('utf8'), stderr: Buffer.concat(e).toString('utf8'),
    }));
    child.stdin.end(input);
  });
}

// One line of the fault table (tests/output/cluster/faults.md).
export function recordFault(line) {
  appendFileSync(path.join(out, 'cluster-faults.md'), `${line}\n`);
  console.log(line);
}
