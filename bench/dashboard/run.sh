#!/usr/bin/env bash
# bench/dashboard/run.sh: the case dashboard (seed 000) under load: pushes
# through the operator API to N open dashboards of one case, against the echo
# floor (bench/load/echo_server --broadcast: bare libwebsockets writing the
# same number of bytes to the same N connections) in the same run.
#
#   bench/dashboard/run.sh              # N=10000 dashboards, about 1 to 2 minutes
#   bench/dashboard/run.sh 2000         # N=2000
#   bench/dashboard/run.sh --quick      # N=1000, few pushes: a smoke test
#   ROUNDS=3 bench/dashboard/run.sh     # three rounds, medians (numbers to publish)
#
# 1. builds dashload, echo_server and switchboard with cmake in $SB_BUILD_DIR
#    (build/)
# 2. an operator key (switchboard apikey add --name bench) into a template
#    database; every start of the server gets a fresh copy
# 3. per round, each on a fresh process (ours first: the floor is given the
#    sizes of our frames), one dashload run each:
#      ours   dashload dash: one fin_session_id (request_for_auth +
#             auth_handshake), N WebSocket dashboards of case $CASE, each
#             ready at its init_data; then the pushes below; /metrics saved
#             before and after the pushes (results/metrics-ours-R.*)
#      floor  dashload echo: N connections to echo_server --broadcast, the
#             same pushes as broadcast messages of our frames' sizes
#    idle     server RSS growth per open connection (after SETTLE s)
#    burst    PUSHES refreshes (POST .../components/timeline_1/refresh),
#             INFLIGHT at once: deliveries/s, per server CPU-second
#    serial   SERIAL refreshes one at a time: push -> last delivery p50/p99
#    put      PUTS dashboard replacements (PUT .../dashboard, init_data to
#             every tab) one at a time
# 4. a table: both servers' numbers and ours/floor for each, and the
#    serialize-once evidence (the /metrics counters' deltas).
#
# The server runs on CPU $SERVER_CORE (taskset), dashload on $GEN_CORE, both
# at nice $NICE when allowed. Everything listens on 127.0.0.1 on a port the
# kernel picks; every process started here is stopped by its PID on exit.
#
# Knobs (environment): N (10000) ROUNDS (1) CASE (1000) USER_ID (42)
# PUSHES (100) WARMUP_PUSHES (5) INFLIGHT (16) SERIAL (50) PUTS (20)
# SETTLE (2) TRIES (1: a run during which other processes took more than
# OTHERS_MAX (0.10) of the server's core in the burst is repeated up to TRIES
# times, the least disturbed kept) SERVER_CORE (0) GEN_CORE (1) NICE (-10;
# 0: off) SB_BUILD_DIR (build) SB_BIN (our binary) OURS_ARGS (more `serve`
# flags) RESULTS (bench/dashboard/results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/dashboard
BUILD_DIR=${SB_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
RESULTS=${RESULTS:-$HERE/results}

QUICK=0
ARG_N=
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    ''|*[!0-9]*) echo "run.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
    *) ARG_N=$a ;;
  esac
done

q() { if [ "$QUICK" = 1 ]; then echo "$1"; else echo "$2"; fi; } # the default: quick, normal
N=${ARG_N:-${N:-$(q 1000 10000)}}
ROUNDS=${ROUNDS:-1}
CASE=${CASE:-1000}
USER_ID=${USER_ID:-42}
PUSHES=${PUSHES:-$(q 20 100)}
WARMUP_PUSHES=${WARMUP_PUSHES:-5}
INFLIGHT=${INFLIGHT:-16}
SERIAL=${SERIAL:-$(q 10 50)}
PUTS=${PUTS:-$(q 5 20)}
SETTLE=${SETTLE:-$(q 1 2)}
TRIES=${TRIES:-1}
OTHERS_MAX=${OTHERS_MAX:-0.10}
SERVER_CORE=${SERVER_CORE:-0}
GEN_CORE=${GEN_CORE:-1}
NICE=${NICE:--10}
PRIO=()
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null; then PRIO=(nice -n "$NICE"); fi
if [ "$N" -lt 1 ] || [ "$N" -gt 19000 ]; then echo "run.sh: N is 1 to 19000 (ulimit -n is 20000)" >&2; exit 2; fi

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  if [ -z "${SB_LWS_ROOT:-}" ]; then
    SB_DEPS_SKIP=${SB_DEPS_SKIP:-node} SB_BUILD_DIR=$BUILD_DIR "$ROOT/scripts/deps.sh"
  fi
  cmake -S "$ROOT" -B "$BUILD_DIR" ${SB_LWS_ROOT:+-DSB_LWS_ROOT="$SB_LWS_ROOT"} >/dev/null
