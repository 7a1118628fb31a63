// HTTP hardening (issue #14, items 5 and 6): the CSRF token counts only from
// a POST's body; the panel refuses methods other than GET, HEAD and POST
// before any body is read; every answer, Apache's own included, carries the
// security headers; the API's oversize bodies get its JSON 413; slow clients
// are cut off (mod_reqtimeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { assertSecurityHeaders, rawRequest } from '../lib/http_checks.mjs';
import {
  Client, api, apiUser, baseUrl, clientAs, csrfFrom, createUser, loopbackAddress, setCookies, uniqueName,
} from '../lib/panel.mjs';

const { hostname: HOST, port: PORT } = new URL(baseUrl);

test('a CSRF token in the query string is not accepted on POST, only the one in the body', async () => {
  const name = uniqueName('csrf-q');
  const password = createUser(name, 'viewer');
  const c = new Client({ localAddress: loopbackAddress() });
  const token = csrfFrom((await c.get('/login')).text);
  const inQuery = await c.request('POST', `/login?csrf_token=${token}`, { form: { username: name, password } });
  assert.equal(inQuery.status, 403, 'a token in the address only is refused');
  assert.match(inQuery.text, /form has expired or was not sent by this panel/);
  assert.equal(c.cookies.has('prov_session'), false);
  // Encoded differently, still the same name once decoded.
  const encoded = await c.request('POST', `/login?csrf%5Ftoken=${token}`, { form: { username: name, password } });
  assert.equal(encoded.status, 403);
  // A wrong token in the address does not spoil the right one in the body.
  const both = await c.request('POST', `/login?csrf_token=${'0'.repeat(64)}`, { form: { csrf_token: token, username: name, password } });
  assert.equal(both.status, 303);

  // Logged in: logout with the session's token in the address only is refused.
  const session = c.cookies.get('prov_session');
  const page = await c.get('/handlers');
  const sessionToken = csrfFrom(page.text);
  const logout = await c.request('POST', `/logout?csrf_token=${sessionToken}`, { form: {} });
  assert.equal(logout.status, 403);
  assert.equal(c.cookies.get('prov_session'), session);
  assert.equal((await c.get('/handlers')).status, 200, 'the session is still alive');
});

test('the panel refuses methods other than GET, HEAD and POST before reading a body or a session', async () => {
  const c = await clientAs('admin');
  for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    for (const path of ['/login', '/handlers/1', '/no-such-page']) {
      const r = await c.request(method, path, { form: { csrf_token: 'x', name: 'y' } });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get('allow'), 'GET, HEAD, POST', `${method} ${path}`);
      assert.equal(setCookies(r.headers).length, 0, 'no cookie: no page or session code ran');
      assert.equal(r.text, '');
    }
  }
  // The JSON API keeps its own methods and answers.
  const { key } = apiUser('admin');
  const put = await api('PUT', '/handlers', { key, body: {} });
  assert.equal(put.status, 405);
  assert.equal(put.json.error.data.code, 'method_not_allowed');
  assert.equal(put.headers.get('allow'), 'GET, POST');
  assert.equal((await api('DELETE', '/handlers/999999999', { key })).status, 404);
});




test('every answer carries CSP, X-Frame-Options, nosniff and Referrer-Policy, Apache\'s own included', async () => {
  const answers = [];
  const fetched = async (what, url, init) => {
    const r = await fetch(baseUrl + url, { redirect: 'manual', ...init });
    await r.arrayBuffer();
    answers.push([what, r.status, r.headers]);
    return r;
  };
  await fetched('panel page', '/login');
  await fetched('panel 404', '/no-such-page');
  await fetched('static file', '/static/css/panel.css');
  await fetched('static 404 (Apache)', '/static/no-such-file.css');
  const trace = await rawRequest(baseUrl, 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  answers.push(['TRACE 405 (Apache)', trace.status, trace.headers]);
  await fetched('API answer', '/api/v1/events');
  await fetched('OpenAPI file', '/api/v1/openapi.json');
  const bad = await rawRequest(baseUrl, 'GARBAGE\r\n\r\n');
  answers.push(['malformed request line 400 (Apache)', bad.status, bad.headers]);
  const big = 'a'.repeat(2 * 1024 * 1024);
  await fetched('panel body over FcgidMaxRequestLen', '/login', {
    method: 'POST', body: big, headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const expected = {
    'panel page': 200, 'panel 404': 404, 'static file': 200, 'static 404 (Apache)': 404,
    'TRACE 405 (Apache)': 405, 'API answer': 401, 'OpenAPI file': 200,
    'malformed request line 400 (Apache)': 400, 'panel body over FcgidMaxRequestLen': 413,
  };
  for (const [what, status, headers] of answers) {
    assert.equal(status, expected[what], what);
    assertSecurityHeaders(headers, what);
  }
});

test('the API answers a body over FcgidMaxRequestLen with its JSON 413, not Apache\'s HTML 500', async () => {
  const { key } = apiUser('admin');
  const body = JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) });
  for (const k of [key, undefined]) {
    const r = await api('POST', '/handlers', { key: k, rawBody: body });
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.json, { error: { message: 'request body is too large', data: { code: 'too_large' } } });
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assertSecurityHeaders(r.headers, 'API 413');
  }
  // Under FcgidMaxRequestLen and over request_max_bytes: the API's own 413, the same body.
  const own = await api('POST', '/handlers', { key, rawBody: JSON.stringify({ name: 'x'.repeat(100000) }) });
  assert.equal(own.status, 413);
  assert.equal(own.json.error.data.code, 'too_large');
});

// mod_reqtimeout: RequestReadTimeout header=20-40,MinRate=500. Three clients
// send a request's headers one byte every 2 s (slowloris); Apache must close
// each well before Apache's plain Timeout would let them linger (they were
// held for 90 s and more).
test('slow clients are cut off: three connections sending headers slowly are closed within 45 s', { timeout: 70000 }, async (t) => {
  const DEADLINE_MS = 45000;
  const started = Date.now();
  const one = () => new Promise((resolve) => {
    const socket = net.connect(PORT, HOST);
    let timer;
    let answer = '';
    const finish = (how) => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ how, ms: Date.now() - started, answer: answer.split('\r\n')[0] });
    };
    const deadline = setTimeout(() => finish('still open'), DEADLINE_MS);
    socket.setEncoding('latin1');
    socket.on('data', (d) => { answer += d; });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
    socket.on('connect', () => {
      socket.write('GET /login HTTP/1.1\r\nHost: x\r\n');
      const filler = 'X-Slow: ' + 'a'.repeat(1000);
      let i = 0;
      timer = setInterval(() => { if (!socket.destroyed) socket.write(filler[i++ % filler.length]); }, 2000);
    });
  });
  const results = await Promise.all([one(), one(), one()]);
  t.diagnostic(results.map((r) => `${r.how} after ${(r.ms / 1000).toFixed(1)} s (${r.answer || 'no answer'})`).join('; '));
  for (const r of results) {
    assert.equal(r.how, 'closed', `a slow connection was still open after ${DEADLINE_MS / 1000} s`);
    assert.match(r.answer, /^HTTP\/1\.1 408/);
  }
});
