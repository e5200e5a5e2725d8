#!/usr/bin/env bash
# Benchmark the FUSE mount (`getmfs mount`) on a local nginx (see tests/bench/README.md).
#
#   capped:   nginx `limit_rate 16m` per connection, 256 MiB file, `cat MP/file` through a
#             fresh mount (--concurrency 16) vs aria2c -x16 -s16; goal: <= 1.15x aria2c
#   uncapped: 1 GiB file, --cache-size 128M, `cat MP/file` vs curl; goal: <= 1.5x curl
#   manifest: 10,000 URLs (size= on every line, 100 directories): `getmfs mount` < 1 s,
#             `ls -lR MP` < 2 s
#   fio:      random 4 KiB reads (fio psync) of a 256 MiB file: bytes fetched per byte read < 16
#             (default block size, and --block-size 16K)
#   memory:   max total PSS of the daemon and its children while `cat` reads the 1 GiB file
#             with --cache-size 128M; goal < 192 MiB
#
# Usage: tests/bench/mount_bench.sh [--quick] [--runs N] [--getmfs PATH] [--only NAME] ...
#        (--help for every option)
set -euo pipefail
export LC_ALL=C

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$SCRIPT_DIR/lib.sh"

usage() {
  cat <<'EOF'
Usage: tests/bench/mount_bench.sh [options]

Measures the acceptance items of `getmfs mount` on a local nginx serving random files:
  capped    nginx limit_rate 16m per connection, 256 MiB file: `cat MP/file > /dev/null`
            through a fresh mount (--concurrency 16) vs `aria2c -x16 -s16 -k1M` to a file
            (goal: getmfs <= 1.15x aria2c, medians)
  uncapped  1 GiB file, --cache-size 128M: `cat MP/file > /dev/null` vs
            `curl -s -o /dev/null URL` (goal: getmfs <= 1.5x curl, medians)
  manifest  10,000 URLs with size= in 100 directories: time of `getmfs mount` (goal < 1 s)
            and of `ls -lR MP > /dev/null` (goal < 2 s), medians
  fio       fio --rw=randread --bs=4k --ioengine=psync --number_ios=2000 on a fresh mount of a
            256 MiB file: bytes fetched (.getmfs-status) per byte read (goal < 16), with the
            default block size and with --block-size 16K
  memory    --cache-size 128M, `cat` of the 1 GiB file: max total PSS of the daemon and its
            children, sampled every 0.2 s (goal < 192 MiB)
Every timed getmfs run uses a fresh mount (mounted before the timing, unmounted after), so
the kernel page cache never serves a second read. getmfs and the reference tool alternate.

Options:
  --quick               smoke run: 64 MiB capped, 256 MiB uncapped, 3 runs (fio, memory: 1)
  --warm-mib N          warm N MiB of memory before timing (default 4096; 0 skips; see README)
  --runs N              timed runs per tool (default 5; --quick: 3)
  --only NAME[,NAME]    capped, uncapped, manifest, fio, memory (default: all)
  --getmfs PATH         getmfs binary (default: $GETMFS, else <repo>/build/getmfs);
                        GETMFS_WORKER is set to the same binary
  --capped-mib N        capped file in MiB (default 256; --quick: 64)
  --uncapped-mib N      uncapped (and memory) file in MiB (default 1024; --quick: 256)
  --fio-mib N           fio file in MiB (default 256)
  --fio-ios N           fio --number_ios (default 2000)
  --fio-runs N          fio runs per block size (default: 3, or --runs if smaller; --quick: 1)
  --memory-runs N       memory runs (default: 3, or --runs if smaller; --quick: 1)
  --files N             manifest lines (default 10000), spread over --dirs N (default 100)
  --concurrency N       getmfs mount --concurrency in capped/uncapped/memory (default 16)
  --cache-size SIZE     --cache-size in uncapped and memory (default 128M)
  --rate RATE           nginx limit_rate of the capped scenario (default 16m)
  --capped-burst SIZE   nginx sendfile_max_chunk of the capped scenario (default 256k)
  --mount-args "ARGS"   extra arguments for every `getmfs mount` (e.g. "--workers 1")
  --verify              put md5= on the capped/uncapped/memory manifest lines, so getmfs
                        verifies each object as it is read (default: size= only, as curl
                        and aria2c verify nothing)
  --out-dir DIR         where aria2c writes (a temp dir inside it; default ${TMPDIR:-/tmp})
  --data-dir DIR        where the served files are made (a temp dir inside it; default
                        /dev/shm if it has room, else ${TMPDIR:-/tmp})
  --strict              exit 1 if a goal is missed (default: report only)
  -h, --help            this text
EOF
}

