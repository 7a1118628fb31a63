/* spawn-timer: run a command N times (stdin from a file, stdout discarded)
 * and print the median and 90th percentile wall time per run and the peak
 * resident set size of the runs. Used by tests/bench/dispatch.sh.
 * usage: spawn-timer N INPUT_FILE COMMAND [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: spawn-timer N INPUT_FILE COMMAND [ARGS...]\n");
		return 64;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		return 64;
	double *ms = calloc((size_t)runs, sizeof *ms);
	long peak_kib = 0;
	int failures = 0;
	if (ms == NULL)
		return 70;
	for (int i = 0; i < runs; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid_t pid = fork();
		if (pid == 0) {
			int in = open(argv[2], O_RDONLY);
			int out = open("/dev/null", O_WRONLY);
			if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
				_exit(127);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		int status;
		struct rusage ru;
		if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
			return 70;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (ru.ru_maxrss > peak_kib)
			peak_kib = ru.ru_maxrss;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	qsort(ms, (size_t)runs, sizeof *ms, by_value);
	printf("runs=%d median_ms=%.3f p90_ms=%.3f peak_rss_kib=%ld failures=%d\n", runs, ms[runs / 2],
	       ms[runs * 9 / 10], peak_kib, failures);
	free(ms);
	return failures ? 1 : 0;
}
