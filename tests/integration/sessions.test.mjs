// A session's end is seen at once by every panel process: no process answers
// a page from what it remembers of a session without asking MariaDB first
// (core/web.c: the session lookup comes before any page).
//
// Each trial warms several panel processes with parallel requests for the
// same pages with one cookie (mod_fcgid starts more processes under parallel
// load), ends the session in one of the ways
// below (logout, role change, password change, user removed, user disabled), and at once fires many parallel requests with the old cookie: every
// single one must be refused. A process that answered from memory for even a
// few milliseconds after the end fails a trial; trials repeat so that such a
// window shows reliably (the "trusted repeats" of 250 ms failed 15 of 20).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  Client, api, createApiKey, createUser, loopbackAddress, runBin, runDir, sql, sqlValue, uniqueName,
} from '../lib/panel.mjs';
import { q } from '../lib/dispatch.mjs';

const TRIALS = Number(process.env.PROV_SESSION_TRIALS ?? 10);
const CONCURRENCY = 16;
const AFTER = 50; // requests with the old cookie after the end, per trial
const WARM_ROUNDS = 3;
const WARM_PAGES = ['/logs', '/logs', '/logs', '/logs?status=fail', '/handlers', '/scheduler'];

// Run fn(i) for i in [0, n) with at most `width` at a time; the results in order.
async function parallel(n, width, fn) {
  const results = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
  return results;
}

// A client holding only this session cookie (as a replaying browser would).
function withCookie(cookie) {
  const c = new Client();
  c.cookies.set('prov_session', cookie);
  return c;
}

// Panel processes of this instance now.
function panelProcesses() {
  try {
    const out = execFileSync('pgrep', ['-f', path.join(runDir, 'site/cgi-bin/panel.fcgi')], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).length;
  } catch {
    return 0; // pgrep: none matched
  }
}

// Log in as a fresh user of role and warm the panel processes with that
// session's pages, ending with parallel requests so that the very last
// answers before the end came from several processes.
async function warmSession(role) {
  const name = uniqueName(`sess-${role}`);
  const password = createUser(name, role);
  const client = new Client();
  await client.login(name, password);
  const cookie = client.cookies.get('prov_session');
  for (let round = 0; round < WARM_ROUNDS; round++) {
    const answers = await parallel(CONCURRENCY * 2, CONCURRENCY, (i) =>
      withCookie(cookie).get(WARM_PAGES[i % WARM_PAGES.length]));
    for (const r of answers) assert.equal(r.status, 200, 'the session works before its end');
  }
  return { name, client, cookie };
}

// AFTER parallel requests with the old cookie, round-robin over pages; the
// answers that were not refused (check says what refused means).
async function afterTheEnd(cookie, pages, check) {
  const answers = await parallel(AFTER, CONCURRENCY, (i) => {
    const page = pages[i % pages.length];
    return withCookie(cookie).get(page).then((r) => ({ page, r }));
  });
  return answers.filter(({ page, r }) => !check(page, r));
}

const describe = (bad) => bad.map(({ page, r }) => `${page}: ${r.status}`).join(', ');

// The panel's answer to a page request without a (live) session.
const refused = (page, r) => r.status === 303 && r.location === '/login' && !/csrf_token/.test(r.text);

test('after logout, the old cookie is refused at once by every panel process, under parallel load', async (t) => {
  const failed = [];
  let processes = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const { client, cookie } = await warmSession('admin');
    const out = await client.submit('/logs', '/logout', {});
    assert.equal(out.status, 303);
    const bad = await afterTheEnd(cookie, WARM_PAGES, refused);
    processes = Math.max(processes, panelProcesses());
    if (bad.length) failed.push(`trial ${trial}: ${bad.length}/${AFTER} not refused (${describe(bad.slice(0, 4))})`);
  }
  t.diagnostic(`logout: ${failed.length} of ${TRIALS} trials served the old cookie; up to ${processes} panel processes`);
  assert.ok(processes >= 2, `the trials ran against several panel processes (${processes})`);
  assert.deepEqual(failed, []);
});

test('after a role change, the very next requests see the new role in every panel process', async (t) => {
  const failed = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const { name, cookie } = await warmSession('admin');
    // An admin page warmed too, so that a process could remember it.
    await parallel(CONCURRENCY, CONCURRENCY, (i) => withCookie(cookie).get(i % 2 ? '/apikeys' : '/logs'));
    sql(`UPDATE users SET role = 'viewer' WHERE name = ${q(name)}`);
    const bad = await afterTheEnd(cookie, ['/logs', '/apikeys'], (page, r) =>
      page === '/apikeys'
        ? r.status === 403
        : r.status === 200 && /class="role role-viewer"/.test(r.text) && !/role-admin/.test(r.text));
    if (bad.length) failed.push(`trial ${trial}: ${bad.length}/${AFTER} answered as admin (${describe(bad.slice(0, 4))})`);
  }
  t.diagnostic(`role change: ${failed.length} of ${TRIALS} trials answered the old role`);
  assert.deepEqual(failed, []);
});

