// The dispatcher service: prov-dispatchd --serve against real MariaDB and a
// real HTTP receiver, with prov-dispatch handing it events over its Unix
// socket. Same results and logs as a direct run; the fallbacks (no service,
// no free worker), a worker killed mid-run, a publish, stopping, and leaks.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { binDir, runBin, runDir, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import { addHandler, configWith, disableAll, dispatch, logsOf, publish, releaseBinDir } from '../lib/dispatch.mjs';
import { journals } from '../lib/retry.mjs';

let rx;
const services = new Set(); // services a failed test left behind: killed in after()
before(async () => { rx = await startReceiver(); });
after(async () => {
  for (const pid of services) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  await rx?.close();
});
beforeEach(() => { disableAll(); rx.reset(); });

const EVENT = 'clients.update';
const socketPath = path.join(runDir, 'dispatch-test.sock');
const enc = (value) => encodeURIComponent(JSON.stringify(value));

function serviceConfig(name, keys = {}) {
  return configWith(name, {
    dispatch_socket: socketPath, dispatch_workers: 1, dispatch_wait_ms: 10000, ...keys,
  });
}

// The service's workers: its children but the metrics reporter, which names
// itself (prov-dsvc-stats; under valgrind only in its "metrics reporter ready" line).
const reporters = new Set();
function children(pid) {
  const comm = (p) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim(); } catch { return ''; } };
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
      .filter((p) => comm(p) !== 'prov-dsvc-stats' && !reporters.has(p));
  } catch { return []; }
}

const until = async (what, check, ms = 20000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

// Start prov-dispatchd --serve; resolves once its workers said they are ready.
async function startService(config, { bin = binDir, prefix = [], workers = 1 } = {}) {
  const argv = [...prefix, path.join(bin, 'prov-dispatchd'), '--serve'];
  // Its own process group: after() can kill it with its workers.
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, PROV_CONFIG: config }, detached: true });
  services.add(child.pid);
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  const exited = new Promise((resolve) => child.on('close', (status, signal) => {
    services.delete(child.pid);
    resolve(status ?? signal);
  }));
  const stderr = () => {
    const text = Buffer.concat(err).toString('utf8');
    for (const m of text.matchAll(/\[(\d+)\]: metrics reporter ready/g)) reporters.add(Number(m[1]));
    return text;
  };
  await until('the service to listen', () => /serving on /.test(stderr()) || child.exitCode !== null);
  assert.equal(child.exitCode, null, stderr());
  await until(`${workers} workers ready`, () => (stderr().match(/\]: worker ready/g) || []).length >= workers);
  assert.equal(children(child.pid).length, workers);
  return {
    pid: child.pid,
    stderr,
    workers: () => children(child.pid),
    async stop() { child.kill('SIGTERM'); return exited; },
    exited, // resolves with the exit status (or the signal's name)
  };
}

