// prov-admin setup (issue #18): what the Debian package's README tells an
// operator to run after editing the config. It loads schema.sql through the
// configured connection (no mariadb client, no root) and adds the first admin
// from a password on stdin; run again, it changes nothing and reads nothing.
// Each test gets a database of its own on the private MariaDB, with the same
// grants scripts/servers.sh gives the application account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase as freshDb } from '../lib/fresh_db.mjs';
import { configPath, runBin, sql } from '../lib/panel.mjs';

const schema = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema.sql');

// A fresh empty database and a config naming it; returns { name, config, cleanup }.
const freshDatabase = () => freshDb('prov_setup');

// Every table's definition, AUTO_INCREMENT counters left out.
function tableDefinitions(db) {
  const tables = sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${db}' ORDER BY table_name`)
    .map((r) => r[0]);
  return Object.fromEntries(tables.map((t) => [t,
    sql(`SHOW CREATE TABLE \`${db}\`.\`${t}\``)[0][1].replace(/ AUTO_INCREMENT=\d+/, '')]));
}

const setup = (db, args, input = '') => runBin('prov-admin', ['--config', db.config, 'setup', ...args], { input });

test('setup loads the whole schema and adds the first admin (yescrypt, like user add)', () => {
  const db = freshDatabase();
  try {
    const r = setup(db, ['--schema', schema, '--admin', 'boss'], 'a-long-enough-password-1\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^schema ${schema.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} applied \\(\\d+ statements\\)$`, 'm'));
    assert.match(r.stdout, /^user boss added \(admin\)$/m);
    // The same tables, columns and indexes as the mariadb client's load of schema.sql (servers.sh).
    assert.deepEqual(tableDefinitions(db.name), tableDefinitions('provisioning'));
    assert.deepEqual(sql(`SELECT name, role, password_hash LIKE '$y$%' FROM \`${db.name}\`.users`), [['boss', 'admin', '1']]);
    // The seeded rows (INSERT IGNORE) are there too.
    assert.ok(Number(sql(`SELECT COUNT(*) FROM \`${db.name}\`.services`)[0][0]) > 0);
    assert.deepEqual(sql(`SELECT id FROM \`${db.name}\`.cache_state`), [['1']]);

    // Again (an upgrade): nothing read from stdin, nothing added, exit 0.
    const again = setup(db, ['--schema', schema]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^an admin exists already \(boss\): none added$/m);
    assert.deepEqual(sql(`SELECT COUNT(*) FROM \`${db.name}\`.users`), [['1']]);
    assert.deepEqual(tableDefinitions(db.name), tableDefinitions('provisioning'));
  } finally {
    db.cleanup();
  }
});

test('setup without a password on stdin still applies the schema, then asks for one (64)', () => {
  const db = freshDatabase();
  try {
    const r = setup(db, ['--schema', schema]);
    assert.equal(r.status, 64, r.stdout + r.stderr);
    assert.match(r.stderr, /no admin exists yet: give the password of admin on stdin/);
    assert.deepEqual(Object.keys(tableDefinitions(db.name)), Object.keys(tableDefinitions('provisioning')));
    assert.deepEqual(sql(`SELECT COUNT(*) FROM \`${db.name}\`.users`), [['0']]);
    // A weak password is refused by the same check as user add.
    const weak = setup(db, ['--schema', schema], 'x\n');
    assert.equal(weak.status, 1);
    assert.deepEqual(sql(`SELECT COUNT(*) FROM \`${db.name}\`.users`), [['0']]);
    const ok = setup(db, ['--schema', schema], 'a-long-enough-password-2\n');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(sql(`SELECT name, role FROM \`${db.name}\`.users`), [['admin', 'admin']]);
  } finally {
    db.cleanup();
  }
});

test('setup names what went wrong: a missing schema (66), a failed statement by number (70), usage (64)', () => {
  const db = freshDatabase();
  const dir = mkdtempSync(path.join(tmpdir(), 'prov-setup-bad-'));
  try {
    const missing = setup(db, ['--schema', path.join(dir, 'none.sql')]);
    assert.equal(missing.status, 66);
    assert.match(missing.stderr, /^prov-admin: setup: cannot read the schema .*none\.sql: No such file or directory/);
    const bad = path.join(dir, 'bad.sql');
    writeFileSync(bad, '-- a comment; with a semicolon\nCREATE TABLE IF NOT EXISTS t1 (id INT);\n' +
      "INSERT INTO t1 VALUES (1); -- 'quoted; text'\nCREATE TABLE nonsense (;\nCREATE TABLE t2 (id INT);\n");
    const r = setup(db, ['--schema', bad], 'a-long-enough-password-3\n');
    assert.equal(r.status, 70, r.stdout + r.stderr);
    assert.match(r.stderr, /^prov-admin: setup: .*bad\.sql: statement 3: .*syntax/);
    // The statements before it stay applied, the ones after are not run, no admin is added.
    assert.deepEqual(sql(`SELECT id FROM \`${db.name}\`.t1`), [['1']]);
    assert.deepEqual(sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${db.name}'`), [['t1']]);
    assert.equal(setup(db, ['--schema']).status, 64);
    assert.equal(setup(db, ['--bogus']).status, 64);
    const badName = setup(db, ['--schema', schema, '--admin', 'no spaces allowed'], 'a-long-enough-password-4\n');
    assert.equal(badName.status, 1);
  } finally {
    db.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('setup against an unreachable database exits 69 before reading stdin', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'prov-setup-down-'));
  try {
    const config = path.join(dir, 'provisioning.conf');
    writeFileSync(config, readFileSync(configPath, 'utf8').replace(/^db_socket\s*=.*$/m, `db_socket = ${dir}/none.sock`));
    const r = runBin('prov-admin', ['--config', config, 'setup', '--schema', schema]);
    assert.equal(r.status, 69, r.stderr);
    assert.match(r.stderr, /database unreachable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