test('after a password change, the old cookie is refused at once by every panel process; the new password logs in', async (t) => {
  const failed = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const { name, cookie } = await warmSession('viewer');
    const password = `pw-new-${uniqueName('x')}`;
    const set = runBin('prov-admin', ['user', 'passwd', name], { input: `${password}\n` });
    assert.equal(set.status, 0, set.stderr);
    const bad = await afterTheEnd(cookie, WARM_PAGES, refused);
    if (bad.length) failed.push(`trial ${trial}: ${bad.length}/${AFTER} not refused (${describe(bad.slice(0, 4))})`);
    if (trial === 0) {
      const again = new Client();
      await again.login(name, password);
      assert.equal((await again.get('/logs')).status, 200);
    }
  }
  t.diagnostic(`password change: ${failed.length} of ${TRIALS} trials served the old cookie`);
  assert.deepEqual(failed, []);
});

// A user removed in SQL (its sessions go with it).
test('after the user is removed, its cookie is refused at once by every panel process', async (t) => {
  const failed = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const { name, cookie } = await warmSession('viewer');
    sql(`DELETE FROM users WHERE name = ${q(name)}`);
    const bad = await afterTheEnd(cookie, WARM_PAGES, refused);
    if (bad.length) failed.push(`trial ${trial}: ${bad.length}/${AFTER} not refused (${describe(bad.slice(0, 4))})`);
  }
  t.diagnostic(`user removed: ${failed.length} of ${TRIALS} trials served the old cookie`);
  assert.deepEqual(failed, []);
});

// prov-admin user disable (issue #14): the sessions end in the same
// transaction, and the session check refuses a disabled user's rows anyway.
test('after the user is disabled, its cookie is refused at once by every panel process', async (t) => {
  const failed = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const { name, cookie } = await warmSession('viewer');
    const off = runBin('prov-admin', ['user', 'disable', name]);
    assert.equal(off.status, 0, off.stderr);
    const bad = await afterTheEnd(cookie, WARM_PAGES, refused);
    if (bad.length) failed.push(`trial ${trial}: ${bad.length}/${AFTER} not refused (${describe(bad.slice(0, 4))})`);
  }
  t.diagnostic(`user disabled: ${failed.length} of ${TRIALS} trials served the old cookie`);
  assert.deepEqual(failed, []);
});

test('a disabled user\'s session row, were one left, is refused; its API keys too, until enabled', async () => {
  const { name, cookie } = await warmSession('admin');
  const key = createApiKey(name);
  assert.equal((await api('GET', '/me', { key })).status, 200);
  // Disabled in SQL, its sessions left in place: the session check alone refuses them.
  sql(`UPDATE users SET disabled_at = UTC_TIMESTAMP() WHERE name = ${q(name)}`);
  const bad = await afterTheEnd(cookie, WARM_PAGES, refused);
  assert.deepEqual(bad.map(({ page, r }) => `${page}: ${r.status}`), []);
  const refusedKey = await api('GET', '/me', { key });
  assert.equal(refusedKey.status, 401);
  assert.equal(refusedKey.json.error.data.code, 'invalid_api_key');
  assert.equal(runBin('prov-admin', ['user', 'enable', name]).status, 0);
  assert.equal((await api('GET', '/me', { key })).status, 200, 'enabled again, the key works');
});

test('prov-admin user disable, enable and sessions [--revoke]', async () => {
  const name = uniqueName('sess-cli');
  const password = createUser(name, 'viewer');
  const address = loopbackAddress();
  const clients = [new Client({ localAddress: address }), new Client()];
  for (const c of clients) await c.login(name, password);
  const tokens = clients.map((c) => c.cookies.get('prov_session'));
  const digests = sql(`SELECT s.token_hash FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = ${q(name)}`).map((r) => r[0]);

  const list = runBin('prov-admin', ['user', 'sessions', name]);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0], /^CREATED \(UTC\)\s+LAST SEEN\s+EXPIRES\s+SOURCE$/);
  assert.equal(lines.length, 3, list.stdout);
  const row = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (\S+)$/;
  assert.deepEqual(lines.slice(1).map((l) => row.exec(l)?.[1]).sort(), ['127.0.0.1', address].sort());
  for (const secret of [...tokens, ...digests]) assert.ok(!list.stdout.includes(secret), 'never a token or its digest');

  const revoke = runBin('prov-admin', ['user', 'sessions', name, '--revoke']);
  assert.equal(revoke.status, 0, revoke.stderr);
  assert.match(revoke.stdout, new RegExp(`2 sessions of ${name} ended`));
  for (const c of clients) assert.equal((await c.get('/handlers')).location, '/login');
  assert.equal(runBin('prov-admin', ['user', 'sessions', name]).stdout.trim().split('\n').length, 1);

  await clients[0].login(name, password);
  const off = runBin('prov-admin', ['user', 'disable', name]);
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /disabled; its sessions ended/);
  assert.equal((await clients[0].get('/handlers')).location, '/login');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = ${q(name)}`), '0');
  await assert.rejects(new Client().login(name, password), /login of .* failed: 403/);
  assert.equal(runBin('prov-admin', ['user', 'enable', name]).status, 0);
  await new Client().login(name, password);

  for (const sub of ['disable', 'enable', 'sessions']) {
    const ghost = runBin('prov-admin', ['user', sub, uniqueName('ghost')]);
    assert.equal(ghost.status, 1, `${sub} of an unknown user`);
    assert.match(ghost.stderr, /no user named/);
  }
  assert.equal(runBin('prov-admin', ['user', 'disable', name, '--revoke']).status, 64);
  assert.equal(runBin('prov-admin', ['user', 'enable', name, '--role', 'admin']).status, 64);
  assert.match(runBin('prov-admin', ['--help']).stdout, /user sessions NAME \[--revoke\]/);
});