test('events handed to the service: the same results, exit codes and logs; a worker keeps its connections', async () => {
  const config = serviceConfig('service.conf');
  const svc = await startService(config);
  try {
    const first = addHandler({ name: 'svc modify', event: EVENT, task: `${rx.url}/modify?set=${enc({ plan: 'gold' })}`, priority: 1 });
    const second = addHandler({ name: 'svc echo', event: EVENT, task: `${rx.url}/echo`, priority: 2 });
    publish();
    const env = { PROV_CONFIG: config };
    const ids = [uniqueName('svc-1'), uniqueName('svc-2')];
    for (const id of ids) {
      const r = await dispatch([EVENT, '--object-id', '12', '--event-id', id], { client: 7 }, { env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.result.event.id, id);
      assert.equal(r.result.event.object_id, 12);
      assert.deepEqual(r.result.data, { client: 7, plan: 'gold' });
      assert.deepEqual(r.result.handlers.map((h) => h.id), [first, second]);
      assert.equal(r.result.logged, true);
      assert.deepEqual(logsOf(id).map((l) => [l.handlerId, l.status, l.trigger]), [[first, 'success', 'dispatch'], [second, 'success', 'dispatch']]);
    }
    assert.equal(rx.requests.length, 4);
    assert.equal(new Set(rx.requests.map((x) => x.socket)).size, 1,
      'one HTTP connection across both runs: they ran in the resident worker, not in two processes');

    // A forbid, and bad input found by the worker, reach the caller unchanged.
    addHandler({ name: 'svc forbid', event: 'clients.delete', task: `${rx.url}/forbid?reason=${encodeURIComponent('has debt')}` });
    publish();
    const forbid = await dispatch(['clients.delete'], { client: 7 }, { env });
    assert.equal(forbid.status, 1, forbid.stderr);
    assert.equal(forbid.result.verdict, 'forbid');
    assert.equal(forbid.result.reason, 'has debt');
    const before = Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));
    const badJson = await dispatch([EVENT], '{"a":', { env });
    assert.equal(badJson.status, 64);
    assert.match(badJson.stderr, /^prov-dispatch: the event data is not valid JSON: .*\n$/);
    assert.equal(badJson.stdout, '');
    const badEvent = await dispatch(['clients.nope'], {}, { env });
    assert.equal(badEvent.status, 64);
    assert.match(badEvent.stderr, /^prov-dispatch: unknown event 'clients\.nope'; valid events: clients\.create, /);
    const big = await dispatch([EVENT], { pad: 'x'.repeat(2 * 1024 * 1024) }, { env });
    assert.equal(big.status, 64);
    assert.match(big.stderr, /larger than payload_max_bytes/);
    assert.equal(Number(sqlValue('SELECT COUNT(*) FROM exec_logs')), before, 'nothing logged for bad input');

    // Large data passes through the caller's own stdin and stdout.
    const data = { pad: 'y'.repeat(512 * 1024) };
    const large = await dispatch([EVENT], data, { env });
    assert.equal(large.status, 0, large.stderr);
    assert.deepEqual(large.result.data, { ...data, plan: 'gold' });
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
  assert.ok(!existsSync(socketPath), 'the socket is removed on stop');
  assert.doesNotMatch(svc.stderr(), /ERROR: (Address|Leak)Sanitizer|runtime error/, svc.stderr());
});

