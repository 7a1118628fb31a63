/* delivery_sign: the two signature schemes a handler may choose (X-Prov-Signature,
 * Stripe's format; Standard Webhooks) and which secrets sign a request while a
 * rotation's window lasts. HMAC and base64 are OpenSSL's. */
#include "delivery.h"

#include "auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

#define SIGN_MAC_LEN 32 /* SHA-256 */
#define STANDARD_SECRET_PREFIX "whsec_"
#define STANDARD_KEY_MAX 128

size_t delivery_signing_secrets(const struct delivery_handler *h, long long now,
                                const char *out[DELIVERY_SECRETS_MAX])
{
	size_t n = 0;
	if (h->secret == NULL || h->secret[0] == '\0')
		return 0;
	out[n++] = h->secret;
	if (h->old_secret != NULL && h->old_secret[0] != '\0' && now < h->old_secret_until &&
	    strcmp(h->old_secret, h->secret) != 0)
		out[n++] = h->old_secret;
	return n;
}

struct sign_part {
	const void *bytes;
	size_t len;
};

/* HMAC-SHA256 of the parts one after the other, without copying the body. */
static int hmac_sha256(const void *key, size_t key_len, const struct sign_part *parts, size_t nparts,
                       unsigned char mac[SIGN_MAC_LEN])
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	                       OSSL_PARAM_construct_end()};
	unsigned char out[EVP_MAX_MD_SIZE];
	size_t out_len = 0;
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	int ok = ctx != NULL && EVP_MAC_init(ctx, key, key_len, params) == 1;
	for (size_t i = 0; ok && i < nparts; i++)
		ok = EVP_MAC_update(ctx, parts[i].bytes, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &out_len, sizeof out) == 1 && out_len == SIGN_MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	if (ok)
		memcpy(mac, out, SIGN_MAC_LEN);
	OPENSSL_cleanse(out, sizeof out);
	return ok ? 0 : -1;
}

int delivery_sign(const char *const secrets[], size_t nsecrets, long long unix_time, const char *body,
                  size_t body_len, char out[DELIVERY_SIGNATURE_MAX])
{
	if (nsecrets == 0 || nsecrets > DELIVERY_SECRETS_MAX)
		return -1;
	char stamp[32];
	int stamp_len = snprintf(stamp, sizeof stamp, "%lld.", unix_time);
	if (stamp_len < 0 || (size_t)stamp_len >= sizeof stamp)
		return -1;
	struct sign_part parts[] = {{stamp, (size_t)stamp_len}, {body, body_len}};
	size_t used = (size_t)snprintf(out, DELIVERY_SIGNATURE_MAX, "t=%lld", unix_time);
	for (size_t i = 0; i < nsecrets; i++) {
		unsigned char mac[SIGN_MAC_LEN];
		char hex[2 * SIGN_MAC_LEN + 1];
		if (hmac_sha256(secrets[i], strlen(secrets[i]), parts, 2, mac) != 0)
			return -1;
		auth_hex(mac, sizeof mac, hex);
		int n = snprintf(out + used, DELIVERY_SIGNATURE_MAX - used, ",v1=%s", hex);
		if (n < 0 || (size_t)n >= DELIVERY_SIGNATURE_MAX - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

int delivery_standard_key(const char *secret, unsigned char *key, size_t keymax)
{
	size_t prefix = strlen(STANDARD_SECRET_PREFIX);
	if (strncmp(secret, STANDARD_SECRET_PREFIX, prefix) != 0)
		return -1;
	const char *text = secret + prefix;
	size_t len = strlen(text);
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t chars = strspn(text, alphabet);
	size_t pad = len - chars;
	if (chars == 0 || pad > 2 || strspn(text + chars, "=") != pad)
		return -1;
	/* EVP_DecodeBlock wants whole 4-character groups: padding is put back. */
	char padded[STANDARD_KEY_MAX / 3 * 4 + 4];
	size_t groups = (chars + 3) / 4 * 4;
	if (chars % 4 == 1 || groups >= sizeof padded || (pad > 0 && chars + pad != groups))
		return -1;
	memcpy(padded, text, chars);
	memset(padded + chars, '=', groups - chars);
	padded[groups] = '\0';
	unsigned char decoded[sizeof padded];
	int n = EVP_DecodeBlock(decoded, (const unsigned char *)padded, (int)groups);
	/* It counts the padding's zero bytes as decoded: take them off. */
	int key_len = n < 0 ? -1 : n - (int)(groups - chars);
	if (key_len <= 0 || (size_t)key_len > keymax) {
		OPENSSL_cleanse(decoded, sizeof decoded);
		return -1;
	}
	memcpy(key, decoded, (size_t)key_len);
	OPENSSL_cleanse(decoded, sizeof decoded);
	OPENSSL_cleanse(padded, sizeof padded);
	return key_len;
}

int delivery_sign_standard(const char *const secrets[], size_t nsecrets, const char *msg_id,
                           long long unix_time, const char *body, size_t body_len,
                           char out[DELIVERY_SIGNATURE_MAX])
{
	if (nsecrets == 0 || nsecrets > DELIVERY_SECRETS_MAX)
		return -1;
	char stamp[32];
	int stamp_len = snprintf(stamp, sizeof stamp, ".%lld.", unix_time);
	if (stamp_len < 0 || (size_t)stamp_len >= sizeof stamp)
		return -1;
	struct sign_part parts[] = {{msg_id, strlen(msg_id)}, {stamp, (size_t)stamp_len}, {body, body_len}};
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < nsecrets; i++) {
		unsigned char key[STANDARD_KEY_MAX], mac[SIGN_MAC_LEN];
		int key_len = delivery_standard_key(secrets[i], key, sizeof key);
		int ok = key_len > 0 && hmac_sha256(key, (size_t)key_len, parts, 3, mac) == 0;
		OPENSSL_cleanse(key, sizeof key);
		if (!ok)
			return -1;
		char encoded[4 * ((SIGN_MAC_LEN + 2) / 3) + 1];
		EVP_EncodeBlock((unsigned char *)encoded, mac, SIGN_MAC_LEN);
		int n = snprintf(out + used, DELIVERY_SIGNATURE_MAX - used, "%sv1,%s", i ? " " : "", encoded);
		if (n < 0 || (size_t)n >= DELIVERY_SIGNATURE_MAX - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}
