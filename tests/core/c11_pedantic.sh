#!/usr/bin/env bash
# The core is ISO C11: every source compiles with -std=c11 -pedantic-errors
# -Werror, once as is and once without the 128-bit integer path; and once
# preprocessed as for a compiler that is neither GCC, Clang nor MSVC, nothing
# GNU-only (__builtin_*, __attribute__, __extension__, __int128, typeof, asm)
# is left in the core's own lines: every extension sits behind a guard with a
# portable fallback.
#   c11_pedantic.sh CC SOURCE_ROOT
set -uo pipefail
cc=$1 root=$2
inc=(-I"$root/lib/include" -I"$root/lib/src/core")
passed=0 failed=0
for src in "$root"/lib/src/core/*.c; do
    name=${src#"$root"/}
    before=$failed
    for extra in "" -U__SIZEOF_INT128__; do
        # shellcheck disable=SC2086 # extra is one word or none
        if ! "$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror $extra "${inc[@]}" \
            -fsyntax-only "$src"; then
            echo "FAIL $name: -std=c11 -pedantic-errors $extra"
            failed=$((failed + 1))
        fi
    done
    # Line markers name the file each line comes from; keep the core's own.
    gnu=$("$cc" -std=c11 -E -U__GNUC__ -U__clang__ -U__SIZEOF_INT128__ "${inc[@]}" "$src" 2>/dev/null |
        awk '/^# [0-9]+ "/ { keep = ($3 ~ /lib\/(src\/core|include\/orderly)\//); next } keep' |
        grep -nE '__builtin|__attribute__|__extension__|__int128|\b__typeof|\btypeof\b|\basm\b|__asm')
    if [ -n "$gnu" ]; then
        echo "FAIL $name: GNU-only code with no GNU compiler:"
        echo "$gnu"
        failed=$((failed + 1))
    fi
    if [ "$failed" -eq "$before" ]; then
        passed=$((passed + 1))
    else
        failed=$((before + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
