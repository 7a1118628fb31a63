/* auth: the cryptographic primitives the panel and the API rely on:
 * password hashing (libcrypt), random tokens (getrandom), SHA-256 digests. */
#ifndef PROV_AUTH_H
#define PROV_AUTH_H

#include <stddef.h>

#define AUTH_TOKEN_BYTES 32
#define AUTH_HEX_LEN (2 * AUTH_TOKEN_BYTES) /* also the SHA-256 hex length */

/* bytes as lowercase hex into out (2*n+1 bytes). Inline: the dispatcher uses
 * it without linking libcrypt. */
static inline void auth_hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Fill out (2*nbytes+1 bytes) with nbytes of random data as lowercase hex. */
int auth_random_hex(char *out, size_t outlen, size_t nbytes);

/* yescrypt hash of password into out (CRYPT_OUTPUT_SIZE bytes is enough). */
int auth_password_hash(const char *password, char *out, size_t outlen);

/* 1 when password matches hash, 0 otherwise (including a malformed hash). */
int auth_password_verify(const char *password, const char *hash);

/* SHA-256 of data as 64 hex chars plus NUL. */
void auth_sha256_hex(const void *data, size_t len, char out[AUTH_HEX_LEN + 1]);

/* Constant-time string equality. */
int auth_equal(const char *a, const char *b);

#endif