test('a publish is seen by the very next event, whatever batch_generation_check_ms says', async () => {
  const config = serviceConfig('service-publish.conf', { batch_generation_check_ms: 3600000 });
  const svc = await startService(config);
  try {
    const env = { PROV_CONFIG: config };
    const one = addHandler({ name: 'svc gen one', event: EVENT, task: `${rx.url}/echo` });
    const g1 = publish();
    const r1 = await dispatch([EVENT], { n: 1 }, { env });
    assert.equal(r1.status, 0, r1.stderr);
    assert.equal(r1.result.generation, g1);
    assert.deepEqual(r1.result.handlers.map((h) => h.id), [one]);
    const two = addHandler({ name: 'svc gen two', event: EVENT, task: `${rx.url}/echo`, priority: 2 });
    const unpublished = await dispatch([EVENT], { n: 2 }, { env });
    assert.deepEqual(unpublished.result.handlers.map((h) => h.id), [one], 'an edit is not run before it is published');
    const g2 = publish();
    const r2 = await dispatch([EVENT], { n: 3 }, { env });
    assert.equal(r2.result.generation, g2);
    assert.deepEqual(r2.result.handlers.map((h) => h.id), [one, two]);
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
});

test('no service, a stale socket, or no free worker: prov-dispatch runs the event itself', async () => {
  addHandler({ name: 'svc hang', event: 'clients.create', task: `${rx.url}/hang`, timeoutMs: 3000 });
  addHandler({ name: 'svc quick', event: EVENT, task: `${rx.url}/echo` });
  publish();
  // Nothing listens: the path does not exist, then is a socket nobody serves.
  const env = { PROV_CONFIG: serviceConfig('service-absent.conf') };
  const absent = await dispatch([EVENT], { a: 1 }, { env });
  assert.equal(absent.status, 0, absent.stderr);
  assert.equal(absent.result.logged, true);
  // A socket file left behind by a service that died: bound, nobody listening.
  const py = spawnSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socketPath)})`]);
  assert.equal(py.status, 0, py.stderr?.toString());
  assert.ok(existsSync(socketPath));
  const staleRun = await dispatch([EVENT], { a: 2 }, { env });
  assert.equal(staleRun.status, 0, staleRun.stderr);

  // One worker, busy with a handler that hangs: the next caller waits
  // dispatch_wait_ms, then runs its event itself, while the first goes on.
  const config = serviceConfig('service-busy.conf', { dispatch_wait_ms: 100 });
  const svc = await startService(config);
  assert.match(svc.stderr(), /serving on .*dispatch-test\.sock/, 'the stale socket was replaced');
  try {
    const busyEnv = { PROV_CONFIG: config };
    const slow = dispatch(['clients.create'], { a: 3 }, { env: busyEnv });
    await rx.waitFor((x) => x.path === '/hang');
    const quick = await dispatch([EVENT], { a: 4 }, { env: busyEnv });
    assert.equal(quick.status, 0, quick.stderr);
    assert.deepEqual(quick.result.data, { a: 4 });
    const hung = await slow;
    assert.equal(hung.status, 0, hung.stderr);
    assert.equal(hung.result.handlers[0].status, 'fail');
    assert.match(hung.result.handlers[0].error, /timed out|timeout/i);
    assert.ok(hung.result.handlers[0].duration_ms >= 2900, 'the first event waited for its handler');
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
});

test('a worker killed during a run: the caller exits 70, the journal keeps the run, another worker takes over', async () => {
  const config = serviceConfig('service-kill.conf');
  const svc = await startService(config);
  try {
    const env = { PROV_CONFIG: config };
    addHandler({ name: 'svc killed', event: 'clients.create', task: `${rx.url}/hang`, timeoutMs: 20000 });
    addHandler({ name: 'svc after', event: EVENT, task: `${rx.url}/echo` });
    publish();
    const before = journals().length;
    const [worker] = svc.workers();
    const running = dispatch(['clients.create', '--event-id', uniqueName('svc-killed')], { a: 1 }, { env });
    const request = await rx.waitFor((x) => x.path === '/hang');
    process.kill(worker, 'SIGKILL');
    const r = await running;
    assert.equal(r.status, 70);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^prov-dispatch: the dispatcher service ended during the run; its handlers may have run and the spool keeps their log for prov-worker\n$/);
    assert.equal(journals().length, before + 1, 'the journal of the killed run stays in the spool');
    await until('a new worker', () => svc.workers().length === 1 && svc.workers()[0] !== worker);
    const next = await dispatch([EVENT], { a: 2 }, { env });
    assert.equal(next.status, 0, next.stderr);
    assert.match(svc.stderr(), new RegExp(`worker ${worker} killed by signal 9; starting another`));
    const imported = runBin('prov-worker', ['--once']);
    assert.equal(imported.status, 0, imported.stderr);
    const delivery = request.headers['x-prov-delivery'];
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE delivery_id = '${delivery}'`)), 1,
      'prov-worker logged the killed run from its journal');
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
});

