#!/usr/bin/env bash
# Benchmarks the core allocator and prints one JSON line per figure, then a
# markdown table of them all. Figures, never assertions: compare runs made on
# the same machine, ideally two builds in one run (--baseline).
#
#   tests/bench/bench.sh [--bin DIR] [--baseline PATH] [--traces DIR] [--seed N]
#                        [--instr-scale F] [--time-scale F] [--crafted-scale F]
#                        [--check-scale F] [--only GROUPS] [--no-callgrind]
#
# Builds orderly-replay and orderly-tracegen in Release (build-bench/ in the
# source tree) unless --bin DIR names a directory that holds them.
# --baseline PATH (or ORDERLY_BENCH_BASELINE) measures a second orderly-replay
# beside it on the same traces: an executable, a directory that holds one
# (DIR/orderly-replay or DIR/bin/orderly-replay), or another source tree,
# built in Release in build-bench-baseline/ here. Traces always come from this
# tree's orderly-tracegen; the baseline's orderly-replay must know the options
# used here (--fixed, --op-times, --repeat, --check-every, --parse-only).
#
# Groups (--only a,b,...; all by default):
#   workloads  the five workloads: instructions per op at --instr-scale (0.1),
#              growable and fixed mode; ns/op, failures in a pool of
#              1.1 x peak_live, slowest single ops (fixed mode, and growable
#              mode with --repeat 3, where the table grows) and metadata at
#              --time-scale (1.0). --traces DIR uses every DIR/*.trace instead.
#   vma        the VMA-shaped workload at alignments 1, 16, 64, 256, 4096 and
#              mixed: instructions per op, failures, ns/op.
#   probes     instructions per failing probe (vma-fail) and per succeeding
#              probe (vma-fit) at the same alignments, in fixed mode (no table
#              growth in the count): (replay of 1,000 probes - replay of the
#              same trace with 0 probes) / 1,000.
#   crafted    the crafted kinds with 20 probes each at --crafted-scale
#              (1.0 = 2 M regions): the slowest single alloc and free in fixed
#              mode (--op-times --fixed --repeat 3: each op's least time of
#              three runs, so that a preemption does not count;
#              ns_per_op_timed includes the clock reads); and the checker at
#              --check-scale (0.2), after every ops/8-th op and after the
#              last (check_errors must be 0).
# Instructions are callgrind counts of a full orderly-replay run less those
# of a --parse-only run, divided by the ops (or the probes): the replay loop
# alone, exactly repeatable. --no-callgrind skips them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=""
baseline=${ORDERLY_BENCH_BASELINE:-}
traces=""
seed=1
instr_scale=0.1
time_scale=1.0
crafted_scale=1.0
check_scale=0.2
only=workloads,vma,probes,crafted
callgrind=1
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin=$2; shift ;;
        --baseline) baseline=$2; shift ;;
        --traces) traces=$2; shift ;;
        --seed) seed=$2; shift ;;
        --instr-scale) instr_scale=$2; shift ;;
        --time-scale) time_scale=$2; shift ;;
        --crafted-scale) crafted_scale=$2; shift ;;
        --check-scale) check_scale=$2; shift ;;
        --only) only=$2; shift ;;
        --no-callgrind) callgrind=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$callgrind" = 1 ] && ! command -v valgrind >/dev/null; then
    echo "bench.sh: valgrind not found; install it or pass --no-callgrind" >&2
    exit 2
fi
want() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# A Release build of the replay tool and the generator of source tree $1 in $2.
release_build() {
    mkdir -p "$2"
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DORDERLY_BUILD_TESTS=OFF \
        -DORDERLY_BUILD_SAMPLES=OFF -DORDERLY_VULKAN=OFF >"$2/bench-build.log" 2>&1 &&
        cmake --build "$2" -j2 --target orderly-replay orderly-tracegen >>"$2/bench-build.log" 2>&1 ||
        { echo "bench.sh: Release build of $1 failed; see $2/bench-build.log" >&2; exit 1; }
}
if [ -z "$bin" ]; then
    release_build "$root" "$root/build-bench"
    bin="$root/build-bench/bin"
fi
gen="$bin/orderly-tracegen"
builds="current"
replay_current="$bin/orderly-replay"
if [ -n "$baseline" ]; then
    if [ -f "$baseline" ] && [ -x "$baseline" ]; then
        replay_baseline=$baseline
    elif [ -x "$baseline/orderly-replay" ]; then
        replay_baseline="$baseline/orderly-replay"
    elif [ -x "$baseline/bin/orderly-replay" ]; then
        replay_baseline="$baseline/bin/orderly-replay"
    elif [ -f "$baseline/CMakeLists.txt" ]; then
        release_build "$baseline" "$root/build-bench-baseline"
        replay_baseline="$root/build-bench-baseline/bin/orderly-replay"
    else
        echo "bench.sh: --baseline $baseline is no orderly-replay, bin directory or source tree" >&2
        exit 2
    fi
    builds="current baseline"
