/* logs: the Execution Log's read queries. Order is newest first by (dt, id);
 * links carry only an id, whose dt is looked up, so paging is keyset paging
 * with no OFFSET. Each combination of the handler / event / status filters
 * has its own index ending in dt (schema.sql) and its own statement naming
 * that index, so no filter combination can fall back to a table scan. A text
 * search reads at most LOGS_SEARCH_WINDOW rows per request. */
#include "logs.h"

#include "db.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_COLUMNS                                                                                         \
	"SELECT id, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s'), status, events_id, handler_id, "                   \
	"handler_name, object_id, LEFT(error, 160), LEFT(response_body, 160), duration_us, "                 \
	"attempt, trigger_kind, http_status, exit_code, verdict, LEFT(forbid_reason, 160), behind_log_id "   \
	"FROM exec_logs FORCE INDEX ("
#define EDGE_COLUMNS "SELECT id, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f') FROM exec_logs FORCE INDEX ("

/* Parameters after the filter ones: date from, date to, the cursor (dt, dt, id),
 * the search window's far edge (dt, dt, id), the text (text, like, like), limit. */
#define DATE_RANGE "dt >= ? AND dt < ? AND "
/* A verdict rides the status index its status implies (logs_filter.c). */
#define TEXT_MATCH                                                                                           \
	"(? = '' OR verdict = ?) AND (? = '' OR error LIKE ? ESCAPE '!' OR response_body LIKE ? ESCAPE "     \
	"'!') "
#define LIST_OLDER                                                                                           \
	DATE_RANGE "(dt < ? OR (dt = ? AND id < ?)) AND (dt > ? OR (dt = ? AND id >= ?)) AND " TEXT_MATCH    \
	           "ORDER BY dt DESC, id DESC LIMIT ?"
#define LIST_NEWER                                                                                           \
	DATE_RANGE "(dt > ? OR (dt = ? AND id > ?)) AND (dt < ? OR (dt = ? AND id <= ?)) AND " TEXT_MATCH    \
	           "ORDER BY dt, id LIMIT ?"
/* Parameters: date from, date to, the cursor (dt, dt, id), offset. */
#define EDGE_OLDER DATE_RANGE "(dt < ? OR (dt = ? AND id < ?)) ORDER BY dt DESC, id DESC LIMIT 1 OFFSET ?"
#define EDGE_NEWER DATE_RANGE "(dt > ? OR (dt = ? AND id > ?)) ORDER BY dt, id LIMIT 1 OFFSET ?"

enum { DIR_OLDER, DIR_NEWER };

struct logs_statements {
	const char *list[2]; /* DIR_OLDER, DIR_NEWER */
	const char *edge[2];
};

#define STATEMENTS(index, where)                                                                             \
	{                                                                                                    \
		{LIST_COLUMNS index ") WHERE " where LIST_OLDER,                                             \
		 LIST_COLUMNS index ") WHERE " where LIST_NEWER},                                            \
		    {EDGE_COLUMNS index ") WHERE " where EDGE_OLDER,                                         \
		     EDGE_COLUMNS index ") WHERE " where EDGE_NEWER},                                        \
	}

#define HANDLER_EQ "handler_id = ? AND "
#define EVENT_EQ "events_id = ? AND "
#define STATUS_EQ "status = ? AND "

/* Indexed by the filters in use: bit 0 handler, bit 1 event, bit 2 status. */
static const struct logs_statements statements[8] = {
    STATEMENTS("ix_logs_dt", ""),
    STATEMENTS("ix_logs_handler", HANDLER_EQ),
    STATEMENTS("ix_logs_event", EVENT_EQ),
    STATEMENTS("ix_logs_handler_event", HANDLER_EQ EVENT_EQ),
    STATEMENTS("ix_logs_status", STATUS_EQ),
    STATEMENTS("ix_logs_handler_status", HANDLER_EQ STATUS_EQ),
    STATEMENTS("ix_logs_event_status", EVENT_EQ STATUS_EQ),
    STATEMENTS("ix_logs_handler_event_status", HANDLER_EQ EVENT_EQ STATUS_EQ),
};

static const char SQL_CURSOR_DT[] =
    "SELECT DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f') FROM exec_logs WHERE id = ?";

#define DT_MIN "1000-01-01 00:00:00.000000"
#define DT_MAX "9999-12-31 23:59:59.999999"
#define ID_MAX 9223372036854775807LL

/* A position in the (dt, id) order. */
struct position {
	char dt[LOGS_DATETIME_LEN + 1];
	long long id;
};

#define MAX_PARAMS 18

struct params {
	struct db_param v[MAX_PARAMS];
	size_t n;
};

static void add(struct params *p, struct db_param value)
{
	if (p->n < MAX_PARAMS)
		p->v[p->n++] = value;
}

