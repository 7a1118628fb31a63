/* web_io: ClearSilver's cgiwrap hooks over a FastCGI request (core/web.c
 * attaches them to each request before cgi_init). */
#ifndef PROV_WEB_IO_H
#define PROV_WEB_IO_H

#include <fcgiapp.h>

/* Point ClearSilver's input, output and environment at fcgx until the next call. */
void web_io_attach(FCGX_Request *fcgx);

#endif
