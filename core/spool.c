/* spool: record framing "S1 <len> <crc32>\n<payload>\n", appended with one
 * write; spool.log under flock and fsynced, a process's journal under the lock
 * it holds for its lifetime; and the importer's walk over the folder. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_MAX 48

/* CRC-32 (IEEE 802.3): zlib's, several bytes per step (the byte-table loop
 * it replaced was 3.5% of a batch's CPU, issue #15); the dispatcher links
 * zlib for libcurl anyway. */
static unsigned long spool_crc32(const char *data, size_t len)
{
	return crc32_z(0UL, (const unsigned char *)data, len);
}

static int spool_path(const char *dir, char *out, size_t outlen)
{
	return snprintf(out, outlen, "%s/%s", dir, SPOOL_FILE) < (int)outlen ? 0 : -1;
}

/* Open dir/spool.log locked; reopen when the importer swapped it away while we waited. */
static int open_locked(const char *path)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX) != 0) {
			close(fd);
			return -1;
		}
		struct stat by_fd, by_path;
		if (fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 && by_fd.st_ino == by_path.st_ino &&
		    by_fd.st_dev == by_path.st_dev)
			return fd;
		close(fd); /* renamed under us: the lock is on the old file */
	}
	errno = EAGAIN;
	return -1;
}

int spool_append(const char *dir, const char *payload, size_t len, char *err, size_t errlen)
{
	char path[4096];
	if (len == 0 || (long long)len > SPOOL_RECORD_MAX || spool_path(dir, path, sizeof path) != 0) {
		snprintf(err, errlen, "spool: bad record or path");
		return -1;
	}
	char header[HEADER_MAX];
	unsigned long crc = spool_crc32(payload, len);
	int hlen = snprintf(header, sizeof header, "S1 %zu %08lx\n", len, crc);
	int fd = open_locked(path);
	if (fd < 0) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return -1;
	}
	struct iovec parts[3] = {{header, (size_t)hlen}, {(void *)payload, len}, {"\n", 1}};
	size_t total = (size_t)hlen + len + 1;
	ssize_t written = writev(fd, parts, 3);
	int rc = 0;
	if (written != (ssize_t)total) {
		/* A short write leaves a torn record that readers skip; say so. */
		snprintf(err, errlen, "spool %s: short write: %s", path,
		         written < 0 ? strerror(errno) : "disk full?");
		rc = -1;
	} else if (fsync(fd) != 0) {
		snprintf(err, errlen, "spool %s: fsync: %s", path, strerror(errno));
		rc = -1;
	}
	close(fd); /* releases the lock */
	return rc;
}

