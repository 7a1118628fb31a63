// The example systemd units in docs/systemd/ (issue #18): the panel's and the
// API's FastCGI sockets and services, the dispatcher service, the worker loop,
// the log purge timer. systemd-analyze verify checks their syntax, their
// references and that every ExecStart binary exists: the units name the
// packaged paths (/usr/bin, /usr/lib/provisioning), so a scratch copy points
// them at the build being tested, and User=/Group= at the user running it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { binDir } from '../lib/panel.mjs';

const source = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/systemd');
const unitText = (unit) => readFileSync(path.join(source, unit), 'utf8');
const UNITS = ['prov-api.service', 'prov-api.socket', 'prov-dispatchd.service', 'prov-log-purge.service',
  'prov-log-purge.timer', 'prov-panel.service', 'prov-panel.socket', 'prov-worker.service'];

test('docs/systemd has the units the README and nginx.conf.example name', () => {
  assert.deepEqual(readdirSync(source).filter((f) => /\.(service|socket|timer)$/.test(f)).sort(), UNITS);
  for (const program of ['panel', 'api']) {
    assert.match(unitText(`prov-${program}.socket`), new RegExp(`^ListenStream=/run/prov-${program}.sock$`, 'm'));
    assert.match(readFileSync(path.join(source, '../../nginx.conf.example'), 'utf8'),
      new RegExp(`fastcgi_pass unix:/run/prov-${program}.sock;`), 'nginx passes to the socket the unit opens');
    assert.match(unitText(`prov-${program}.service`), /^StandardInput=socket$/m, 'FastCGI accepts on standard input');
  }
});

test('every service runs hardened as the provisioning user, with its config from PROV_CONFIG', () => {
  for (const unit of UNITS.filter((u) => u.endsWith('.service'))) {
    const text = unitText(unit);
    for (const line of ['User=provisioning', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes',
      'Environment=PROV_CONFIG=/etc/provisioning/provisioning.conf']) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), `${unit}: ${line}`);
    }
    assert.match(text, /^ExecStart=\/usr\/(bin|lib\/provisioning)\//m, `${unit}: a packaged path`);
  }
  // The dispatcher and the worker write the spool and the local snapshot; nothing else may.
  for (const unit of ['prov-worker.service', 'prov-dispatchd.service']) {
    assert.match(unitText(unit), /^ReadWritePaths=\/var\/spool\/provisioning \/var\/lib\/provisioning$/m, unit);
    assert.match(unitText(unit), /^KillMode=mixed$/m, `${unit}: SIGTERM to the main process only`);
  }
});

test('the units pass systemd-analyze verify (pointed at the built binaries)', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
    t.skip('systemd-analyze is not installed (Debian package systemd; scripts/deps.sh installs it)');
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prov-units-'));
  try {
    const me = os.userInfo().username;
    for (const unit of UNITS) {
      const text = unitText(unit)
        .replaceAll('/usr/bin/prov-', `${binDir}/prov-`)
        .replaceAll('/usr/lib/provisioning/cgi-bin/', `${binDir}/cgi-bin/`)
        .replace(/^(User|Group)=.*$/gm, `$1=${me}`);
      writeFileSync(path.join(dir, unit), text);
    }
    const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => path.join(dir, u))], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
