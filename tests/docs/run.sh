#!/usr/bin/env bash
# Builds the API reference with Doxygen (WARN_AS_ERROR) and fails on any
# warning, except the entries of known_gaps.txt: public items of the headers
# that still lack a comment. An entry that no longer warns fails the test
# too, so the list only shrinks; an empty list means a strict build. Then
# check_html.py reads the pages as a browser shows them and fails on what
# Doxygen does not warn about (an empty main page, enums without values,
# stray backslashes, cut briefs, banners as briefs, a JSON layout run into a
# paragraph, functions of orderly.h without parameter or return tables).
#   run.sh DOXYGEN DOXYFILE OUTPUT_DIR
set -uo pipefail
doxygen=$1 doxyfile=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$doxygen" ] && ! command -v "$doxygen" >/dev/null; then
    echo "docs: doxygen not found (Debian: apt-get install doxygen)"; exit 1
fi
rm -rf "$out/html" && mkdir -p "$out"
(cd "$out" && "$doxygen" "$doxyfile")
status=$?
# "path/orderly.h:31: error: Member X ..." -> "orderly.h: Member X ..."
warnings=$(sed -E 's|^.*/([A-Za-z_]+\.h):[0-9]+: (error\|warning): |\1: |' "$out/warnings.txt" | sort -u)
known=$(grep -v '^#' "$here/known_gaps.txt" | grep -v '^$' | sort -u)
new=$(comm -23 <(echo "$warnings" | grep -v '^$') <(echo "$known"))
fixed=$(comm -13 <(echo "$warnings" | grep -v '^$') <(echo "$known"))
if [ -n "$new" ]; then
    echo "docs: Doxygen warnings:"; echo "$new"; exit 1
fi
if [ -n "$fixed" ]; then
    echo "docs: documented now, remove from tests/docs/known_gaps.txt:"; echo "$fixed"; exit 1
fi
if [ "$status" -ne 0 ] && [ -z "$known" ]; then
    echo "docs: doxygen failed"; exit 1
fi
[ -f "$out/html/index.html" ] || { echo "docs: no html/index.html"; exit 1; }
python3 "$here/check_html.py" "$out/html" --strict orderly.h || exit 1
echo "docs: API reference in $out/html ($(echo "$known" | grep -c . || true) known gaps)"
