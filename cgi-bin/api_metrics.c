/* api_metrics: GET /metrics (and /api/v1/metrics), the Prometheus text
 * exposition of core/metrics.c. Any live key may read it (viewer keys too),
 * or none from an address in metrics_allow (api.c checks that). */
#include "api.h"

#include "../core/api.h"
#include "metrics.h"

#include <stdio.h>

void api_metrics(struct api_request *req)
{
	struct db *db = api_db(req);
	if (db == NULL)
		return;
	struct metrics_out out;
	metrics_out_init(&out, METRICS_MAX_BYTES);
	char err[512];
	if (metrics_collect(db, &api_app(req)->cfg, &out, err, sizeof err) != 0) {
		fprintf(stderr, "prov-api: %s\n", err);
		api_fail(req, 500, "the metrics could not be read; the server log says why", "internal",
		         NULL);
	} else {
		api_reply_text(req, 200, METRICS_CONTENT_TYPE, out.text, out.len);
	}
	metrics_out_free(&out);
}
