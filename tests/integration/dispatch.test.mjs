// The dispatcher against real MariaDB and a real local HTTP receiver: order,
// data, forbid, failures, timeouts, signatures, scripts, bad input, logging.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configPath, runDir, sql, sqlValue, uniqueName } from '../lib/panel.mjs';
import { startReceiver } from '../lib/receiver.mjs';
import {
  addHandler, disableAll, dispatch, logsOf, publish, q, releaseBinDir, run, scriptsDir,
} from '../lib/dispatch.mjs';

let rx;
before(async () => { rx = await startReceiver(); });
after(async () => { await rx?.close(); });
beforeEach(() => { disableAll(); rx.reset(); });

const EVENT = 'clients.update';
const ID_ORDER = uniqueName('evt-order');
const ID_FORBID = uniqueName('evt-forbid');
const ID_FAIL = uniqueName('evt-fail');
const ID_TIMEOUT = uniqueName('evt-timeout');
const ID_SCRIPT = uniqueName('evt-script');
const ID_BINARY = uniqueName('evt-binary');
const ID_VALGRIND = uniqueName('evt-valgrind');
const logCount = () => Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));

function script(name, body) {
  const file = path.join(scriptsDir, name);
  writeFileSync(file, body);
  chmodSync(file, 0o755);
  return name;
}

