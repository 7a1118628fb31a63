/* dispatch_order: which of an event's ordered handlers are behind a queued
 * delivery of the same object (see dispatch_order.h). */
#include "dispatch_order.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The object's rows still ahead for these handlers, newest first (the first
 * of each handler is its chain's tail): one short range of ix_retry_chain
 * (object_id, handler_id, state), usually empty. */
static const char SQL_AHEAD[] =
    "SELECT handler_id, log_id FROM retry_queue WHERE object_id = ? AND FIND_IN_SET(handler_id, ?) "
    "AND state IN ('scheduled', 'waiting', 'blocked') ORDER BY id DESC";

size_t dispatch_order_check(struct db *db, const struct dispatch_event *event,
                            const struct cache_handler *chain, size_t n, long long *behind)
{
	size_t ordered = 0;
	for (size_t i = 0; i < n; i++) {
		behind[i] = 0;
		ordered += chain[i].ordered != 0;
	}
	if (!event->has_object_id || ordered == 0)
		return 0;
	char *ids = malloc(ordered * 21 + 1);
	struct db_rows rows;
	int failed = ids == NULL;
	if (!failed) {
		size_t len = 0;
		ids[0] = '\0';
		for (size_t i = 0; i < n; i++)
			if (chain[i].ordered)
				len += (size_t)snprintf(ids + len, 22, "%s%lld", len ? "," : "", chain[i].id);
		struct db_param p[] = {DB_INT(event->object_id), DB_STR(ids)};
		failed = db == NULL || db_query(db, SQL_AHEAD, p, 2, &rows) != 0;
	}
	free(ids);
	size_t held = 0;
	for (size_t i = 0; i < n; i++) {
		if (!chain[i].ordered)
			continue;
		for (size_t r = 0; !failed && r < rows.nrows && behind[i] == 0; r++)
			if (db_cell_int(&rows, r, 0, 0) == chain[i].id) {
				long long log_id = db_cell_int(&rows, r, 1, 0);
				behind[i] = log_id > 0 ? log_id : DISPATCH_ORDER_UNKNOWN;
			}
		held += behind[i] != 0;
	}
	if (!failed)
		db_rows_free(&rows);
	return held;
}

/* ---------------------------------------------------------------- the book */

/* The rows ahead of up to ORDER_BOOK_OBJECTS objects, for every handler (a
 * batch's snapshot may change between the read and the run): one range of
 * ix_retry_chain (object_id, handler_id, state) per object. The list has a
 * fixed length (the last id repeated), so that one prepared statement serves;
 * a single object has its own. */
static const char SQL_AHEAD_HEAD[] =
    "SELECT handler_id, object_id, log_id FROM retry_queue WHERE object_id IN (";
static const char SQL_AHEAD_TAIL[] = ") AND state IN ('scheduled', 'waiting', 'blocked') ORDER BY id DESC";

static const char *ahead_sql(size_t slots)
{
	static char one[sizeof SQL_AHEAD_HEAD + sizeof SQL_AHEAD_TAIL + 2];
	static char many[sizeof SQL_AHEAD_HEAD + sizeof SQL_AHEAD_TAIL + 2 * ORDER_BOOK_OBJECTS];
	char *sql = slots == 1 ? one : many;
	if (sql[0] == '\0') {
		size_t at = (size_t)sprintf(sql, "%s", SQL_AHEAD_HEAD);
		for (size_t i = 0; i < slots; i++)
			at += (size_t)sprintf(sql + at, i ? ",?" : "?");
		sprintf(sql + at, "%s", SQL_AHEAD_TAIL);
	}
	return sql;
}

static int book_push(struct order_book *book, struct order_pair pair)
{
	if (book->n == book->cap) {
		size_t cap = book->cap ? book->cap * 2 : 64;
		struct order_pair *grown = realloc(book->pairs, cap * sizeof *grown);
		if (grown == NULL)
			return -1;
		book->pairs = grown;
		book->cap = cap;
	}
	book->pairs[book->n++] = pair;
	return 0;
}

