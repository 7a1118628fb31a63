// Helpers for the dispatcher and Cache Manager tests: handlers straight into
// MariaDB (as an edit would leave them), publishing, and running prov-dispatch
// without blocking the event loop (the test receiver lives in this process).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, configPath, runBin, runDir, sql, sqlValue } from './panel.mjs';

export const scriptsDir = path.join(process.env.PROV_TEST_RUN, 'scripts');
// The release build in bin/, for valgrind (ASan and valgrind do not mix).
export const releaseBinDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bin');

export const q = (s) => (s === null || s === undefined ? 'NULL' : `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`);

// Insert a handler and bump the edit counter like the panel does; returns its id.
export function addHandler({ name, event, task, type = 'http', status = 'enabled', priority = 1,
  timeoutMs = 5000, secret = null }) {
  sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, timeout_ms, secret,
       created_at, updated_at) VALUES (${q(name)}, ${q(event)}, ${q(task)}, ${q(type)}, ${q(status)},
       ${priority}, ${timeoutMs}, ${q(secret)}, UTC_TIMESTAMP(), UTC_TIMESTAMP());
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
  return Number(sqlValue('SELECT MAX(id) FROM handlers'));
}

export function editHandler(id, assignments) {
  sql(`UPDATE handlers SET ${assignments}, updated_at = UTC_TIMESTAMP() WHERE id = ${id};
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
}

// Start each test from an empty published set.
export function disableAll() {
  sql(`UPDATE handlers SET status = 'disabled' WHERE status = 'enabled';
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
}

export function publish() {
  const r = runBin('prov-cache', ['reload', '--by', 'tests']);
  if (r.status !== 0) throw new Error(`prov-cache reload failed: ${r.stderr}`);
  return Number(/generation (\d+)/.exec(r.stdout)[1]);
}

// Run a program asynchronously; { status, stdout, stderr, result (parsed stdout or null) }.
export function run(program, args, { input = '', env = {}, prefix = [] } = {}) {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, program, ...args];
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env } });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // refused input (oversize) closes the pipe early
    child.on('close', (status) => {
      const stdout = Buffer.concat(out).toString('utf8');
      let result = null;
      try { result = JSON.parse(stdout); } catch { /* not a result */ }
      resolve({ status, stdout, stderr: Buffer.concat(err).toString('utf8'), result });
    });
    child.stdin.end(input);
  });
}

// prov-dispatch (the front billing runs), or opts.program (e.g. prov-dispatchd).
export function dispatch(args, data = {}, opts = {}) {
  const input = typeof data === 'string' ? data : JSON.stringify(data);
  return run(path.join(opts.bin || binDir, opts.program || 'prov-dispatch'), args, { ...opts, input });
}

// A config file next to the test instance's, with keys added or replaced.
export function configWith(name, keys) {
  const lines = readFileSync(configPath, 'utf8').split('\n')
    .filter((l) => !Object.keys(keys).some((k) => l.startsWith(`${k} `)));
  const file = path.join(runDir, name);
  writeFileSync(file, `${lines.join('\n')}\n${Object.entries(keys).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  return file;
}

export function logsOf(eventUid) {
  return sql(`SELECT handler_id, status, handler_name, http_status, exit_code, attempt, trigger_kind,
              response_truncated, IFNULL(error, ''), CHAR_LENGTH(response_body), duration_us, object_id,
              delivery_id FROM exec_logs WHERE event_uid = ${q(eventUid)} ORDER BY id`)
    .map(([handlerId, status, name, http, exit, attempt, trigger, truncated, error, responseLength,
      durationUs, objectId, deliveryId]) => ({
      handlerId: Number(handlerId), status, name, http, exit, attempt: Number(attempt), trigger,
      truncated: Number(truncated), error, responseLength: Number(responseLength),
      durationUs: Number(durationUs), objectId, deliveryId,
    }));
}

// prov-dispatch --batch with stdin kept open: send(envelope) writes one line
// and resolves with its result line (parsed), so a test can act between
// events; end() closes stdin and resolves with { status, stderr }.
export function startBatch({ bin = binDir, env = {}, args = [] } = {}) {
  const child = spawn(path.join(bin, 'prov-dispatch'), ['--batch', ...args], { env: { ...process.env, ...env } });
  const waiting = [];
  const lines = [];
  let pending = '';
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  child.stdout.on('data', (c) => {
    pending += c.toString('utf8');
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (waiting.length) waiting.shift()(line); else lines.push(line);
    }
  });
  const closed = new Promise((resolve) => child.on('close', (status) => resolve(status)));
  return {
    send(envelope) {
      child.stdin.write(`${typeof envelope === 'string' ? envelope : JSON.stringify(envelope)}\n`);
      return lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiting.push(resolve));
    },
    async end() {
      child.stdin.end();
      const status = await closed;
      return { status, stderr: Buffer.concat(err).toString('utf8') };
    },
  };
}

// The envelope of one batch line.
export function envelope(eventsId, data, { id, dt, objectId } = {}) {
  const event = { events_id: eventsId };
  if (id !== undefined) event.id = id;
  if (dt !== undefined) event.dt = dt;
  if (objectId !== undefined) event.object_id = objectId;
  return { event, data };
}
