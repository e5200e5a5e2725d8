# shellcheck shell=bash
# shellcheck disable=SC2034  # the LAST_*, MPATH and MD_* globals set here are for compare.sh
# Helpers of compare.sh (see README.md): mounts (getmfs, rclone), timed runs in their own
# session, CPU and PSS of a daemon and its children, results and their markdown rows. Sourced
# after lib.sh; it only defines functions. It uses compare.sh's globals WORK, OUT_DIR,
# GETMFS_BIN, TIME_BIN, CLK_TCK, GM_MP, RC_MP, SIG_QUERY, MARGS and its `fail MESSAGE`; it sets
# CHILD (the timed command), DAEMON_PID (the mount's daemon), DAEMONS and RC_PIDS (every
# daemon started, for the cleanup).

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", b - a}'; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {if (b == 0) print "-"; else printf f, a / b}'; }

# ---------------------------------------------------------------- processes
# Mount points under a directory, from /proc/mounts (\040 decoded).
# shellcheck disable=SC2317  # also called through the EXIT trap
mounts_under() {
  awk -v p="$1/" '{ m = $2; gsub(/\\040/, " ", m); if (index(m, p) == 1) print m }' /proc/mounts
}
is_mounted() {
  awk -v p="$1" '{ m = $2; gsub(/\\040/, " ", m); if (m == p) f = 1 } END { exit !f }' /proc/mounts
}
# is_cmd PID TEXT: PID runs and its command line contains TEXT
# shellcheck disable=SC2317
is_cmd() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$2"; }
# wait_gone PID TEXT SECONDS: wait until PID no longer runs TEXT; TERM, then KILL, if it still does
# shellcheck disable=SC2317
wait_gone() {
  local i
  for (( i = 0; i < $3 * 10; i++ )); do is_cmd "$1" "$2" || return 0; sleep 0.1; done
  echo "compare: warning: pid $1 ($2) still runs after $3 s; TERM" >&2
  kill "$1" 2>/dev/null || true
  for i in $(seq 30); do is_cmd "$1" "$2" || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

proc_ticks() {  # user+sys clock ticks of one process (all its threads), 0 if gone
  local s f
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  read -ra f <<<"$s"
  echo $(( f[11] + f[12] ))
}
tree_ticks() {  # PID and its children
  local t c
  t=$(proc_ticks "$1")
  for c in $(pgrep -P "$1" 2>/dev/null || true); do t=$(( t + $(proc_ticks "$c") )); done
  echo "$t"
}
pss_kb() { awk '/^Pss:/ {print $2; f = 1; exit} END {if (!f) print 0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
tree_pss() {  # kB, PID and its children
  local t c
  t=$(pss_kb "$1")
  for c in $(pgrep -P "$1" 2>/dev/null || true); do t=$(( t + $(pss_kb "$c") )); done
  echo "$t"
}

# timed OUT CMD...: runs CMD (stdin /dev/null, stdout to OUT, stderr to a log) in a session of
# its own (so the cleanup can end it and its children by process group) under /usr/bin/time
# -> LAST_WALL (s), LAST_CPU (user+sys of CMD and its reaped children). A failure stops the bench.
timed() {
  local out=$1 t0 t1 rc=0; shift
  local -a pre=()
  [[ -n $TIME_BIN ]] && pre=("$TIME_BIN" -f "%U %S" -o "$WORK/cpu")
  t0=$(now)
  setsid "${pre[@]}" timeout --foreground 1800 "$@" </dev/null >"$out" 2>"$WORK/tool.err" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  t1=$(now)
  if (( rc != 0 )); then
    cat "$WORK/tool.err" >&2
    tail -5 "$WORK/getmfs.log" "$WORK/rclone.log" >&2 2>/dev/null || true
    fail "failed (exit $rc): $*"
  fi
  LAST_WALL=$(elapsed "$t0" "$t1")
  LAST_CPU=0
  [[ -n $TIME_BIN ]] && LAST_CPU=$(awk 'END {printf "%.2f", $1 + $2}' "$WORK/cpu")
  return 0
}

# ---------------------------------------------------------------- mounts
# gm_mount MANIFEST ARGS... -> DAEMON_PID: getmfs mount on GM_MP (it returns once it serves)
gm_mount() {
  local manifest=$1; shift
  is_mounted "$GM_MP" && fail "$GM_MP is still mounted"
  if ! timeout 120 "$GETMFS_BIN" mount "$manifest" "$GM_MP" --log-file "$WORK/getmfs.log" "$@" \
       >"$WORK/mount.out" 2>&1; then
    cat "$WORK/mount.out" >&2; tail -20 "$WORK/getmfs.log" >&2 2>/dev/null || true
    fail "getmfs mount failed: $GETMFS_BIN mount $manifest $GM_MP $*"
  fi
  is_mounted "$GM_MP" || fail "getmfs mount returned 0 but $GM_MP is not mounted"
  DAEMON_PID=$(getfattr --absolute-names --only-values -n user.getmfs.pid "$GM_MP" 2>/dev/null) ||
    fail "no user.getmfs.pid on $GM_MP"
  DAEMONS+=("$DAEMON_PID")
}
gm_unmount() {
  timeout 60 "$GETMFS_BIN" unmount "$GM_MP" >"$WORK/unmount.out" 2>&1 ||
    { cat "$WORK/unmount.out" >&2; fusermount3 -uz "$GM_MP" 2>/dev/null; fail "getmfs unmount $GM_MP failed"; }
  is_mounted "$GM_MP" && fail "$GM_MP is still mounted after getmfs unmount"
  wait_gone "$DAEMON_PID" "$GETMFS_BIN mount" 10
}

# rc_mount URL MODE NAME -> DAEMON_PID: rclone mount (http backend) on RC_MP, with a new cache
# dir; serving once NAME is listed
RC_N=0
rc_mount() {
  local url=$1 mode=$2 name=$3 i
  is_mounted "$RC_MP" && fail "$RC_MP is still mounted"
  RC_N=$(( RC_N + 1 ))
  setsid rclone mount :http: "$RC_MP" --http-url "$url" --read-only --vfs-cache-mode "$mode" \
    --cache-dir "$WORK/rclone-cache.$RC_N" --config "$WORK/rclone.conf" --log-file "$WORK/rclone.log" \
    </dev/null >>"$WORK/rclone.out" 2>&1 &
  DAEMON_PID=$!
  RC_PIDS+=("$DAEMON_PID")
  for (( i = 0; i < 300; i++ )); do
    is_mounted "$RC_MP" && [[ -e $RC_MP/$name ]] && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -20 "$WORK/rclone.log" "$WORK/rclone.out" >&2 2>/dev/null || true
  fail "rclone mount of $url (vfs $mode) did not list $name"
}
rc_unmount() {
  local i
  for i in 1 2 3; do fusermount3 -u "$RC_MP" 2>>"$WORK/rclone.out" && break; sleep 0.5; done
  is_mounted "$RC_MP" && { fusermount3 -uz "$RC_MP"; fail "could not unmount rclone at $RC_MP"; }
  wait_gone "$DAEMON_PID" "rclone mount" 15
  wait "$DAEMON_PID" 2>/dev/null || true
  rm -rf -- "$WORK/rclone-cache.$RC_N"
}

# mount_tool ID DIR_URL NAME BYTES -> MPATH (the file in the mount), DAEMON_PID. IDs gm*: getmfs
# with MARGS[ID] (manifest line: URL?<presigned query> NAME size=BYTES); rcoff, rcfull: rclone.
mount_tool() {
  local id=$1 url=$2 name=$3 bytes=$4 a
  case $id in
    rcoff|rcfull) rc_mount "$url" "${id#rc}" "$name"; MPATH=$RC_MP/$name ;;
    gm*)
      echo "$url$name?$SIG_QUERY $name size=$bytes" > "$WORK/manifest.txt"
      read -ra a <<<"${MARGS[$id]}"
      gm_mount "$WORK/manifest.txt" "${a[@]}"; MPATH=$GM_MP/$name ;;
    *) fail "mount_tool: unknown $id" ;;
  esac
}
unmount_tool() { case $1 in rc*) rc_unmount ;; *) gm_unmount ;; esac; }
is_mount_id() { [[ $1 == gm* || $1 == rcoff || $1 == rcfull ]]; }

