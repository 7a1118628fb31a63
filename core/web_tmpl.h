/* web_tmpl: ClearSilver templates parsed once per process and rendered
 * against each request's own HDF (the parse tree holds no request data). */
#ifndef PROV_WEB_TMPL_H
#define PROV_WEB_TMPL_H

#include <ClearSilver.h>

/* Render templates_dir/name with data into out (appended). The first render
 * of a name parses it (with HTML escaping as the default) and keeps the tree
 * for the life of the process; a template changed on disk is read again only
 * by a new process (Apache reload). */
NEOERR *web_tmpl_render(const char *templates_dir, const char *name, HDF *data, STRING *out);

/* Free every kept parse tree (process exit, tests). */
void web_tmpl_clear(void);

#endif
