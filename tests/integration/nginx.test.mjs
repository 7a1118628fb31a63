// nginx.conf.example (issue #18): the same panel and API behind nginx, the
// programs run by spawn-fcgi and multiwatch (scripts/nginx.sh), against the test instance's
// MariaDB. Login, a form POST, the list and its filter, the API with its key,
// 405s, 413s (the API's in JSON), the security headers on nginx's own answers
// too, static files with Cache-Control, no listing, the OpenAPI alias.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { assertSecurityHeaders, rawRequest } from '../lib/http_checks.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client, api, apiUser, configPath, createUser, loopbackAddress, runDir, setCookies, sqlValue, uniqueName,
} from '../lib/panel.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Run a function of scripts/nginx.sh; returns its stdout, throws with its stderr.
function nginxScript(fn, ...args) {
  const r = spawnSync('bash', ['-c', `. scripts/nginx.sh && ${fn} "$@"`, 'nginx.sh', ...args], {
    cwd: root, encoding: 'utf8', timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`${fn} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

let base;
before(() => {
  try {
    base = nginxScript('prov_nginx_start', runDir, configPath).trim().split('\n').pop();
  } catch (e) {
    nginxScript('prov_nginx_stop', runDir);
    throw e;
  }
});
after(() => nginxScript('prov_nginx_stop', runDir));



async function get(urlPath, init = {}) {
  const r = await fetch(base + urlPath, { redirect: 'manual', ...init });
  return { status: r.status, headers: r.headers, text: await r.text() };
}


// A POST whose body of size bytes is sent chunked; resolves with { status, text }.
function chunkedPost(urlPath, headers, size) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + urlPath, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    // nginx may answer and close before it has read everything: the answer counts.
    req.on('error', (e) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    const chunk = 'x'.repeat(64 * 1024);
    for (let sent = 0; sent < size; sent += chunk.length) req.write(chunk);
    req.end();
  });
}

test('login through nginx: the form, its CSRF cookie, the session from the client\'s address', async () => {
  const name = uniqueName('ngx-login');
  const password = createUser(name, 'admin');
  const address = loopbackAddress();
  const c = new Client({ base, localAddress: address });
  const page = await c.get('/login');
  assert.equal(page.status, 200);
  assert.match(page.text, /name="csrf_token"/);
  assertSecurityHeaders(page.headers, 'login page');
  const r = await c.login(name, password);
  assert.equal(r.location, '/handlers');
  assert.ok(setCookies(r.headers).some((l) => /^prov_session=[0-9a-f]+; Path=\/; HttpOnly; SameSite=Strict/.test(l)),
    setCookies(r.headers).join(' | '));
  assert.equal((await c.get('/handlers')).status, 200);
  // REMOTE_ADDR reaches the panel: the session records the client's address.
  const userId = sqlValue(`SELECT id FROM users WHERE name='${name}'`);
  assert.equal(sqlValue(`SELECT source_address FROM sessions WHERE user_id=${userId}`), address);
  // A wrong password is refused, with no session.
  const wrong = new Client({ base, localAddress: address });
  assert.equal((await wrong.submit('/login', '/login', { username: name, password: 'nope' })).status, 403);
  assert.equal(wrong.cookies.has('prov_session'), false);
});

test('a handler created with the panel form is listed, and the list filters on the query string', async () => {
  const c = new Client({ base });
  const name = uniqueName('ngx-admin');
  await c.login(name, createUser(name, 'admin'));
  const handler = uniqueName('ngx-form');
  const r = await c.submit('/handlers/new', '/handlers/new', {
    name: handler, events_id: 'clients.archive', task: 'http://127.0.0.1:9/hook', status: 'disabled',
    priority: '3', timeout: '5', retry_enabled: '1', retry_schedule: '', retry_max_attempts: '',
    secret_action: 'keep', return: '',
  });
  assert.equal(r.status, 303, r.text.slice(0, 300));
  const id = Number(new URL(r.location, 'http://x').searchParams.get('id'));
  assert.equal(sqlValue(`SELECT CONCAT_WS('|', name, events_id, status, priority) FROM handlers WHERE id=${id}`),
    `${handler}|clients.archive|disabled|3`);
  const rowIds = (html) => [...html.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
  const list = await c.get('/handlers?event=clients.archive');
  assert.equal(list.status, 200);
  assert.ok(rowIds(list.text).includes(id), 'listed under its event');
  assert.ok(list.text.includes(handler));
  const other = await c.get('/handlers?event=clients.create');
  assert.equal(other.status, 200);
  assert.ok(!rowIds(other.text).includes(id), 'QUERY_STRING reaches the list: filtered out');
  const edit = await c.get(`/handlers/${id}`);
  assert.equal(edit.status, 200, 'PATH_INFO routes /handlers/ID');
  assert.match(edit.text, new RegExp(`value="${handler}"`));
});

test('the API through nginx: X-Api-Key, create, list, 401, 404, 405 in JSON', async () => {
  const { key } = apiUser('admin');
  const created = await api('POST', '/handlers', {
    base, key, body: { name: uniqueName('ngx-api'), events_id: 'clients.update', task: '127.0.0.1:9/hook' },
  });
  assert.equal(created.status, 201, created.text);
  assertSecurityHeaders(created.headers, 'API 201');
  const list = await api('GET', '/handlers?events_id=clients.update&sort=id&order=desc&limit=1', { base, key });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.handlers[0].id, created.json.id);
  const one = await api('GET', `/handlers/${created.json.id}`, { base, key });
  assert.equal(one.json.name, created.json.name);
  assert.equal((await api('GET', '/handlers', { base })).status, 401, 'no key');
  assert.equal((await api('GET', '/no-such-thing', { base, key })).json.error.data.code, 'not_found');
  const put = await api('PUT', '/handlers', { base, key, body: {} });
  assert.equal(put.status, 405);
  assert.equal(put.json.error.data.code, 'method_not_allowed');
  assert.equal(put.headers.get('allow'), 'GET, POST');
});

test('the panel refuses other methods with 405 and Allow', async () => {
  const c = new Client({ base });
  for (const method of ['PUT', 'DELETE']) {
    const r = await c.request(method, '/login', { form: { csrf_token: 'x' } });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD, POST');
    assertSecurityHeaders(r.headers, `${method} 405`);
  }
});

test('bodies over 1 MiB get 413 from nginx: the API\'s in JSON, both with the security headers', async () => {
  const { key } = apiUser('admin');
  const body = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
  for (const k of [key, undefined]) {
    const r = await api('POST', '/handlers', { base, key: k, rawBody: body });
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.json, { error: { message: 'request body is too large', data: { code: 'too_large' } } });
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(r.headers, 'API 413');
  }
  // Chunked (no Content-Length): nginx counts as it reads; the same JSON 413.
  const chunked = await chunkedPost('/api/v1/handlers', { 'x-api-key': key, 'content-type': 'application/json' },
    2 * 1024 * 1024);
  assert.equal(chunked.status, 413);
  assert.equal(JSON.parse(chunked.text).error.data.code, 'too_large');
  // Under nginx's limit and over request_max_bytes: the API's own 413, the same body.
  const own = await api('POST', '/handlers', { base, key, rawBody: JSON.stringify({ name: 'x'.repeat(100000) }) });
  assert.equal(own.status, 413);
  assert.equal(own.json.error.data.code, 'too_large');
  const panel = await get('/login', {
    method: 'POST', body: 'a'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(panel.status, 413);
  assertSecurityHeaders(panel.headers, 'panel 413');
});

test('every answer carries the security headers once, nginx\'s own errors included', async () => {
  const answers = [];
  for (const [what, url, status] of [
    ['panel page', '/login', 200], ['panel 404', '/no-such-page', 404], ['static file', '/static/css/panel.css', 200],
    ['static 404 (nginx)', '/static/no-such-file.css', 404], ['API answer', '/api/v1/events', 401],
    ['OpenAPI file', '/api/v1/openapi.json', 200], ['other API version (nginx)', '/api/v2/handlers', 404],
  ]) {
    const r = await get(url);
    answers.push([what, r.status, status, r.headers]);
  }
  const trace = await rawRequest(base, 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  answers.push(['TRACE 405 (nginx)', trace.status, 405, trace.headers]);
  const bad = await rawRequest(base, 'GARBAGE\r\n\r\n');
  answers.push(['malformed request line 400 (nginx)', bad.status, 400, bad.headers]);
  for (const [what, status, expected, headers] of answers) {
    assert.equal(status, expected, what);
    assertSecurityHeaders(headers, what);
  }
});

test('static files: Cache-Control on success only, types, no listing, the OpenAPI alias', async () => {
  const css = await get('/static/css/panel.css');
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('cache-control'), 'public, max-age=3600');
  assert.match(css.headers.get('content-type'), /^text\/css/);
  assert.equal(css.text, readFileSync(path.join(root, 'static/css/panel.css'), 'utf8'));
  const missing = await get('/static/no-such-file.css');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('cache-control'), null, 'a 404 is not cached for an hour');
  const listing = await get('/static/css/');
  assert.equal(listing.status, 403, 'no directory listing');
  assert.doesNotMatch(listing.text, /panel\.css/);
  const openapi = await get('/api/v1/openapi.json');
  assert.equal(openapi.status, 200);
  assert.match(openapi.headers.get('content-type'), /^application\/json/);
  assert.equal(openapi.headers.get('cache-control'), 'public, max-age=3600');
  assert.deepEqual(JSON.parse(openapi.text), JSON.parse(readFileSync(path.join(root, 'static/openapi.json'), 'utf8')));
  // Panel pages keep the program's own Cache-Control, once.
  assert.equal((await get('/login')).headers.get('cache-control'), 'no-store');
});

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// The pids of the children of pid (from /proc).
function childrenOf(pid) {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number);
}

test('stopping ends nginx, multiwatch and every program process, with no sanitizer report (leaks included)', () => {
  const dir = path.join(runDir, 'nginx');
  const watchers = ['panel.pid', 'api.pid'].map((f) => Number(readFileSync(path.join(dir, f), 'utf8').trim()));
  const programs = watchers.flatMap(childrenOf);
  assert.equal(programs.length, 4, 'multiwatch runs two processes of each program');
  const pids = [...watchers, ...programs, Number(readFileSync(path.join(dir, 'nginx.pid'), 'utf8').trim())];
  assert.ok(pids.every(alive));
  nginxScript('prov_nginx_stop', runDir);
  assert.deepEqual(pids.filter(alive), [], 'all stopped');
  const log = readFileSync(path.join(dir, 'fcgi.log'), 'utf8');
  assert.doesNotMatch(log, /AddressSanitizer|LeakSanitizer|runtime error:/, log.slice(0, 4000));
});
