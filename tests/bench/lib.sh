# shellcheck shell=bash
# Shared helpers of get_bench.sh and mount_bench.sh (see README.md). Sourced, not run: it only
# defines functions and has no effect of its own.
#
# The caller defines `die MESSAGE` (prints its own prefix, exits 2) and these globals where a
# function says it uses them:
#   WORK          temp dir for the nginx config, logs and pid file
#   DATA_DIR      the directory nginx serves (it must hold a file `ready`)
#   RATE          limit_rate of the /capped/ location (e.g. 16m)
#   CAPPED_BURST  sendfile_max_chunk of the /capped/ location (e.g. 256k)
#   NGINX_KEEPALIVE_REQUESTS  optional, nginx keepalive_requests (default 10000)
#   NGINX_ACCESS_LOG  optional, a file: nginx logs every request there as
#                 "BODY_BYTES_SENT REQUEST_LENGTH STATUS METHOD URI" (no query string);
#                 unset: no access log (see nginx_log_mark, nginx_log_bytes)
#   NGINX_AUTOINDEX   optional, 1: `autoindex on` (directory listings, for rclone's http backend)
# and may define `extra_nginx_locations`, a function that prints more `location` blocks
# (indented by 4) for the server; they go after /capped/ and before `location /`.

# ---------------------------------------------------------------- tools
# find_nginx -> NGINX (the nginx binary), or die
find_nginx() {
  NGINX=/usr/sbin/nginx
  [[ -x $NGINX ]] || NGINX="$(command -v nginx || true)"
  [[ -n $NGINX && -x $NGINX ]] || die "nginx not found (apt-get install nginx-light)"
}

# resolve_getmfs: checks GETMFS_BIN, makes it absolute and exports GETMFS_WORKER as the same
# binary, or dies
resolve_getmfs() {
  [[ -x $GETMFS_BIN ]] || die "getmfs binary not found at $GETMFS_BIN (build it, or pass --getmfs PATH / set GETMFS)"
  GETMFS_BIN="$(cd "$(dirname "$GETMFS_BIN")" && pwd)/$(basename "$GETMFS_BIN")"
  export GETMFS_WORKER="$GETMFS_BIN"
}

# find_time_bin -> TIME_BIN: /usr/bin/time when it works (it gives user+sys CPU seconds of a
# tool and its reaped children), else ""
# shellcheck disable=SC2034  # TIME_BIN is for the caller
find_time_bin() {
  TIME_BIN=""
  if [[ -x /usr/bin/time ]] && /usr/bin/time -f "%U" -o /dev/null true 2>/dev/null; then
    TIME_BIN=/usr/bin/time
  fi
}

# ---------------------------------------------------------------- space, test data
avail_mib() { df -Pm "$1" 2>/dev/null | awk 'NR==2 {print $4}'; }

# pick_data_parent NEED_MIB: if DATA_PARENT is empty, sets it to /dev/shm (tmpfs) when that has
# room for twice NEED_MIB plus 512 MiB, else to ${TMPDIR:-/tmp}
pick_data_parent() {
  local need_mib=$1
  if [[ -z $DATA_PARENT ]]; then
    DATA_PARENT="${TMPDIR:-/tmp}"
    if [[ -d /dev/shm && -w /dev/shm ]] && (( $(avail_mib /dev/shm || echo 0) > need_mib * 2 + 512 )); then
      DATA_PARENT=/dev/shm
    fi
  fi
}

# warm_memory MIB: writes MIB of zeros to a file in /dev/shm (or $TMPDIR) and deletes it, so
# that later allocations (page cache, the cache's shared memory) reuse memory this machine has
# touched before. In a VM whose memory the host backs on first touch (Firecracker here), a
# page the guest never used costs several times more to fill: without this, a run whose
# page cache lands on such memory is slow for reasons outside the tools. MIB 0: skip.
warm_memory() {
  local mib=$1 dir=/dev/shm f
  (( mib > 0 )) || return 0
  [[ -d $dir && -w $dir ]] && (( $(avail_mib "$dir" || echo 0) > mib + 256 )) || dir="${TMPDIR:-/tmp}"
  (( $(avail_mib "$dir" || echo 0) > mib + 256 )) || { echo "# (no room to warm $mib MiB of memory; skipped)"; return 0; }
  f="$(mktemp "$dir/getmfs-bench-warm.XXXXXX")"
  echo "# warming $mib MiB of memory (--warm-mib; 0 skips) ..."
  head -c "$(( mib * 1024 * 1024 ))" /dev/zero > "$f" || true
  rm -f -- "$f"
}

