#!/usr/bin/env bash
# bench/therapy/run.sh: the therapy protocol's chat loop (seed 001) under
# load: N browsers on keep-alive connections, each polling getActions, while
# a few of them post messages; the server's work per poll against its
# cheapest HTTP answer, in the same run.
#
#   bench/therapy/run.sh            # N=5000 clients in SESSIONS=100 sessions, 20 s per phase
#   QUICK=1 bench/therapy/run.sh    # 500 clients, 10 sessions, 5 s: a smoke run
#   N=2000 SESSIONS=40 DURATION=30 PHASES="poll long" bench/therapy/run.sh
#
# Builds nothing: it runs $SB_BUILD_DIR/switchboard and
# $SB_BUILD_DIR/bench/therapy/thload (cmake --build build --target
# switchboard thload).
#
# 1. users and therapy sessions by the CLI (switchboard therapy user add,
#    session add): SESSIONS sessions, N participants spread over them, one
#    therapist each, into a template database
# 2. one server logs every participant in through the SMS file (login, the
#    code from --sms file:PATH, verifyCode, enterTherapySession); that
#    database, holding the N sessions, is the start of every phase
# 3. each phase on a fresh server (a copy of that database), measured over
#    DURATION seconds after WARMUP:
#    poll   every client POSTs getActions every INTERVAL s (5: the seed's),
#           turns spread uniformly; RATE messages/s per session (saveActions,
#           one message each, by a random member over a second connection)
#    long   every client holds getActions {wait: WAIT} and re-issues it at
#           once after each answer; the same messages
#    floor  every client GETs FLOOR_PATH (/healthz) every INTERVAL s; no messages
#    idle   every client parks one long poll: server RSS growth per client
# 4. a table: answers per server CPU-second and their ratios to the floor,
#    delivery latency (saveActions sent -> getActions answer arrived) p50/p99
#    for poll and long, bytes per waiting client.
#
# The server runs on CPU $SERVER_CORE (taskset), thload on $GEN_CORE, both at
# nice $NICE when allowed. Everything listens on 127.0.0.1 on a port the
# kernel picks; every process started here is stopped by its PID on exit.
#
# Knobs (environment): N (5000) SESSIONS (100) DURATION (20) WARMUP (6)
# INTERVAL (5) RATE (0.5 messages/s per session) WAIT (25) FLOOR_PATH
# (/healthz) PHASES ("poll long floor idle") LOGIN_INFLIGHT (64) SETTLE (3)
# SERVER_CORE (0) GEN_CORE (1) NICE (-10; 0: off) QUICK (0)
# SB_BUILD_DIR (build) SB_BIN ($SB_BUILD_DIR/switchboard) OURS_ARGS (more
# `serve` flags) RESULTS (bench/therapy/results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/therapy
BUILD_DIR=${SB_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
RESULTS=${RESULTS:-$HERE/results}
case ${1:-} in -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac

QUICK=${QUICK:-0}
q() { if [ "$QUICK" = 1 ]; then echo "$1"; else echo "$2"; fi; } # the default: quick, normal
N=${N:-$(q 500 5000)}
SESSIONS=${SESSIONS:-$(q 10 100)}
DURATION=${DURATION:-$(q 5 20)}
INTERVAL=${INTERVAL:-5}
WARMUP=${WARMUP:-$(awk -v i="$INTERVAL" 'BEGIN { print i + 1 }')}
RATE=${RATE:-0.5}
WAIT=${WAIT:-25}
FLOOR_PATH=${FLOOR_PATH:-/healthz}
PHASES=${PHASES:-"poll long floor idle"}
LOGIN_INFLIGHT=${LOGIN_INFLIGHT:-64}
SETTLE=${SETTLE:-3}
SERVER_CORE=${SERVER_CORE:-0}
GEN_CORE=${GEN_CORE:-1}
NICE=${NICE:--10}
PRIO=()
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null; then PRIO=(nice -n "$NICE"); fi

say() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

for p in $PHASES; do
  case $p in poll | long | floor | idle) ;; *) die "unknown phase $p in PHASES" ;; esac
done
[ "$SESSIONS" -ge 1 ] && [ "$N" -ge "$SESSIONS" ] || die "N must be at least SESSIONS (>= 1)"
PER=$(((N + SESSIONS - 1) / SESSIONS))
[ "$PER" -le 99 ] || die "at most 99 participants per session (N/SESSIONS): a session's detail lists 100 people"
# one descriptor per client and per session's sender, in thload and in the server
NEED=$((N + SESSIONS + 64))
[ "$(ulimit -n)" -ge "$NEED" ] || die "ulimit -n is $(ulimit -n): $NEED descriptors are needed"

