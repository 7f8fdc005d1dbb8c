#!/usr/bin/env bash
# tests/socketio/official.sh: run the official Engine.IO v4 and Socket.IO v5
# protocol test suites (from a socket.io repository checkout) against
# `switchboard serve --socketio-conformance`, or against the Node reference
# server (ref_server.mjs) with --ref.
#
#   tests/socketio/official.sh [--ref] [--port N] SOCKETIO_CHECKOUT [BIN]
#
# SOCKETIO_CHECKOUT: a checkout of github.com/socketio/socket.io (a work tree
#   holding docs/, or a bare git directory: the two suite directories are then
#   taken from its HEAD with git archive).
# BIN: the switchboard binary (default: build/switchboard of this tree).
#
# The suites are hard-wired to http://localhost:3000, so port 3000 must be
# free; on a shared machine --port N runs the server on port N and points the
# work copies of the suites there (their URL constant is the only change). Each suite is copied to a work directory ($SIO_OFFICIAL_WORK, default
# ${TMPDIR:-/tmp}/sb-sio-official), installed there with `npm ci` from its own
# lockfile (mocha 9, chai 4, chai-string, node-fetch 3, ws 8; this needs the
# npm registry or a warm npm cache) and run with its mocha. The checkout is
# not written to. Prints
#   engine.io v4: N passing, M failing
#   socket.io v5: N passing, M failing
# and exits 0 only when both suites ran with nothing failing. The server is
# stopped on exit, whatever happens.
set -euo pipefail

usage() {
    echo "usage: $0 [--ref] [--port N] SOCKETIO_CHECKOUT [BIN]" >&2
    exit 2
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target=bin
port=3000
while [[ $# -gt 0 ]]; do
    case "$1" in
    --ref) target=ref; shift ;;
    --port)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -ge 1 && "$2" -le 65535 ]] || usage
        port="$2"; shift 2 ;;
    -*) usage ;;
    *) break ;;
    esac
done
[[ $# -ge 1 && $# -le 2 ]] || usage
checkout="$1"
bin="${2:-$root/build/switchboard}"
suites=(docs/engine.io-protocol/v4-test-suite docs/socket.io-protocol/v5-test-suite)
names=("engine.io v4" "socket.io v5")

command -v node >/dev/null || { echo "official.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "official.sh: npm is not installed" >&2; exit 1; }
if [[ $target == bin && ! -x "$bin" ]]; then
    echo "official.sh: no switchboard binary at $bin (build it, or pass BIN)" >&2
    exit 1
fi

work="${SIO_OFFICIAL_WORK:-${TMPDIR:-/tmp}/sb-sio-official}"
mkdir -p "$work"
run="$(mktemp -d "$work/run.XXXXXX")"
server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
trap 'stop_server; rm -rf "$run"' EXIT
trap 'exit 130' INT TERM

# 1. The suites, from a work tree or a bare git directory.
src="$run/src"
mkdir -p "$src"
if [[ -d "$checkout/${suites[0]}" && -d "$checkout/${suites[1]}" ]]; then
    for s in "${suites[@]}"; do
        mkdir -p "$src/$s"
        cp -R "$checkout/$s/." "$src/$s/"
    done
elif git --git-dir="$checkout" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    # (a shallow or partial copy may lack objects outside docs/: git's
    # complaints about those go to a file, shown only if the archive fails)
    if ! git --git-dir="$checkout" archive HEAD "${suites[@]}" 2>"$run/git.err" | tar -x -C "$src"; then
        cat "$run/git.err" >&2
        echo "official.sh: git archive of the suites failed" >&2
        exit 1
    fi
else
    echo "official.sh: $checkout holds neither ${suites[0]} nor a git directory with it" >&2
    exit 1
fi

# 2. Install each suite's locked dependencies (kept between runs in $work,
#    reinstalled when a lockfile changes).
for s in "${suites[@]}"; do
    dir="$work/$(basename "$s")"
    mkdir -p "$dir"
    if ! cmp -s "$src/$s/package-lock.json" "$dir/package-lock.json" || [[ ! -d "$dir/node_modules" ]]; then
        rm -rf "$dir/node_modules"
        cp "$src/$s/package.json" "$src/$s/package-lock.json" "$dir/"
        echo "official.sh: npm ci in $dir" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    # the test files themselves always come from this checkout
    for f in "$src/$s"/*; do
        case "$(basename "$f")" in package.json | package-lock.json | node_modules) ;; *) cp -R "$f" "$dir/" ;; esac
    done
    if [[ $port != 3000 ]]; then
        grep -q '"http://localhost:3000"' "$dir/test-suite.js" || {
            echo "official.sh: --port: no \"http://localhost:3000\" in $s/test-suite.js to point elsewhere" >&2
            exit 1
        }
        sed -i "s#\"http://localhost:3000\"#\"http://localhost:$port\"#" "$dir/test-suite.js"
    fi
done

# 3. The server on port 3000.
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "official.sh: something already listens on 127.0.0.1:$port; stop it first" >&2
    exit 1
fi
log="$run/server.log"
if [[ $target == ref ]]; then
    node "$root/tests/socketio/ref_server.mjs" --port "$port" 2>"$log" >/dev/null &
else
    "$bin" serve --socketio-conformance --port "$port" --db "$run/c.db" --no-demo 2>"$log" >/dev/null &
fi
server_pid=$!
for _ in $(seq 100); do
    grep -q "event=listen .*port=$port" "$log" 2>/dev/null && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "official.sh: the server exited before listening:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if ! grep -q "event=listen .*port=$port" "$log"; then
    echo "official.sh: the server did not log its listen line within 10 s:" >&2
    tail -20 "$log" >&2
    exit 1
fi

# 4. The suites, one after the other, each bounded in time.
status=0
summary=()
for i in 0 1; do
    dir="$work/$(basename "${suites[$i]}")"
    out="$run/$(basename "${suites[$i]}").out"
    set +e
    (cd "$dir" && timeout 300 ./node_modules/.bin/mocha --reporter spec --no-color test-suite.js) >"$out" 2>&1
    rc=$?
    set -e
    cat "$out"
    passing="$(sed -n 's/^ *\([0-9][0-9]*\) passing.*/\1/p' "$out" | tail -1)"
    failing="$(sed -n 's/^ *\([0-9][0-9]*\) failing.*/\1/p' "$out" | tail -1)"
    passing="${passing:-0}"
    failing="${failing:-0}"
    if [[ $rc -ne 0 && $failing -eq 0 ]]; then
        # mocha itself failed (a timeout of the whole run, an import error)
        failing="? (mocha exited $rc)"
    fi
    summary+=("${names[$i]}: $passing passing, $failing failing")
    if [[ $rc -ne 0 || "$failing" != 0 || "$passing" -eq 0 ]]; then status=1; fi
done

stop_server
echo
echo "target: $([[ $target == ref ]] && echo "reference (ref_server.mjs)" || echo "$bin --socketio-conformance")"
printf '%s\n' "${summary[@]}"
exit $status
