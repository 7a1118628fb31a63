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
	size_t records;     /* intact records delivered to the callback */
	int torn_tail;      /* the file ended inside a record (crash while writing) */
	int corrupt;        /* a complete record failed its check: reading stopped there */
	long long stop_offset; /* where reading stopped when torn or corrupt */
};

/* Read every record of path in order. Returns 0 (see result for a torn tail or
 * corruption), -1 on I/O error, or the callback's non-zero value. */
int spool_read(const char *path, spool_record_fn fn, void *ctx, struct spool_read_result *result,
	       char *err, size_t errlen);

/* Move dir/spool.log aside as dir/spool.<unix-time>.<pid>.importing, under the
 * writers' lock, so new appends go to a fresh file. Writes the new path into
 * out. Returns 1 when a file was moved, 0 when there was none, -1 on error. */
int spool_take(const char *dir, char *out, size_t outlen, char *err, size_t errlen);

#endif
