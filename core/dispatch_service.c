/* dispatch_service: the Unix-socket hand-over between prov-dispatch and the
 * resident workers of prov-dispatchd --serve, and the worker pool itself.
 * Wire format: the worker sends "R" once it owns the connection; the caller
 * sends "PD1\n", the arguments' length (uint32, host order: same host) and
 * the NUL-terminated arguments, with its fds 0-2 attached to the first byte;
 * the worker answers "A" once it has the whole request, before it runs
 * anything, and "X" with the exit code as one byte after the run. A caller
 * that saw no "A" knows nothing ran and runs the event itself. */
#include "dispatch_service.h"

#include "monotonic.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char MAGIC[4] = {'P', 'D', '1', '\n'};

struct header {
	char magic[4];
	uint32_t len;
};

static int socket_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof sa->sun_path)
		return -1;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

/* ---------------------------------------------------------------- caller */

int dsvc_connect(const char *path, long wait_ms)
{
	struct sockaddr_un sa;
	if (socket_address(path, &sa) != 0)
		return -1;
	/* Non-blocking: a full backlog (every worker busy for a while) fails at
	 * once with EAGAIN instead of blocking the caller. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail;
	long long deadline = monotonic_ms() + wait_ms;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - monotonic_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0)
			break;
		if (n == 0 || errno != EINTR)
			goto fail; /* no worker in time: a worker that takes it later gets nothing */
	}
	char ready;
	if (recv(fd, &ready, 1, 0) != 1 || ready != 'R')
		goto fail; /* the service is stopping: its workers closed the connection */
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int dsvc_send(int conn, int argc, char **argv)
{
	char body[DSVC_ARGS_MAX];
	size_t len = 0;
	if (argc - 1 > DSVC_ARGC_MAX)
		return -1;
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > sizeof body - len)
			return -1;
		memcpy(body + len, argv[i], n);
		len += n;
	}
	struct header h = {.len = (uint32_t)len};
	memcpy(h.magic, MAGIC, sizeof MAGIC);
	int fds[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof control);
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h}, {.iov_base = body, .iov_len = len}};
	struct msghdr msg = {.msg_iov = iov,
	                     .msg_iovlen = 2,
	                     .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	ssize_t n;
	do
		n = sendmsg(conn, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	/* Unix sockets take a message this small whole; a short write is finished plainly. */
	size_t sent = (size_t)n;
	if (sent < sizeof h && send_all(conn, (const char *)&h + sent, sizeof h - sent) != 0)
		return -1;
	size_t body_sent = sent > sizeof h ? sent - sizeof h : 0;
	return send_all(conn, body + body_sent, len - body_sent);
}

static ssize_t recv_all(int fd, char *p, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int dsvc_wait_exit(int conn)
{
	unsigned char reply[3];
	ssize_t got = recv_all(conn, (char *)reply, sizeof reply);
	if (got < 1 || reply[0] != 'A')
		return DSVC_NOT_RUN;
	if (got != (ssize_t)sizeof reply || reply[1] != 'X')
		return DSVC_DIED;
	return reply[2];
}

/* ---------------------------------------------------------------- service */

int dsvc_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	if (socket_address(path, &sa) != 0) {
		snprintf(err, errlen, "dispatch_socket '%s' is empty or longer than %zu bytes", path,
		         sizeof sa.sun_path - 1);
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			snprintf(err, errlen, "%s: another prov-dispatchd is already serving there", path);
			return -1;
		}
		if (unlink(path) != 0) {
			snprintf(err, errlen, "cannot remove the stale socket %s: %s", path, strerror(errno));
			return -1;
		}
	}
	/* Non-blocking: every worker polls it, and the one that loses the race
	 * for a connection must not block in accept. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0117);
	int bound = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	int bind_errno = errno;
	umask(old);
	if (bound != 0 || listen(fd, 128) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		         strerror(bound != 0 ? bind_errno : errno));
		close(fd);
		return -1;
	}
	return fd;
}

void dsvc_request_close(struct dsvc_request *req)
{
	for (int i = 0; i < 3; i++)
		if (req->fds[i] >= 0) {
			close(req->fds[i]);
			req->fds[i] = -1;
		}
}

/* The header and the fds that came with it. */
static int receive_header(int conn, struct dsvc_request *req, struct header *h, char *err, size_t errlen)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = h, .iov_len = sizeof *h};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control.buf,
	                     .msg_controllen = sizeof control.buf};
	ssize_t n;
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			snprintf(err, errlen, "reading a request: %s", strerror(errno));
		return -1; /* n == 0: the caller gave up waiting; nothing to say */
	}
	int nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
			if (nfds < 3)
				req->fds[nfds] = fd;
			else
				close(fd); /* more than a caller sends: not ours to keep */
			nfds++;
		}
	}
	if (nfds != 3 || (msg.msg_flags & MSG_CTRUNC)) {
		snprintf(err, errlen, "a request without its stdin, stdout and stderr");
		return -1;
	}
	if ((size_t)n < sizeof *h &&
	    recv_all(conn, (char *)h + n, sizeof *h - (size_t)n) != (ssize_t)(sizeof *h - (size_t)n)) {
		snprintf(err, errlen, "a truncated request");
		return -1;
	}
	if (memcmp(h->magic, MAGIC, sizeof MAGIC) != 0 || h->len >= DSVC_ARGS_MAX) {
		snprintf(err, errlen, "not a prov-dispatch request");
		return -1;
	}
	return 0;
}

