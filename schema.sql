-- Provisioning API data model (SPEC sections 3-8). MariaDB 10.6+.
-- Safe to load again: every statement is idempotent.

CREATE TABLE IF NOT EXISTS schema_version (
  version     INT UNSIGNED NOT NULL PRIMARY KEY,
  applied_at  DATETIME NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Panel and API accounts.
CREATE TABLE IF NOT EXISTS users (
  id             INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name           VARCHAR(64) NOT NULL,
  password_hash  VARCHAR(255) NOT NULL,
  role           ENUM('admin','viewer') NOT NULL DEFAULT 'viewer',
  failed_logins  INT UNSIGNED NOT NULL DEFAULT 0,
  locked_until   DATETIME NULL,
  last_login_at  DATETIME NULL,
  created_at     DATETIME NOT NULL,
  UNIQUE KEY uq_users_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Browser sessions; the cookie's SHA-256 digest is the key, never the cookie.
CREATE TABLE IF NOT EXISTS sessions (
  token_hash  CHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  user_id     INT UNSIGNED NOT NULL,
  csrf_token  CHAR(64) CHARACTER SET ascii NOT NULL,
  created_at  DATETIME NOT NULL,
  expires_at  DATETIME NOT NULL,
  KEY ix_sessions_expires (expires_at),
  KEY ix_sessions_user (user_id),
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- API keys act with their user's role; only the digest is stored.
CREATE TABLE IF NOT EXISTS api_keys (
  id            INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id       INT UNSIGNED NOT NULL,
  name          VARCHAR(255) NOT NULL,
  key_prefix    CHAR(8) CHARACTER SET ascii NOT NULL,
  key_hash      CHAR(64) CHARACTER SET ascii NOT NULL,
  created_at    DATETIME NOT NULL,
  last_used_at  DATETIME NULL,
  revoked_at    DATETIME NULL,
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_user (user_id),
  CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Handlers as the operator edits them. The dispatcher never reads this table
-- per event: it runs the published snapshot (cache_generations).
CREATE TABLE IF NOT EXISTS handlers (
  id                    INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                  VARCHAR(255) NOT NULL,
  events_id             VARCHAR(64) CHARACTER SET ascii NOT NULL,
  task                  VARCHAR(2048) NOT NULL,
  task_type             ENUM('http','script') NOT NULL,
  status                ENUM('enabled','disabled','archived') NOT NULL DEFAULT 'enabled',
  priority              INT UNSIGNED NOT NULL DEFAULT 1,
  timeout_ms            INT UNSIGNED NOT NULL DEFAULT 5000,
  retry_enabled         TINYINT(1) NOT NULL DEFAULT 1,
  retry_max_attempts    INT UNSIGNED NULL,            -- NULL: the default schedule's length
  retry_schedule        VARCHAR(255) NULL,            -- NULL: 5s,5m,30m,2h,5h,10h,10h
  secret                VARCHAR(128) NULL,            -- HMAC-SHA256 signing secret
  consecutive_failures  INT UNSIGNED NOT NULL DEFAULT 0,
  last_status           ENUM('success','fail') NULL,
  last_run_at           DATETIME(6) NULL,
  last_error            VARCHAR(1024) NULL,
  created_at            DATETIME NOT NULL,
  updated_at            DATETIME NOT NULL,
  KEY ix_handlers_status_priority (status, priority, id),
  KEY ix_handlers_event_status (events_id, status, priority, id),
  KEY ix_handlers_type_status (task_type, status, priority, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The Cache Manager's published snapshots. One row per publish; the current
-- one is cache_state.generation, switched in the same transaction that
-- inserts it, so a reader sees the old set or the new one, never a mix.
CREATE TABLE IF NOT EXISTS cache_generations (
  generation        BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  published_at      DATETIME(6) NOT NULL,
  published_by      VARCHAR(64) NOT NULL,
  handlers_version  BIGINT UNSIGNED NOT NULL,
  handler_count     INT UNSIGNED NOT NULL,
  snapshot          LONGTEXT NOT NULL            -- JSON array of enabled handlers
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row: the current generation and a counter bumped by every handler edit;
-- edits are pending while it differs from the published generation's.
CREATE TABLE IF NOT EXISTS cache_state (
  id                TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  generation        BIGINT UNSIGNED NULL,
  handlers_version  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  CONSTRAINT ck_cache_state_one CHECK (id = 1)
) ENGINE=InnoDB;
INSERT IGNORE INTO cache_state (id, generation, handlers_version) VALUES (1, NULL, 0);

-- Execution Logs: one row per handler execution (SPEC 4.3, 7). Pages are
-- newest first by (dt, id) with keyset paging; every combination of the
-- handler / event / status filters has an index ending in dt (InnoDB appends
-- id), so each page and date range is one short index range (core/logs.c
-- names them). Text search reads a bounded window of rows instead of a
-- FULLTEXT index: measured on 1,000,000 rows, FULLTEXT took 1.6-7 s for
-- common words and made inserts 70% slower.
CREATE TABLE IF NOT EXISTS exec_logs (
  id                 BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dt                 DATETIME(6) NOT NULL,
  status             ENUM('success','fail') NOT NULL,
  events_id          VARCHAR(64) CHARACTER SET ascii NOT NULL,
  handler_id         INT UNSIGNED NULL,           -- no FK: logs outlive deleted handlers
  handler_name       VARCHAR(255) NOT NULL,       -- the name at execution time
  object_id          BIGINT NULL,
  event_uid          VARCHAR(64) CHARACTER SET ascii NOT NULL,
  delivery_id        CHAR(36) CHARACTER SET ascii NOT NULL,
  attempt            INT UNSIGNED NOT NULL DEFAULT 1,
  trigger_kind       ENUM('dispatch','retry','manual') NOT NULL DEFAULT 'dispatch',
  redelivery_of      BIGINT UNSIGNED NULL,
  http_status        SMALLINT NULL,
  exit_code          SMALLINT NULL,
  duration_us        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  request_body       MEDIUMTEXT NOT NULL,
  request_headers    TEXT NULL,
  response_body      MEDIUMTEXT NULL,
  response_headers   TEXT NULL,
  response_truncated TINYINT(1) NOT NULL DEFAULT 0,
  script_stderr      TEXT NULL,
  error              VARCHAR(1024) NULL,
  KEY ix_logs_dt (dt),
  KEY ix_logs_handler (handler_id, dt),
  KEY ix_logs_event (events_id, dt),
  KEY ix_logs_status (status, dt),
  KEY ix_logs_handler_event (handler_id, events_id, dt),
  KEY ix_logs_handler_status (handler_id, status, dt),
  KEY ix_logs_event_status (events_id, status, dt),
  KEY ix_logs_handler_event_status (handler_id, events_id, status, dt),
  KEY ix_logs_delivery (delivery_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Retry queue (SPEC 7). A worker claims due rows with FOR UPDATE SKIP LOCKED
-- and leases them: claimed_by is set and next_attempt_at moves to the lease's
-- end, so a worker that dies mid-delivery frees its rows when the lease ends.
CREATE TABLE IF NOT EXISTS retry_queue (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  delivery_id      CHAR(36) CHARACTER SET ascii NOT NULL,
  handler_id       INT UNSIGNED NOT NULL,
  handler_name     VARCHAR(255) NOT NULL,
  log_id           BIGINT UNSIGNED NULL,          -- the execution that failed last
  events_id        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  object_id        BIGINT NULL,
  event_uid        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  envelope         MEDIUMTEXT NOT NULL,
  attempt          INT UNSIGNED NOT NULL,         -- attempts made so far
  state            ENUM('scheduled','exhausted','done') NOT NULL DEFAULT 'scheduled',
  next_attempt_at  DATETIME(6) NOT NULL,
  claimed_by       VARCHAR(96) NULL,
  last_error       VARCHAR(1024) NULL,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  UNIQUE KEY uq_retry_delivery (delivery_id),
  KEY ix_retry_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Task Scheduler services: Cache Manager, retry worker, log purge.
CREATE TABLE IF NOT EXISTS services (
  name         VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  title        VARCHAR(255) NOT NULL,
  last_run_at  DATETIME(6) NULL,
  last_result  ENUM('ok','error') NULL,
  last_detail  VARCHAR(1024) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT IGNORE INTO services (name, title) VALUES
  ('cache_manager', 'Cache Manager'),
  ('retry_worker', 'Retry Worker'),
  ('log_purge', 'Execution Log Purge');

-- Delivery guarantees (SPEC 7): when a handler was switched off by the
-- auto_disable_failures setting (NULL: never, or enabled again since).
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS auto_disabled_at DATETIME(6) NULL AFTER last_error;

-- Signing (issue #18): the scheme a handler's requests are signed with
-- (X-Prov-Signature, Stripe's format, or Standard Webhooks); existing rows keep
-- 'prov'. A rotation keeps the replaced secret in old_secret, sent along until
-- old_secret_until (UTC); never shown, as the current one is not.
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS signature_scheme ENUM('prov','standard') NOT NULL DEFAULT 'prov' AFTER secret;
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS old_secret VARCHAR(128) NULL AFTER signature_scheme;
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS old_secret_until DATETIME NULL AFTER old_secret;
-- Optimistic locking (issue #16): every write adds 1; a form or an API update
-- made on an older revision is refused as a conflict instead of overwriting.
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS revision INT UNSIGNED NOT NULL DEFAULT 1 AFTER updated_at;

-- A generation's identity (SPEC 6): its number repeats when a database is
-- re-created or restored from a backup, so each generation also gets a random
-- id when it is published; a dispatcher's local copy is current only when both
-- match. Rows published before the column existed get one here.
ALTER TABLE cache_generations ADD COLUMN IF NOT EXISTS generation_uid CHAR(32) CHARACTER SET ascii NULL AFTER generation;
UPDATE cache_generations SET generation_uid = MD5(CONCAT(UUID(), RAND(), generation)) WHERE generation_uid IS NULL;

-- Retention (core/retention.c, run with the log purge): finished retry rows
-- are deleted by (state, updated_at), and the Task Scheduler's counts are
-- read from indexes only (ix_retry_due per state), never from the rows.
ALTER TABLE retry_queue ADD INDEX IF NOT EXISTS ix_retry_finished (state, updated_at);
-- The handler list's default order (priority) and its name order read a page
-- along an index instead of sorting every handler; the Execution Logs' handler
-- filter reads a bounded number by name (logs.c, LOGS_HANDLER_CHOICES_MAX)
-- from ix_handlers_name alone.
ALTER TABLE handlers ADD INDEX IF NOT EXISTS ix_handlers_priority (priority, id);
ALTER TABLE handlers ADD INDEX IF NOT EXISTS ix_handlers_name (name, priority, id, status);
INSERT IGNORE INTO services (name, title) VALUES ('retention', 'Retry Queue and Snapshot Retention');

-- Sessions and login (issue #14). A disabled user (disabled_at set) cannot log
-- in, its sessions and API keys are refused at once. Sessions remember where
-- they came from and when they were last used (written at most once a minute).
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled_at DATETIME NULL AFTER last_login_at;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS last_seen_at DATETIME NULL AFTER expires_at;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS source_address VARCHAR(45) CHARACTER SET ascii NULL AFTER last_seen_at;
-- Failed logins per user name (existing or not, so that a lock-out does not
-- tell which names exist) and per source address (IPv6: its /64); counted
-- in a window of login_lock_seconds (core/users.c). users.failed_logins and
-- users.locked_until are no longer used.
CREATE TABLE IF NOT EXISTS login_failures (
  scope              ENUM('name','address') NOT NULL,
  subject            VARCHAR(64) NOT NULL,
  failures           INT UNSIGNED NOT NULL,
  window_started_at  DATETIME NOT NULL,
  locked_until       DATETIME NULL,
  PRIMARY KEY (scope, subject),
  KEY ix_login_failures_window (window_started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Redeliveries of script handlers asked for in the panel or the API: the web
-- server never runs a script (it runs as another user, one that can read the
-- config); prov-worker runs them as the dispatcher's user, at most once each.
CREATE TABLE IF NOT EXISTS redeliver_queue (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  log_id       BIGINT UNSIGNED NOT NULL,          -- the execution to run again
  state        ENUM('queued','running','done') NOT NULL DEFAULT 'queued',
  claimed_by   VARCHAR(96) NULL,
  new_log_id   BIGINT UNSIGNED NULL,              -- the redelivery's own row
  error        VARCHAR(1024) NULL,
  created_at   DATETIME(6) NOT NULL,
  updated_at   DATETIME(6) NOT NULL,
  KEY ix_redeliver_state (state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- Retention deletes run redeliveries by (state, updated_at), like retry_queue.
ALTER TABLE redeliver_queue ADD INDEX IF NOT EXISTS ix_redeliver_finished (state, updated_at);

INSERT IGNORE INTO schema_version (version, applied_at) VALUES (1, UTC_TIMESTAMP());

-- Metrics (issue #17, core/rollup.c): executions counted in the same
-- transaction as their exec_logs rows (core/logstore.c), so /metrics never
-- reads the log. exec_rollup: one row per minute and key, with the count, the
-- duration sum and per-bucket counts (b0..b15: durations up to 1 ms, 2.5 ms,
-- 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s,
-- 25 s, 60 s, 300 s; not cumulative; longer ones: executions minus their
-- sum), pruned by `prov-admin logs purge` after metrics_rollup_retention_days;
-- it feeds charts (rates, p50/p95 by minute). exec_totals: the same counters
-- without the minute, never pruned: what a scrape reads (one row per key).
CREATE TABLE IF NOT EXISTS exec_rollup (
  minute           DATETIME NOT NULL,             -- UTC, the execution's start
  handler_id       INT UNSIGNED NOT NULL,         -- 0: none
  events_id        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  status           ENUM('success','fail') NOT NULL,
  verdict          ENUM('unchanged','modified','forbidden','failed') NOT NULL,
  trigger_kind     ENUM('dispatch','retry','manual') NOT NULL,
  executions       BIGINT UNSIGNED NOT NULL,
  duration_us_sum  BIGINT UNSIGNED NOT NULL,
  b0 BIGINT UNSIGNED NOT NULL DEFAULT 0, b1 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b2 BIGINT UNSIGNED NOT NULL DEFAULT 0, b3 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b4 BIGINT UNSIGNED NOT NULL DEFAULT 0, b5 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b6 BIGINT UNSIGNED NOT NULL DEFAULT 0, b7 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b8 BIGINT UNSIGNED NOT NULL DEFAULT 0, b9 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b10 BIGINT UNSIGNED NOT NULL DEFAULT 0, b11 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b12 BIGINT UNSIGNED NOT NULL DEFAULT 0, b13 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b14 BIGINT UNSIGNED NOT NULL DEFAULT 0, b15 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, handler_id, events_id, status, verdict, trigger_kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS exec_totals (
  handler_id       INT UNSIGNED NOT NULL,
  events_id        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  status           ENUM('success','fail') NOT NULL,
  verdict          ENUM('unchanged','modified','forbidden','failed') NOT NULL,
  trigger_kind     ENUM('dispatch','retry','manual') NOT NULL,
  executions       BIGINT UNSIGNED NOT NULL,
  duration_us_sum  BIGINT UNSIGNED NOT NULL,
  b0 BIGINT UNSIGNED NOT NULL DEFAULT 0, b1 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b2 BIGINT UNSIGNED NOT NULL DEFAULT 0, b3 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b4 BIGINT UNSIGNED NOT NULL DEFAULT 0, b5 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b6 BIGINT UNSIGNED NOT NULL DEFAULT 0, b7 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b8 BIGINT UNSIGNED NOT NULL DEFAULT 0, b9 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b10 BIGINT UNSIGNED NOT NULL DEFAULT 0, b11 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b12 BIGINT UNSIGNED NOT NULL DEFAULT 0, b13 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b14 BIGINT UNSIGNED NOT NULL DEFAULT 0, b15 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (handler_id, events_id, status, verdict, trigger_kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- A service run's count (the log purge: rows removed), for /metrics.
ALTER TABLE services ADD COLUMN IF NOT EXISTS last_count BIGINT UNSIGNED NULL AFTER last_detail;

-- What a panel page shows once after its POST's redirect (issue #16): a newly
-- generated signing secret, shown by the GET after "Create"/"Save" so that a
-- reload cannot save the form again. Keyed to the session (its token digest);
-- the row is deleted when shown and goes with its session. Never logged.
CREATE TABLE IF NOT EXISTS session_flash (
  token_hash        CHAR(64) CHARACTER SET ascii NOT NULL,
  handler_id        INT UNSIGNED NOT NULL,
  done              ENUM('created','saved') NOT NULL,
  old_secret_hours  INT UNSIGNED NOT NULL DEFAULT 0,
  secret            VARCHAR(128) CHARACTER SET ascii NOT NULL,
  created_at        DATETIME NOT NULL,
  PRIMARY KEY (token_hash, handler_id),
  CONSTRAINT fk_session_flash_session FOREIGN KEY (token_hash) REFERENCES sessions (token_hash) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- ---------------------------------------------------------------- issue #16: history, bulk recovery (branch recovery)
-- History (core/history.c): every handler create, edit, status change and
-- delete, and every Cache Manager publish and rollback, written in the
-- change's own transaction. before_json/after_json: the handler's fields
-- (a secret only as "set" and "secret_changed", never its value); a publish's
-- after_json: the generation, the one it replaced and the diff between them.
CREATE TABLE IF NOT EXISTS change_history (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at          DATETIME(6) NOT NULL,
  actor_kind  ENUM('panel','api','cli','system') NOT NULL,
  actor       VARCHAR(255) NOT NULL,            -- panel user, "key NAME (user)", CLI user
  kind        ENUM('handler','cache') NOT NULL,
  action      ENUM('create','edit','status','delete','publish','rollback') NOT NULL,
  handler_id  INT UNSIGNED NULL,
  generation  BIGINT UNSIGNED NULL,
  before_json MEDIUMTEXT NULL,
  after_json  MEDIUMTEXT NULL,
  KEY ix_history_handler (kind, handler_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Bulk recovery (core/bulk.c): "redeliver the failed executions of a handler
-- (or a filter) since a time", run by prov-worker. pending_key is the filter's
-- digest while the request is pending (NULL once done): a second identical
-- request is refused by the unique key and answered with the first. Items:
-- one row per execution and request (the primary key: at most once per
-- request); active_log_id is the log id while the item waits or runs (NULL
-- after), unique: two pending requests never queue one execution twice.
CREATE TABLE IF NOT EXISTS bulk_redeliveries (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  pending_key   CHAR(64) CHARACTER SET ascii NULL,
  handler_id    INT UNSIGNED NULL,
  events_id     VARCHAR(64) CHARACTER SET ascii NULL,
  since         DATETIME(6) NOT NULL,
  until         DATETIME(6) NOT NULL,
  max_log_id    BIGINT UNSIGNED NOT NULL,         -- executions logged after the request are not in it
  expected      BIGINT UNSIGNED NOT NULL,         -- N as stated when it was asked for
  total         BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- items queued by the selection
  skipped       BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- matched but already queued by another pending request
  cursor_dt     DATETIME(6) NULL,                 -- selection progress (keyset on dt, id)
  cursor_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  state         ENUM('selecting','running','done') NOT NULL DEFAULT 'selecting',
  requested_by  VARCHAR(255) NOT NULL,
  created_at    DATETIME(6) NOT NULL,
  updated_at    DATETIME(6) NOT NULL,
  finished_at   DATETIME(6) NULL,
  UNIQUE KEY uq_bulk_pending (pending_key),
  KEY ix_bulk_state (state, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS bulk_redelivery_items (
  bulk_id        BIGINT UNSIGNED NOT NULL,
  log_id         BIGINT UNSIGNED NOT NULL,
  handler_id     INT UNSIGNED NULL,
  object_id      BIGINT NULL,
  active_log_id  BIGINT UNSIGNED NULL,
  state          ENUM('queued','running','delivered','failed') NOT NULL DEFAULT 'queued',
  claimed_by     VARCHAR(96) NULL,
  claimed_at     DATETIME(6) NULL,
  new_log_id     BIGINT UNSIGNED NULL,
  error          VARCHAR(1024) NULL,
  PRIMARY KEY (bulk_id, log_id),
  UNIQUE KEY uq_bulk_items_active (active_log_id),
  KEY ix_bulk_items_state (bulk_id, state, log_id),
  KEY ix_bulk_items_object (bulk_id, handler_id, object_id, state),
  CONSTRAINT fk_bulk_items_bulk FOREIGN KEY (bulk_id) REFERENCES bulk_redeliveries (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- Test sends and the chain of an event (issue #16, features 1 and 2).
-- trigger 'test': a "Send test" from the handler form, the API or prov-admin
-- (never queued, never counted in the handler's last status). verdict: what
-- the execution decided, stored at write time (core/logstore.c) so pages do
-- not re-read replies: unchanged, modified, forbidden, failed; NULL on rows
-- logged before this column existed. forbid_reason: the forbidding reply's
-- reason. skipped_handlers: on a forbidding dispatch row, the ids of the
-- handlers of the chain that did not run because of it ("3,7"), as the
-- dispatcher's snapshot had them, so the event view never guesses from
-- today's handler list. No new index: a verdict filter rides the status
-- indexes (failed is status 'fail'; the others are status 'success').
ALTER TABLE exec_logs MODIFY trigger_kind ENUM('dispatch','retry','manual','test') NOT NULL DEFAULT 'dispatch';
ALTER TABLE exec_rollup MODIFY trigger_kind ENUM('dispatch','retry','manual','test') NOT NULL;
ALTER TABLE exec_totals MODIFY trigger_kind ENUM('dispatch','retry','manual','test') NOT NULL;
ALTER TABLE exec_logs ADD COLUMN IF NOT EXISTS verdict ENUM('unchanged','modified','forbidden','failed') NULL AFTER status;
ALTER TABLE exec_logs ADD COLUMN IF NOT EXISTS forbid_reason VARCHAR(512) NULL AFTER verdict;
ALTER TABLE exec_logs ADD COLUMN IF NOT EXISTS skipped_handlers VARCHAR(1024) CHARACTER SET ascii NULL AFTER forbid_reason;
-- The event view reads every execution of one event id (its chain, retries,
-- redeliveries): without this index that is a scan of the whole log.
ALTER TABLE exec_logs ADD INDEX IF NOT EXISTS ix_logs_event_uid (event_uid, dt);
-- Per-object order (issue #15, core/dispatch_order.c). handlers.ordered: for
-- each object_id, deliveries to the handler happen in event order; an event
-- behind a failing or queued one is logged 'waiting' (exec_logs.behind_log_id:
-- the execution it waits for) and queued in retry_queue as 'waiting', never
-- claimed until the row ahead of it is done. A given-up ordered row is
-- 'blocked': it holds its object's chain until an operator releases it
-- (prov-worker --release LOG_ID). ix_retry_chain answers "is anything queued
-- for (object, handler)?" for all of an event's handlers in one range each.
-- Appending to an ENUM is an instant change, even on a big exec_logs.
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS ordered TINYINT(1) NOT NULL DEFAULT 1 AFTER retry_schedule;
ALTER TABLE exec_logs MODIFY status ENUM('success','fail','waiting') NOT NULL;
ALTER TABLE exec_logs ADD COLUMN IF NOT EXISTS behind_log_id BIGINT UNSIGNED NULL AFTER redelivery_of;
ALTER TABLE retry_queue MODIFY state ENUM('scheduled','exhausted','done','waiting','blocked') NOT NULL DEFAULT 'scheduled';
ALTER TABLE retry_queue ADD INDEX IF NOT EXISTS ix_retry_chain (object_id, handler_id, state);
-- ---------------------------------------------------------------------------
-- exec_logs by day (issue #15): RANGE COLUMNS(dt) partitions, one per UTC day
-- (pYYYYMMDD holds that day), the first one also every older row, and pmax
-- (MAXVALUE) every later one, so an insert never lacks a partition. The purge
-- (core/logs_purge.c) drops whole days; it and this block split the coming 7
-- days out of pmax ahead of time. A row's key is (id, dt):
-- a partitioned table's unique keys must hold dt; a lookup by id alone is one
-- primary key probe per partition. The filter indexes end in (dt, id): the
-- partitions' rows merge in the page's (dt, id) order only when the index
-- names id (InnoDB's implicit primary key suffix does not count there).
-- Upgrade of the old layout (one table copy, writes wait for it: ~1 min per
-- million rows): days from the oldest row (at most 400 days back) to today + 7.
SET @prov_part_sql = (
  SELECT IF(COUNT(*) = 0, 'DO 0', (
    WITH RECURSIVE d (day) AS (
      SELECT GREATEST(COALESCE((SELECT DATE(MIN(dt)) FROM exec_logs), UTC_DATE()),
                      UTC_DATE() - INTERVAL 400 DAY)
      UNION ALL SELECT day + INTERVAL 1 DAY FROM d WHERE day < UTC_DATE() + INTERVAL 7 DAY)
    SELECT CONCAT('ALTER TABLE exec_logs DROP PRIMARY KEY, ADD PRIMARY KEY (id, dt), ',
                  'DROP INDEX ix_logs_dt, ADD INDEX ix_logs_dt (dt, id), ',
                  'DROP INDEX ix_logs_handler, ADD INDEX ix_logs_handler (handler_id, dt, id), ',
                  'DROP INDEX ix_logs_event, ADD INDEX ix_logs_event (events_id, dt, id), ',
                  'DROP INDEX ix_logs_status, ADD INDEX ix_logs_status (status, dt, id), ',
                  'DROP INDEX ix_logs_handler_event, ADD INDEX ix_logs_handler_event (handler_id, events_id, dt, id), ',
                  'DROP INDEX ix_logs_handler_status, ADD INDEX ix_logs_handler_status (handler_id, status, dt, id), ',
                  'DROP INDEX ix_logs_event_status, ADD INDEX ix_logs_event_status (events_id, status, dt, id), ',
                  'DROP INDEX ix_logs_handler_event_status, ',
                  'ADD INDEX ix_logs_handler_event_status (handler_id, events_id, status, dt, id) ',
                  'PARTITION BY RANGE COLUMNS (dt) (',
                  GROUP_CONCAT('PARTITION p', DATE_FORMAT(day, '%Y%m%d'), ' VALUES LESS THAN (''',
                               DATE_FORMAT(day + INTERVAL 1 DAY, '%Y-%m-%d'), ''')'
                               ORDER BY day SEPARATOR ', '),
                  ', PARTITION pmax VALUES LESS THAN (MAXVALUE))')
    FROM d))
  FROM information_schema.TABLES
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs' AND CREATE_OPTIONS NOT LIKE '%partitioned%');
EXECUTE IMMEDIATE @prov_part_sql;
-- The coming days (core/logs_partitions.c runs the same three statements with
-- every purge): pmax split into the days after the newest day partition up to
-- today + 7 (from today when none is left).
SET @prov_part_last = (SELECT IF(SUM(PARTITION_NAME = 'pmax') = 0, NULL,
  COALESCE(MAX(STR_TO_DATE(SUBSTRING(PARTITION_NAME, 2), '%Y%m%d')), UTC_DATE() - INTERVAL 1 DAY))
  FROM information_schema.PARTITIONS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs'
  AND (PARTITION_NAME = 'pmax' OR PARTITION_NAME REGEXP '^p[0-9]{8}$'));
SET @prov_part_sql = IF(@prov_part_last IS NULL OR @prov_part_last >= UTC_DATE() + INTERVAL 7 DAY,
  'DO 0', (WITH RECURSIVE d (day) AS (SELECT @prov_part_last + INTERVAL 1 DAY
    UNION ALL SELECT day + INTERVAL 1 DAY FROM d WHERE day < UTC_DATE() + INTERVAL 7 DAY)
  SELECT CONCAT('ALTER TABLE exec_logs REORGANIZE PARTITION pmax INTO (',
    GROUP_CONCAT('PARTITION p', DATE_FORMAT(day, '%Y%m%d'), ' VALUES LESS THAN (''',
      DATE_FORMAT(day + INTERVAL 1 DAY, '%Y-%m-%d'), ''')' ORDER BY day SEPARATOR ', '),
    ', PARTITION pmax VALUES LESS THAN (MAXVALUE))') FROM d));
EXECUTE IMMEDIATE @prov_part_sql;
-- Charts and health (issue #17, core/rollup.c, core/charts_data.c): the
-- execution counters per hour and per day, written with exec_rollup in the
-- log's transaction, so that a chart reads at most a few thousand rows
-- whatever the size of the log (exec_rollup has a row per minute and key).
-- No verdict here: charts show success and failure. The primary key starts
-- with the handler (a handler's 24 h / 7 d charts, the list's sparklines);
-- ix_*_time covers the Execution Logs' histogram (time, status, event,
-- executions; the handler comes with the primary key). exec_rollup_hour goes
-- with the purge after metrics_rollup_retention_days; exec_rollup_day stays
-- (a row per day and key; the histogram starts at the log's oldest row).
CREATE TABLE IF NOT EXISTS exec_rollup_hour (
  hour             DATETIME NOT NULL,             -- UTC, the hour's start
  handler_id       INT UNSIGNED NOT NULL,
  events_id        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  status           ENUM('success','fail') NOT NULL,
  trigger_kind     ENUM('dispatch','retry','manual','test') NOT NULL,
  executions       BIGINT UNSIGNED NOT NULL,
  duration_us_sum  BIGINT UNSIGNED NOT NULL,
  b0 BIGINT UNSIGNED NOT NULL DEFAULT 0, b1 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b2 BIGINT UNSIGNED NOT NULL DEFAULT 0, b3 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b4 BIGINT UNSIGNED NOT NULL DEFAULT 0, b5 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b6 BIGINT UNSIGNED NOT NULL DEFAULT 0, b7 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b8 BIGINT UNSIGNED NOT NULL DEFAULT 0, b9 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b10 BIGINT UNSIGNED NOT NULL DEFAULT 0, b11 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b12 BIGINT UNSIGNED NOT NULL DEFAULT 0, b13 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b14 BIGINT UNSIGNED NOT NULL DEFAULT 0, b15 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (handler_id, hour, events_id, status, trigger_kind),
  KEY ix_rollup_hour_time (hour, status, events_id, executions)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE IF NOT EXISTS exec_rollup_day (
  day              DATETIME NOT NULL,             -- UTC, the day's start
  handler_id       INT UNSIGNED NOT NULL,
  events_id        VARCHAR(64) CHARACTER SET ascii NOT NULL,
  status           ENUM('success','fail') NOT NULL,
  trigger_kind     ENUM('dispatch','retry','manual','test') NOT NULL,
  executions       BIGINT UNSIGNED NOT NULL,
  duration_us_sum  BIGINT UNSIGNED NOT NULL,
  b0 BIGINT UNSIGNED NOT NULL DEFAULT 0, b1 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b2 BIGINT UNSIGNED NOT NULL DEFAULT 0, b3 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b4 BIGINT UNSIGNED NOT NULL DEFAULT 0, b5 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b6 BIGINT UNSIGNED NOT NULL DEFAULT 0, b7 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b8 BIGINT UNSIGNED NOT NULL DEFAULT 0, b9 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b10 BIGINT UNSIGNED NOT NULL DEFAULT 0, b11 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b12 BIGINT UNSIGNED NOT NULL DEFAULT 0, b13 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  b14 BIGINT UNSIGNED NOT NULL DEFAULT 0, b15 BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (handler_id, day, events_id, status, trigger_kind),
  KEY ix_rollup_day_time (day, status, events_id, executions)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- A Send test's executions (trigger 'test') are rolled up like the others.
ALTER TABLE exec_rollup_hour MODIFY trigger_kind ENUM('dispatch','retry','manual','test') NOT NULL;
ALTER TABLE exec_rollup_day MODIFY trigger_kind ENUM('dispatch','retry','manual','test') NOT NULL;
-- Since when a handler has been failing (the health summary): set by the
-- first failure after a success, cleared by a success (core/logstore.c).
-- Handlers already failing get their last run as an approximation.
ALTER TABLE handlers ADD COLUMN IF NOT EXISTS failing_since DATETIME(6) NULL AFTER last_error;
UPDATE handlers SET failing_since = last_run_at WHERE last_status = 'fail' AND failing_since IS NULL;
-- Dispatcher service workers (core/dispatch_service.c, dispatch_stats.c): each prov-dispatchd
-- --serve writes its one row every few seconds from a reporter process that
-- reads the workers' shared counters (nothing per event but two additions in
-- memory); /metrics reads them all. exec_fallbacks: events prov-dispatch ran
-- itself while a service was configured (one upsert each, on that slow path).
CREATE TABLE IF NOT EXISTS dispatch_service_stats (
  host             VARCHAR(255) NOT NULL,
  pid              INT UNSIGNED NOT NULL DEFAULT 0,
  workers          INT UNSIGNED NOT NULL DEFAULT 0,   -- 0: stopped
  busy             INT UNSIGNED NOT NULL DEFAULT 0,
  events_served    BIGINT UNSIGNED NOT NULL DEFAULT 0, -- since the service started
  exec_fallbacks   BIGINT UNSIGNED NOT NULL DEFAULT 0, -- ever
  started_at       DATETIME NULL,
  updated_at       DATETIME NULL,
  PRIMARY KEY (host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- Panel and API answers by status (core/request_stats.c): each FastCGI
-- process counts in memory and adds its counts here at most once every few
-- seconds (one statement per status seen), never a statement per request.
CREATE TABLE IF NOT EXISTS request_stats (
  program          ENUM('panel','api') NOT NULL,
  status           SMALLINT UNSIGNED NOT NULL,
  requests         BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (program, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
-- The health summary's retry trend: rows added in the last hour (bounded count).
ALTER TABLE retry_queue ADD INDEX IF NOT EXISTS ix_retry_created (created_at);
-- The health summary reads the failing handlers and the oldest unpublished
-- edit along these, not the whole handlers table.
ALTER TABLE handlers ADD INDEX IF NOT EXISTS ix_handlers_failing (last_status, status);
ALTER TABLE handlers ADD INDEX IF NOT EXISTS ix_handlers_updated (updated_at);

-- Send test of a script handler from the panel or the API (issue #16,
-- core/handler_test_queue.c). The web server never runs a script (it runs as
-- another user, one that can read the config): it queues the handler as it
-- stands in the form or the body, with the test payload, and prov-worker runs
-- it as the dispatcher's user, at most once (claimed FOR UPDATE SKIP LOCKED),
-- and stores the result the API's 200 answer would have had. No signing
-- columns: a script is never signed. At most HANDLER_TEST_QUEUE_MAX wait at a
-- time; one waiting longer than HANDLER_TEST_STALE_SECONDS is never run.
-- `prov-admin logs purge` (retention) removes rows a day old, whatever their
-- state; the execution itself stays in exec_logs (log_id).
CREATE TABLE IF NOT EXISTS handler_test_queue (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  state          ENUM('queued','running','done') NOT NULL DEFAULT 'queued',
  requested_by   VARCHAR(255) NOT NULL,
  created_at     DATETIME(6) NOT NULL,
  updated_at     DATETIME(6) NOT NULL,
  claimed_by     VARCHAR(96) NULL,
  handler_id     BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- 0: an unsaved handler
  handler_name   VARCHAR(255) NOT NULL,
  events_id      VARCHAR(64) CHARACTER SET ascii NOT NULL,
  task           VARCHAR(2048) NOT NULL,               -- the script, as validated
  timeout_ms     INT UNSIGNED NOT NULL,
  data           MEDIUMTEXT NOT NULL,                  -- the event data (JSON object)
  log_id         BIGINT UNSIGNED NULL,                 -- the test's exec_logs row
  error          VARCHAR(1024) NULL,                   -- done without a result: why
  result         MEDIUMTEXT NULL,                      -- done: the result object (JSON)
  KEY ix_test_state (state, id),
  KEY ix_test_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
