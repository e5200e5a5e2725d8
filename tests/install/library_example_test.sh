#!/usr/bin/env bash
# Installs getmfs into a temporary prefix, builds the README's library example against the
# installed getm.pc with pkg-config (exactly as the README says), and runs it against the
# test origin in all three concurrency modes: it must print the object's size and that it
# was verified, and its iter_content output must be the object's bytes.
# Usage: library_example_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1"
build="$2"
work="$(mktemp -d /tmp/getm-install-test.XXXXXX)"
origin_pid=""
cleanup() {
  [ -n "$origin_pid" ] && kill "$origin_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/getmfs bin/getm include/getm/getm.hpp; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f"; exit 1; }
done
pc="$(find "$prefix" -name getm.pc | head -1)"
[ -n "$pc" ] || { echo "getm.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"

# The example, cut out of the README (the block that starts with "// app.cc").
awk '/^```cpp$/ {inblock=1; buf=""; next} /^```$/ {if (inblock && buf ~ /\/\/ app.cc/) {printf "%s", buf; exit} inblock=0; next} inblock {buf = buf $0 "\n"}' \
  "$src/README.md" > "$work/app.cc"
grep -q "getm::urlopen" "$work/app.cc" || { echo "no library example found in README.md"; exit 1; }
# The build line the README gives, with the installed prefix's getm.pc.
g++ -std=c++20 "$work/app.cc" $(pkg-config --cflags --libs getm) -o "$work/app"

# Sample data behind the test origin, emulating S3 (so the object has a checksum).
mkdir -p "$work/data"
head -c $((5 * 1024 * 1024 + 4321)) /dev/urandom > "$work/data/obj.bin"
python3 "$src/tests/origin/origin.py" --root "$work/data" > "$work/port" 2> "$work/origin.log" &
origin_pid=$!
for _ in $(seq 100); do grep -q PORT "$work/port" 2>/dev/null && break; sleep 0.05; done
port="$(awk '{print $2}' "$work/port")"
curl -s -X POST -d '{"path": "/obj.bin", "emulate": "s3"}' "http://127.0.0.1:$port/__control__/config" > /dev/null
url="http://127.0.0.1:$port/obj.bin"

# The installed worker is found without GETMFS_WORKER? The library looks for the installed
# path given at build time; the temporary prefix differs, so point at it as a relocated
# install would.
export GETMFS_WORKER="$prefix/bin/getmfs"
size=$(stat -c %s "$work/data/obj.bin")
for mode in none 1 4; do
  "$work/app" "$url" "$mode" > "$work/out.$mode" 2> "$work/err.$mode" || { cat "$work/err.$mode"; exit 1; }
  head -c "$size" "$work/out.$mode" | cmp - "$work/data/obj.bin" || { echo "mode $mode: iter_content bytes differ"; exit 1; }
  tail -c +$((size + 1)) "$work/out.$mode" | grep -qx "$size bytes, verified: yes" \
    || { echo "mode $mode: unexpected summary: $(tail -c +$((size + 1)) "$work/out.$mode")"; exit 1; }
  echo "mode $mode: ok"
done
echo "1 passed, 0 failed"