int dsvc_receive(int conn, struct dsvc_request *req, char *err, size_t errlen)
{
	err[0] = '\0';
	req->argc = 0;
	req->fds[0] = req->fds[1] = req->fds[2] = -1;
	struct timeval tv = {.tv_sec = DSVC_REQUEST_TIMEOUT_MS / 1000,
	                     .tv_usec = DSVC_REQUEST_TIMEOUT_MS % 1000 * 1000};
	struct header h;
	if (setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    receive_header(conn, req, &h, err, errlen) != 0)
		goto fail;
	if (recv_all(conn, req->buf, h.len) != (ssize_t)h.len || (h.len > 0 && req->buf[h.len - 1] != '\0')) {
		snprintf(err, errlen, "a truncated request");
		goto fail;
	}
	req->argv[req->argc++] = "prov-dispatchd";
	for (size_t off = 0; off < h.len; off += strlen(req->buf + off) + 1) {
		if (req->argc > DSVC_ARGC_MAX) {
			snprintf(err, errlen, "a request with more than %d arguments", DSVC_ARGC_MAX);
			goto fail;
		}
		req->argv[req->argc++] = req->buf + off;
	}
	req->argv[req->argc] = NULL;
	return 0;
fail:
	dsvc_request_close(req);
	return -1;
}

int dsvc_reply(int conn, int exit_code)
{
	char reply[2] = {'X', (char)(unsigned char)exit_code};
	return send_all(conn, reply, sizeof reply);
}

int dsvc_stdio_take(struct dsvc_stdio *s, const int fds[3])
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++)
		s->saved[i] = -1;
	for (int i = 0; i < 3; i++) {
		if ((s->saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0 || dup2(fds[i], i) < 0) {
			dsvc_stdio_restore(s);
			return -1;
		}
	}
	clearerr(stdin);
	clearerr(stdout);
	clearerr(stderr);
	return 0;
}

void dsvc_stdio_restore(struct dsvc_stdio *s)
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 3; i++) {
		if (s->saved[i] < 0)
			continue;
		dup2(s->saved[i], i); /* both open and ours: EBADF and EBUSY cannot happen */
		close(s->saved[i]);
		s->saved[i] = -1;
	}
	clearerr(stdout);
	clearerr(stderr);
}

