#!/usr/bin/env bash
# The Debian package end to end, on this machine (as root; it installs system-wide, so it
# runs alone, after the test suite): builds it as packaging/package.cmake says, checks its
# Depends, installs it with apt, then uses only what it installed: `mount -t fuse.getmfs`, an
# /etc/fstab line, getm, the man pages, bash completion and the systemd unit
# (systemd-analyze verify); reads the right bytes; purges it and checks nothing is left.
# Usage: deb_test.sh SOURCE_DIR
set -euo pipefail
src="$(cd "$1" && pwd)"
work="$(mktemp -d /tmp/getmfs-deb-test.XXXXXX)"
origin_pid=""
fstab_saved=""
unset GETMFS_WORKER   # the package's own getmfs serves its workers
cleanup() {
  set +e
  for mp in "$work/mnt" "$work/fstab-mnt"; do
    grep -q " $mp " /proc/mounts && umount -l "$mp"
  done
  if [ -n "$fstab_saved" ]; then
    if [ "$fstab_saved" = none ]; then rm -f /etc/fstab; else cp "$work/fstab.orig" /etc/fstab; fi
  fi
  dpkg -s getmfs > /dev/null 2>&1 && apt-get purge -y -q getmfs > /dev/null
  [ -n "$origin_pid" ] && kill "$origin_pid"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }

echo "deb_test: building the package"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DGETMFS_MOUNT_HELPER_DIR=/sbin -DGETMFS_TESTS=OFF > "$work/configure.log"
cmake --build "$work/build" -j "$(nproc)" > "$work/build.log"
(cd "$work/build" && cpack -G DEB > "$work/cpack.log")
deb="$(ls "$work"/build/getmfs_*_amd64.deb)"
depends="$(dpkg-deb -f "$deb" Depends)"
for dep in fuse3 libfuse3-3 libcurl4 libssl3 libisal2 libmicrohttpd12 libsystemd0; do
  [[ "$depends" == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done

echo "deb_test: installing $(basename "$deb")"
apt-get install -y -q "$deb" > "$work/apt.log" || { cat "$work/apt.log"; fail "apt-get install failed"; }
for f in /usr/bin/getmfs /usr/bin/getm /sbin/mount.fuse.getmfs /usr/lib/systemd/system/getmfs@.service \
         /usr/share/man/man1/getmfs.1.gz /usr/share/man/man1/getm.1.gz /usr/include/getm/getm.hpp \
         /usr/share/bash-completion/completions/getmfs /usr/share/bash-completion/completions/getm; do
  [ -e "$f" ] || fail "not installed: $f"
done
ls /usr/lib/*/libgetm.so.0 > /dev/null || fail "libgetm.so.0 not installed"
ls /usr/lib/*/pkgconfig/getm.pc > /dev/null || fail "getm.pc not installed"
/usr/bin/getmfs --version | grep -q . || fail "getmfs --version printed nothing"
# The man pages hold every option of --help.
for opt in --metrics-addr --cache-size --refresh-command --concurrency; do
  zcat /usr/share/man/man1/getmfs.1.gz | grep -q -- "$opt" || fail "getmfs(1) lacks $opt"
done
zcat /usr/share/man/man1/getm.1.gz | grep -q -- "multipart" || fail "getm(1) lacks --multipart-threshold"
completion="$(bash -c 'source /usr/share/bash-completion/completions/getmfs
  COMP_WORDS=(getmfs mount --metr); COMP_CWORD=2; _getmfs; echo "${COMPREPLY[*]}"')"
[ "$completion" = "--metrics-addr" ] || fail "completion of 'getmfs mount --metr' gave '$completion'"
if command -v systemd-analyze > /dev/null; then
  out="$(systemd-analyze verify --man=no /usr/lib/systemd/system/getmfs@data.service 2>&1)" || fail "systemd-analyze: $out"
  [ -z "$out" ] || fail "systemd-analyze warns: $out"
fi

echo "deb_test: mounting with the installed package"
mkdir -p "$work/data" "$work/mnt" "$work/fstab-mnt"
head -c 5000000 /dev/urandom > "$work/data/a.bin"
want="$(md5sum < "$work/data/a.bin" | cut -c1-32)"
coproc ORIGIN { exec python3 "$src/tests/origin/origin.py" --root "$work/data"; }
origin_pid=$ORIGIN_PID
read -r -t 20 word port <&"${ORIGIN[0]}" || fail "the test origin did not start"
[ "$word" = PORT ] || fail "the test origin said '$word'"
echo "http://127.0.0.1:$port/a.bin a.bin md5=$want" > "$work/urls.txt"

mount -t fuse.getmfs "$work/urls.txt" "$work/mnt" -o ro,allow_other,cache_size=64M,_netdev,nofail
got="$(md5sum < "$work/mnt/a.bin" | cut -c1-32)"
[ "$got" = "$want" ] || fail "mount -t fuse.getmfs: md5 $got, want $want"
[ "$(getfattr --absolute-names --only-values -n user.getmfs.verified "$work/mnt/a.bin")" = verified ] || fail "not verified"
getmfs unmount "$work/mnt"

if [ -e /etc/fstab ]; then cp /etc/fstab "$work/fstab.orig"; fstab_saved=yes; else fstab_saved=none; fi
echo "$work/urls.txt $work/fstab-mnt fuse.getmfs ro,allow_other,cache_size=64M,noauto,nofail,_netdev,x-systemd.automount 0 0" >> /etc/fstab
mount "$work/fstab-mnt"
got="$(md5sum < "$work/fstab-mnt/a.bin" | cut -c1-32)"
[ "$got" = "$want" ] || fail "fstab mount: md5 $got, want $want"
getmfs unmount "$work/fstab-mnt"

out="$(cd "$work" && getm "http://127.0.0.1:$port/a.bin" -O dl.bin -cs "$want" -ca md5 2>&1)" || fail "getm: $out"
[ -z "$out" ] || fail "getm printed on success: $out"
[ "$(md5sum < "$work/dl.bin" | cut -c1-32)" = "$want" ] || fail "getm downloaded other bytes"

echo "deb_test: purging"
apt-get purge -y -q getmfs > "$work/purge.log"
for f in /usr/bin/getmfs /usr/bin/getm /sbin/mount.fuse.getmfs /usr/lib/systemd/system/getmfs@.service \
         /usr/share/man/man1/getmfs.1.gz; do
  [ ! -e "$f" ] || fail "left after purge: $f"
done
echo "deb_test: passed"
