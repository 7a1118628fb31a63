/* logs: reading, searching and purging the Execution Log (exec_logs, SPEC 4.3
 * and 7). One validation path for the filters the panel and the API accept,
 * keyset paging newest first, and a bounded text search. Rows are written by
 * logstore, not here. */
#ifndef PROV_LOGS_H
#define PROV_LOGS_H

#include "db.h"

#include <stddef.h>

#define LOGS_TEXT_MAX 200       /* characters of search text */
#define LOGS_SEARCH_WINDOW 5000 /* rows a text search reads per request */
#define LOGS_PAGE_MAX 200       /* largest page a caller may ask for */
#define LOGS_DATETIME_LEN 26    /* "YYYY-MM-DD HH:MM:SS.ffffff" */

/* The raw request input: every field may be NULL or empty ("any"). */
struct logs_input {
	const char *handler; /* handler id */
	const char *event;   /* events_id */
	const char *status;  /* success / fail / waiting */
	const char *verdict; /* unchanged / modified / forbidden / failed */
	const char *text;    /* substring of the error or the response data */
	const char *from;    /* YYYY-MM-DD[ HH:MM[:SS]] UTC, inclusive */
	const char *to;      /* same, inclusive of the whole day / minute / second given */
	const char *before;  /* paging: rows older than this log id */
	const char *after;   /* paging: rows newer than this log id */
};

/* Which field a message is about, for placing it next to that field. */
enum logs_field {
	LOGS_F_HANDLER,
	LOGS_F_EVENT,
	LOGS_F_STATUS,
	LOGS_F_VERDICT,
	LOGS_F_TEXT,
	LOGS_F_FROM,
	LOGS_F_TO,
	LOGS_F_PAGE,
	LOGS_F__MAX
};

/* A validated query; strings are normalised and safe to echo back. */
struct logs_query {
	long long handler_id; /* 0: any */
	char events_id[65];   /* "": any */
	char status[8];       /* "": any; a verdict sets the status it implies */
	char verdict[16];     /* "": any */
	char text[LOGS_TEXT_MAX * 4 + 1];
	char like[LOGS_TEXT_MAX * 8 + 3]; /* text as a LIKE pattern, escaped with '!' */
	char from[LOGS_DATETIME_LEN + 1]; /* as typed (trimmed), for echoing */
	char to[LOGS_DATETIME_LEN + 1];
	char from_sql[LOGS_DATETIME_LEN + 1]; /* inclusive lower bound */
	char to_sql[LOGS_DATETIME_LEN + 1];   /* exclusive upper bound */
	long long before_id;
	long long after_id;
	char errors[LOGS_F__MAX][640]; /* "" when that field is fine */
	int nerrors;
};

/* Validate in into q. Returns 0, or the number of problems (messages in q->errors). */
int logs_query_parse(const struct logs_input *in, struct logs_query *q);

/* Columns of the rows logs_list returns, in order. */
enum logs_list_column {
	LCOL_ID,
	LCOL_DT, /* "YYYY-MM-DD HH:MM:SS" UTC */
	LCOL_STATUS,
	LCOL_EVENTS_ID,
	LCOL_HANDLER_ID,
	LCOL_HANDLER_NAME,
	LCOL_OBJECT_ID,
	LCOL_ERROR,    /* first characters only */
	LCOL_RESPONSE, /* first characters only */
	LCOL_DURATION_US,
	LCOL_ATTEMPT,
	LCOL_TRIGGER,
	LCOL_HTTP_STATUS,
	LCOL_EXIT_CODE,
	LCOL_VERDICT, /* NULL on rows logged before verdicts were stored */
	LCOL_FORBID_REASON,
	LCOL_BEHIND, /* per-object order: the execution a 'waiting' one waits for */
	LCOL__MAX
};

/* One page of results, newest first, and where the neighbouring pages start. */
struct logs_page {
	struct db_rows rows; /* LCOL_* columns, at most page_size rows */
	int cursor_missing;  /* the before/after row no longer exists: newest page shown */
	long long older_id;  /* link "older": before=older_id; 0 when there is none */
	long long newer_id;  /* link "newer": after=newer_id; 0 when this is the newest page */
	long long next_id;   /* going older: the row after the page's last, read to know there is one */
	/* Text search or a verdict filter: the window ended before a full page was found. */
	int window_ended;
	char window_dt[LOGS_DATETIME_LEN + 1]; /* the last row the search read */
};

/* One page for q. Returns 0, or -1 with db_error() set. Free with logs_page_free. */
int logs_list(struct db *db, const struct logs_query *q, size_t page_size, struct logs_page *page);
void logs_page_free(struct logs_page *page);

