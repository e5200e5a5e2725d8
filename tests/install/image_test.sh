#!/usr/bin/env bash
# The container image end to end, with Debian's podman (as root; run alone, after the test
# suite): no image registry is reachable here, so the Dockerfile's debian:12 and debian:12-slim
# are made by mmdebstrap from the Debian archive first. Then builds packaging/docker/Dockerfile
# as the README says, runs the image as the README says (its entrypoint mounts a manifest and
# runs a command), and checks the bytes read in the container, the command's exit status
# passed through, a clear message without /dev/fuse, and that nothing is left mounted.
# Usage: image_test.sh SOURCE_DIR
# A machine where no container can start (no engine, no namespaces) is said so, and skipped.
set -euo pipefail
src="$(cd "$1" && pwd)"
work="$(mktemp -d /tmp/getmfs-image-test.XXXXXX)"
origin_pid=""
image=localhost/getmfs-image-test
cleanup() {
  set +e
  [ -n "$origin_pid" ] && kill "$origin_pid"
  podman rmi -f "$image" > /dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image_test: $*" >&2; exit 1; }

if ! command -v podman > /dev/null || ! command -v mmdebstrap > /dev/null || ! command -v runc > /dev/null; then
  echo "image_test: installing podman, runc and mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends podman runc mmdebstrap uidmap \
    > "$work/apt.log" || { cat "$work/apt.log"; fail "cannot install podman"; }
fi
# This sandbox's root lacks CAP_SYS_RESOURCE (podman's default rlimits cannot be set) and has
# hybrid cgroups (crun refuses them): runc, with limits no higher than ours.
nofile="$(ulimit -Hn)"; nproc="$(ulimit -Hu)"
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=32768
[ "$nproc" -gt 32768 ] && nproc=32768
engine=(podman --runtime runc)
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

if ! podman image exists docker.io/library/debian:12; then
  echo "image_test: making the debian:12 base image with mmdebstrap"
  mmdebstrap --variant=minbase --include=ca-certificates bookworm "$work/base.tar" > "$work/mmdebstrap.log" 2>&1 ||
    { tail -20 "$work/mmdebstrap.log"; fail "mmdebstrap failed"; }
  podman import -q "$work/base.tar" docker.io/library/debian:12 > /dev/null
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim
  rm -f "$work/base.tar"
fi
if ! out="$("${engine[@]}" run --rm --network host "${limits[@]}" docker.io/library/debian:12 true 2>&1)"; then
  echo "image_test: skipped: no container can start on this machine ($out)"
  exit 0
fi

echo "image_test: building packaging/docker/Dockerfile"
(cd "$src" && "${engine[@]}" build --network host "${limits[@]}" -f packaging/docker/Dockerfile -t "$image" . \
   > "$work/build.log" 2>&1) || { tail -40 "$work/build.log"; fail "the image did not build"; }

mkdir -p "$work/data"
head -c 3000000 /dev/urandom > "$work/data/a.bin"
want="$(md5sum < "$work/data/a.bin" | cut -c1-32)"
coproc ORIGIN { exec python3 "$src/tests/origin/origin.py" --root "$work/data"; }
origin_pid=$ORIGIN_PID
read -r -t 20 word port <&"${ORIGIN[0]}" || fail "the test origin did not start"
[ "$word" = PORT ] || fail "the test origin said '$word'"
echo "http://127.0.0.1:$port/a.bin a.bin md5=$want" > "$work/urls.txt"
run=("${engine[@]}" run --rm --network host "${limits[@]}" -v "$work/urls.txt:/urls.txt:ro"
     -e GETMFS_MANIFEST=/urls.txt)

echo "image_test: running the image"
out="$("${run[@]}" --device /dev/fuse --cap-add SYS_ADMIN "$image" \
       sh -c 'md5sum /data/a.bin && getmfs status /data --json' 2>&1)" || fail "the container failed: $out"
[[ "$out" == *"$want  /data/a.bin"* ]] || fail "md5 in the container: $out, want $want"
[[ "$out" == *'"state": "verified"'* ]] || fail "not verified in the container: $out"

status=0
"${run[@]}" --device /dev/fuse --cap-add SYS_ADMIN "$image" sh -c 'exit 7' > "$work/exit.log" 2>&1 || status=$?
[ "$status" = 7 ] || fail "the command's exit status 7 came out as $status: $(cat "$work/exit.log")"

status=0
"${run[@]}" "$image" true > "$work/nofuse.log" 2>&1 || status=$?
[ "$status" = 2 ] || fail "without /dev/fuse the container exited $status"
grep -q -- "--device /dev/fuse --cap-add SYS_ADMIN" "$work/nofuse.log" || fail "without /dev/fuse: $(cat "$work/nofuse.log")"
echo "image_test: passed"