int spool_take(const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
	char path[4096];
	if (spool_path(dir, path, sizeof path) != 0 ||
	    snprintf(out, outlen, "%s/spool.%lld.%d.importing", dir, (long long)time(NULL), (int)getpid()) >=
	        (int)outlen) {
		snprintf(err, errlen, "spool: path too long");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 1;
	if (flock(fd, LOCK_EX) != 0 || rename(path, out) != 0) {
		snprintf(err, errlen, "spool %s: cannot move aside: %s", path, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

static int parse_header(const char *line, size_t *len, unsigned long *crc)
{
	char *end;
	if (strncmp(line, "S1 ", 3) != 0)
		return -1;
	errno = 0;
	unsigned long long value = strtoull(line + 3, &end, 10);
	if (errno == ERANGE || *end != ' ' || value == 0 || value > (unsigned long long)SPOOL_RECORD_MAX)
		return -1;
	*len = (size_t)value;
	*crc = strtoul(end + 1, &end, 16);
	return *end == '\n' ? 0 : -1;
}

/* After a bad record at offset: move to the next line that starts like a
 * record header ("S1 "). Returns 1 when there is one, 0 at the end. */
static int resync(FILE *file, long long offset)
{
	if (fseeko(file, offset + 1, SEEK_SET) != 0)
		return 0;
	int prev = 0, c;
	long long pos = offset + 1;
	while ((c = fgetc(file)) != EOF) {
		pos++;
		if (prev == '\n' && c == 'S') {
			int one = fgetc(file), space = fgetc(file);
			if (one == '1' && space == ' ')
				return fseeko(file, pos - 1, SEEK_SET) == 0;
			if (fseeko(file, pos, SEEK_SET) != 0)
				return 0;
		}
		prev = c;
	}
	return 0;
}

/* Read the record at the current position into *payload (grown as needed).
 * Returns 1 for an intact record, 0 at a clean end, -1 for a bad one, -2
 * when out of memory. */
static int read_record(FILE *file, char **payload, size_t *len)
{
	char header[HEADER_MAX];
	unsigned long crc;
	if (fgets(header, sizeof header, file) == NULL)
		return 0;
	if (strchr(header, '\n') == NULL || parse_header(header, len, &crc) != 0)
		return -1;
	char *grown = realloc(*payload, *len + 1);
	if (grown == NULL)
		return -2;
	*payload = grown;
	if (fread(*payload, 1, *len + 1, file) < *len + 1 || (*payload)[*len] != '\n' ||
	    spool_crc32(*payload, *len) != crc)
		return -1;
	(*payload)[*len] = '\0';
	return 1;
}

int spool_read(const char *path, spool_record_fn fn, void *ctx, struct spool_read_result *result, char *err,
               size_t errlen)
{
	memset(result, 0, sizeof *result);
	/* The spool folder is read back as trusted input: never through a link. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	FILE *file = fd >= 0 ? fdopen(fd, "re") : NULL;
	if (file == NULL) {
		snprintf(err, errlen, "spool %s: %s", path,
		         errno == ELOOP    ? "a symbolic link, not read"
		         : errno == EINVAL ? "not a regular file"
		                           : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char *payload = NULL;
	int rc = 0;
	for (;;) {
		long long offset = ftello(file);
		size_t len = 0;
		int got = read_record(file, &payload, &len);
		if (got == 0)
			break; /* clean end */
		if (got == -2) {
			snprintf(err, errlen, "spool %s: out of memory", path);
			rc = -1;
			break;
		}
		if (got < 0) {
			/* Records follow the bad one: damage, skipped. None does: the
			 * writer died inside its last record (a torn tail). */
			int more = resync(file, offset);
			if (!result->corrupt)
				result->stop_offset = offset;
			if (more) {
				result->corrupt = 1;
				result->damaged++;
				continue;
			}
			result->torn_tail = 1;
			break;
		}
		rc = fn(ctx, payload, len);
		if (rc != 0)
			break;
		result->records++;
	}
	if (rc == 0 && ferror(file)) {
		snprintf(err, errlen, "spool %s: read error", path);
		rc = -1;
	}
	free(payload);
	fclose(file);
	return rc;
}

/* ---------------------------------------------------------------- journals */

int spool_journal_open(const char *dir, struct spool_journal *j, char *err, size_t errlen)
{
	j->fd = -1;
	j->dir_synced = 0;
	char tmp[sizeof j->path];
	if (snprintf(tmp, sizeof tmp, "%s/.journal-XXXXXX", dir) >= (int)sizeof tmp) {
		snprintf(err, errlen, "spool: path too long");
		return -1;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "spool %s: cannot create a journal: %s", dir, strerror(errno));
		return -1;
	}
	/* The random part of the temporary name keeps the final name unique. */
	const char *suffix = tmp + strlen(tmp) - 6;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 ||
	    snprintf(j->path, sizeof j->path, "%s/" SPOOL_JOURNAL_PREFIX "%d.%s", dir, (int)getpid(),
	             suffix) >= (int)sizeof j->path ||
	    rename(tmp, j->path) != 0) {
		snprintf(err, errlen, "spool %s: cannot set up a journal: %s", dir, strerror(errno));
		unlink(tmp);
		close(fd);
		return -1;
	}
	j->fd = fd;
	return 0;
}

int spool_journal_append(struct spool_journal *j, const char *payload, size_t len, char *err, size_t errlen)
{
	if (j->fd < 0 || len == 0 || (long long)len > SPOOL_RECORD_MAX) {
		snprintf(err, errlen, "spool: no journal or a bad record");
		return -1;
	}
	char header[HEADER_MAX];
	unsigned long crc = spool_crc32(payload, len);
	int hlen = snprintf(header, sizeof header, "S1 %zu %08lx\n", len, crc);
	struct iovec parts[3] = {{header, (size_t)hlen}, {(void *)payload, len}, {"\n", 1}};
	size_t total = (size_t)hlen + len + 1;
	ssize_t written = writev(j->fd, parts, 3);
	if (written != (ssize_t)total) {
		/* A partial record reads back as a torn tail: nothing after it may follow. */
		snprintf(err, errlen, "spool %s: short write: %s", j->path,
		         written < 0 ? strerror(errno) : "disk full?");
		return -1;
	}
	return 0;
}

void spool_journal_discard(struct spool_journal *j)
{
	if (j->fd < 0)
		return;
	unlink(j->path); /* while the lock is held: no importer can be reading it */
	close(j->fd);
	j->fd = -1;
}

int spool_journal_reset(struct spool_journal *j)
{
	if (j->fd < 0)
		return -1;
	if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) != 0) {
		spool_journal_discard(j);
		return -1;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int spool_journal_sync(struct spool_journal *j, char *err, size_t errlen)
{
	if (j->fd < 0) {
		snprintf(err, errlen, "spool: no journal");
		return -1;
	}
	if (fdatasync(j->fd) != 0 || (!j->dir_synced && fsync_dir_of(j->path) != 0)) {
		snprintf(err, errlen, "spool %s: fdatasync: %s", j->path, strerror(errno));
		return -1;
	}
	j->dir_synced = 1;
	return 0;
}

int spool_journal_keep(struct spool_journal *j, char *err, size_t errlen)
{
	if (j->fd < 0) {
		snprintf(err, errlen, "spool: no journal");
		return -1;
	}
	int rc = 0;
	if (fsync(j->fd) != 0 || fsync_dir_of(j->path) != 0) {
		snprintf(err, errlen, "spool %s: fsync: %s", j->path, strerror(errno));
		rc = -1;
	}
	close(j->fd);
	j->fd = -1;
	return rc;
}

/* ---------------------------------------------------------------- importing */

static int importable_name(const char *name)
{
	size_t len = strlen(name);
	if (len > 8 && strcmp(name + len - 8, ".corrupt") == 0)
		return 0;
	if (strncmp(name, SPOOL_JOURNAL_PREFIX, strlen(SPOOL_JOURNAL_PREFIX)) == 0)
		return 1;
	return strncmp(name, "spool.", 6) == 0 && len > 10 && strcmp(name + len - 10, ".importing") == 0;
}

int spool_count(const char *dir, long cap, long *waiting, long *corrupt)
{
	*waiting = *corrupt = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *e;
	for (long seen = 0; seen < cap && (e = readdir(d)) != NULL; seen++) {
		size_t len = strlen(e->d_name);
		int is_corrupt = len > 8 && strcmp(e->d_name + len - 8, ".corrupt") == 0;
		if (!is_corrupt && !importable_name(e->d_name) && strcmp(e->d_name, SPOOL_FILE) != 0)
			continue;
		char path[4096 + 256];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (is_corrupt)
			(*corrupt)++;
		else if (st.st_size > 0)
			(*waiting)++;
	}
	closedir(d);
	return 0;
}

/* A temporary journal name left by a writer killed before its rename. */
static void remove_if_stale_temporary(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 && st.st_size == 0 &&
	    st.st_mtime < time(NULL) - 60)
		unlink(path);
	close(fd);
}

