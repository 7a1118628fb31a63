/* fuzz_util: helpers shared by the fuzz harnesses (tests/fuzz/fuzz_*.c). */
#ifndef PROV_FUZZ_UTIL_H
#define PROV_FUZZ_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write all of data to fd. Returns 0, or -1. */
static inline int fuzz_write_all(int fd, const uint8_t *data, size_t size)
{
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* The input as a file the code under test opens by name: an anonymous
 * memory file, named /proc/self/fd/N. Returns its fd (close it after), or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fuzz_write_all(fd, data, size) != 0) {
		close(fd);
		return -1;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* The input as a regular file in /tmp (rewritten for every input), for code
 * that refuses links such as /proc/self/fd/N (the spool importer opens with
 * O_NOFOLLOW). Returns 0, or -1. */
static inline int fuzz_regular_file(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/prov-fuzz-%d.input", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = fuzz_write_all(fd, data, size);
	return close(fd) == 0 ? rc : -1;
}

/* A NUL-terminated copy of the input (aborts when out of memory). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split *rest at the first sep: returns the part before it (NUL-terminated
 * in place) and moves *rest past it; the whole rest when there is none. */
static inline char *fuzz_next_part(char **rest, char sep)
{
	char *part = *rest;
	char *end = strchr(part, sep);
	if (end == NULL) {
		*rest = part + strlen(part);
	} else {
		*end = '\0';
		*rest = end + 1;
	}
	return part;
}

/* Messages go into JSON answers (the API's errors, --batch result lines):
 * they must be valid UTF-8 or the answer cannot be built. Aborts otherwise. */
static inline void fuzz_require_utf8(const char *what, const char *text)
{
	json_t *s = json_string(text);
	if (s == NULL) {
		fprintf(stderr, "%s is not valid UTF-8: %s\n", what, text);
		abort();
	}
	json_decref(s);
}

#endif