test('handlers run in priority order; data changed by one is seen by the next and returned', async () => {
  const third = addHandler({ name: 'third', event: EVENT, task: `${rx.url}/echo`, priority: 3 });
  const first = addHandler({ name: 'first', event: EVENT, task: `${rx.url}/modify?set=${encodeURIComponent('{"plan":"gold"}')}`, priority: 1 });
  const second = addHandler({ name: 'second', event: EVENT, task: `127.0.0.1:${rx.port}/modify?set=${encodeURIComponent('{"checked":true}')}`, priority: 1 });
  addHandler({ name: 'other event', event: 'clients.create', task: `${rx.url}/echo` });
  publish();
  const r = await dispatch([EVENT, '--object-id', '12', '--event-id', ID_ORDER], { client: 7 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(rx.requests.map((x) => x.path), ['/modify', '/modify', '/echo']);
  assert.deepEqual(r.result.handlers.map((h) => h.id), [first, second, third], 'priority 1 first, ties by id');
  const bodies = rx.requests.map((x) => JSON.parse(x.body));
  assert.deepEqual(bodies[0].data, { client: 7 });
  assert.deepEqual(bodies[1].data, { client: 7, plan: 'gold' });
  assert.deepEqual(bodies[2].data, { client: 7, plan: 'gold', checked: true });
  assert.deepEqual(bodies[0].event.id, ID_ORDER);
  assert.equal(bodies[0].event.events_id, EVENT);
  assert.equal(bodies[0].event.object_id, 12);
  assert.match(bodies[0].event.dt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const h = rx.requests[0].headers;
  assert.equal(h['content-type'], 'application/json');
  assert.match(h['user-agent'], /^Provisioning-API\//);
  assert.equal(h['x-prov-event'], EVENT);
  assert.equal(h['x-prov-event-id'], ID_ORDER);
  assert.match(h['x-prov-delivery'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(h['x-prov-signature'], undefined, 'no secret, no signature');
  assert.equal(new Set(rx.requests.map((x) => x.socket)).size, 1, 'one connection reused (keep-alive)');
  assert.equal(r.result.verdict, 'allow');
  assert.deepEqual(r.result.data, { client: 7, plan: 'gold', checked: true });
  assert.deepEqual(r.result.handlers.map((x) => x.verdict), ['replaced', 'replaced', 'unchanged']);
  assert.equal(r.result.logged, true);
  const logs = logsOf(ID_ORDER);
  assert.deepEqual(logs.map((l) => l.handlerId), [first, second, third]);
  for (const l of logs) {
    assert.equal(l.status, 'success');
    assert.equal(l.http, '200');
    assert.equal(l.trigger, 'dispatch');
    assert.equal(l.attempt, 1);
    assert.equal(l.objectId, '12');
    assert.ok(l.durationUs > 0);
  }
  assert.deepEqual(logs.map((l) => l.deliveryId), r.result.handlers.map((x) => x.delivery_id));
  assert.equal(sqlValue(`SELECT request_body FROM exec_logs WHERE event_uid='${ID_ORDER}' AND handler_id=${second}`),
    rx.requests[1].body, 'the log keeps exactly what was sent');
  assert.equal(sqlValue(`SELECT last_status FROM handlers WHERE id=${third}`), 'success');
});

test('a forbid stops the chain and sets exit code 1', async () => {
  const a = addHandler({ name: 'a', event: EVENT, task: `${rx.url}/echo`, priority: 1 });
  const b = addHandler({ name: 'b', event: EVENT, task: `${rx.url}/forbid?reason=${encodeURIComponent('balance too low')}`, priority: 2 });
  addHandler({ name: 'c', event: EVENT, task: `${rx.url}/echo`, priority: 3 });
  publish();
  const r = await dispatch([EVENT, '--event-id', ID_FORBID], { amount: 5 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.result.verdict, 'forbid');
  assert.equal(r.result.reason, 'balance too low');
  assert.equal(r.result.forbidden_by, b);
  assert.deepEqual(r.result.data, { amount: 5 });
  assert.equal(rx.requests.length, 2, 'the handler after the forbid is not called');
  assert.deepEqual(logsOf(ID_FORBID).map((l) => [l.handlerId, l.status]), [[a, 'success'], [b, 'success']]);
});

test('failures are logged and the chain goes on', async () => {
  const h500 = addHandler({ name: 'h500', event: EVENT, task: `${rx.url}/status/500`, priority: 1 });
  const closer = addHandler({ name: 'closer', event: EVENT, task: `${rx.url}/close`, priority: 2 });
  const refused = addHandler({ name: 'refused', event: EVENT, task: 'http://127.0.0.1:9/nothing', priority: 3 });
  const busy = addHandler({ name: 'busy', event: EVENT, task: `${rx.url}/retry-after`, priority: 4 });
  const text = addHandler({ name: 'text', event: EVENT, task: `${rx.url}/text`, priority: 5 });
  const last = addHandler({ name: 'last', event: EVENT, task: `${rx.url}/modify?set=${encodeURIComponent('{"ok":1}')}`, priority: 6 });
  publish();
  sql(`UPDATE handlers SET consecutive_failures = 2 WHERE id = ${h500}`);
  const r = await dispatch([EVENT, '--event-id', ID_FAIL], { x: 1 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.verdict, 'allow');
  assert.deepEqual(r.result.data, { x: 1, ok: 1 }, 'the last handler still ran');
  const byId = Object.fromEntries(r.result.handlers.map((h) => [h.id, h]));
  assert.equal(byId[h500].status, 'fail');
  assert.equal(byId[h500].http_status, 500);
  assert.equal(byId[h500].error, 'the handler answered HTTP 500');
  assert.equal(byId[closer].status, 'fail');
  assert.match(byId[closer].error, /Server returned nothing|Empty reply|reset|closed/i);
  assert.match(byId[refused].error, /^Failed to connect to 127\.0\.0\.1 port 9\b/);
  const parts = byId[refused].error.split(': ');
  assert.equal(new Set(parts).size, parts.length, `one line that says each thing once: ${byId[refused].error}`);
  assert.doesNotMatch(byId[refused].error, /\n/);
  assert.equal(byId[busy].http_status, 503);
  assert.equal(byId[text].status, 'success', 'a 2xx text reply is success, data unchanged');
  assert.equal(byId[text].verdict, 'unchanged');
  const logs = logsOf(ID_FAIL);
  assert.equal(logs.length, 6);
  assert.deepEqual(logs.filter((l) => l.status === 'fail').map((l) => l.handlerId), [h500, closer, refused, busy]);
  assert.equal(logs[0].error, 'the handler answered HTTP 500');
  assert.equal(logs.find((l) => l.handlerId === refused).error, byId[refused].error, 'the log has the same one line');
  assert.equal(sqlValue(`SELECT LOCATE('retry-after: 120', LOWER(response_headers)) > 0 FROM exec_logs
    WHERE event_uid='${ID_FAIL}' AND handler_id=${busy}`), '1', 'response headers are logged');
  assert.deepEqual(sql(`SELECT last_status, consecutive_failures, last_error FROM handlers WHERE id=${h500}`)[0],
    ['fail', '3', 'the handler answered HTTP 500']);
  assert.equal(sqlValue(`SELECT consecutive_failures FROM handlers WHERE id=${last}`), '0');
});

test('an HTTP handler that hangs is cut at its timeout; a 10 MB reply is capped', async () => {
  const hang = addHandler({ name: 'hang', event: EVENT, task: `${rx.url}/hang`, priority: 1, timeoutMs: 400 });
  const big = addHandler({ name: 'big', event: EVENT, task: `${rx.url}/big?mb=10`, priority: 2 });
  const after = addHandler({ name: 'after', event: EVENT, task: `${rx.url}/echo`, priority: 3 });
  publish();
  const started = Date.now();
  const r = await dispatch([EVENT, '--event-id', ID_TIMEOUT], { y: 2 });
  const elapsed = Date.now() - started;
  assert.equal(r.status, 0, r.stderr);
  const byId = Object.fromEntries(r.result.handlers.map((h) => [h.id, h]));
  assert.match(byId[hang].error, /^timeout: no complete answer within 400 ms/);
  assert.ok(byId[hang].duration_ms >= 390 && byId[hang].duration_ms < 2000, `${byId[hang].duration_ms} ms`);
  assert.ok(elapsed < 4000, `the whole run took ${elapsed} ms`);
  assert.match(byId[big].error, /reply is larger than \d+ bytes/);
  assert.equal(byId[after].status, 'success');
  const logs = logsOf(ID_TIMEOUT);
  const bigLog = logs.find((l) => l.handlerId === big);
  assert.equal(bigLog.truncated, 1, 'the cut is marked');
  assert.equal(bigLog.responseLength, 65536, 'response_max_bytes of it are kept');
  assert.equal(logs.find((l) => l.handlerId === hang).truncated, 0);
});

test('the signature verifies with an independent HMAC implementation (openssl dgst)', async () => {
  const secret = 'whsec-test-123';
  addHandler({ name: 'signed', event: EVENT, task: `${rx.url}/echo`, secret });
  publish();
  const before = Math.floor(Date.now() / 1000);
  const r = await dispatch([EVENT], { sign: 'me', unicode: 'é✓' });
  assert.equal(r.status, 0, r.stderr);
  const req = rx.requests[0];
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(req.headers['x-prov-signature']);
  assert.ok(m, req.headers['x-prov-signature']);
  assert.ok(Number(m[1]) >= before - 1 && Number(m[1]) <= before + 5, 'a current timestamp');
  const o = spawnSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: `${m[1]}.${req.body}` });
  assert.equal(o.status, 0);
  assert.equal(/= ([0-9a-f]{64})/.exec(o.stdout.toString())[1], m[2]);
  const tampered = spawnSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: `${m[1]}.${req.body} ` });
  assert.notEqual(/= ([0-9a-f]{64})/.exec(tampered.stdout.toString())[1], m[2]);
});

test('script handlers: success, non-zero exit, invalid JSON, timeout without orphans', async () => {
  const marker = uniqueName('orphan');
  const ok = addHandler({
    name: 'script ok', event: EVENT, type: 'script', priority: 1,
    task: script('ok.sh', '#!/bin/sh\nbody=$(cat)\necho "log line" >&2\n'
      + 'printf \'{"data":{"script":"%s","event":"%s","seen":%s}}\' "$PROV_HANDLER_ID" "$PROV_EVENT_ID" "$(printf %s "$body" | grep -c client)"\n'),
  });
  const exit2 = addHandler({ name: 'script exit', event: EVENT, type: 'script', priority: 2, task: script('exit2.sh', '#!/bin/sh\necho oops >&2\nexit 2\n') });
  const junk = addHandler({ name: 'script junk', event: EVENT, type: 'script', priority: 3, task: script('junk.sh', '#!/bin/sh\necho "this is not JSON"\n') });
  const slow = addHandler({
    name: 'script slow', event: EVENT, type: 'script', priority: 4, timeoutMs: 300,
    task: script('slow.sh', `#!/bin/sh\nsh -c 'sleep 30; :' ${marker} &\nexec sh -c 'sleep 31; :' ${marker}\n`),
  });
  const missing = addHandler({ name: 'script missing', event: EVENT, type: 'script', priority: 5, task: 'no-such-script.sh' });
  publish();
  const r = await dispatch([EVENT, '--event-id', ID_SCRIPT], { client: 1 });
  assert.equal(r.status, 0, r.stderr);
  const byId = Object.fromEntries(r.result.handlers.map((h) => [h.id, h]));
  assert.equal(byId[ok].status, 'success');
  assert.equal(byId[ok].exit_code, 0);
  assert.deepEqual(r.result.data, { script: String(ok), event: ID_SCRIPT, seen: 1 });
  assert.equal(byId[exit2].error, 'the script exited with code 2');
  assert.equal(byId[exit2].exit_code, 2);
  assert.match(byId[junk].error, /not valid JSON/);
  assert.match(byId[slow].error, /^timeout: the script was killed after 300 ms/);
  assert.equal(byId[slow].exit_code, null);
  assert.match(byId[missing].error, /not found/);
  assert.equal(sqlValue(`SELECT HEX(script_stderr) FROM exec_logs WHERE event_uid='${ID_SCRIPT}' AND handler_id=${ok}`),
    Buffer.from('log line\n').toString('hex').toUpperCase());
  assert.equal(sqlValue(`SELECT HEX(script_stderr) FROM exec_logs WHERE event_uid='${ID_SCRIPT}' AND handler_id=${exit2}`),
    Buffer.from('oops\n').toString('hex').toUpperCase());
  assert.equal(sqlValue(`SELECT exit_code FROM exec_logs WHERE event_uid='${ID_SCRIPT}' AND handler_id=${exit2}`), '2');
  // Nothing of the killed script's group is left: no process has the marker.
  const survivors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker); } catch { return false; }
  });
  assert.deepEqual(survivors, [], 'no orphan left');
});

