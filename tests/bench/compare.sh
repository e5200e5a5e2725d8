#!/usr/bin/env bash
# getmfs side by side with rclone mount, aria2c, curl and md5sum on a local nginx, all in one
# run (see tests/bench/README.md). Prints every run, then one markdown report (results, ratios,
# goals) that it also writes to a file.
#
# Usage: tests/bench/compare.sh [--quick] [--runs N] [--only SECTION,...] [--markdown FILE] ...
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"
# shellcheck source-path=SCRIPTDIR source=compare_lib.sh
. "$SCRIPT_DIR/compare_lib.sh"

usage() {
  cat <<'EOF'
Usage: tests/bench/compare.sh [options]

One table of getmfs against rclone mount (http backend), aria2c, curl and md5sum, measured in
the same run on a local nginx (runs interleaved: every tool once per round). Sections:
  capped    256 MiB behind limit_rate 16m per connection: cat through getmfs mount
            (--concurrency 16 and 32) and rclone mount (vfs off, full), aria2c -x16,
            getmfs get --concurrency 16, curl
  uncapped  1 GiB, no limit: cat through getmfs mount (--cache-size 128M) and rclone mount,
            curl -o /dev/null, getmfs get (crc32c, md5), curl -o FILE, md5sum FILE;
            CPU seconds per GiB of each
  fio       fio randread (psync) of a 256 MiB file through each mount, bs 4k and 1M: IOPS,
            clat p50/p99, bytes nginx sent per byte read
  ttfb      first byte with 20 ms added to every request (latency_proxy.py): head -c 1 on a
            fresh mount, curl -r 0-0, getmfs get / curl of a 64 KiB file
  memory    peak PSS (daemon + children, every 0.2 s) during cat of the 1 GiB file
  sweep     128 MiB capped: getmfs mount --concurrency 1, 4, 16, 64 and aria2c -x16

Options:
  --quick               smoke run (small sizes, 2 runs, 1 fio/memory run; about 3 minutes)
  --runs N              rounds per section (default 5; --quick 2)
  --slow-runs N         rounds of curl and rclone in capped (one connection: 16 s per 256 MiB;
                        default 2)
  --fio-runs N --memory-runs N --sweep-runs N   (default 3, 3, 3; --quick 1, 1, 2)
  --only SECTION[,...]  capped, uncapped, fio, ttfb, memory, sweep (default: all)
  --markdown FILE       write the report there (default ${TMPDIR:-/tmp}/getmfs-compare-DATE.md)
  --getmfs PATH         getmfs binary (default: $GETMFS, else <repo>/build/getmfs)
  --delay-ms N          latency the proxy adds per request in ttfb (default 20)
  --capped-mib N --uncapped-mib N --fio-mib N --sweep-mib N   file sizes
  --warm-mib N          warm N MiB of memory first (default 4096; --quick 1024; 0 skips)
  --strict              exit 1 if a goal is missed
  -h, --help            this text
EOF
}

die() { echo "compare: $*" >&2; exit 2; }
fail() { echo "compare: $*" >&2; exit 1; }

QUICK=0 RUNS="" SLOW_RUNS="" FIO_RUNS="" MEM_RUNS="" SWEEP_RUNS="" ONLY="" MARKDOWN="" STRICT=0
CAPPED_MIB="" UNCAPPED_MIB="" FIO_MIB="" SWEEP_MIB="" WARM_MIB="" DELAY_MS=20
GETMFS_BIN="${GETMFS:-$REPO_ROOT/build/getmfs}"
RATE=16m CAPPED_BURST=256k
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --runs) RUNS="${2:?}"; shift ;;
    --slow-runs) SLOW_RUNS="${2:?}"; shift ;;
    --fio-runs) FIO_RUNS="${2:?}"; shift ;;
    --memory-runs) MEM_RUNS="${2:?}"; shift ;;
    --sweep-runs) SWEEP_RUNS="${2:?}"; shift ;;
    --only) ONLY="${2:?}"; shift ;;
    --markdown) MARKDOWN="${2:?}"; shift ;;
    --getmfs) GETMFS_BIN="${2:?}"; shift ;;
    --delay-ms) DELAY_MS="${2:?}"; shift ;;
    --capped-mib) CAPPED_MIB="${2:?}"; shift ;;
    --uncapped-mib) UNCAPPED_MIB="${2:?}"; shift ;;
    --fio-mib) FIO_MIB="${2:?}"; shift ;;
    --sweep-mib) SWEEP_MIB="${2:?}"; shift ;;
    --warm-mib) WARM_MIB="${2:?}"; shift ;;
    --strict) STRICT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then
  : "${RUNS:=2}" "${FIO_RUNS:=1}" "${MEM_RUNS:=1}" "${SWEEP_RUNS:=2}" "${CAPPED_MIB:=64}" "${UNCAPPED_MIB:=256}"
  : "${FIO_MIB:=64}" "${SWEEP_MIB:=32}" "${WARM_MIB:=1024}"
  FIO_IOS_4K=500 FIO_IOS_1M=50