/* The equality filters in statement order; returns the statement index. */
static unsigned add_filters(const struct logs_query *q, struct params *p)
{
	unsigned mask = 0;
	if (q->handler_id > 0) {
		add(p, DB_INT(q->handler_id));
		mask |= 1;
	}
	if (q->events_id[0]) {
		add(p, DB_STR(q->events_id));
		mask |= 2;
	}
	if (q->status[0]) {
		add(p, DB_STR(q->status));
		mask |= 4;
	}
	add(p, DB_STR(q->from_sql[0] ? q->from_sql : DT_MIN));
	add(p, DB_STR(q->to_sql[0] ? q->to_sql : DT_MAX));
	return mask;
}

static void add_position(struct params *p, const struct position *at)
{
	add(p, DB_STR(at->dt));
	add(p, DB_STR(at->dt));
	add(p, DB_INT(at->id));
}

/* 1 and *at filled when the log row exists, 0 when not, -1 on error. */
static int cursor_position(struct db *db, long long id, struct position *at)
{
	struct db_rows rows;
	struct db_param params[] = {DB_INT(id)};
	if (db_query(db, SQL_CURSOR_DT, params, 1, &rows) != 0)
		return -1;
	int found = rows.nrows == 1 && db_cell(&rows, 0, 0) != NULL;
	if (found) {
		snprintf(at->dt, sizeof at->dt, "%s", db_cell(&rows, 0, 0));
		at->id = id;
	}
	db_rows_free(&rows);
	return found;
}

/* The far edge of the text search window: the LOGS_SEARCH_WINDOW-th row from
 * the cursor in direction dir. 1 when the window ends there, 0 when the rows
 * run out before it, -1 on error. An index-only scan. */
static int search_edge(struct db *db, const struct logs_query *q, int dir, const struct position *from,
                       struct position *edge)
{
	struct params p = {0};
	unsigned mask = add_filters(q, &p);
	add_position(&p, from);
	add(&p, DB_INT(LOGS_SEARCH_WINDOW - 1));
	struct db_rows rows;
	if (db_query(db, statements[mask].edge[dir], p.v, p.n, &rows) != 0)
		return -1;
	int found = rows.nrows == 1;
	if (found) {
		edge->id = db_cell_int(&rows, 0, 0, 0);
		snprintf(edge->dt, sizeof edge->dt, "%s",
		         db_cell(&rows, 0, 1) ? db_cell(&rows, 0, 1) : DT_MIN);
	}
	db_rows_free(&rows);
	return found;
}

/* Rows from `from` in direction dir, at most limit, within the search window
 * (edge NULL: unbounded). */
static int fetch(struct db *db, const struct logs_query *q, int dir, const struct position *from,
                 const struct position *edge, size_t limit, struct db_rows *rows)
{
	static const struct position unbounded[2] = {{DT_MIN, 0}, {DT_MAX, ID_MAX}};
	struct params p = {0};
	unsigned mask = add_filters(q, &p);
	add_position(&p, from);
	add_position(&p, edge ? edge : &unbounded[dir]);
	add(&p, DB_STR(q->verdict));
	add(&p, DB_STR(q->verdict));
	add(&p, DB_STR(q->text));
	add(&p, DB_STR(q->like));
	add(&p, DB_STR(q->like));
	add(&p, DB_INT(limit));
	return db_query(db, statements[mask].list[dir], p.v, p.n, rows);
}

/* Reverse the rows in place (NEWER reads oldest first; pages show newest first). */
static void reverse_rows(struct db_rows *rows)
{
	size_t cols = rows->ncols;
	for (size_t a = 0, b = rows->nrows ? rows->nrows - 1 : 0; a < b; a++, b--)
		for (size_t c = 0; c < cols; c++) {
			char *tmp = rows->cells[a * cols + c];
			rows->cells[a * cols + c] = rows->cells[b * cols + c];
			rows->cells[b * cols + c] = tmp;
		}
}

/* Drop rows past keep (the extra row that only told whether more exist). */
static void keep_rows(struct db_rows *rows, size_t keep)
{
	if (rows->nrows <= keep)
		return;
	for (size_t i = keep * rows->ncols; i < rows->nrows * rows->ncols; i++) {
		free(rows->cells[i]);
		rows->cells[i] = NULL;
	}
	rows->nrows = keep;
}

static long long row_id(const struct db_rows *rows, size_t row)
{
	return db_cell_int(rows, row, LCOL_ID, 0);
}

/* One page in direction dir from `from`; fills page except the fallback case
 * (NEWER ran out of rows), reported by returning 1. */
