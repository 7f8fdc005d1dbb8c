#!/usr/bin/env bash
# scripts/test.sh: everything CI runs, from a fresh Debian machine or a warm tree.
#
#   1. scripts/deps.sh          install what is missing (fast when nothing is)
#   2. gcc build, -Werror       ctest: unit, schema-derived, CLI, TypeScript, integration
#   3. clang ASan+UBSan build   ctest again, everything under the sanitizers
#   4. clang libFuzzer build    each fuzz target for SB_FUZZ_SECONDS (default 10)
#
#   scripts/test.sh --quick     step 1 and 2 only
#
# The last line is "N passed, N failed" over every ctest run, followed by
# ", N skipped" when some test skipped (the JSONTestSuite tests, in a clone
# without ../shared beside it). ctest counts a skipped test as passed; here it
# counts as skipped only.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/deps.sh

passed=0
failed=0
skipped=0
status=0
# run_ctest BUILD_DIR [ctest args...]: run, keep going on failure, add up the counts
run_ctest() {
  local dir=$1; shift
  local log
  log=$(mktemp)
  if ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$log"; then :; fi
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "test.sh: no ctest summary from $dir" >&2
    status=1
  else
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    # ctest lists skipped tests under "did not run", as "  12 - name (Skipped)"
    local s
    s=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log" || true)
    passed=$((passed + t - f - s))
    failed=$((failed + f))
    skipped=$((skipped + s))
    [ "$f" = 0 ] || status=1
  fi
  rm -f "$log"
}

configure() { # configure DIR [cmake args...]; reconfigures only when needed
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
}

echo "== gcc build (-Werror) and tests"
configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
run_ctest build -j"$jobs"

if [ $quick = 0 ]; then
  echo "== clang build with AddressSanitizer + UndefinedBehaviorSanitizer"
  CC=clang configure build-asan -DSB_SANITIZE=ON -DSB_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest build-asan -j"$jobs"

  echo "== clang libFuzzer targets, ${SB_FUZZ_SECONDS:-10} s each"
  CC=clang configure build-fuzz -DSB_FUZZ=ON -DSB_BENCH=OFF -DSB_FUZZ_SECONDS="${SB_FUZZ_SECONDS:-10}"
  cmake --build build-fuzz -j"$jobs"
  run_ctest build-fuzz -R '^fuzz_'
fi

if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit $status
