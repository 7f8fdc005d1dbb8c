#!/usr/bin/env bash
# bench/load/compare.sh: the chat benchmark before and after a change, in one
# run, as ratios (these machines are noisy: only numbers measured side by side
# mean anything).
#
#   bench/load/compare.sh BASE_REV [ROUNDS]
#   BASE_ARGS="..." NEW_ARGS="..." bench/load/compare.sh HEAD   # the same code, two settings
#
# Builds switchboard at BASE_REV (a git worktree in a temporary folder, with
# the same libwebsockets) and at the working tree, then runs ROUNDS (3) rounds
# of A then B, each on a fresh server and database:
#   throughput  loadgen throughput: 50 sender/receiver pairs, 16 messages in
#               flight each (acks/s = messages persisted and acknowledged)
#   flight1     the same with one message in flight per sender
#   latency     open loop at half of the BASE's measured throughput (or RATE),
#               the same rate for both: p50/p99 of send -> ack
# and prints the medians and the ratio new/base. Server on cpu 0, loadgen on
# cpu 1 (taskset). Output also in bench/load/results/compare.txt.
#
# Knobs: PAIRS (50) WINDOW (16) DURATION (8) WARMUP (2) SB_BUILD_DIR (build);
# BASE_ARGS, NEW_ARGS: extra serve flags for each side. The per-client limits
# of the working tree are set out of reach by default (LIMITS), since the load
# is one address and 1,000 messages a second per sender.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BASE_REV=${1:?usage: compare.sh BASE_REV [ROUNDS]}
ROUNDS=${2:-3}
PAIRS=${PAIRS:-50}
WINDOW=${WINDOW:-16}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
BUILD_DIR=${SB_BUILD_DIR:-$ROOT/build}
RESULTS=$ROOT/bench/load/results
LWS=${SB_LWS_ROOT:-$BUILD_DIR/deps/lws-install}
mkdir -p "$RESULTS"

say() { printf 'compare.sh: %s\n' "$*" >&2; }
TMP=$(mktemp -d /tmp/sb-compare.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  git -C "$ROOT" worktree remove --force "$TMP/base" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

say "building the working tree and $BASE_REV"
cmake --build "$BUILD_DIR" --target switchboard loadgen -j2 >/dev/null
git -C "$ROOT" worktree add -q --detach "$TMP/base" "$BASE_REV"
cmake -S "$TMP/base" -B "$TMP/base/build" -DSB_LWS_ROOT="$LWS" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSB_BENCH=OFF >/dev/null
cmake --build "$TMP/base/build" --target switchboard -j2 >/dev/null
declare -A BIN=([base]=$TMP/base/build/switchboard [new]=$BUILD_DIR/switchboard)
LG=$BUILD_DIR/bench/load/loadgen

for v in base new; do # each binary makes its own users (its own schema)
  for i in $(seq 1 $((2 * PAIRS))); do
    "${BIN[$v]}" user add --db "$TMP/$v-template.db" --name "Load $i" --role TECHNICIAN
  done >"$TMP/$v-tokens.txt"
done

LIMITS=${LIMITS-"--max-ip-connections 1000000 --max-user-connections 1000000 --max-message-rate 10000000 --max-byte-rate 1024m"}
declare -A ARGS=([base]=${BASE_ARGS-} [new]=${NEW_ARGS-$LIMITS})
SPID= PORT=
start() { # version name
  cp "$TMP/$1-template.db" "$TMP/$2.db"
  taskset -c 0 "${BIN[$1]}" serve --db "$TMP/$2.db" --port 0 --no-demo --idle-timeout 0 \
    ${ARGS[$1]} --log-level info >"$TMP/$2.log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  for _ in $(seq 1 100); do
    PORT=$(grep -o 'event=listen bind=127.0.0.1 port=[0-9]*' "$TMP/$2.log" 2>/dev/null | head -1 |
      sed 's/.*port=//') || true
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "no port for $2" >&2
  exit 1
}
stop() { kill -TERM "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }
get() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
run() { # version name loadgen-args...
  local v=$1 n=$2
  shift 2
  start "$v" "$n"
  taskset -c 1 "$LG" "$@" --tokens "$TMP/$v-tokens.txt" --port "$PORT" --server-pid "$SPID" \
    --server-core 0 --label "$n" >"$TMP/$n.txt" 2>&1
  stop
  grep '^RESULT' "$TMP/$n.txt" | tail -1
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A TP FL P50 P99 CPU
COMMON=(--pairs "$PAIRS" --warmup "$WARMUP" --duration "$DURATION")
for r in $(seq 1 "$ROUNDS"); do
  for v in base new; do
    say "round $r: $v throughput"
    line=$(run "$v" "$v-tp-$r" throughput "${COMMON[@]}" --window "$WINDOW")
    TP[$v]+="$(get acks_per_s "$line") "
    CPU[$v]+="$(get cpu_us_per_msg "$line") "
    line=$(run "$v" "$v-fl-$r" throughput "${COMMON[@]}" --window 1)
    FL[$v]+="$(get acks_per_s "$line") "
  done
done
# RATE: the latency runs' rate (default: half of the base's throughput).
RATE=${RATE:-$(echo "${TP[base]}" | tr ' ' '\n' | grep . | median | awk '{ printf "%d", $1 / 2 }')}
for r in $(seq 1 "$ROUNDS"); do
  for v in base new; do
    say "round $r: $v latency at $RATE msg/s"
    line=$(run "$v" "$v-lat-$r" latency "${COMMON[@]}" --rate "$RATE")
    P50[$v]+="$(get p50_us "$line") "
    P99[$v]+="$(get p99_us "$line") "
  done
done

med() { echo "$1" | tr ' ' '\n' | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
{
  echo "base: $BASE_REV ($(git -C "$ROOT" rev-parse --short "$BASE_REV")), new: working tree ($(git -C "$ROOT" rev-parse --short HEAD)+)"
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $ROUNDS rounds (medians), pairs=$PAIRS duration=${DURATION}s"
  printf '%-46s %12s %12s %8s\n' measure base new new/base
  for row in "throughput, acks/s, $WINDOW in flight:TP" "throughput, acks/s, 1 in flight:FL" \
    "server CPU per message, us:CPU" "latency p50 at $RATE msg/s, us:P50" "latency p99 at $RATE msg/s, us:P99"; do
    label=${row%:*}
    declare -n arr=${row##*:}
    b=$(med "${arr[base]}")
    n=$(med "${arr[new]}")
    printf '%-46s %12s %12s %8s\n' "$label" "$b" "$n" "$(ratio "$n" "$b")"
    unset -n arr
  done
} | tee "$RESULTS/compare.txt"
