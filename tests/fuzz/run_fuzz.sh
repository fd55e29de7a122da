#!/usr/bin/env bash
# Builds the core allocator's fuzz target with clang + libFuzzer (+ ASan and
# UBSan) and fuzzes it for a bounded time, starting from the seed corpus.
#   run_fuzz.sh [--build DIR] [--seconds N] [--jobs N] [-- libFuzzer flags...]
# DIR defaults to build/fuzz-libfuzzer; the growing corpus is kept in
# DIR/corpus (the repository's seeds are only read), findings go to
# DIR/artifacts/. Exit status is non-zero on any finding or when clang with
# libFuzzer is not installed. CC picks the compiler (default clang-14, then
# clang).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build="$src/build/fuzz-libfuzzer"
seconds=120
jobs=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run_fuzz.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

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

cmake -S "$src/tests/fuzz/libfuzzer" -B "$build" -DCMAKE_C_COMPILER="$cc" \
    -DORDERLY_SOURCE_DIR="$src" >"$probe/cmake.log" 2>&1 || { cat "$probe/cmake.log"; exit 1; }
cmake --build "$build" -j 2 >"$probe/build.log" 2>&1 || { cat "$probe/build.log"; exit 1; }

mkdir -p "$build/corpus" "$build/artifacts"
echo "fuzzing for ${seconds}s with $cc; corpus $build/corpus, findings $build/artifacts/"
fork=()
if [ "$jobs" -gt 1 ]; then
    fork=(-fork="$jobs" -ignore_crashes=0)
fi
"$build/fuzz_core" -max_total_time="$seconds" -max_len=2048 -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/" "${fork[@]}" "${extra[@]}" \
    "$build/corpus" "$src/tests/fuzz/corpus" 2>&1 | tee "$build/fuzz.log" |
    grep -vE '^("|#[0-9]+[[:space:]]+(NEW|REDUCE|pulse))'
status=${PIPESTATUS[0]}
runs=$(grep -E '^stat::number_of_executed_units' "$build/fuzz.log" | awk '{s += $2} END {print s + 0}')
echo "fuzz_core: $runs executions in ${seconds}s"

if [ "$status" -ne 0 ]; then
    echo "fuzz_core: FINDING (libFuzzer exit status $status); see $build/fuzz.log and $build/artifacts/" >&2
    exit 1
fi
echo "fuzz_core: no finding"
