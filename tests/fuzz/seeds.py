#!/usr/bin/env python3
"""seeds.py: write the starting inputs of each fuzz harness into
corpus/<harness>/seed-*; realistic inputs taken from the README and the tests.
libFuzzer grows the corpus from there; `tests/fuzz/run.sh merge` keeps it small."""
import json, os, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


ev = {"events_id": "clients.update", "id": "evt-1.a:b", "dt": "2024-05-01T12:00:00Z", "object_id": 12}
data = {"name": "Jane", "tariff": "basic", "balance": 12.5, "tags": ["a", "ü"]}
write("fuzz_envelope", "full", json.dumps({"event": ev, "data": data}))
write("fuzz_envelope", "minimal", '{"event":{"events_id":"clients.create"},"data":{}}')
write("fuzz_envelope", "fraction", '{"event":{"events_id":"clients.delete","dt":"2024-02-29T23:59:59.123456Z","object_id":null},"data":{"x":null}}')
write("fuzz_envelope", "batch", '{"event":{"events_id":"clients.update","object_id":1},"data":{"a":1}}\r\n\n'
      '{"event":{"events_id":"nope"},"data":{}}\n{"event":{},"data":[]}\nnot json\n')
write("fuzz_envelope", "dt", "2024-05-01T12:00:00.5Z")

write("fuzz_reply", "empty", " \r\n")
write("fuzz_reply", "allow", '{"allow":true}')
write("fuzz_reply", "forbid", '{"allow":false,"reason":"the client owes \u00e9 money"}')
write("fuzz_reply", "data", '{"data":{"tariff":"gold","n":[1,2,3]}}')
write("fuzz_reply", "bad", '{"allow":"yes","data":[1]}')
write("fuzz_reply", "ok", "OK")
write("fuzz_reply", "utf8", b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80\xc0\xaf\xff")

write("fuzz_form", "handler-post",
      "\nprov_session=abc; prov_csrf=tok\n"
      "csrf_token=tok&name=Sync+client&events_id=clients.update&task=https%3A%2F%2Fcrm.example.com%2Fhook"
      "&status=enabled&priority=10&timeout=2.5&retry_enabled=on&retry_schedule=5s%2C5m%2C2h"
      "&retry_max_attempts=5&secret_action=generate")
write("fuzz_form", "script-post",
      "return=%2Fhandlers%3Fpage%3D2\n\nname=Script&events_id=clients.create&task=notify.sh&timeout=1&retry_enabled=0")
write("fuzz_form", "logs-get",
      "handler=3&event=clients.update&status=fail&q=timeout+50%25_x&from=2024-05-01&to=2024-05-02+12%3A30&before=99\n\n")
write("fuzz_form", "login", "\nprov_csrf=x\nusername=admin&password=p%40ss&csrf_token=x")
write("fuzz_form", "repeated", "a=1&a=2&a.b=3&name[]=x\nk=v; k=w\nname=1&name=2")

write("fuzz_config", "minimal", "db_user = prov\ndb_name = provisioning\nscripts_dir = /srv/scripts\n")
write("fuzz_config", "full",
      "# comment\n\n  db_user=u  \r\ndb_name = n\nscripts_dir=/s\ndb_port = 3307\ndb_password = p a s s\n"
      "db_socket = /run/mysqld/mysqld.sock\ntemplates_dir=/t\ncache_path=/c.json\nspool_dir=/sp\n"
      "session_ttl = 600\nrequest_max_bytes = 2048\npayload_max_bytes=1048576\nresponse_max_bytes = 65536\n"
      "log_retention_days = 90\ndispatch_socket = /run/d.sock\njournal_sync = 1\n")
write("fuzz_config", "bad", "db_user = u\ndb_name n\ndb_port = 70000\n")


def record(payload):
    b = payload.encode() if isinstance(payload, str) else payload
    return b"S1 %d %08x\n" % (len(b), zlib.crc32(b) & 0xffffffff) + b + b"\n"


begin = {"k": "begin", "trigger": "dispatch", "delivery_id": "0123456789abcdef0123456789abcdef", "attempt": 1,
         "events_id": "clients.update", "event_uid": "evt-1", "object_id": 12, "handler_id": 3,
         "handler_name": "CRM", "retry": {"enabled": True, "schedule": "5s,5m", "max_attempts": 3},
         "queue_id": 0, "started_us": 1714564800000000,
         "request": json.dumps({"event": ev, "data": data})}
end = {"k": "end", "delivery_id": begin["delivery_id"], "attempt": 1, "success": False, "http_status": 503,
       "exit_code": None, "started_us": 1714564800000000, "duration_us": 1200,
       "request_headers": "Content-Type: application/json", "response": "busy", "response_truncated": False,
       "response_headers": "Retry-After: 5", "stderr": "", "error": "HTTP 503",
       "queue": {"action": "enqueue", "outcome": "reschedule", "delay": 5}, "decided_us": 1714564800001200}
retry = dict(begin, trigger="retry", attempt=2, queue_id=7)
end_ok = dict(end, attempt=2, success=True, http_status=200, error="", response='{"allow":true}',
              queue={"action": "finish", "outcome": "done", "delay": 0})
write("fuzz_spool", "pair", record(json.dumps(begin)) + record(json.dumps(end)))
write("fuzz_spool", "interrupted", record(json.dumps(begin)))
write("fuzz_spool", "retry", record(json.dumps(retry)) + record(json.dumps(end_ok)) + record(json.dumps(begin)))
write("fuzz_spool", "torn", record(json.dumps(begin)) + record(json.dumps(end))[:-20])
write("fuzz_spool", "lines", json.dumps(retry) + "\n" + json.dumps(end_ok) + "\n" + json.dumps(begin))
write("fuzz_spool", "corrupt", record("garbage") .replace(b"S1 7", b"S1 8") + record(json.dumps(begin)))

write("fuzz_logs_filter", "all",
      "handler=3&event=clients.update&status=fail&q=time%25out_x!&from=2024-05-01&to=2024-05-02%2012:30&before=99")
write("fuzz_logs_filter", "seconds", "from=2024-05-01+00:00:01&to=2024-05-01+00:00:01&after=5")
write("fuzz_logs_filter", "bad", "handler=x&status=maybe&from=2024-13-01&to=yesterday&before=-1&after=1")
write("fuzz_logs_filter", "text", "q=%C3%A9t%C3%A9+%F0%9F%98%80&event=")

h = {"name": "Sync client to CRM", "events_id": "clients.update", "task": "https://crm.example.com/hooks",
     "status": "enabled", "priority": 10, "timeout_ms": 2500, "retry_enabled": True,
     "retry_schedule": "5s,1m,10m", "retry_max_attempts": 5, "secret_action": "generate"}
write("fuzz_api_body", "create", json.dumps(h))
write("fuzz_api_body", "script", '{"name":"Script","events_id":"clients.create","task":"notify.sh","retry_schedule":null}')
write("fuzz_api_body", "patch", '{"priority":2,"timeout_ms":100}')
write("fuzz_api_body", "status", '{"status":"disabled"}')
write("fuzz_api_body", "bad", '{"priority":"1","colour":"red","timeout_ms":-5}')
write("fuzz_api_body", "hostport", '{"task":"crm.local:8080/hook","retry_enabled":false,"secret_action":"remove"}')
