#!/usr/bin/env bash
# Runs every Go test of the main module (go test ./...) and ends with one closing line:
#   go test: N passed, M failed, K skipped (P packages)
# Skipped tests are listed with their reason, failures with their output.
# Then each fuzzer of the project runs briefly on top of its committed seed corpus (the seeds already ran as
# ordinary tests): FUZZTIME per fuzzer (default 8s, about 2 minutes in all; FUZZTIME=0 skips this part). A failing input is saved
# under the package's testdata/fuzz/ by go test: commit it with the fix, so it stays a regression test.
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

# The fuzzers: package and fuzz function. Keep in sync with `grep -rn '^func Fuzz' --include=*_test.go`
# (TestFuzzersListed in kernel/project checks it).
FUZZERS=(
  "./fiberlib/internal/binfile FuzzDecode"
  "./fiberlib/data FuzzParseIDX"
  "./fiberlib/data FuzzParseTable"
  "./fiberlib/data FuzzParseClassificationTable"
  "./fiberlib/data FuzzParseInts"
  "./fiberlib/data FuzzParseXY"
  "./fiberlib/samples FuzzLoad"
  "./fiberlib/flow FuzzLoad"
  "./fiberlib/nets FuzzParseSpec"
  "./kernel/nbrun FuzzNotebook"
  "./kernel/kernelspec FuzzParse"
)
FUZZTIME="${FUZZTIME:-8s}"
fuzz_failed=0
if [ "$FUZZTIME" != "0" ] && [ "$FUZZTIME" != "0s" ]; then
  echo "== fuzzing: ${#FUZZERS[@]} fuzzers, $FUZZTIME each"
  for entry in "${FUZZERS[@]}"; do
    read -r pkg fn <<<"$entry"
    out="$(go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1)"
    status=$?
    # Go's fuzzer can stop with "context deadline exceeded" and no failing input when -fuzztime runs out
    # while a busy machine is still starting its workers; that is not a finding: run the fuzzer once more.
    if [ "$status" -ne 0 ] && ! grep -q 'Failing input written' <<<"$out" && grep -q 'context deadline exceeded' <<<"$out"; then
      echo "note $pkg $fn: stopped by its deadline without a failing input; running it again"
      out="$(go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1)"
      status=$?
    fi
    if [ "$status" -eq 0 ]; then
      execs="$(printf '%s\n' "$out" | grep -oE 'execs: [0-9]+' | tail -1)"
      echo "ok   $pkg $fn (${execs:-no execs reported})"
    else
      fuzz_failed=$((fuzz_failed + 1))
      echo "FAIL $pkg $fn"
      printf '%s\n' "$out" | grep -vE '^fuzz: elapsed' | tail -30
    fi
  done
  echo "fuzz: $((${#FUZZERS[@]} - fuzz_failed)) passed, $fuzz_failed failed"
fi
[ "$rc" -ne 0 ] && exit "$rc"
[ "$fuzz_failed" -gt 0 ] && exit 1
exit 0
