// Login lock-out (issue #14, item 4): login_max_failures failed logins of a
// name lock it (the max-th failure locks, so the attempt after max-1 failures
// still logs in); a name locks whether or not a user has it, and a locked or
// wrong answer is the same, and takes as long, for a real user and an unknown
// name; login_max_failures_per_address failures from one address lock that
// address. Each test sends from its own loopback address (127.x.y.z), so the
// per-address count of one test never reaches another's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Client, createUser, csrfFrom, loopbackAddress, runBin, uniqueName } from '../lib/panel.mjs';

const MAX_FAILURES = 5; // login_max_failures' default
const MAX_PER_ADDRESS = 20; // login_max_failures_per_address' default

// A client from its own address with the login form's CSRF token: attempt()
// posts one login (the token stays valid: it is bound to the client's cookie).
async function loginClient(address = loopbackAddress()) {
  const c = new Client({ localAddress: address });
  const form = await c.get('/login');
  const token = csrfFrom(form.text);
  assert.ok(token);
  c.attempt = async (username, password) => {
    const started = performance.now();
    const r = await c.post('/login', { csrf_token: token, username, password });
    r.ms = performance.now() - started;
    return r;
  };
  return c;
}

const WRONG = /Wrong user name or password\./;
// login_lock_seconds' default, 900, is said as "15 minutes".
const LOCKED = /Too many failed attempts: logging in is locked for up to 15 minutes\. An administrator can lift the lock sooner with prov-admin user unlock\./;

test('the attempt after login_max_failures - 1 failures logs in with the right password; the max-th failure locks', async () => {
  const name = uniqueName('lock-edge');
  const password = createUser(name, 'viewer');
  const c = await loginClient();
  for (let i = 0; i < MAX_FAILURES - 1; i++) {
    const r = await c.attempt(name, `wrong-${i}`);
    assert.equal(r.status, 403);
    assert.match(r.text, WRONG);
  }
  const ok = await c.attempt(name, password);
  assert.equal(ok.status, 303, `attempt ${MAX_FAILURES} with the right password logs in`);
  assert.equal(ok.location, '/handlers');

  // A success clears the name's count: max - 1 failures again, then max.
  const d = await loginClient();
  for (let i = 0; i < MAX_FAILURES; i++) {
    const r = await d.attempt(name, `wrong-again-${i}`);
    assert.match(r.text, WRONG, `failure ${i + 1} is answered as a wrong password`);
  }
  const refused = await d.attempt(name, password);
  assert.equal(refused.status, 403);
  assert.match(refused.text, LOCKED, 'after max failures even the right password is refused');
  // The lock is per name: from another address the name is locked too.
  const other = await loginClient();
  assert.match((await other.attempt(name, password)).text, LOCKED);
});

