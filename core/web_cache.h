/* web_cache: rendered pages kept per panel process, so that a page whose data
 * has not changed is answered without being queried and rendered again. Each
 * entry is a slot (what the page is: address, query string, session) holding
 * one version (what its data was: chosen by the page); a slot stores its
 * newest version only. Bounded: WEB_CACHE_ENTRIES entries, WEB_CACHE_BYTES in
 * all, the least recently used go first. One request at a time per process. */
#ifndef PROV_WEB_CACHE_H
#define PROV_WEB_CACHE_H

#include <stddef.h>

#define WEB_CACHE_ENTRIES 16
#define WEB_CACHE_BYTES (1024 * 1024)

/* The body kept for slot at exactly version, or NULL. Valid until the next
 * web_cache_store or web_cache_clear. */
const char *web_cache_find(const char *slot, const char *version, size_t *len);

/* Keep a copy of body for slot at version, replacing what slot held. Returns 0,
 * or -1 when it is not kept (larger than the cache, or out of memory); the
 * slot's older version is dropped either way. */
int web_cache_store(const char *slot, const char *version, const char *body, size_t len);

/* Drop every entry (tests; the end of the process). */
void web_cache_clear(void);

/* Entries and bytes held now (tests). */
size_t web_cache_count(void);
size_t web_cache_bytes(void);

#endif
