/* route: matching request paths against page patterns, shared by the panel
 * (web.c) and the JSON API (api.c). */
#ifndef PROV_ROUTE_H
#define PROV_ROUTE_H

/* 1 when path matches pattern; '#' matches one segment of digits (an id > 0,
 * at most 15 digits) whose value goes to *id. */
int route_match(const char *pattern, const char *path, long long *id);

/* The request's method and path from its FastCGI parameters (envp), with
 * the defaults both front ends use: GET, and "/" for an empty path. */
void route_request_line(char **envp, const char **method, const char **path);

#endif
