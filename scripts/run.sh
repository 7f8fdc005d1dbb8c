#!/usr/bin/env bash
# scripts/run.sh: install what is missing, build, and start the server on its
# embedded defaults: 127.0.0.1:8080, database ./var/switchboard.db, demo data
# (users and their tokens printed on the first start). Extra arguments go to
# `switchboard serve` (see `scripts/run.sh --help`).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# node packages too: the build embeds socket.io-client's browser bundle in the
# binary, for the realtime test page (/realtime/test-client.html)
bash scripts/deps.sh
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target switchboard >/dev/null
exec build/switchboard serve "$@"
