// JSON API foundation: API keys (CLI and panel), authentication, error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, apiUser, clientAs, runBin, sql, sqlValue } from '../lib/panel.mjs';

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(r.json.error.data.code, code);
}

test('a request without a key, with a malformed key or an unknown key is 401', async () => {
  assertError(await api('GET', '/events'), 401, 'missing_api_key');
  assertError(await api('GET', '/events', { key: 'nonsense' }), 401, 'invalid_api_key');
  assertError(await api('GET', '/events', { key: `pk_${'0'.repeat(64)}` }), 401, 'invalid_api_key');
  assertError(await api('GET', '/events', { key: "pk_' OR 1=1 --" }), 401, 'invalid_api_key');
});

test('a key acts with its user role and records when it was used', async () => {
  const viewer = apiUser('viewer');
  const me = await api('GET', '/me', { key: viewer.key });
  assert.equal(me.status, 200);
  assert.deepEqual({ name: me.json.name, role: me.json.role }, { name: viewer.name, role: 'viewer' });
  const events = await api('GET', '/events', { key: viewer.key });
  assert.equal(events.status, 200);
  assert.equal(events.json.events.length, 15);
  assert.deepEqual(events.json.events[5], { events_id: 'clients.balance_notzero', group: 'Clients', label: 'balance became >=0' });
  const userId = sqlValue(`SELECT id FROM users WHERE name='${viewer.name}'`);
  assert.equal(sqlValue(`SELECT last_used_at IS NOT NULL FROM api_keys WHERE user_id=${userId}`), '1');
  // Only the digest is stored.
  assert.equal(sqlValue(`SELECT COUNT(*) FROM api_keys WHERE key_hash='${viewer.key}' OR key_prefix='${viewer.key}'`), '0');
});

test('unknown endpoints are 404 and wrong methods 405 with Allow, as JSON', async () => {
  const { key } = apiUser('viewer');
  assertError(await api('GET', '/nothing-here', { key }), 404, 'not_found');
  const wrong = await api('DELETE', '/events', { key });
  assertError(wrong, 405, 'method_not_allowed');
  assert.equal(wrong.headers.get('allow'), 'GET');
});

test('prov-admin revokes keys; a revoked key is refused', async () => {
  const user = apiUser('admin');
  assert.equal((await api('GET', '/me', { key: user.key })).status, 200);
  const id = sqlValue(`SELECT k.id FROM api_keys k JOIN users u ON u.id=k.user_id WHERE u.name='${user.name}'`);
  const revoke = runBin('prov-admin', ['apikey', 'revoke', id]);
  assert.equal(revoke.status, 0, revoke.stderr);
  assertError(await api('GET', '/me', { key: user.key }), 401, 'invalid_api_key');
  assert.equal(runBin('prov-admin', ['apikey', 'revoke', id]).status, 1, 'revoking twice is refused');
  assert.equal(runBin('prov-admin', ['apikey', 'revoke', 'abc']).status, 64);
  assert.equal(runBin('prov-admin', ['apikey', 'create', 'no-such-user-x', 'k']).status, 1);
  const list = runBin('prov-admin', ['apikey', 'list']);
  assert.equal(list.status, 0);
  assert.match(list.stdout, new RegExp(`${user.name}\\s+admin`));
  assert.doesNotMatch(list.stdout, new RegExp(user.key));
});

test('an admin creates a key in the panel, sees it once, and revokes it', async () => {
  const admin = await clientAs('admin');
  const created = await admin.submit('/apikeys', '/apikeys', { name: 'CRM <sync>', user: admin.userName });
  assert.equal(created.status, 200);
  const key = /<pre class="secret">(pk_[0-9a-f]{64})<\/pre>/.exec(created.text)?.[1];
  assert.ok(key, 'the new key is shown');
  assert.ok(created.text.includes('CRM &lt;sync&gt;'), 'the name is escaped');
  assert.equal((await api('GET', '/me', { key })).json.name, admin.userName);
  const again = await admin.get('/apikeys');
  assert.ok(!again.text.includes(key), 'never shown a second time');
  const id = /data-id="(\d+)"/.exec(again.text)[1];
  const revoked = await admin.submit('/apikeys', `/apikeys/${id}/revoke`, {});
  assert.equal(revoked.status, 303);
  assert.equal((await api('GET', '/me', { key })).status, 401);
  const bad = await admin.submit('/apikeys', '/apikeys', { name: '', user: admin.userName });
  assert.equal(bad.status, 422);
  assert.match(bad.text, /key name must be 1-255 characters/);
});

test('a viewer can neither see nor create nor revoke keys', async () => {
  const viewer = await clientAs('viewer');
  const before = sqlValue('SELECT COUNT(*) FROM api_keys');
  assert.equal((await viewer.get('/apikeys')).status, 403);
  const listPage = await viewer.get('/handlers');
  assert.ok(!listPage.text.includes('href="/apikeys"'), 'no menu entry for viewers');
  const token = /name="csrf_token" value="([0-9a-f]{64})"/.exec(listPage.text)[1];
  assert.equal((await viewer.post('/apikeys', { csrf_token: token, name: 'x', user: viewer.userName })).status, 403);
  const someId = sqlValue('SELECT MIN(id) FROM api_keys WHERE revoked_at IS NULL');
  if (someId) assert.equal((await viewer.post(`/apikeys/${someId}/revoke`, { csrf_token: token })).status, 403);
  assert.equal(sqlValue('SELECT COUNT(*) FROM api_keys'), before);
  assert.equal(sql('SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL AND id = ' + (someId || 0))[0][0], '0');
});