die() { echo "mount_bench: $*" >&2; exit 2; }
fail() { echo "mount_bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- options
QUICK=0
WARM_MIB=4096
RUNS=""
ONLY=""
CAPPED_MIB=""
UNCAPPED_MIB=""
FIO_MIB=256
FIO_IOS=2000
FIO_RUNS=""
MEM_RUNS=""
FILES=10000
DIRS=100
CONCURRENCY=16
CACHE_SIZE=128M
RATE=16m
CAPPED_BURST=256k
MOUNT_EXTRA=""
VERIFY=0
GETMFS_BIN="${GETMFS:-$REPO_ROOT/build/getmfs}"
OUT_PARENT="${TMPDIR:-/tmp}"
DATA_PARENT=""
STRICT=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --warm-mib) WARM_MIB="${2:?--warm-mib needs N}"; shift ;;
    --runs) RUNS="${2:?--runs needs N}"; shift ;;
    --only) ONLY="${2:?--only needs NAME}"; shift ;;
    --getmfs) GETMFS_BIN="${2:?--getmfs needs PATH}"; shift ;;
    --capped-mib) CAPPED_MIB="${2:?}"; shift ;;
    --uncapped-mib) UNCAPPED_MIB="${2:?}"; shift ;;
    --fio-mib) FIO_MIB="${2:?}"; shift ;;
    --fio-ios) FIO_IOS="${2:?}"; shift ;;
    --fio-runs) FIO_RUNS="${2:?}"; shift ;;
    --memory-runs) MEM_RUNS="${2:?}"; shift ;;
    --files) FILES="${2:?}"; shift ;;
    --dirs) DIRS="${2:?}"; shift ;;
    --concurrency) CONCURRENCY="${2:?}"; shift ;;
    --cache-size) CACHE_SIZE="${2:?}"; shift ;;
    --rate) RATE="${2:?}"; shift ;;
    --capped-burst) CAPPED_BURST="${2:?}"; shift ;;
    --mount-args) MOUNT_EXTRA="${2?}"; shift ;;
    --verify) VERIFY=1 ;;
    --out-dir) OUT_PARENT="${2:?--out-dir needs DIR}"; shift ;;
    --data-dir) DATA_PARENT="${2:?--data-dir needs DIR}"; shift ;;
    --strict) STRICT=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  : "${RUNS:=3}" "${CAPPED_MIB:=64}" "${UNCAPPED_MIB:=256}" "${FIO_RUNS:=1}" "${MEM_RUNS:=1}"
else
  : "${RUNS:=5}" "${CAPPED_MIB:=256}" "${UNCAPPED_MIB:=1024}"
fi
for v in RUNS CAPPED_MIB UNCAPPED_MIB FIO_MIB FIO_IOS FILES DIRS CONCURRENCY; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got '${!v}')"
done
(( RUNS >= 1 )) || die "--runs must be at least 1"
: "${FIO_RUNS:=$(( RUNS < 3 ? RUNS : 3 ))}" "${MEM_RUNS:=$(( RUNS < 3 ? RUNS : 3 ))}"
[[ $FIO_RUNS =~ ^[1-9][0-9]*$ && $MEM_RUNS =~ ^[1-9][0-9]*$ ]] || die "--fio-runs and --memory-runs take N >= 1"
(( FILES >= 1 && DIRS >= 1 && FIO_IOS >= 1 )) || die "--files, --dirs and --fio-ios must be at least 1"
[[ $RATE =~ ^[0-9]+[kKmM]?$ ]] || die "--rate takes an nginx size such as 16m"
[[ $CAPPED_BURST =~ ^[0-9]+[kKmM]?$ ]] || die "--capped-burst takes an nginx size such as 256k"

ALL_SCENARIOS=(capped uncapped manifest fio memory)
declare -A WANT
if [[ -z $ONLY ]]; then
  for s in "${ALL_SCENARIOS[@]}"; do WANT[$s]=1; done
else
  IFS=, read -ra only_list <<<"$ONLY"
  for s in "${only_list[@]}"; do
    case "$s" in capped|uncapped|manifest|fio|memory) WANT[$s]=1 ;; *) die "--only takes capped, uncapped, manifest, fio, memory (got '$s')" ;; esac
  done
fi
want() { [[ -n ${WANT[$1]:-} ]]; }

find_nginx
command -v curl >/dev/null || die "curl not found"
command -v md5sum >/dev/null || die "md5sum not found"
command -v getfattr >/dev/null || die "getfattr not found (apt-get install attr)"
command -v pgrep >/dev/null || die "pgrep not found (apt-get install procps)"
want capped && { command -v aria2c >/dev/null || die "aria2c not found (apt-get install aria2)"; }
want fio && { command -v fio >/dev/null || die "fio not found (apt-get install fio)"; }
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"
resolve_getmfs
read -ra MOUNT_EXTRA_ARGS <<<"$MOUNT_EXTRA"

find_time_bin
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---------------------------------------------------------------- temp dirs, cleanup
WORK="" OUT_DIR="" DATA_DIR="" NGINX_PID="" MP="" BG_PID=""
DAEMONS=()

