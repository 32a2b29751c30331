#!/usr/bin/env bash
# Runs every Go test of the main module (go test ./...) and ends with one closing line:
#   go test: N passed, M failed, K skipped (P packages)
# Skipped tests are listed with their reason, failures with their output.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== go test ./..."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Package lines, failures and skips (with the lines that explain them) as they come; not the RUN/PASS chatter.
go test -count=1 -timeout 30m -v "$@" ./... 2>&1 | tee "$log" | awk '
  /^=== (RUN|PAUSE|CONT|NAME)/ { next }
  /^ *--- PASS/ { next }
  /^(ok|FAIL|\?) / || /^FAIL$/ || /^ *--- (FAIL|SKIP)/ || /^panic:/ || /^# / || /\.go:[0-9]+:/ { print; fflush() }
'
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^ *--- PASS' "$log" || true)
failed=$(grep -cE '^ *--- FAIL' "$log" || true)
skipped=$(grep -cE '^ *--- SKIP' "$log" || true)
pkgs=$(grep -cE '^(ok|FAIL|\?) ' "$log" || true)
if [ "$failed" -gt 0 ]; then
  # The full output of each failed test (between its "=== RUN" and its "--- FAIL").
  echo "== output of the failed tests"
  awk '
    /^=== RUN/ { name = $3; buf[name] = ""; cur = name; next }
    /^=== (PAUSE|CONT|NAME)/ { cur = $3; next }
    /^ *--- FAIL: / { n = $3; printf "--- FAIL: %s\n%s", n, buf[n]; next }
    /^ *--- (PASS|SKIP): / { next }
    cur != "" { buf[cur] = buf[cur] $0 "\n" }
  ' "$log"
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build failure or a crash outside a test: show the whole log.
  cat "$log"
  failed=1
fi
echo "go test: $passed passed, $failed failed, $skipped skipped ($pkgs packages)"
exit "$rc"
