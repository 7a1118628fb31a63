// The panel and the API are FastCGI programs. Run any other way (a web server
// configured to start them as plain CGIs, or a shell) they must not exit 0
// silently: one line on stderr says why, a CGI gets a 500, the exit is non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { api, baseUrl, binDir } from '../lib/panel.mjs';

const programs = [['panel.fcgi', 'prov-panel'], ['api.fcgi', 'prov-api']];

// Run program as Apache's mod_cgi would: CGI variables, the request body on a
// pipe (not the listening socket FastCGI hands over).
function runAsCgi(file, env) {
  return spawnSync(path.join(binDir, 'cgi-bin', file), [], {
    input: '', encoding: 'utf8', timeout: 20000,
    env: { ...process.env, ...env },
  });
}

for (const [file, name] of programs) {
  test(`${file} run as a plain CGI answers 500 and says why on stderr, exit non-zero`, () => {
    const r = runAsCgi(file, { GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', SCRIPT_NAME: `/${file}`, QUERY_STRING: '' });
    assert.notEqual(r.status, 0, `exit status ${r.status}`);
    assert.equal(r.signal, null);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^${name}: not started as a FastCGI application .*plain CGI.*mod_fcgid`));
    assert.match(r.stdout, /^Status: 500 Internal Server Error\r\n/);
    assert.match(r.stdout, /\r\n\r\nThis program runs under FastCGI only/);
  });

  test(`${file} started from a shell (no CGI variables) says why and exits non-zero, with no HTTP answer`, () => {
    const env = { ...process.env };
    delete env.GATEWAY_INTERFACE;
    const r = spawnSync(path.join(binDir, 'cgi-bin', file), [], { input: '', encoding: 'utf8', timeout: 20000, env });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim(), new RegExp(`^${name}: not started as a FastCGI application`));
    assert.equal(r.stdout, '');
  });
}

test('under mod_fcgid (FastCGI) both still answer', async () => {
  assert.equal((await fetch(`${baseUrl}/login`)).status, 200);
  assert.equal((await api('GET', '/me')).status, 401);
});
