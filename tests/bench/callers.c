/* callers: P parallel callers, each running COMMAND once per event (as
 * billing runs prov-dispatch), stdin from INPUT, stdout discarded. Every
 * argument "%i" is replaced by the event's number (an object id of its own).
 * RATE 0: each caller starts its next call when the last one ends (the
 * throughput); RATE > 0: the calls are offered at RATE per second in all,
 * each caller on its own schedule (an open loop: a late call starts at once,
 * and its time is still the call's own). Prints
 *   calls=N failures=F seconds=S rate=R p50=MS p99=MS max=MS
 * usage: callers P TOTAL RATE INPUT COMMAND [ARGS...] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One call with "%i" replaced by n; returns its wall time in ms, or a
 * negative value when it failed (the time, negated, minus one). */
static double call(char **argv, int argc, const char *input, long n)
{
	char number[24];
	snprintf(number, sizeof number, "%ld", n);
	char *args[64];
	int k = 0;
	for (; k < argc && k < 63; k++)
		args[k] = strcmp(argv[k], "%i") == 0 ? number : argv[k];
	args[k] = NULL;
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int in = open(input, O_RDONLY);
		int out = open("/dev/null", O_WRONLY);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		execv(args[0], args);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	double ms = now_ms() - t0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -ms - 1;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: callers P TOTAL RATE INPUT COMMAND [ARGS...]\n");
		return 64;
	}
	long p = atol(argv[1]), total = atol(argv[2]);
	double rate = atof(argv[3]);
	const char *input = argv[4];
	if (p < 1 || p > 256 || total < p || rate < 0) {
		fprintf(stderr, "callers: bad P, TOTAL or RATE\n");
		return 64;
	}
	long each = total / p;
	total = each * p;
	int fds[2];
	if (pipe(fds) != 0) {
		perror("pipe");
		return 71;
	}
	double start = now_ms() + 50; /* every caller forked before the first call */
	for (long c = 0; c < p; c++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 71;
		}
		if (pid > 0)
			continue;
		close(fds[0]);
		double *ms = malloc((size_t)each * sizeof *ms);
		if (ms == NULL)
			_exit(71);
		for (long i = 0; i < each; i++) {
			/* Caller c's i-th call is the (i * p + c)-th of the schedule. */
			double due = rate > 0 ? start + (double)(i * p + c) * 1000.0 / rate : start;
			double wait = due - now_ms();
			if (wait > 0) {
				struct timespec ts = {(time_t)(wait / 1000), (long)(wait * 1e6) % 1000000000L};
				while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
					;
			}
			ms[i] = call(argv + 5, argc - 5, input, i * p + c + 1);
		}
		/* Writes of at most PIPE_BUF bytes, whole values: never interleaved
		 * with another caller's. */
		size_t len = (size_t)each * sizeof *ms, chunk = (PIPE_BUF / sizeof *ms) * sizeof *ms;
		for (size_t off = 0; off < len;) {
			size_t n = len - off < chunk ? len - off : chunk;
			if (write(fds[1], (char *)ms + off, n) != (ssize_t)n)
				_exit(74);
			off += n;
		}
		_exit(0);
	}
	close(fds[1]);
	double *all = malloc((size_t)total * sizeof *all);
	if (all == NULL)
		return 71;
	size_t got = 0, want = (size_t)total * sizeof *all;
	while (got < want) {
		ssize_t r = read(fds[0], (char *)all + got, want - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int bad_child = 0, status;
	while (wait(&status) > 0)
		bad_child |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	double end = now_ms();
	if (got != want || bad_child) {
		fprintf(stderr, "callers: a caller failed\n");
		return 70;
	}
	long failures = 0;
	for (long i = 0; i < total; i++)
		if (all[i] < 0) {
			failures++;
			all[i] = -all[i] - 1;
		}
	qsort(all, (size_t)total, sizeof *all, by_value);
	double seconds = (end - start) / 1000.0;
	printf("calls=%ld failures=%ld seconds=%.2f rate=%.0f p50=%.2f p99=%.2f max=%.2f\n", total, failures,
	       seconds, (double)total / seconds, all[total / 2], all[(total * 99) / 100], all[total - 1]);
	free(all);
	return failures ? 1 : 0;
}
