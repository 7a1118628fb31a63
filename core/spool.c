/* spool: record framing "S1 <len> <crc32>\n<payload>\n", appended with one
 * write under flock and fsynced. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER_MAX 48

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
	unsigned long crc = crc32(0L, (const Bytef *)payload, (uInt)len);
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
		snprintf(err, errlen, "spool %s: short write: %s", path, written < 0 ? strerror(errno) : "disk full?");
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

int spool_read(const char *path, spool_record_fn fn, void *ctx, struct spool_read_result *result,
	       char *err, size_t errlen)
{
	memset(result, 0, sizeof *result);
	FILE *file = fopen(path, "re");
	if (file == NULL) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return -1;
	}
	char header[HEADER_MAX];
	char *payload = NULL;
	int rc = 0;
	for (;;) {
		long long offset = ftello(file);
		if (fgets(header, sizeof header, file) == NULL)
			break; /* clean end */
		size_t len;
		unsigned long crc;
		if (strchr(header, '\n') == NULL) {
			result->torn_tail = feof(file) != 0;
			result->corrupt = !result->torn_tail;
			result->stop_offset = offset;
			break;
		}
		if (parse_header(header, &len, &crc) != 0) {
			result->corrupt = 1;
			result->stop_offset = offset;
			break;
		}
		free(payload);
		payload = malloc(len + 1);
		if (payload == NULL) {
			snprintf(err, errlen, "spool %s: out of memory", path);
			rc = -1;
			break;
		}
		size_t got = fread(payload, 1, len + 1, file);
		if (got < len + 1) {
			result->torn_tail = 1; /* the writer died inside this record */
			result->stop_offset = offset;
			break;
		}
		if (payload[len] != '\n' || crc32(0L, (const Bytef *)payload, (uInt)len) != crc) {
			/* A complete-looking record that fails its check: at the end of the
			 * file that is a torn write too (a crash reorders nothing after it). */
			int next = fgetc(file);
			result->torn_tail = next == EOF;
			result->corrupt = next != EOF;
			result->stop_offset = offset;
			break;
		}
		payload[len] = '\0';
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