else
  : "${RUNS:=5}" "${FIO_RUNS:=3}" "${MEM_RUNS:=3}" "${SWEEP_RUNS:=3}" "${CAPPED_MIB:=256}" "${UNCAPPED_MIB:=1024}"
  : "${FIO_MIB:=256}" "${SWEEP_MIB:=128}" "${WARM_MIB:=4096}"
  FIO_IOS_4K=2000 FIO_IOS_1M=200
fi
: "${SLOW_RUNS:=$(( RUNS < 2 ? RUNS : 2 ))}"
for v in RUNS SLOW_RUNS FIO_RUNS MEM_RUNS SWEEP_RUNS CAPPED_MIB UNCAPPED_MIB FIO_MIB SWEEP_MIB WARM_MIB DELAY_MS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
(( RUNS >= 1 && FIO_RUNS >= 1 && MEM_RUNS >= 1 && SWEEP_RUNS >= 1 )) || die "runs must be at least 1"
(( SLOW_RUNS <= RUNS )) || SLOW_RUNS=$RUNS
declare -A WANT
IFS=, read -ra only_list <<<"${ONLY:-capped,uncapped,fio,ttfb,memory,sweep}"
for s in "${only_list[@]}"; do
  case "$s" in capped|uncapped|fio|ttfb|memory|sweep) WANT[$s]=1 ;; *) die "--only takes capped, uncapped, fio, ttfb, memory, sweep (got '$s')" ;; esac
done
want() { [[ -n ${WANT[$1]:-} ]]; }
STAMP=$(date +%Y%m%d-%H%M%S)
: "${MARKDOWN:=${TMPDIR:-/tmp}/getmfs-compare-$STAMP.md}"

find_nginx
for t in curl aria2c rclone fio python3 md5sum getfattr pgrep setsid fusermount3; do
  command -v "$t" >/dev/null || die "$t not found"
