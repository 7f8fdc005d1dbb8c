#!/usr/bin/env bash
# check.sh: the storage seam (docs/architecture.md, Storage). SQLite's types
# and constants, and store_sql.h, appear only in the store itself
# (runtime/store*, runtime/sql.c) and in module stores (handlers/*_store.[ch]); every other
# hand-written source sees store.h alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files 'runtime/*.[ch]' 'handlers/*.[ch]' 2>/dev/null |
  grep -v -E '^runtime/store[^/]*\.[ch]$|^runtime/sql\.[ch]$|^handlers/[^/]*_store\.[ch]$')
[ ${#files[@]} -gt 0 ] || { echo "no files (not a git checkout?)"; exit 1; }
# comments may name SQLite; code may not
bad=$(grep -n -E '\bsqlite3[_a-z0-9]*\b|\bSQLITE_[A-Z_]+\b|store_sql\.h' "${files[@]}" |
  grep -v -E '^[^:]+:[0-9]+:\s*(/?\*|//)' || true)
if [ -n "$bad" ]; then
  echo "SQLite past the storage seam (use store.h, or move the code into a module store):"
  echo "$bad"
  exit 1
fi
# the public header must not pull SQLite in
if grep -q -E '#include\s*[<"]sqlite3\.h[>"]' runtime/store.h; then
  echo "runtime/store.h includes sqlite3.h"
  exit 1
fi
echo "storage seam: ${#files[@]} files clean"
