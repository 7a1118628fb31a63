/* batchrun: prov-dispatch --batch with group commit (see batchrun.h). */
#include "batchrun.h"

#include "config.h"
#include "dispatch.h"
#include "db.h"
#include "dispatch_order.h"
#include "dispatcher.h"
#include "journal.h"
#include "logstore.h"
#include "monotonic.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "prov-dispatch"
#define READ_CHUNK 65536

/* ---------------------------------------------------------------- stdin
 * Read with read(2) into a buffer of our own, so that "is another line
 * waiting?" has an answer: bytes in the buffer, or fd 0 readable now. */
struct reader {
	char buf[READ_CHUNK];
	size_t at, end;
	int eof;
	int error; /* errno of a failed read */
};

static int reader_fill(struct reader *r)
{
	if (r->eof || r->error)
		return -1;
	for (;;) {
		ssize_t got = read(STDIN_FILENO, r->buf, sizeof r->buf);
		if (got > 0) {
			r->at = 0;
			r->end = (size_t)got;
			return 0;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r->error = errno;
		else
			r->eof = 1;
		return -1;
	}
}

static int reader_waiting(struct reader *r)
{
	if (r->at < r->end)
		return 1;
	if (r->eof || r->error)
		return 1; /* the end is there to be read: nothing to wait for */
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	return poll(&p, 1, 0) > 0;
}

/* One line into line (capacity cap, NUL-terminated, without the line end).
 * A longer line is consumed to its end and flagged. Returns the length, or
 * -1 at the end of input (or a read error: r->error). */
static long reader_line(struct reader *r, char *line, size_t cap, int *too_long, int *has_nul)
{
	size_t len = 0;
	int any = 0;
	*too_long = *has_nul = 0;
	for (;;) {
		if (r->at == r->end && reader_fill(r) != 0)
			break;
		char *start = r->buf + r->at;
		size_t avail = r->end - r->at;
		char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		any = 1;
		if (memchr(start, '\0', take) != NULL)
			*has_nul = 1;
		size_t room = cap - 1 - len;
		if (take > room)
			*too_long = 1;
		size_t copy = take < room ? take : room;
		memcpy(line + len, start, copy);
		len += copy;
		r->at += take + (nl ? 1 : 0);
		if (nl)
			break;
	}
	if (!any)
		return -1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return (long)len;
}

/* ---------------------------------------------------------------- output */

int batchrun_print_result(struct dispatcher *dp, json_t *result)
{
	if (json_dumpf(result, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, PROG ": the result could not be written: %s\n", strerror(errno));
		dp->output_failed = 1;
		return -1;
	}
	return 0;
}

/* The result line of a line that was not run. */
static int print_bad_line(struct dispatcher *dp, long line, const char *message)
{
	fprintf(stderr, PROG ": line %ld: %s\n", line, message);
	json_t *result = json_pack("{s:I,s:s}", "line", (json_int_t)line, "error", message);
	int rc = result != NULL ? batchrun_print_result(dp, result) : -1;
	json_decref(result);
	return rc;
}

/* ---------------------------------------------------------------- the group */

struct pending {
	long line;
	struct dispatch_event event;
	struct dispatch_outcome outcome;
	struct logstore_queue *queues;
	int failed; /* out of memory while running: no result line */
};

struct group {
	struct pending items[BATCHRUN_GROUP_EVENTS];
	size_t n;
	size_t bytes;       /* requests and replies held */
	long long first_us; /* when the first event was added (monotonic) */
	struct journal journal;
	struct spool_journal *spare; /* this group's journal file, emptied between uses */
	int bad, internal;           /* what the exit code will say */
	long seq;                    /* which filling of a group this is (1, 2, ...): the order book's tag */
};

static void group_journal_init(struct dispatcher *dp, struct group *g)
{
	journal_init(&g->journal, dp->cfg->spool_dir, (size_t)dp->cfg->response_max_bytes);
	g->journal.sync_begin = dp->cfg->journal_sync != 0;
	journal_reuse(&g->journal, g->spare); /* one file per group for the whole batch */
}

/* Log the group's executions in one transaction, or keep its journal for
 * prov-worker; sets *logged / *spooled. */
static void group_log(struct dispatcher *dp, struct group *g, int *logged, int *spooled)
{
	struct logstore_outcome list[BATCHRUN_GROUP_EVENTS];
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		if (!g->items[i].failed && g->items[i].outcome.nsteps > 0)
			list[n++] = (struct logstore_outcome){.event = &g->items[i].event,
			                                      .outcome = &g->items[i].outcome,
			                                      .queues = g->items[i].queues};
	*logged = 1;
	*spooled = 0;
	int ran_out = 0;
	for (size_t i = 0; i < g->n; i++)
		ran_out |= g->items[i].failed;
	char err[1024] = "";
	struct logstore_options opt;
	logstore_options_from_config(dp->cfg, &opt);
	if (n > 0 && dp->db != NULL && logstore_write_outcomes(dp->db, &opt, list, n, err, sizeof err) == 0) {
		if (g->journal.failed)
			fprintf(stderr,
			        PROG ": warning: the spool journal could not be written (%s): a crash "
			             "during a run could lose its log rows\n",
			        g->journal.error);
		if (!ran_out) {
			journal_discard(&g->journal);
			return;
		}
	} else if (n > 0) {
		*logged = 0;
	} else if (!ran_out) {
		journal_discard(&g->journal); /* no execution: nothing to keep */
		return;
	}
	/* Not logged, or an event ran out of memory mid-chain: what ran stays for
	 * prov-worker, whose import skips what this transaction did log. */
	const char *why = dp->db == NULL ? dp->db_err : err;
	if (journal_keep(&g->journal) == 0) {
		*spooled = 1;
		if (!*logged)
			fprintf(stderr,
			        PROG ": the execution log was not written: %s; kept in the spool (%s) for "
			             "prov-worker\n",
			        why, g->journal.file.path);
	} else if (!*logged) {
		fprintf(stderr, PROG ": the execution log was not written: %s; nor spooled: %s\n", why,
		        g->journal.error);
	}
}

/* Commit the group, then print its results in line order. Returns 0, or
 * DISPATCHER_SPOOL when an event's chain stopped for want of a journal. */
static int group_flush(struct dispatcher *dp, struct group *g)
{
	if (g->n == 0)
		return 0;
	int logged, spooled, rc = 0;
	group_log(dp, g, &logged, &spooled);
	for (size_t i = 0; i < g->n; i++) {
		struct pending *p = &g->items[i];
		if (p->failed) {
			g->internal = 1; /* said on stderr */
		} else if (!dp->output_failed && rc == 0) {
			int exit_code;
			int none = p->outcome.nsteps == 0; /* nothing to log: logged, as a single run says */
			json_t *result = dispatcher_result(dp, &g->journal, &p->event, &p->outcome, p->queues,
			                                   none ? 1 : logged, none ? 0 : spooled, &exit_code);
			if (exit_code == DISPATCHER_SPOOL)
				rc = DISPATCHER_SPOOL; /* said on stderr; no result line */
			else if (result == NULL ||
			         json_object_set_new(result, "line", json_integer(p->line)) != 0 ||
			         batchrun_print_result(dp, result) != 0)
				g->internal = 1;
			else if (exit_code == DISPATCHER_INTERNAL)
				g->internal = 1;
			json_decref(result);
		}
		dispatch_outcome_free(&p->outcome);
		free(p->queues);
		memset(p, 0, sizeof *p);
	}
	g->n = 0;
	g->bytes = 0;
	group_journal_init(dp, g);
	return rc;
}

/* ---------------------------------------------------------------- the writer
 * Two groups take turns: while the writer thread commits one and prints its
 * results, the main thread delivers the next events into the other. The
 * writer uses the dispatcher's connection; the main thread touches it (a
 * generation check) only while the writer is idle. One group at a time is
 * handed over, so results still come out in line order. */
struct writer {
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dispatcher *dp;
	struct group *job; /* the group being committed; NULL: idle */
	int quit;
	int rc;            /* DISPATCHER_SPOOL once a flush said so */
	int output_failed; /* a copy of dp->output_failed, read under the lock */
	int main_failed;   /* the main thread's own print failed (main thread only) */
	long done_seq;     /* the last group committed (or spooled), under the lock */
	long next_seq;     /* the main thread's: the seq the next active group gets */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->job == NULL && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->job == NULL)
			break;
		struct group *g = w->job;
		pthread_mutex_unlock(&w->lock);
		long seq = g->seq;
		int rc = group_flush(w->dp, g);
		pthread_mutex_lock(&w->lock);
		if (rc != 0)
			w->rc = rc;
		w->done_seq = seq;
		w->output_failed = w->dp->output_failed;
		w->job = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Wait until the writer is idle. Returns its rc (0 or DISPATCHER_SPOOL). */
static int writer_wait(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->job != NULL)
		pthread_cond_wait(&w->cond, &w->lock);
	int rc = w->rc;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Hand *active over to the writer (once it is idle) and make the other,
 * committed, group active. Returns the writer's rc. Without a writer thread
 * (it could not start) the group is committed here. */
static int writer_hand_over(struct writer *w, struct group **active, struct group *other)
{
	if ((*active)->n == 0)
		return writer_wait(w);
	if (!w->started) {
		long seq = (*active)->seq;
		int rc = group_flush(w->dp, *active);
		w->done_seq = seq;
		(*active)->seq = w->next_seq++;
		return rc;
	}
	int rc = writer_wait(w);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&w->lock);
	w->job = *active;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	*active = other;
	(*active)->seq = w->next_seq++;
	return 0;
}