done
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
resolve_getmfs
find_time_bin
[[ -n $TIME_BIN ]] || die "/usr/bin/time not found (apt-get install time): needed for CPU seconds"
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---------------------------------------------------------------- temp dirs, cleanup
WORK="" OUT_DIR="" DATA_DIR="" NGINX_PID="" CHILD="" PROXY_PID="" DAEMON_PID=""
DAEMONS=() RC_PIDS=()
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local rc=$? mp pid left=0 d
  trap - EXIT INT TERM
  if [[ -n $CHILD ]]; then kill -TERM -- "-$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if [[ -n $WORK ]]; then
    while IFS= read -r mp; do
      [[ -n $mp ]] && { fusermount3 -uz "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; }
    done < <(mounts_under "$WORK")
  fi
  for pid in "${DAEMONS[@]}"; do wait_gone "$pid" "$GETMFS_BIN mount" 5; done
  for pid in "${RC_PIDS[@]}"; do wait_gone "$pid" "rclone mount" 5; wait "$pid" 2>/dev/null || true; done
  if [[ -n $PROXY_PID ]]; then kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; fi
  stop_nginx
  if [[ -n $WORK && -n "$(mounts_under "$WORK")" ]]; then
    echo "compare: still mounted, not deleting $WORK: $(mounts_under "$WORK" | tr '\n' ' ')" >&2; left=1
  fi
  for d in "$OUT_DIR" "$DATA_DIR" "$WORK"; do
    [[ $left == 1 && $d == "$WORK" ]] && continue
    [[ -n $d && -d $d ]] && rm -rf -- "$d"
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK="$(mktemp -d "${TMPDIR:-/tmp}/getmfs-compare.XXXXXX")"
OUT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/getmfs-compare-out.XXXXXX")"
# A copy of the binary, so that a rebuild during the run (a shared dev machine) changes nothing
GETMFS_SRC="$GETMFS_BIN ($(stat -c %y "$GETMFS_BIN" | cut -d. -f1))"
cp -- "$GETMFS_BIN" "$WORK/getmfs"
GETMFS_BIN="$WORK/getmfs"
export GETMFS_WORKER="$GETMFS_BIN"
"$GETMFS_BIN" --version >/dev/null || die "$GETMFS_SRC does not run"
GM_MP="$WORK/mnt-getmfs" RC_MP="$WORK/mnt-rclone"
mkdir -p "$GM_MP" "$RC_MP"
: > "$WORK/rclone.conf"
DATA_PARENT=""
pick_data_parent $(( CAPPED_MIB + UNCAPPED_MIB + FIO_MIB + SWEEP_MIB + 32 ))
DATA_DIR="$(mktemp -d "$DATA_PARENT/getmfs-compare-data.XXXXXX")"
mkdir -p "$DATA_DIR/capped" "$DATA_DIR/uncapped" "$DATA_DIR/lat"
echo ok > "$DATA_DIR/ready"
echo "# making test data in $DATA_DIR ..."
CAPPED_MD5="" BIG_MD5="" BIG_CRC="" SWEEP_MD5="" SMALL_MD5="" LAT_MIB=16
want capped && CAPPED_MD5=$(make_file "$DATA_DIR/capped/obj.bin" "$CAPPED_MIB")
want sweep && SWEEP_MD5=$(make_file "$DATA_DIR/capped/sweep.bin" "$SWEEP_MIB")
if want uncapped || want memory; then
  BIG_MD5=$(make_file "$DATA_DIR/uncapped/big.bin" "$UNCAPPED_MIB")
  BIG_CRC=$(crc32c_of "$DATA_DIR/uncapped/big.bin")
fi
want fio && make_file "$DATA_DIR/uncapped/fio.bin" "$FIO_MIB" >/dev/null
if want ttfb; then
  make_file "$DATA_DIR/lat/f.bin" "$LAT_MIB" >/dev/null
  SMALL_MD5=$(head -c 65536 /dev/urandom | tee "$DATA_DIR/lat/small.bin" | md5sum | awk '{print $1}')
fi

# nginx (lib.sh): access log of body bytes sent, autoindex for rclone's listing, and /check/,
# every file without the cap (for the untimed md5 check of each mount tool)
NGINX_ACCESS_LOG="$WORK/access.log" NGINX_AUTOINDEX=1
extra_nginx_locations() { printf '    location /check/ {\n      alias %s/;\n    }\n' "$DATA_DIR"; }
PORT=""
warm_memory "$WARM_MIB"
start_nginx
BASE="http://127.0.0.1:$PORT"
SIG_QUERY="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- tools
declare -A LABEL=(
  [gm1]="getmfs mount --concurrency 1" [gm4]="getmfs mount --concurrency 4"
  [gm16]="getmfs mount --concurrency 16" [gm32]="getmfs mount --concurrency 32"
  [gm64]="getmfs mount --concurrency 64" [gmu]="getmfs mount --concurrency 16 --cache-size 128M"
  [gmud]="getmfs mount --concurrency 16 --cache-size 128M --direct-io on"
  [gmd]="getmfs mount (defaults)" [rcoff]="rclone mount --vfs-cache-mode off"
  [rcfull]="rclone mount --vfs-cache-mode full" [aria2c]="aria2c -x16 -s16 -k1M"
  [getmd5]="getmfs get --concurrency 16 (md5)" [getcrc]="getmfs get --concurrency 16 (crc32c)"
  [curlfile]="curl -o FILE" [curlnull]="curl -o /dev/null" [md5sum]="md5sum FILE (page cache)"
  [curlr]="curl -r 0-0 (time_total)" [getsmall]="getmfs get 64 KiB (md5)" [curlsmall]="curl -o FILE 64 KiB")
declare -A MARGS=([gm1]="--concurrency 1" [gm4]="--concurrency 4" [gm16]="--concurrency 16"
  [gm32]="--concurrency 32" [gm64]="--concurrency 64" [gmu]="--cache-size 128M --concurrency 16"
  [gmud]="--cache-size 128M --concurrency 16 --direct-io on" [gmd]="")
SLOW_IDS=""

# check_mount ID REL NAME BYTES MD5: untimed md5sum through a fresh mount of /check/REL (no cap)
check_mount() {
  local got
  mount_tool "$1" "$BASE/check/$2" "$3" "$4"
  got=$(md5sum "$MPATH" | awk '{print $1}')
  unmount_tool "$1"
  [[ $got == "$5" ]] || fail "${LABEL[$1]}: md5 $got != $5"
}

# run_tool ID REL NAME BYTES MD5 CHECK -> LAST_WALL, LAST_CPU, LAST_FETCHED, LAST_REQS; checks
# the size (and with CHECK=1 the md5) of the output; mounts: a fresh one, `cat` timed
run_tool() {
  local id=$1 name=$3 bytes=$4 md5=$5 check=$6 url="$BASE/$2$3?$SIG_QUERY" out="$OUT_DIR/out.bin"
  local mark c0=0 c1=0 size got="" cat_cpu
  if is_mount_id "$id"; then mount_tool "$id" "$BASE/$2" "$name" "$bytes"; c0=$(tree_ticks "$DAEMON_PID"); fi
  [[ $id == curlfile || $id == md5sum ]] && out="$OUT_DIR/curl.bin"
  [[ $id == md5sum ]] || rm -f -- "$out"
  mark=$(nginx_log_mark)
  case $id in
    gm*|rc*) timed /dev/null cat "$MPATH" ;;
    aria2c) timed /dev/null aria2c -x16 -s16 -k1M --file-allocation=none --allow-overwrite=true \
              --auto-file-renaming=false --summary-interval=0 --console-log-level=warn -d "$OUT_DIR" -o out.bin "$url" ;;
    getmd5) timed /dev/null "$GETMFS_BIN" get "$url" "$out" --concurrency 16 --no-progress -q --checksum "$md5" ;;
    getcrc) timed /dev/null "$GETMFS_BIN" get "$url" "$out" --concurrency 16 --no-progress -q \
              --checksum-algorithm crc32c --checksum "$BIG_CRC" ;;
    curlfile) timed /dev/null curl -sS -f -o "$out" "$url" ;;
    curlnull) timed "$WORK/size" curl -sS -f -o /dev/null -w '%{size_download}' "$url" ;;
    md5sum) timed "$WORK/md5" md5sum "$out"; got=$(awk '{print $1}' "$WORK/md5") ;;
  esac
  if is_mount_id "$id"; then
    cat_cpu=$LAST_CPU
    c1=$(tree_ticks "$DAEMON_PID")
    size=$(stat -c %s "$MPATH")
    unmount_tool "$id"
    LAST_CCPU=$cat_cpu LAST_DCPU=$(div $(( c1 - c0 )) "$CLK_TCK" %.2f)
    LAST_CPU=$(awk -v a="$cat_cpu" -v d="$LAST_DCPU" 'BEGIN {printf "%.2f", a + d}')
    LAST_SPLIT="cat $cat_cpu + daemon $LAST_DCPU"
  else
    LAST_SPLIT=""
    case $id in curlnull) size=$(cat "$WORK/size") ;; md5sum) size=$bytes ;; *) size=$(stat -c %s "$out" 2>/dev/null || echo 0) ;; esac
    [[ $check == 1 && $id != curlnull && $id != md5sum ]] && got=$(md5sum "$out" | awk '{print $1}')
  fi
  read -r LAST_FETCHED LAST_REQS <<<"$(nginx_log_bytes "$mark")"
  [[ $id == curlfile ]] || rm -f -- "$out"
  [[ $size == "$bytes" ]] || fail "${LABEL[$id]}: $size bytes, expected $bytes"
  [[ -z $got || $got == "$md5" ]] || fail "${LABEL[$id]}: md5 $got != $md5"
  [[ $id == md5sum ]] || (( LAST_FETCHED >= bytes )) || fail "${LABEL[$id]}: nginx sent $LAST_FETCHED bytes of $bytes"
  return 0
}

