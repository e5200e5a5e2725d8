#!/usr/bin/env bash
# Checks over everything a test run produced, for CI (after the suites): no getmfs process
# crashed anywhere (the kernel log), and no signed URL's signature or token reached any
# output the tests captured (signed URLs are credentials).
# Usage: DMESG_START=N bash tests/ci_checks.sh BUILD_DIR...  (N: kernel log lines before the run)
set -uo pipefail
status=0

# Crashes: a daemon that crashed at exit is a failed run even if no test noticed.
if dmesg 2>/dev/null | tail -n +"$(( ${DMESG_START:-0} + 1 ))" > /tmp/getmfs-ci-dmesg && dmesg > /dev/null 2>&1; then
  if grep -E 'getmfs.*(segfault|general protection|trap)' /tmp/getmfs-ci-dmesg; then
    echo "ci_checks: the kernel log shows crashes of getmfs processes (above)" >&2
    status=1
  else
    echo "ci_checks: no crash of a getmfs process in the kernel log"
  fi
else
  echo "ci_checks: dmesg is not readable here; crash check skipped"
fi

# Credentials: the test origin signs URLs with X-Amz-Signature / X-Goog-Signature (64 hex
# digits); tests print only redacted URLs, and so must getmfs.
pattern='(X-Amz-Signature|X-Goog-Signature|Signature)=[0-9A-Za-z%]{16,}'
for dir in "$@"; do
  log="$dir/Testing/Temporary/LastTest.log"
  [ -f "$log" ] || continue
  if grep -E -n "$pattern" "$log" | grep -v -E 'Signature=(secret|SECRET|sig|X+)' | head -5 | grep .; then
    echo "ci_checks: a signature reached the test output in $log (above)" >&2
    status=1
  else
    echo "ci_checks: no signature in $log"
  fi
done
exit $status
