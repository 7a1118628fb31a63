#!/bin/sh
# sample.sh: a script handler to copy from (`make run` installs it in its
# scripts_dir; point a handler's task at "sample.sh"). The protocol (README,
# "The dispatcher", and prov-dispatch(1)):
#   stdin        the envelope: {"event":{"id","dt","events_id","object_id"},"data":{...}}
#   environment  PROV_EVENT, PROV_EVENT_ID, PROV_HANDLER_ID, PROV_HANDLER_NAME,
#                PROV_DELIVERY_ID (the same on every retry: de-duplicate on it),
#                PROV_ATTEMPT, PROV_TRIGGER (dispatch, retry or manual)
#   stdout       the reply: nothing (allowed, data unchanged);
#                {"data":{...}} (replaces the data for the next handlers and billing);
#                {"allow":false,"reason":"..."} (forbids the action, stops the chain)
#   stderr       kept in the Execution Log
#   exit status  0: success; anything else: a failure, retried when the handler
#                has retries on
# No shell runs it: the dispatcher executes it directly, in its own process
# group, killed at the handler's timeout.
set -eu

envelope=$(cat)
echo "sample.sh: ${PROV_EVENT:-?} event ${PROV_EVENT_ID:-?}, handler ${PROV_HANDLER_ID:-?}, delivery ${PROV_DELIVERY_ID:-?}, attempt ${PROV_ATTEMPT:-?} (${PROV_TRIGGER:-?}), ${#envelope} bytes" >&2

case $envelope in
  *'"forbid":true'*)
    # Data carrying "forbid":true is refused: billing does not do the action.
    printf '{"allow":false,"reason":"the sample handler refuses data with \\"forbid\\":true"}\n'
    ;;
  *'"fail":true'*)
    echo "sample.sh: failing on purpose (\"fail\":true)" >&2
    exit 1
    ;;
  *)
    # Allowed, data unchanged. A real handler would provision here, then
    # answer {"data":{...}} to hand billing changed data.
    printf '{"allow":true}\n'
    ;;
esac