make_file() {  # make_file PATH MIB -> prints md5
  head -c "$(( $2 * 1024 * 1024 ))" /dev/urandom > "$1"
  md5sum "$1" | awk '{print $1}'
}

# ---------------------------------------------------------------- nginx
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_conf() {  # write_conf PORT -> $WORK/nginx.conf (uses WORK, DATA_DIR, RATE, CAPPED_BURST)
  local access_log="access_log off;" autoindex=""
  if [[ -n ${NGINX_ACCESS_LOG:-} ]]; then
    access_log="log_format bench '\$body_bytes_sent \$request_length \$status \$request_method \$uri';
  access_log $NGINX_ACCESS_LOG bench;"
  fi
  [[ ${NGINX_AUTOINDEX:-0} == 1 ]] && autoindex="autoindex on;"
  {
    cat <<EOF
daemon off;
master_process off;
user root;
worker_processes 1;
error_log $WORK/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 1024; }
http {
  $access_log
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests ${NGINX_KEEPALIVE_REQUESTS:-10000};
  default_type application/octet-stream;
  types {}
  client_body_temp_path $WORK/client_body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  server {
    listen 127.0.0.1:$1;
    root $DATA_DIR;
    $autoindex
    # capped: every response (connection) at most $RATE/s from its first byte
    # (sendfile_max_chunk bounds what nginx sends before it first waits for the limit)
    location /capped/ {
      limit_rate $RATE;
      limit_rate_after 0;
      sendfile_max_chunk $CAPPED_BURST;
    }
EOF
    if declare -F extra_nginx_locations >/dev/null; then extra_nginx_locations; fi
    cat <<'EOF'
    location / {
    }
  }
}
EOF
  } > "$WORK/nginx.conf"
}

# start_nginx -> PORT, NGINX_PID: nginx on a free port of 127.0.0.1, serving once it answers
# /ready; dies after 8 tries (uses NGINX, WORK and what write_conf uses)
# shellcheck disable=SC2034  # PORT is for the caller
start_nginx() {
  local port
  for _ in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$port" && continue
    write_conf "$port"
    : > "$WORK/error.log"
    "$NGINX" -p "$WORK/" -e "$WORK/error.log" -c "$WORK/nginx.conf" </dev/null >>"$WORK/nginx.out" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 100); do
      if ! kill -0 "$NGINX_PID" 2>/dev/null; then break; fi
      if curl -sf -o /dev/null "http://127.0.0.1:$port/ready"; then
        sleep 0.05
        if kill -0 "$NGINX_PID" 2>/dev/null; then PORT=$port; return 0; fi
        break
      fi
      sleep 0.1
    done
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
  done
  cat "$WORK/error.log" "$WORK/nginx.out" >&2 2>/dev/null || true
  die "could not start nginx"
}

# stop_nginx: stops the nginx of start_nginx (NGINX_PID) if it runs: TERM, up to 5 s, KILL
# shellcheck disable=SC2317  # called from the callers' EXIT traps
stop_nginx() {
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
}

# nginx_log_mark -> the size of NGINX_ACCESS_LOG now (an offset for nginx_log_bytes)
nginx_log_mark() { stat -c %s "$NGINX_ACCESS_LOG" 2>/dev/null || echo 0; }

# nginx_log_bytes MARK -> "BODY_BYTES REQUESTS" that nginx logged after offset MARK. nginx logs a
# request when it ends (also when the client closed early: what it had sent by then), so this
# first waits until the log has not grown for 0.3 s (at most 3 s).
nginx_log_bytes() {
  local size last=-1
  for _ in $(seq 10); do
    size=$(nginx_log_mark)
    [[ $size == "$last" ]] && break
    last=$size
    sleep 0.3
  done
  tail -c "+$(( $1 + 1 ))" "$NGINX_ACCESS_LOG" | awk '{b += $1; n++} END {printf "%d %d", b, n}'
}

# ---------------------------------------------------------------- statistics
# stats VALUES... -> "median min max"
stats() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f", m, v[1], v[NR]}'
}
median() { local m; read -r m _ _ <<<"$(stats "$@")"; echo "$m"; }