test('disabled and archived handlers never run', async () => {
  addHandler({ name: 'disabled', event: EVENT, task: `${rx.url}/echo?d`, status: 'disabled' });
  addHandler({ name: 'archived', event: EVENT, task: `${rx.url}/echo?a`, status: 'archived' });
  const on = addHandler({ name: 'enabled', event: EVENT, task: `${rx.url}/echo?e`, priority: 9 });
  publish();
  const r = await dispatch([EVENT], { z: 1 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(rx.requests.map((x) => Object.keys(x.query)[0]), ['e']);
  assert.deepEqual(r.result.handlers.map((h) => h.id), [on]);
  const none = await dispatch(['clients.accounts.delete'], { z: 1 });
  assert.equal(none.status, 0);
  assert.deepEqual(none.result.handlers, [], 'an event without handlers is allowed at once');
});

test('bad input: one line on stderr, its own exit code, nothing sent, nothing logged', async () => {
  addHandler({ name: 'never', event: EVENT, task: `${rx.url}/echo` });
  publish();
  const small = path.join(runDir, 'small-payload.conf');
  writeFileSync(small, `${readFileSync(configPath, 'utf8')}payload_max_bytes = 1024\n`);
  const logsBefore = logCount();
  const cases = [
    [['clients.nope'], '{}', 64, /unknown event 'clients\.nope'; valid events: clients\.create, /],
    [[], '{}', 64, /missing EVENT/],
    [[EVENT], '{"a":', 64, /not valid JSON/],
    [[EVENT], '[1,2]', 64, /must be a JSON object, not an array/],
    [[EVENT], '"text"', 64, /must be a JSON object, not a scalar/],
    [[EVENT], '', 64, /no event data on stdin/],
    [[EVENT, '--object-id', 'abc'], '{}', 64, /--object-id must be a non-negative integer/],
    [[EVENT, '--event-id', 'has space'], '{}', 64, /--event-id must be/],
    [[EVENT, '--frobnicate'], '{}', 64, /unknown option --frobnicate/],
    [[EVENT, '--config', small], JSON.stringify({ pad: 'x'.repeat(2000) }), 64, /larger than payload_max_bytes \(1024 bytes\)/],
    [[EVENT, '--config', '/nonexistent/prov.conf'], '{}', 78, /config \/nonexistent\/prov\.conf: cannot open/],
  ];
  for (const [args, input, status, message] of cases) {
    const r = await dispatch(args, input);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^prov-dispatch: /);
    assert.equal(r.stdout, '');
  }
  const noConfig = await dispatch([EVENT], '{}', { env: { PROV_CONFIG: '/nonexistent/env.conf' } });
  assert.equal(noConfig.status, 78);
  assert.equal(rx.requests.length, 0, 'no handler was called');
  assert.equal(logCount(), logsBefore, 'nothing logged');
  const help = await dispatch(['--help'], '');
  assert.equal(help.status, 0);
  for (const code of ['0', '1', '64', '69', '70', '78']) assert.match(help.stdout, new RegExp(`^  ${code} `, 'm'));
  for (const opt of ['--object-id', '--event-id', '--config', '--help']) assert.ok(help.stdout.includes(opt));
});

test('arbitrary bytes from a handler are logged as valid text', async () => {
  const h = addHandler({
    name: 'binary', event: EVENT, type: 'script',
    task: script('binary.sh', "#!/bin/sh\ncat >/dev/null\nprintf '\\377\\376 \\000 bad' \nprintf 'err \\377' >&2\nexit 1\n"),
  });
  publish();
  const r = await dispatch([EVENT, '--event-id', ID_BINARY], {});
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.result.logged, true);
  assert.equal(sqlValue(`SELECT HEX(script_stderr) FROM exec_logs WHERE event_uid='${ID_BINARY}' AND handler_id=${h}`), '65727220EFBFBD');
});

