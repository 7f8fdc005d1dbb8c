#!/usr/bin/env bash
# bench/realtime/run.sh: Switchboard's Socket.IO endpoint (/realtime) against
# Node's socket.io 4.8 doing the same job (node_server.mjs), in the same run.
#
#   bench/realtime/run.sh [SECONDS]     # SECONDS: measured per round-trip run (10)
#   bench/realtime/run.sh --quick       # 3 s, 2,000 connections, 20 updates: a smoke test
#                                       # (knobs set in the environment still win)
#   TARGET=node bench/realtime/run.sh   # one server only: node or ours (default both)
#
# 1. builds sioload (and switchboard) with cmake in $SB_BUILD_DIR (build/)
# 2. a random HS256 secret; one token (sub bench-user, company_id c1, sid
#    bench-session, exp in an hour) minted with jsonwebtoken (mint_token.mjs);
#    an operator key from `switchboard apikey add` into a template database
#    (every start of our server gets a fresh copy); the Node reference is
#    given the same secret and key
# 3. for each mode, each server on a fresh process, Node first in odd rounds
#    and ours first in even ones:
#    rtt     RTT_CONNS connections x WINDOW REQUESTs (ping) in flight:
#            round trips/s, per server CPU-second, p50/p99
#    fanout  FANOUT_CONNS connections of company c1, then UPDATES POSTs to
#            /api/v1/realtime/updates (INFLIGHT at once): deliveries/s
#    idle    IDLE_CONNS connections: server RSS growth per connection
# 4. a table of both servers' numbers and the ratios, oriented so that > 1
#    means ours is better: ours/node for rates, node/ours for latency and
#    memory. With ROUNDS > 1 every number is the median of the rounds.
#
# The server runs on CPU $SERVER_CORE (taskset), sioload on $GEN_CORE, both
# at nice $NICE when allowed. Everything listens on 127.0.0.1 on a port the
# kernel picks; every process started here is stopped by its PID on exit.
#
# Knobs (environment): TARGET (both|node|ours) MODES ("rtt fanout idle")
# ROUNDS (1) RTT_CONNS (50) WINDOW (16) WARMUP (2) FANOUT_CONNS (10000)
# UPDATES (100) WARMUP_UPDATES (5) INFLIGHT (16) DATA_BYTES (0) IDLE_CONNS
# (10000) SETTLE (2) TRIES (2) OTHERS_MAX (0.10: a rtt or fanout run during
# which other processes took more than this share of the server's core is
# repeated, up to TRIES times, and the least disturbed one kept)
# SERVER_CORE (0) GEN_CORE (1) NICE (-10; 0: off)
# SB_BUILD_DIR (build) SB_BIN (our binary: $SB_BUILD_DIR/switchboard)
# NODE (node) OURS_ARGS (more `serve` flags for ours) RESULTS
# (bench/realtime/results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/realtime
BUILD_DIR=${SB_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
RESULTS=${RESULTS:-$HERE/results}

QUICK=0
SECS=
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    ''|*[!0-9.]*) echo "run.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
    *) SECS=$a ;;
  esac
done

q() { if [ "$QUICK" = 1 ]; then echo "$1"; else echo "$2"; fi; } # the default: quick, normal
TARGET=${TARGET:-both}
MODES=${MODES:-"rtt fanout idle"}
ROUNDS=${ROUNDS:-1}
RTT_CONNS=${RTT_CONNS:-50}
WINDOW=${WINDOW:-16}
WARMUP=${WARMUP:-$(q 1 2)}
DURATION=${SECS:-$(q 3 10)}
FANOUT_CONNS=${FANOUT_CONNS:-$(q 2000 10000)}
UPDATES=${UPDATES:-$(q 20 100)}
WARMUP_UPDATES=${WARMUP_UPDATES:-5}
INFLIGHT=${INFLIGHT:-16}
DATA_BYTES=${DATA_BYTES:-0}
IDLE_CONNS=${IDLE_CONNS:-$(q 2000 10000)}
SETTLE=${SETTLE:-$(q 1 2)}
TRIES=${TRIES:-$(q 1 2)}
OTHERS_MAX=${OTHERS_MAX:-0.10}
SERVER_CORE=${SERVER_CORE:-0}
GEN_CORE=${GEN_CORE:-1}
NODE=${NODE:-node}
NICE=${NICE:--10}
PRIO=()
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null; then PRIO=(nice -n "$NICE"); fi

