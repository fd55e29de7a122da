# Extracts the C example between <!-- example:NAME --> markers of README.md
# into OUTPUT, so that the README's code is the code a test compiles.
#   cmake -DREADME=... -DNAME=core -DOUTPUT=... -P readme_example.cmake
file(READ "${README}" text)
string(FIND "${text}" "<!-- example:${NAME} -->" start)
string(FIND "${text}" "<!-- /example:${NAME} -->" stop)
if(start EQUAL -1 OR stop EQUAL -1)
    message(FATAL_ERROR "README.md has no example '${NAME}'")
endif()
math(EXPR len "${stop} - ${start}")
string(SUBSTRING "${text}" ${start} ${len} block)
string(FIND "${block}" "```c\n" open)
math(EXPR open "${open} + 5")
string(SUBSTRING "${block}" ${open} -1 block)
string(FIND "${block}" "```" close)
string(SUBSTRING "${block}" 0 ${close} code)
file(WRITE "${OUTPUT}.tmp" "${code}")
configure_file("${OUTPUT}.tmp" "${OUTPUT}" COPYONLY)
