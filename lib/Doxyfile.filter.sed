# Turns the headers' plain C comments into Doxygen comments on the fly, so the
# headers keep one comment style and the API reference reads the same text:
#   the file's opening "/* name.h - summary"  ->  "/** @file name.h summary"
#   a section banner "/* ---- Title ----"     ->  a titled paragraph of the
#                                                 file's page, not the doc of
#                                                 whatever follows it
#   the result list X(NAME, value) /* text */ ->  enumerators of the result
#                                                 enum, each with its text
#   a macro continued over lines              ->  one line (no stray "\")
#   an indented block after "Layout:"         ->  a verbatim block
#   "a .. b" (a range)                        ->  not the end of a brief
#   a comment that starts a line              ->  "/** ..."
#   a comment after a declaration or value    ->  "/**< ..."
1s|^/\* \([A-Za-z_]*\.h\) - |/** @file \1\n * |

# The X-macro result list: its lines become enumerators kept in the hold
# space and written where the enum expands the list; the macro itself is
# left without a body (its comment documents the list).
/^#define OA[A-Z_]*_RESULT_LIST(X)[[:space:]]*\\$/s|[[:space:]]*\\$||
/^[[:space:]]*X(\([A-Z0-9_]*\), *\(-\{0,1\}[0-9]*\))/{
s|^[[:space:]]*X(\([A-Z0-9_]*\), *\(-\{0,1\}[0-9]*\))[[:space:]]*/\*\(.*\)\*/[[:space:]]*\\\{0,1\}$|    \1 = \2, /**<\3*/|
s|^[[:space:]]*X(\([A-Z0-9_]*\), *\(-\{0,1\}[0-9]*\))[[:space:]]*\\\{0,1\}$|    \1 = \2,|
H
d
}
/^[[:space:]]*OA[A-Z_]*_RESULT_LIST(OA[A-Z_]*_RESULT_ENUM)/{
g
s|^\n||
}

# Macros continued with "\" (a value and its comment on the next lines).
:join
/^#define.*\\$/{
N
s|[[:space:]]*\\\n[[:space:]]*| |
b join
}

# Banners: "/* ---- Title ----" (and "/* ---- Title ---- */").
s|^/\* ---- \(.*[^- ]\)[- ]*\*/$|/** @file\n * @par \1\n */|
s|^/\* ---- \(.*[^- ]\)[- ]*$|/** @file\n * @par \1|

# An indented block that follows a line ending in "Layout:" is verbatim
# (the JSON dump's layout), up to the next line of ordinary text.
/Layout:$/,/^ \* [^ ]/{
/Layout:$/{
s|$|\n * @verbatim|
b after_layout
}
/^ \* [^ ]/!s|^ \*||
/^ \* [^ ]/s|^|@endverbatim\n|
}
:after_layout

# "0 .. n - 1" is a range, not the end of the brief sentence.
s|\([0-9A-Za-z_)]\) \.\. |\1 \&hellip; |g

/^[[:space:]]*\/\*[^*]/s|^\([[:space:]]*\)/\*|\1/**|
/^[[:space:]]*[^[:space:]/*].*[;,{)A-Za-z0-9][[:space:]]*\/\*[^*]/s|\([;,{)A-Za-z0-9][[:space:]]*\)/\*|\1/**<|
