#!/bin/sh
# The container's entrypoint: mounts $GETMFS_MANIFEST on $GETMFS_MOUNTPOINT (default /data),
# runs the given command, and unmounts when it ends (or on SIGTERM/SIGINT), exiting with the
# command's status. With no command it keeps the mount until stopped (a sidecar).
#   docker run --device /dev/fuse --cap-add SYS_ADMIN -v $PWD/urls.txt:/urls.txt:ro \
#     -e GETMFS_MANIFEST=/urls.txt getmfs samtools view /data/sample.bam chr1:1-2000
# $GETMFS_OPTIONS: more `getmfs mount` options (split on spaces). $GETMFS: the program.
set -u
getmfs="${GETMFS:-getmfs}"
manifest="${GETMFS_MANIFEST:-}"
mountpoint="${GETMFS_MOUNTPOINT:-/data}"
if [ -z "$manifest" ]; then
  echo "getmfs entrypoint: set GETMFS_MANIFEST to the manifest (urls.txt) to mount" >&2
  exit 2
fi
if [ ! -e /dev/fuse ]; then
  echo "getmfs entrypoint: /dev/fuse is missing: run the container with --device /dev/fuse --cap-add SYS_ADMIN" \
       "(and, where AppArmor confines containers, --security-opt apparmor:unconfined)" >&2
  exit 2
fi
mkdir -p "$mountpoint"
# shellcheck disable=SC2086
"$getmfs" mount "$manifest" "$mountpoint" ${GETMFS_OPTIONS:-} || exit $?

unmount() { "$getmfs" unmount "$mountpoint" || "$getmfs" unmount --lazy "$mountpoint"; }
if [ $# -eq 0 ]; then
  sleeper=""
  trap 'kill "$sleeper" 2>/dev/null; unmount; exit 0' TERM INT
  while :; do sleep 3600 & sleeper=$!; wait "$sleeper"; done
fi
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
wait "$child"
status=$?
# A signal interrupted the first wait: wait for the command itself.
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
unmount
exit "$status"
