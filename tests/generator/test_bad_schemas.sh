#!/usr/bin/env bash
# test_bad_schemas.sh LUA: every schema in bad/ must be refused, with the
# message its first line promises ("-- expect: TEXT"), naming file and field.
set -uo pipefail
lua=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pass=0
fail=0
for f in "$here"/bad/*.lua; do
  want=$(sed -n '1s/^-- expect: //p' "$f")
  got=$(cd "$here" && "$lua" "$root/generator/main.lua" --out "$out" "bad/$(basename "$f")" 2>&1)
  rc=$?
  if [ $rc -eq 1 ] && [[ "$got" == "schema error: "*"$want"* ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $(basename "$f"): exit $rc"
    echo "  wanted: schema error: ...$want"
    echo "  got:    $got"
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