fi
replay_of() { if [ "$1" = baseline ]; then echo "$replay_baseline"; else echo "$replay_current"; fi; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table="$work/table" # label <TAB> build <TAB> value, one line per figure
: >"$table"
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
num() { if [ -n "$1" ]; then echo "$1"; else echo null; fi; }
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$table"; } # LABEL BUILD VALUE

# Instructions of one command (callgrind's total).
instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# Instructions of the replay loop of TRACE: a full run less a --parse-only run.
replay_instr() { # REPLAY TRACE [replay options...]
    local r=$1 t=$2; shift 2
    local full po
    full=$(instructions "$r" "$t" "$@")
    po=$(instructions "$r" "$t" --parse-only "$@")
    echo $((full - po))
}

instr_per_op() { # REPLAY TRACE [replay options...]
    local r=$1 t=$2; shift 2
    local ops
    ops=$("$r" "$t" --parse-only | field ops)
    awk -v i="$(replay_instr "$r" "$t" "$@")" -v o="$ops" 'BEGIN { printf "%.1f", i / o }'
}

measure_workload() { # NAME INSTR_TRACE TIME_TRACE
    local name=$1 it=$2 tt=$3 b r run ops ns peak high meta tight worst ipo ipof
    for b in $builds; do
        r=$(replay_of "$b")
        run=$("$r" "$tt")
        ops=$(echo "$run" | field ops)
        ns=$(echo "$run" | field ns_per_op)
        peak=$(echo "$run" | field peak_live)
        high=$(echo "$run" | field high_water)
        meta=$(echo "$run" | field metadata_bytes)
        tight=$("$r" "$tt" --capacity $((peak + peak / 10)) | field failures)
        worst=$("$r" "$tt" --fixed --op-times)
        # Growable mode's slowest op (each op's least time of three runs):
        # where the table grows.
        worstg=$("$r" "$tt" --op-times --repeat 3)
        ipo=null
        ipof=null
        if [ "$callgrind" = 1 ]; then
            ipo=$(instr_per_op "$r" "$it")
            ipof=$(instr_per_op "$r" "$it" --fixed)
            note "$name: instr/op" "$b" "$ipo"
            note "$name: instr/op fixed" "$b" "$ipof"
        fi
        note "$name: ns/op" "$b" "$ns"
        note "$name: failures in 1.1 x peak_live" "$b" "$tight"
        wga=$(num "$(echo "$worstg" | field worst_alloc_ns)")
        wgf=$(num "$(echo "$worstg" | field worst_free_ns)")
        note "$name: slowest op us (growable)" "$b" \
            "$(awk -v a="$wga" -v f="$wgf" 'BEGIN { m = a > f ? a : f; printf "%.1f", m / 1000 }')"
        printf '{"bench":"replay","build":"%s","trace":"%s","ops":%s,"ns_per_op":%s,"instr_per_op":%s,"instr_per_op_fixed":%s,"tight_failures":%s,"high_water":%s,"peak_live":%s,"worst_alloc_ns":%s,"worst_free_ns":%s,"alloc_p9999_ns":%s,"free_p9999_ns":%s,"worst_alloc_ns_growable":%s,"worst_alloc_op_growable":%s,"worst_free_ns_growable":%s,"metadata_bytes":%s}\n' \
            "$b" "$name" "$ops" "$ns" "$ipo" "$ipof" "$tight" "$high" "$peak" \
            "$(num "$(echo "$worst" | field worst_alloc_ns)")" \
            "$(num "$(echo "$worst" | field worst_free_ns)")" \
            "$(num "$(echo "$worst" | field alloc_p9999_ns)")" \
            "$(num "$(echo "$worst" | field free_p9999_ns)")" "$wga" \
            "$(num "$(echo "$worstg" | field worst_alloc_op)")" "$wgf" "$meta"
    done
}

if want workloads; then
    if [ -n "$traces" ]; then
        for t in "$traces"/*.trace; do
            measure_workload "$(basename "$t" .trace)" "$t" "$t"
        done
    else
        for name in churn-uniform small-many mesh-stream frame-ring fragmenter; do
            "$gen" "$name" --seed "$seed" --scale "$instr_scale" >"$work/i.trace"
            "$gen" "$name" --seed "$seed" --scale "$time_scale" >"$work/t.trace"
            measure_workload "$name" "$work/i.trace" "$work/t.trace"
        done
    fi
fi

# The VMA shape: the whole trace (7,200 allocations, 14,400 random ops, every
# allocation freed) per op.
if want vma; then
    for align in 1 16 64 256 4096 mixed; do
        if [ "$align" = mixed ]; then
            "$gen" vma-mixed --seed "$seed" >"$work/v.trace"
        else
            "$gen" vma --seed "$seed" --align "$align" >"$work/v.trace"
        fi
        for b in $builds; do
            r=$(replay_of "$b")
            run=$("$r" "$work/v.trace")
            ipo=null
            if [ "$callgrind" = 1 ]; then
                ipo=$(instr_per_op "$r" "$work/v.trace")
                note "vma align $align: instr/op" "$b" "$ipo"
            fi
            note "vma align $align: failures" "$b" "$(echo "$run" | field failures)"
            note "vma align $align: ns/op" "$b" "$(echo "$run" | field ns_per_op)"
            printf '{"bench":"vma","build":"%s","align":"%s","ops":%s,"instr_per_op":%s,"ns_per_op":%s,"failures":%s,"high_water":%s,"capacity":%s}\n' \
                "$b" "$align" "$(echo "$run" | field ops)" "$ipo" "$(echo "$run" | field ns_per_op)" \
                "$(echo "$run" | field failures)" "$(echo "$run" | field high_water)" \
                "$(echo "$run" | field capacity)"
        done
    done
fi

# A failing request against a succeeding one on the same free set (the pads
# of 7,200 aligned allocations): instructions per probe.
if want probes && [ "$callgrind" = 1 ]; then
    probes=1000
    for align in 1 16 64 256 4096; do
        for kind in vma-fail vma-fit; do
            "$gen" "$kind" --seed "$seed" --align "$align" --probes "$probes" >"$work/p.trace"
            "$gen" "$kind" --seed "$seed" --align "$align" --probes 0 >"$work/p0.trace"
            for b in $builds; do
                r=$(replay_of "$b")
                fails=$("$r" "$work/p.trace" | field failures)
                with=$(replay_instr "$r" "$work/p.trace" --fixed)
                without=$(replay_instr "$r" "$work/p0.trace" --fixed)
                ipp=$(awk -v a="$with" -v z="$without" -v n="$probes" 'BEGIN { printf "%.1f", (a - z) / n }')
                note "$kind align $align: instr/probe" "$b" "$ipp"
                printf '{"bench":"probe","build":"%s","trace":"%s","align":%s,"probes":%s,"failures":%s,"instr_per_probe":%s}\n' \
                    "$b" "$kind" "$align" "$probes" "$fails" "$ipp"
            done
        done
    done
fi

# Crafted sequences: the slowest single op at full size in fixed mode, and the
# checker on a smaller copy.
if want crafted; then
    cprobes=20
    for kind in deep-bin unaligned-holes one-bin dust dust-ladder fail-fragmented unaligned-ends; do
        "$gen" "$kind" --seed "$seed" --scale "$crafted_scale" --probes "$cprobes" >"$work/c.trace"
        "$gen" "$kind" --seed "$seed" --scale "$check_scale" --probes "$cprobes" >"$work/k.trace"
        kops=$("$replay_current" "$work/k.trace" --parse-only | field ops)
        for b in $builds; do
            r=$(replay_of "$b")
            run=$("$r" "$work/c.trace" --fixed --op-times --repeat 3)
            checks=$("$r" "$work/k.trace" --check-every $((kops / 8 + 1)) 2>/dev/null | field check_errors) || true
            wa=$(echo "$run" | field worst_alloc_ns)
            wf=$(echo "$run" | field worst_free_ns)
            note "$kind: worst op us (fixed)" "$b" "$(awk -v a="$wa" -v f="$wf" 'BEGIN { m = a > f ? a : f; printf "%.1f", m / 1000 }')"
            note "$kind: check errors at scale $check_scale" "$b" "$(num "$checks")"
            printf '{"bench":"crafted","build":"%s","trace":"%s","scale":%s,"probes":%s,"ops":%s,"ns_per_op_timed":%s,"failures":%s,"worst_alloc_ns":%s,"worst_alloc_op":%s,"worst_free_ns":%s,"worst_free_op":%s,"alloc_p9999_ns":%s,"free_p9999_ns":%s,"check_scale":%s,"check_errors":%s}\n' \
                "$b" "$kind" "$crafted_scale" "$cprobes" "$(echo "$run" | field ops)" \
                "$(echo "$run" | field ns_per_op)" "$(echo "$run" | field failures)" \
                "$wa" "$(echo "$run" | field worst_alloc_op)" "$wf" \
                "$(echo "$run" | field worst_free_op)" "$(echo "$run" | field alloc_p9999_ns)" \
                "$(echo "$run" | field free_p9999_ns)" "$check_scale" "$(num "$checks")"
        done
    done
fi

# The table: one row per figure, one column per build.
echo
if [ -n "$baseline" ]; then
    echo "| figure | current | baseline | current / baseline |"
    echo "|---|---|---|---|"
else
    echo "| figure | value |"
    echo "|---|---|"
fi
awk -F'\t' -v two="${baseline:+1}" '
    !($1 in seen) { seen[$1] = 1; order[++n] = $1 }
    { v[$1, $2] = $3 }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]; c = v[k, "current"]
            if (two == "") { printf "| %s | %s |\n", k, c; continue }
            b = v[k, "baseline"]
            ratio = (b + 0 != 0 && c != "null" && b != "null") ? sprintf("%.2f", c / b) : "-"
            printf "| %s | %s | %s | %s |\n", k, c, b, ratio
        }
    }' "$table"