case $TARGET in
  both) SERVERS=(node ours) ;;
  node) SERVERS=(node) ;;
  ours) SERVERS=(ours) ;;
  *) echo "run.sh: TARGET is both, node or ours" >&2; exit 2 ;;
esac
for m in $MODES; do
  case $m in rtt|fanout|idle) ;; *) echo "run.sh: unknown mode $m in MODES" >&2; exit 2 ;; esac
done

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
has() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------
# Build and tools
# ---------------------------------------------------------------------------
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  if [ -z "${SB_LWS_ROOT:-}" ]; then
    # libwebsockets with libevent, built once into the build tree
    SB_DEPS_SKIP=${SB_DEPS_SKIP:-node} SB_BUILD_DIR=$BUILD_DIR "$ROOT/scripts/deps.sh"
  fi
  cmake -S "$ROOT" -B "$BUILD_DIR" ${SB_LWS_ROOT:+-DSB_LWS_ROOT="$SB_LWS_ROOT"} >/dev/null
fi
TARGETS=(sioload)
if has ours && [ -z "${SB_BIN:-}" ]; then TARGETS+=(switchboard); fi
say "building ${TARGETS[*]} in $BUILD_DIR"
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}" -j "$(nproc)" >/dev/null
SIOLOAD=$BUILD_DIR/bench/realtime/sioload
SB=${SB_BIN:-$BUILD_DIR/switchboard}
[ -x "$SIOLOAD" ] || die "$SIOLOAD was not built"
command -v "$NODE" >/dev/null || die "no node (needed for the tokens and the reference server)"
if [ ! -d "$ROOT/tests/node/node_modules/socket.io" ] || [ ! -d "$ROOT/tests/node/node_modules/jsonwebtoken" ]; then
  die "tests/node/node_modules has no socket.io or jsonwebtoken: run scripts/deps.sh (npm ci in tests/node)"
fi
SERVE_HELP=
if has ours; then
  [ -x "$SB" ] || die "$SB was not built"
  SERVE_HELP=$("$SB" serve --help 2>&1 || true)
  grep -q -- '--jwt-secret' <<<"$SERVE_HELP" ||
    die "$SB serve has no --jwt-secret: this build does not serve /realtime yet (TARGET=node runs the reference alone)"
fi

# Limits meant for the public, set out of reach: the load is one address, one
# user and one session with thousands of connections and thousands of
# requests a second each. A flag this build does not know is left out (its
# default then applies: said below, since it may throttle the run).
WANT_LIMITS=(--idle-timeout 0 --max-connections 19500 --max-ip-connections 0 --max-user-connections 0
  --max-message-rate 0 --max-byte-rate 0 --max-request-rate 0 --max-handshake-rate 0)