# seq_rounds SEC REL NAME MIB MD5 RUNS IDS...: RUNS rounds, every tool once per round (SLOW_IDS
# only in the first SLOW_RUNS); mounts get an untimed md5 check before their first run
seq_rounds() {
  local sec=$1 rel=$2 name=$3 mib=$4 md5=$5 runs=$6 i id check; shift 6
  local bytes=$(( mib * 1048576 ))
  local -A seen=() last=()
  echo; echo "== $sec: $mib MiB ($rel$name), $runs rounds"
  for (( i = 1; i <= runs; i++ )); do
    for id in "$@"; do
      [[ " $SLOW_IDS " == *" $id "* ]] && (( i > SLOW_RUNS )) && continue
      check=0
      if [[ -z ${seen[$id]:-} ]]; then
        check=1; seen[$id]=1
        is_mount_id "$id" && check_mount "$id" "$rel" "$name" "$bytes" "$md5"
      fi
      run_tool "$id" "$rel" "$name" "$bytes" "$md5" "$check"
      last[$id]=$LAST_WALL
      rec "$sec.$id.t" "$LAST_WALL"; rec "$sec.$id.c" "$LAST_CPU"
      if is_mount_id "$id"; then rec "$sec.$id.cc" "$LAST_CCPU"; rec "$sec.$id.cd" "$LAST_DCPU"; fi
      [[ $id == md5sum ]] || rec "$sec.$id.f" "$(div "$LAST_FETCHED" "$bytes")"
      printf '  %d/%d %-48s %8.3f s %7.1f MiB/s  cpu %6.2f s%s  nginx sent %.3fx in %d requests%s\n' "$i" "$runs" \
        "${LABEL[$id]}" "$LAST_WALL" "$(div "$mib" "$LAST_WALL")" "$LAST_CPU" "${LAST_SPLIT:+ ($LAST_SPLIT)}" \
        "$(div "$LAST_FETCHED" "$bytes")" "$LAST_REQS" "$( [[ $check == 1 ]] && echo '  (md5 ok)')"
    done
    if [[ $sec == capped && -n ${last[gm16]:-} && -n ${last[aria2c]:-} ]]; then
      rec capped.round "$(div "${last[gm16]}" "${last[aria2c]}")"
    fi
  done
  rm -f -- "$OUT_DIR/curl.bin"
}

