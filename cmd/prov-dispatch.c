/* prov-dispatch: what the billing system runs once per event (SPEC section 5).
 * A small front: when the dispatcher service (prov-dispatchd --serve) has a
 * free worker, it hands the worker its arguments and its stdin, stdout and
 * stderr and exits with the worker's exit code; otherwise it becomes
 * prov-dispatchd (exec, same arguments) and runs the event itself. Either
 * way billing sees the same result, messages and exit codes. This program
 * reads nothing of stdin and links neither libcurl nor MariaDB, so starting
 * it costs little more than starting any program. */
#include "config.h"
#include "dispatch_service.h"
#include "dispatch_stats.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "prov-dispatch"
#define EXIT_INTERNAL 70 /* EX_SOFTWARE, as prov-dispatchd documents */

/* Become prov-dispatchd, found next to this program. */
static int run_direct(char **argv)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof "prov-dispatchd");
	char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
	if (slash == NULL) {
		fprintf(stderr, PROG ": cannot find prov-dispatchd: /proc/self/exe: %s\n",
		        n < 0 ? strerror(errno) : "no directory");
		return EXIT_INTERNAL;
	}
	memcpy(slash + 1, "prov-dispatchd", sizeof "prov-dispatchd");
	execv(path, argv);
	fprintf(stderr, PROG ": cannot run %s: %s\n", path, strerror(errno));
	return EXIT_INTERNAL;
}

/* The service is configured but did not take the event: run it here, and
 * let prov-dispatchd count it (/metrics: prov_dispatch_exec_fallbacks_total). */
static int run_fallback(char **argv)
{
	if (setenv(DISPATCH_FALLBACK_ENV, "1", 1) != 0)
		fprintf(stderr, PROG ": %s\n", strerror(errno)); /* only the count misses it */
	return run_direct(argv);
}

/* Options the service does not take: --help and --batch run directly. */
static int wants_direct(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--batch") == 0 || strcmp(argv[i], "--serve") == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc - 1 > DSVC_ARGC_MAX || wants_direct(argc, argv))
		return run_direct(argv);
	/* The arguments without --config, for the service (it has its own). */
	char *args[DSVC_ARGC_MAX + 2];
	int nargs = argc;
	memcpy(args, argv, (size_t)(argc + 1) * sizeof *argv);
	const char *config_path;
	static struct config cfg;
	char err[CONFIG_PATH_MAX + 256];
	if (config_take_option(&nargs, args, &config_path) != 0 ||
	    config_load(config_resolve_path(config_path), &cfg, err, sizeof err) != 0 ||
	    cfg.dispatch_socket[0] == '\0')
		return run_direct(argv); /* which reports whatever is wrong */
	int conn = dsvc_connect(cfg.dispatch_socket, cfg.dispatch_wait_ms);
	if (conn < 0)
		return run_fallback(argv);
	if (dsvc_send(conn, nargs, args) != 0) {
		close(conn); /* the worker drops a request it did not get whole */
		return run_fallback(argv);
	}
	int code = dsvc_wait_exit(conn);
	close(conn);
	if (code == DSVC_NOT_RUN)
		return run_fallback(argv); /* no worker accepted it: exactly once, here */
	if (code == DSVC_DIED) {
		fprintf(stderr,
		        PROG ": the dispatcher service ended during the run; its handlers may have run "
		             "and the spool keeps their log for prov-worker\n");
		return EXIT_INTERNAL;
	}
	return code;
}
