// exec_logs by day (issue #15): the upgrade of the old, unpartitioned layout
// by schema.sql (prov-admin setup) loses no row; every UTC day gets its
// partition ahead of time; a row of a day with no partition of its own is
// still written; the purge drops the days wholly past retention and keeps
// everything else. Each test gets a database of its own, with the grants
// scripts/servers.sh gives the application account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase as freshDb } from '../lib/fresh_db.mjs';
import { runBin, sql, sqlValue } from '../lib/panel.mjs';

const schema = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schema.sql');

// exec_logs as main had it before issue #15: id alone as the primary key, no partitions.
const OLD_LAYOUT = `CREATE TABLE exec_logs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, dt DATETIME(6) NOT NULL,
  status ENUM('success','fail') NOT NULL, events_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  handler_id INT UNSIGNED NULL, handler_name VARCHAR(255) NOT NULL, object_id BIGINT NULL,
  event_uid VARCHAR(64) CHARACTER SET ascii NOT NULL, delivery_id CHAR(36) CHARACTER SET ascii NOT NULL,
  attempt INT UNSIGNED NOT NULL DEFAULT 1, trigger_kind ENUM('dispatch','retry','manual') NOT NULL DEFAULT 'dispatch',
  redelivery_of BIGINT UNSIGNED NULL, http_status SMALLINT NULL, exit_code SMALLINT NULL,
  duration_us BIGINT UNSIGNED NOT NULL DEFAULT 0, request_body MEDIUMTEXT NOT NULL, request_headers TEXT NULL,
  response_body MEDIUMTEXT NULL, response_headers TEXT NULL, response_truncated TINYINT(1) NOT NULL DEFAULT 0,
  script_stderr TEXT NULL, error VARCHAR(1024) NULL,
  KEY ix_logs_dt (dt), KEY ix_logs_handler (handler_id, dt), KEY ix_logs_event (events_id, dt),
  KEY ix_logs_status (status, dt), KEY ix_logs_handler_event (handler_id, events_id, dt),
  KEY ix_logs_handler_status (handler_id, status, dt), KEY ix_logs_event_status (events_id, status, dt),
  KEY ix_logs_handler_event_status (handler_id, events_id, status, dt), KEY ix_logs_delivery (delivery_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

const freshDatabase = () => freshDb('prov_part');

const setup = (db) => runBin('prov-admin', ['--config', db.config, 'setup', '--schema', schema], { input: 'a-long-enough-password-9\n' });
const purge = (db, days) => runBin('prov-admin', ['--config', db.config, 'logs', 'purge', '--days', String(days)]);
const partitions = (db) => sql(`SELECT PARTITION_NAME FROM information_schema.PARTITIONS
  WHERE TABLE_SCHEMA = '${db.name}' AND TABLE_NAME = 'exec_logs' ORDER BY PARTITION_ORDINAL_POSITION`).map((r) => r[0]);
// pYYYYMMDD of the UTC day `offset` days from today.
const dayName = (offset) => `p${new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10).replace(/-/g, '')}`;
// Every row, each column included: the count and an order-free sum of row hashes.
const fingerprint = (db, where = '1') => sql(`SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', id, dt, status, events_id,
  handler_id, handler_name, object_id, event_uid, delivery_id, attempt, trigger_kind, redelivery_of, http_status,
  exit_code, duration_us, request_body, request_headers, response_body, response_headers, response_truncated,
  script_stderr, error))), 0) FROM \`${db.name}\`.exec_logs WHERE ${where}`)[0];
const insertAt = (db, dtExpr) => sql(`INSERT INTO \`${db.name}\`.exec_logs (dt, status, events_id, handler_name, event_uid,
  delivery_id, request_body) VALUES (${dtExpr}, 'success', 'clients.create', 'h', 'late', UUID(), '{}'); SELECT LAST_INSERT_ID()`)[0][0];

