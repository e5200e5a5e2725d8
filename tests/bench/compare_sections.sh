# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # SLOW_IDS is for seq_rounds; PORT is nginx's (start_nginx)
# The sections of compare.sh (see README.md). Sourced by compare.sh after its tools (LABEL,
# run_tool, seq_rounds, md_seq); uses its globals. Each section_NAME prints its runs and adds
# rows to the results, ratios and goals (MD_ROWS, MD_RATIOS, MD_GOALS).

ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }

# 1: capped, one file behind limit_rate per connection
section_capped() {
  local ids=(gm16 gm32 rcoff rcfull aria2c getmd5 curlfile) m=$CAPPED_MIB t0 t1 r16 r32 worst title
  t0=$(now); curl -sf -r 0-8388607 -o /dev/null "$BASE/capped/obj.bin"; t1=$(now)
  echo "# capped check: one connection got $(div "$(( CAPPED_MIB < 8 ? CAPPED_MIB : 8 ))" "$(elapsed "$t0" "$t1")" %.1f) MiB/s (limit_rate $RATE)"
  SLOW_IDS="rcoff rcfull curlfile"
  seq_rounds capped capped/ obj.bin "$m" "$CAPPED_MD5" "$RUNS" "${ids[@]}"
  SLOW_IDS=""
  title="1 capped $m MiB"
  md_seq "$title" capped "$m" "${ids[@]}"
  md_row "$title" "per round: getmfs c16 / aria2c" capped.round ratio "goal <= 1.0 in every round"
  ratio "capped: mount c16 / aria2c" capped.gm16.t capped.aria2c.t "<= 1.0 (every round)"; r16=$RATIO
  ratio "capped: mount c32 / aria2c" capped.gm32.t capped.aria2c.t "<= 0.6"; r32=$RATIO
  ratio "capped: get c16 / aria2c" capped.getmd5.t capped.aria2c.t
  ratio "capped: rclone off / aria2c" capped.rcoff.t capped.aria2c.t
  ratio "capped: rclone full / aria2c" capped.rcfull.t capped.aria2c.t
  # shellcheck disable=SC2086
  worst=$(maxof ${REC[capped.round]})
  goal "capped $m MiB: mount c32 / aria2c" "$r32 ($(med capped.gm32.t) s / $(med capped.aria2c.t) s)" "<= 0.6" "$r32" le 0.6
  goal "capped $m MiB: mount c16 / aria2c, every round" "max $worst (median $r16)" "<= 1.0" "$worst" le 1.0
}

