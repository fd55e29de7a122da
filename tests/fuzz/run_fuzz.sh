#!/usr/bin/env bash
# Builds the fuzz targets with clang + libFuzzer (+ ASan and UBSan, the core's
# asserts on) and fuzzes each for a bounded time, starting from its seed
# corpus.
#   run_fuzz.sh [--build DIR] [--seconds N] [--target core|vk|all] [--parallel]
#               [--jobs N] [--max-len L] [-- libFuzzer flags...]
# --seconds is per target (default 60); --target all (the default) runs
# fuzz_core, then fuzz_vk, or both at once with --parallel (one core each).
# --jobs N runs each target in libFuzzer's fork mode with N workers (for long
# runs: its start-up costs most of a short one). Inputs are at most L bytes
# (default 256 for fuzz_core, whose bugs show within a few dozen operations
# and which runs about 40% more inputs a second than at 512; 512 for fuzz_vk,
# whose split uploads need longer inputs to appear). DIR defaults to build/fuzz-libfuzzer; the growing
# corpus of a target is kept in DIR/corpus-TARGET (the repository's seeds are
# only read; fuzz_vk's seeds are in tests/fuzz/corpus-vk), findings go to
# DIR/artifacts/. Prints the executions and
# executions per second of each target and their total. Exit status is
# non-zero on any finding or when clang with libFuzzer is not installed. CC
# picks the compiler (default clang-14, then clang).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build="$src/build/fuzz-libfuzzer"
seconds=60
jobs=1
target=all
max_len=""
parallel=0
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --max-len) max_len=$2; shift 2 ;;
    --parallel) parallel=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run_fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$target" in
core) targets=(core) ;;
vk) targets=(vk) ;;
all) targets=(core vk) ;;
*) echo "run_fuzz.sh: --target is core, vk or all, not $target" >&2; exit 2 ;;
esac

cc=${CC:-}
if [ -z "$cc" ]; then
    cc=$(command -v clang-14 || command -v clang || true)
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if [ -z "$cc" ] || ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1; then
    echo "run_fuzz.sh: ERROR: clang with libFuzzer is missing (${cc:-no clang found})." >&2
    echo "Install the Debian packages clang and libclang-rt-14-dev (bash .ci/setup)." >&2
    cat "$probe/log" >&2 2>/dev/null
    exit 1
fi

vulkan=OFF
for t in "${targets[@]}"; do
    [ "$t" = vk ] && vulkan=ON
done
cmake -S "$src/tests/fuzz/libfuzzer" -B "$build" -DCMAKE_C_COMPILER="$cc" \
    -DORDERLY_SOURCE_DIR="$src" -DORDERLY_FUZZ_VULKAN=$vulkan >"$probe/cmake.log" 2>&1 ||
    { cat "$probe/cmake.log"; exit 1; }
cmake --build "$build" -j 2 >"$probe/build.log" 2>&1 || { cat "$probe/build.log"; exit 1; }

mkdir -p "$build/artifacts"
fork=()
if [ "$jobs" -gt 1 ]; then
    fork=(-fork="$jobs" -ignore_crashes=0)
fi
len_of() {
    if [ -n "$max_len" ]; then
        echo "$max_len"
    elif [ "$1" = vk ]; then
        echo 512
    else
        echo 256
    fi
}
# One target: fuzz it, keep its log in DIR/fuzz_TARGET.log.
run_target() {
    local t=$1 name="fuzz_$1" seeds="$src/tests/fuzz/corpus"
    if [ "$t" = vk ]; then
        seeds="$src/tests/fuzz/corpus-vk"
    fi
    local len
    len=$(len_of "$t")
    mkdir -p "$build/corpus-$t"
    "$build/$name" -max_total_time="$seconds" -max_len="$len" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" "${fork[@]}" "${extra[@]}" \
        "$build/corpus-$t" "$seeds" >"$build/$name.log" 2>&1
    echo $? >"$build/$name.status"
}
for t in "${targets[@]}"; do
    echo "fuzz_$t: fuzzing for ${seconds}s with $cc (max_len $(len_of "$t")); corpus $build/corpus-$t, findings $build/artifacts/"
done
if [ "$parallel" -eq 1 ]; then
    pids=()
    for t in "${targets[@]}"; do
        run_target "$t" &
        pids+=($!)
    done
    wait "${pids[@]}"
else
    for t in "${targets[@]}"; do
        run_target "$t"
    done
fi
total=0
failed=0
for t in "${targets[@]}"; do
    name="fuzz_$t"
    status=$(cat "$build/$name.status" 2>/dev/null || echo 1)
    runs=$(grep -E '^stat::number_of_executed_units' "$build/$name.log" | awk '{s += $2} END {print s + 0}')
    echo "$name: $runs executions in ${seconds}s ($((runs / seconds)) per second)"
    total=$((total + runs))
    if [ "$status" -ne 0 ]; then
        grep -vE '^("|#[0-9]+[[:space:]]+(NEW|REDUCE|pulse))' "$build/$name.log" | tail -40 >&2
        echo "$name: FINDING (libFuzzer exit status $status); see $build/$name.log and $build/artifacts/" >&2
        failed=1
    fi
done
echo "fuzz: $total executions in all"
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "fuzz: no finding"
