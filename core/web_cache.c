/* web_cache: the per-process store of rendered pages (see web_cache.h). Each
 * entry is one allocation holding its slot, version and body, owned by the
 * table below. */
#include "web_cache.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char *block; /* slot '\0' version '\0' body; NULL: free */
	size_t slot_len;
	size_t version_len;
	size_t body_len;
	unsigned long long used; /* larger: used more recently */
};

static struct entry table[WEB_CACHE_ENTRIES];
static size_t held_bytes;
static unsigned long long clock_tick;

static size_t entry_size(const struct entry *e)
{
	return e->slot_len + e->version_len + e->body_len + 2;
}

static void drop(struct entry *e)
{
	if (e->block == NULL)
		return;
	held_bytes -= entry_size(e);
	free(e->block);
	memset(e, 0, sizeof *e);
}

static struct entry *find_slot(const char *slot, size_t slot_len)
{
	for (size_t i = 0; i < WEB_CACHE_ENTRIES; i++) {
		struct entry *e = &table[i];
		if (e->block != NULL && e->slot_len == slot_len && memcmp(e->block, slot, slot_len) == 0)
			return e;
	}
	return NULL;
}

const char *web_cache_find(const char *slot, const char *version, size_t *len)
{
	size_t slot_len = strlen(slot);
	size_t version_len = strlen(version);
	struct entry *e = find_slot(slot, slot_len);
	if (e == NULL || e->version_len != version_len ||
	    memcmp(e->block + slot_len + 1, version, version_len) != 0)
		return NULL;
	e->used = ++clock_tick;
	*len = e->body_len;
	return e->block + slot_len + version_len + 2;
}

static struct entry *least_recent(void)
{
	struct entry *oldest = NULL;
	for (size_t i = 0; i < WEB_CACHE_ENTRIES; i++)
		if (table[i].block != NULL && (oldest == NULL || table[i].used < oldest->used))
			oldest = &table[i];
	return oldest;
}

static struct entry *free_entry(void)
{
	for (size_t i = 0; i < WEB_CACHE_ENTRIES; i++)
		if (table[i].block == NULL)
			return &table[i];
	return NULL;
}

int web_cache_store(const char *slot, const char *version, const char *body, size_t len)
{
	size_t slot_len = strlen(slot);
	size_t version_len = strlen(version);
	struct entry *old = find_slot(slot, slot_len);
	if (old != NULL)
		drop(old);
	size_t size = slot_len + version_len + len + 2;
	if (size > WEB_CACHE_BYTES || size < len)
		return -1;
	while (held_bytes + size > WEB_CACHE_BYTES || free_entry() == NULL) {
		struct entry *oldest = least_recent();
		if (oldest == NULL)
			return -1; /* cannot happen: the limits leave room in an empty table */
		drop(oldest);
	}
	char *block = malloc(size);
	if (block == NULL)
		return -1;
	memcpy(block, slot, slot_len + 1);
	memcpy(block + slot_len + 1, version, version_len + 1);
	if (len > 0)
		memcpy(block + slot_len + version_len + 2, body, len);
	struct entry *e = free_entry();
	*e = (struct entry){.block = block,
	                    .slot_len = slot_len,
	                    .version_len = version_len,
	                    .body_len = len,
	                    .used = ++clock_tick};
	held_bytes += size;
	return 0;
}

void web_cache_clear(void)
{
	for (size_t i = 0; i < WEB_CACHE_ENTRIES; i++)
		drop(&table[i]);
	held_bytes = 0;
}

size_t web_cache_count(void)
{
	size_t n = 0;
	for (size_t i = 0; i < WEB_CACHE_ENTRIES; i++)
		n += table[i].block != NULL;
	return n;
}

size_t web_cache_bytes(void)
{
	return held_bytes;
}