# 2 and 3: uncapped, and CPU per GiB of the same runs
section_uncapped() {
  local ids=(gmu gmud rcoff rcfull curlnull getcrc getmd5 curlfile md5sum) m=$UNCAPPED_MIB id d r1 r1d r2 r3 r4 r4d
  seq_rounds uncapped uncapped/ big.bin "$m" "$BIG_MD5" "$RUNS" "${ids[@]}"
  md_seq "2 uncapped $m MiB" uncapped "$m" "${ids[@]}"
  ratio "uncapped: mount / curl -o /dev/null" uncapped.gmu.t uncapped.curlnull.t "<= 1.25"; r1=$RATIO
  ratio "uncapped: mount --direct-io on / curl -o /dev/null" uncapped.gmud.t uncapped.curlnull.t "<= 1.25"; r1d=$RATIO
  ratio "uncapped: rclone off / curl -o /dev/null" uncapped.rcoff.t uncapped.curlnull.t
  ratio "uncapped: rclone full / curl -o /dev/null" uncapped.rcfull.t uncapped.curlnull.t
  ratio "uncapped: get crc32c / curl -o FILE" uncapped.getcrc.t uncapped.curlfile.t "<= 1.15"; r2=$RATIO
  ratio "uncapped: get md5 / md5sum FILE" uncapped.getmd5.t uncapped.md5sum.t "<= 1.1"; r3=$RATIO
  ratio "uncapped: get crc32c / curl -o /dev/null" uncapped.getcrc.t uncapped.curlnull.t
  ratio "uncapped: curl -o FILE / curl -o /dev/null" uncapped.curlfile.t uncapped.curlnull.t
  for id in "${ids[@]}"; do
    d="user+sys of the command and its reaped children"
    is_mount_id "$id" && d="cat $(med "uncapped.$id.cc") s + daemon and children $(med "uncapped.$id.cd") s per run (medians)"
    md_row "3 CPU, uncapped" "${LABEL[$id]}" "uncapped.$id.c" "CPU s/GiB" "$d" "$(div 1024 "$m" %.6f)"
  done
  ratio "CPU: mount / curl -o /dev/null" uncapped.gmu.c uncapped.curlnull.c "<= 2"; r4=$RATIO
  ratio "CPU: mount --direct-io on / curl -o /dev/null" uncapped.gmud.c uncapped.curlnull.c "<= 2"; r4d=$RATIO
  ratio "CPU: rclone off / curl -o /dev/null" uncapped.rcoff.c uncapped.curlnull.c
  ratio "CPU: rclone full / curl -o /dev/null" uncapped.rcfull.c uncapped.curlnull.c
  goal "uncapped $m MiB: mount / curl -o /dev/null" "$r1 ($(med uncapped.gmu.t) s / $(med uncapped.curlnull.t) s)" "<= 1.25" "$r1" le 1.25
  goal "uncapped $m MiB: mount --direct-io on / curl -o /dev/null" "$r1d ($(med uncapped.gmud.t) s / $(med uncapped.curlnull.t) s)" "<= 1.25" "$r1d" le 1.25
  goal "CPU per GiB: mount (cat+daemon+workers) / curl" "$r4 ($(med uncapped.gmu.c) s / $(med uncapped.curlnull.c) s)" "<= 2" "$r4" le 2
  goal "CPU per GiB: mount --direct-io on / curl" "$r4d ($(med uncapped.gmud.c) s / $(med uncapped.curlnull.c) s)" "<= 2" "$r4d" le 2
  goal "get crc32c / curl -o FILE" "$r2 ($(med uncapped.getcrc.t) s / $(med uncapped.curlfile.t) s)" "<= 1.15" "$r2" le 1.15
  goal "get md5 / md5sum FILE" "$r3 ($(med uncapped.getmd5.t) s / $(med uncapped.md5sum.t) s)" "<= 1.1" "$r3" le 1.1
}

# fio_run ID BS N BYTES: one fio run on a fresh mount -> recorded under fio.BS.ID.*
fio_run() {
  local id=$1 bs=$2 n=$3 bytes=$4 mark iops p50 p99 io fetched reqs st="" note=""
  mount_tool "$id" "$BASE/uncapped/" fio.bin "$bytes"
  mark=$(nginx_log_mark)
  timed "$WORK/fio.out" fio --name=r --filename="$MPATH" --rw=randread --bs="$bs" --number_ios="$n" \
    --ioengine=psync --size="$bytes" --output-format=json --output="$WORK/fio.json"
  read -r iops p50 p99 io <<<"$(fio_parse "$WORK/fio.json")"
  [[ $id == gm* ]] && st=$(grep -o '"bytes_fetched" *: *[0-9]*' "$GM_MP/.getmfs-status" | head -1 | sed 's/.*: *//')
  unmount_tool "$id"
  read -r fetched reqs <<<"$(nginx_log_bytes "$mark")"
  (( io > 0 )) || fail "fio read nothing through ${LABEL[$id]}"
  [[ $io == $(( n * $([[ $bs == 1M ]] && echo 1048576 || echo 4096) )) ]] || note="  (fio read $io bytes, not $n x $bs)"
  [[ -n $st ]] && note+="  (.getmfs-status: $(div "$st" "$io" %.2f))"
  rec "fio.$bs.$id.iops" "$iops"; rec "fio.$bs.$id.p50" "$p50"; rec "fio.$bs.$id.p99" "$p99"
  rec "fio.$bs.$id.bpb" "$(div "$fetched" "$io" %.2f)"
  printf '  %-3s %-40s %8.0f IOPS  clat p50 %8.3f ms  p99 %8.3f ms  nginx sent %8.2f bytes/byte read in %d requests%s\n' \
    "$bs" "${LABEL[$id]}" "$iops" "$p50" "$p99" "$(div "$fetched" "$io" %.2f)" "$reqs" "$note"
}

