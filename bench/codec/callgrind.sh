#!/bin/sh
# callgrind.sh: instructions per message of each implementation, counted by
# callgrind over the timed loop only (--toggle-collect=timed_pass). A
# noise-free cross-check of the timed ratios: it counts work, not time, so it
# misses cache misses and branch mispredictions (add --branch-sim=yes via
# CALLGRIND_OPTS to see the latter).
#
# The profiles are kept in $CALLGRIND_OUT_DIR when it is set (one IMPL.out
# per implementation, for callgrind_annotate), else thrown away.
#
# usage: bench/codec/callgrind.sh BENCH_CODEC [SET] [MESSAGES] [IMPLS]
#   SET       seeds, log_in or log_out (default log_out)
#   MESSAGES  synthetic messages (default 20000)
#   IMPLS     comma-separated --impl ids, the first is the baseline
#             (default sb,cjson-x,cjson-v,jansson-v,jsonc-v)
set -eu
bin=${1:?usage: callgrind.sh BENCH_CODEC [SET] [MESSAGES] [IMPLS]}
set_name=${2:-log_out}
n=${3:-20000}
impls=${4:-sb,cjson-x,cjson-v,jansson-v,jsonc-v}
if [ -n "${CALLGRIND_OUT_DIR:-}" ]; then
    tmp=$CALLGRIND_OUT_DIR
    mkdir -p "$tmp"
else
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
fi

echo "| implementation ($set_name) | instructions per message | vs ${impls%%,*} |"
echo "| --- | ---: | ---: |"
for im in $(echo "$impls" | tr , ' '); do
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --toggle-collect=timed_pass ${CALLGRIND_OPTS:-} \
        --callgrind-out-file="$tmp/$im.out" \
        "$bin" --set "$set_name" --messages "$n" --seed-bytes 1000000 --runs 1 --impl "$im" \
        --no-verify >"$tmp/$im.md" 2>"$tmp/$im.err"
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/$im.err")
    # Messages per timed pass: "(N messages)" when the set is repeated, else
    # the set's own count.
    msgs=$(sed -n 's/.*times (\([0-9]*\) messages).*/\1/p' "$tmp/$im.md")
    [ -n "$msgs" ] || msgs=$(sed -n 's/^\([0-9]*\) messages,.*/\1/p' "$tmp/$im.md")
    echo "$im $ir $msgs"
done | awk '{ per = $2 / $3; if (NR == 1) base = per;
              printf "| %s | %.0f | %.2f |\n", $1, per, per / base }'