/* The last group known to be committed (or spooled). */
static long writer_done(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	long seq = w->done_seq;
	pthread_mutex_unlock(&w->lock);
	return seq;
}

/* Everything delivered so far committed and printed. */
static int writer_sync(struct writer *w, struct group **active, struct group *groups)
{
	struct group *other = *active == &groups[0] ? &groups[1] : &groups[0];
	int rc = writer_hand_over(w, active, other);
	int waited = writer_wait(w);
	return rc != 0 ? rc : waited;
}

static size_t outcome_bytes(const struct dispatch_outcome *o)
{
	size_t bytes = 0;
	for (size_t i = 0; i < o->nsteps; i++)
		bytes += o->steps[i].request_len + o->steps[i].result.response_len;
	return bytes;
}

/* ---------------------------------------------------------------- the intake
 * The lines already waiting on stdin (up to ORDER_BOOK_OBJECTS of them,
 * about INTAKE_BYTES of text) are read and parsed together, and the order
 * book is loaded once for all of their objects: after they arrived, before
 * any of them runs (dispatch_order.h). A caller that sends one line and
 * waits for its result gets an intake of one. */
#define INTAKE_BYTES (1024L * 1024)

struct intake_item {
	long line;
	char *bad; /* why the line is not run (owned); NULL: event and data */
	struct dispatch_event event;
	json_t *data; /* owned until run */
};