int dsvc_read_data(int fd, char *buf, size_t cap, long timeout_ms, size_t *len)
{
	long long deadline = monotonic_ms() + timeout_ms;
	*len = 0;
	while (*len <= cap) {
		long long left = deadline - monotonic_ms();
		if (left <= 0)
			return DSVC_READ_TIMEOUT;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ready = poll(&p, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return -1;
		if (ready == 0)
			return DSVC_READ_TIMEOUT;
		ssize_t n = read(fd, buf + *len, cap + 1 - *len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------- worker */

static volatile sig_atomic_t worker_stop;

/* The per-uid cap: one entry per worker slot, shared by the pool (MAP_SHARED),
 * holding the peer uid + 1 the slot is serving (0: idle). */
static unsigned *busy_peers;
static int busy_slots = 0, busy_slot = -1, busy_cap = 0;

/* Whether this worker may take conn: its peer's uid has fewer than busy_cap
 * workers busy. Marks the slot first, then counts, so two workers admitting
 * the same uid at once can only both refuse, never both pass the cap. */
static int peer_admit(int conn)
{
	if (busy_peers == NULL || busy_slot < 0)
		return 1;
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	unsigned mark = (unsigned)cred.uid + 1u;
	__atomic_store_n(&busy_peers[busy_slot], mark, __ATOMIC_SEQ_CST);
	int busy = 0;
	for (int i = 0; i < busy_slots; i++)
		if (__atomic_load_n(&busy_peers[i], __ATOMIC_SEQ_CST) == mark)
			busy++;
	if (busy <= busy_cap)
		return 1;
	__atomic_store_n(&busy_peers[busy_slot], 0u, __ATOMIC_SEQ_CST);
	fprintf(stderr,
	        "prov-dispatchd[%d]: uid %u has %d worker%s busy (dispatch_workers_per_uid = %d): its caller "
	        "runs the event itself\n",
	        (int)getpid(), (unsigned)cred.uid, busy - 1, busy - 1 == 1 ? "" : "s", busy_cap);
	return 0;
}

static void peer_done(void)
{
	if (busy_peers != NULL && busy_slot >= 0)
		__atomic_store_n(&busy_peers[busy_slot], 0u, __ATOMIC_SEQ_CST);
}

static struct dsvc_counters *counters;   /* shared (MAP_SHARED), NULL before dsvc_serve */
static struct slot *volatile pool_slots; /* volatile: a store nothing reads is kept */
static dsvc_reporter_fn reporter_fn;
static void *reporter_ctx;

void dsvc_set_reporter(dsvc_reporter_fn reporter, void *ctx)
{
	reporter_fn = reporter;
	reporter_ctx = ctx;
}

static void on_stop(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void serve_connection(int conn, dsvc_run_fn run, void *ctx)
{
	if (send_all(conn, "R", 1) != 0)
		return;
	struct dsvc_request req;
	char err[256];
	if (dsvc_receive(conn, &req, err, sizeof err) != 0) {
		if (err[0] != '\0')
			fprintf(stderr, "prov-dispatchd[%d]: %s\n", (int)getpid(), err);
		return;
	}
	struct dsvc_stdio s;
	int code = 70;                     /* EX_SOFTWARE */
	if (send_all(conn, "A", 1) != 0) { /* the caller is gone: it runs the event itself */
		dsvc_request_close(&req);
		return;
	}
	if (dsvc_stdio_take(&s, req.fds) == 0) {
		if (counters != NULL)
			__atomic_add_fetch(&counters->busy, 1, __ATOMIC_RELAXED);
		code = run(ctx, req.argc, req.argv);
		if (counters != NULL) {
			__atomic_sub_fetch(&counters->busy, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&counters->served, 1, __ATOMIC_RELAXED);
		}
		dsvc_stdio_restore(&s);
	} else {
		fprintf(stderr, "prov-dispatchd[%d]: cannot take the caller's stdio: %s\n", (int)getpid(),
		        strerror(errno));
	}
	dsvc_request_close(&req);        /* before the reply: the caller's pipes close with it */
	peer_done();                     /* and the caller's next event may take this worker */
	if (dsvc_reply(conn, code) != 0) /* the caller is gone (billing killed it): the run stays logged */
		fprintf(stderr, "prov-dispatchd[%d]: the caller left before its exit code %d\n",
		        (int)getpid(), code);
}

int dsvc_worker_loop(int listen_fd, dsvc_run_fn run, void *ctx)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN); /* a caller gone away is an error to report, not a death */
	sigset_t waiting;         /* the stop signals arrive only while waiting for a caller */
	sigprocmask(SIG_SETMASK, NULL, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	while (!worker_stop) {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};
		if (ppoll(&p, 1, NULL, &waiting) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				continue; /* another worker took it */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				fprintf(stderr, "prov-dispatchd[%d]: accept: %s\n", (int)getpid(),
				        strerror(errno));
				struct timespec pause = {.tv_nsec = 100 * 1000000};
				nanosleep(&pause,
				          NULL); /* the caller falls back after its wait; retry later */
				continue;
			}
			return -1;
		}
		if (peer_admit(conn)) /* else closed before "R": that caller runs its event itself */
			serve_connection(conn, run, ctx);
		peer_done();
		close(conn);
	}
	return 0;
}

/* ---------------------------------------------------------------- pool */

struct slot {
	pid_t pid;
	long long started_ms;
};

static pid_t spawn(int slot, int (*worker_main)(void *), void *ctx)
{
	fflush(NULL);
	pid_t master = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		busy_slot = slot;
		/* A master killed with -9 takes its workers with it (each finishes
		 * its run first): they would keep the socket live and a new service
		 * could not start. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
			_exit(0);
		sigset_t chld;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &chld, NULL); /* script handlers are waited for */
		exit(worker_main(ctx));
	}
	return pid;
}

/* The reporter's process (its own slot, not a worker's), started before the
 * workers; the master waits (up to a second) until it has taken its name and
 * said its pid, so that ps and the tests tell it from the workers as soon as
 * they are ready. */
static pid_t spawn_reporter(const char *prog)
{
	int named[2];
	if (pipe2(named, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid_t master = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		close(named[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master)
			_exit(0);
		prctl(PR_SET_NAME, DSVC_REPORTER_NAME);
		fprintf(stderr, "%s[%d]: metrics reporter ready\n", prog, (int)getpid());
		if (write(named[1], "N", 1) != 1) /* the master then starts the workers anyway */
			fprintf(stderr, "%s: %s\n", DSVC_REPORTER_NAME, strerror(errno));
		close(named[1]);
		exit(reporter_fn(reporter_ctx, counters));
	}
	close(named[1]);
	if (pid > 0) {
		struct pollfd p = {.fd = named[0], .events = POLLIN};
		char c;
		if (poll(&p, 1, 1000) == 1 && read(named[0], &c, 1) < 0)
			c = 0;
	}
	close(named[0]);
	return pid;
}

static void reap(const char *prog, struct slot *slots, int n, struct slot *reporter)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == reporter->pid)
			reporter->pid = 0;
		for (int i = 0; i < n; i++) {
			if (slots[i].pid == pid) {
				slots[i].pid = 0;
				if (busy_peers != NULL) /* it died serving someone: the slot is free */
					__atomic_store_n(&busy_peers[i], 0u, __ATOMIC_SEQ_CST);
			}
		}
		if (WIFSIGNALED(status))
			fprintf(stderr, "%s: worker %d killed by signal %d; starting another\n", prog,
			        (int)pid, WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0)
			fprintf(stderr, "%s: worker %d exited with %d; starting another\n", prog, (int)pid,
			        WEXITSTATUS(status));
	}
}

