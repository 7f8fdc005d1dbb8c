#!/usr/bin/env bash
# bench/cluster/run.sh: the cost of the bus (bench/README.md, "bench/cluster").
#
#   bench/cluster/run.sh [--pairs N] [--messages N] [--rounds N] [--only a,b,c] [--json FILE]
#
# SWITCHBOARD_BIN (default build/switchboard) must have --redis (the bus);
# with --db postgres:// support the nodes share a private PostgreSQL cluster
# (initdb in a temp dir), else one SQLite file (SB_CLUSTER_DB=sqlite|postgres
# chooses). Needs redis-server, and initdb for PostgreSQL. Every process it
# starts is in a process group of its own and killed at exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SWITCHBOARD_BIN=${SWITCHBOARD_BIN:-$ROOT/build/switchboard}
exec node "$ROOT/bench/cluster/bench.mjs" "$@"