# Mount points under a directory, from /proc/mounts (octal escapes such as \040 decoded).
# shellcheck disable=SC2317  # also called through the EXIT trap
mounts_under() {
  local prefix=$1
  awk -v p="$prefix/" '{ m = $2; gsub(/\\040/, " ", m); if (index(m, p) == 1) print m }' /proc/mounts
}
is_mounted() {
  awk -v p="$1" '{ m = $2; gsub(/\\040/, " ", m); if (m == p) f = 1 } END { exit !f }' /proc/mounts
}
# A pid we recorded as a getmfs daemon, still that process?
is_our_daemon() {
  [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$GETMFS_BIN mount"
}

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  local rc=$? mp pid left=0
  trap - EXIT INT TERM
  if [[ -n $BG_PID ]] && kill -0 "$BG_PID" 2>/dev/null; then
    kill "$BG_PID" 2>/dev/null || true
    wait "$BG_PID" 2>/dev/null || true
  fi
  if [[ -n $WORK ]]; then
    while IFS= read -r mp; do
      [[ -n $mp ]] || continue
      timeout 30 "$GETMFS_BIN" unmount "$mp" >/dev/null 2>&1 || umount -l "$mp" 2>/dev/null || true
    done < <(mounts_under "$WORK")
  fi
  for pid in "${DAEMONS[@]}"; do
    for _ in $(seq 50); do is_our_daemon "$pid" || break; sleep 0.1; done
    if is_our_daemon "$pid"; then kill "$pid" 2>/dev/null || true; fi
  done
  stop_nginx
  if [[ -n $WORK ]] && [[ -n "$(mounts_under "$WORK")" ]]; then
    echo "mount_bench: still mounted, not deleting $WORK: $(mounts_under "$WORK" | tr '\n' ' ')" >&2
    left=1
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

WORK="$(mktemp -d "${TMPDIR:-/tmp}/getmfs-mount-bench.XXXXXX")"
MP="$WORK/mnt"
mkdir -p "$MP" "$OUT_PARENT"
OUT_DIR="$(mktemp -d "$OUT_PARENT/getmfs-mount-bench-out.XXXXXX")"

need_mib=1
want capped && need_mib=$(( need_mib + CAPPED_MIB ))
{ want uncapped || want memory; } && need_mib=$(( need_mib + UNCAPPED_MIB ))
want fio && need_mib=$(( need_mib + FIO_MIB ))
pick_data_parent "$need_mib"
DATA_DIR="$(mktemp -d "$DATA_PARENT/getmfs-mount-bench-data.XXXXXX")"
if want capped; then
  (( $(avail_mib "$OUT_DIR") > CAPPED_MIB + 256 )) || die "not enough space in $OUT_DIR"
fi

# ---------------------------------------------------------------- test data
mkdir -p "$DATA_DIR/capped" "$DATA_DIR/uncapped"
echo ok > "$DATA_DIR/ready"
echo "# making test data in $DATA_DIR ..."
CAPPED_MD5="" BIG_MD5="" MANY_MD5=""
want capped && CAPPED_MD5="$(make_file "$DATA_DIR/capped/obj.bin" "$CAPPED_MIB")"
{ want uncapped || want memory; } && BIG_MD5="$(make_file "$DATA_DIR/uncapped/big.bin" "$UNCAPPED_MIB")"
if want fio; then
  if [[ -f $DATA_DIR/uncapped/big.bin ]] && (( FIO_MIB == UNCAPPED_MIB )); then
    ln "$DATA_DIR/uncapped/big.bin" "$DATA_DIR/uncapped/fio.bin"
  else
    head -c "$(( FIO_MIB * 1024 * 1024 ))" /dev/urandom > "$DATA_DIR/uncapped/fio.bin"
  fi
fi
MANY_BYTES=65536   # every URL of the manifest scenario is served this one file
want manifest && MANY_MD5="$(head -c "$MANY_BYTES" /dev/urandom | tee "$DATA_DIR/many.bin" | md5sum | awk '{print $1}')"

# ---------------------------------------------------------------- nginx
# write_conf and start_nginx are in lib.sh; this benchmark adds the /many/ location and a
# higher keepalive_requests.
NGINX_KEEPALIVE_REQUESTS=100000
extra_nginx_locations() {
  cat <<'EOF'
    # manifest scenario: every /many/NAME is the same small file
    location /many/ {
      try_files /many.bin =404;
    }
EOF
}
PORT=""
warm_memory "$WARM_MIB"
start_nginx
BASE="http://127.0.0.1:$PORT"
# A presigned-looking query: nginx ignores it; getmfs must keep it out of its logs.
SIG_QUERY="X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

# ---------------------------------------------------------------- helpers
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# (stats and median are in lib.sh)

# jnum KEY FILE: the first number under "KEY" in a JSON file (getmfs status, fio output).
jnum() {
  grep -o "\"$1\" *: *[0-9.eE+-]*" "$2" | head -1 | sed 's/.*: *//'
}

# write_manifest FILE URL PATH BYTES MD5
write_manifest() {
  local line="$2?$SIG_QUERY $3 size=$4"
  [[ $VERIFY == 1 && -n $5 ]] && line+=" md5=$5"
  echo "$line" > "$1"
}

# mount_fs MANIFEST [getmfs mount options...] -> DAEMON_PID
DAEMON_PID=""
mount_fs() {
  local manifest=$1; shift
  is_mounted "$MP" && fail "$MP is still mounted"
  if ! timeout 120 "$GETMFS_BIN" mount "$manifest" "$MP" --log-file "$WORK/getmfs.log" "$@" \
       "${MOUNT_EXTRA_ARGS[@]}" >"$WORK/mount.out" 2>&1; then
    cat "$WORK/mount.out" >&2
    tail -20 "$WORK/getmfs.log" >&2 2>/dev/null || true
    fail "getmfs mount failed: $GETMFS_BIN mount $manifest $MP $*"
  fi
  is_mounted "$MP" || fail "getmfs mount returned 0 but $MP is not in /proc/mounts"
  DAEMON_PID=$(getfattr --absolute-names --only-values -n user.getmfs.pid "$MP" 2>/dev/null) ||
    fail "no user.getmfs.pid on $MP"
  DAEMONS+=("$DAEMON_PID")
}

# unmount_fs: unmount $MP and wait for its daemon to exit.
unmount_fs() {
  if ! timeout 60 "$GETMFS_BIN" unmount "$MP" >"$WORK/unmount.out" 2>&1; then
    cat "$WORK/unmount.out" >&2
    umount -l "$MP" 2>/dev/null || true
    fail "getmfs unmount $MP failed"
  fi
  is_mounted "$MP" && fail "$MP is still mounted after getmfs unmount"
  local i
  for i in $(seq 100); do is_our_daemon "$DAEMON_PID" || break; sleep 0.1; done
  is_our_daemon "$DAEMON_PID" && echo "mount_bench: warning: daemon $DAEMON_PID still running 10 s after unmount" >&2
  return 0
}

# CPU seconds (user+sys) of one process (all threads), 0 if it is gone.
proc_cpu_ticks() {
  local s f
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  read -ra f <<<"$s"
  echo $(( f[11] + f[12] ))
}
# daemon_cpu -> "DAEMON_S WORKERS_S" for the current mount (workers: its __worker__ children).
daemon_cpu() {
  local d w=0 c
  d=$(proc_cpu_ticks "$DAEMON_PID")
  for c in $(pgrep -P "$DAEMON_PID" 2>/dev/null || true); do
    if tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null | grep -q __worker__; then
      w=$(( w + $(proc_cpu_ticks "$c") ))
    fi
  done
  awk -v d="$d" -v w="$w" -v t="$CLK_TCK" 'BEGIN {printf "%.2f %.2f", d / t, w / t}'
}

pss_kb() { awk '/^Pss:/ {print $2; f = 1; exit} END {if (!f) print 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
# pss_sample -> "TOTAL_KB DAEMON_KB CHILDREN_KB NCHILDREN" (the daemon and all its children)
pss_sample() {
  local d c w=0 n=0
  d=$(pss_kb "$DAEMON_PID")
  for c in $(pgrep -P "$DAEMON_PID" 2>/dev/null || true); do
    w=$(( w + $(pss_kb "$c") )); n=$(( n + 1 ))
  done
  echo "$(( d + w )) $d $w $n"
}

# timed CMD... : runs CMD under timeout (and /usr/bin/time when present) -> LAST_WALL, LAST_CPU
# Its stdout goes to $TIMED_STDOUT (default: the tool log; `cat` sets /dev/null, so that
# it reads the mount into nothing, as curl -o /dev/null does) and its stderr to the log.
timed() {
  local t0 t1 rc=0
  t0=$(now)
  (
    if [[ -n ${TIMED_STDOUT:-} ]]; then exec >"$TIMED_STDOUT"; fi
    if [[ -n $TIME_BIN ]]; then
      exec "$TIME_BIN" -f "%U %S" -o "$WORK/cpu" timeout 1800 "$@"
    else
      exec timeout 1800 "$@"
    fi
  ) >"$WORK/tool.log" 2>&1 || rc=$?
  t1=$(now)
  if (( rc != 0 )); then
    cat "$WORK/tool.log" >&2
    tail -20 "$WORK/getmfs.log" >&2 2>/dev/null || true
    fail "failed (exit $rc): $*"
  fi
  LAST_WALL=$(elapsed "$t0" "$t1")
  LAST_CPU=0
  [[ -n $TIME_BIN ]] && LAST_CPU=$(awk 'END {printf "%.2f", $1 + $2}' "$WORK/cpu")
  return 0
}

declare -A RESULT
SUMMARY=()
MISSED=0
# goal ITEM MEASURED GOAL_TEXT VALUE OP LIMIT: one line of the summary; OP is le (<=) or lt (<)
goal() {
  local v
  if awk -v v="$4" -v l="$6" -v op="$5" 'BEGIN {exit !(op == "le" ? v <= l : v < l)}'; then v=PASS
  else v=MISS; MISSED=1; fi
  SUMMARY+=("$(printf '%-44s %-34s %-12s %s' "$1" "$2" "$3" "$v")")
}

# ---------------------------------------------------------------- scenarios
# read_scenario NAME URL FILE_NAME MIB MD5 OTHER MOUNT_ARGS...
# Alternates `cat MP/FILE_NAME` through a fresh mount and OTHER (aria2c or curl).
read_scenario() {
  local name=$1 url=$2 fname=$3 mib=$4 md5=$5 other=$6; shift 6
  local -a margs=("$@")
  local bytes=$(( mib * 1024 * 1024 )) manifest="$WORK/$name.txt" out="$OUT_DIR/$name.bin"
  local i got status="$WORK/status.json" times_g="" times_o="" cpu_g="" cpu_o="" dcpu="" wcpu="" catcpu=""
  local other_checked=0
  write_manifest "$manifest" "$url" "$fname" "$bytes" "$md5"
  echo
  echo "== $name: $mib MiB, $( [[ $name == capped ]] && echo "nginx limit_rate $RATE per connection, sendfile_max_chunk $CAPPED_BURST" || echo 'no rate limit'), $RUNS runs, getmfs and $other alternate"
  echo "   getmfs: mount ${margs[*]} ${MOUNT_EXTRA}; time of \`cat MP/$fname > /dev/null\` (fresh mount each run)"
  # Untimed check that the mount serves the right bytes.
  mount_fs "$manifest" "${margs[@]}"
  got=$(md5sum "$MP/$fname" | awk '{print $1}')
  unmount_fs
  [[ $got == "$md5" ]] || fail "$name: md5 through the mount $got != $md5"
  echo "   check: md5sum through a mount ok"
  for (( i = 1; i <= RUNS; i++ )); do
    mount_fs "$manifest" "${margs[@]}"
    TIMED_STDOUT=/dev/null timed cat "$MP/$fname"
    local wall=$LAST_WALL cat_cpu=$LAST_CPU cpu dc wc note=""
    cp "$MP/.getmfs-status" "$status"
    read -r dc wc <<<"$(daemon_cpu)"
    unmount_fs
    local fetched requests
    fetched=$(jnum bytes_fetched "$status"); requests=$(jnum requests "$status")
    (( fetched >= bytes )) || fail "$name: getmfs fetched $fetched bytes of $bytes"
    cpu=$(awk -v a="$cat_cpu" -v b="$dc" -v c="$wc" 'BEGIN {printf "%.2f", a + b + c}')
    times_g+="$wall "; cpu_g+="$cpu "; dcpu+="$dc "; wcpu+="$wc "; catcpu+="$cat_cpu "
    printf '  run %d %-7s %8.3f s  cpu %5.2f s (cat %.2f, daemon %.2f, workers %.2f)  fetched %.3fx in %d requests\n' \
      "$i" getmfs "$wall" "$cpu" "$cat_cpu" "$dc" "$wc" "$(awk -v f="$fetched" -v b="$bytes" 'BEGIN {print f / b}')" "$requests"

    if [[ $other == aria2c ]]; then
      rm -f -- "$out"
      timed aria2c -x16 -s16 -k1M --file-allocation=none --allow-overwrite=true \
        --auto-file-renaming=false --summary-interval=0 --console-log-level=warn \
        -d "$(dirname "$out")" -o "$(basename "$out")" "$url"
      [[ $(stat -c %s "$out" 2>/dev/null || echo 0) == "$bytes" ]] || fail "aria2c wrote the wrong size"

      if [[ $other_checked == 0 ]]; then
        got=$(md5sum "$out" | awk '{print $1}')
        [[ $got == "$md5" ]] || fail "aria2c output md5 $got != $md5"
        other_checked=1; note="  (md5 ok)"
      fi
      rm -f -- "$out"
    else
      timed curl -s -f -o /dev/null "$url"
      note=""
    fi
    times_o+="$LAST_WALL "; cpu_o+="$LAST_CPU "
    printf '  run %d %-7s %8.3f s  cpu %5.2f s%s\n' "$i" "$other" "$LAST_WALL" "$LAST_CPU" "$note"
  done
  echo
  printf '  %-8s %4s %9s %9s %9s %9s %9s\n' tool runs "median s" "min s" "max s" "MiB/s" "cpu s"
  local tool t c med min max
  for tool in getmfs "$other"; do
    if [[ $tool == getmfs ]]; then t=$times_g; c=$cpu_g; else t=$times_o; c=$cpu_o; fi
    # shellcheck disable=SC2086
    read -r med min max <<<"$(stats $t)"
    RESULT[$name.$tool]=$med
    # shellcheck disable=SC2086
    printf '  %-8s %4d %9.3f %9.3f %9.3f %9.1f %9.2f\n' "$tool" "$RUNS" "$med" "$min" "$max" \
      "$(awk -v m="$mib" -v t="$med" 'BEGIN {printf "%.1f", m / t}')" "$(median $c)"
  done
  # shellcheck disable=SC2086
  printf '  getmfs cpu medians: cat %.2f s, daemon %.2f s, workers %.2f s\n' "$(median $catcpu)" "$(median $dcpu)" "$(median $wcpu)"
  RESULT[$name.ratio]=$(awk -v a="${RESULT[$name.getmfs]}" -v b="${RESULT[$name.$other]}" 'BEGIN {printf "%.3f", a / b}')
  printf '  ratio getmfs/%s %.3f  (median time; < 1 means getmfs is faster)\n' "$other" "${RESULT[$name.ratio]}"
}

manifest_scenario() {
  local manifest="$WORK/many.txt" i t0 t1 mount_t="" ls_t="" umount_t="" n got
  awk -v n="$FILES" -v d="$DIRS" -v base="$BASE" -v q="$SIG_QUERY" -v bytes="$MANY_BYTES" 'BEGIN {
    sub(/X-Amz-Signature=.*/, "", q)
    for (i = 0; i < n; i++) {
      sig = ""
      for (k = 0; k < 8; k++) sig = sig sprintf("%08x", (i * 2654435761 + k * 40503) % 4294967296)
      printf "%s/many/f%06d.bin?%sX-Amz-Signature=%s d%03d/f%06d.bin size=%d\n", base, i, q, sig, i % d, i, bytes
    }
  }' > "$manifest"
  echo
  echo "== manifest: $FILES URLs with size=, $DIRS directories, $RUNS runs (fresh mount each run)"
  echo "   time of \`getmfs mount\` (to its return: the mount serves) and of \`ls -lR MP > /dev/null\`"
  for (( i = 1; i <= RUNS; i++ )); do
    t0=$(now)
    mount_fs "$manifest"
    t1=$(now)
    local mt; mt=$(elapsed "$t0" "$t1")
    t0=$(now)
    ls -lR "$MP" > /dev/null
    t1=$(now)
    local lt; lt=$(elapsed "$t0" "$t1")
    if (( i == 1 )); then
      n=$(find "$MP" -type f | wc -l)
      (( n == FILES )) || fail "manifest: $n files in the mount, expected $FILES"
      got=$(md5sum "$MP/d000/f000000.bin" | awk '{print $1}')
      [[ $got == "$MANY_MD5" ]] || fail "manifest: md5 of d000/f000000.bin $got != $MANY_MD5"
    fi
    t0=$(now)
    unmount_fs
    t1=$(now)
    local ut; ut=$(elapsed "$t0" "$t1")
    mount_t+="$mt "; ls_t+="$lt "; umount_t+="$ut "
    printf '  run %d  mount %7.3f s  ls -lR %7.3f s  unmount %7.3f s%s\n' "$i" "$mt" "$lt" "$ut" \
      "$( (( i == 1 )) && echo "  ($FILES files, one read ok)")"
  done
  local med min max
  echo
  printf '  %-10s %4s %9s %9s %9s\n' step runs "median s" "min s" "max s"
  # shellcheck disable=SC2086
  read -r med min max <<<"$(stats $mount_t)"; RESULT[manifest.mount]=$med
  printf '  %-10s %4d %9.3f %9.3f %9.3f\n' mount "$RUNS" "$med" "$min" "$max"
  # shellcheck disable=SC2086
  read -r med min max <<<"$(stats $ls_t)"; RESULT[manifest.ls]=$med
  printf '  %-10s %4d %9.3f %9.3f %9.3f\n' "ls -lR" "$RUNS" "$med" "$min" "$max"
  # shellcheck disable=SC2086
  read -r med min max <<<"$(stats $umount_t)"
  printf '  %-10s %4d %9.3f %9.3f %9.3f\n' unmount "$RUNS" "$med" "$min" "$max"
}

fio_scenario() {
  local bytes=$(( FIO_MIB * 1024 * 1024 )) manifest="$WORK/fio.txt" url="$BASE/uncapped/fio.bin"
  local read_bytes=$(( FIO_IOS * 4096 )) bs label i
  write_manifest "$manifest" "$url" fio.bin "$bytes" ""
  echo
  echo "== fio: random 4 KiB reads, --number_ios=$FIO_IOS ($(awk -v r="$read_bytes" -v b="$bytes" 'BEGIN {printf "%.2f%%", 100 * r / b}') of the $FIO_MIB MiB file), $FIO_RUNS runs per block size (fresh mount each run)"
  echo "   fio --name=r --filename=MP/fio.bin --rw=randread --bs=4k --number_ios=$FIO_IOS --ioengine=psync --size=$bytes"
  for bs in default 16K; do
    local ratios="" iops_all="" block=""
    for (( i = 1; i <= FIO_RUNS; i++ )); do
      if [[ $bs == default ]]; then mount_fs "$manifest"; else mount_fs "$manifest" --block-size "$bs"; fi
      if ! timeout 600 fio --name=r --filename="$MP/fio.bin" --rw=randread --bs=4k --number_ios="$FIO_IOS" \
           --ioengine=psync --size="$bytes" --output-format=json --output="$WORK/fio.json" >"$WORK/fio.out" 2>&1; then
        cat "$WORK/fio.out" >&2
        fail "fio failed"
      fi
      cp "$MP/.getmfs-status" "$WORK/status.json"
      unmount_fs
      local fetched requests io iops ratio
      fetched=$(jnum bytes_fetched "$WORK/status.json"); requests=$(jnum requests "$WORK/status.json")
      block=$(jnum block_size "$WORK/status.json")
      io=$(jnum io_bytes "$WORK/fio.json"); iops=$(jnum iops "$WORK/fio.json")
      [[ $io == "$read_bytes" ]] || echo "  note: fio read $io bytes, expected $read_bytes"
      ratio=$(awk -v f="$fetched" -v r="$read_bytes" 'BEGIN {printf "%.2f", f / r}')
      ratios+="$ratio "; iops_all+="$iops "
      printf '  run %d block %-6s fetched %10d bytes in %5d requests for %d read: %6.2f bytes fetched per byte read, %7.0f IOPS\n' \
        "$i" "$(( block / 1024 ))K" "$fetched" "$requests" "$read_bytes" "$ratio" "$iops"
    done
    label="$(( block / 1024 ))K"
    [[ $bs == default ]] && label+=" (default)"
    # shellcheck disable=SC2086
    RESULT[fio.$bs]=$(median $ratios)
    RESULT[fio.$bs.label]=$label
    # shellcheck disable=SC2086
    printf '  block %-14s median %.2f bytes fetched per byte read, median %.0f IOPS\n' "$label" "${RESULT[fio.$bs]}" "$(median $iops_all)"
  done
  # What a perfect block cache would fetch: one block per distinct block touched (fio's
  # sequence is the same every run: randrepeat=1). Expected distinct blocks for N uniform reads.
  awk -v n="$FIO_IOS" -v size="$bytes" 'BEGIN {
    for (b = 16384; b <= 65536; b *= 4) {
      k = size / b; d = k * (1 - exp(-n / k))
      printf "  (uniform reads touch about %.0f distinct %dK blocks: %.2f bytes per byte read if each is fetched once)\n", d, b / 1024, d * b / (n * 4096)
    }
  }'
}

