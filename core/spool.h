/* spool: a local, durable, append-only file of records for when MariaDB is
 * unreachable (SPEC section 7). Writers append whole records under an
 * exclusive lock and fsync; the importer swaps the file out under the same lock
 * and reads it back. A record torn by a crash is detected (length and CRC-32)
 * and reported, never fatal. Record payloads are opaque text (JSON lines). */
#ifndef PROV_SPOOL_H
#define PROV_SPOOL_H

#include <stddef.h>

#define SPOOL_FILE "spool.log"
#define SPOOL_RECORD_MAX (64L * 1024 * 1024)

/* Append one record to dir/spool.log, durable when it returns 0. -1 with
 * a one-line reason in err otherwise. */
int spool_append(const char *dir, const char *payload, size_t len, char *err, size_t errlen);

/* Called for every intact record; a non-zero return stops the read. */
typedef int (*spool_record_fn)(void *ctx, const char *payload, size_t len);

struct spool_read_result {
	size_t records;        /* intact records delivered to the callback */
	int torn_tail;         /* the file ended inside a record (crash while writing) */
	int corrupt;           /* a bad record with intact ones after it: skipped, reading went on */
	size_t damaged;        /* how many such bad stretches were skipped */
	long long stop_offset; /* where the first bad record (torn or corrupt) starts */
};

/* Read every record of path in order. A bad record followed by intact ones
 * is damage: it is skipped up to the next record header and reading goes
 * on; one at the end is a torn tail. Returns 0 (see result), -1 on I/O
 * error, or the callback's non-zero value. */
int spool_read(const char *path, spool_record_fn fn, void *ctx, struct spool_read_result *result, char *err,
               size_t errlen);

/* Move dir/spool.log aside as dir/spool.<unix-time>.<pid>.importing, under the
 * writers' lock, so new appends go to a fresh file. Writes the new path into
 * out. Returns 1 when a file was moved, 0 when there was none, -1 on error. */
int spool_take(const char *dir, char *out, size_t outlen, char *err, size_t errlen);

/* ---------------------------------------------------------------- journals
 * A process's own spool file: dir/journal.<pid>.<random>, created under a
 * temporary name and renamed only once its exclusive lock is held, so an
 * importer never sees it unlocked while its writer lives. Appends are plain
 * writes (a killed process loses nothing the kernel has); spool_journal_keep
 * makes it durable when the database could not take the records. */
#define SPOOL_JOURNAL_PREFIX "journal."

struct spool_journal {
	int fd;         /* -1: not open */
	int dir_synced; /* its name is on disk (spool_journal_sync did the folder) */
	char path[4096];
};

int spool_journal_open(const char *dir, struct spool_journal *j, char *err, size_t errlen);
/* One record, one write(2), no fsync. */
int spool_journal_append(struct spool_journal *j, const char *payload, size_t len, char *err, size_t errlen);
/* What has been appended reaches the disk before this returns (fdatasync,
 * and the folder once, for the file's name): it survives a power loss.
 * 0, or -1 with a reason. */
int spool_journal_sync(struct spool_journal *j, char *err, size_t errlen);
/* The records are safe elsewhere (committed): remove the file. */
void spool_journal_discard(struct spool_journal *j);
/* The records are safe elsewhere and the process goes on: empty the file for
 * its next run, keeping its name and lock (a crash before the next record
 * leaves an empty journal, which the importer removes). 0, or -1 (the file
 * is then discarded). */
int spool_journal_reset(struct spool_journal *j);
/* Keep the records for the importer: fsync the file and its folder, close
 * (which releases the lock). 0, or -1 with a reason. */
int spool_journal_keep(struct spool_journal *j, char *err, size_t errlen);

/* What waits in dir for an import, for /metrics: the files an import takes
 * (journal.*, spool.log, spool.*.importing) that hold records, and the
 * *.corrupt ones kept for a person; at most cap entries are looked at. Names
 * are only lstat'ed, never opened (the web server's user may read none).
 * A journal of a run in progress counts while it runs. 0, or -1 (errno). */
int spool_count(const char *dir, long cap, long *waiting, long *corrupt);

/* ---------------------------------------------------------------- importing */

enum spool_disposition {
	SPOOL_REMOVE,  /* imported: delete the file */
	SPOOL_CORRUPT, /* rename it to *.corrupt and leave it for a person */
	SPOOL_KEEP,    /* leave it (e.g. the database went away): try again later */
};

/* Called with a file to import; its lock is held until the call returns. */
typedef enum spool_disposition (*spool_file_fn)(void *ctx, const char *path);
/* Called with an importable name that is not a regular file (a symbolic
 * link, a folder, a FIFO): it is neither read nor moved. */
typedef void (*spool_refused_fn)(void *ctx, const char *path, const char *why);

/* Offer every importable file of dir to fn: journals whose writer has gone
 * (the lock can be taken), spool.log (moved aside first) and files left
 * aside by an importer that stopped. Files of live writers are skipped;
 * names that are not regular files are never followed (O_NOFOLLOW) and go to
 * refused (may be NULL). Returns how many files were offered, or -1 with a
 * reason in err. */
int spool_import_each(const char *dir, spool_file_fn fn, spool_refused_fn refused, void *ctx, char *err,
                      size_t errlen);

#endif
