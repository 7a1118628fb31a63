/* web_io: ClearSilver's cgiwrap (input, output, environment) over the
 * FastCGI request being served, and what of the environment it may read. */
#include "web_io.h"

#include <ClearSilver.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int io_read(void *data, char *buf, int len)
{
	FCGX_Request *fcgx = data;
	return FCGX_GetStr(buf, len, fcgx->in);
}

static int io_writef(void *data, const char *fmt, va_list ap)
{
	FCGX_Request *fcgx = data;
	return FCGX_VFPrintF(fcgx->out, fmt, ap);
}

static int io_write(void *data, const char *buf, int len)
{
	FCGX_Request *fcgx = data;
	int written = FCGX_PutStr(buf, len, fcgx->out);
	return written == len ? len : -1;
}

/* What ClearSilver may read of the request's environment: what cgi_init and
 * cgi_parse need for the method, the form body, the query string and the
 * cookies. It asks for some 150 names (CGI.*, SSL.*) and copies every HTTP_*
 * header into the HDF, each lookup a scan of the FastCGI parameters: that
 * cost more than the rest of a cached page. Pages read other parameters
 * (PATH_INFO, HTTPS) through FCGX directly. */
static const char *const cgi_env_names[] = {
    "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING", "HTTP_COOKIE",
};
#define CGI_ENV_HEADERS_FROM 4 /* the HTTP_* ones, offered to io_iterenv */

static int cgi_env_allowed(const char *name)
{
	for (size_t i = 0; i < sizeof cgi_env_names / sizeof cgi_env_names[0]; i++)
		if (strcmp(name, cgi_env_names[i]) == 0)
			return 1;
	return 0;
}

static char *io_getenv(void *data, const char *name)
{
	FCGX_Request *fcgx = data;
	if (!cgi_env_allowed(name))
		return NULL;
	const char *value = FCGX_GetParam(name, fcgx->envp);
	return value ? strdup(value) : NULL;
}

/* The index-th HTTP_* variable of cgi_env_names that the request has. */
static int io_iterenv(void *data, int index, char **name, char **value)
{
	FCGX_Request *fcgx = data;
	*name = *value = NULL;
	int seen = 0;
	for (size_t i = CGI_ENV_HEADERS_FROM; i < sizeof cgi_env_names / sizeof cgi_env_names[0]; i++) {
		const char *found = FCGX_GetParam(cgi_env_names[i], fcgx->envp);
		if (found == NULL || seen++ != index)
			continue;
		*name = strdup(cgi_env_names[i]);
		*value = strdup(found);
		if (*name == NULL || *value == NULL) {
			free(*name);
			free(*value);
			*name = *value = NULL;
			return -1;
		}
		return 0;
	}
	return 0;
}

void web_io_attach(FCGX_Request *fcgx)
{
	cgiwrap_init_emu(fcgx, io_read, io_writef, io_write, io_getenv, NULL, io_iterenv);
}