/* Columns of the row logs_get returns. */
enum logs_detail_column {
	DCOL_ID,
	DCOL_DT,
	DCOL_STATUS,
	DCOL_EVENTS_ID,
	DCOL_HANDLER_ID,
	DCOL_HANDLER_NAME,
	DCOL_OBJECT_ID,
	DCOL_EVENT_UID,
	DCOL_DELIVERY_ID,
	DCOL_ATTEMPT,
	DCOL_TRIGGER,
	DCOL_REDELIVERY_OF,
	DCOL_HTTP_STATUS,
	DCOL_EXIT_CODE,
	DCOL_DURATION_US,
	DCOL_REQUEST_BODY,
	DCOL_REQUEST_HEADERS,
	DCOL_RESPONSE_BODY,
	DCOL_RESPONSE_HEADERS,
	DCOL_RESPONSE_TRUNCATED,
	DCOL_SCRIPT_STDERR,
	DCOL_ERROR,
	DCOL_VERDICT,
	DCOL_FORBID_REASON,
	DCOL_SKIPPED_HANDLERS, /* "3,7": the handlers a forbid kept from running */
	DCOL_BEHIND,           /* per-object order: the execution a 'waiting' one waits for */
	DCOL__MAX
};

/* One execution. Returns 1 when found, 0 when not, -1 on error. */
int logs_get(struct db *db, long long id, struct db_rows *row);

/* The executions sharing one delivery id (attempts and retries), oldest first,
 * at most 50: columns id, dt, status, attempt, trigger_kind, http_status,
 * exit_code, duration_us, error. */
int logs_delivery_attempts(struct db *db, const char *delivery_id, struct db_rows *rows);

/* Handlers for the filter's select (archived included): id, name, status,
 * by name; LOGS_HANDLER_CHOICES_MAX + 1 rows at most: more rows than the
 * maximum means "too many for a select" (the filter takes an id instead).
 * Logs of deleted handlers stay reachable by id. */
#define LOGS_HANDLER_CHOICES_MAX 100
int logs_handler_choices(struct db *db, struct db_rows *rows);
/* The name of handler id: one row, or none when it is gone. */
int logs_handler_name(struct db *db, long long id, struct db_rows *rows);

/* Retention (SPEC 7): first the coming days' partitions are made
 * (logs_partitions_ahead) and the day partitions wholly older than days are
 * dropped, then the rest older than days is deleted, batch rows per short
 * statement, so dispatchers keep writing meanwhile. max_seconds > 0 stops
 * after that long (more_left tells). Each run is recorded in the services row
 * 'log_purge'. Returns 0, or -1 with a one-line reason in err. */
struct logs_purge_result {
	unsigned long long removed; /* rows deleted, plus InnoDB's estimate of the dropped days' rows */
	unsigned long partitions_dropped;
	unsigned long batches;
	int more_left;
	char cutoff[LOGS_DATETIME_LEN + 1];
};
int logs_purge(struct db *db, long days, long batch, double max_seconds, struct logs_purge_result *result,
               char *err, size_t errlen);

/* exec_logs' day partitions (logs_partitions.c): split the coming days (up
 * to today + 7, UTC) out of the catch-all pmax; nothing when they exist or
 * the table is not partitioned. Run by the purge; schema.sql does the same. */
int logs_partitions_ahead(struct db *db);
/* Day partitions back to today - days, split out of the first one (which
 * holds every older row; they are copied): for prov-loggen's past rows. */
int logs_partitions_back(struct db *db, long days);
/* Drop the day partitions whose every row is older than cutoff
 * ("YYYY-MM-DD HH:MM:SS[.ffffff]"). Sets how many, and InnoDB's estimate of
 * their rows. Returns 0 or -1 (db_error()). */
int logs_partitions_drop(struct db *db, const char *cutoff, unsigned long *dropped,
                         unsigned long long *rows_estimate);

/* The last purge as the services row records it: columns last_run_at,
 * last_result, last_detail (all may be NULL). */
int logs_purge_last(struct db *db, struct db_rows *row);

/* --- formatting shared by the panel and the API --- */

/* "850 µs", "12.4 ms", "1.25 s". */
void logs_format_duration(long long microseconds, char *buf, size_t buflen);

/* A one-line preview: whitespace runs become one space, cut at max_chars
 * characters (never inside a UTF-8 sequence) with "…" appended when cut. */
void logs_preview(const char *text, size_t max_chars, char *buf, size_t buflen);

/* JSON pretty-printed (2 spaces) when text is JSON, else NULL. Caller frees. */
char *logs_pretty_json(const char *text);

#endif
