# procs.sh: sourced by the bench scripts (bench/*/run.sh): a private
# temporary directory and the processes a script starts, stopped by PID when
# it ends however it ends.
#
#   . "$(dirname "$0")/../procs.sh"
#   bench_tmp realtime          # TMP=/tmp/sb-realtime.XXXXXX (mode 700), cleaned at exit
#   server & PIDS+=($!)         # every PID started goes in PIDS
#   stop_pid "$pid"             # TERM, then KILL after 5 s

PIDS=()

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$TMP"
}

bench_tmp() {
  TMP=$(mktemp -d "/tmp/sb-$1.XXXXXX")
  chmod 700 "$TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
