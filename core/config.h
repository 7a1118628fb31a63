/* config: the one configuration file every program reads (SPEC section 9).
 * Lookup order: --config FILE, then $PROV_CONFIG, then the default path. */
#ifndef PROV_CONFIG_H
#define PROV_CONFIG_H

#include <stddef.h>

#define CONFIG_DEFAULT_PATH "/etc/provisioning/provisioning.conf"
#define CONFIG_PATH_MAX 1024
#define CONFIG_VALUE_MAX 256

struct config {
	char path[CONFIG_PATH_MAX]; /* the file this was read from */

	/* database */
	char db_socket[CONFIG_PATH_MAX]; /* empty: use db_host/db_port */
	char db_host[CONFIG_VALUE_MAX];
	long db_port;
	char db_user[CONFIG_VALUE_MAX];
	char db_password[CONFIG_VALUE_MAX];
	char db_name[CONFIG_VALUE_MAX];
	long db_connect_timeout;

	/* files */
	char scripts_dir[CONFIG_PATH_MAX];
	char templates_dir[CONFIG_PATH_MAX];
	char cache_path[CONFIG_PATH_MAX];
	char spool_dir[CONFIG_PATH_MAX];

	/* panel */
	long session_ttl;        /* seconds of inactivity before a session ends */
	long login_max_failures; /* failed logins of one name (known or not) before it locks */
	long login_lock_seconds; /* the window the failures are counted in, and how long a lock lasts */
	/* failed logins from one source address (IPv6: its /64) before it locks; 0: off */
	long login_max_failures_per_address;
	long request_max_bytes; /* largest POST body a page accepts */
	long page_size_default;

	/* dispatcher and delivery */
	long payload_max_bytes;  /* largest event data on stdin */
	long response_max_bytes; /* response body kept in the log */
	long log_retention_days;

	/* retention (with the log purge) */
	long retry_retention_days;   /* done and exhausted retry_queue rows older than this go */
	long cache_generations_keep; /* published snapshots kept (the current one always) */

	/* delivery guarantees */
	long auto_disable_failures;     /* 0: off; else disable a handler after this many failures in a row */
	long batch_generation_check_ms; /* prov-dispatch --batch: how old a generation check may get */

	/* the dispatcher service (prov-dispatchd --serve) */
	char dispatch_socket[108];     /* its Unix socket (sun_path's size); empty: no service */
	long dispatch_workers;         /* resident dispatcher processes */
	long dispatch_wait_ms;         /* how long prov-dispatch waits for a free one */
	long dispatch_read_timeout_ms; /* the event data must arrive on stdin within this (service and direct
	                                  runs) */
	long dispatch_workers_per_uid; /* 0: no cap; else at most this many workers busy for one caller uid */

	/* durability */
	long journal_sync; /* 1: each delivery's request record is fdatasynced before it is sent */

	/* outbound destination policy (netpolicy.h) */
	char outbound_allow[1024]; /* networks HTTP handlers may reach beyond public addresses */

	/* metrics (GET /metrics) */
	long metrics_rollup_retention_days; /* exec_rollup minutes kept by the purge */
	char metrics_allow[1024];           /* client networks that may scrape without a key; "": none */
};

/* Remove "--config FILE" / "--config=FILE" from argv, returning FILE or NULL.
 * Returns -1 when --config has no value. */
int config_take_option(int *argc, char **argv, const char **path);

/* Resolve which file to read: cli_path if set, else $PROV_CONFIG, else default. */
const char *config_resolve_path(const char *cli_path);

/* Read and validate path into cfg. On failure returns -1 and writes a
 * one-line message naming the file, line and key into err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

#endif