fi
TARGETS=(dashload echo_server)
if [ -z "${SB_BIN:-}" ]; then TARGETS+=(switchboard); fi
say "building ${TARGETS[*]} in $BUILD_DIR"
cmake --build "$BUILD_DIR" --target "${TARGETS[@]}" -j "$(nproc)" >/dev/null
DASHLOAD=$BUILD_DIR/bench/dashboard/dashload
ECHO=$BUILD_DIR/bench/load/echo_server
SB=${SB_BIN:-$BUILD_DIR/switchboard}
for b in "$DASHLOAD" "$ECHO" "$SB"; do [ -x "$b" ] || die "$b was not built"; done

# Limits meant for the public, set out of reach: the load is one address, one
# user and one session with N tabs. A flag this build does not list in
# `serve --help` is left out, with a note (its default may throttle the run).
SERVE_HELP=$("$SB" serve --help 2>&1 || true)
WANT=(--idle-timeout 0 --max-connections 19500 --max-ip-connections 0 --max-user-connections 0
  --max-message-rate 0 --max-byte-rate 0 --max-request-rate 0 --max-handshake-rate 0)
OURS_FLAGS=()
for ((i = 0; i < ${#WANT[@]}; i += 2)); do
  f=${WANT[i]}
  if grep -q -- "$f " <<<"$SERVE_HELP"; then
    OURS_FLAGS+=("$f" "${WANT[i + 1]}")
  else
    say "note: $SB serve has no $f: its default applies"
  fi
done
if grep -q -- '--no-demo' <<<"$SERVE_HELP"; then OURS_FLAGS+=(--no-demo); fi
read -r -a EXTRA <<<"${OURS_ARGS:-}"

# ---------------------------------------------------------------------------
# Processes: started here, stopped here, by PID
# ---------------------------------------------------------------------------
. "$ROOT/bench/procs.sh"
bench_tmp dashboard

"$SB" apikey add --name bench --db "$TMP/template.db" >"$TMP/apikey.txt" || die "switchboard apikey add failed"
awk '{ print $NF }' "$TMP/apikey.txt" | tail -1 >"$TMP/key" # the key: the line's last field
[ -s "$TMP/key" ] || die "no API key in: $(cat "$TMP/apikey.txt")"

SPID=
PORT=
SLOG=
wait_port() { # log file, pid, pattern printing the port
  local log=$1 pid=$2 i port
  for i in $(seq 1 200); do
    port=$(grep -o "$3[0-9]*" "$log" 2>/dev/null | head -1 | sed 's/.*port=//') || true
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  die "the server did not say its port ($log)"
}
start_server() { # ours|floor, name
  SLOG=$TMP/$2.log
  if [ "$1" = floor ]; then
    "${PRIO[@]}" taskset -c "$SERVER_CORE" "$ECHO" --port 0 --bind 127.0.0.1 --broadcast >"$SLOG" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    PORT=$(wait_port "$SLOG" "$SPID" 'listening port=')
  else
    cp "$TMP/template.db" "$TMP/$2.db"
    "${PRIO[@]}" taskset -c "$SERVER_CORE" "$SB" serve --db "$TMP/$2.db" --port 0 --bind 127.0.0.1 \
      "${OURS_FLAGS[@]}" "${EXTRA[@]}" --log-level info >"$SLOG" 2>&1 &
    SPID=$! # nice and taskset exec: the server's own PID
    PIDS+=("$SPID")
    PORT=$(wait_port "$SLOG" "$SPID" 'event=listen bind=[^ ]* port=')
  fi
}

get() { # key, RESULT line
  echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1
}
RAW=$RESULTS/raw.txt
RLINE=
REFRESH_BYTES=100
INIT_BYTES=600
measure() { # ours|floor, round
  local srv=$1 round=$2 name args
  name=$srv-$round
  start_server "$srv" "$name"
  args=(--port "$PORT" --conns "$N" --warmup-pushes "$WARMUP_PUSHES" --pushes "$PUSHES" --inflight "$INFLIGHT"
    --serial "$SERIAL" --puts "$PUTS" --settle "$SETTLE" --server-pid "$SPID" --server-core "$SERVER_CORE"
    --label "$name")
  if [ "$srv" = ours ]; then
    args=(dash "${args[@]}" --api-key-file "$TMP/key" --case "$CASE" --user "$USER_ID"
      --metrics-out "$RESULTS/metrics-$name")
  else
    args=(echo "${args[@]}" --refresh-bytes "$REFRESH_BYTES" --init-bytes "$INIT_BYTES")
  fi
  say "$name: dashload ${args[*]}"
  if ! "${PRIO[@]}" taskset -c "$GEN_CORE" "$DASHLOAD" "${args[@]}" >"$RESULTS/$name.txt" 2>&1; then
    cat "$RESULTS/$name.txt" >&2
    cp "$SLOG" "$RESULTS/" 2>/dev/null || true
    echo "--- the server's log, last lines:" >&2
    tail -5 "$SLOG" >&2
    die "dashload $name failed (its output and the server's log are in $RESULTS)"
  fi
  kill -0 "$SPID" 2>/dev/null || { cp "$SLOG" "$RESULTS/"; die "the server exited during $name"; }
  stop_pid "$SPID"
  cp "$SLOG" "$RESULTS/"
  RLINE=$(grep '^RESULT' "$RESULTS/$name.txt" | tail -1) || true
  [ -n "$RLINE" ] || die "no RESULT from $name"
  echo "$srv $RLINE" >>"$RAW"
  grep '^dashload: \(idle\|burst\|serial\|put\)' "$RESULTS/$name.txt" | sed "s/^dashload:/  $name:/" >&2
}
measure_best() { # ours|floor, round
  local t o best="" best_o=9
  for t in $(seq 1 "$TRIES"); do
    measure "$1" "$2"
    o=$(get burst_others_util "$RLINE")
    case $o in -1* | "") o=9 ;; esac
    if awk "BEGIN { exit !($o < $best_o) }"; then
      best=$RLINE
      best_o=$o
      cp "$RESULTS/$1-$2.txt" "$TMP/best.txt"
    fi
    if awk "BEGIN { exit !($o <= $OTHERS_MAX) }"; then break; fi
    if [ "$t" -lt "$TRIES" ]; then say "$1-$2: other processes took $o of the server's core; again"; fi
  done
  cp "$TMP/best.txt" "$RESULTS/$1-$2.txt"
  RLINE=$best
}

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
mkdir -p "$RESULTS"
rm -f "$RESULTS"/{summary,raw,machine}.txt "$RESULTS"/{ours,floor}-*.{txt,log} "$RESULTS"/metrics-*
: >"$RAW"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (modified)')"
  echo "ours: $SB serve ${OURS_FLAGS[*]} ${EXTRA[*]}; floor: echo_server --broadcast"
  echo "server on cpu $SERVER_CORE, dashload on cpu $GEN_CORE, priority: ${PRIO[*]:-default}; rounds=$ROUNDS"
  echo "N=$N dashboards of case $CASE (one fin_session_id); pushes: $WARMUP_PUSHES warmup," \
    "burst $PUSHES ($INFLIGHT in flight), serial $SERIAL, put $PUTS"
} >"$RESULTS/machine.txt"

declare -A V # V[server:key] = values, one per round
KEYS=(bytes_per_conn open_s refresh_frame init_frame
  burst_per_s burst_per_cpu_s burst_cpu_us burst_p50_ms burst_p99_ms burst_server_util burst_others_util burst_gen_util
  serial_per_s serial_per_cpu_s serial_cpu_us serial_p50_ms serial_p99_ms serial_others_util serial_gen_util
  put_per_s put_per_cpu_s put_cpu_us put_p50_ms put_p99_ms put_others_util)
keep() { # server, RESULT line
  local k
  for k in "${KEYS[@]}"; do V[$1:$k]+="$(get "$k" "$2") "; done
}
OURS_LAST=
for round in $(seq 1 "$ROUNDS"); do
  measure_best ours "$round"
  keep ours "$RLINE"
  OURS_LAST=$RLINE
  REFRESH_BYTES=$(get refresh_frame "$RLINE")
  INIT_BYTES=$(get init_frame "$RLINE")
  measure_best floor "$round"
  keep floor "$RLINE"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"

# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------
median() {
  printf '%s\n' "$@" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'
}
val() { # server key
  local vs=${V[$1:$2]:-}
  [ -n "$vs" ] || { echo "-"; return; }
  # shellcheck disable=SC2086
  median $vs
}
ratio() { # a b: a/b
  awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0 && a + 0 >= 0) printf "%.2f", a / b; else printf "-" }'
}
row() { # label, key, ratio? (1: ours/floor)
  local f o r=""
  f=$(val floor "$2")
  o=$(val ours "$2")
  if [ "${3:-1}" = 1 ]; then r=$(ratio "$o" "$f"); fi
  printf '%-50s %12s %12s %10s\n' "$1" "$f" "$o" "$r"
}
# Serialize once: the /metrics counters that moved during the pushes.
metrics_delta() { # before, after
  if [ ! -s "$1" ] || [ ! -s "$2" ]; then
    echo "  (no /metrics saved)"
    return
  fi
  awk 'NR == FNR { if ($0 !~ /^#/ && NF == 2) b[$1] = $2; next }
       $0 !~ /^#/ && NF == 2 && ($1 ~ /dashboard|ws_bytes_total|http_requests_total/) {
         d = $2 - b[$1]; if (d != 0) printf "  %-70s %+.0f\n", $1, d }' "$1" "$2"
}
{
  cat "$RESULTS/machine.txt"
  echo
  printf '%-50s %12s %12s %10s\n' "measure" "echo floor" "switchboard" "ours/floor"
  printf '%-50s %12s %12s %10s\n' "-------" "----------" "-----------" "----------"
  row "frame bytes: request_component_refresh" refresh_frame 0
  row "frame bytes: init_data" init_frame 0
  row "burst: deliveries/s ($INFLIGHT pushes in flight)" burst_per_s
  row "burst: deliveries per server CPU-second" burst_per_cpu_s
  row "burst: server CPU per delivery, us" burst_cpu_us
  row "burst: push -> last of N delivered, p50 ms" burst_p50_ms
  row "burst: push -> last of N delivered, p99 ms" burst_p99_ms
  row "burst: server CPU busy" burst_server_util 0
  row "burst: others on the server's core" burst_others_util 0
  row "burst: dashload CPU busy (~1: client-bound)" burst_gen_util 0
  row "serial: deliveries per server CPU-second" serial_per_cpu_s
  row "serial: server CPU per delivery, us" serial_cpu_us
  row "serial: push -> last of N delivered, p50 ms" serial_p50_ms
  row "serial: push -> last of N delivered, p99 ms" serial_p99_ms
  row "serial: dashload CPU busy" serial_gen_util 0
  row "put (init_data): deliveries per server CPU-second" put_per_cpu_s
  row "put (init_data): server CPU per delivery, us" put_cpu_us
  row "put (init_data): push -> last delivered, p50 ms" put_p50_ms
  row "put (init_data): push -> last delivered, p99 ms" put_p99_ms
  row "idle: server bytes per open dashboard ($N)" bytes_per_conn
  row "idle: seconds to open them all" open_s
  echo
  echo "ours/floor: for rates 1.00 is as cheap as bare lws writing the same bytes (lower: costlier);"
  echo "for costs, latency and memory it is how many times the floor's."
  echo
  echo "serialize once: /metrics counters that moved over the pushes of the last round"
  echo "($((WARMUP_PUSHES + PUSHES + SERIAL)) refreshes + $PUTS PUTs, $N dashboards):"
  metrics_delta "$RESULTS/metrics-ours-$ROUNDS.before" "$RESULTS/metrics-ours-$ROUNDS.after"
  mb=$RESULTS/metrics-ours-$ROUNDS
  if [ -s "$mb.before" ] && [ -s "$mb.after" ]; then
    out=$(awk 'NR == FNR { if ($1 == "switchboard_ws_bytes_total{dir=\"out\"}") b = $2; next }
               $1 == "switchboard_ws_bytes_total{dir=\"out\"}" { printf "%.0f", $2 - b }' "$mb.before" "$mb.after")
    pushes=$(awk 'NR == FNR { if ($1 == "switchboard_dashboard_pushes_total") b = $2; next }
                  $1 == "switchboard_dashboard_pushes_total" { printf "%.0f", $2 - b }' "$mb.before" "$mb.after")
    got=$(get bytes_delivered "$OURS_LAST")
    echo "pushes made: $((WARMUP_PUSHES + PUSHES + SERIAL + PUTS)), pushes counted by the server: ${pushes:-?}," \
      "deliveries counted by dashload: $((N * (WARMUP_PUSHES + PUSHES + SERIAL + PUTS)))"
    echo "WebSocket payload bytes written by the server: ${out:-?}; push payload bytes the $N dashboards" \
      "received: $got -> $(if [ "${out:-x}" = "$got" ]; then echo "equal: nothing but the pushes' frames went out"; else echo "DIFFERENT"; fi)"
  fi
} | tee "$RESULTS/summary.txt"
