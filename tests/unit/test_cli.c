/* Unit tests: the command line's shared table printer (apikey list and the
 * like): columns stay aligned whatever the length of a value. */
#include "cli.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Characters (UTF-8) before byte offset at in line. */
static size_t column_of(const char *line, size_t at)
{
	size_t width = 0;
	for (size_t i = 0; i < at; i++)
		width += ((unsigned char)line[i] & 0xC0) != 0x80;
	return width;
}

/* The character column at which each cell of line starts (cells are split by
 * two or more spaces); returns how many were found. */
static size_t cell_starts(const char *line, size_t *starts, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; line[i] != '\0' && line[i] != '\n' && n < max; i++)
		if (line[i] != ' ' && (i == 0 || (i >= 2 && line[i - 1] == ' ' && line[i - 2] == ' ')))
			starts[n++] = column_of(line, i);
	return n;
}

static void long_values_keep_the_columns_aligned(void **state)
{
	(void)state;
	const char *headers[] = {"ID", "USER", "LAST USED", "NAME"};
	const char *cells[] = {
	    "1",
	    "admin",
	    NULL,
	    "deploy",
	    "22",
	    "a-very-long-user-name-that-is-longer-than-twenty-characters",
	    "2026-01-01 10:00:00",
	    "billing key",
	    "333",
	    "zoë-ünïcode",
	    NULL,
	    "ü",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	cli_table_print(out, 4, headers, cells, 3);
	assert_int_equal(fclose(out), 0);
	print_message("%s", text);
	size_t expect[4], got[4];
	char *line = text;
	assert_int_equal(cell_starts(line, expect, 4), 4);
	int lines = 0;
	for (line = strchr(line, '\n'); line != NULL && line[1] != '\0'; line = strchr(line + 1, '\n')) {
		assert_int_equal(cell_starts(line + 1, got, 4), 4);
		assert_memory_equal(got, expect, sizeof expect);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(text);
}

static void a_missing_cell_prints_as_a_dash(void **state)
{
	(void)state;
	const char *headers[] = {"A", "B"};
	const char *cells[] = {NULL, NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	cli_table_print(out, 2, headers, cells, 1);
	assert_int_equal(fclose(out), 0);
	assert_string_equal(text, "A  B\n-  -\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(long_values_keep_the_columns_aligned),
	    cmocka_unit_test(a_missing_cell_prints_as_a_dash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
