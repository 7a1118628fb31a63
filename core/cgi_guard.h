/* cgi_guard: the panel and the API are FastCGI programs. Started any other
 * way (as a plain CGI by a web server, or from a shell) libfcgi's first
 * accept fails at once, and they used to exit 0 having said nothing. */
#ifndef PROV_CGI_GUARD_H
#define PROV_CGI_GUARD_H

/* 0 when the process was started as a FastCGI application (stdin is the
 * listening socket). Otherwise -1, after one line on stderr naming program
 * and the reason, and, when a web server started it as a CGI
 * (GATEWAY_INTERFACE is set), a 500 answer on stdout. */
int cgi_guard_fastcgi(const char *program);

#endif