test('stopping lets the run in progress finish; a second service on the socket and bad setups are refused', async () => {
  const config = serviceConfig('service-stop.conf');
  const svc = await startService(config);
  let stopped;
  try {
    addHandler({ name: 'svc slow', event: EVENT, task: `${rx.url}/slow?ms=800` });
    publish();
    const env = { PROV_CONFIG: config };
    const running = dispatch([EVENT], { a: 1 }, { env });
    await rx.waitFor((x) => x.path === '/slow');
    const second = spawnSync(path.join(binDir, 'prov-dispatchd'), ['--serve'], { env: { ...process.env, PROV_CONFIG: config }, encoding: 'utf8' });
    assert.equal(second.status, 70);
    assert.match(second.stderr, /^prov-dispatchd: .*dispatch-test\.sock: another prov-dispatchd is already serving there\n$/);
    stopped = svc.stop();
    const r = await running;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.result.handlers[0].status, 'success', 'the run finished after SIGTERM');
  } finally {
    assert.equal(await (stopped || svc.stop()), 0, svc.stderr());
  }
  assert.match(svc.stderr(), /prov-dispatchd: stopped\n$/);
  const noSocket = spawnSync(path.join(binDir, 'prov-dispatchd'), ['--serve'], { encoding: 'utf8' });
  assert.equal(noSocket.status, 78);
  assert.match(noSocket.stderr, /^prov-dispatchd: --serve needs dispatch_socket in .*\n$/);
  const withEvent = spawnSync(path.join(binDir, 'prov-dispatchd'), ['--serve', EVENT], { encoding: 'utf8' });
  assert.equal(withEvent.status, 64);
  assert.match(withEvent.stderr, /^prov-dispatch: --serve takes no EVENT/);
  const notSocket = spawnSync(path.join(binDir, 'prov-dispatchd'), ['--serve'], {
    env: { ...process.env, PROV_CONFIG: configWith('service-bad-path.conf', { dispatch_socket: path.join(runDir, 'provisioning.conf') }) },
    encoding: 'utf8',
  });
  assert.equal(notSocket.status, 70);
  assert.match(notSocket.stderr, /provisioning\.conf exists and is not a socket\n$/);

  // A master killed with -9: its workers go too, and a new service can start.
  const orphaned = await startService(config, { workers: 1 });
  const [worker] = orphaned.workers();
  process.kill(orphaned.pid, 'SIGKILL');
  await until('the worker to follow its master', () => !existsSync(`/proc/${worker}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${worker}/status`, 'utf8')));
  const orphanRun = await dispatch([EVENT], { orphan: 1 }, { env: { PROV_CONFIG: config } });
  assert.equal(orphanRun.status, 0, orphanRun.stderr); // the connect is refused: run directly
  assert.equal(orphanRun.result.logged, true);
  const again = await startService(config);
  assert.match(again.stderr(), /serving on /, 'the stale socket was replaced');
  process.kill(again.pid, 'SIGHUP'); // a terminal hang-up stops it cleanly, on its own
  assert.equal(await again.exited, 0, again.stderr());
  assert.ok(!existsSync(socketPath), 'SIGHUP removed the socket');
});

// A caller that arrives while a service stops (one worker still busy, the
// idle one gone) is not taken by anybody: it runs its event itself, at once
// (not after the busy worker's run) and exactly once, and is not told "may
// have run".
test('a caller arriving during a graceful stop runs its event itself, exactly once', async () => {
  const config = serviceConfig('service-stop-arrive.conf', { dispatch_workers: 2, dispatch_wait_ms: 20000 });
  const svc = await startService(config, { workers: 2 });
  let stopped;
  try {
    addHandler({ name: 'svc arrive slow', event: 'clients.create', task: `${rx.url}/slow?ms=4000` });
    addHandler({ name: 'svc arrive echo', event: EVENT, task: `${rx.url}/echo` });
    publish();
    const env = { PROV_CONFIG: config };
    let busyDone = false;
    const busy = dispatch(['clients.create'], { a: 1 }, { env }).then((r) => { busyDone = true; return r; });
    await rx.waitFor((x) => x.path === '/slow');
    stopped = svc.stop();
    const running = (pid) => { try { return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); } catch { return false; } };
    await until('the idle worker to stop', () => svc.workers().filter(running).length === 1);
    const id = uniqueName('svc-arrive');
    const started = Date.now();
    const r = await dispatch([EVENT, '--event-id', id], { a: 2 }, { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.result.logged, true);
    assert.ok(Date.now() - started < 15000, 'it did not wait out dispatch_wait_ms (20 s)');
    assert.equal(busyDone, false, 'it ran before the busy worker finished: nobody made it wait for the stop');
    assert.equal(rx.requests.filter((x) => x.body.includes(id)).length, 1, 'delivered once');
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = '${id}'`)), 1, 'logged once');
    assert.equal((await busy).status, 0);
  } finally {
    assert.equal(await (stopped || svc.stop()), 0, svc.stderr());
  }
});

// A caller queued before the stop (every worker busy) is not left waiting for
// dispatch_wait_ms when the service goes: it runs its event itself, once.
test('callers during a graceful stop: each event runs exactly once, none waits dispatch_wait_ms', async () => {
  const config = serviceConfig('service-stopping.conf', { dispatch_wait_ms: 20000 });
  const svc = await startService(config);
  let stopped;
  try {
    addHandler({ name: 'svc stopping slow', event: 'clients.create', task: `${rx.url}/slow?ms=1500` });
    addHandler({ name: 'svc stopping echo', event: EVENT, task: `${rx.url}/echo` });
    publish();
    const env = { PROV_CONFIG: config };
    const busy = dispatch(['clients.create'], { a: 1 }, { env });
    await rx.waitFor((x) => x.path === '/slow');
    // Queued: connected, waiting for a worker's "R" in poll(2) (syscall 7).
    const queuedId = uniqueName('svc-queued');
    const started = Date.now();
    const queued = dispatch([EVENT, '--event-id', queuedId], { a: 2 }, { env });
    const front = () => children(process.pid).find((pid) => {
      try { return /prov-dispatch\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1')) && /^7 /.test(readFileSync(`/proc/${pid}/syscall`, 'utf8')); } catch { return false; }
    });
    await until('the queued caller to wait for a worker', () => front() !== undefined);
    stopped = svc.stop();
    await until('the socket to be removed', () => !existsSync(socketPath));
    const lateId = uniqueName('svc-late');
    const late = await dispatch([EVENT, '--event-id', lateId], { a: 3 }, { env });
    assert.equal(late.status, 0, late.stderr);
    assert.equal(late.result.logged, true);
    const q = await queued;
    assert.equal(q.status, 0, q.stderr);
    assert.equal(q.result.logged, true);
    assert.ok(Date.now() - started < 15000, 'the queued caller did not wait out dispatch_wait_ms (20 s)');
    assert.equal((await busy).status, 0);
    for (const id of [queuedId, lateId]) {
      assert.equal(rx.requests.filter((x) => x.body.includes(id)).length, 1, `${id} delivered once`);
      assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE event_uid = '${id}'`)), 1, `${id} logged once`);
    }
  } finally {
    assert.equal(await (stopped || svc.stop()), 0, svc.stderr());
  }
});

