/* cgi_guard: refuse, loudly, to run as anything but a FastCGI application. */
#include "cgi_guard.h"

#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>

int cgi_guard_fastcgi(const char *program)
{
	if (!FCGX_IsCGI())
		return 0;
	int as_cgi = getenv("GATEWAY_INTERFACE") != NULL;
	fprintf(stderr,
	        "%s: not started as a FastCGI application (stdin is not a listening socket)%s: run it under "
	        "mod_fcgid or another FastCGI server\n",
	        program, as_cgi ? "; it was run as a plain CGI" : "");
	if (as_cgi) {
		fputs("Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
		      "This program runs under FastCGI only; see the server's error log.\n",
		      stdout);
		if (fflush(stdout) != 0)
			fprintf(stderr, "%s: the 500 answer could not be written\n", program);
	}
	return -1;
}
