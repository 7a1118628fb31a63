// Foundation: login, sessions, security headers, list page, errors, prov-admin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import {
  Client, clientAs, createUser, csrfFrom, loopbackAddress, runBin, setCookies, sql, sqlValue, uniqueName, configPath,
  runDir,
} from '../lib/panel.mjs';

test('site root sends a visitor to the login page with strict headers', async () => {
  const c = new Client();
  const r = await c.get('/');
  assert.equal(r.status, 303);
  assert.equal(r.location, '/login');
  const page = await new Client().get('/login');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'.*frame-ancestors 'none'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(csrfFrom(page.text), 'login form carries a CSRF token');
  const setCookie = setCookies(page.headers).join('\n');
  assert.match(setCookie, /prov_csrf=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict/);
});

test('setCookies gives back each Set-Cookie line, an Expires date included, on every supported Node', () => {
  const h = new Headers();
  h.append('set-cookie', 'prov_csrf=ab; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly');
  h.append('set-cookie', 'prov_session=; Path=/; Max-Age=0');
  assert.deepEqual(setCookies(h), [
    'prov_csrf=ab; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly',
    'prov_session=; Path=/; Max-Age=0',
  ]);
  assert.deepEqual(setCookies(new Headers()), []);
});

test('login sets an HttpOnly SameSite=Strict session stored only as a digest', async () => {
  const name = uniqueName('admin');
  const password = createUser(name, 'admin');
  const c = new Client();
  const r = await c.login(name, password);
  assert.equal(r.location, '/handlers');
  assert.match(setCookies(r.headers).join('\n'), /prov_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict/);
  const token = c.cookies.get('prov_session');
  const userId = sqlValue(`SELECT id FROM users WHERE name='${name}'`);
  const stored = sql(`SELECT token_hash FROM sessions WHERE user_id=${userId}`).map((row) => row[0]);
  assert.equal(stored.length, 1);
  assert.notEqual(stored[0], token, 'the cookie itself is never stored');
  const list = await c.get('/handlers');
  assert.equal(list.status, 200);
  assert.match(list.text, /<h1>Provisioning API<\/h1>/);
  assert.match(list.text, new RegExp(`>${name} <small class="role role-admin">`));
});

test('wrong password, missing fields and missing CSRF token are refused', async () => {
  const name = uniqueName('viewer');
  createUser(name, 'viewer');
  const c = new Client();
  const wrong = await c.submit('/login', '/login', { username: name, password: 'not-the-password' });
  assert.equal(wrong.status, 403);
  assert.match(wrong.text, /Wrong user name or password\./);
  assert.equal(c.cookies.has('prov_session'), false);
  const empty = await c.submit('/login', '/login', { username: '', password: '' });
  assert.equal(empty.status, 422);
  assert.match(empty.text, /Enter your user name and password\./);
  const forged = await new Client().post('/login', { username: name, password: 'x', csrf_token: 'a'.repeat(64) });
  assert.equal(forged.status, 403);
  assert.match(forged.text, /form has expired or was not sent by this panel/);
});

test('repeated failures lock the account, even against the right password', async () => {
  const name = uniqueName('locked');
  const password = createUser(name, 'viewer');
  const c = new Client({ localAddress: loopbackAddress() }); // its own per-address count
  for (let i = 0; i < 5; i++) {
    const r = await c.submit('/login', '/login', { username: name, password: `wrong-${i}` });
    assert.equal(r.status, 403);
  }
  const r = await c.submit('/login', '/login', { username: name, password });
  assert.equal(r.status, 403);
  assert.match(r.text, /locked/);
  assert.equal(Number(sqlValue(`SELECT locked_until > UTC_TIMESTAMP() FROM login_failures WHERE scope='name' AND subject='${name}'`)), 1);
  // prov-admin user passwd unlocks it.
  const reset = runBin('prov-admin', ['user', 'passwd', name], { input: 'a-new-password\n' });
  assert.equal(reset.status, 0, reset.stderr);
  await c.login(name, 'a-new-password');
});

test('logout deletes the session row and the cookie', async () => {
  const c = await clientAs('viewer');
  const userId = sqlValue(`SELECT id FROM users WHERE name='${c.userName}'`);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM sessions WHERE user_id=${userId}`), '1');
  const r = await c.submit('/handlers', '/logout', {});
  assert.equal(r.status, 303);
  assert.equal(r.location, '/login');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM sessions WHERE user_id=${userId}`), '0');
  const after = await c.get('/handlers');
  assert.equal(after.status, 303);
  assert.equal(after.location, '/login');
});

test('a stolen-looking or expired session cookie is not a session', async () => {
  const c = new Client();
  c.cookies.set('prov_session', 'f'.repeat(64));
  assert.equal((await c.get('/handlers')).location, '/login');
  c.cookies.set('prov_session', "' OR 1=1 --");
  assert.equal((await c.get('/handlers')).location, '/login');
  const v = await clientAs('viewer');
  const userId = sqlValue(`SELECT id FROM users WHERE name='${v.userName}'`);
  sql(`UPDATE sessions SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE user_id=${userId}`);
  assert.equal((await v.get('/handlers')).location, '/login');
});