test('the upgrade from the old layout keeps every row and gives each day its partition; setup again changes nothing', () => {
  const db = freshDatabase();
  try {
    // 3000 rows over the last 200 days (one every 96 minutes), and 2 rows 3 years old.
    sql(`USE \`${db.name}\`; ${OLD_LAYOUT};
      INSERT INTO exec_logs (dt, status, events_id, handler_id, handler_name, object_id, event_uid, delivery_id,
        attempt, http_status, duration_us, request_body, response_body, error)
      SELECT UTC_TIMESTAMP(6) - INTERVAL seq * 96 MINUTE, IF(seq % 7 = 0, 'fail', 'success'), 'clients.create',
        seq % 5 + 1, CONCAT('h', seq % 5), IF(seq % 3 = 0, NULL, seq), CONCAT('u', seq), UUID(), 1, 200, seq,
        CONCAT('{"n":', seq, ',"text":"é ✓"}'), IF(seq % 2, 'ok', NULL), IF(seq % 7 = 0, 'HTTP 500', NULL)
      FROM seq_0_to_2999;
      INSERT INTO exec_logs (dt, status, events_id, handler_name, event_uid, delivery_id, request_body)
      VALUES (UTC_TIMESTAMP() - INTERVAL 3 YEAR, 'fail', 'clients.create', 'old', 'o1', UUID(), '{}'),
             (UTC_TIMESTAMP() - INTERVAL 3 YEAR + INTERVAL 1 DAY, 'fail', 'clients.create', 'old', 'o2', UUID(), '{}')`);
    const before = fingerprint(db);
    const maxId = sqlValue(`SELECT MAX(id) FROM \`${db.name}\`.exec_logs`);
    assert.equal(before[0], '3002');

    const r = setup(db);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fingerprint(db), before, 'every row, every column, as before');
    const names = partitions(db);
    // One per day from 400 days back (the cap; older rows are in the first) up to today + 7, then pmax.
    assert.equal(names[0], dayName(-400));
    assert.equal(names.at(-2), dayName(7));
    assert.equal(names.at(-1), 'pmax');
    assert.equal(names.length, 400 + 8 + 1);
    assert.equal(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs PARTITION (${dayName(-400)})`), '2',
      'the rows older than the first day are in the first partition');
    const key = sql(`SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = '${db.name}' AND TABLE_NAME = 'exec_logs' AND INDEX_NAME = 'PRIMARY'`)[0][0];
    assert.equal(key, 'id,dt');
    // The ids go on from the old ones.
    assert.ok(Number(insertAt(db, 'UTC_TIMESTAMP(6)')) > Number(maxId));

    const again = setup(db);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(partitions(db), names, 'a second load of schema.sql changes nothing');
    // A lookup by id is one primary key probe per partition, not a scan.
    const plan = sql(`EXPLAIN SELECT * FROM \`${db.name}\`.exec_logs WHERE id = ${maxId}`)[0];
    assert.equal(plan[3], 'ref', `lookup by id: ${plan.join(' ')}`);
    assert.equal(plan[5], 'PRIMARY');
    // The newest page merges the partitions along the index, in (dt, id) order, with no sort of every row.
    for (const [index, where] of [['ix_logs_dt', '1'], ['ix_logs_handler_event_status', "handler_id = 1 AND events_id = 'clients.create' AND status = 'fail'"]]) {
      const page = sql(`EXPLAIN SELECT id FROM \`${db.name}\`.exec_logs FORCE INDEX (${index}) WHERE ${where}
        AND (dt < '9999-01-01' OR (dt = '9999-01-01' AND id < 1000000)) ORDER BY dt DESC, id DESC LIMIT 51`)[0];
      assert.equal(page[5], index);
      assert.doesNotMatch(page[9], /filesort/, `${index}: ${page.join(' ')}`);
    }
  } finally {
    db.cleanup();
  }
});