# md_seq TITLE SEC MIB IDS...: results rows (seconds) of seq_rounds
md_seq() {
  local title=$1 sec=$2 mib=$3 id f; shift 3
  for id in "$@"; do
    f=$(med "$sec.$id.f")
    if [[ $f == - ]]; then f=""; else f="; nginx sent ${f}x"; fi
    md_row "$title" "${LABEL[$id]}" "$sec.$id.t" s "$(div "$mib" "$(med "$sec.$id.t")" %.1f) MiB/s; cpu $(med "$sec.$id.c") s$f"
  done
}

# shellcheck source-path=SCRIPTDIR source=compare_sections.sh
. "$SCRIPT_DIR/compare_sections.sh"

# ---------------------------------------------------------------- main
T_START=$(now)
HEAD1="getmfs $("$GETMFS_BIN" --version 2>/dev/null | head -1 || true), $GETMFS_SRC, copied at start; $(rclone version 2>/dev/null | head -1); $(aria2c --version | head -1); $(curl --version | head -1 | cut -d' ' -f1-2); $(fio --version)"
echo "# $HEAD1"
echo "# nginx $BASE (1 worker, sendfile; /capped/: limit_rate $RATE, limit_rate_after 0, sendfile_max_chunk $CAPPED_BURST), data in $DATA_DIR"
echo "# $(nproc) CPUs, load $LOAD_START; runs $RUNS (slow $SLOW_RUNS, fio $FIO_RUNS, memory $MEM_RUNS, sweep $SWEEP_RUNS)"
if want capped; then section_capped; fi
if want uncapped; then section_uncapped; fi
if want fio; then section_fio; fi
if want ttfb; then section_ttfb; fi
if want memory; then section_memory; fi
if want sweep; then section_sweep; fi
T_END=$(now)
{
  echo "# getmfs compared ($STAMP)"
  echo
  echo "$HEAD1. $(nproc) CPUs, load $LOAD_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; $(div "$(elapsed "$T_START" "$T_END")" 1 %.0f) s."
  echo "Medians of interleaved rounds (runs $RUNS; capped curl/rclone $SLOW_RUNS; fio $FIO_RUNS; memory $MEM_RUNS; sweep $SWEEP_RUNS)$([[ $QUICK == 1 ]] && echo '; --quick sizes')."
  echo
  echo "| section | row | runs | median | min | max | unit | details |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${MD_ROWS[@]}"
  if (( ${#MD_RATIOS[@]} )); then
    printf '\n| ratio of medians (times: < 1 means the first is faster) | value | goal |\n|---|---|---|\n'
    printf '%s\n' "${MD_RATIOS[@]}"
  fi
  if (( ${#MD_GOALS[@]} )); then
    printf '\n| goal | measured | goal | verdict |\n|---|---|---|---|\n'
    printf '%s\n' "${MD_GOALS[@]}"
  fi
} > "$MARKDOWN"
echo
cat "$MARKDOWN"
echo
echo "# report written to $MARKDOWN"
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 1; fi
exit 0
