#!/usr/bin/env bash
# tests/ts/run.sh: type-check the generated TypeScript with tsc --strict.
#
#   (a) tsconfig.json (generated/ts: every channel, index.ts and the typed
#       schema examples) must compile;
#   (b) wrong_example.ts must NOT compile, and must fail with exactly the
#       error codes its "// expect TSnnnn" comments name, on those lines.
#
# tsc is $TSC, by default the one pinned in tests/node (scripts/deps.sh
# installs it). Run from anywhere; paths are relative to the repository.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
tsc="${TSC:-tests/node/node_modules/.bin/tsc}"
if [[ ! -x "$tsc" ]] && ! command -v "$tsc" >/dev/null 2>&1; then
    echo "run.sh: no tsc at $tsc (run scripts/deps.sh, or set TSC)" >&2
    exit 1
fi
if [[ ! -f generated/ts/index.ts ]]; then
    echo "run.sh: generated/ts/index.ts is missing; run the generator first" >&2
    exit 1
fi

# (a) the generated types and examples compile
if ! "$tsc" -p tests/ts/tsconfig.json --pretty false; then
    echo "run.sh: FAIL: generated TypeScript does not compile" >&2
    exit 1
fi

# (a2) the package (generated/ts/package.json: types and clients) builds with
# its own tsconfig to .js and .d.ts, as `npm run build` would
pkgout="$(mktemp -d)"
if ! "$tsc" -p generated/ts/tsconfig.json --outDir "$pkgout" --pretty false; then
    rm -rf "$pkgout"
    echo "run.sh: FAIL: the generated client package does not build" >&2
    exit 1
fi
rm -rf "$pkgout"

# (b) the wrong example is refused, for the expected reasons
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
"$tsc" --strict --noEmit --pretty false --target es2020 --module esnext \
    --moduleResolution bundler --lib es2020 tests/ts/wrong_example.ts >"$out" 2>&1
rc=$?
set -e
if [[ $rc -eq 0 ]]; then
    echo "run.sh: FAIL: tests/ts/wrong_example.ts compiled, but must not" >&2
    exit 1
fi

# expected "line code" pairs, from the markers
expected="$(grep -n -o -E '// expect TS[0-9]+' tests/ts/wrong_example.ts \
    | sed -E 's#^([0-9]+):// expect (TS[0-9]+)$#\1 \2#' | sort -u)"
# actual "file line code" triples, from tsc's first line of each error
# (tsc --pretty false: "path(line,col): error TSnnnn: message"; an error
# without a place, such as a bad option, becomes "- 0 TSnnnn")
actual="$(grep -E '(^|: )error TS[0-9]+' "$out" | sed -E \
    -e 's#^(.*)\(([0-9]+),[0-9]+\): error (TS[0-9]+):.*$#\1 \2 \3#' \
    -e 's#^error (TS[0-9]+):.*$#- 0 \1#' || true)"
# every error must be in wrong_example.ts (a broken generated file must not count)
if [[ -z "$actual" ]] || grep -v -q '^tests/ts/wrong_example\.ts ' <<<"$actual"; then
    echo "run.sh: FAIL: tsc failed on something other than wrong_example.ts:" >&2
    cat "$out" >&2
    exit 1
fi
actual="$(sed -E 's#^[^ ]+ ##' <<<"$actual" | sort -u)"
if [[ -z "$expected" ]]; then
    echo "run.sh: FAIL: no '// expect TSnnnn' markers in wrong_example.ts" >&2
    exit 1
fi
if [[ "$expected" != "$actual" ]]; then
    echo "run.sh: FAIL: wrong_example.ts errors differ from its markers" >&2
    diff <(echo "$expected") <(echo "$actual") \
        | sed 's/^</  expected but missing:/; s/^>/  unexpected:/' >&2 || true
    echo "tsc said:" >&2
    cat "$out" >&2
    exit 1
fi

echo "tsc: generated types OK; wrong example rejected as expected"