test('the purge drops the days past retention, keeps the rest, and makes the coming days; a day without a partition still takes rows', () => {
  const db = freshDatabase();
  try {
    sql(`USE \`${db.name}\`; ${OLD_LAYOUT};
      INSERT INTO exec_logs (dt, status, events_id, handler_name, event_uid, delivery_id, request_body)
      SELECT UTC_TIMESTAMP(6) - INTERVAL seq HOUR, 'success', 'clients.create', 'h', CONCAT('u', seq), UUID(), '{}'
      FROM seq_0_to_4799`); // 200 days, one row an hour
    assert.equal(setup(db).status, 0);
    const cutoffExpr = 'UTC_TIMESTAMP() - INTERVAL 90 DAY';
    const kept = fingerprint(db, `dt >= ${cutoffExpr} + INTERVAL 1 MINUTE`);
    const daysBefore = partitions(db).length;

    // Time passes: the last three days ahead are gone (as if made 3 days ago); pmax holds a row of one of them.
    const [a, b, c] = [dayName(5), dayName(6), dayName(7)];
    sql(`ALTER TABLE \`${db.name}\`.exec_logs REORGANIZE PARTITION ${a}, ${b}, ${c}, pmax INTO (PARTITION pmax VALUES LESS THAN (MAXVALUE))`);
    const future = insertAt(db, 'UTC_TIMESTAMP(6) + INTERVAL 6 DAY');
    // A row far past every day partition goes to pmax: an insert never fails for want of a partition.
    const farFuture = insertAt(db, 'UTC_TIMESTAMP(6) + INTERVAL 400 DAY');
    assert.equal(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs PARTITION (pmax) WHERE id IN (${future}, ${farFuture})`), '2');

    const r = purge(db, 90);
    assert.equal(r.status, 0, r.stderr);
    const dropped = Number(/\((\d+) days dropped whole\)/.exec(r.stdout)?.[1]);
    // The rows are one an hour from 200 days ago: days 109 and more ago (whole) go, at least 108 of them.
    assert.ok(dropped >= 108 && dropped <= 110, r.stdout);
    assert.equal(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs WHERE dt < ${cutoffExpr}`), '0');
    assert.deepEqual(fingerprint(db, `dt >= ${cutoffExpr} + INTERVAL 1 MINUTE AND event_uid <> 'late'`), kept, 'every younger row stays');
    const names = partitions(db);
    assert.equal(names.length, daysBefore - dropped, 'the three days ahead are back');
    assert.deepEqual(names.slice(-4), [a, b, c, 'pmax']);
    assert.equal(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs PARTITION (${b}) WHERE id = ${future}`), '1');
    assert.equal(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs WHERE id = ${farFuture}`), '1');
    assert.match(sqlValue(`SELECT last_detail FROM \`${db.name}\`.services WHERE name = 'log_purge'`),
      new RegExp(`^removed \\d+ rows older than 90 days \\(${dropped} days dropped whole\\)$`));

    // Nothing more to drop: a run without drops says so by saying nothing of them.
    const again = purge(db, 90);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^removed 0 rows older than 90 days \(before [^)]*\) in 1 batches\n/);

    // prov-loggen writing the past gives those days their partitions first (a purge can drop them).
    const gen = runBin('prov-loggen', ['--config', db.config, '--rows', '500', '--days', '120', '--seed', '3']);
    assert.equal(gen.status, 0, gen.stderr);
    const withPast = partitions(db);
    assert.equal(withPast[0], dayName(-121));
    assert.ok(withPast.includes(dayName(-100)) && withPast.includes(dayName(-91)));
    assert.ok(Number(sqlValue(`SELECT COUNT(*) FROM \`${db.name}\`.exec_logs PARTITION (${dayName(-100)}, ${dayName(-101)}, ${dayName(-102)}, ${dayName(-103)})`)) > 0,
      'the generated past lies in its own days');
  } finally {
    db.cleanup();
  }
});
