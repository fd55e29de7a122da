#!/usr/bin/env bash
# Benchmarks the core allocator on the five workloads and prints one JSON line
# per trace. Figures, never assertions: compare runs made on the same machine.
#
#   tests/bench/bench.sh [--bin DIR] [--traces DIR] [--seed N]
#                        [--instr-scale F] [--time-scale F] [--no-callgrind]
#
# By default the traces come from orderly-tracegen: instructions per op are
# counted with callgrind at --instr-scale (0.1) as the instructions of a full
# replay less those of a --parse-only run, divided by the ops; times come from
# --time-scale (1.0). --traces DIR instead uses every DIR/*.trace for both.
# Fields: ops, ns_per_op, instr_per_op, instr_per_op_fixed (fixed mode),
# tight_failures (failed allocations in a pool of 1.1 x peak_live),
# high_water, peak_live, worst_alloc_ns / worst_free_ns and the 99.99th
# percentiles alloc_p9999_ns / free_p9999_ns (fixed mode, each op timed
# alone), metadata_bytes (at the end of the replay).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/build/bin"
traces=""
seed=1
instr_scale=0.1
time_scale=1.0
callgrind=1
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin=$2; shift ;;
        --traces) traces=$2; shift ;;
        --seed) seed=$2; shift ;;
        --instr-scale) instr_scale=$2; shift ;;
        --time-scale) time_scale=$2; shift ;;
        --no-callgrind) callgrind=0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$callgrind" = 1 ] && ! command -v valgrind >/dev/null; then
    echo "bench.sh: valgrind not found; install it or pass --no-callgrind" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

# Instructions of one command (callgrind's total).
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

instr_per_op() { # TRACE [replay options...]
    local t=$1; shift
    local full po ops
    full=$(instructions "$bin/orderly-replay" "$t" "$@")
    po=$(instructions "$bin/orderly-replay" "$t" --parse-only "$@")
    ops=$("$bin/orderly-replay" "$t" --parse-only | field ops)
    awk -v f="$full" -v p="$po" -v o="$ops" 'BEGIN { printf "%.1f", (f - p) / o }'
}

measure() { # NAME INSTR_TRACE TIME_TRACE
    local name=$1 it=$2 tt=$3
    local run ops ns peak high meta tight worst wa wf pa pf ipo ipof
    run=$("$bin/orderly-replay" "$tt")
    ops=$(echo "$run" | field ops)
    ns=$(echo "$run" | field ns_per_op)
    peak=$(echo "$run" | field peak_live)
    high=$(echo "$run" | field high_water)
    meta=$(echo "$run" | field metadata_bytes)
    tight=$("$bin/orderly-replay" "$tt" --capacity $((peak + peak / 10)) | field failures)
    worst=$("$bin/orderly-replay" "$tt" --fixed --op-times)
    wa=$(echo "$worst" | field worst_alloc_ns)
    wf=$(echo "$worst" | field worst_free_ns)
    pa=$(echo "$worst" | field alloc_p9999_ns)
    pf=$(echo "$worst" | field free_p9999_ns)
    ipo=null
    ipof=null
    if [ "$callgrind" = 1 ]; then
        ipo=$(instr_per_op "$it")
        ipof=$(instr_per_op "$it" --fixed)
    fi
    printf '{"bench":"replay","trace":"%s","ops":%s,"ns_per_op":%s,"instr_per_op":%s,"instr_per_op_fixed":%s,"tight_failures":%s,"high_water":%s,"peak_live":%s,"worst_alloc_ns":%s,"worst_free_ns":%s,"alloc_p9999_ns":%s,"free_p9999_ns":%s,"metadata_bytes":%s}\n' \
        "$name" "$ops" "$ns" "$ipo" "$ipof" "$tight" "$high" "$peak" "$wa" "$wf" "$pa" "$pf" "$meta"
}

if [ -n "$traces" ]; then
    for t in "$traces"/*.trace; do
        measure "$(basename "$t" .trace)" "$t" "$t"
    done
else
    for name in churn-uniform small-many mesh-stream frame-ring fragmenter; do
        "$bin/orderly-tracegen" "$name" --seed "$seed" --scale "$instr_scale" >"$work/i.trace"
        "$bin/orderly-tracegen" "$name" --seed "$seed" --scale "$time_scale" >"$work/t.trace"
        measure "$name" "$work/i.trace" "$work/t.trace"
    done
fi
