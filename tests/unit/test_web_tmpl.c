/* Unit tests: a template parsed once renders each request's data alone, with
 * HTML escaping, and keeps no state from one render to the next (core/web_tmpl). */
#include "web_tmpl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/prov-tmpl-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	write_file("head.cs", "[<?cs var:Title ?>]");
	/* set: on a name the data may lack, an each loop's local, a macro's
	 * argument, a url_escape() call, and an include. */
	write_file("page.cs", "<?cs include:\"head.cs\" ?>"
	                      "<?cs def:item(x) ?>(<?cs var:x ?>)<?cs /def ?>"
	                      "<?cs if:?Flag ?><?cs set:kind = \"flagged\" ?><?cs /if ?>"
	                      "kind=<?cs var:kind ?>;"
	                      "<?cs each:r = Rows ?><?cs call:item(r.Name) ?><?cs /each ?>;"
	                      "r=<?cs var:r.Name ?>;"
	                      "u=<?cs var:url_escape(Link) ?>");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	web_tmpl_clear();
	char path[256];
	snprintf(path, sizeof path, "%s/head.cs", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/page.cs", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static char *render(HDF *hdf)
{
	STRING out;
	string_init(&out);
	NEOERR *err = web_tmpl_render(dir, "page.cs", hdf, &out);
	if (err != STATUS_OK) {
		nerr_ignore(&err);
		string_clear(&out);
		return NULL;
	}
	char *text = strdup(out.buf ? out.buf : "");
	string_clear(&out);
	return text;
}

static void renders_each_request_alone(void **state)
{
	(void)state;
	HDF *first = NULL, *second = NULL;
	assert_null(hdf_init(&first));
	assert_null(hdf_set_value(first, "Title", "<b>one</b>"));
	assert_null(hdf_set_value(first, "Flag", "1"));
	assert_null(hdf_set_value(first, "Rows.0.Name", "a&b"));
	assert_null(hdf_set_value(first, "Rows.1.Name", "\"q\""));
	assert_null(hdf_set_value(first, "Link", "x y/&"));
	char *one = render(first);
	assert_non_null(one);
	assert_string_equal(one,
	                    "[&lt;b&gt;one&lt;/b&gt;]kind=flagged;(a&amp;b)(&quot;q&quot;);r=;u=x+y%2F%26");
	hdf_destroy(&first);

	/* Same process, same parse tree, other data: nothing of the first shows. */
	assert_null(hdf_init(&second));
	assert_null(hdf_set_value(second, "Title", "two<"));
	assert_null(hdf_set_value(second, "Rows.0.Name", "<i>"));
	char *two = render(second);
	assert_non_null(two);
	assert_string_equal(two, "[two&lt;]kind=;(&lt;i&gt;);r=;u=");
	/* The first render's set: went into its own data, not into the template. */
	assert_null(hdf_get_value(second, "kind", NULL));
	hdf_destroy(&second);
	free(one);
	free(two);
}

static void a_missing_template_is_an_error(void **state)
{
	(void)state;
	HDF *hdf = NULL;
	assert_null(hdf_init(&hdf));
	STRING out;
	string_init(&out);
	NEOERR *err = web_tmpl_render(dir, "nope.cs", hdf, &out);
	assert_non_null(err);
	nerr_ignore(&err);
	string_clear(&out);
	hdf_destroy(&hdf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(renders_each_request_alone),
	    cmocka_unit_test(a_missing_template_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