# 4: fio randread through each mount
section_fio() {
  local bytes=$(( FIO_MIB * 1048576 )) i bs n id k
  echo; echo "== fio: randread psync of $FIO_MIB MiB, bs=4k x $FIO_IOS_4K, bs=1M x $FIO_IOS_1M; $FIO_RUNS rounds, fresh mount each run"
  for (( i = 1; i <= FIO_RUNS; i++ )); do
    for bs in 4k 1M; do
      n=$FIO_IOS_4K; [[ $bs == 1M ]] && n=$FIO_IOS_1M
      for id in gmd rcoff rcfull; do fio_run "$id" "$bs" "$n" "$bytes"; done
    done
  done
  for bs in 4k 1M; do
    for id in gmd rcoff rcfull; do
      k="fio.$bs.$id"
      md_row "4 fio randread bs=$bs, $FIO_MIB MiB" "${LABEL[$id]}" "$k.iops" IOPS \
        "clat p50 $(med "$k.p50") ms, p99 $(med "$k.p99") ms; nginx sent $(med "$k.bpb") bytes per byte read"
    done
  done
  goal "fio 4K randread via getmfs: bytes sent per byte read" \
    "$(med fio.4k.gmd.bpb) (clat p50 $(med fio.4k.gmd.p50) ms, p99 $(med fio.4k.gmd.p99) ms)" "< 16" "$(med fio.4k.gmd.bpb)" lt 16
}

start_proxy() {  # -> PPORT, PROXY_PID
  local i
  setsid python3 "$SCRIPT_DIR/latency_proxy.py" --upstream "$PORT" --delay-ms "$DELAY_MS" \
    --port-file "$WORK/proxy.port" </dev/null >>"$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  for (( i = 0; i < 100; i++ )); do
    [[ -s $WORK/proxy.port ]] && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.05
  done
  [[ -s $WORK/proxy.port ]] || { cat "$WORK/proxy.log" >&2; fail "latency_proxy.py did not start"; }
  PPORT=$(cat "$WORK/proxy.port")
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; PROXY_PID=""; }

# wall CMD...: LAST_WALL of CMD in the foreground (stdout to $WORK/first), for short commands
wall() {
  local t0 t1
  t0=$(now)
  "$@" </dev/null >"$WORK/first" 2>>"$WORK/tool.err" || { tail -5 "$WORK/tool.err" >&2; fail "failed: $*"; }
  t1=$(now)
  LAST_WALL=$(elapsed "$t0" "$t1")
}
same_md5() { [[ $(md5sum "$1" | awk '{print $1}') == "$2" ]] || fail "$1: md5 differs from $2"; }

# 5: time to first byte through the latency proxy
section_ttfb() {
  local i id pb first title="5 first byte, +$DELAY_MS ms per request" url small tt tw tg tc mark reqs
  start_proxy
  pb="http://127.0.0.1:$PPORT"
  echo; echo "== ttfb: nginx behind latency_proxy.py (+$DELAY_MS ms per request), $RUNS rounds; mounts made before timing"
  echo "# proxy check: GET /ready $(curl -sf -o /dev/null -w '%{time_total}' "$pb/ready") s via proxy, $(curl -sf -o /dev/null -w '%{time_total}' "$BASE/ready") s direct"
  first=$(head -c 1 "$DATA_DIR/lat/f.bin" | od -An -tx1)
  url="$pb/lat/f.bin?$SIG_QUERY" small="$pb/lat/small.bin?$SIG_QUERY"
  for (( i = 1; i <= RUNS; i++ )); do
    for id in gmd rcoff rcfull; do
      mount_tool "$id" "$pb/lat/" f.bin $(( LAT_MIB * 1048576 ))
      mark=$(nginx_log_mark)
      wall head -c 1 "$MPATH"
      unmount_tool "$id"
      read -r _ reqs <<<"$(nginx_log_bytes "$mark")"
      [[ $(od -An -tx1 "$WORK/first") == "$first" ]] || fail "${LABEL[$id]}: wrong first byte"
      rec "ttfb.$id" "$(ms "$LAST_WALL")"; rec "ttfb.$id.req" "$reqs"
      printf '  %d/%d %-40s head -c 1: %7.1f ms  (%d requests by unmount)\n' "$i" "$RUNS" "${LABEL[$id]}" "$(ms "$LAST_WALL")" "$reqs"
    done
    wall curl -sS -f -r 0-0 -o "$WORK/first.curl" -w '%{time_total}' "$url"
    [[ $(od -An -tx1 "$WORK/first.curl") == "$first" ]] || fail "curl -r 0-0: wrong first byte"
    tt=$(ms "$(cat "$WORK/first")") tw=$(ms "$LAST_WALL")
    rec ttfb.curlr "$tt"; rec ttfb.curlr.wall "$tw"
    rm -f -- "$OUT_DIR/small.bin"
    wall "$GETMFS_BIN" get "$small" "$OUT_DIR/small.bin" --no-progress -q --checksum "$SMALL_MD5"
    same_md5 "$OUT_DIR/small.bin" "$SMALL_MD5"; tg=$(ms "$LAST_WALL"); rec ttfb.getsmall "$tg"
    rm -f -- "$OUT_DIR/small.bin"
    wall curl -sS -f -o "$OUT_DIR/small.bin" "$small"
    same_md5 "$OUT_DIR/small.bin" "$SMALL_MD5"; tc=$(ms "$LAST_WALL"); rec ttfb.curlsmall "$tc"
    printf '  %d/%d curl -r 0-0: time_total %s ms (wall %s ms); getmfs get 64 KiB %s ms; curl 64 KiB %s ms\n' \
      "$i" "$RUNS" "$tt" "$tw" "$tg" "$tc"
  done
  stop_proxy
  for id in gmd rcoff rcfull; do md_row "$title" "${LABEL[$id]}: head -c 1 MP/f" "ttfb.$id" ms "fresh mount (not timed), wall of head; $(div "$(med "ttfb.$id.req")" 1 %.0f) nginx requests by unmount"; done
  md_row "$title" "${LABEL[curlr]}" ttfb.curlr ms "wall of the process: median $(med ttfb.curlr.wall) ms"
  md_row "$title" "${LABEL[getsmall]}" ttfb.getsmall ms "wall, process start to exit"
  md_row "$title" "${LABEL[curlsmall]}" ttfb.curlsmall ms "wall, process start to exit"
}

