#!/usr/bin/env bash
# test_good_schemas.sh LUA [CC]: every schema in good/ must generate, and its
# output must hold what the schema's comments promise:
#   -- expect-file: PATH: LINE     LINE appears, whole, in the output file PATH
#   -- expect-absent: PATH: TEXT   TEXT appears nowhere in PATH
# With CC, the generated C of the channel (codecs and action table) must
# compile warning-free against runtime/; with tests/node's tsc (or $TSC), the
# generated TypeScript must type-check under --strict.
set -uo pipefail
lua=$1
cc=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tsc="${TSC:-$root/tests/node/node_modules/.bin/tsc}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pass=0
fail=0
no() {
  fail=$((fail + 1))
  echo "FAIL $1: $2"
}
for f in "$here"/good/*.lua; do
  name=$(basename "$f")
  dir="$out/${name%.lua}"
  if ! got=$(cd "$here" && "$lua" "$root/generator/main.lua" --out "$dir" "good/$name" 2>&1); then
    no "$name" "generator failed: $got"
    continue
  fi
  ok=1
  while IFS= read -r line; do
    kind=${line%%: *}
    rest=${line#*: }
    path=${rest%%: *}
    want=${rest#*: }
    if [ ! -f "$dir/$path" ]; then
      no "$name" "no output file $path"
      ok=0
    elif [ "$kind" = "-- expect-file" ] && ! grep -qxF -- "$want" "$dir/$path"; then
      no "$name" "$path has no line: $want"
      ok=0
    elif [ "$kind" = "-- expect-absent" ] && grep -qF -- "$want" "$dir/$path"; then
      no "$name" "$path has: $want"
      ok=0
    fi
  done < <(grep -E '^-- expect-(file|absent): ' "$f")
  if [ -n "$cc" ]; then
    for c in "$dir"/c/*.c; do
      case "$c" in *_random.c | */registry*.c) continue ;; esac
      if ! msg=$("$cc" -std=c11 -fsyntax-only -Wall -Wextra -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter -Werror -D_POSIX_C_SOURCE=200809L \
          -I"$root/runtime" -I"$dir/c" "$c" 2>&1); then
        no "$name" "$(basename "$c") does not compile: $msg"
        ok=0
      fi
    done
  fi
  if [ -x "$tsc" ]; then
    if ! msg=$("$tsc" --strict --noEmit --pretty false --target es2020 --module esnext \
        --moduleResolution bundler --lib es2020 --noUnusedLocals "$dir"/ts/*.ts "$dir"/ts/examples/*.ts 2>&1); then
      no "$name" "TypeScript does not type-check: $msg"
      ok=0
    fi
  fi
  [ $ok -eq 1 ] && pass=$((pass + 1))
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