memory_scenario() {
  local bytes=$(( UNCAPPED_MIB * 1024 * 1024 )) manifest="$WORK/memory.txt" url="$BASE/uncapped/big.bin"
  local i maxes="" overall=0
  write_manifest "$manifest" "$url" big.bin "$bytes" "$BIG_MD5"
  echo
  echo "== memory: --cache-size $CACHE_SIZE --concurrency $CONCURRENCY, \`cat\` of $UNCAPPED_MIB MiB; total PSS of the daemon and its children every 0.2 s, $MEM_RUNS runs"
  for (( i = 1; i <= MEM_RUNS; i++ )); do
    mount_fs "$manifest" --cache-size "$CACHE_SIZE" --concurrency "$CONCURRENCY"
    local base max=0 max_line="" s tot samples=0 t0 t1
    base=$(pss_sample)
    t0=$(now)
    cat "$MP/big.bin" > /dev/null &
    BG_PID=$!
    while kill -0 "$BG_PID" 2>/dev/null; do
      s=$(pss_sample); samples=$(( samples + 1 ))
      read -r tot _ _ _ <<<"$s"
      if (( tot > max )); then max=$tot; max_line=$s; fi
      sleep 0.2
    done
    local rc=0
    wait "$BG_PID" || rc=$?
    BG_PID=""
    t1=$(now)
    (( rc == 0 )) || { tail -20 "$WORK/getmfs.log" >&2; fail "memory: cat failed (exit $rc)"; }
    s=$(pss_sample); read -r tot _ _ _ <<<"$s"
    if (( tot > max )); then max=$tot; max_line=$s; fi
    unmount_fs
    local d w n
    read -r _ d w n <<<"$max_line"
    printf '  run %d  max PSS %7.1f MiB (daemon %.1f, %d children %.1f)  at mount %.1f MiB  after cat %.1f MiB  %d samples, cat %.2f s\n' \
      "$i" "$(awk -v k="$max" 'BEGIN {print k / 1024}')" "$(awk -v k="$d" 'BEGIN {print k / 1024}')" "$n" \
      "$(awk -v k="$w" 'BEGIN {print k / 1024}')" "$(awk -v k="${base%% *}" 'BEGIN {print k / 1024}')" \
      "$(awk -v k="$tot" 'BEGIN {print k / 1024}')" "$samples" "$(elapsed "$t0" "$t1")"
    maxes+="$max "
    (( max > overall )) && overall=$max
  done
  RESULT[memory.max]=$(awk -v k="$overall" 'BEGIN {printf "%.1f", k / 1024}')
  # shellcheck disable=SC2086
  RESULT[memory.median]=$(awk -v k="$(median $maxes)" 'BEGIN {printf "%.1f", k / 1024}')
  printf '  max PSS over all runs %.1f MiB (median of the run maxima %.1f MiB)\n' "${RESULT[memory.max]}" "${RESULT[memory.median]}"
}

