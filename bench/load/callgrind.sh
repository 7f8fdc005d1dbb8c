#!/usr/bin/env bash
# bench/load/callgrind.sh: user-space instructions per message of the echo
# floor and of the Switchboard server (valgrind --tool=callgrind), the same
# load as run.sh's throughput runs but at valgrind speed. Instruction counts
# do not depend on what else runs on the machine, so their ratio is the
# steadiest number here; kernel work (sockets, the WAL's writes) is not in
# them (perf in run.sh --profile sees it).
#
#   bench/load/callgrind.sh [SECONDS]        # default 10 s of load per server
#
# Per server: one run with the connections only (no messages), one with
# messages; instructions per message = (Ir(load) - Ir(connections only)) /
# messages acked. Writes results/callgrind.txt and keeps the callgrind files
# (results/callgrind-{echo,chat}.out) for callgrind_annotate.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${SB_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
RESULTS=${RESULTS:-$ROOT/bench/load/results}
SECS=${1:-10}
PAIRS=${PAIRS:-10}
WINDOW=${WINDOW:-16}
# SERVE_ARGS: the chat server's flags beyond the basics (default: the
# per-client limits off, since the load is one address flooding).
SERVE_ARGS=${SERVE_ARGS-"--max-ip-connections 0 --max-user-connections 0 --max-message-rate 0 --max-byte-rate 0"}

command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind" >&2; exit 1; }
if [ -z "${SB_LWS_ROOT:-}" ]; then
  SB_DEPS_SKIP=${SB_DEPS_SKIP:-node} SB_BUILD_DIR=$BUILD_DIR "$ROOT/scripts/deps.sh"
fi
[ -f "$BUILD_DIR/CMakeCache.txt" ] ||
  cmake -S "$ROOT" -B "$BUILD_DIR" ${SB_LWS_ROOT:+-DSB_LWS_ROOT="$SB_LWS_ROOT"} >/dev/null
cmake --build "$BUILD_DIR" --target switchboard loadgen echo_server -j "$(nproc)" >/dev/null
SB=$BUILD_DIR/switchboard
LG=$BUILD_DIR/bench/load/loadgen
ECHO=$BUILD_DIR/bench/load/echo_server

TMP=$(mktemp -d /tmp/sb-callgrind.XXXXXX)
SPID=
cleanup() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then kill -KILL "$SPID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$RESULTS"

for i in $(seq 1 $((2 * PAIRS))); do
  "$SB" user add --db "$TMP/template.db" --name "Load $i" --role TECHNICIAN
done >"$TMP/tokens.txt"

# run_one NAME KIND(echo|chat) MODE(conns|load): prints "Ir acks"
run_one() {
  local name=$1 kind=$2 mode=$3 out=$TMP/$1.out log=$TMP/$1.log port i r acks=0
  if [ "$kind" = echo ]; then
    valgrind --tool=callgrind --callgrind-out-file="$out" "$ECHO" --port 0 >"$log" 2>&1 &
  else
    cp "$TMP/template.db" "$TMP/$name.db"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$SB" serve --db "$TMP/$name.db" \
      --port 0 --no-demo --idle-timeout 0 $SERVE_ARGS \
      --log-level info >"$log" 2>&1 &
  fi
  SPID=$!
  port=
  for i in $(seq 1 200); do
    port=$(grep -o 'port=[0-9]*' "$log" | tail -1 | sed 's/port=//') || true
    [ -n "$port" ] && [ "$port" != 0 ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log" >&2; exit 1; }
  local args=(--port "$port" --pairs "$PAIRS" --window "$WINDOW" --warmup 0)
  [ "$kind" = chat ] && args+=(--tokens "$TMP/tokens.txt")
  if [ "$mode" = conns ]; then
    local targs=(idle --conns $((2 * PAIRS)) --port "$port")
    if [ "$kind" = echo ]; then targs+=(--target echo); else targs+=(--tokens "$TMP/tokens.txt"); fi
    "$LG" "${targs[@]}" >/dev/null 2>&1
    acks=0
  elif [ "$kind" = echo ]; then
    r=$("$LG" echo "${args[@]}" --duration "$SECS" 2>/dev/null | grep RESULT)
    acks=$(echo "$r" | tr ' ' '\n' | sed -n 's/^acks_total=//p')
  else
    r=$("$LG" throughput "${args[@]}" --duration "$SECS" 2>/dev/null | grep RESULT)
    acks=$(echo "$r" | tr ' ' '\n' | sed -n 's/^acks_total=//p')
  fi
  kill -INT "$SPID"
  wait "$SPID" || true
  SPID=
  local ir
  ir=$(grep -o 'refs: *[0-9,]*' "$log" | tr -d ', ' | sed 's/refs://')
  echo "$ir ${acks:-0}"
}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; ${SECS}s of load, pairs=$PAIRS window=$WINDOW"
  printf '%-12s %16s %16s %10s %16s\n' server "Ir connections" "Ir with load" messages "Ir per message"
  for kind in echo chat; do
    read -r ir0 _ < <(run_one "$kind-conns" "$kind" conns)
    read -r ir1 acks < <(run_one "$kind-load" "$kind" load)
    cp "$TMP/$kind-load.out" "$RESULTS/callgrind-$kind.out"
    # computed before printf: a bare `>` in a print list is a redirection to a file
    per=$(awk -v a="$ir1" -v b="$ir0" -v n="$acks" 'BEGIN { per = n > 0 ? (a - b) / n : -1; printf "%.0f", per }')
    printf '%-12s %16s %16s %10s %16s\n' "$kind" "$ir0" "$ir1" "$acks" "$per"
    eval "PER_$kind=$per"
  done
  awk -v e="$PER_echo" -v c="$PER_chat" 'BEGIN { printf "ratio chat / echo: %.1fx user-space instructions per message\n", c / e }'
} | tee "$RESULTS/callgrind.txt"
