#!/usr/bin/env bash
# Plants one-line bugs in the core allocator, one at a time, and shows that
# the fuzzer and the core tests catch each of them.
#   mutants.sh [--seconds N] [--only NAME] [--table FILE] [--work DIR] [--seed S]
#              [--max-len L] [--no-seeds] [--no-baseline]
# The mutants are listed in tests/fuzz/mutants.txt (file, a whole line to
# find, its replacement, and the fuzz target that must catch it: core, or vk
# for mutants of the Vulkan manager). The source tree is copied to a scratch directory
# (DIR, default a new temporary one, removed at the end unless --work was
# given) and every mutant is applied there, never to this tree. For each
# mutant (and first for the unmutated tree, which must pass, unless
# --no-baseline, for quick runs while retargeting) it builds the
# libFuzzer target fuzz_core and runs it from the seed corpus (from nothing
# with --no-seeds) for at most N seconds (default 60) with libFuzzer seed S
# (default 1) and inputs of at most L bytes (default 512), then builds the
# core-only test suite and runs `ctest -L core`. Prints one table row per
# mutant: name | caught by | seconds until the fuzzer's finding | core tests
# that failed (vk mutants: the fuzzer only). Exit status 0 when the unmutated tree passes and the fuzzer
# caught every mutant in time. Needs clang with libFuzzer; takes minutes.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=60
only=""
table="$src/tests/fuzz/mutants.txt"
work=""
seed=1
max_len=512
seeds=1
baseline=1
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --max-len) max_len=$2; shift 2 ;;
    --no-seeds) seeds=0; shift ;;
    --no-baseline) baseline=0; shift ;;
    *) echo "mutants.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
