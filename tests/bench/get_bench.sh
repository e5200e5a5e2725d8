#!/usr/bin/env bash
# Benchmark `getmfs get` against aria2c and curl on a local nginx (see tests/bench/README.md).
#
#   capped:   nginx `limit_rate 16m` per connection, 256 MiB object:
#             goal: getmfs (--concurrency 16) within 1.15x of aria2c -x16 -s16
#   uncapped: no limit, 1 GiB object:
#             goal: getmfs (--concurrency 16) within 1.5x of curl (one connection)
#
# Usage: tests/bench/get_bench.sh [--quick] [--runs N] [--getmfs PATH] [--out-dir DIR] ...
#        (--help for every option)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<'EOF'
Usage: tests/bench/get_bench.sh [options]

Times `getmfs get URL OUT --concurrency 16` against
`aria2c -x16 -s16 -k1M` and `curl` on a local nginx serving random files:
  capped   nginx limit_rate 16m per connection, 256 MiB file (goal: getmfs <= 1.15x aria2c)
  uncapped no rate limit, 1 GiB file                       (goal: getmfs <= 1.5x curl)
Runs are interleaved (getmfs, aria2c, curl, getmfs, ...); each tool's output is checked
with md5sum on its first run and by size on every run; outputs are deleted between runs.

Options:
  --quick               smoke run: 64 MiB capped, 256 MiB uncapped, 3 runs
  --warm-mib N          warm N MiB of memory before timing (default 4096; 0 skips; see README)
  --runs N              timed runs per tool and scenario (default 5; --quick: 3)
  --capped-curl-runs N  curl runs in the capped scenario, where one run of 256 MiB takes
                        16 s (default: 2, or --runs if smaller; 0 skips curl there)
  --no-capped-curl      same as --capped-curl-runs 0
  --only capped|uncapped  run one scenario only
  --capped-mib N        capped file size in MiB (default 256; --quick: 64)
  --uncapped-mib N      uncapped file size in MiB (default 1024; --quick: 256)
  --concurrency N       getmfs --concurrency (default 16)
  --rate RATE           nginx limit_rate of the capped scenario (default 16m)
  --capped-burst SIZE   nginx sendfile_max_chunk of the capped scenario (default 256k). nginx
                        sends up to this much of every response before limit_rate applies
                        (its default, 2m, lets each range request of a client that uses many
                        small requests start with 2 MiB at full speed); 2m = nginx default
  --getmfs PATH         getmfs binary (default: $GETMFS, else <repo>/build/getmfs);
                        GETMFS_WORKER is set to the same binary
  --getmfs-args "ARGS"  extra arguments for `getmfs get` (e.g. "--chunk-size 16M --workers 1")
  --no-verify           do not give getmfs the md5 (it then downloads unverified); by
                        default getmfs gets `--checksum <md5>` and verifies it, as it would
                        with a GCS/S3 object
  --out-dir DIR         where downloads are written (a temp dir is made inside it; default
                        under ${TMPDIR:-/tmp}). All tools write to the same filesystem.
  --data-dir DIR        where the served files are made (a temp dir inside it; default
                        /dev/shm (tmpfs) if it has room, else ${TMPDIR:-/tmp})
  --strict              exit 1 if a goal is missed (default: report only)
  -h, --help            this text
EOF
}

die() { echo "get_bench: $*" >&2; exit 2; }