static int read_page(struct db *db, const struct logs_query *q, int dir, const struct position *from,
                     int have_cursor, size_t n, struct logs_page *page)
{
	struct position edge;
	int windowed = 0;
	/* A verdict other than failed (which is status fail, exact) is checked
	 * row by row along the status index: bounded like a text search. */
	if (q->text[0] || (q->verdict[0] && strcmp(q->verdict, "failed") != 0)) {
		windowed = search_edge(db, q, dir, from, &edge);
		if (windowed < 0)
			return -1;
	}
	if (fetch(db, q, dir, from, windowed ? &edge : NULL, n + 1, &page->rows) != 0)
		return -1;
	int more = page->rows.nrows > n;
	if (more && dir == DIR_OLDER)
		page->next_id = row_id(&page->rows, n);
	keep_rows(&page->rows, n);
	size_t shown = page->rows.nrows;
	if (dir == DIR_NEWER) {
		if (!more && !windowed) {
			db_rows_free(&page->rows);
			return 1; /* reached the newest rows: show the newest page instead */
		}
		reverse_rows(&page->rows);
		page->newer_id = more ? row_id(&page->rows, 0) : edge.id;
		page->older_id = shown ? row_id(&page->rows, shown - 1) : from->id;
	} else {
		page->older_id = more ? row_id(&page->rows, shown - 1) : windowed ? edge.id : 0;
		page->newer_id = !have_cursor ? 0 : shown ? row_id(&page->rows, 0) : 0;
	}
	if (windowed && !more) {
		page->window_ended = 1;
		snprintf(page->window_dt, sizeof page->window_dt, "%.19s", edge.dt);
	}
	return 0;
}

static size_t page_size_clamp(size_t page_size)
{
	return page_size < 1 ? 1 : page_size > LOGS_PAGE_MAX ? LOGS_PAGE_MAX : page_size;
}

int logs_list(struct db *db, const struct logs_query *q, size_t page_size, struct logs_page *page)
{
	memset(page, 0, sizeof *page);
	page_size = page_size_clamp(page_size);
	static const struct position newest = {DT_MAX, ID_MAX};
	struct position from = newest;
	int dir = q->after_id > 0 ? DIR_NEWER : DIR_OLDER;
	long long cursor = q->after_id > 0 ? q->after_id : q->before_id;
	int have_cursor = 0;
	if (cursor > 0) {
		int found = cursor_position(db, cursor, &from);
		if (found < 0)
			return -1;
		if (found)
			have_cursor = 1;
		else
			page->cursor_missing = 1;
	}
	if (!have_cursor) {
		dir = DIR_OLDER;
		from = newest;
	}
	int rc = read_page(db, q, dir, &from, have_cursor, page_size, page);
	if (rc == 1) {
		memset(page, 0, sizeof *page);
		rc = read_page(db, q, DIR_OLDER, &newest, 0, page_size, page);
	}
	if (rc != 0)
		db_rows_free(&page->rows);
	return rc == 0 ? 0 : -1;
}

void logs_page_free(struct logs_page *page)
{
	db_rows_free(&page->rows);
}

static const char SQL_LOG_GET[] =
    "SELECT id, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s.%f'), status, events_id, handler_id, "
    "handler_name, object_id, event_uid, delivery_id, attempt, trigger_kind, redelivery_of, "
    "http_status, exit_code, duration_us, request_body, request_headers, response_body, "
    "response_headers, response_truncated, script_stderr, error, verdict, forbid_reason, "
    "skipped_handlers, behind_log_id FROM exec_logs WHERE id = ?";

int logs_get(struct db *db, long long id, struct db_rows *row)
{
	struct db_param params[] = {DB_INT(id)};
	if (db_query(db, SQL_LOG_GET, params, 1, row) != 0)
		return -1;
	return row->nrows == 1;
}

static const char SQL_LOG_ATTEMPTS[] =
    "SELECT id, DATE_FORMAT(dt, '%Y-%m-%d %H:%i:%s'), status, attempt, trigger_kind, http_status, "
    "exit_code, duration_us, LEFT(error, 160) "
    "FROM exec_logs FORCE INDEX (ix_logs_delivery) WHERE delivery_id = ? ORDER BY dt, id LIMIT 50";

int logs_delivery_attempts(struct db *db, const char *delivery_id, struct db_rows *rows)
{
	struct db_param params[] = {DB_STR(delivery_id)};
	return db_query(db, SQL_LOG_ATTEMPTS, params, 1, rows);
}

/* Read along ix_handlers_name: LOGS_HANDLER_CHOICES_MAX + 1 index entries at
 * most, whatever the number of handlers. */
static const char SQL_HANDLER_CHOICES[] = "SELECT id, name, status FROM handlers FORCE INDEX "
                                          "(ix_handlers_name) ORDER BY name, priority, id LIMIT ?";
static const char SQL_HANDLER_NAME[] = "SELECT name FROM handlers WHERE id = ?";

int logs_handler_choices(struct db *db, struct db_rows *rows)
{
	struct db_param limit = DB_INT(LOGS_HANDLER_CHOICES_MAX + 1);
	return db_query(db, SQL_HANDLER_CHOICES, &limit, 1, rows);
}

int logs_handler_name(struct db *db, long long id, struct db_rows *rows)
{
	struct db_param param = DB_INT(id);
	return db_query(db, SQL_HANDLER_NAME, &param, 1, rows);
}
