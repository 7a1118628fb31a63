/* route: the one path matcher. Patterns are literal text with '#' for an id. */
#include "route.h"

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
