#!/usr/bin/env bash
# Replays the five workloads through orderly-replay with --check and
# --placements, in the trace's pool and in a tight one (1.1 x peak_live),
# and verifies every placement against exact best-fit; the first replay is
# recorded (--record) and the recording replayed to the same placements.
#   replay_test.sh BIN_DIR own             traces of orderly-tracegen
#   replay_test.sh BIN_DIR shared SCRIPT   traces of an external generator of the
#                                          same format (a Python script; optional,
#                                          see tests/tools/CMakeLists.txt)
#   replay_test.sh BIN_DIR shaped          the VMA-shaped kinds at every alignment and
#                                          the crafted kinds, at small scales
set -u
bin=$1
mode=$2
script=${3:-}
scale=${ORDERLY_TRACE_SCALE:-0.01}
# The checker is O(n): after every op on the small traces, every 50th on the rest.
check_for() { case "$1" in mesh-stream|frame-ring|fragmenter) echo --check ;; *) echo "--check-every 50" ;; esac; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$mode" = shared ]; then
    if [ ! -f "$script" ] || ! command -v python3 >/dev/null; then
        echo "FAIL: no trace generator at '$script' (or python3 is missing)"
        exit 1
    fi
fi
passed=0
failed=0
if [ "$mode" = shaped ]; then
    # NAME|tracegen arguments: small enough for the checker after every op and
    # the naive model, large enough that every probe phase runs.
    cases="vma-1|vma --scale 0.1 --align 1
vma-16|vma --scale 0.1 --align 16
vma-64|vma --scale 0.1 --align 64
vma-256|vma --scale 0.1 --align 256
vma-4096|vma --scale 0.1 --align 4096
vma-mixed|vma-mixed --scale 0.1
vma-fail-64|vma-fail --scale 0.1 --align 64 --probes 200
vma-fail-4096|vma-fail --scale 0.1 --align 4096 --probes 200
vma-fit-64|vma-fit --scale 0.1 --align 64 --probes 200
vma-fit-4096|vma-fit --scale 0.1 --align 4096 --probes 200
deep-bin|deep-bin --scale 0.002
unaligned-holes|unaligned-holes --scale 0.002
one-bin|one-bin --scale 0.002
dust|dust --scale 0.002
dust-ladder|dust-ladder --scale 0.002
fail-fragmented|fail-fragmented --scale 0.002
unaligned-ends|unaligned-ends --scale 0.002"
    while IFS='|' read -r t args; do
        tr="$work/$t.trace"
        # shellcheck disable=SC2086 # args is a word list
        "$bin/orderly-tracegen" $args --seed 3 >"$tr" || { echo "FAIL $t: tracegen $args"; failed=$((failed + 1)); continue; }
        for fixed in "" --fixed; do
            out=$("$bin/orderly-replay" "$tr" --check $fixed --placements "$work/p") || { echo "FAIL $t: replay $fixed"; failed=$((failed + 1)); continue 2; }
            echo "$out"
            if ! "$bin/verify_placements" "$tr" "$work/p" >"$work/v" 2>&1; then
                cat "$work/v"; echo "FAIL $t: placements $fixed"; failed=$((failed + 1)); continue 2
            fi
        done
        passed=$((passed + 1))
    done <<<"$cases"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi
for t in churn-uniform small-many mesh-stream frame-ring fragmenter; do
    tr="$work/$t.trace"
    if [ "$mode" = shared ]; then
        python3 "$script" "$t" --scale "$scale" --seed 3 >"$tr"
    else
        "$bin/orderly-tracegen" "$t" --scale "$scale" --seed 3 >"$tr"
    fi
    out=$("$bin/orderly-replay" "$tr" $(check_for "$t") --placements "$work/p" --record "$work/rec") || { echo "FAIL $t: replay"; failed=$((failed + 1)); continue; }
    echo "$out"
    if ! "$bin/verify_placements" "$tr" "$work/p" >"$work/v" 2>&1; then
        cat "$work/v"; echo "FAIL $t: placements"; failed=$((failed + 1)); continue
    fi
    # The core's recording of that replay replays (every offset verified) to
    # the same placements.
    out=$("$bin/orderly-replay" "$work/rec" $(check_for "$t") --placements "$work/p-rec") || { echo "FAIL $t: replay of the recording"; failed=$((failed + 1)); continue; }
    if ! echo "$out" | grep -q '"verified":true' || ! cmp -s "$work/p" "$work/p-rec"; then
        echo "FAIL $t: the recording replays to other placements"; failed=$((failed + 1)); continue
    fi
    peak=$(echo "$out" | sed -n 's/.*"peak_live":\([0-9]*\).*/\1/p')
    tight=$((peak + peak / 10))
    out=$("$bin/orderly-replay" "$tr" $(check_for "$t") --capacity "$tight" --placements "$work/p") || { echo "FAIL $t: tight replay"; failed=$((failed + 1)); continue; }
    echo "$out"
    if ! "$bin/verify_placements" "$tr" "$work/p" --capacity "$tight" >"$work/v" 2>&1; then
        cat "$work/v"; echo "FAIL $t: tight placements"; failed=$((failed + 1)); continue
    fi
    passed=$((passed + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
