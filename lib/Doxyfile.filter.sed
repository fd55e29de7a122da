# Turns the headers' plain C comments into Doxygen comments on the fly, so the
# headers keep one comment style and the API reference reads the same text:
#   the file's opening "/* name.h - summary"  ->  "/** @file name.h summary"
#   a comment that starts a line              ->  "/** ..."
#   a comment after a declaration or value    ->  "/**< ..."
1s|^/\* \([A-Za-z_]*\.h\) - |/** @file \1\n * |
/^[[:space:]]*\/\*[^*]/s|^\([[:space:]]*\)/\*|\1/**|
/^[[:space:]]*[^[:space:]/*].*[;,{)A-Za-z0-9][[:space:]]*\/\*[^*]/s|\([;,{)A-Za-z0-9][[:space:]]*\)/\*|\1/**<|
