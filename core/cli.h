/* cli: what every command-line program shares: --config lookup, opening the
 * config and the database with one-line errors, and the exit codes (sysexits). */
#ifndef PROV_CLI_H
#define PROV_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <sysexits.h>

struct config;
struct db;

/* Exit codes shared by all programs (documented in --help and README). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_USAGE EX_USAGE             /* 64: bad arguments or input */
#define CLI_EXIT_UNAVAILABLE EX_UNAVAILABLE /* 69: database unreachable */
#define CLI_EXIT_SOFTWARE EX_SOFTWARE       /* 70: internal error */
#define CLI_EXIT_CANTCREAT EX_CANTCREAT     /* 73: the spool journal cannot be written */
#define CLI_EXIT_CONFIG EX_CONFIG           /* 78: configuration missing or invalid */

/* The start every program shares: --help/-h prints usage (returns 0), then
 * --config FILE is taken out of argv (a missing FILE prints "PROG: --config
 * needs a file" and returns CLI_EXIT_USAGE). Returns -1 when main goes on. */
int cli_begin(int *argc, char **argv, const char *prog, const char *usage, const char **config_path);

/* Load the config (after --config / $PROV_CONFIG / default). On failure
 * prints "PROG: reason" and returns CLI_EXIT_CONFIG; else 0. */
int cli_load_config(const char *prog, const char *cli_path, struct config *cfg);

/* Open the database, or print "PROG: reason" and return NULL. */
struct db *cli_open_db(const char *prog, const struct config *cfg);

/* Read one line (without its newline) from stream into buf. Returns its
 * length, or -1 when empty input, too long (> buflen-1) or unreadable. */
long cli_read_line(FILE *stream, char *buf, size_t buflen);

/* Print a table: a header line, then nrows rows of ncols cells (cells is
 * row-major; a NULL cell prints as "-"). Each column but the last is as wide
 * as its widest cell, counted in characters (UTF-8), with two spaces between
 * columns, so that long values never push a row out of line. */
void cli_table_print(FILE *out, size_t ncols, const char *const headers[], const char *const *cells,
                     size_t nrows);

#endif
