// The command line's rough edges (issue #16, item 3): what each bin/ program
// says about a missing configuration, an out-of-range value, its --help, and
// the man pages (docs/*.1) every bin/ program has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { binDir, configPath, createUser, runBin, uniqueName } from '../lib/panel.mjs';

const CONFIG_PROGRAMS = [
  ['prov-admin', ['apikey', 'list']],
  ['prov-cache', ['show']],
  ['prov-dispatch', ['clients.update']],
  ['prov-dispatchd', ['--serve']],
  ['prov-worker', ['--once']],
  ['prov-loggen', ['--rows', '1']],
];

test('a missing configuration names the file and how to choose another (--config, PROV_CONFIG)', () => {
  for (const [name, args] of CONFIG_PROGRAMS) {
    const given = runBin(name, ['--config', '/nonexistent/prov.conf', ...args], { input: '{}' });
    assert.equal(given.status, 78, `${name}: ${given.stderr}`);
    assert.match(given.stderr, /config \/nonexistent\/prov\.conf: cannot open: No such file or directory/, name);
    assert.match(given.stderr, /given with --config/, name);
    assert.match(given.stderr, /--config FILE or PROV_CONFIG=FILE/, name);
    assert.equal(given.stderr.trim().split('\n').length, 1, `${name}: one line`);
    const env = runBin(name, args, { input: '{}', env: { PROV_CONFIG: '/nonexistent/env.conf' } });
    assert.equal(env.status, 78, name);
    assert.match(env.stderr, /config \/nonexistent\/env\.conf: cannot open.*\(from PROV_CONFIG; .*--config FILE or PROV_CONFIG=FILE\)/, name);
  }
});

test('an out-of-range configuration value gives the key, the value and the range', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'prov-cli-'));
  const file = path.join(dir, 'provisioning.conf');
  const base = readFileSync(configPath, 'utf8').split('\n').filter((l) => !/^\s*dispatch_workers\s*=/.test(l));
  writeFileSync(file, [...base, 'dispatch_workers = 999', ''].join('\n'));
  const r = runBin('prov-admin', ['--config', file, 'apikey', 'list']);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /key 'dispatch_workers' is out of range: 999 is not in 1-256/);
});

