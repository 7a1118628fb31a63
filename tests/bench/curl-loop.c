/* curl-loop URL N BODY_FILE: the floor of a delivery, the bare libcurl
 * keep-alive loop the batch bench compares prov-dispatch --batch with: N
 * POSTs of the body to URL on one easy handle (one connection), the reply
 * read and thrown away. Prints "requests=N seconds=S per_second=R". */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ctx)
{
	(void)ptr;
	(void)ctx;
	return size * nmemb;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: curl-loop URL N BODY_FILE\n");
		return 64;
	}
	long n = strtol(argv[2], NULL, 10);
	static char body[65536];
	FILE *f = fopen(argv[3], "rb");
	size_t len = f ? fread(body, 1, sizeof body - 1, f) : 0;
	if (f)
		fclose(f);
	if (n < 1 || len == 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "curl-loop: bad arguments or no libcurl\n");
		return 64;
	}
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (curl == NULL || headers == NULL)
		return 70;
	curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		long status = 0;
		if (curl_easy_perform(curl) != CURLE_OK ||
		    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
			fprintf(stderr, "curl-loop: request %ld failed (HTTP %ld)\n", i, status);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("requests=%ld seconds=%.3f per_second=%.0f\n", n, s, (double)n / s);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return 0;
}
