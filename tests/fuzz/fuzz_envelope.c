/* fuzz_envelope: the dispatcher's batch input (prov-dispatchd --batch): lines
 * split as read_batch_line does, each parsed as run_batch_line does
 * (json_loadb + dispatch_envelope_read), and an envelope that reads back is
 * written again (dispatch_envelope) and must read back the same (its dt to
 * the millisecond, what handlers are sent). Also
 * dispatch_parse_dt on the raw input. */
#include "fuzz_util.h"

#include "dispatch.h"

#include <jansson.h>

#define LINE_MAX_BYTES 65536 /* stands in for payload_max_bytes */

static void check_round_trip(const struct dispatch_event *event, json_t *data)
{
	json_t *again = dispatch_envelope(event, data);
	if (again == NULL)
		return;
	char *text = json_dumps(again, JSON_COMPACT);
	json_decref(again);
	if (text == NULL)
		return;
	json_t *parsed = json_loads(text, 0, NULL);
	struct dispatch_event back;
	json_t *back_data = NULL;
	char err[1024];
	if (parsed == NULL || dispatch_envelope_read(parsed, &back, &back_data, err, sizeof err) != 0) {
		fprintf(stderr, "an envelope written by dispatch_envelope does not read back: %s\n%s\n",
		        parsed ? err : "not JSON", text);
		abort();
	}
	if (strcmp(back.events_id, event->events_id) != 0 || strcmp(back.uid, event->uid) != 0 ||
	    back.dt_us != event->dt_us / 1000 * 1000 || back.has_object_id != event->has_object_id ||
	    (back.has_object_id && back.object_id != event->object_id) || !json_equal(back_data, data)) {
		fprintf(stderr, "an envelope reads back different: %s\n", text);
		abort();
	}
	json_decref(back_data);
	json_decref(parsed);
	free(text);
}

static void run_line(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *envelope = json_loadb(text, len, 0, &jerr);
	if (envelope == NULL)
		return;
	struct dispatch_event event;
	json_t *data = NULL;
	char err[1024];
	int rc = dispatch_envelope_read(envelope, &event, &data, err, sizeof err);
	json_decref(envelope);
	if (rc != 0) {
		fuzz_require_utf8("dispatch_envelope_read's reason (a --batch result line)", err);
		return;
	}
	check_round_trip(&event, data);
	json_decref(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[LINE_MAX_BYTES + 1];
	size_t i = 0;
	while (i < size) {
		size_t len = 0;
		int has_nul = 0, too_long = 0;
		for (; i < size && data[i] != '\n'; i++) {
			has_nul |= data[i] == '\0';
			if (len + 1 < sizeof buf)
				buf[len++] = (char)data[i];
			else
				too_long = 1;
		}
		i++; /* the '\n' */
		if (len > 0 && buf[len - 1] == '\r')
			len--;
		buf[len] = '\0';
		if (!too_long && !has_nul && len > 0)
			run_line(buf, len);
	}

	char *text = fuzz_string(data, size);
	long long us;
	if (dispatch_parse_dt(text, &us) == 0 && us < 0) {
		fprintf(stderr, "dispatch_parse_dt: a time before 1970: %s\n", text);
		abort();
	}
	free(text);
	return 0;
}