int order_book_add(struct order_book *book, long long handler_id, long long object_id, long group)
{
	return book_push(book, (struct order_pair){.handler_id = handler_id,
	                                           .object_id = object_id,
	                                           .behind = DISPATCH_ORDER_UNKNOWN,
	                                           .group = group});
}

/* Drop the loaded pairs (drop_loaded) and the pairs of the groups up to
 * committed, keeping the order of the rest. */
static void book_filter(struct order_book *book, long committed, int drop_loaded)
{
	size_t kept = 0;
	for (size_t i = 0; i < book->n; i++) {
		const struct order_pair *p = &book->pairs[i];
		int loaded = p->group == ORDER_BOOK_LOADED;
		if (loaded ? !drop_loaded : p->group > committed)
			book->pairs[kept++] = *p;
	}
	book->n = kept;
}

int order_book_load(struct order_book *book, struct db *db, const long long *object_ids, size_t n,
                    long committed)
{
	if (n == 0) {
		book_filter(book, committed, 1); /* the book answers for the lines read since */
		return 0;
	}
	if (n > ORDER_BOOK_OBJECTS)
		n = ORDER_BOOK_OBJECTS; /* the caller's bound; never more */
	size_t slots = n == 1 ? 1 : ORDER_BOOK_OBJECTS;
	struct db_param p[ORDER_BOOK_OBJECTS];
	for (size_t i = 0; i < slots; i++)
		p[i] = (struct db_param)DB_INT(object_ids[i < n ? i : n - 1]);
	struct db_rows rows;
	int failed = db == NULL || db_query(db, ahead_sql(slots), p, slots, &rows) != 0;
	if (failed) {
		book_filter(book, -1, 1); /* no group is known to be in the queue */
		return -1;
	}
	/* The book becomes the rows read, oldest first, then the pairs of the
	 * groups not known to be committed, oldest first: a search from the end
	 * meets the newest first. */
	book_filter(book, committed, 1);
	size_t groups = book->n;
	struct order_pair *kept = groups ? malloc(groups * sizeof *kept) : NULL;
	int rc = groups && kept == NULL ? -1 : 0;
	if (rc == 0 && groups)
		memcpy(kept, book->pairs, groups * sizeof *kept);
	if (rc == 0)
		book->n = 0;
	for (size_t r = rows.nrows; rc == 0 && r-- > 0;) {
		long long log_id = db_cell_int(&rows, r, 2, 0);
		rc = book_push(book,
		               (struct order_pair){.handler_id = db_cell_int(&rows, r, 0, 0),
		                                   .object_id = db_cell_int(&rows, r, 1, 0),
		                                   .behind = log_id > 0 ? log_id : DISPATCH_ORDER_UNKNOWN,
		                                   .group = ORDER_BOOK_LOADED});
	}
	for (size_t i = 0; rc == 0 && i < groups; i++)
		rc = book_push(book, kept[i]);
	db_rows_free(&rows);
	free(kept);
	return rc;
}

void order_book_free(struct order_book *book)
{
	free(book->pairs);
	memset(book, 0, sizeof *book);
}

size_t dispatch_order_check_book(const struct order_book *book, const struct dispatch_event *event,
                                 const struct cache_handler *chain, size_t n, long long *behind)
{
	size_t held = 0;
	for (size_t i = 0; i < n; i++) {
		behind[i] = 0;
		if (!chain[i].ordered || !event->has_object_id)
			continue;
		/* From the end, the newest first: order_book_load puts the rows
		 * read oldest first and the groups' pairs (newer than any row
		 * read) after them; order_book_add appends. */
		for (size_t k = book->n; k-- > 0 && behind[i] == 0;) {
			const struct order_pair *p = &book->pairs[k];
			if (p->handler_id == chain[i].id && p->object_id == event->object_id)
				behind[i] = p->behind;
		}
		held += behind[i] != 0;
	}
	return held;
}
