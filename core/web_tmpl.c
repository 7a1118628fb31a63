/* web_tmpl: the per-process cache of parsed ClearSilver templates.
 * Parsing (cs_init + cs_parse_file of a page and the header/footer it
 * includes) cost more than rendering; the tree it builds only depends on
 * the template files and the Config.* values below, never on request data:
 * variables are looked up in parse->hdf at render time, which points at the
 * request's HDF only for the duration of cs_render. */
#include "web_tmpl.h"

#include <stdio.h>
#include <string.h>

#define TMPL_MAX 32
#define TMPL_NAME_MAX 64
#define TMPL_DIR_MAX 1024

struct tmpl {
	char name[TMPL_NAME_MAX];
	CSPARSE *cs;
};

static struct tmpl cache[TMPL_MAX];
static size_t ncache;
static HDF *parse_hdf; /* what parsing reads: escaping default, load path */
static char parse_dir[TMPL_DIR_MAX];

void web_tmpl_clear(void)
{
	for (size_t i = 0; i < ncache; i++)
		cs_destroy(&cache[i].cs);
	ncache = 0;
	hdf_destroy(&parse_hdf);
	parse_dir[0] = '\0';
}

/* The settings request_begin() also gives every request HDF. */
static NEOERR *parse_hdf_for(const char *dir)
{
	if (parse_hdf != NULL && strcmp(parse_dir, dir) == 0)
		return STATUS_OK;
	if (strlen(dir) >= sizeof parse_dir)
		return nerr_raise(NERR_ASSERT, "templates_dir is too long");
	web_tmpl_clear();
	NEOERR *err = hdf_init(&parse_hdf);
	if (err == STATUS_OK)
		err = hdf_set_value(parse_hdf, "Config.VarEscapeMode", "html");
	if (err == STATUS_OK)
		err = hdf_set_value(parse_hdf, "Config.TimeFooter", "0");
	if (err == STATUS_OK)
		err = hdf_set_value(parse_hdf, "Config.DebugEnabled", "0");
	if (err == STATUS_OK)
		err = hdf_set_value(parse_hdf, "hdf.loadpaths.0", dir);
	if (err != STATUS_OK) {
		hdf_destroy(&parse_hdf);
		return nerr_pass(err);
	}
	snprintf(parse_dir, sizeof parse_dir, "%s", dir);
	return STATUS_OK;
}

static NEOERR *parse(const char *name, CSPARSE **out)
{
	CSPARSE *cs = NULL;
	NEOERR *err = cs_init(&cs, parse_hdf);
	if (err == STATUS_OK)
		err = cgi_register_strfuncs(cs);
	if (err == STATUS_OK)
		err = cs_parse_file(cs, name);
	if (err != STATUS_OK) {
		cs_destroy(&cs);
		return nerr_pass(err);
	}
	*out = cs;
	return STATUS_OK;
}

static NEOERR *append(void *ctx, char *text)
{
	return nerr_pass(string_append((STRING *)ctx, text));
}

static NEOERR *render(CSPARSE *cs, HDF *data, STRING *out)
{
	cs->hdf = data;
	NEOERR *err = cs_render(cs, out, append);
	cs->hdf = parse_hdf; /* no pointer into a request outlives it */
	return nerr_pass(err);
}

NEOERR *web_tmpl_render(const char *templates_dir, const char *name, HDF *data, STRING *out)
{
	NEOERR *err = parse_hdf_for(templates_dir);
	if (err != STATUS_OK)
		return nerr_pass(err);
	for (size_t i = 0; i < ncache; i++) {
		if (strcmp(cache[i].name, name) != 0)
			continue;
		err = render(cache[i].cs, data, out);
		if (err != STATUS_OK) {
			/* A render that stopped half way may leave locals behind: start afresh. */
			cs_destroy(&cache[i].cs);
			cache[i] = cache[--ncache];
		}
		return nerr_pass(err);
	}
	CSPARSE *cs = NULL;
	err = parse(name, &cs);
	if (err != STATUS_OK)
		return nerr_pass(err);
	err = render(cs, data, out);
	if (err == STATUS_OK && ncache < TMPL_MAX && strlen(name) < TMPL_NAME_MAX) {
		snprintf(cache[ncache].name, TMPL_NAME_MAX, "%s", name);
		cache[ncache++].cs = cs;
	} else {
		cs_destroy(&cs);
	}
	return nerr_pass(err);
}
