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

/* Trusted answers. A slot's body just answered as current (checked against
 * the database) is vouched for under trust, a key naming the address and the
 * session (web.c: a digest of both), at now_ms (monotonic). Until within_ms
 * later, web_cache_find_trusted answers that body again for that key without
 * a check: the very bytes that session was shown, so nothing is disclosed
 * that it was not shown already, and nothing is missed for longer than
 * within_ms. A key names one entry at a time: vouching moves it. A slot
 * replaced by web_cache_store is vouched for no more. */
#define WEB_CACHE_TRUST_LEN 64
void web_cache_vouch(const char *slot, const char *trust, long long now_ms);
const char *web_cache_find_trusted(const char *trust, long long now_ms, long long within_ms, size_t *len);

/* Drop every entry (tests; the end of the process). */
void web_cache_clear(void);

/* Entries and bytes held now (tests). */
size_t web_cache_count(void);
size_t web_cache_bytes(void);

#endif