# ---------------------------------------------------------------- options
QUICK=0
WARM_MIB=4096
RUNS=""
CAPPED_CURL_RUNS=""
ONLY=""
CAPPED_MIB=""
UNCAPPED_MIB=""
CONCURRENCY=16
RATE=16m
CAPPED_BURST=256k
GETMFS_BIN="${GETMFS:-$REPO_ROOT/build/getmfs}"
GETMFS_EXTRA=""
VERIFY=1
OUT_PARENT="${TMPDIR:-/tmp}"
DATA_PARENT=""
STRICT=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --warm-mib) WARM_MIB="${2:?--warm-mib needs N}"; shift ;;
    --runs) RUNS="${2:?--runs needs N}"; shift ;;
    --capped-curl-runs) CAPPED_CURL_RUNS="${2:?--capped-curl-runs needs N}"; shift ;;
    --no-capped-curl) CAPPED_CURL_RUNS=0 ;;
    --only) ONLY="${2:?--only needs capped|uncapped}"; shift ;;
    --capped-mib) CAPPED_MIB="${2:?}"; shift ;;
    --uncapped-mib) UNCAPPED_MIB="${2:?}"; shift ;;
    --concurrency) CONCURRENCY="${2:?}"; shift ;;
    --rate) RATE="${2:?}"; shift ;;
    --capped-burst) CAPPED_BURST="${2:?}"; shift ;;
    --getmfs) GETMFS_BIN="${2:?--getmfs needs PATH}"; shift ;;
    --getmfs-args) GETMFS_EXTRA="${2?}"; shift ;;
    --no-verify) VERIFY=0 ;;
    --out-dir) OUT_PARENT="${2:?--out-dir needs DIR}"; shift ;;
    --data-dir) DATA_PARENT="${2:?--data-dir needs DIR}"; shift ;;
    --strict) STRICT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  : "${RUNS:=3}" "${CAPPED_MIB:=64}" "${UNCAPPED_MIB:=256}"
else
  : "${RUNS:=5}" "${CAPPED_MIB:=256}" "${UNCAPPED_MIB:=1024}"
fi
if [[ -z $CAPPED_CURL_RUNS ]]; then
  CAPPED_CURL_RUNS=$(( RUNS < 2 ? RUNS : 2 ))
fi
for v in RUNS CAPPED_CURL_RUNS CAPPED_MIB UNCAPPED_MIB CONCURRENCY; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
(( RUNS >= 1 )) || die "--runs must be at least 1"
(( CAPPED_CURL_RUNS <= RUNS )) || CAPPED_CURL_RUNS=$RUNS
case "$ONLY" in ""|capped|uncapped) ;; *) die "--only takes capped or uncapped" ;; esac
[[ $RATE =~ ^[0-9]+[kKmM]?$ ]] || die "--rate takes an nginx size such as 16m"
[[ $CAPPED_BURST =~ ^[0-9]+[kKmM]?$ ]] || die "--capped-burst takes an nginx size such as 256k"

find_nginx
command -v aria2c >/dev/null || die "aria2c not found (apt-get install aria2)"
command -v curl >/dev/null || die "curl not found"
command -v md5sum >/dev/null || die "md5sum not found"
resolve_getmfs

# /usr/bin/time gives user+sys CPU seconds of a tool and its reaped children (getmfs workers).
find_time_bin

# ---------------------------------------------------------------- temp dirs, cleanup
WORK="" OUT_DIR="" DATA_DIR="" NGINX_PID=""
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_nginx
  for d in "$OUT_DIR" "$DATA_DIR" "$WORK"; do
    [[ -n $d && -d $d ]] && rm -rf -- "$d"
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK="$(mktemp -d "${TMPDIR:-/tmp}/getmfs-bench.XXXXXX")"
mkdir -p "$OUT_PARENT"
OUT_DIR="$(mktemp -d "$OUT_PARENT/getmfs-bench-out.XXXXXX")"

need_mib=0
[[ $ONLY != uncapped ]] && need_mib=$(( need_mib + CAPPED_MIB ))
[[ $ONLY != capped ]] && need_mib=$(( need_mib + UNCAPPED_MIB ))
pick_data_parent "$need_mib"
DATA_DIR="$(mktemp -d "$DATA_PARENT/getmfs-bench-data.XXXXXX")"
(( $(avail_mib "$OUT_DIR") > UNCAPPED_MIB + 256 )) || die "not enough space in $OUT_DIR"

# ---------------------------------------------------------------- test data
mkdir -p "$DATA_DIR/capped" "$DATA_DIR/uncapped"
echo ok > "$DATA_DIR/ready"
echo "# making test data in $DATA_DIR ..."
CAPPED_MD5="" UNCAPPED_MD5=""
[[ $ONLY != uncapped ]] && CAPPED_MD5="$(make_file "$DATA_DIR/capped/obj.bin" "$CAPPED_MIB")"
[[ $ONLY != capped ]] && UNCAPPED_MD5="$(make_file "$DATA_DIR/uncapped/obj.bin" "$UNCAPPED_MIB")"

# ---------------------------------------------------------------- nginx
# (config and start: write_conf and start_nginx in lib.sh)
PORT=""
warm_memory "$WARM_MIB"
start_nginx
BASE="http://127.0.0.1:$PORT"

