/* config: parsing and validation of "key = value" configuration files.
 * Every key is declared once in config_keys[] with its type and bounds. */
#include "config.h"

#include "netpolicy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type { KEY_STRING, KEY_PATH, KEY_LONG };

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;          /* buffer size for strings */
	long min, max;        /* bounds for integers */
	const char *fallback; /* NULL: required */
};

#define STR_KEY(n, def)                                                                                      \
	{                                                                                                    \
#n, KEY_STRING, offsetof(struct config, n), sizeof(((struct config *)0)->n), 0, 0, def       \
	}
#define PATH_KEY(n, def)                                                                                     \
	{                                                                                                    \
#n, KEY_PATH, offsetof(struct config, n), sizeof(((struct config *)0)->n), 0, 0, def         \
	}
#define LONG_KEY(n, lo, hi, def)                                                                             \
	{                                                                                                    \
#n, KEY_LONG, offsetof(struct config, n), 0, lo, hi, def                                     \
	}

static const struct config_key config_keys[] = {
    PATH_KEY(db_socket, ""),
    STR_KEY(db_host, "localhost"),
    LONG_KEY(db_port, 1, 65535, "3306"),
    STR_KEY(db_user, NULL),
    STR_KEY(db_password, ""),
    STR_KEY(db_name, NULL),
    LONG_KEY(db_connect_timeout, 1, 60, "3"),
    PATH_KEY(scripts_dir, NULL),
    PATH_KEY(templates_dir, "/usr/share/provisioning/templates"),
    PATH_KEY(cache_path, "/var/lib/provisioning/cache.json"),
    PATH_KEY(spool_dir, "/var/spool/provisioning"),
    LONG_KEY(session_ttl, 60, 30L * 24 * 3600, "28800"),
    LONG_KEY(login_max_failures, 1, 1000, "5"),
    LONG_KEY(login_lock_seconds, 1, 24L * 3600, "900"),
    LONG_KEY(login_max_failures_per_address, 0, 1000000, "20"),
    LONG_KEY(request_max_bytes, 1024, 16L * 1024 * 1024, "65536"),
    LONG_KEY(page_size_default, 5, 500, "25"),
    LONG_KEY(payload_max_bytes, 1024, 15L * 1024 * 1024, "1048576"), /* MEDIUMTEXT columns hold 16 MiB */
    LONG_KEY(response_max_bytes, 1024, 64L * 1024 * 1024, "65536"),
    LONG_KEY(log_retention_days, 1, 36500, "90"),
    LONG_KEY(retry_retention_days, 1, 36500, "30"),
    LONG_KEY(cache_generations_keep, 2, 1000000, "20"),
    LONG_KEY(auto_disable_failures, 0, 1000000, "0"),
    LONG_KEY(batch_generation_check_ms, 0, 3600000, "1000"),
    PATH_KEY(dispatch_socket, ""),
    LONG_KEY(dispatch_workers, 1, 256, "4"),
    LONG_KEY(dispatch_wait_ms, 0, 60000, "100"),
    LONG_KEY(dispatch_read_timeout_ms, 100, 600000, "10000"),
    LONG_KEY(dispatch_workers_per_uid, 0, 256, "0"),
    LONG_KEY(journal_sync, 0, 1, "0"),
    STR_KEY(outbound_allow, ""), /* "": loopback, private, link-local... all refused */
    LONG_KEY(metrics_rollup_retention_days, 1, 36500, "35"),
    STR_KEY(metrics_allow, ""), /* "": every scrape needs a key */
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])

static void fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int config_take_option(int *argc, char **argv, const char **path)
{
	*path = NULL;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= *argc)
				return -1;
			*path = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--config=", 9) == 0) {
			*path = argv[i] + 9;
			if (**path == '\0')
				return -1;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

const char *config_resolve_path(const char *cli_path)
{
	if (cli_path != NULL && cli_path[0] != '\0')
		return cli_path;
	const char *env = getenv("PROV_CONFIG");
	if (env != NULL && env[0] != '\0')
		return env;
	return CONFIG_DEFAULT_PATH;
}

static const struct config_key *find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Store value for key; returns NULL or a description of what is wrong (a
 * static text, or one written into why: an integer's range). */
static const char *set_value(struct config *cfg, const struct config_key *key, const char *value, char *why,
                             size_t whylen)
{
	char *base = (char *)cfg;
	switch (key->type) {
	case KEY_PATH:
		if (value[0] != '\0' && value[0] != '/')
			return "must be an absolute path";
		/* fall through */
	case KEY_STRING:
		if (strlen(value) >= key->size)
			return "is too long";
		memcpy(base + key->offset, value, strlen(value) + 1);
		return NULL;
	case KEY_LONG: {
		char *end;
		errno = 0;
		long number = strtol(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno == ERANGE)
			return "must be an integer";
		if (number < key->min || number > key->max) {
			snprintf(why, whylen, "is out of range: %ld is not in %ld-%ld", number, key->min,
			         key->max);
			return why;
		}
		memcpy(base + key->offset, &number, sizeof number);
		return NULL;
	}
	}
	return "has an unknown type";
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 &&
	       (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	unsigned char seen[NKEYS] = {0};
	memset(cfg, 0, sizeof *cfg);
	if (strlen(path) >= sizeof cfg->path) {
		fail(err, errlen, "config: path is too long");
		return -1;
	}
	memcpy(cfg->path, path, strlen(path) + 1);

	FILE *file = fopen(path, "r");
	if (file == NULL) {
		fail(err, errlen, "config %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char line[2048];
	int lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, file) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(file)) {
			fail(err, errlen, "config %s:%d: line is too long", path, lineno);
			rc = -1;
			break;
		}
		char *text = trim(line);
		if (text[0] == '\0' || text[0] == '#')
			continue;
		char *eq = strchr(text, '=');
		if (eq == NULL) {
			fail(err, errlen, "config %s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *name = trim(text);
		char *value = trim(eq + 1);
		const struct config_key *key = find_key(name);
		if (key == NULL) {
			fail(err, errlen, "config %s:%d: unknown key '%s'", path, lineno, name);
			rc = -1;
			break;
		}
		char why[128];
		const char *problem = set_value(cfg, key, value, why, sizeof why);
		if (problem != NULL) {
			fail(err, errlen, "config %s:%d: key '%s' %s", path, lineno, name, problem);
			rc = -1;
			break;
		}
		seen[key - config_keys] = 1;
	}
	if (rc == 0 && ferror(file)) {
		fail(err, errlen, "config %s: read error", path);
		rc = -1;
	}
	fclose(file);
	char why[256];
	for (size_t i = 0; rc == 0 && i < NKEYS; i++) {
		if (seen[i])
			continue;
		if (config_keys[i].fallback == NULL) {
			fail(err, errlen, "config %s: missing required key '%s'", path, config_keys[i].name);
			rc = -1;
		} else if (set_value(cfg, &config_keys[i], config_keys[i].fallback, why, sizeof why) !=
		           NULL) {
			fail(err, errlen, "config: bad built-in default for '%s'", config_keys[i].name);
			rc = -1;
		}
	}
	if (rc == 0 && netpolicy_parse(cfg->outbound_allow, NULL, why, sizeof why) != 0) {
		fail(err, errlen, "config %s: key 'outbound_allow' %s", path, why);
		rc = -1;
	}
	if (rc == 0 && netpolicy_parse(cfg->metrics_allow, NULL, why, sizeof why) != 0) {
		fail(err, errlen, "config %s: key 'metrics_allow' %s", path, why);
		rc = -1;
	}
	return rc;
}
