/* dispatch_service: the resident dispatcher (prov-dispatchd --serve) and the
 * hand-over prov-dispatch uses to give it one event: a pool of worker
 * processes behind a Unix socket; the caller passes its arguments and its
 * stdin, stdout and stderr (SCM_RIGHTS), the worker runs the event on them and
 * answers with the exit code. The caller never reads its stdin itself, so it
 * can still run the event on its own when no worker is free. */
#ifndef PROV_DISPATCH_SERVICE_H
#define PROV_DISPATCH_SERVICE_H

#include <stddef.h>

#define DSVC_ARGS_MAX 8192 /* the arguments' bytes in one request */
#define DSVC_ARGC_MAX 32
#define DSVC_REQUEST_TIMEOUT_MS 5000 /* a worker waits this long for a request's bytes */

/* ---- the caller's side (prov-dispatch) */

/* Connect to the service at path and wait up to wait_ms for a worker to take
 * the connection (its "R"). Returns the connection, or -1 when there is no
 * service, it refuses or is stopping, or every worker stayed busy (the
 * caller then runs the event itself: nothing was handed over). */
int dsvc_connect(const char *path, long wait_ms);

/* Hand over argv[1..argc-1] and the caller's fds 0, 1 and 2. Returns 0, or
 * -1 (nothing was run: the worker drops an incomplete request). */
int dsvc_send(int conn, int argc, char **argv);

/* The worker's exit code (0-255); DSVC_NOT_RUN when the connection ended
 * before the worker accepted the request (nothing ran, stdin is untouched:
 * the caller runs the event itself); DSVC_DIED when it ended during the run
 * (its handlers may have run; its journal keeps their log). */
#define DSVC_NOT_RUN (-2)
#define DSVC_DIED (-1)
int dsvc_wait_exit(int conn);

/* ---- the service's side (prov-dispatchd --serve) */

struct dsvc_request {
	int argc;
	char *argv[DSVC_ARGC_MAX + 2]; /* argv[0] is "prov-dispatchd"; NULL-terminated */
	int fds[3];                    /* the caller's stdin, stdout, stderr */
	char buf[DSVC_ARGS_MAX];
};

/* Create the listening socket at path, mode 0660 (group: the billing
 * system's). A stale socket left by a dead service is replaced; a live one is
 * an error. Returns the socket or -1 with a one-line reason in err. */
int dsvc_listen(const char *path, char *err, size_t errlen);

/* Read one request from conn into req (fds are owned by req afterwards). */
int dsvc_receive(int conn, struct dsvc_request *req, char *err, size_t errlen);

/* Close the fds a request carried. */
void dsvc_request_close(struct dsvc_request *req);

/* Send the exit code. */
int dsvc_reply(int conn, int exit_code);

/* Runs one request's event with the caller's stdio as fds 0-2; returns the
 * exit code. */
typedef int (*dsvc_run_fn)(void *ctx, int argc, char **argv);

/* Swap the request's fds in as 0, 1 and 2 (stdio flushed first), and back. */
struct dsvc_stdio {
	int saved[3];
};
int dsvc_stdio_take(struct dsvc_stdio *s, const int fds[3]);
void dsvc_stdio_restore(struct dsvc_stdio *s);

/* One worker's loop: wait for a connection, announce readiness, take the
 * request, run it with the caller's stdio, reply; until SIGTERM/SIGINT (only
 * delivered while waiting, so a run is never cut short). The caller blocks
 * those signals first (dsvc_serve does). Returns 0, or -1 when the listening
 * socket fails. */
int dsvc_worker_loop(int listen_fd, dsvc_run_fn run, void *ctx);

/* Read the event data from fd (the caller's stdin) until EOF: at most cap
 * bytes into buf (*len; a longer input stops at cap + 1 bytes, so the caller
 * sees it is too large), all of it within timeout_ms. A caller that never
 * closes its stdin must not hold a worker. Returns 0, DSVC_READ_TIMEOUT, or
 * -1 (errno set). */
#define DSVC_READ_TIMEOUT (-2)
int dsvc_read_data(int fd, char *buf, size_t cap, long timeout_ms, size_t *len);

/* What the pool has done, in memory shared by the master and its workers:
 * each worker adds to it with atomic operations (no system call, nothing per
 * event but two additions); the reporter process reads it. */
struct dsvc_counters {
	int workers;       /* the pool's size */
	int busy;          /* workers running an event now */
	long long served;  /* events run since the service started */
	long long started; /* the service's start (Unix time) */
};

/* The reporter: a process of its own next to the workers (restarted like
 * them), given the shared counters; it runs until SIGTERM (blocked: wait
 * for it with sigtimedwait) and returns its exit code. Set before
 * dsvc_serve; NULL: none. */
typedef int (*dsvc_reporter_fn)(void *ctx, const struct dsvc_counters *counters);
#define DSVC_REPORTER_NAME "prov-dsvc-stats" /* its process name (comm) */
void dsvc_set_reporter(dsvc_reporter_fn reporter, void *ctx);

/* The pool: fork `workers` processes that each call worker_main(ctx) (which
 * should end with dsvc_worker_loop), restart the ones that die (at most once
 * a second per slot), stop them all on SIGTERM/SIGINT/SIGHUP, let their runs finish,
 * and remove the socket. Messages go to stderr prefixed with prog. Returns
 * the process's exit code. per_uid > 0 caps the workers busy at once for one
 * caller (peer uid, SO_PEERCRED): a connection past the cap is closed before
 * "R", so that caller runs its event itself, and one local user cannot take
 * every worker (0: no cap). */
int dsvc_serve(const char *prog, const char *path, int listen_fd, int workers, int per_uid,
               int (*worker_main)(void *ctx), void *ctx);

#endif