// The answer without what differs by design between two answers: the date,
// the per-form CSRF token and the name typed (the form shows it again, so
// the length differs with it; the body is compared whole).
function comparable(r, name) {
  const headers = [...r.headers].filter(([k]) => k !== 'date' && k !== 'content-length').map(([k, v]) => `${k}: ${v}`);
  return { status: r.status, headers, text: r.text.replace(/[0-9a-f]{64}/g, 'TOKEN').split(name).join('NAME') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('a real user and an unknown name: the same answers, the same lock-out, comparable time', async (t) => {
  const real = uniqueName('real');
  const realPassword = createUser(real, 'viewer');
  const unknown = uniqueName('nobody');

  // Wrong password for a real user and any password for an unknown name.
  const a = await loginClient();
  const b = await loginClient();
  const wrongReal = await a.attempt(real, 'not-the-password');
  const wrongUnknown = await b.attempt(unknown, 'not-the-password');
  assert.match(wrongReal.text, WRONG);
  assert.deepEqual(comparable(wrongUnknown, unknown), comparable(wrongReal, real));

  // Both lock after the same number of failures (one already made).
  for (let i = 1; i < MAX_FAILURES; i++) {
    assert.match((await a.attempt(real, `wrong-${i}`)).text, WRONG);
    assert.match((await b.attempt(unknown, `wrong-${i}`)).text, WRONG);
  }
  const lockedReal = await a.attempt(real, realPassword);
  const lockedUnknown = await b.attempt(unknown, realPassword);
  assert.match(lockedReal.text, LOCKED);
  assert.deepEqual(comparable(lockedUnknown, unknown), comparable(lockedReal, real));

  // Time: alternate between the two, from a third address; locked attempts
  // are not counted, so any number of them may be made.
  const c = await loginClient();
  const times = { real: [], unknown: [] };
  for (let i = 0; i < 15; i++) {
    const r1 = await c.attempt(real, i % 2 ? realPassword : 'wrong-pw');
    const r2 = await c.attempt(unknown, i % 2 ? realPassword : 'wrong-pw');
    assert.deepEqual(comparable(r2, unknown), comparable(r1, real));
    times.real.push(r1.ms);
    times.unknown.push(r2.ms);
  }
  const ratio = median(times.unknown) / median(times.real);
  t.diagnostic(`locked answers, median ms: real user ${median(times.real).toFixed(1)}, unknown name ${median(times.unknown).toFixed(1)} (ratio ${ratio.toFixed(2)})`);
  assert.ok(ratio > 0.5 && ratio < 2, `a locked real user and a locked unknown name take comparable time (unknown/real = ${ratio.toFixed(2)})`);
});

test('a disabled user is refused like a wrong password', async () => {
  const name = uniqueName('disabled-login');
  const password = createUser(name, 'viewer');
  assert.equal(runBin('prov-admin', ['user', 'disable', name]).status, 0);
  const c = await loginClient();
  const r = await c.attempt(name, password);
  const nobody = uniqueName('nobody');
  const wrong = await c.attempt(nobody, password);
  assert.equal(r.status, 403);
  assert.deepEqual(comparable(r, name), comparable(wrong, nobody));
  assert.equal(c.cookies.has('prov_session'), false);
  assert.equal(runBin('prov-admin', ['user', 'enable', name]).status, 0);
  assert.equal((await c.attempt(name, password)).status, 303, 'enabled again, the user logs in');
});

test('login_max_failures_per_address failures from one address lock that address, for every name', async () => {
  const name = uniqueName('addr');
  const password = createUser(name, 'viewer');
  const address = loopbackAddress();
  const c = await loginClient(address);
  // Different unknown names: no name reaches its own limit.
  for (let i = 0; i < MAX_PER_ADDRESS; i++) {
    const r = await c.attempt(uniqueName(`spray${i}`), 'guess-123');
    assert.match(r.text, WRONG, `failure ${i + 1} from the address`);
  }
  const locked = await c.attempt(name, password);
  assert.equal(locked.status, 403);
  assert.match(locked.text, LOCKED, 'the address is locked, even for a right password');
  // The user itself is not locked: from another address it logs in.
  const elsewhere = await loginClient();
  assert.equal((await elsewhere.attempt(name, password)).status, 303);
});

test('the lock-out page says how long and what an administrator can do, alike for a real and an unknown name; prov-admin user unlock lifts it', async () => {
  const real = uniqueName('unlock-real');
  const password = createUser(real, 'viewer');
  const unknown = uniqueName('unlock-nobody');
  const a = await loginClient();
  const b = await loginClient();
  for (let i = 0; i < MAX_FAILURES; i++) {
    await a.attempt(real, `wrong-${i}`);
    await b.attempt(unknown, `wrong-${i}`);
  }
  const lockedReal = await a.attempt(real, password);
  const lockedUnknown = await b.attempt(unknown, password);
  assert.equal(lockedReal.status, 403);
  assert.equal(lockedUnknown.status, 403);
  const error = (r) => /<p class="alert alert-error" role="alert" id="login-error">([^<]*)<\/p>/.exec(r.text)?.[1];
  assert.match(error(lockedReal), LOCKED);
  assert.equal(error(lockedUnknown), error(lockedReal), 'the same words for an unknown name');
  assert.deepEqual(comparable(lockedUnknown, unknown), comparable(lockedReal, real));

  const unlocked = runBin('prov-admin', ['user', 'unlock', real]);
  assert.equal(unlocked.status, 0, unlocked.stderr);
  assert.match(unlocked.stdout, new RegExp(`login lock-out of ${real} lifted`));
  const ok = await a.attempt(real, password);
  assert.equal(ok.status, 303, 'unlocked, the right password logs in at once');
  assert.equal(runBin('prov-admin', ['user', 'unlock', unknown]).status, 0, 'any locked name can be unlocked');
  assert.match((await b.attempt(unknown, password)).text, WRONG, 'unlocked, an unknown name is a wrong password again');
});