test('valgrind: the release dispatcher is clean (HTTP, script, log)', { timeout: 120000 }, async () => {
  const valgrind = spawnSync('valgrind', ['--version']);
  assert.equal(valgrind.status, 0, 'valgrind is installed by scripts/deps.sh');
  assert.ok(existsSync(path.join(releaseBinDir, 'prov-dispatchd')), 'make builds bin/prov-dispatchd');
  addHandler({ name: 'vg http', event: EVENT, task: `${rx.url}/modify?set=${encodeURIComponent('{"vg":1}')}`, priority: 1, secret: 'k' });
  addHandler({ name: 'vg fail', event: EVENT, task: `${rx.url}/status/500`, priority: 2 });
  addHandler({ name: 'vg script', event: EVENT, type: 'script', priority: 3, task: script('vg.sh', '#!/bin/sh\ncat\n') });
  publish();
  const r = await dispatch([EVENT, '--event-id', ID_VALGRIND, '--object-id', '3'], { a: 1 }, {
    bin: releaseBinDir,
    program: 'prov-dispatchd', // what prov-dispatch execs when no service runs (valgrind stops at exec)
    prefix: ['valgrind', '--quiet', '--leak-check=full', '--show-leak-kinds=definite,indirect',
      '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99', '--track-fds=no'],
  });
  assert.equal(r.status, 0, r.stderr);
  // valgrind 3.19 does not know pidfd_open: the dispatcher then polls by ticks.
  const report = r.stderr.split('\n').filter((l) => l && !/syscall: 434|own handler|README_MISSING|consider this a bug|bug_reports/.test(l));
  assert.deepEqual(report, [], 'no valgrind report');
  assert.deepEqual(r.result.data, { a: 1, vg: 1 });
  assert.equal(logsOf(ID_VALGRIND).length, 3);
  const out = await run('valgrind', ['--quiet', '--leak-check=full', '--error-exitcode=99',
    path.join(releaseBinDir, 'prov-dispatchd'), 'clients.nope'], { input: '{}' });
  assert.equal(out.status, 64, out.stderr);
});

export { q };