test('valgrind: a release worker serving events (HTTP, failure, bad input) leaks nothing', { timeout: 120000 }, async () => {
  const config = serviceConfig('service-valgrind.conf');
  const svc = await startService(config, {
    bin: releaseBinDir,
    prefix: ['valgrind', '--quiet', '--trace-children=no', '--child-silent-after-fork=no', '--leak-check=full',
      '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99', '--track-fds=no'],
  });
  const env = { PROV_CONFIG: config };
  addHandler({ name: 'vg svc http', event: EVENT, task: `${rx.url}/modify?set=${enc({ vg: 1 })}`, priority: 1, secret: 'k' });
  addHandler({ name: 'vg svc fail', event: EVENT, task: `${rx.url}/status/500`, priority: 2 });
  publish();
  for (let i = 0; i < 3; i++) {
    // The release front too: what ships is handed to the release worker.
    const r = await dispatch([EVENT], { i }, { env, bin: i === 2 ? releaseBinDir : binDir });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.result.data, { i, vg: 1 });
  }
  assert.equal((await dispatch(['clients.nope'], {}, { env })).status, 64);
  assert.equal(await svc.stop(), 0, svc.stderr());
  const report = svc.stderr().split('\n').filter((l) => l && !/serving on|worker ready|metrics reporter ready|stopped$|syscall: 434|own handler|README_MISSING|consider this a bug|bug_reports/.test(l));
  assert.deepEqual(report, [], 'no valgrind report from the master or its worker');
});

