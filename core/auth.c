/* auth: password hashing, random tokens and digests. No I/O besides getrandom. */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

int auth_random_hex(char *out, size_t outlen, size_t nbytes)
{
	unsigned char bytes[64];
	if (nbytes > sizeof bytes || outlen < 2 * nbytes + 1)
		return -1;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(bytes + got, nbytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	auth_hex(bytes, nbytes, out);
	OPENSSL_cleanse(bytes, sizeof bytes);
	return 0;
}

int auth_password_hash(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data data;
	/* NULL random bytes: libcrypt draws them from the kernel itself. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) == NULL)
		return -1;
	memset(&data, 0, sizeof data);
	const char *hash = crypt_rn(password, salt, &data, sizeof data);
	if (hash == NULL || hash[0] == '*' || strlen(hash) >= outlen) {
		OPENSSL_cleanse(&data, sizeof data);
		return -1;
	}
	memcpy(out, hash, strlen(hash) + 1);
	OPENSSL_cleanse(&data, sizeof data);
	return 0;
}

int auth_password_verify(const char *password, const char *hash)
{
	struct crypt_data data;
	if (hash == NULL || hash[0] != '$')
		return 0;
	memset(&data, 0, sizeof data);
	const char *computed = crypt_rn(password, hash, &data, sizeof data);
	int ok = computed != NULL && computed[0] != '*' && auth_equal(computed, hash);
	OPENSSL_cleanse(&data, sizeof data);
	return ok;
}

void auth_sha256_hex(const void *data, size_t len, char out[AUTH_HEX_LEN + 1])
{
	/* Fetched once per process: EVP_sha256() makes OpenSSL 3 look the
	 * algorithm up again on every digest, once per panel request. */
	static EVP_MD *sha256;
	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (EVP_Digest(data, len, digest, &dlen, sha256 ? sha256 : EVP_sha256(), NULL) != 1 || dlen != 32) {
		out[0] = '\0'; /* never equal to a stored digest */
		return;
	}
	auth_hex(digest, dlen, out);
}

int auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}