cc=${CC:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$cc" ]; then
    echo "mutants.sh: ERROR: clang is missing (install clang and libclang-rt-14-dev)" >&2
    exit 1
fi
keep=1
if [ -z "$work" ]; then
    work=$(mktemp -d)
    keep=0
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
cleanup() {
    if [ "$keep" -eq 0 ]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# The scratch copy: every file git tracks or would track.
tree="$work/tree"
rm -rf "$tree"
mkdir -p "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$src" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tree")
else
    cp -r "$src/." "$tree/"
    rm -rf "$tree"/build*
fi
export XDG_RUNTIME_DIR="$work/xdg-runtime"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

vulkan=OFF
if grep -qE '^target vk' "$table"; then
    vulkan=ON
fi
build_fuzz() {
    cmake -S "$tree/tests/fuzz/libfuzzer" -B "$work/fuzz" -DCMAKE_C_COMPILER="$cc" \
        -DORDERLY_SOURCE_DIR="$tree" -DORDERLY_FUZZ_VULKAN=$vulkan >"$work/fuzz-cmake.log" 2>&1 &&
        cmake --build "$work/fuzz" -j 2 >"$work/fuzz-build.log" 2>&1
}
build_tests() {
    cmake -S "$tree" -B "$work/tests" -DORDERLY_VULKAN=OFF -DORDERLY_BUILD_SAMPLES=OFF \
        -DORDERLY_INSTALL=OFF >"$work/tests-cmake.log" 2>&1 &&
        cmake --build "$work/tests" -j 2 >"$work/tests-build.log" 2>&1
}

# run_fuzz core|vk: sets fuzz_result (caught / -) and fuzz_seconds.
run_fuzz() {
    local t=$1 seed_dir="$tree/tests/fuzz/corpus"
    if [ "$t" = vk ]; then
        seed_dir="$tree/tests/fuzz/corpus-vk"
    fi
    local corpus="$work/corpus"
    rm -rf "$corpus" "$work/artifacts"
    mkdir -p "$corpus" "$work/artifacts"
    local t0 t1
    t0=$(date +%s.%N)
    local dirs=("$corpus")
    if [ "$seeds" -eq 1 ]; then
        dirs+=("$seed_dir")
    fi
    timeout $((seconds + 60)) "$work/fuzz/fuzz_$t" -max_total_time="$seconds" \
        -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 -seed="$seed" \
        -artifact_prefix="$work/artifacts/" "${dirs[@]}" >"$work/fuzz.log" 2>&1
    local status=$?
    t1=$(date +%s.%N)
    fuzz_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$status" -ne 0 ]; then
        fuzz_result=caught
        details+=("$name: $(grep -m1 -E '^fuzz_(core|vk):|runtime error|ERROR: |Assertion' "$work/fuzz.log")")
    else
        fuzz_result=-
    fi
}

# Sets tests_failed (names of the failed core tests, or "none").
run_tests() {
    (cd "$work/tests" && ctest -L core --timeout 300 >"$work/ctest.log" 2>&1)
    tests_failed=$(sed -n '/The following tests FAILED/,$p' "$work/ctest.log" |
        sed -nE 's/^[[:space:]]+[0-9]+ - ([A-Za-z0-9_]+) .*/\1/p' | tr '\n' ' ' | sed 's/ $//')
    if ! grep -qE "tests passed, [0-9]+ tests failed" "$work/ctest.log"; then
        tests_failed="(ctest did not run)"
    fi
    tests_failed=${tests_failed:-none}
}

rows=()
details=()
status=0
row() {
    rows+=("$(printf '| %-20s | %-22s | %7s | %s |' "$1" "$2" "$3" "$4")")
    echo "${rows[-1]}"
}

echo "mutants.sh: scratch tree $tree, fuzzer up to ${seconds}s per mutant," \
    "max_len $max_len, $([ "$seeds" -eq 1 ] && echo "from the seed corpus" || echo "from no seed")"
echo "| mutant               | caught by              | seconds | core tests that failed |"
echo "|----------------------|------------------------|---------|------------------------|"
if ! build_fuzz || ! build_tests; then
    echo "mutants.sh: the unmutated tree does not build (logs in $work)" >&2
    keep=1
    exit 1
fi
fuzz_result=- fuzz_seconds=- tests_failed=none
if [ "$baseline" -eq 1 ]; then
    run_fuzz core
    run_tests
fi
if [ "$baseline" -eq 1 ] && [ "$fuzz_result" = "-" ] && [ "$vulkan" = ON ]; then
    core_seconds=$fuzz_seconds
    run_fuzz vk
    fuzz_seconds="$core_seconds + $fuzz_seconds"
fi
if [ "$fuzz_result" != "-" ] || [ "$tests_failed" != none ]; then
    row "(none)" "FAILS UNMUTATED" "$fuzz_seconds" "$tests_failed"
    echo "mutants.sh: the unmutated tree fails (see $work/fuzz.log, $work/ctest.log)" >&2
    keep=1
    exit 1
fi
if [ "$baseline" -eq 1 ]; then
    row "(none)" "nothing (as it must)" "$fuzz_seconds" "$tests_failed"
fi

name="" file="" find="" with="" target=core
mutate() {
    [ -n "$name" ] || return 0
    if [ -n "$only" ] && [ "$only" != "$name" ]; then
        return 0
    fi
    local path="$tree/$file"
    local count
    count=$(FIND="$find" awk '$0 == ENVIRON["FIND"] { n++ } END { print n + 0 }' "$path" 2>/dev/null)
    if [ "$count" != 1 ]; then
        row "$name" "NOT APPLIED" "-" "the find line occurs ${count:-0} times in $file: retarget it"
        status=1
        return 0
    fi
    cp "$path" "$work/original"
    FIND="$find" WITH="$with" awk '{ if ($0 == ENVIRON["FIND"]) print ENVIRON["WITH"]; else print }' \
        "$work/original" >"$path"
    if ! build_fuzz; then
        row "$name" "the compiler" "-" "-"
    else
        run_fuzz "$target"
        if [ "$target" = vk ]; then
            tests_failed="(not run)"
        elif build_tests; then
            run_tests
        else
            tests_failed="(build failed)"
        fi
        if [ "$fuzz_result" = caught ]; then
            row "$name" "fuzz_$target" "$fuzz_seconds" "$tests_failed"
        else
            row "$name" "NOT CAUGHT by fuzz_$target" "$fuzz_seconds" "$tests_failed"
            status=1
        fi
    fi
    cp "$work/original" "$path"
}
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
    "mutant "*)
        mutate
        name=${line#mutant }
        name=${name%% *}
        file="" find="" with="" target=core
        ;;
    "file "*) file=${line#file } ;;
    "find "*) find=${line#find } ;;
    "with "*) with=${line#with } ;;
    "target "*) target=${line#target } ;;
    esac
done <"$table"
mutate

echo
echo "mutants.sh: summary"
printf '%s\n' "${rows[@]}"
echo
echo "mutants.sh: what the fuzzer reported"
printf '%s\n' "${details[@]}"
if [ "$status" -ne 0 ]; then
    echo "mutants.sh: some mutant was not caught by the fuzzer within ${seconds}s, or not applied"
fi
exit "$status"
