# embed_spirv.cmake - writes a C header with each SPIR-V file as a uint32_t
# array named after the file (mesh_pn.vert.spv -> spv_mesh_pn_vert).
# Usage: cmake -DOUT=header.h -DFILES=a.spv|b.spv -P embed_spirv.cmake
string(REPLACE "|" ";" FILES "${FILES}")
set(text "/* Generated from the shaders in shaders/ at build time. Do not edit. */\n#include <stdint.h>\n")
foreach(f IN LISTS FILES)
    get_filename_component(name ${f} NAME)
    string(REGEX REPLACE "\\.spv$" "" name ${name})
    string(REGEX REPLACE "[^A-Za-z0-9]" "_" name ${name})
    file(READ ${f} hex HEX)
    string(LENGTH "${hex}" len)
    math(EXPR words "${len} / 8")
    # SPIR-V words are little-endian: reverse each 4-byte group.
    string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
    string(REGEX REPLACE "(([^,]*,){8})" "\\1\n    " body "${body}")
    string(APPEND text "static const uint32_t spv_${name}[${words}] = {\n    ${body}\n};\n")
endforeach()
file(WRITE ${OUT} "${text}")
