#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root):
#   bash packaging/bootstrap.sh demo   install dependencies, build, run getmfs on sample data
#   bash packaging/bootstrap.sh test   install dependencies, build, run every test
# (The README's two set-up commands; .ci/run runs the second.)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
mode="${1:-demo}"
jobs="$(nproc)"

install_deps() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap.sh installs Debian packages: run it as root (or with sudo)" >&2
    exit 1
  fi
  apt-get update -q
  # shellcheck disable=SC2046
  apt-get install -y -q --no-install-recommends $(grep -hv '^#' packaging/build-deps.txt packaging/test-deps.txt)
}

build() {  # build DIR [cmake args...]
  local dir="$1"; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGETMFS_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "$mode" in
  demo)
    install_deps
    build build
    exec bash packaging/demo.sh build
    ;;
  test)
    install_deps
    dmesg_start="$(dmesg 2>/dev/null | wc -l || echo 0)"
    build build
    (cd build && ctest --output-on-failure --timeout 600 -j 2 -LE soak)
    # Everything again under AddressSanitizer + UndefinedBehaviorSanitizer (the daemons and
    # workers the mount tests start are built with them too).
    build build-asan -DGETMFS_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure --timeout 900 -j 2 -L 'unit|engine|mount')
    # The concurrency-heavy tests under ThreadSanitizer: a race makes a daemon exit 66,
    # which its test reports.
    build build-tsan -DGETMFS_SANITIZE=thread
    tsan_tests="$(cat tests/tsan-tests.txt)"
    (cd build-tsan && TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
        ctest --output-on-failure --timeout 900 -j 2 -R "$tsan_tests")
    # The parsers under libFuzzer (clang; tests/fuzz/README.md): 30 s per target.
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGETMFS_WERROR=ON \
        -DGETMFS_FUZZ=ON -DGETMFS_TESTS=OFF >/dev/null
    cmake --build build-fuzz -j "$jobs" --target fuzz
    bash tests/fuzz/run.sh build-fuzz 30
    DMESG_START="$dmesg_start" bash tests/ci_checks.sh build build-asan build-tsan
    # The Debian package: built, installed, mounted with mount(8) and fstab, purged (alone:
    # it installs system-wide).
    bash tests/install/deb_test.sh .
    # The container image: built from packaging/docker/Dockerfile with podman (a debian:12
    # base made by mmdebstrap: no image registry is reachable) and run as the README says.
    bash tests/install/image_test.sh .
    ;;
  *)
    echo "usage: bash packaging/bootstrap.sh demo|test" >&2
    exit 2
    ;;
esac
