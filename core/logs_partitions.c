/* logs_partitions: the day partitions of exec_logs (schema.sql, issue #15).
 * pYYYYMMDD holds one UTC day (the first one also every older row), pmax
 * every later row, so an insert never lacks a partition. The coming days are
 * split out of pmax ahead of time; the purge drops the days wholly past its
 * cutoff, a metadata change instead of a DELETE per row. */
#include "logs.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same statements as the "coming days" part of schema.sql's exec_logs
 * block: pmax split into the days after the newest day partition up to
 * today + LOGS_PARTITION_DAYS_AHEAD (nothing when there are enough, or when
 * the table is not partitioned). */
static const char SQL_AHEAD[] =
    "SET @prov_part_last = (SELECT IF(SUM(PARTITION_NAME = 'pmax') = 0, NULL, "
    "COALESCE(MAX(STR_TO_DATE(SUBSTRING(PARTITION_NAME, 2), '%Y%m%d')), UTC_DATE() - INTERVAL 1 DAY)) "
    "FROM information_schema.PARTITIONS "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs' "
    "AND (PARTITION_NAME = 'pmax' OR PARTITION_NAME REGEXP '^p[0-9]{8}$'));\n"
    "SET @prov_part_sql = IF(@prov_part_last IS NULL OR @prov_part_last >= UTC_DATE() + INTERVAL 7 DAY, "
    "'DO 0', (WITH RECURSIVE d (day) AS (SELECT @prov_part_last + INTERVAL 1 DAY "
    "UNION ALL SELECT day + INTERVAL 1 DAY FROM d WHERE day < UTC_DATE() + INTERVAL 7 DAY) "
    "SELECT CONCAT('ALTER TABLE exec_logs REORGANIZE PARTITION pmax INTO (', "
    "GROUP_CONCAT('PARTITION p', DATE_FORMAT(day, '%Y%m%d'), ' VALUES LESS THAN (''', "
    "DATE_FORMAT(day + INTERVAL 1 DAY, '%Y-%m-%d'), ''')' ORDER BY day SEPARATOR ', '), "
    "', PARTITION pmax VALUES LESS THAN (MAXVALUE))') FROM d));\n"
    "EXECUTE IMMEDIATE @prov_part_sql";

/* The day partitions whose every row is older than the cutoff, oldest first,
 * with InnoDB's estimate of their rows. */
static const char SQL_EXPIRED[] =
    "SELECT PARTITION_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.PARTITIONS "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs' AND PARTITION_NAME REGEXP '^p[0-9]{8}$' "
    "AND STR_TO_DATE(SUBSTRING(PARTITION_NAME, 2), '%Y%m%d') + INTERVAL 1 DAY <= ? "
    "ORDER BY PARTITION_ORDINAL_POSITION";

/* A DROP PARTITION waits for the transactions using exec_logs and holds up
 * the next ones meanwhile: it gives up after this long (the rows are then
 * deleted row by row) rather than stall the dispatchers. */
static const char SQL_SHORT_WAIT[] = "SET SESSION lock_wait_timeout = 5";
static const char SQL_LONG_WAIT[] = "SET SESSION lock_wait_timeout = DEFAULT";

#define DROP_SQL_HEAD "ALTER TABLE exec_logs DROP PARTITION "
#define PARTITION_NAME_LEN 9 /* pYYYYMMDD */

int logs_partitions_ahead(struct db *db)
{
	if (db_exec(db, SQL_SHORT_WAIT, NULL, 0, NULL, NULL) != 0)
		return -1;
	int rc = db_exec_script(db, SQL_AHEAD, sizeof SQL_AHEAD - 1, NULL);
	if (db_exec(db, SQL_LONG_WAIT, NULL, 0, NULL, NULL) != 0)
		rc = -1;
	return rc;
}

/* The days from UTC_DATE() - %ld DAY up to the first day partition, split
 * out of that partition (which holds every older row): its rows are copied
 * into the new days, so this is for a log being filled with the past
 * (prov-loggen), not for a busy one. */
static const char SQL_BACK[] =
    "SET @prov_part_first = (SELECT MIN(STR_TO_DATE(SUBSTRING(PARTITION_NAME, 2), '%%Y%%m%%d')) "
    "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'exec_logs' "
    "AND PARTITION_NAME REGEXP '^p[0-9]{8}$');\n"
    "SET @prov_part_from = UTC_DATE() - INTERVAL %ld DAY;\n"
    "SET @prov_part_sql = IF(@prov_part_first IS NULL OR @prov_part_first <= @prov_part_from, 'DO 0', "
    "(WITH RECURSIVE d (day) AS (SELECT @prov_part_from UNION ALL SELECT day + INTERVAL 1 DAY FROM d "
    "WHERE day + INTERVAL 1 DAY < @prov_part_first) "
    "SELECT CONCAT('ALTER TABLE exec_logs REORGANIZE PARTITION p', DATE_FORMAT(@prov_part_first, "
    "'%%Y%%m%%d'), "
    "' INTO (', GROUP_CONCAT('PARTITION p', DATE_FORMAT(day, '%%Y%%m%%d'), ' VALUES LESS THAN (''', "
    "DATE_FORMAT(day + INTERVAL 1 DAY, '%%Y-%%m-%%d'), ''')' ORDER BY day SEPARATOR ', '), "
    "', PARTITION p', DATE_FORMAT(@prov_part_first, '%%Y%%m%%d'), ' VALUES LESS THAN (''', "
    "DATE_FORMAT(@prov_part_first + INTERVAL 1 DAY, '%%Y-%%m-%%d'), '''))') FROM d));\n"
    "EXECUTE IMMEDIATE @prov_part_sql";

int logs_partitions_back(struct db *db, long days)
{
	char sql[sizeof SQL_BACK + 64];
	int len = snprintf(sql, sizeof sql, SQL_BACK, days);
	if (days < 0 || len < 0 || (size_t)len >= sizeof sql)
		return -1;
	return db_exec_script(db, sql, (size_t)len, NULL);
}

int logs_partitions_drop(struct db *db, const char *cutoff, unsigned long *dropped,
                         unsigned long long *rows_estimate)
{
	*dropped = 0;
	*rows_estimate = 0;
	struct db_rows rows;
	struct db_param params[] = {DB_STR(cutoff)};
	if (db_query(db, SQL_EXPIRED, params, 1, &rows) != 0)
		return -1;
	int rc = rows.nrows > 0 ? db_exec(db, SQL_SHORT_WAIT, NULL, 0, NULL, NULL) : 0;
	/* One partition per statement: the dispatchers' inserts wait for one
	 * drop at a time, not for all of them (the first purge of a long log
	 * drops many). */
	for (size_t i = 0; rc == 0 && i < rows.nrows; i++) {
		char sql[sizeof DROP_SQL_HEAD + PARTITION_NAME_LEN + 1];
		const char *name = db_cell(&rows, i, 0); /* pYYYYMMDD: the REGEXP admits no other */
		int len =
		    snprintf(sql, sizeof sql, "%s%.*s", DROP_SQL_HEAD, PARTITION_NAME_LEN, name ? name : "");
		/* Not db_exec: its statement cache knows a text by its address. */
		rc = len > 0 ? db_exec_script(db, sql, (size_t)len, NULL) : -1;
		if (rc == 0) {
			(*dropped)++;
			*rows_estimate += (unsigned long long)db_cell_int(&rows, i, 1, 0);
		}
	}
	if (rows.nrows > 0 && db_exec(db, SQL_LONG_WAIT, NULL, 0, NULL, NULL) != 0)
		rc = -1;
	db_rows_free(&rows);
	return rc;
}