test('the list reads handlers from MariaDB and escapes what it shows', async () => {
  const c = await clientAs('viewer');
  const evil = `<script>alert("x")</script> & 'q'`;
  sql(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
       VALUES ('${evil.replace(/'/g, "''")}', 'clients.balance_zero', 'http://127.0.0.1:9/x<b>?a=<b>', 'http',
               'enabled', 7, UTC_TIMESTAMP(), UTC_TIMESTAMP())`);
  const r = await c.get('/handlers?sort=id&dir=desc'); // newest first: the list has pages
  assert.equal(r.status, 200);
  assert.ok(!r.text.includes('<script>alert'), 'raw markup never reaches the page');
  assert.ok(r.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;'));
  // A viewer: the query's values are masked, the path is escaped.
  assert.ok(r.text.includes('http://127.0.0.1:9/x&lt;b&gt;?a=***'));
  assert.match(r.text, /balance became &lt;=0/);
});

test('unknown pages, wrong methods and oversize bodies get clean errors', async () => {
  const c = await clientAs('viewer');
  const missing = await c.get('/no-such-page');
  assert.equal(missing.status, 404);
  assert.match(missing.text, /There is no such page\./);
  const method = await c.post('/handlers', {});
  assert.equal(method.status, 405);
  const big = await c.post('/login', { username: 'x', password: 'y'.repeat(200000) });
  assert.equal(big.status, 413);
  const multipart = await c.request('POST', '/login', {
    body: '--b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\ndata\r\n--b--\r\n',
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(multipart.status, 415);
  for (const r of [missing, method, big, multipart]) {
    assert.doesNotMatch(r.text, /SQL|mysql|Traceback|NEOERR/i);
  }
});

test('prov-admin validates its arguments and reports each failure distinctly', () => {
  const help = runBin('prov-admin', ['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /exit codes:/);
  const name = uniqueName('cli');
  assert.equal(runBin('prov-admin', ['user', 'add', name, '--role', 'admin'], { input: 'long-enough-pw\n' }).status, 0);
  const dup = runBin('prov-admin', ['user', 'add', name, '--role', 'admin'], { input: 'long-enough-pw\n' });
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /already exists/);
  assert.equal(runBin('prov-admin', ['user', 'add', name, '--role', 'root'], { input: 'x\n' }).status, 64);
  assert.equal(runBin('prov-admin', ['user', 'add', uniqueName('n'), '--role', 'viewer']).status, 64);
  const weak = runBin('prov-admin', ['user', 'add', uniqueName('n'), '--role', 'viewer'], { input: 'short\n' });
  assert.equal(weak.status, 1);
  assert.match(weak.stderr, /at least 8 characters/);
  const badName = runBin('prov-admin', ['user', 'add', 'bad name', '--role', 'viewer'], { input: 'long-enough\n' });
  assert.equal(badName.status, 1);
  assert.equal(runBin('prov-admin', ['user', 'passwd', uniqueName('ghost')], { input: 'long-enough\n' }).status, 1);
  assert.equal(runBin('prov-admin', ['frobnicate']).status, 64);
  assert.equal(runBin('prov-admin', ['--config']).status, 64);
});

test('a missing or bad config and an unreachable database are one-line errors', () => {
  const missing = runBin('prov-admin', ['--config', '/nonexistent.conf', 'user', 'add', 'x', '--role', 'admin']);
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /^prov-admin: config \/nonexistent.conf: cannot open/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const bad = `${runDir}/bad.conf`;
  writeFileSync(bad, 'db_user = u\ndb_name = n\nscripts_dir = /tmp\ndb_port = many\n');
  const badRun = runBin('prov-admin', ['--config', bad, 'user', 'add', 'x', '--role', 'admin'], { input: 'long-enough\n' });
  assert.equal(badRun.status, 78);
  assert.match(badRun.stderr, /key 'db_port' must be an integer/);
  const down = `${runDir}/down.conf`;
  writeFileSync(down, `db_socket = ${runDir}/no-such.sock\ndb_user = u\ndb_name = n\nscripts_dir = /tmp\n`);
  const downRun = runBin('prov-admin', ['--config', down, 'user', 'add', uniqueName('x'), '--role', 'admin'], { input: 'long-enough\n' });
  assert.equal(downRun.status, 69);
  assert.match(downRun.stderr, /database unreachable at socket/);
  // PROV_CONFIG is honoured when --config is absent.
  const viaEnv = runBin('prov-admin', ['user', 'passwd', uniqueName('ghost')], { input: 'long-enough\n', env: { PROV_CONFIG: configPath } });
  assert.equal(viaEnv.status, 1);
  assert.match(viaEnv.stderr, /no user named/);
});
