/* fuzz_form: a panel request's input as core/web.c reads it: ClearSilver's
 * cgi_init and cgi_parse over a query string, a cookie header and a
 * url-encoded POST body (through cgiwrap, as web_io.c wires it), then the
 * parameters read as web_param does and validated as the pages do: the
 * handler form (handler_validate), the logs filter (logs_query_parse), the
 * login and CSRF fields. Input: "query\ncookie\nbody". */
#include "fuzz_util.h"
#include "fuzz_scripts.h"

#include "handlers.h"
#include "logs.h"

#include <ClearSilver.h>
#include <stdarg.h>

struct request {
	const char *query, *cookie, *body;
	size_t body_len, body_read;
	char length[32];
};

static int io_read(void *data, char *buf, int len)
{
	struct request *r = data;
	size_t n = r->body_len - r->body_read;
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, r->body + r->body_read, n);
	r->body_read += n;
	return (int)n;
}

static int io_writef(void *data, const char *fmt, va_list ap)
{
	(void)data;
	(void)fmt;
	(void)ap;
	return 0;
}

static int io_write(void *data, const char *buf, int len)
{
	(void)data;
	(void)buf;
	return len;
}

static const char *request_env(struct request *r, const char *name)
{
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return r->body_len ? "POST" : "GET";
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return r->body_len ? "application/x-www-form-urlencoded" : NULL;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return r->body_len ? r->length : NULL;
	if (strcmp(name, "QUERY_STRING") == 0)
		return r->query;
	if (strcmp(name, "HTTP_COOKIE") == 0)
		return r->cookie[0] ? r->cookie : NULL;
	return NULL;
}

static char *io_getenv(void *data, const char *name)
{
	const char *value = request_env(data, name);
	return value ? strdup(value) : NULL;
}

static int io_iterenv(void *data, int index, char **name, char **value)
{
	struct request *r = data;
	*name = *value = NULL;
	if (index == 0 && r->cookie[0]) {
		*name = strdup("HTTP_COOKIE");
		*value = strdup(r->cookie);
	}
	return 0;
}

/* web_param's lookup: a repeated field is a node with children, take the first. */
static const char *param(HDF *hdf, const char *name)
{
	char key[128];
	snprintf(key, sizeof key, "Query.%s", name);
	HDF *node = hdf_get_obj(hdf, key);
	if (node == NULL)
		return NULL;
	HDF *child = hdf_obj_child(node);
	return child ? hdf_obj_value(child) : hdf_obj_value(node);
}

static void validate(HDF *hdf)
{
	static struct handler h;
	static struct handler_errors errors;
	static struct logs_query q;
	struct handler_input in = {
	    .name = param(hdf, "name"),
	    .events_id = param(hdf, "events_id"),
	    .task = param(hdf, "task"),
	    .status = param(hdf, "status"),
	    .priority = param(hdf, "priority"),
	    .timeout = param(hdf, "timeout"),
	    .retry_enabled = param(hdf, "retry_enabled"),
	    .retry_schedule = param(hdf, "retry_schedule"),
	    .retry_max_attempts = param(hdf, "retry_max_attempts"),
	    .secret_action = param(hdf, "secret_action"),
	    .old_secret_hours = param(hdf, "old_secret_hours"),
	    .signature_scheme = param(hdf, "signature_scheme"),
	};
	memset(&errors, 0, sizeof errors);
	if (handler_validate(&in, fuzz_scripts_dir(), "", &h, &errors) != 0 &&
	    (errors.count == 0 || errors.count > HANDLER_FIELD_ERRORS_MAX))
		abort();
	struct logs_input filter = {
	    .handler = param(hdf, "handler"),
	    .event = param(hdf, "event"),
	    .status = param(hdf, "status"),
	    .text = param(hdf, "q"),
	    .from = param(hdf, "from"),
	    .to = param(hdf, "to"),
	    .before = param(hdf, "before"),
	    .after = param(hdf, "after"),
	};
	logs_query_parse(&filter, &q);
	const char *names[] = {"username", "password", "csrf_token", "return", "to", "id", "done"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = param(hdf, names[i]);
		if (v != NULL && strlen(v) > 1 << 20)
			abort();
	}
	hdf_get_value(hdf, "Cookie.prov_session", NULL);
	hdf_get_value(hdf, "Cookie.prov_csrf", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	char *rest = text;
	struct request r;
	memset(&r, 0, sizeof r);
	r.query = fuzz_next_part(&rest, '\n');
	r.cookie = fuzz_next_part(&rest, '\n');
	r.body = rest;
	r.body_len = strlen(rest);
	snprintf(r.length, sizeof r.length, "%zu", r.body_len);
	cgiwrap_init_emu(&r, io_read, io_writef, io_write, io_getenv, NULL, io_iterenv);

	HDF *hdf = NULL;
	CGI *cgi = NULL;
	NEOERR *err = hdf_init(&hdf);
	if (err == STATUS_OK)
		err = hdf_set_value(hdf, "Config.VarEscapeMode", "html");
	if (err == STATUS_OK)
		err = cgi_init(&cgi, hdf); /* cgi owns hdf from here, even on failure */
	else
		hdf_destroy(&hdf);
	if (err == STATUS_OK)
		err = cgi_parse(cgi);
	if (err == STATUS_OK)
		validate(cgi->hdf);
	nerr_ignore(&err);
	cgi_destroy(&cgi);
	free(text);
	return 0;
}