# 6: peak PSS of the daemon and its children during cat of the uncapped file
section_memory() {
  local bytes=$(( UNCAPPED_MIB * 1048576 )) i id max s rc n t0 t1
  echo; echo "== memory: cat of $UNCAPPED_MIB MiB; PSS of the daemon + children every 0.2 s; $MEM_RUNS rounds"
  for (( i = 1; i <= MEM_RUNS; i++ )); do
    for id in gmu rcoff rcfull; do
      mount_tool "$id" "$BASE/uncapped/" big.bin "$bytes"
      max=$(tree_pss "$DAEMON_PID"); n=0; t0=$(now)
      setsid cat "$MPATH" </dev/null >/dev/null 2>>"$WORK/tool.err" &
      CHILD=$!
      while kill -0 "$CHILD" 2>/dev/null; do
        s=$(tree_pss "$DAEMON_PID"); n=$(( n + 1 ))
        if (( s > max )); then max=$s; fi
        sleep 0.2
      done
      rc=0; wait "$CHILD" || rc=$?; CHILD=""; t1=$(now)
      (( rc == 0 )) || fail "memory: cat through ${LABEL[$id]} failed (exit $rc)"
      s=$(tree_pss "$DAEMON_PID"); if (( s > max )); then max=$s; fi
      unmount_tool "$id"
      rec "memory.$id" "$(div "$max" 1024 %.1f)"
      printf '  %d/%d %-48s peak PSS %7.1f MiB (%d samples, cat %.2f s)\n' "$i" "$MEM_RUNS" "${LABEL[$id]}" \
        "$(div "$max" 1024 %.1f)" "$n" "$(elapsed "$t0" "$t1")"
    done
  done
  for id in gmu rcoff rcfull; do
    md_row "6 peak PSS, cat $UNCAPPED_MIB MiB" "${LABEL[$id]}" "memory.$id" MiB "daemon + children, max of samples every 0.2 s"
  done
  # shellcheck disable=SC2086
  s=$(maxof ${REC[memory.gmu]})
  goal "peak PSS, getmfs --cache-size 128M (max of runs)" "$s MiB" "< 192 MiB" "$s" lt 192
}

# 7: capped throughput as --concurrency grows, aria2c in the same rounds
section_sweep() {
  local ids=(gm1 gm4 gm16 gm64 aria2c) id
  seq_rounds sweep capped/ sweep.bin "$SWEEP_MIB" "$SWEEP_MD5" "$SWEEP_RUNS" "${ids[@]}"
  md_seq "7 capped sweep $SWEEP_MIB MiB" sweep "$SWEEP_MIB" "${ids[@]}"
  for id in gm1 gm4 gm16 gm64; do ratio "sweep: ${LABEL[$id]} / aria2c (time)" "sweep.$id.t" sweep.aria2c.t; done
}