SB=${SB_BIN:-$BUILD_DIR/switchboard}
THLOAD=$BUILD_DIR/bench/therapy/thload
[ -x "$SB" ] || die "$SB is missing: cmake --build $BUILD_DIR --target switchboard"
[ -x "$THLOAD" ] || die "$THLOAD is missing: cmake --build $BUILD_DIR --target thload"
SERVE_HELP=$("$SB" serve --help 2>&1 || true)
grep -q -- '--otp-global-limit' <<<"$SERVE_HELP" || die "$SB serve has no therapy flags"

. "$ROOT/bench/procs.sh"
bench_tmp therapy

mkdir -p "$RESULTS"
rm -f "$RESULTS"/{summary,raw,machine}.txt "$RESULTS"/*.log "$RESULTS"/thload-*.txt

# ---------------------------------------------------------------------------
# Users and sessions (the CLI), into the template database
# ---------------------------------------------------------------------------
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$TMP/therapy-secret"
chmod 600 "$TMP/therapy-secret"
DB0=$TMP/template.db
say "preparing $N participants in $SESSIONS sessions with the CLI"
t=$(date +%s)
: >"$TMP/users.txt"
u=0
for s in $(seq 1 "$SESSIONS"); do
  tid=$(printf 'T%06d' "$s")
  "$SB" therapy user add --phone "+1444$(printf '%07d' "$s")" --last-name "Therapist$s" \
    --name "Therapist $s" --role therapist --id "$tid" --db "$DB0" >/dev/null 2>&1 ||
    die "therapy user add $tid failed"
  ids=()
  n=$((s < SESSIONS ? PER : N - PER * (SESSIONS - 1)))
  [ "$n" -ge 1 ] || die "N=$N does not fill $SESSIONS sessions of $PER"
  for _ in $(seq 1 "$n"); do
    u=$((u + 1))
    pid=$(printf 'P%06d' "$u")
    phone="+1555$(printf '%07d' "$u")"
    "$SB" therapy user add --phone "$phone" --last-name "Last$u" --name "Client $u" \
      --role participant --id "$pid" --db "$DB0" >/dev/null 2>&1 || die "therapy user add $pid failed"
    ids+=("$pid")
    echo "$phone Last$u $pid @$s" >>"$TMP/users.txt"
  done
  ts=$("$SB" therapy session add --name "Group $s" --date 2030-01-01T18:00:00Z \
    --participants "$(IFS=,; echo "${ids[*]}")" --therapist "$tid" --db "$DB0" 2>/dev/null) ||
    die "therapy session add $s failed"
  sed -i "s/ @$s\$/ $ts/" "$TMP/users.txt"
done
say "prepared in $(($(date +%s) - t)) s"

# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------
FLAGS=(--no-demo --bind 127.0.0.1 --port 0 --log-level warn --therapy-secret-file "$TMP/therapy-secret"
  --sms "file:$TMP/sms.jsonl" --otp-ip-limit 0 --otp-global-limit 0 --verify-ip-limit 0
  --max-ip-connections 0 --max-connections 19500 --idle-timeout 0)
read -r -a EXTRA <<<"${OURS_ARGS:-}"
SPID=
PORT=
start_server() { # database, name
  local log=$RESULTS/server-$2.log i
  "${PRIO[@]}" taskset -c "$SERVER_CORE" "$SB" serve --db "$1" "${FLAGS[@]}" "${EXTRA[@]}" \
    --log-level info >"$log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  PORT=
  for i in $(seq 1 200); do
    PORT=$(grep -o 'event=listen bind=[^ ]* port=[0-9]*' "$log" 2>/dev/null | head -1 | sed 's/.*port=//') || true
    [ -z "$PORT" ] || return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  tail -5 "$log" >&2
  die "the server did not start (its log: $log)"
}

thload() { # name, thload arguments...
  local name=$1
  shift
  if ! "${PRIO[@]}" taskset -c "$GEN_CORE" "$THLOAD" "$@" --port "$PORT" --server-pid "$SPID" \
    --server-core "$SERVER_CORE" --label "$name" >"$RESULTS/thload-$name.txt" 2>&1; then
    cat "$RESULTS/thload-$name.txt" >&2
    tail -5 "$RESULTS/server-$name.log" >&2 || true
    die "thload $name failed (its output and the server's log are in $RESULTS)"
  fi
  kill -0 "$SPID" 2>/dev/null || die "the server exited during $name (its log is in $RESULTS)"
  grep -v '^RESULT' "$RESULTS/thload-$name.txt" | sed "s/^thload:/  $name:/" >&2
  grep '^RESULT' "$RESULTS/thload-$name.txt" | tail -1 >>"$RESULTS/raw.txt"
}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "server: $SB serve ${FLAGS[*]} ${EXTRA[*]}" | sed "s#$TMP#\$TMP#g"
  echo "server on cpu $SERVER_CORE, thload on cpu $GEN_CORE, priority: ${PRIO[*]:-default}"
  echo "clients: $N in $SESSIONS sessions; poll every ${INTERVAL}s, long poll wait ${WAIT}s;" \
    "messages: $RATE/s per session ($(awk -v r="$RATE" -v s="$SESSIONS" 'BEGIN { print r * s }')/s in all);" \
    "warm-up ${WARMUP}s, ${DURATION}s measured"
} >"$RESULTS/machine.txt"

cp "$DB0" "$TMP/login.db"
start_server "$TMP/login.db" login
say "logging $N users in (SMS codes from $TMP/sms.jsonl)"
thload login login --users "$TMP/users.txt" --sms "$TMP/sms.jsonl" --out "$TMP/sessions.txt" \
  --inflight "$LOGIN_INFLIGHT"
stop_pid "$SPID"
DB1=$TMP/login.db # the N sessions; every phase starts from a copy

for p in $PHASES; do
  cp "$DB1" "$TMP/$p.db"
  start_server "$TMP/$p.db" "$p"
  sleep 0.5 # the server's own start-up work is no phase's
  case $p in
    poll) thload poll poll --sessions "$TMP/sessions.txt" --interval "$INTERVAL" --rate "$RATE" \
      --warmup "$WARMUP" --duration "$DURATION" ;;
    long) thload long long --sessions "$TMP/sessions.txt" --wait "$WAIT" --rate "$RATE" \
      --warmup "$WARMUP" --duration "$DURATION" ;;
    floor) thload floor floor --sessions "$TMP/sessions.txt" --interval "$INTERVAL" \
      --path "$FLOOR_PATH" --warmup "$WARMUP" --duration "$DURATION" ;;
    idle) thload idle idle --sessions "$TMP/sessions.txt" --wait "$WAIT" --settle "$SETTLE" ;;
  esac
  stop_pid "$SPID"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"

# ---------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------
get() { # mode key
  grep "^RESULT mode=$1 " "$RESULTS/raw.txt" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
v() { local x; x=$(get "$1" "$2"); echo "${x:--}"; }
ratio() { # a b: a/b
  awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b + 0 > 0 && a + 0 >= 0) printf "%.2f", a / b; else printf "-" }'
}
row() { printf '%-58s %12s %12s %12s\n' "$@"; }
{
  cat "$RESULTS/machine.txt"
  echo
  row "measure" "poll ${INTERVAL}s" "long ${WAIT}s" "floor"
  row "-------" "-------" "-------" "-----"
  row "answers/s (measured window)" "$(v poll per_s)" "$(v long per_s)" "$(v floor per_s)"
  row "server CPU busy (share of its core)" "$(v poll server_cpu_util)" "$(v long server_cpu_util)" "$(v floor server_cpu_util)"
  row "answers per server CPU-second" "$(v poll per_cpu_s)" "$(v long per_cpu_s)" "$(v floor per_cpu_s)"
  row "  ratio to the floor (floor = 1)" "$(ratio "$(v poll per_cpu_s)" "$(v floor per_cpu_s)")" \
    "$(ratio "$(v long per_cpu_s)" "$(v floor per_cpu_s)")" "1.00"
  row "answers carrying actions" "$(v poll nonempty)" "$(v long nonempty)" "-"
  row "messages stored (saveActions)" "$(v poll saves)" "$(v long saves)" "-"
  row "delivery latency p50, ms" "$(v poll lat_p50_ms)" "$(v long lat_p50_ms)" "-"
  row "delivery latency p99, ms" "$(v poll lat_p99_ms)" "$(v long lat_p99_ms)" "-"
  row "delivery latency mean, ms" "$(v poll lat_mean_ms)" "$(v long lat_mean_ms)" "-"
  row "deliveries measured" "$(v poll lat_n)" "$(v long lat_n)" "-"
  row "saveActions answered p50, ms" "$(v poll save_p50_ms)" "$(v long save_p50_ms)" "-"
  row "new connections per answer (keep-alive 5s)" "$(v poll reconnects_per_answer)" \
    "$(v long reconnects_per_answer)" "$(v floor reconnects_per_answer)"
  row "others on the server's core" "$(v poll core_others_util)" "$(v long core_others_util)" "$(v floor core_others_util)"
  row "thload CPU busy" "$(v poll gen_cpu_util)" "$(v long gen_cpu_util)" "$(v floor gen_cpu_util)"
  echo
  echo "per poll, work as a multiple of $FLOOR_PATH at the same rate: poll $(ratio "$(v floor per_cpu_s)" "$(v poll per_cpu_s)")x," \
    "long $(ratio "$(v floor per_cpu_s)" "$(v long per_cpu_s)")x"
  echo "latency, long poll against the ${INTERVAL}s poll: p50 $(ratio "$(v poll lat_p50_ms)" "$(v long lat_p50_ms)")x lower," \
    "p99 $(ratio "$(v poll lat_p99_ms)" "$(v long lat_p99_ms)")x lower"
  echo "memory per waiting long-poll client: $(v idle bytes_per_client) bytes" \
    "(server RSS $(v idle rss_one_kb) kB with one, $(v idle rss_all_kb) kB with $(v idle clients))"
} | tee "$RESULTS/summary.txt"
