/* monotonic: the one reading of CLOCK_MONOTONIC for timeouts, durations and
 * ages. Header-only, so the musl-built prov-dispatch front uses it too. */
#ifndef PROV_MONOTONIC_H
#define PROV_MONOTONIC_H

#include <time.h>

static inline long long monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline long long monotonic_ms(void)
{
	return monotonic_us() / 1000;
}

#endif
