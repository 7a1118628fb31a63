/* spawn-timer: run one or more commands N times each, interleaved (A B A B
 * ...) so that a load change on the machine hits all of them alike, with
 * stdin from a file and stdout discarded; print per command the median and
 * 90th percentile wall time per run and the peak resident set size.
 * Used by tests/bench/dispatch.sh.
 * usage: spawn-timer N INPUT_FILE COMMAND [ARGS...] [-- COMMAND [ARGS...]]... */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COMMANDS 8

struct command {
	char **argv;
	double *ms;
	long peak_kib;
	int failures;
};

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One run of cmd; returns its wall time in ms, or -1 when it could not start. */
static double run_once(struct command *cmd, const char *input)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		int in = open(input, O_RDONLY);
		int out = open("/dev/null", O_WRONLY);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		execvp(cmd->argv[0], cmd->argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ru.ru_maxrss > cmd->peak_kib)
		cmd->peak_kib = ru.ru_maxrss;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		cmd->failures++;
	return (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
		        "usage: spawn-timer N INPUT_FILE COMMAND [ARGS...] [-- COMMAND [ARGS...]]...\n");
		return 64;
	}
	int runs = atoi(argv[1]);
	if (runs < 1)
		return 64;
	struct command cmds[MAX_COMMANDS] = {{.argv = argv + 3}};
	int ncmds = 1;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--") != 0)
			continue;
		argv[i] = NULL;
		if (ncmds == MAX_COMMANDS || i + 1 >= argc)
			return 64;
		cmds[ncmds++].argv = argv + i + 1;
	}
	for (int c = 0; c < ncmds; c++)
		if ((cmds[c].ms = calloc((size_t)runs, sizeof *cmds[c].ms)) == NULL)
			return 70;
	for (int i = 0; i < runs; i++)
		for (int c = 0; c < ncmds; c++)
			if ((cmds[c].ms[i] = run_once(&cmds[c], argv[2])) < 0)
				return 70;
	int failed = 0;
	for (int c = 0; c < ncmds; c++) {
		qsort(cmds[c].ms, (size_t)runs, sizeof *cmds[c].ms, by_value);
		printf("runs=%d median_ms=%.3f p90_ms=%.3f peak_rss_kib=%ld failures=%d\n", runs,
		       cmds[c].ms[runs / 2], cmds[c].ms[runs * 9 / 10], cmds[c].peak_kib, cmds[c].failures);
		failed |= cmds[c].failures != 0;
		free(cmds[c].ms);
	}
	return failed ? 1 : 0;
}