struct intake {
	struct intake_item items[ORDER_BOOK_OBJECTS];
	size_t n, at;
	long next_line;
	int loaded; /* the book was loaded for these lines */
};

/* The order book's connection, the main thread's own (the writer's is
 * dp->db): opened when first needed, again at most once a second while the
 * database is away. */
struct order_reader {
	struct order_book book;
	struct db *db;
	long long tried_us;
	int warned; /* the outage was said once */
};

static void intake_parse(struct intake_item *item, const char *text, long len, int too_long, int has_nul)
{
	const char *bad = too_long   ? "the line is larger than payload_max_bytes"
	                  : has_nul  ? "the line contains a NUL byte"
	                  : len == 0 ? "the line is empty"
	                             : NULL;
	char err[1024];
	if (bad == NULL) {
		json_error_t jerr;
		json_t *envelope = json_loadb(text, (size_t)len, 0, &jerr);
		if (envelope == NULL)
			snprintf(err, sizeof err, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
		else if (dispatch_envelope_read(envelope, &item->event, &item->data, err, sizeof err) == 0)
			err[0] = '\0';
		json_decref(envelope);
		bad = err[0] ? err : NULL;
	}
	if (bad != NULL) {
		json_decref(item->data);
		item->data = NULL;
		item->bad = strdup(bad); /* NULL: out of memory, said when run */
	}
}

static void intake_drop(struct intake *in)
{
	for (; in->at < in->n; in->at++) {
		free(in->items[in->at].bad);
		json_decref(in->items[in->at].data);
	}
}

static int snapshot_ordered(const struct cache_snapshot *snap)
{
	for (size_t i = 0; i < snap->count; i++)
		if (snap->handlers[i].ordered)
			return 1;
	return 0;
}

/* Load the book for the intake's lines from `from` on (see intake). */
static void intake_load(struct dispatcher *dp, struct order_reader *o, struct intake *in, size_t from,
                        long committed)
{
	long long ids[ORDER_BOOK_OBJECTS];
	size_t k = 0;
	if (snapshot_ordered(&dp->snap))
		for (size_t i = from; i < in->n; i++)
			if (in->items[i].bad == NULL && in->items[i].event.has_object_id)
				ids[k++] = in->items[i].event.object_id;
	in->loaded = k > 0;
	char err[1024] = "";
	if (k > 0 && o->db == NULL && monotonic_us() - o->tried_us >= 1000000) {
		o->tried_us = monotonic_us();
		o->db = db_open(dp->cfg, err, sizeof err);
	}
	if (order_book_load(&o->book, o->db, ids, k, committed) == 0) {
		o->warned = 0;
		return;
	}
	if (!o->warned)
		fprintf(stderr,
		        PROG ": warning: per-object order: the retry queue cannot be read (%s): events are "
		             "delivered without waiting for queued deliveries of their objects\n",
		        o->db == NULL ? (err[0] ? err : "no connection") : db_error(o->db));
	o->warned = 1;
}

/* Read the lines waiting (at least one, unless at the end) and load the book
 * for them. Returns how many were read. */
static size_t intake_fill(struct dispatcher *dp, struct order_reader *o, struct intake *in, struct reader *r,
                          char *buf, size_t cap, long committed)
{
	in->n = in->at = 0;
	long bytes = 0;
	int too_long, has_nul;
	do {
		long len = reader_line(r, buf, cap, &too_long, &has_nul);
		if (len < 0)
			break;
		struct intake_item *item = &in->items[in->n++];
		memset(item, 0, sizeof *item);
		item->line = in->next_line++;
		intake_parse(item, buf, len, too_long, has_nul);
		bytes += len + 1;
	} while (in->n < ORDER_BOOK_OBJECTS && bytes < INTAKE_BYTES && reader_waiting(r));
	if (in->n > 0)
		intake_load(dp, o, in, 0, committed);
	return in->n;
}

/* Check and run one line of the intake into the group. Returns 0, or
 * DISPATCHER_SPOOL (the batch stops). */
static int run_item(struct dispatcher *dp, struct writer *w, struct group **active, struct group *groups,
                    struct order_reader *o, struct intake *in)
{
	struct intake_item *item = &in->items[in->at++];
	char err[1024], warning[1024];
	int rc;
	if (item->bad != NULL || item->data == NULL) {
		/* In line order: the results before it go first. */
		rc = writer_sync(w, active, groups);
		if (rc == 0 && !dp->output_failed &&
		    print_bad_line(dp, item->line, item->bad ? item->bad : "out of memory") != 0)
			(*active)->internal = w->main_failed = 1;
		(*active)->bad = 1;
		free(item->bad);
		return rc;
	}
	json_t *data = item->data;
	item->data = NULL;
	if (dispatcher_stale(dp)) {
		/* The pending outcomes point into the snapshot, and the writer uses
		 * the connection: both done before the snapshot changes. */
		rc = writer_sync(w, active, groups);
		if (rc != 0) {
			json_decref(data);
			return rc;
		}
		dp->checked_us = monotonic_us();
		if (cache_refresh(dp->cfg, dp->db, &dp->snap, err, sizeof err, warning, sizeof warning) < 0) {
			json_decref(data);
			char message[1200];
			snprintf(message, sizeof message, "no handler set to run: %s", err);
			if (print_bad_line(dp, item->line, message) != 0)
				w->main_failed = 1;
			(*active)->internal = 1;
			return 0;
		}
		dispatcher_warning(warning);
		if (!in->loaded) /* ordering may have been switched on: these lines too */
			intake_load(dp, o, in, in->at - 1, writer_done(w));
	}
	struct group *g = *active;
	struct pending *p = &g->items[g->n++];
	if (g->n == 1)
		g->first_us = monotonic_us();
	p->line = item->line;
	p->event = item->event;
	if (dispatcher_chain(dp, &g->journal, &o->book, &p->event, data, &p->outcome, &p->queues) != 0) {
		fprintf(stderr, PROG ": out of memory\n");
		p->failed = 1;
	}
	/* What this delivery queued or held is ahead of the object's next events
	 * for that handler until its group is committed. */
	for (size_t i = 0; !p->failed && i < p->outcome.nsteps; i++) {
		const struct logstore_queue *q = &p->queues[i];
		if ((q->action == LOGSTORE_QUEUE_WAIT ||
		     (q->action == LOGSTORE_QUEUE_ENQUEUE && q->ordered)) &&
		    order_book_add(&o->book, p->outcome.steps[i].handler->id, p->event.object_id, g->seq) !=
		        0) {
			fprintf(stderr, PROG ": out of memory\n");
			g->internal = 1;
		}
	}
	g->bytes += outcome_bytes(&p->outcome);
	if (p->outcome.stopped) {
		rc = writer_sync(w, active, groups); /* this event's result says why; the batch stops */
		return rc != 0 ? rc : DISPATCHER_SPOOL;
	}
	return 0;
}

static int group_due(const struct group *g, const struct intake *in, struct reader *r)
{
	return g->n > 0 && (g->n == BATCHRUN_GROUP_EVENTS || g->bytes >= (size_t)BATCHRUN_GROUP_BYTES ||
	                    monotonic_us() - g->first_us >= (long long)BATCHRUN_GROUP_MS * 1000 ||
	                    (in->at == in->n && !reader_waiting(r)));
}

int batchrun(struct dispatcher *dp)
{
	size_t cap = (size_t)dp->cfg->payload_max_bytes + 1;
	char *buf = malloc(cap);
	struct reader *r = calloc(1, sizeof *r);
	struct group *groups = calloc(2, sizeof *groups);
	struct spool_journal *second = calloc(1, sizeof *second);
	if (buf == NULL || r == NULL || groups == NULL || second == NULL) {
		free(buf);
		free(r);
		free(groups);
		free(second);
		fprintf(stderr, PROG ": out of memory\n");
		return DISPATCHER_INTERNAL;
	}
	second->fd = -1;
	groups[0].spare = &dp->spare;
	groups[1].spare = second;
	group_journal_init(dp, &groups[0]);
	group_journal_init(dp, &groups[1]);
	struct writer w = {.dp = dp};
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	w.started = pthread_create(&w.thread, NULL, writer_main, &w) == 0;
	struct group *active = &groups[0];
	active->seq = w.next_seq++;
	struct intake *in = calloc(1, sizeof *in);
	struct order_reader order = {0};
	int rc = in == NULL ? DISPATCHER_INTERNAL : 0;
	if (in != NULL)
		in->next_line = 1;
	while (rc == 0) {
		if (group_due(active, in, r) &&
		    (rc = writer_hand_over(&w, &active, active == &groups[0] ? &groups[1] : &groups[0])) != 0)
			break;
		pthread_mutex_lock(&w.lock);
		int stop = w.output_failed || w.main_failed || (!w.started && dp->output_failed);
		pthread_mutex_unlock(&w.lock);
		if (stop ||
		    (in->at == in->n && intake_fill(dp, &order, in, r, buf, cap, writer_done(&w)) == 0))
			break;
		rc = run_item(dp, &w, &active, groups, &order, in);
	}
	if (in != NULL)
		intake_drop(in);
	else
		fprintf(stderr, PROG ": out of memory\n");
	free(in);
	order_book_free(&order.book);
	db_close(order.db);
	int synced = writer_sync(&w, &active, groups);
	if (rc == 0)
		rc = synced;
	if (w.started) {
		pthread_mutex_lock(&w.lock);
		w.quit = 1;
		pthread_cond_broadcast(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(w.thread, NULL);
	}
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
	if (r->error) {
		fprintf(stderr, PROG ": cannot read the envelopes from stdin: %s\n", strerror(r->error));
		active->internal = 1;
	}
	int internal = groups[0].internal || groups[1].internal, bad_lines = groups[0].bad || groups[1].bad;
	int exit_code = rc != 0     ? rc
	                : internal  ? DISPATCHER_INTERNAL
	                : bad_lines ? DISPATCHER_BAD_INPUT
	                            : DISPATCHER_ALLOWED;
	journal_discard(&groups[0].journal);
	journal_discard(&groups[1].journal);
	spool_journal_discard(second); /* the first spare is the dispatcher's (dispatcher_close) */
	free(buf);
	free(r);
	free(groups);
	free(second);
	return exit_code;
}
