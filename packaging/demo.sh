#!/usr/bin/env bash
# The README's demo: start the bundled test origin with generated sample data (it emulates
# S3, so objects carry checksums), download one with `getmfs get`, mount the set with
# `getmfs mount` and read it with ordinary tools, then show what a corrupted object does.
# Every step checks what it shows, so the demo fails (exit 1) if getmfs misbehaves.
# Usage: bash packaging/demo.sh [BUILD_DIR]   (default: build; run from any directory)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$repo/build}" && pwd)"
getmfs="$build/getmfs"
work="$(mktemp -d /tmp/getmfs-demo.XXXXXX)"
origin_pid=""
cleanup() {
  if [ -n "${mnt:-}" ] && grep -q " $mnt " /proc/mounts; then "$getmfs" unmount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
  [ -n "$origin_pid" ] && kill "$origin_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo FAILED: $*" >&2; exit 1; }
xattr() { python3 -c "import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())" "$1" "$2"; }

step "Sample data: 3 files (96 MiB, 8 MiB, 1 MiB) in $work/data"
mkdir -p "$work/data/reads"
head -c $((96 << 20)) /dev/urandom > "$work/data/reads/sample.bam"
head -c $((8 << 20)) /dev/urandom > "$work/data/reads/sample.bai"
head -c $((1 << 20)) /dev/urandom > "$work/data/notes.bin"
cp "$work/data/notes.bin" "$work/data/corrupt.bin"

step "Starting the test origin (S3 emulation, presigned URLs) on 127.0.0.1"
python3 "$repo/tests/origin/origin.py" --root "$work/data" > "$work/origin.port" 2> "$work/origin.log" &
origin_pid=$!
for _ in $(seq 50); do grep -q PORT "$work/origin.port" 2>/dev/null && break; sleep 0.1; done
port="$(awk '{print $2}' "$work/origin.port")"
base="http://127.0.0.1:$port"
configure() { curl -s -X POST -d "$1" "$base/__control__/config" > /dev/null; }
sign() { curl -s "$base/__control__/sign?path=$1&expires=3600&emulate=s3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'; }
for p in /reads/sample.bam /reads/sample.bai /notes.bin; do
  configure "{\"path\": \"$p\", \"emulate\": \"s3\", \"s3_part_size\": 8388608, \"require_signature\": true}"
done
configure '{"path": "/corrupt.bin", "emulate": "s3", "faults": [{"type": "corrupt", "offset": 1000}]}'
bam_url="$(sign /reads/sample.bam)"
echo "origin at $base (signed URLs expire in an hour; getmfs never prints their query strings)"

step "getmfs get: a verified download with 16 range requests in flight"
"$getmfs" get "$bam_url" "$work/sample.bam" --concurrency 16 --progress
cmp "$work/sample.bam" "$work/data/reads/sample.bam" && echo "byte-identical to the source"

step "getmfs get of a corrupted object: non-zero exit, nothing left behind"
set +e
"$getmfs" get "$base/corrupt.bin" "$work/corrupt.bin"
status=$?
set -e
echo "exit status $status (3 = checksum mismatch); file left: $(ls "$work/corrupt.bin" 2>/dev/null || echo none)"
[ "$status" -eq 3 ] || fail "getmfs get of a corrupted object exited $status, not 3"
[ ! -e "$work/corrupt.bin" ] || fail "getmfs get left a corrupted file behind"

step "getmfs mount: the URLs of a manifest as read-only files"
mnt="$work/mnt"
mkdir -p "$mnt"
{
  echo "# URL [PATH] [size=N] [md5=...]"
  echo "$bam_url reads/sample.bam"
  echo "$(sign /reads/sample.bai) reads/sample.bai"
  echo "$(sign /notes.bin) notes.bin size=$((1 << 20))"
  echo "$base/corrupt.bin corrupt.bin"
} > "$work/urls.txt"
"$getmfs" mount "$work/urls.txt" "$mnt" --log-file "$work/mount.log"
ls -lR "$mnt"
echo
time_start=$(date +%s.%N)
md5sum "$mnt/reads/sample.bam" "$work/data/reads/sample.bam" | tee "$work/md5s"
python3 -c "print('read 96 MiB through the mount in %.2f s' % ($(date +%s.%N) - $time_start))"
[ "$(awk '{print $1}' "$work/md5s" | uniq | wc -l)" -eq 1 ] || fail "the mount gave other bytes than the source"
tar cf - -C "$mnt" reads | tar tvf -
verified="$(xattr "$mnt/reads/sample.bam" user.getmfs.verified)"
echo "user.getmfs.verified = $verified"
echo "user.getmfs.url      = $(xattr "$mnt/reads/sample.bam" user.getmfs.url)"
[ "$verified" = verified ] || fail "sample.bam is $verified after a whole read, not verified"

step "Reading a corrupted object through the mount: cat fails, it does not end cleanly"
set +e
cat "$mnt/corrupt.bin" > /dev/null
status=$?
set -e
echo "cat exit status $status"
[ "$status" -ne 0 ] || fail "cat of a corrupted object ended cleanly"
echo "user.getmfs.verified = $(xattr "$mnt/corrupt.bin" user.getmfs.verified)"

step "getmfs status"
"$getmfs" status "$mnt"
"$getmfs" unmount "$mnt"
! grep -q " $mnt " /proc/mounts || fail "the mount is still there after getmfs unmount"
echo
echo "Done. Everything ran against a local origin; see README.md for real S3/GCS URLs."