# ---------------------------------------------------------------- main
echo "# getmfs:   $GETMFS_BIN ($("$GETMFS_BIN" --version 2>/dev/null | head -1 || true))"
echo "# mount:    extra args: ${MOUNT_EXTRA:-none}; manifests: size=$([[ $VERIFY == 1 ]] && echo ' and md5= (verified reads)' || echo ' only (no checksum: unverified reads)')"
echo "# tools:    $(aria2c --version 2>/dev/null | head -1 || echo 'aria2c -'); $(curl --version | head -1 | cut -d' ' -f1-2); $(fio --version 2>/dev/null || echo 'fio -')"
echo "# nginx:    $BASE (1 worker, sendfile), serving $DATA_DIR ($(df -P "$DATA_DIR" | awk 'NR==2 {print $1}'))"
echo "# machine:  $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)$([[ -z $TIME_BIN ]] && echo '; /usr/bin/time missing: no CPU of cat/aria2c/curl')"

if want capped; then
  check_mib=$(( CAPPED_MIB < 8 ? CAPPED_MIB : 8 ))
  t0=$(now)
  curl -sf -r "0-$(( check_mib * 1024 * 1024 - 1 ))" -o /dev/null "$BASE/capped/obj.bin"
  t1=$(now)
  echo "# capped check: one connection got $(awk -v a="$t0" -v b="$t1" -v m="$check_mib" 'BEGIN {printf "%.1f", m / (b - a)}') MiB/s for $check_mib MiB (limit_rate $RATE)"
  read_scenario capped "$BASE/capped/obj.bin" capped.bin "$CAPPED_MIB" "$CAPPED_MD5" aria2c --concurrency "$CONCURRENCY"
  goal "(a) capped ${CAPPED_MIB} MiB: cat via mount / aria2c" \
    "${RESULT[capped.ratio]} (${RESULT[capped.getmfs]} s / ${RESULT[capped.aria2c]} s)" "<= 1.15" "${RESULT[capped.ratio]}" le 1.15