test('an out-of-range command-line value gives the range', () => {
  const cases = [
    ['prov-loggen', ['--rows', '10', '--handlers', '5000'], /--handlers needs a whole number from 1 to 1000, not '5000'/],
    ['prov-loggen', ['--days', '0', '--rows', '1'], /--days needs a whole number from 1 to 3650, not '0'/],
    ['prov-worker', ['--interval', '0'], /--interval must be 1-3600 seconds/],
    ['prov-worker', ['--batch', '1001'], /--batch must be 1-1000/],
    ['prov-cache', ['watch', '--interval', '0'], /--interval must be 1-86400 seconds/],
    ['prov-admin', ['logs', 'purge', '--days', '0'], /--days needs a whole number from 1 to 36500/],
  ];
  for (const [name, args, message] of cases) {
    const r = runBin(name, args);
    assert.equal(r.status, 64, `${name} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

const ROOT = new URL('../../', import.meta.url).pathname;
// The event catalog as core/events.c declares it: [id, group, label].
function catalog() {
  const source = readFileSync(path.join(ROOT, 'core/events.c'), 'utf8');
  return [...source.matchAll(/\{"([a-z_.]+)", "([^"]+)", "([^"]+)"\}/g)].map((m) => m.slice(1));
}

test('prov-dispatchd --help is its own text; both --help texts list the event catalog', () => {
  const events = catalog();
  assert.ok(events.length >= 15, 'the catalog is read from core/events.c');
  const front = runBin('prov-dispatch', ['--help']);
  const service = runBin('prov-dispatchd', ['--help']);
  assert.equal(front.status, 0);
  assert.equal(service.status, 0);
  assert.match(front.stdout, /^usage: prov-dispatch \[--config FILE\] EVENT/);
  assert.match(service.stdout, /^usage: prov-dispatchd \[--config FILE\] --serve\n/);
  assert.match(service.stdout, /exit codes of --serve:/);
  assert.notEqual(service.stdout, front.stdout);
  for (const help of [front.stdout, service.stdout]) {
    const listed = help.slice(help.indexOf('\nevents ('));
    assert.ok(listed.length > 1, 'an events section');
    for (const [id, group, label] of events) {
      assert.ok(listed.includes(`  ${id} `) && listed.includes(`${group}: ${label}`), `${id} is listed`);
    }
  }
  assert.match(front.stdout, /the events are listed below/, 'the promise is kept');
});

// The character column where each cell of a line starts (cells are separated
// by two spaces or more; single spaces belong to a cell).
function cellStarts(line) {
  return [...line.matchAll(/(?:^|(?<= {2}))[^ ]/g)].map((m) => [...line.slice(0, m.index)].length);
}

test('prov-admin apikey list keeps its columns aligned for long user and key names', () => {
  const user = uniqueName(`a-user-name-longer-than-twenty-characters-${'x'.repeat(8)}`);
  createUser(user, 'viewer');
  const short = uniqueName('u');
  createUser(short, 'admin');
  for (const [owner, name] of [[user, 'nightly sync'], [short, 'a-key-name-that-is-long'], [short, 'k']]) {
    const r = runBin('prov-admin', ['apikey', 'create', owner, name]);
    assert.equal(r.status, 0, r.stderr);
  }
  const list = runBin('prov-admin', ['apikey', 'list']);
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID +PREFIX +USER +ROLE +LAST USED +REVOKED +NAME$/);
  const header = cellStarts(lines[0]);
  assert.equal(header.length, 7);
  const ours = lines.filter((l) => l.includes(user) || l.includes(short));
  assert.equal(ours.length, 3);
  for (const line of lines.slice(1)) {
    assert.deepEqual(cellStarts(line).slice(0, 6), header.slice(0, 6), `aligned: ${line}`);
  }
});

test('every bin/ program has a man page that renders without warnings, and every reference names an existing page', () => {
  const programs = readdirSync(binDir).filter((n) => statSync(path.join(binDir, n)).isFile());
  assert.deepEqual([...programs].sort(),
    ['prov-admin', 'prov-cache', 'prov-dispatch', 'prov-dispatchd', 'prov-loggen', 'prov-worker']);
  const docs = path.join(ROOT, 'docs');
  const pages = readdirSync(docs).filter((n) => /\.[1-8]$/.test(n));
  for (const program of programs) assert.ok(pages.includes(`${program}.1`), `docs/${program}.1 exists`);
  for (const page of pages) {
    const file = path.join(docs, page);
    const source = readFileSync(file, 'utf8');
    const [name, section] = [page.replace(/\.\d$/, ''), page.slice(-1)];
    assert.match(source, new RegExp(`^\\.TH ${name.toUpperCase()} ${section} `), `${page}: .TH names the page`);
    const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
    assert.equal(groff.status, 0, `${page}: ${groff.stderr}`);
    assert.equal(groff.stderr, '', `${page}: groff -ww warns`);
    const man = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
    assert.equal(man.status, 0, `${page}: man -l: ${man.stderr}`);
    assert.match(man.stdout, new RegExp(`^NAME\\n\\s+${name}`, 'm'), `${page}: man -l renders it`);
    assert.match(source, /^\.SH SEE ALSO$/m, `${page}: has SEE ALSO`);
    const refs = [...source.matchAll(/^\.BR\s+"?([A-Za-z0-9_.-]+)"?\s+\((\d)\)/gm)].map((m) => [m[1], m[2]]);
    assert.ok(refs.length > 0, `${page}: refers to other pages`);
    for (const [ref, refSection] of refs) {
      if (ref.startsWith('prov-')) {
        assert.ok(existsSync(path.join(docs, `${ref}.${refSection}`)), `${page} refers to ${ref}(${refSection}): docs/${ref}.${refSection} exists`);
      } else {
        assert.equal(spawnSync('man', ['-w', `${ref}.${refSection}`]).status, 0, `${page} refers to ${ref}(${refSection}), installed`);
      }
    }
  }
});
