#!/usr/bin/env bash
# Draws memory maps with orderly-vis and checks each against its dump
# (vis_check): a fragmenter trace replayed into a tight pool, at the end and
# in the middle, coloured by tag; and a real manager dump (VK_DUMP, two pools
# of several blocks, live and pending ranges) coloured by pool.
#   vis_test.sh BIN_DIR VK_DUMP|none OUT_DIR
set -euo pipefail
bin=$1 vk_dump=$2 out=$3
mkdir -p "$out"
"$bin/orderly-tracegen" fragmenter --scale 0.02 --seed 3 >"$out/frag.trace"
peak=$("$bin/orderly-replay" "$out/frag.trace" | sed -E 's/.*"peak_live":([0-9]+).*/\1/')
cap=$((peak * 11 / 10))
ops=$(grep -c '^[af] ' "$out/frag.trace")
"$bin/orderly-replay" "$out/frag.trace" --capacity "$cap" --dump "$out/end.json" >/dev/null
"$bin/orderly-replay" "$out/frag.trace" --capacity "$cap" --dump "$out/mid.json" \
    --dump-at $((ops / 2)) >/dev/null
grep -q "\"ops\":$((ops / 2))," "$out/mid.json"
status=0
check() {
    local name=$1 dump=$2
    shift 2
    "$bin/orderly-vis" "$dump" -o "$out/$name.png" --layout "$out/$name.layout.json" "$@"
    echo "== $name"
    "$bin/vis_check" "$out/$name.png" "$out/$name.layout.json" "$dump" || status=1
}
check replay_end "$out/end.json"
check replay_mid "$out/mid.json" --width 700
if [ "$vk_dump" != none ]; then
    "$vk_dump" "$out/manager.json"
    check manager "$out/manager.json" --color-by pool
fi
exit $status
