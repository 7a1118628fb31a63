// The API contract's own tests: static/openapi.json passes a third-party
// linter (@redocly/cli, recommended ruleset, offline), and the checker that
// api() runs on every response (tests/lib/api_contract.mjs) catches what it
// must: doctored responses, each breaking the document in one way. Needs no
// server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createContract, loadDocument, openapiPath } from '../lib/api_contract.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = loadDocument();
const contract = createContract(doc);
const json = (extra = {}) => new Headers({ 'content-type': 'application/json', ...extra });
const check = (method, path, status, body, headers = json()) =>
  contract.check(method, path, status, headers, typeof body === 'string' ? body : JSON.stringify(body));

// A GET /handlers/{id} answer as the server gives it.
const handler = {
  id: 7, name: 'CRM sync', events_id: 'clients.create', task: 'https://crm.example/hook', task_type: 'http',
  status: 'enabled', priority: 1, timeout_ms: 5000, retry_enabled: true, has_secret: true,
  retry_schedule: null, retry_max_attempts: null, ordered: true, last_status: null, last_run_at: null,
  consecutive_failures: 0, created_at: '2026-01-02T03:04:05Z', updated_at: '2026-01-02T03:04:05Z',
  signature_scheme: 'prov', old_secret_until: null, revision: 1,
};
const notFound = { error: { message: 'no handler with that id', data: { code: 'not_found' } } };

test('static/openapi.json passes @redocly/cli lint with the recommended ruleset, offline', () => {
  // Telemetry and the update check are the CLI's only network use: both off.
  // info-license-strict wants a licence URL, which an unlicensed (proprietary) API has none of.
  const r = spawnSync(process.execPath, [`${root}node_modules/@redocly/cli/bin/cli.js`, 'lint',
    '--extends=recommended', '--skip-rule=info-license-strict', '--format=json', fileURLToPath(openapiPath)], {
    cwd: root, encoding: 'utf8', timeout: 120000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 },
    report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`).join('\n'));
});

test('every operation has an operationId and documents only statuses the checker can route', () => {
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, o] of Object.entries(ops)) {
      if (m === 'parameters') continue;
      assert.ok(o.operationId, `${m} ${p}: operationId`);
      for (const status of Object.keys(o.responses)) assert.match(status, /^[1-5][0-9][0-9]$/, `${m} ${p}: ${status}`);
    }
  }
});

test('a response that keeps the contract passes', () => {
  assert.deepEqual(check('GET', '/handlers/7', 200, handler), []);
  assert.deepEqual(check('PATCH', '/handlers/7?x=1', 200, { ...handler, secret: 'whsec_abc' }), []);
  assert.deepEqual(check('GET', '/handlers/7', 404, notFound), []);
  assert.deepEqual(check('DELETE', '/handlers/7', 204, '', new Headers()), []);
  assert.deepEqual(check('GET', '/handlers/abc', 404, notFound), [], 'not a positive id: no such path');
  assert.deepEqual(check('DELETE', '/events', 405, { error: { message: 'no', data: { code: 'method_not_allowed' } } },
    json({ allow: 'GET' })), []);
  const text = new Headers({ 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  assert.deepEqual(check('GET', '/metrics', 200, '# TYPE prov_up gauge\nprov_up 1\n', text), []);
});

test('the checker catches an undeclared field, at any depth', () => {
  assert.deepEqual(check('GET', '/handlers/7', 200, { ...handler, colour: 'red' }), ['(body): undeclared field "colour"']);
  const list = { handlers: [{ id: 1, priority: 1, name: 'a', events_id: 'e', task: 't', task_type: 'http', status: 'enabled',
    last_status: null, last_run_at: null, consecutive_failures: 0, has_secret: false, secret: 'leak' }], total: 1, limit: 50, offset: 0 };
  assert.deepEqual(check('GET', '/handlers', 200, list), ['/handlers/0: undeclared field "secret"']);
  assert.deepEqual(check('GET', '/handlers/7', 404, { error: { message: 'x', data: { code: 'not_found', trace: 'at x.c:1' } } }),
    ['/error/data: undeclared field "trace"']);
});

test('the checker catches a wrong type, a null that is not nullable, a missing field and a value outside an enum', () => {
  assert.deepEqual(check('GET', '/handlers/7', 200, { ...handler, priority: '1' }), ['/priority: must be integer']);
  assert.deepEqual(check('GET', '/handlers/7', 200, { ...handler, name: null }), ['/name: must be string']);
  const { has_secret, ...noSecretFlag } = handler;
  assert.deepEqual(check('GET', '/handlers/7', 200, noSecretFlag), ["(body): must have required property 'has_secret'"]);
  assert.deepEqual(check('GET', '/handlers/7', 200, { ...handler, status: 'paused' }),
    ['/status: must be equal to one of the allowed values (["enabled","disabled","archived"])']);
  assert.deepEqual(check('GET', '/handlers/7', 200, { ...handler, created_at: '2026-01-02 03:04:05' }),
    ['/created_at: must match format "date-time"'], 'a time without its zone');
  assert.deepEqual(check('GET', '/logs/1', 404, { error: { message: 'x', data: { code: 'oops' } } }).length, 1);
});

test('the checker catches an undocumented status, path or method, and a body where none is documented', () => {
  assert.match(check('GET', '/events', 404, notFound)[0], /status 404 is not documented for GET \/events/);
  assert.match(check('GET', '/events', 500, notFound)[0], /status 500 is not documented/);
  assert.match(check('GET', '/nowhere', 200, {})[0], /not in the document: expected 404, got 200/);
  assert.match(check('PUT', '/handlers', 404, notFound, json({ allow: 'GET, POST' }))[0], /expected 405, got 404/);
  assert.match(check('PUT', '/handlers', 405, notFound, json({ allow: 'GET' }))[0], /Allow is "GET", the document lists GET, POST/);
  assert.match(check('DELETE', '/handlers/7', 204, '{}', new Headers())[0], /documented without a body/);
  assert.match(check('GET', '/me', 200, { id: 1, name: 'x', role: 'admin' }, new Headers({ 'content-type': 'text/html' }))[0],
    /Content-Type is "text\/html"/);
  assert.match(check('GET', '/me', 200, '<html>')[0], /body is not JSON/);
  assert.match(check('GET', '/metrics', 200, { up: 1 })[0], /Content-Type is "application\/json", the document has text\/plain/);
});
