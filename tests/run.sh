#!/usr/bin/env bash
# Configures, builds and runs the tests; ends with ctest's summary and one
# line "N passed, N failed".
#   tests/run.sh              RelWithDebInfo build in build/, every test but the
#                             libFuzzer runs (label fuzz, minutes of fuzzing)
#   tests/run.sh --all        the same build, every test, the libFuzzer runs too
#   tests/run.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer in
#                             build-asan/, every test (no libFuzzer run there)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
flags=()
select=(-LE fuzz)
case "${1:-}" in
    "") ;;
    --all) select=() ;;
    --sanitize)
        build="$root/build-asan"
        flags=(-DCMAKE_BUILD_TYPE=Debug -DORDERLY_SANITIZE=ON)
        select=()
        ;;
    *) echo "tests/run.sh: unknown option $1 (--all, --sanitize)" >&2; exit 2 ;;
esac
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$build/xdg-runtime}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
cmake -S "$root" -B "$build" "${flags[@]}" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
cmake --build "$build" -j "$(nproc)" || { echo "0 passed, 1 failed"; exit 1; }
log="$build/ctest.log"
ctest --test-dir "$build" --output-on-failure -j 2 "${select[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
total=$(echo "$summary" | sed -E 's/.*out of ([0-9]+).*/\1/')
failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests failed.*/\1/')
if [ -z "$total" ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
skipped=$(grep -cE "^\s+[0-9]+ - .* \(Skipped\)$" "$log" || true)
if [ "$skipped" -gt 0 ]; then
    echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
else
    echo "$((total - failed)) passed, $failed failed"
fi
exit "$status"
