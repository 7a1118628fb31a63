# Sourced by benchmarks: bench_nginx_start DIR starts nginx answering every
# request with `return 200 '{}'` on a free loopback port (the fast receiver),
# sets nginx_pid and nginx_url, and waits until it answers.
bench_nginx_start() {
  local dir=$1 port
  mkdir -p "$dir"
  port=$(prov_free_port)
  cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '{}'; }
  }
}
NGINX
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' &
  nginx_pid=$!
  nginx_url=http://127.0.0.1:$port/ok
  prov_wait_for 10 curl -fsS -o /dev/null -X POST --data '{}' "$nginx_url" ||
    { echo "bench: nginx did not start" >&2; cat "$dir/error.log" >&2; return 1; }
}