test('a caller that never closes its stdin: the worker gives up after dispatch_read_timeout_ms and serves the next caller', async () => {
  addHandler({ name: 'svc open stdin', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const config = serviceConfig('service-open-stdin.conf', { dispatch_read_timeout_ms: 700 });
  const svc = await startService(config);
  try {
    // The only worker takes this caller, whose stdin is a pipe nobody closes.
    const child = spawn(path.join(binDir, 'prov-dispatch'), [EVENT], { env: { ...process.env, PROV_CONFIG: config } });
    const err = [];
    child.stderr.on('data', (c) => err.push(c));
    child.stdin.write('{"a":');
    const started = Date.now();
    const status = await new Promise((resolve) => child.on('close', resolve));
    const took = Date.now() - started;
    assert.equal(status, 64, Buffer.concat(err).toString());
    assert.match(Buffer.concat(err).toString(), /^prov-dispatch: the event data did not arrive within 700 ms \(dispatch_read_timeout_ms\): stdin was not closed; nothing was run\n$/);
    assert.ok(took >= 600 && took < 5000, `gave up after ${took} ms`);
    assert.equal(rx.requests.length, 0, 'nothing was run');
    // The worker is free again: the next caller is served at once (not after dispatch_wait_ms = 10 s).
    const t0 = Date.now();
    const next = await dispatch([EVENT], { a: 2 }, { env: { PROV_CONFIG: config } });
    assert.equal(next.status, 0, next.stderr);
    assert.deepEqual(next.result.data, { a: 2 });
    assert.ok(Date.now() - t0 < 5000, 'served by the worker, not after waiting for one');
    child.stdin.destroy();
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
});

test('the stdin deadline holds for a direct run too', async () => {
  const config = configWith('direct-open-stdin.conf', { dispatch_read_timeout_ms: 300 });
  const child = spawn(path.join(binDir, 'prov-dispatchd'), [EVENT], { env: { ...process.env, PROV_CONFIG: config } });
  const err = [];
  child.stderr.on('data', (c) => err.push(c));
  child.stdin.write('{');
  const status = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(status, 64);
  assert.match(Buffer.concat(err).toString(), /the event data did not arrive within 300 ms/);
  child.stdin.destroy();
});

test('dispatch_workers_per_uid: one caller uid cannot take every worker; its extra events run in their own process', async () => {
  addHandler({ name: 'svc hang uid', event: 'clients.create', task: `${rx.url}/hang`, timeoutMs: 3000 });
  addHandler({ name: 'svc quick uid', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const config = serviceConfig('service-per-uid.conf', { dispatch_workers: 2, dispatch_workers_per_uid: 1 });
  const svc = await startService(config, { workers: 2 });
  try {
    const env = { PROV_CONFIG: config };
    const slow = dispatch(['clients.create'], { a: 1 }, { env });
    await rx.waitFor((x) => x.path === '/hang');
    // A worker is free, but this uid already has its one: refused at once, run directly.
    const t0 = Date.now();
    const quick = await dispatch([EVENT], { a: 2 }, { env });
    assert.equal(quick.status, 0, quick.stderr);
    assert.deepEqual(quick.result.data, { a: 2 });
    assert.ok(Date.now() - t0 < 2500, 'not kept waiting for dispatch_wait_ms');
    assert.match(svc.stderr(), new RegExp(`\\]: uid ${process.getuid()} has 1 worker busy \\(dispatch_workers_per_uid = 1\\): its caller runs the event itself`));
    assert.equal((await slow).status, 0);
  } finally {
    assert.equal(await svc.stop(), 0, svc.stderr());
  }
});

test('the journal files of served runs are removed once logged', () => {
  assert.deepEqual(readdirSync(path.join(runDir, 'spool')).filter((f) => f.startsWith('.journal-')), []);
});

// The front is built with musl and linked as a static-pie (Makefile): a
// dynamic loader would put back the start-up cost it exists to avoid, and
// musl-gcc silently makes a dynamic executable of -static-pie.
test('prov-dispatch in both builds is a static-pie: no program interpreter, no shared library', () => {
  for (const bin of [binDir, releaseBinDir]) {
    const file = path.join(bin, 'prov-dispatch');
    const headers = spawnSync('readelf', ['-hlW', file], { encoding: 'utf8' });
    assert.equal(headers.status, 0, headers.stderr);
    assert.match(headers.stdout, /Type:\s+DYN/, `${file} is position-independent`);
    assert.doesNotMatch(headers.stdout, /INTERP/, `${file} names no program interpreter`);
    const dynamic = spawnSync('readelf', ['-dW', file], { encoding: 'utf8' });
    assert.equal(dynamic.status, 0, dynamic.stderr);
    assert.doesNotMatch(dynamic.stdout, /\(NEEDED\)/, `${file} needs no shared library`);
  }
});
