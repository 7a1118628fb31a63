// Helpers for the fault-injection tests of "the record is the truth" (issue
// #12): a persistent MariaDB session (row locks held across awaits, a fast
// KILL CONNECTION loop), the dispatcher service, a fault-injecting MariaDB
// proxy on a Unix socket (drops the connection at a COMMIT), MariaDB killed
// with -9 and started again without blocking the event loop (the receiver
// lives in this process), spool record framing, and the figures of a fault:
// sent, acknowledged, logged, duplicated, lost, invented.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { binDir, configPath, runDir, sql } from './panel.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const mysqldSocket = path.join(runDir, 'mysqld.sock');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Poll check() (sync or async) every stepMs until it is truthy; throw after ms.
export async function until(what, check, ms = 60000, stepMs = 25) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

// The database user of the test instance's config (the dispatcher's).
export function configValue(key, file = configPath) {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${key} `));
  return line ? line.slice(line.indexOf('=') + 1).trim() : undefined;
}

// ---------------------------------------------------------------- a persistent session

// A mariadb client kept open (root over the private socket): query() sends one
// or more statements and resolves with the rows printed (arrays of strings)
// and the errors it reported; its transaction and locks last until close().
export function sqlSession() {
  const child = spawn('mariadb', ['--no-defaults', `--socket=${mysqldSocket}`, '-uroot', '--batch',
    '--skip-column-names', '--raw', '--unbuffered', '--force', 'provisioning']);
  let out = '';
  let err = '';
  let waiting = null;
  let seq = 0;
  const settle = () => {
    if (!waiting) return;
    const at = out.indexOf(waiting.marker);
    if (at < 0) return;
    const text = out.slice(0, at);
    out = out.slice(at + waiting.marker.length + 1);
    const w = waiting;
    waiting = null;
    const errors = err;
    err = '';
    w.resolve({ rows: text.split('\n').filter((l) => l !== '').map((l) => l.split('\t')), errors });
  };
  child.stdout.on('data', (c) => { out += c.toString('utf8'); settle(); });
  child.stderr.on('data', (c) => { err += c.toString('utf8'); });
  child.stdin.on('error', () => {});
  const closed = new Promise((resolve) => child.on('close', resolve));
  let chain = Promise.resolve();
  return {
    query(text) {
      const run = () => new Promise((resolve, reject) => {
        if (child.exitCode !== null) { reject(new Error(`sql session ended: ${err}`)); return; }
        seq += 1;
        const marker = `--end-of-query-${seq}--`;
        waiting = { marker, resolve };
        child.stdin.write(`${text.replace(/;\s*$/, '')};\nSELECT '${marker}';\n`);
      });
      chain = chain.then(run, run);
      return chain;
    },
    async close() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await closed;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------- KILL CONNECTION

// Kill the connections of db user `user` (not this session's) at random
// intervals of minMs..maxMs, one at a time, picked at random, until stop().
// Each pick and kill is one round trip in the server (a prepared KILL).
// stop() resolves with the number of connections killed.
export function startKiller({ user, minMs = 2, maxMs = 30 }) {
  const session = sqlSession();
  let running = true;
  let kills = 0;
  const quoted = user.replace(/'/g, "''");
  const statement = `SET @k = NULL; SELECT id INTO @k FROM information_schema.processlist
    WHERE user = '${quoted}' AND id <> CONNECTION_ID() ORDER BY RAND() LIMIT 1;
    SET @s = IF(@k IS NULL, 'DO 0', CONCAT('KILL CONNECTION ', @k)); PREPARE s FROM @s; EXECUTE s;
    DEALLOCATE PREPARE s; SELECT IFNULL(@k, 0)`;
  const loop = (async () => {
    while (running) {
      const { rows } = await session.query(statement);
      if (rows.length && rows[rows.length - 1][0] !== '0') kills += 1;
      await sleep(minMs + Math.random() * (maxMs - minMs));
    }
  })();
  return {
    kills: () => kills,
    async stop() {
      running = false;
      await loop.catch(() => {});
      await session.close();
      return kills;
    },
  };
}

// ---------------------------------------------------------------- MariaDB -9

function servers(command) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `. scripts/servers.sh; ${command}`], {
      cwd: root, env: { ...process.env, RUN: runDir }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    const err = [];
    child.stderr.on('data', (c) => err.push(c));
    child.on('close', (status) => (status === 0 ? resolve()
      : reject(new Error(`${command}: ${Buffer.concat(err).toString('utf8')}`))));
  });
}

export function mysqldPid() {
  try { return Number(readFileSync(path.join(runDir, 'mysqld.pid'), 'utf8').trim()); } catch { return 0; }
}

export function mariadbAlive() {
  const pid = mysqldPid();
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// SIGKILL mariadbd; resolves once the process is gone.
export async function mariadbKill9() {
  const pid = mysqldPid();
  if (!pid) throw new Error('no mysqld.pid');
  process.kill(pid, 'SIGKILL');
  await until('mariadbd to die', () => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')), 30000);
  rmSync(path.join(runDir, 'mysqld.pid'), { force: true });
}

// Start the instance's MariaDB again (after -9: crash recovery) without
// blocking the event loop; resolves once it answers.
export function mariadbStartAsync() {
  return servers(': > "$RUN/mysql/.prov-initialised"; prov_mariadb_start "$RUN/mysql" "$RUN"');
}

// ---------------------------------------------------------------- the service

// Start prov-dispatchd --serve in its own process group; resolves once its
// workers said they are ready. stop() sends SIGTERM and resolves with the
// status; kill() ends the group with SIGKILL (for cleanup after a failure).
export async function startService(config, { workers = 1, bin = binDir } = {}) {
  const child = spawn(path.join(bin, 'prov-dispatchd'), ['--serve'], {
    env: { ...process.env, PROV_CONFIG: config }, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  const exited = new Promise((resolve) => child.on('close', (status, signal) => resolve(status ?? signal)));
  const stderr = () => Buffer.concat(err).toString('utf8');
  const svc = {
    pid: child.pid,
    stderr,
    exited,
    async stop() { if (child.exitCode === null) child.kill('SIGTERM'); return exited; },
    kill() { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } },
  };
  try {
    await until('the service to listen', () => /serving on /.test(stderr()) || child.exitCode !== null, 60000);
    if (child.exitCode !== null) throw new Error(`prov-dispatchd --serve exited: ${stderr()}`);
    await until(`${workers} service workers ready`, () => (stderr().match(/\]: worker ready/g) || []).length >= workers, 60000);
  } catch (e) {
    svc.kill();
    throw e;
  }
  return svc;
}

// ---------------------------------------------------------------- a faulty proxy

// A MariaDB proxy on a Unix socket in front of the instance's mysqld.sock.
// Packets from the client are parsed (3-byte length, sequence id, payload);
// a COM_QUERY "COMMIT" can be made to lose its connection:
//   setFault({ at: 'before', every: N }): every Nth COMMIT is not forwarded and
//     both sides are closed (the server rolls the transaction back; the
//     client sees the connection lost during COMMIT);
//   setFault({ at: 'after', every: N }): the COMMIT is forwarded, and its answer
//     is swallowed while both sides are closed (committed, the client cannot know);
//   limit: M (optional): at most M COMMITs lost, the later ones pass.
// counts(): { connections, commits, dropped }.
export async function startDbProxy(socketPath) {
  rmSync(socketPath, { force: true });
  const stats = { connections: 0, commits: 0, dropped: 0 };
  let fault = null;
  const pairs = new Set();
  const server = net.createServer((client) => {
    stats.connections += 1;
    const upstream = net.connect(mysqldSocket);
    const pair = { client, upstream };
    pairs.add(pair);
    let pending = Buffer.alloc(0);
    let swallowAnswer = false;
    const close = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('data', (d) => {
      if (swallowAnswer) { stats.dropped += 1; close(); return; }
      client.write(d);
    });
    client.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4) {
        const len = pending.readUIntLE(0, 3);
        if (pending.length < 4 + len) break;
        const packet = pending.subarray(0, 4 + len);
        pending = pending.subarray(4 + len);
        const seq = packet[3];
        const isCommit = seq === 0 && len >= 1 && packet[4] === 0x03
          && packet.subarray(5).toString('latin1').trim().replace(/;$/, '').toUpperCase() === 'COMMIT';
        if (isCommit) {
          stats.commits += 1;
          if (fault && stats.commits % fault.every === 0 && !(stats.dropped >= (fault.limit ?? Infinity))) {
            if (fault.at === 'before') { stats.dropped += 1; close(); return; }
            swallowAnswer = true;
          }
        }
        upstream.write(packet);
      }
    });
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(socketPath, resolve); });
  return {
    socketPath,
    counts: () => ({ ...stats }),
    setFault(f) { fault = f; },
    async close() {
      for (const p of pairs) { p.client.destroy(); p.upstream.destroy(); }
      await new Promise((resolve) => server.close(resolve));
      rmSync(socketPath, { force: true });
    },
  };
}

// ---------------------------------------------------------------- spool framing

// The records of a spool/journal file: [{ start, end, payload, json }] for
// each complete, intact record ("S1 <len> <crc32>\n<payload>\n"), in order,
// up to the first one that is not (cut short or damaged).
export function spoolRecords(buffer) {
  const records = [];
  let at = 0;
  while (at < buffer.length) {
    const nl = buffer.indexOf(0x0a, at);
    if (nl < 0) break;
    const m = /^S1 (\d+) ([0-9a-f]{8})$/.exec(buffer.subarray(at, nl).toString('latin1'));
    if (!m) break;
    const len = Number(m[1]);
    const payloadStart = nl + 1;
    const end = payloadStart + len + 1;
    if (end > buffer.length || buffer[end - 1] !== 0x0a) break;
    const payload = buffer.subarray(payloadStart, payloadStart + len);
    records.push({ start: at, end, payload, json: JSON.parse(payload.toString('utf8')) });
    at = end;
  }
  return records;
}

// ---------------------------------------------------------------- figures

// The figures of a fault over the event uids of a test (LIKE pattern) and the
// receiver's records:
//   sent        events sent
//   received    requests that reached the receiver (unique delivery id + attempt)
//   acked       of those, answered 2xx (the receiver acknowledged them)
//   logged      exec_logs rows of these events
//   duplicated  rows beyond the first for one delivery id + attempt + trigger
//   resent      requests beyond the first for one delivery id + attempt
//   lost        acknowledged deliveries without a log row of that attempt
//   unlogged    received requests (acknowledged or not) without a log row
//   invented    rows claiming a success the receiver never acknowledged, or a
//               delivery it never received
export function recordFigures(fault, { sent, uidLike, requests, extra = {} }) {
  const rows = sql(`SELECT delivery_id, attempt, trigger_kind, status, IFNULL(error, '') FROM exec_logs
    WHERE event_uid LIKE '${uidLike}'`);
  const received = new Map();
  for (const r of requests) {
    const id = r.headers['x-prov-delivery'];
    if (!id) continue;
    const key = `${id}/${Number(r.headers['x-prov-attempt'])}`;
    const prev = received.get(key);
    const acked = r.status !== null && r.status >= 200 && r.status < 300;
    received.set(key, {
      count: (prev?.count || 0) + 1, acked: acked || prev?.acked || false,
      what: prev?.what || `${r.path}?${new URLSearchParams(r.query)} event ${r.headers['x-prov-event-id']}`,
    });
  }
  const loggedKeys = new Map();
  const perTrigger = new Map();
  let duplicated = 0;
  let invented = 0;
  const inventedRows = [];
  for (const [id, attempt, trigger, status, error] of rows) {
    const key = `${id}/${attempt}`;
    const k3 = `${key}/${trigger}`;
    perTrigger.set(k3, (perTrigger.get(k3) || 0) + 1);
    if (perTrigger.get(k3) > 1) duplicated += 1;
    loggedKeys.set(key, true);
    const got = received.get(key);
    if ((status === 'success' && !got?.acked) || (!got && !/^interrupted/.test(error))) {
      invented += 1;
      inventedRows.push({ id, attempt, trigger, status, error: error.slice(0, 80) });
    }
  }
  let acked = 0;
  let resent = 0;
  let lost = 0;
  let unlogged = 0;
  const lostKeys = [];
  for (const [key, r] of received) {
    if (r.acked) acked += 1;
    resent += r.count - 1;
    if (!loggedKeys.has(key)) {
      unlogged += 1;
      if (r.acked) { lost += 1; lostKeys.push(`${key} (${r.what})`); }
    }
  }
  const figures = { sent, received: received.size, acked, logged: rows.length, duplicated, resent, lost, unlogged, invented, ...extra };
  console.log(`figures: fault=${fault} ${Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return { ...figures, lostKeys, inventedRows };
}

// CRC-32 (IEEE), as core/spool.c frames records with it.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(buffer) {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// One framed record, as spool_journal_append writes it.
export function spoolRecord(payload) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`S1 ${body.length} ${crc32(body).toString(16).padStart(8, '0')}\n`, 'latin1'),
    body, Buffer.from('\n')]);
}