OURS_FLAGS=()
if has ours; then
  for ((i = 0; i < ${#WANT_LIMITS[@]}; i += 2)); do
    f=${WANT_LIMITS[i]}
    if grep -q -- "$f " <<<"$SERVE_HELP"; then
      OURS_FLAGS+=("$f" "${WANT_LIMITS[i + 1]}")
    else
      say "note: $SB serve has no $f: its default applies"
    fi
  done
fi
read -r -a EXTRA <<<"${OURS_ARGS:-}"

# ---------------------------------------------------------------------------
# Processes: started here, stopped here, by PID
# ---------------------------------------------------------------------------
. "$ROOT/bench/procs.sh"
bench_tmp realtime

# ---------------------------------------------------------------------------
# Secret, token, key
# ---------------------------------------------------------------------------
SESSION=bench-session
COMPANY=c1
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$TMP/secret" # 64 hex digits: 32 bytes
SECRET=$(cat "$TMP/secret")
"$NODE" "$HERE/mint_token.mjs" --secret-file "$TMP/secret" --sub bench-user --company "$COMPANY" \
  --sid "$SESSION" --ttl 3600 >"$TMP/token" || die "cannot mint the token"
if has ours; then
  "$SB" apikey add --name bench --db "$TMP/template.db" >"$TMP/apikey.txt" || die "switchboard apikey add failed"
  cut -f3 "$TMP/apikey.txt" >"$TMP/key"
else
  printf 'sbk_%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$TMP/key"
fi
[ -s "$TMP/key" ] || die "no API key"

wait_port() { # log file, pid
  local log=$1 pid=$2 i port
  for i in $(seq 1 200); do
    port=$(grep -o 'event=listen bind=[^ ]* port=[0-9]*' "$log" 2>/dev/null | head -1 | sed 's/.*port=//') || true
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  die "no event=listen in $log"
}

SPID=
PORT=
SLOG=
start_server() { # node|ours, name
  SLOG=$TMP/$2.log
  if [ "$1" = node ]; then
    SB_JWT_SECRET=$SECRET SB_API_KEY=$(cat "$TMP/key") "${PRIO[@]}" taskset -c "$SERVER_CORE" \
      "$NODE" "$HERE/node_server.mjs" --port 0 --bind 127.0.0.1 >"$SLOG" 2>&1 &
  else
    cp "$TMP/template.db" "$TMP/$2.db"
    "${PRIO[@]}" taskset -c "$SERVER_CORE" "$SB" serve --db "$TMP/$2.db" --port 0 --bind 127.0.0.1 \
      --no-demo --jwt-secret "$SECRET" "${OURS_FLAGS[@]}" "${EXTRA[@]}" --log-level info >"$SLOG" 2>&1 &
  fi
  SPID=$! # nice and taskset exec: the server's own PID
  PIDS+=("$SPID")
  PORT=$(wait_port "$SLOG" "$SPID")
}

get() { # key, RESULT line
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}
RAW=$RESULTS/raw.txt
RLINE=
# One measurement on a fresh server; its RESULT line in RLINE (no subshell:
# the server's PID must stay in PIDS for the trap).
measure() { # node|ours, mode, round, sioload arguments...
  local srv=$1 mode=$2 round=$3 name
  shift 3
  name=$srv-$mode-$round
  start_server "$srv" "$name"
  say "$name: sioload $mode $*"
  if ! "${PRIO[@]}" taskset -c "$GEN_CORE" "$SIOLOAD" "$mode" --port "$PORT" --token-file "$TMP/token" \
    --session "$SESSION" --server-pid "$SPID" --server-core "$SERVER_CORE" --label "$name" "$@" \
    >"$RESULTS/$name.txt" 2>&1; then
    cat "$RESULTS/$name.txt" >&2
    cp "$SLOG" "$RESULTS/" 2>/dev/null || true
    echo "--- the server's log, last lines:" >&2
    tail -5 "$SLOG" >&2
    die "sioload $name failed (its output and the server's log are in $RESULTS)"
  fi
  if ! kill -0 "$SPID" 2>/dev/null; then
    cp "$SLOG" "$RESULTS/" 2>/dev/null || true
    die "the server exited during $name; its log is in $RESULTS"
  fi
  stop_pid "$SPID"
  cp "$SLOG" "$RESULTS/"
  RLINE=$(grep '^RESULT' "$RESULTS/$name.txt" | tail -1) || true
  [ -n "$RLINE" ] || die "no RESULT from $name"
  echo "$srv $RLINE" >>"$RAW"
  grep -v '^RESULT' "$RESULTS/$name.txt" | tail -1 | sed "s/^sioload:/  $name:/" >&2
}
# measure, repeated (at most $TRIES times) while other processes took more
# than $OTHERS_MAX of the server's core during it; the least disturbed one
# is kept (every try is in raw.txt). Memory (idle) is measured once.
measure_best() { # node|ours, mode, round, sioload arguments...
  local srv=$1 mode=$2 round=$3 t o best="" best_o=9
  shift 3
  for t in $(seq 1 "$TRIES"); do
    measure "$srv" "$mode" "$round" "$@"
    [ "$mode" != idle ] || return 0
    o=$(get core_others_util "$RLINE")
    case $o in -1* | "") o=9 ;; esac # unknown
    if awk "BEGIN { exit !($o < $best_o) }"; then
      best=$RLINE
      best_o=$o
      cp "$RESULTS/$srv-$mode-$round.txt" "$TMP/best.txt"
    fi
    if awk "BEGIN { exit !($o <= $OTHERS_MAX) }"; then break; fi
    if [ "$t" -lt "$TRIES" ]; then say "$srv-$mode-$round: other processes took $o of the server's core; again"; fi
  done
  cp "$TMP/best.txt" "$RESULTS/$srv-$mode-$round.txt"
  RLINE=$best
}

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
mkdir -p "$RESULTS"
rm -f "$RESULTS"/{summary,raw,machine}.txt "$RESULTS"/{node,ours}-*.{txt,log}
: >"$RAW"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $("$NODE" --version), socket.io $(sed -n 's/^ *"version": *"\(.*\)".*/\1/p' "$ROOT/tests/node/node_modules/socket.io/package.json" | head -1)"
  if has ours; then echo "ours: $SB serve ${OURS_FLAGS[*]} ${EXTRA[*]}"; fi
  echo "server on cpu $SERVER_CORE, sioload on cpu $GEN_CORE, priority: ${PRIO[*]:-default}; rounds=$ROUNDS"
  echo "rtt: $RTT_CONNS conns x $WINDOW in flight, warmup ${WARMUP}s, ${DURATION}s measured;" \
    "fanout: $FANOUT_CONNS conns, $UPDATES updates ($WARMUP_UPDATES warmup), $INFLIGHT in flight;" \
    "idle: $IDLE_CONNS conns"
} >"$RESULTS/machine.txt"

declare -A V # V[server:mode:key] = space-separated values, one per round
keep() { # server, mode, RESULT line, keys...
  local s=$1 mode=$2 line=$3 k
  shift 3
  for k in "$@"; do V[$s:$mode:$k]+="$(get "$k" "$line") "; done
}
for round in $(seq 1 "$ROUNDS"); do
  ORDER=("${SERVERS[@]}")
  if [ $((round % 2)) = 0 ] && [ ${#SERVERS[@]} = 2 ]; then ORDER=(ours node); fi
  for mode in $MODES; do
    for s in "${ORDER[@]}"; do
      case $mode in
        rtt)
          measure_best "$s" rtt "$round" --conns "$RTT_CONNS" --window "$WINDOW" --warmup "$WARMUP" \
            --duration "$DURATION"
          keep "$s" "$mode" "$RLINE" rt_per_s rt_per_cpu_s p50_us p99_us server_cpu_util core_others_util gen_cpu_util ;;
        fanout)
          measure_best "$s" fanout "$round" --conns "$FANOUT_CONNS" --updates "$UPDATES" \
            --warmup-updates "$WARMUP_UPDATES" --inflight "$INFLIGHT" --data-bytes "$DATA_BYTES" \
            --api-key-file "$TMP/key" --company "$COMPANY"
          keep "$s" "$mode" "$RLINE" deliveries_per_s handed_per_s deliveries_per_cpu_s post_p50_ms server_cpu_util \
            core_others_util gen_cpu_util ;;
        idle)
          measure_best "$s" idle "$round" --conns "$IDLE_CONNS" --settle "$SETTLE"
          keep "$s" "$mode" "$RLINE" bytes_per_conn open_s ;;
      esac
    done
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"

# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------
median() { # values...
  printf '%s\n' "$@" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
val() { # server mode:key
  local vs=${V[$1:$2]:-}
  [ -n "$vs" ] || { echo "-"; return; }
  # shellcheck disable=SC2086
  median $vs
}
ratio() { # a b: a/b
  awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0 && a + 0 >= 0) printf "%.2f", a / b; else printf "-" }'
}
yesno() { if awk "BEGIN { exit !($1) }"; then echo "yes"; else echo "NO"; fi; }
row() { # label, key, direction (up: ours/node, down: node/ours, "": no ratio)
  local n o r=""
  n=$(val node "$2")
  o=$(val ours "$2")
  case $3 in up) r=$(ratio "$o" "$n") ;; down) r=$(ratio "$n" "$o") ;; esac
  printf '%-52s %14s %14s %8s\n' "$1" "$n" "$o" "$r"
}
{
  cat "$RESULTS/machine.txt"
  echo
  printf '%-52s %14s %14s %8s\n' "measure (ratio > 1: ours better)" "node" "switchboard" "ratio"
  printf '%-52s %14s %14s %8s\n' "----------------------------------" "----" "-----------" "-----"
  for mode in $MODES; do
    case $mode in
      rtt)
        row "rtt: round trips/s" rtt:rt_per_s up
        row "rtt: round trips per server CPU-second" rtt:rt_per_cpu_s up
        row "rtt: latency p50, us (closed loop)" rtt:p50_us down
        row "rtt: latency p99, us" rtt:p99_us down
        row "rtt: server CPU busy" rtt:server_cpu_util ""
        row "rtt: others on the server's core" rtt:core_others_util ""
        row "rtt: sioload CPU busy" rtt:gen_cpu_util "" ;;
      fanout)
        row "fanout: deliveries/s ($FANOUT_CONNS conns)" fanout:deliveries_per_s up
        row "fanout: handed over/s (POST answers)" fanout:handed_per_s up
        row "fanout: deliveries per server CPU-second" fanout:deliveries_per_cpu_s up
        row "fanout: POST answered, p50 ms" fanout:post_p50_ms down
        row "fanout: server CPU busy" fanout:server_cpu_util ""
        row "fanout: others on the server's core" fanout:core_others_util ""
        row "fanout: sioload CPU busy (~1: client-bound)" fanout:gen_cpu_util "" ;;
      idle)
        row "idle: bytes per connection ($IDLE_CONNS conns)" idle:bytes_per_conn down
        row "idle: seconds to open them all" idle:open_s down ;;
    esac
  done
  echo
  if has ours; then
    for mode in $MODES; do
      case $mode in
        rtt)
          r=$(ratio "$(val ours rtt:rt_per_cpu_s)" "$(val node rtt:rt_per_cpu_s)")
          if [ "$r" != - ]; then
            echo "goal: >= 5x Node's round trips per server CPU-second: ${r}x -> $(yesno "$r >= 5")"
          fi ;;
        fanout)
          d=$(val ours fanout:deliveries_per_s)
          if [ "$d" != - ]; then
            echo "goal: >= 1,000,000 deliveries/s to $FANOUT_CONNS connections: $d -> $(yesno "$d >= 1000000")" \
              "(an absolute number: it depends on the machine; sioload CPU busy $(val ours fanout:gen_cpu_util))"
          fi ;;
        idle)
          b=$(val ours idle:bytes_per_conn)
          if [ "$b" != - ]; then
            echo "goal: <= 4 KB (4096 B) per idle connection: $b B -> $(yesno "$b <= 4096") (Node: $(val node idle:bytes_per_conn) B)"
          fi ;;
      esac
    done
  fi
} | tee "$RESULTS/summary.txt"
