/* utf8: the one cut of a UTF-8 string at a character boundary, for text
 * quoted into messages that go out as JSON (which takes valid UTF-8 only). */
#ifndef PROV_UTF8_H
#define PROV_UTF8_H

#include <string.h>

/* How many bytes of s, at most max, end on a character boundary. */
static inline size_t utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

#endif
