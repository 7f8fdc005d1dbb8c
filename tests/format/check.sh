#!/usr/bin/env bash
# check.sh: hand-written C follows the committed .clang-format. generated/ is
# the generator's business and is left as it writes it.
set -uo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files 'runtime/*.[ch]' 'handlers/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null)
[ ${#files[@]} -gt 0 ] || { echo "no files (not a git checkout?)"; exit 1; }
if clang-format --dry-run --Werror "${files[@]}" 2>/tmp/sb-format.$$; then
  echo "clang-format: ${#files[@]} files clean"
  rm -f /tmp/sb-format.$$
else
  grep -o '^[^:]*\.[ch]' /tmp/sb-format.$$ | sort -u | sed 's/^/needs clang-format -i: /'
  rm -f /tmp/sb-format.$$
  exit 1
fi