# ---------------------------------------------------------------- running tools
# run_tool TOOL URL OUT -> sets LAST_WALL, LAST_CPU (user+sys, or "" without /usr/bin/time)
run_tool() {
  local tool=$1 url=$2 out=$3 log="$WORK/$1.log" t0 t1 rc=0
  local -a cmd
  case "$tool" in
    getmfs)
      cmd=("$GETMFS_BIN" get "$url" "$out" --concurrency "$CONCURRENCY" --no-progress -q)
      if [[ $VERIFY == 1 ]]; then cmd+=(--checksum "$CUR_MD5"); else cmd+=(--checksum-algorithm null); fi
      # shellcheck disable=SC2206
      [[ -n $GETMFS_EXTRA ]] && cmd+=($GETMFS_EXTRA)
      ;;
    aria2c)
      cmd=(aria2c -x16 -s16 -k1M --file-allocation=none --allow-overwrite=true
           --auto-file-renaming=false --summary-interval=0 --console-log-level=warn
           -d "$(dirname "$out")" -o "$(basename "$out")" "$url")
      ;;
    curl)
      cmd=(curl -sS -f -o "$out" "$url")
      ;;
  esac
  rm -f -- "$out"
  t0=$(date +%s.%N)
  if [[ -n $TIME_BIN ]]; then
    "$TIME_BIN" -f "%U %S" -o "$WORK/cpu" timeout 1800 "${cmd[@]}" >"$log" 2>&1 || rc=$?
  else
    timeout 1800 "${cmd[@]}" >"$log" 2>&1 || rc=$?
  fi
  t1=$(date +%s.%N)
  if (( rc != 0 )); then
    echo "get_bench: $tool failed (exit $rc): ${cmd[*]}" >&2
    cat "$log" >&2
    exit 1
  fi
  LAST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  LAST_CPU=""
  if [[ -n $TIME_BIN ]]; then
    LAST_CPU=$(awk 'END {printf "%.2f", $1 + $2}' "$WORK/cpu")
  fi
  local size
  size=$(stat -c %s "$out" 2>/dev/null || echo missing)
  [[ $size == "$CUR_BYTES" ]] || { echo "get_bench: $tool wrote $size bytes, expected $CUR_BYTES" >&2; exit 1; }
}

declare -A MEDIAN
GOAL_LINES=()
MISSED=0

# scenario NAME MIB MD5 CURL_RUNS
scenario() {
  local name=$1 mib=$2 md5=$3 curl_runs=$4
  local url="$BASE/$name/obj.bin" out="$OUT_DIR/$name.bin"
  CUR_MD5=$md5 CUR_BYTES=$(( mib * 1024 * 1024 ))
  local -A times cpus verified
  local tools=(getmfs aria2c curl) tool i
  echo
  echo "== $name: ${mib} MiB, $( [[ $name == capped ]] && echo "nginx limit_rate $RATE per connection, sendfile_max_chunk $CAPPED_BURST" || echo 'no rate limit'), $RUNS runs (curl: $curl_runs), interleaved"
  for (( i = 1; i <= RUNS; i++ )); do
    for tool in "${tools[@]}"; do
      [[ $tool == curl ]] && (( i > curl_runs )) && continue
      run_tool "$tool" "$url" "$out"
      local note=""
      if [[ -z ${verified[$tool]:-} ]]; then
        local got
        got=$(md5sum "$out" | awk '{print $1}')
        [[ $got == "$md5" ]] || { echo "get_bench: $tool output md5 $got != $md5" >&2; exit 1; }
        verified[$tool]=1
        note="  (md5 ok)"
      fi
      rm -f -- "$out"
      times[$tool]+="$LAST_WALL "
      cpus[$tool]+="${LAST_CPU:-0} "
      printf '  run %d %-7s %8.3f s  cpu %s s%s\n' "$i" "$tool" "$LAST_WALL" "${LAST_CPU:--}" "$note"
    done
  done

  echo
  printf '%-8s %4s %9s %9s %9s %9s %9s\n' tool runs "median s" "min s" "max s" "MiB/s" "cpu s"
  for tool in "${tools[@]}"; do
    [[ -n ${times[$tool]:-} ]] || { printf '%-8s %4s %9s\n' "$tool" 0 skipped; continue; }
    # shellcheck disable=SC2086
    read -r med min max <<<"$(stats ${times[$tool]})"
    # shellcheck disable=SC2086
    read -r cmed _ _ <<<"$(stats ${cpus[$tool]})"
    MEDIAN[$name.$tool]=$med
    local n; n=$(wc -w <<<"${times[$tool]}")
    printf '%-8s %4d %9.3f %9.3f %9.3f %9.1f %9s\n' "$tool" "$n" "$med" "$min" "$max" \
      "$(awk -v m="$mib" -v t="$med" 'BEGIN {printf "%.1f", m / t}')" \
      "$([[ -n $TIME_BIN ]] && printf '%.2f' "$cmed" || echo -)"
  done
  local other
  for other in aria2c curl; do
    if [[ -n ${MEDIAN[$name.$other]:-} ]]; then
      printf 'ratio getmfs/%-6s %.3f  (median time; < 1 means getmfs is faster)\n' "$other" \
        "$(awk -v a="${MEDIAN[$name.getmfs]}" -v b="${MEDIAN[$name.$other]}" 'BEGIN {print a / b}')"
    fi
  done
}

