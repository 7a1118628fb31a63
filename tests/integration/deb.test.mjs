// The Debian package (issue #18): build/deb/provisioning_VERSION_ARCH.deb,
// made by `make deb` (run here when it is missing; PROV_TEST_DEB names
// another). Its files are checked from the archive; then it is installed for
// real, maintainer scripts and all, into a throwaway copy of this machine: an
// overlay whose lower layer is / and whose upper layer is a scratch folder,
// mounted in a mount namespace of its own (unshare -m) and entered with
// chroot. Nothing reaches the real system: not dpkg's database, not
// /etc/passwd, not Apache's configuration; the scratch folder is removed at the
// end. Inside it the test does what the README tells an operator: edit the
// config, `prov-admin setup`, `a2enmod headers && a2enconf provisioning`, start
// Debian's Apache with its own apache2.conf, log in; then `systemd-analyze
// verify` on the installed units, and `dpkg --purge`, after which nothing of
// the package may be left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, configPath, runDir, sql, uniqueName } from '../lib/panel.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid && process.getuid() === 0;
const skip = isRoot ? false : 'installing a package into an overlay needs root (unshare -m, mount)';

const PROGRAMS = readdirSync(path.join(root, 'cmd')).filter((f) => f.endsWith('.c')).map((f) => f.slice(0, -2)).sort();
const UNITS = readdirSync(path.join(root, 'docs/systemd')).sort();

let deb; // the package file
let scratch; // scratch/{upper,work,merged}
let holder; // the process whose mount namespace holds the overlay
let apache; // Debian's Apache inside the overlay
const merged = () => path.join(scratch, 'merged');

function findDeb() {
  if (process.env.PROV_TEST_DEB) return process.env.PROV_TEST_DEB;
  const dir = path.join(root, 'build/deb');
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^provisioning_[^_]+_[a-z0-9]+\.deb$/.test(f)) : [];
  return found.length === 1 ? path.join(dir, found[0]) : undefined;
}

