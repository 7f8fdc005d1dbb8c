#!/usr/bin/env bash
# with_corpus.sh SOURCE_DIR CORPUS_DIR COMMAND [ARGS...]: run COMMAND when the
# JSONTestSuite corpus (CORPUS_DIR/test_parsing) is there; otherwise print
# "SKIPPED: <why>" as the first line and exit 77. ctest reports that as Skipped
# by the output (SKIP_REGULAR_EXPRESSION "^SKIPPED: ", set by sb_corpus_test in
# tests/CMakeLists.txt), not by the exit code: libFuzzer exits 77 on a crash,
# and a crash must stay a failure. CI has the corpus beside the clone, at
# ../shared/JSONTestSuite; a clone on its own does not.
set -uo pipefail
src=$1 corpus=$2
shift 2
if [ -d "$corpus/test_parsing" ]; then
  exec "$@"
fi
if [ "$corpus" = "$src/../shared/JSONTestSuite" ]; then
  echo "SKIPPED: ../shared/JSONTestSuite not found (this clone has no ../shared beside it)"
else
  echo "SKIPPED: $corpus/test_parsing not found (SB_JSONTESTSUITE_DIR)"
fi
exit 77