goal() {  # goal NAME OTHER LIMIT
  local name=$1 other=$2 limit=$3 r verdict
  if [[ -z ${MEDIAN[$name.getmfs]:-} || -z ${MEDIAN[$name.$other]:-} ]]; then
    GOAL_LINES+=("$(printf '%-9s getmfs within %.2fx of %-6s: not measured' "$name" "$limit" "$other")")
    return
  fi
  r=$(awk -v a="${MEDIAN[$name.getmfs]}" -v b="${MEDIAN[$name.$other]}" 'BEGIN {printf "%.3f", a / b}')
  if awk -v r="$r" -v l="$limit" 'BEGIN {exit !(r <= l)}'; then verdict=PASS; else verdict=MISS; MISSED=1; fi
  GOAL_LINES+=("$(printf '%-9s getmfs within %.2fx of %-6s: getmfs/%s = %s  %s' "$name" "$limit" "$other" "$other" "$r" "$verdict")")
}

# ---------------------------------------------------------------- main
echo "# getmfs:   $GETMFS_BIN ($("$GETMFS_BIN" --version 2>/dev/null | head -1 || true))"
echo "# args:     get URL OUT --concurrency $CONCURRENCY $([[ $VERIFY == 1 ]] && echo '--checksum <md5>' || echo '--checksum-algorithm null') $GETMFS_EXTRA"
echo "# aria2c:   $(aria2c --version | head -1); curl: $(curl --version | head -1 | cut -d' ' -f1-2)"
echo "# nginx:    $BASE (1 worker, sendfile), serving $DATA_DIR ($(df -P "$DATA_DIR" | awk 'NR==2 {print $1}'))"
echo "# outputs:  $OUT_DIR ($(df -P "$OUT_DIR" | awk 'NR==2 {print $1}'); same filesystem for every tool)"
echo "# machine:  $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)$([[ -z $TIME_BIN ]] && echo '; /usr/bin/time missing: no CPU column')"

if [[ $ONLY != uncapped ]]; then
  # Sanity check that the cap is in force on one connection (8 MiB, or the whole file).
  check_mib=$(( CAPPED_MIB < 8 ? CAPPED_MIB : 8 ))
  t0=$(date +%s.%N)
  curl -sf -r "0-$(( check_mib * 1024 * 1024 - 1 ))" -o /dev/null "$BASE/capped/obj.bin"
  t1=$(date +%s.%N)
  rate=$(awk -v a="$t0" -v b="$t1" -v m="$check_mib" 'BEGIN {printf "%.1f", m / (b - a)}')
  echo "# capped check: one connection got $rate MiB/s for $check_mib MiB (limit_rate $RATE)"
  scenario capped "$CAPPED_MIB" "$CAPPED_MD5" "$CAPPED_CURL_RUNS"
  goal capped aria2c 1.15
fi
if [[ $ONLY != capped ]]; then
  scenario uncapped "$UNCAPPED_MIB" "$UNCAPPED_MD5" "$RUNS"
  goal uncapped curl 1.5
fi

echo
echo "== goals (median wall time ratios)"
printf '%s\n' "${GOAL_LINES[@]}"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 1; fi
exit 0
