/* cli: shared argument and start-up handling for the bin/ programs. */
#include "cli.h"

#include "config.h"
#include "db.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_begin(int *argc, char **argv, const char *prog, const char *usage, const char **config_path)
{
	for (int i = 1; i < *argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return CLI_EXIT_OK;
		}
	if (config_take_option(argc, argv, config_path) != 0) {
		fprintf(stderr, "%s: --config needs a file (see --help)\n", prog);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

int cli_load_config(const char *prog, const char *cli_path, struct config *cfg)
{
	char err[1024];
	const char *path = config_resolve_path(cli_path);
	if (config_load(path, cfg, err, sizeof err) == 0)
		return 0;
	if (access(path, R_OK) != 0) {
		/* Say where the path came from and how to name another file. */
		const char *env = getenv("PROV_CONFIG");
		const char *from = cli_path != NULL && cli_path[0] != '\0' ? "given with --config"
		                   : env != NULL && env[0] != '\0'         ? "from PROV_CONFIG"
		                                                           : "the default";
		fprintf(stderr,
		        "%s: %s (%s; name the configuration file with --config FILE or PROV_CONFIG=FILE)\n",
		        prog, err, from);
	} else {
		fprintf(stderr, "%s: %s\n", prog, err);
	}
	return CLI_EXIT_CONFIG;
}

struct db *cli_open_db(const char *prog, const struct config *cfg)
{
	char err[1024];
	struct db *db = db_open(cfg, err, sizeof err);
	if (db == NULL)
		fprintf(stderr, "%s: %s\n", prog, err);
	return db;
}

long cli_read_line(FILE *stream, char *buf, size_t buflen)
{
	if (fgets(buf, (int)buflen, stream) == NULL)
		return -1;
	size_t len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(stream))
		return -1; /* longer than the buffer */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return len == 0 ? -1 : (long)len;
}
