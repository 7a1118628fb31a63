/* route: the one path matcher (patterns are literal text with '#' for an id)
 * and the request line both FastCGI front ends read. */
#include "route.h"

#include <fcgiapp.h>
#include <stddef.h>

int route_match(const char *pattern, const char *path, long long *id)
{
	while (*pattern && *path) {
		if (*pattern == '#') {
			long long value = 0;
			int digits = 0;
			while (*path >= '0' && *path <= '9') {
				if (++digits > 15)
					return 0;
				value = value * 10 + (*path++ - '0');
			}
			if (digits == 0 || value <= 0)
				return 0;
			*id = value;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *pattern == '\0' && *path == '\0';
}

void route_request_line(char **envp, const char **method, const char **path)
{
	*method = FCGX_GetParam("REQUEST_METHOD", envp);
	*path = FCGX_GetParam("PATH_INFO", envp);
	if (*method == NULL)
		*method = "GET";
	if (*path == NULL || (*path)[0] == '\0')
		*path = "/";
}