/* fds 0-2 must be open: a worker swaps a caller's in and back out. */
static int stdio_open(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return -1;
	return 0;
}

int dsvc_serve(const char *prog, const char *path, int listen_fd, int workers, int per_uid,
               int (*worker_main)(void *ctx), void *ctx)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP); /* a terminal hang-up: a clean stop, not a death by signal */
	sigaddset(&set, SIGCHLD);
	struct slot *slots = calloc((size_t)workers, sizeof *slots);
	pool_slots = slots; /* a forked worker exits holding it: reachable, not a leak */
	struct slot reporter = {0};
	counters = mmap(NULL, sizeof *counters, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counters == MAP_FAILED)
		counters = NULL;
	if (slots == NULL || counters == NULL || stdio_open() != 0 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		fprintf(stderr, "%s: cannot start the workers: %s\n", prog, strerror(errno));
		free(slots);
		if (counters != NULL)
			munmap(counters, sizeof *counters);
		counters = NULL;
		return 70;
	}
	*counters = (struct dsvc_counters){.workers = workers, .started = (long long)time(NULL)};
	if (per_uid > 0 && per_uid < workers) {
		void *shared = mmap(NULL, (size_t)workers * sizeof *busy_peers, PROT_READ | PROT_WRITE,
		                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED) {
			fprintf(stderr, "%s: cannot start the workers: %s\n", prog, strerror(errno));
			free(slots);
			return 70;
		}
		busy_peers = shared;
		busy_slots = workers;
		busy_cap = per_uid;
	}
	fprintf(stderr, "%s: serving on %s with %d workers\n", prog, path, workers);
	for (;;) {
		long long now = monotonic_ms();
		if (reporter_fn != NULL && reporter.pid == 0 && now - reporter.started_ms >= 1000) {
			reporter.started_ms = now;
			if ((reporter.pid = spawn_reporter(prog)) < 0) {
				fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
				reporter.pid = 0;
			}
		}
		for (int i = 0; i < workers; i++) {
			if (slots[i].pid != 0 || now - slots[i].started_ms < 1000)
				continue; /* a worker that dies at once is restarted once a second */
			slots[i].started_ms = now;
			if ((slots[i].pid = spawn(i, worker_main, ctx)) < 0) {
				fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
				slots[i].pid = 0;
			}
		}
		struct timespec tick = {.tv_sec = 1};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
			break;
		reap(prog, slots, workers, &reporter);
	}
	/* New callers find no socket and run their events themselves; callers
	 * already queued get no "R" (the listening socket closes with the last
	 * worker) or give up after dispatch_wait_ms, and run theirs. */
	unlink(path);
	close(listen_fd);
	for (int i = 0; i < workers; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGTERM);
	/* Each worker finishes the run it is in (bounded by its handlers' timeouts). */
	for (int i = 0; i < workers; i++)
		if (slots[i].pid > 0)
			while (waitpid(slots[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
	/* Then the reporter, which writes the stopped pool (no worker) last. */
	counters->workers = 0;
	if (reporter.pid > 0) {
		kill(reporter.pid, SIGTERM);
		while (waitpid(reporter.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	munmap(counters, sizeof *counters);
	counters = NULL;
	free(slots);
	pool_slots = NULL;
	if (busy_peers != NULL)
		munmap(busy_peers, (size_t)busy_slots * sizeof *busy_peers);
	busy_peers = NULL;
	/* The stop signals stay blocked: a second SIGTERM now must not turn a
	 * clean stop into a death by signal. */
	fprintf(stderr, "%s: stopped\n", prog);
	return 0;
}