fi
if want uncapped; then
  read_scenario uncapped "$BASE/uncapped/big.bin" big.bin "$UNCAPPED_MIB" "$BIG_MD5" curl \
    --cache-size "$CACHE_SIZE" --concurrency "$CONCURRENCY"
  goal "(b) uncapped ${UNCAPPED_MIB} MiB: cat via mount / curl" \
    "${RESULT[uncapped.ratio]} (${RESULT[uncapped.getmfs]} s / ${RESULT[uncapped.curl]} s)" "<= 1.5" "${RESULT[uncapped.ratio]}" le 1.5
fi
if want manifest; then
  manifest_scenario
  goal "(c) getmfs mount, $FILES URLs (median)" "${RESULT[manifest.mount]} s" "< 1 s" "${RESULT[manifest.mount]}" lt 1
  goal "(c) ls -lR, $FILES files (median)" "${RESULT[manifest.ls]} s" "< 2 s" "${RESULT[manifest.ls]}" lt 2
fi
if want fio; then
  fio_scenario
  for bs in default 16K; do
    goal "(d) fio 4K randread, block ${RESULT[fio.$bs.label]}" "${RESULT[fio.$bs]} bytes fetched/byte read" "< 16" "${RESULT[fio.$bs]}" lt 16
  done
fi
if want memory; then
  memory_scenario
  goal "(e) max PSS daemon+children, cache $CACHE_SIZE" "${RESULT[memory.max]} MiB" "< 192 MiB" "${RESULT[memory.max]}" lt 192
fi

echo
echo "== goals ($RUNS runs; medians; ratios from runs interleaved in this run)"
printf '%-44s %-34s %-12s %s\n' item measured goal verdict
printf '%s\n' "${SUMMARY[@]}"
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $STRICT == 1 && $MISSED == 1 ]]; then exit 1; fi
exit 0