# ---------------------------------------------------------------- results
# REC[KEY] holds the values of one measurement, one per run ("v1 v2 ...").
declare -A REC
MD_ROWS=() MD_RATIOS=() MD_GOALS=() MISSED=0
rec() { REC[$1]+="$2 "; }
med() {  # med KEY -> median of REC[KEY], or - if none
  local v=${REC[$1]:-}
  # shellcheck disable=SC2086
  if [[ -z $v ]]; then echo "-"; else median $v; fi
}

# md_row SECTION ROW KEY UNIT DETAILS [SCALE]: a line of the results table from REC[KEY]
# (median, min, max; times SCALE if given)
md_row() {
  local vals=${REC[$3]:-} m lo hi n
  [[ -n $vals ]] || return 0
  n=$(wc -w <<<"$vals")
  # shellcheck disable=SC2086
  read -r m lo hi <<<"$(stats $vals)"
  if [[ -n ${6:-} ]]; then
    read -r m lo hi <<<"$(awk -v a="$m" -v b="$lo" -v c="$hi" -v s="$6" 'BEGIN {printf "%.3f %.3f %.3f", a * s, b * s, c * s}')"
  fi
  MD_ROWS+=("| $1 | $2 | $n | $m | $lo | $hi | $4 | $5 |")
}
# ratio NAME A B GOAL_TEXT -> RATIO (median A / median B) and a line of the ratios table
ratio() {
  RATIO=$(div "$(med "$2")" "$(med "$3")")
  MD_RATIOS+=("| $1 | $RATIO | ${4:-} |")
}
# goal ITEM MEASURED GOAL_TEXT VALUE OP LIMIT: OP le (<=) or lt (<)
goal() {
  local v=MISS
  if [[ $4 != - ]] && awk -v v="$4" -v l="$6" -v op="$5" 'BEGIN {exit !(op == "le" ? v <= l : v < l)}'; then v=PASS
  else MISSED=1; fi
  MD_GOALS+=("| $1 | $2 | $3 | $v |")
}

crc32c_of() {  # crc32c_of FILE -> 8 hex digits (isa-l's crc32_iscsi through ctypes)
  python3 -c 'import ctypes, sys
f = ctypes.CDLL("libisal.so.2").crc32_iscsi
f.restype, f.argtypes = ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32]
s = 0xffffffff
with open(sys.argv[1], "rb") as fh:
    for b in iter(lambda: fh.read(1 << 24), b""): s = f(b, len(b), s)
print("%08x" % (s ^ 0xffffffff))' "$1"
}

fio_parse() {  # fio JSON -> "IOPS P50_MS P99_MS IO_BYTES"
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["jobs"][0]["read"]; p = r["clat_ns"]["percentile"]
print("%.1f %.3f %.3f %d" % (r["iops"], p["50.000000"] / 1e6, p["99.000000"] / 1e6, r["io_bytes"]))' "$1"
}