static void offer(const char *path, spool_file_fn fn, spool_refused_fn refused, void *ctx, int *offered)
{
	/* O_NOFOLLOW: a journal.* link to another file is neither read nor moved
	 * (whoever can write spool_dir must not make the worker read, rename or
	 * unlink what it points to). O_NONBLOCK: a FIFO must not hang the open. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 && errno == ELOOP) {
		if (refused != NULL)
			refused(ctx, path, "a symbolic link");
		return;
	}
	if (fd < 0)
		return; /* gone: another importer finished it */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (refused != NULL)
			refused(ctx, path, "not a regular file");
		close(fd);
		return;
	}
	/* A writer still holds it, or it was removed after we opened it. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0) {
		close(fd);
		return;
	}
	(*offered)++;
	enum spool_disposition what = fn(ctx, path);
	if (what == SPOOL_REMOVE) {
		unlink(path);
	} else if (what == SPOOL_CORRUPT) {
		char aside[4096 + 512];
		snprintf(aside, sizeof aside, "%s.corrupt", path);
		rename(path, aside);
	}
	close(fd);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spool_import_each(const char *dir, spool_file_fn fn, spool_refused_fn refused, void *ctx, char *err,
                      size_t errlen)
{
	char moved[4096];
	if (spool_take(dir, moved, sizeof moved, err, errlen) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (d == NULL) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		int temporary = strncmp(e->d_name, ".journal-", 9) == 0;
		if (!temporary && !importable_name(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(names, cap * sizeof *names);
			if (grown == NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			rc = -1;
		else
			n++;
	}
	closedir(d);
	if (rc != 0)
		snprintf(err, errlen, "spool %s: out of memory", dir);
	else if (n > 0)
		qsort(names, n, sizeof *names, by_name);
	int offered = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char path[4096 + 256];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (names[i][0] == '.')
			remove_if_stale_temporary(path);
		else
			offer(path, fn, refused, ctx, &offered);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc == 0 ? offered : -1;
}
