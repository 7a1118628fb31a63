// `make run` and `make stop` (issue #16, items 1 and 2): scripts/run.sh starts
// MariaDB, Apache, the dispatcher service and the retry worker, installs the
// sample script handler in its scripts_dir, and every start, the second one
// included, says the real URL and where the admin login is kept. The test runs
// a whole second instance on a free port with its own state and run folders,
// from the asan build, and stops it even when an assertion fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { binDir } from '../lib/panel.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const varDir = mkdtempSync(path.join(tmpdir(), 'prov-makerun-var-'));
const runDir = mkdtempSync(path.join(tmpdir(), 'prov-makerun-run-'));
const port = Number(spawnSync('node', ['-e',
  'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'],
{ encoding: 'utf8' }).stdout.trim());
const config = path.join(varDir, 'provisioning.conf');

function env(extra = {}) {
  const e = { ...process.env, PROV_VAR_DIR: varDir, PROV_RUN_DIR: runDir, PROV_RUN_BIN: binDir, ...extra };
  delete e.PROV_CONFIG; // the test instance's; make run writes its own
  return e;
}

function runSh(action, extra) {
  const r = spawnSync(path.join(ROOT, 'scripts/run.sh'), [action], { encoding: 'utf8', env: env(extra), timeout: 180000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function alive(pidFile) {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try { process.kill(pid, 0); return pid; } catch { return false; }
}

function sql(query) {
  const r = spawnSync('mariadb', ['--no-defaults', `--socket=${runDir}/mysqld.sock`, '-uroot', '--batch',
    '--skip-column-names', '--raw', 'provisioning', '-e', query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sql failed: ${r.stderr}`);
  return r.stdout.trim();
}

function bin(name, args, input = '') {
  const r = spawnSync(path.join(binDir, name), ['--config', config, ...args], { input, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

after(() => {
  runSh('stop');
  rmSync(varDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

test('make run starts the retry worker and ships a sample script handler; a second make run repeats the real URL and the login; make stop stops the worker too', { timeout: 240000 }, async () => {
  const first = runSh('start', { PROV_PORT: String(port) });
  assert.equal(first.status, 0, `${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
  const password = readFileSync(path.join(varDir, 'admin.password'), 'utf8').trim();
  assert.ok(first.stdout.includes(`admin / ${password}`));
  assert.ok(first.stdout.includes(`kept in ${varDir}/admin.password`));

  // The retry worker runs, and records its passes in the Task Scheduler.
  const worker = alive(path.join(runDir, 'worker.pid'));
  assert.ok(worker, 'make run started prov-worker');
  assert.match(readFileSync(`/proc/${worker}/cmdline`, 'utf8'), /prov-worker\0--config\0.*\0--interval\0/);
  let lastRun = 'NULL';
  for (let i = 0; i < 100 && lastRun === 'NULL'; i++) {
    lastRun = sql("SELECT COALESCE(last_run_at, 'NULL') FROM services WHERE name = 'retry_worker'");
    if (lastRun === 'NULL') await sleep(100);
  }
  assert.notEqual(lastRun, 'NULL', 'the Task Scheduler shows a run of the retry worker');

  // The sample handler is in scripts_dir and answers per the script protocol,
  // run by the dispatcher service like any handler.
  const sample = path.join(runDir, 'scripts/sample.sh');
  assert.ok(statSync(sample).mode & 0o100, 'sample.sh is executable');
  assert.equal(statSync(sample).mode & 0o022, 0, 'and not writable by others (else it is refused)');
  assert.match(readFileSync(config, 'utf8'), new RegExp(`^scripts_dir = ${runDir}/scripts$`, 'm'));
  sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, timeout_ms, created_at, updated_at)
       VALUES ('sample', 'clients.update', 'sample.sh', 'script', 'enabled', 1, 5000, UTC_TIMESTAMP(), UTC_TIMESTAMP());
       UPDATE cache_state SET handlers_version = handlers_version + 1 WHERE id = 1`);
  const reload = bin('prov-cache', ['reload', '--by', 'make-run-test']);
  assert.equal(reload.status, 0, reload.stderr);
  const allowed = bin('prov-dispatch', ['clients.update', '--object-id', '7'], '{"plan":"gold"}');
  assert.equal(allowed.status, 0, allowed.stderr);
  const ok = JSON.parse(allowed.stdout);
  assert.equal(ok.verdict, 'allow');
  assert.equal(ok.handlers[0].status, 'success', JSON.stringify(ok.handlers[0]));
  assert.deepEqual(ok.data, { plan: 'gold' });
  const forbidden = bin('prov-dispatch', ['clients.update'], '{"forbid":true}');
  assert.equal(forbidden.status, 1, forbidden.stderr);
  assert.match(JSON.parse(forbidden.stdout).reason, /sample handler refuses/);
  assert.match(sql("SELECT script_stderr FROM exec_logs WHERE handler_name = 'sample' ORDER BY id LIMIT 1"),
    /^sample\.sh: clients\.update event \S+, handler \d+, delivery [0-9a-f-]{36}, attempt 1 \(dispatch\)/);

  // A second make run, without PROV_PORT: the instance's real URL and the login.
  const second = runSh('start', { PROV_PORT: '' });
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`already running at http://127\\.0\\.0\\.1:${port}/`));
  assert.doesNotMatch(second.stdout, /:8080/);
  assert.ok(second.stdout.includes(`admin / ${password}`));
  assert.ok(second.stdout.includes(`kept in ${varDir}/admin.password`));
  assert.equal(alive(path.join(runDir, 'worker.pid')), worker, 'no second worker');
  assert.match(runSh('status', { PROV_PORT: '' }).stdout, new RegExp(`running at http://127\\.0\\.0\\.1:${port}/`));

  const dispatchd = alive(path.join(runDir, 'dispatchd.pid'));
  const stop = runSh('stop');
  assert.equal(stop.status, 0, stop.stderr);
  assert.match(stop.stdout, /stopped the retry worker, the dispatcher service, Apache and MariaDB/);
  for (const pid of [worker, dispatchd]) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} is gone`);
  }
  assert.equal(runSh('status').status, 3, 'not running');
});
