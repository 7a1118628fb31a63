/* cli: shared argument and start-up handling for the bin/ programs. */
#include "cli.h"

#include "config.h"
#include "db.h"
#include "history.h"

#include <pwd.h>

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
	/* What a command changes is recorded as made by the CLI's user (history.h). */
	const struct passwd *pw = getpwuid(getuid());
	char actor[HISTORY_ACTOR_MAX + 1];
	snprintf(actor, sizeof actor, "cli:%.64s",
	         pw != NULL && pw->pw_name != NULL ? pw->pw_name : "unknown");
	history_set_actor("cli", actor);
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

/* Characters of UTF-8 text: bytes that do not continue a sequence. */
static size_t text_width(const char *text)
{
	size_t width = 0;
	for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
		width += (*c & 0xC0) != 0x80;
	return width;
}

static void table_line(FILE *out, size_t ncols, const char *const *cells, const size_t *widths)
{
	for (size_t c = 0; c < ncols; c++) {
		const char *text = cells[c] != NULL ? cells[c] : "-";
		fputs(text, out);
		if (c + 1 < ncols)
			fprintf(out, "%*s", (int)(widths[c] - text_width(text) + 2), "");
	}
	fputc('\n', out);
}

void cli_table_print(FILE *out, size_t ncols, const char *const headers[], const char *const *cells,
                     size_t nrows)
{
	size_t widths[16] = {0};
	if (ncols == 0 || ncols > sizeof widths / sizeof widths[0])
		return;
	for (size_t c = 0; c < ncols; c++)
		widths[c] = text_width(headers[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			const char *text = cells[r * ncols + c];
			size_t width = text_width(text != NULL ? text : "-");
			if (width > widths[c])
				widths[c] = width;
		}
	table_line(out, ncols, headers, widths);
	for (size_t r = 0; r < nrows; r++)
		table_line(out, ncols, cells + r * ncols, widths);
}