// A command in the overlay's namespace: on the host's tree (host) or chrooted into the copy.
// -r: the holder's root directory. Entering a mount namespace resets the root to the
// namespace's own, which is not ours when the tests themselves run in a chroot (test-bare).
function run(args, { input = '', check = true } = {}) {
  const r = spawnSync('nsenter', ['-t', String(holder.pid), '-m', '-r', '--', ...args],
    { input, encoding: 'utf8', timeout: 120000 });
  if (check && r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}
const host = (script, opts) => run(['sh', '-ec', script], opts);
const ENV = ['env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'HOME=/root'];
const inRoot = (script, opts) => run(['chroot', merged(), ...ENV, 'sh', '-ec', script], opts);
const stat = (p) => inRoot(`stat -c '%a %U %G' ${p}`).stdout.trim();

before(async () => {
  if (skip) return;
  deb = findDeb();
  if (!deb) {
    const built = spawnSync('make', ['deb'], { cwd: root, encoding: 'utf8', timeout: 900000 });
    assert.equal(built.status, 0, `make deb failed:\n${built.stdout.slice(-3000)}\n${built.stderr.slice(-3000)}`);
    deb = findDeb();
  }
  assert.ok(deb && existsSync(deb), 'no build/deb/provisioning_*.deb after make deb');
  scratch = mkdtempSync('/tmp/prov-deb-');
  // upper's mode is the copy's / (users other than root must get through it;
  // chmod, not mkdir's mode: tests/run.sh's umask is 077).
  for (const d of ['upper', 'work', 'merged']) {
    mkdirSync(path.join(scratch, d));
    chmodSync(path.join(scratch, d), 0o755);
  }
  // The overlay lives as long as this process (its stdin is ours: it ends with us).
  holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-ec', `
    s=$1; run=$2
    mount -t overlay overlay -o lowerdir=/,upperdir=$s/upper,workdir=$s/work $s/merged
    mount --rbind /dev $s/merged/dev
    mount -t proc proc $s/merged/proc
    mount --bind "$run" "$s/merged$run"
    touch $s/ready
    exec cat >/dev/null`, 'sh', scratch, runDir], { stdio: ['pipe', 'ignore', 'inherit'] });
  const deadline = Date.now() + 10000;
  while (!existsSync(path.join(scratch, 'ready'))) {
    assert.ok(Date.now() < deadline && holder.exitCode === null, 'the overlay did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
  // As in a chroot: maintainer scripts start no service (invoke-rc.d,
  // deb-systemd-invoke ask policy-rc.d), and man-db skips its slow index.
  inRoot(`printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
          rm -f /var/lib/man-db/auto-update; mkdir -p /root/deb`);
  host(`cp "${deb}" ${merged()}/root/deb/`);
});

after(async () => {
  if (apache && apache.exitCode === null) {
    apache.kill('SIGTERM');
    await new Promise((r) => { apache.once('exit', r); setTimeout(r, 10000); });
  }
  if (holder && holder.exitCode === null) {
    holder.stdin.end();
    await new Promise((r) => { holder.once('exit', r); setTimeout(r, 5000); });
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('the package holds the programs, templates, static files, schema, Apache snippet, units and man pages', { skip }, () => {
  const listing = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)
    .map((l) => l.split(/\s+/)).map((f) => ({ mode: f[0], owner: f[1], path: f[5].replace(/^\./, '') }));
  const entry = (p) => listing.find((e) => e.path === p);
  const has = (p, mode) => {
    const e = entry(p);
    assert.ok(e, `${p} is in the package`);
    assert.equal(e.owner, 'root/root', p);
    if (mode) assert.equal(e.mode, mode, p);
  };
  for (const program of PROGRAMS) {
    has(`/usr/bin/${program}`, '-rwxr-xr-x');
    has(`/usr/share/man/man1/${program}.1.gz`, '-rw-r--r--');
  }
  for (const program of ['panel.fcgi', 'api.fcgi']) has(`/usr/lib/provisioning/cgi-bin/${program}`, '-rwxr-xr-x');
  for (const t of readdirSync(path.join(root, 'templates'))) has(`/usr/share/provisioning/templates/${t}`, '-rw-r--r--');
  const staticFiles = (dir) => readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? staticFiles(`${dir}/${d.name}`) : [`${dir}/${d.name}`]));
  for (const f of staticFiles('static')) has(`/usr/share/provisioning/${f}`, '-rw-r--r--');
  has('/usr/share/provisioning/schema.sql', '-rw-r--r--');
  has('/etc/apache2/conf-available/provisioning.conf', '-rw-r--r--');
  has('/etc/provisioning/provisioning.conf', '-rw-r--r--'); // 0640 root:provisioning by statoverride
  has('/etc/provisioning/scripts/', 'drwxr-xr-x');
  has('/usr/share/doc/provisioning/examples/nginx.conf.example');
  has('/usr/share/doc/provisioning/copyright');
  // Units where this Debian's debhelper puts them (/lib on 12, /usr/lib on 13).
  const unitDir = entry('/usr/lib/systemd/system/prov-worker.service') ? '/usr/lib/systemd/system' : '/lib/systemd/system';
  for (const unit of UNITS) has(`${unitDir}/${unit}`, '-rw-r--r--');
  // No file of the build tree or of the tests slipped in.
  assert.deepEqual(listing.filter((e) => /\/(tests|build|node_modules)\/|\.[od]$/.test(e.path) ||
    /^\/usr\/share\/provisioning\/(?!$|templates\/|static\/|schema\.sql$)/.test(e.path)), []);

  const control = spawnSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).stdout;
  assert.match(control, /^Package: provisioning$/m);
  assert.match(control, new RegExp(`^Version: ${path.basename(deb).split('_')[1].replace(/[.+~]/g, '\\$&')}$`, 'm'));
  assert.match(control, /^Depends: .*\badduser\b.*\blibmariadb3\b/m);
  assert.match(control, /^Recommends: .*libapache2-mod-fcgid.*multiwatch/m);
  // The same files the repository documents and tests elsewhere.
  const info = mkdtempSync('/tmp/prov-deb-x-');
  try {
    spawnSync('dpkg-deb', ['-x', deb, info]);
    assert.equal(readFileSync(`${info}/etc/apache2/conf-available/provisioning.conf`, 'utf8'),
      readFileSync(path.join(root, 'apache.conf.example'), 'utf8'));
    assert.equal(readFileSync(`${info}/usr/share/provisioning/schema.sql`, 'utf8'), readFileSync(path.join(root, 'schema.sql'), 'utf8'));
    for (const unit of UNITS) {
      assert.equal(readFileSync(`${info}${unitDir}/${unit}`, 'utf8'), readFileSync(path.join(root, 'docs/systemd', unit), 'utf8'), unit);
    }
    spawnSync('dpkg-deb', ['-e', deb, `${info}/DEBIAN`]);
    assert.deepEqual(readFileSync(`${info}/DEBIAN/conffiles`, 'utf8').split('\n').filter(Boolean).sort(),
      ['/etc/apache2/conf-available/provisioning.conf', '/etc/provisioning/provisioning.conf']);
    // The maintainer scripts never touch a database: prov-admin setup does, when asked.
    for (const script of ['postinst', 'prerm', 'postrm']) {
      const code = readFileSync(`${info}/DEBIAN/${script}`, 'utf8').split('\n').filter((l) => !/^\s*#/.test(l));
      assert.deepEqual(code.filter((l) => /mariadb|mysql|prov-admin|schema\.sql/.test(l)), [], script);
    }
  } finally {
    rmSync(info, { recursive: true, force: true });
  }
});

let dbName;

test('dpkg -i: the provisioning user, www-data in its group, the config 0640 root:provisioning, the state folders; nothing enabled, no database touched', { skip }, () => {
  dbName = uniqueName('prov_deb').replace(/-/g, '_');
  sql(`CREATE DATABASE \`${dbName}\``);
  const r = inRoot(`dpkg -i /root/deb/${path.basename(deb)}`);
  assert.doesNotMatch(r.stdout + r.stderr, /warning|error/i, r.stdout + r.stderr);

  const passwd = inRoot('getent passwd provisioning').stdout.trim().split(':');
  assert.equal(passwd[0], 'provisioning');
  assert.ok(Number(passwd[2]) < 1000, `a system uid: ${passwd[2]}`);
  assert.equal(passwd[5], '/var/lib/provisioning');
  assert.equal(passwd[6], '/usr/sbin/nologin');
  assert.equal(inRoot('id -gn provisioning').stdout.trim(), 'provisioning');
  assert.match(inRoot('id -Gn www-data').stdout, /\bprovisioning\b/);
  assert.equal(stat('/etc/provisioning/provisioning.conf'), '640 root provisioning');
  assert.equal(stat('/etc/provisioning'), '755 root root');
  assert.equal(stat('/etc/provisioning/scripts'), '755 root root');
  assert.equal(stat('/var/lib/provisioning'), '750 provisioning provisioning');
  assert.equal(stat('/var/spool/provisioning'), '750 provisioning provisioning');
  // Kept across upgrades: dpkg-statoverride records them.
  assert.equal(inRoot('dpkg-statoverride --list | grep provisioning | sort').stdout,
    'provisioning provisioning 750 /var/lib/provisioning\nprovisioning provisioning 750 /var/spool/provisioning\n' +
    'root provisioning 640 /etc/provisioning/provisioning.conf\n');
  // Who may read the config: root, the units' user, Apache's children; no one else.
  for (const user of ['provisioning', 'www-data']) {
    assert.equal(inRoot(`runuser -u ${user} -- head -c0 /etc/provisioning/provisioning.conf`, { check: false }).status, 0, user);
  }
  assert.notEqual(inRoot('runuser -u nobody -- head -c0 /etc/provisioning/provisioning.conf', { check: false }).status, 0);
  // Not enabled: no unit, no Apache snippet (README: enable after prov-admin setup).
  assert.equal(inRoot('ls /etc/systemd/system/*/prov-* /etc/apache2/conf-enabled/provisioning.conf 2>/dev/null || true').stdout, '');
  assert.equal(inRoot('dpkg-query -W -f=\'${Status}\' provisioning').stdout, 'install ok installed');
  assert.deepEqual(sql(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${dbName}'`), [['0']]);
});

test('the installed units pass systemd-analyze verify', { skip }, () => {
  // /lib is /usr/lib on a merged-/usr system: each unit once, by its real path.
  const units = inRoot('for u in /lib/systemd/system/prov-* /usr/lib/systemd/system/prov-*; do [ -e "$u" ] && readlink -f "$u"; done | sort -u').stdout
    .split('\n').filter(Boolean);
  assert.deepEqual(units.map((u) => path.basename(u)).sort(), UNITS);
  const r = inRoot(`systemd-analyze verify ${units.join(' ')}`, { check: false });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});

test('configured as the README says, the packaged panel answers through Debian\'s Apache with the packaged snippet', { skip }, async () => {
  // The operator's edit: the database (a fresh one on the tests' MariaDB).
  const conf = readFileSync(configPath, 'utf8');
  const value = (key) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(conf)[1].trim();
  sql(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, LOCK TABLES ON \`${dbName}\`.* TO '${value('db_user')}'@'localhost'`);
  inRoot(`sed -i -e 's|^db_name = .*|db_name = ${dbName}|' -e 's|^db_user = .*|db_user = ${value('db_user')}|' \
            -e 's|^#db_password =.*|db_password = ${value('db_password')}|' -e 's|^db_socket = .*|db_socket = ${runDir}/mysqld.sock|' \
            /etc/provisioning/provisioning.conf`);
  // prov-admin setup: the packaged schema (its default path) and the first admin.
  const password = `pw-${uniqueName('deb')}`;
  const setup = inRoot('prov-admin setup --admin boss', { input: `${password}\n` });
  assert.match(setup.stdout, /^schema \/usr\/share\/provisioning\/schema\.sql applied/m);
  assert.match(setup.stdout, /^user boss added \(admin\)$/m);
  // The units' user reads the config and writes the local snapshot.
  inRoot('runuser -u provisioning -- prov-cache reload --by deb-test');
  inRoot('runuser -u provisioning -- prov-worker --once');
  assert.match(inRoot('ls -l /var/lib/provisioning').stdout, /provisioning provisioning .* cache\.json/);

  const port = spawnSync('node', ['-e', 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'],
    { encoding: 'utf8' }).stdout.trim();
  inRoot(`a2enmod -q headers fcgid; a2enconf -q provisioning
          printf 'Listen 127.0.0.1:${port}\\n' >/etc/apache2/ports.conf
          printf 'ServerName 127.0.0.1\\n' >/etc/apache2/conf-enabled/zz-deb-test.conf
          . /etc/apache2/envvars; mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"; apache2 -t`);
  apache = spawn('nsenter', ['-t', String(holder.pid), '-m', '-r', '--', 'chroot', merged(), ...ENV, 'sh', '-c',
    '. /etc/apache2/envvars; exec apache2 -DFOREGROUND'], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  let login;
  for (const deadline = Date.now() + 20000; Date.now() < deadline;) {
    login = await fetch(`${base}/login`).catch(() => undefined);
    if (login) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(login, 'Apache answered');
  assert.equal(login.status, 200);
  assert.match(await login.text(), /name="csrf_token"/);
  assert.match(login.headers.get('content-security-policy'), /default-src 'none'/);
  const css = await fetch(`${base}/static/css/panel.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('cache-control'), 'public, max-age=3600');
  const client = new Client({ base });
  await client.login('boss', password);
  const list = await client.get('/handlers');
  assert.equal(list.status, 200);
  assert.match(list.text, /boss/);

  apache.kill('SIGTERM');
  await new Promise((r) => { apache.once('exit', r); setTimeout(r, 10000); });
  // Apache stopped cleanly, and neither it nor the panel logged an error.
  assert.equal(inRoot('grep -E "\\[[a-z_]*:(error|crit|alert|emerg)\\]" /var/log/apache2/error.log || true').stdout, '');
  inRoot('rm /etc/apache2/conf-enabled/zz-deb-test.conf');
});

test('dpkg --purge removes everything it made: user, group, overrides, folders, the Apache snippet; the database stays', { skip }, () => {
  const r = inRoot('dpkg --purge provisioning');
  assert.doesNotMatch(r.stdout + r.stderr, /warning|error/i, r.stdout + r.stderr);
  assert.equal(inRoot('getent passwd provisioning || true').stdout, '');
  assert.equal(inRoot('getent group provisioning || true').stdout, '');
  assert.doesNotMatch(inRoot('id -Gn www-data').stdout, /provisioning/);
  assert.equal(inRoot('dpkg-statoverride --list | grep provisioning || true').stdout, '');
  for (const p of ['/etc/provisioning', '/var/lib/provisioning', '/var/spool/provisioning', '/usr/share/provisioning',
    '/usr/lib/provisioning', '/etc/apache2/conf-available/provisioning.conf', '/etc/apache2/conf-enabled/provisioning.conf']) {
    assert.equal(inRoot(`test -e ${p} || test -L ${p} && echo left || true`).stdout, '', p);
  }
  // Nothing named after it is left in what the overlay recorded of the machine.
  const left = spawnSync('find', [path.join(scratch, 'upper'), '-regextype', 'egrep', '-regex', '.*/(prov-[a-z-]+(\\.[a-z]+)*|provisioning[^/]*)$'],
    { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.slice(path.join(scratch, 'upper').length))
    .filter((f) => !f.startsWith(runDir) && !f.startsWith('/root/deb'));
  assert.deepEqual(left, []);
  for (const file of ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow']) {
    assert.doesNotMatch(inRoot(`cat ${file}`).stdout, /provisioning/, file);
  }
  // The data is the administrator's: the database is not dropped.
  assert.ok(Number(sql(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${dbName}'`)[0][0]) > 0);
  sql(`DROP DATABASE \`${dbName}\``);
});
