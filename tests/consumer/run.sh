#!/usr/bin/env bash
# Installs orderly into a temporary prefix and builds the consumer in app/
# four ways: find_package(orderly CONFIG), pkg-config, add_subdirectory and
# FetchContent; runs each program. Then builds the core alone with every
# Vulkan lookup disabled and consumes that install too.
#   run.sh SOURCE_DIR WORK_DIR CMAKE C_COMPILER VULKAN(ON|OFF)
set -euo pipefail
src=$1 work=$2 cmake=$3 cc=$4 vk=$5
app="$src/tests/consumer/app"
rm -rf "$work" && mkdir -p "$work"
log="$work/log.txt"
step() { echo "== $*"; }
quiet() { "$@" >>"$log" 2>&1 || { cat "$log"; echo "FAILED: $*"; exit 1; }; }
off=(-DORDERLY_BUILD_TESTS=OFF -DORDERLY_BUILD_TOOLS=OFF -DORDERLY_BUILD_SAMPLES=OFF
     -DORDERLY_INSTALL=ON -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release)

step "install to $work/prefix"
quiet "$cmake" -S "$src" -B "$work/orderly" "${off[@]}" -DORDERLY_VULKAN="$vk" \
    -DCMAKE_INSTALL_PREFIX="$work/prefix"
quiet "$cmake" --build "$work/orderly" -j 2
quiet "$cmake" --install "$work/orderly"
for f in include/orderly/orderly.h lib/cmake/orderly/orderlyConfig.cmake \
         lib/cmake/orderly/orderlyConfigVersion.cmake lib/pkgconfig/orderly.pc; do
    [ -f "$work/prefix/$f" ] || { echo "FAILED: $f not installed"; exit 1; }
done

run() { "$@" || { echo "FAILED: $*"; exit 1; }; }

step "find_package(orderly CONFIG)"
quiet "$cmake" -S "$app" -B "$work/package" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DORDERLY_CONSUMER_MODE=package -DORDERLY_CONSUMER_VK="$vk"
quiet "$cmake" --build "$work/package"
run "$work/package/consumer_core"
[ "$vk" = OFF ] || run "$work/package/consumer_vk"

step "pkg-config"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
version=$(pkg-config --modversion orderly)
# shellcheck disable=SC2046
run "$cc" -std=c11 -Wall -Wextra -Werror -DEXPECTED_VERSION="\"$version\"" "$app/main.c" \
    -o "$work/pc_core" $(pkg-config --cflags --libs orderly)
run "$work/pc_core"
if [ "$vk" = ON ]; then
    # shellcheck disable=SC2046
    run "$cc" -std=c11 -Wall -Wextra -Werror "$app/main_vk.c" -o "$work/pc_vk" \
        $(pkg-config --cflags --libs orderly-vk)
    run "$work/pc_vk"
fi

# add_subdirectory with the manager; FetchContent with the core alone (as a
# renderer-less tool would take it), which keeps the test quick.
for mode in subdir fetch; do
    step "$mode"
    mvk=$vk
    [ "$mode" = subdir ] || mvk=OFF
    quiet "$cmake" -S "$app" -B "$work/$mode" -DCMAKE_C_COMPILER="$cc" \
        -DORDERLY_CONSUMER_MODE="$mode" -DORDERLY_SOURCE_DIR="$src" -DORDERLY_CONSUMER_VK="$mvk" \
        -DORDERLY_VULKAN="$mvk"
    quiet "$cmake" --build "$work/$mode" -j 2
    run "$work/$mode/consumer_core"
    [ "$mvk" = OFF ] || run "$work/$mode/consumer_vk"
done

step "core alone: ORDERLY_VULKAN=OFF with find_package(Vulkan) disabled"
quiet "$cmake" -S "$src" -B "$work/core-only" "${off[@]}" -DORDERLY_VULKAN=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON -DCMAKE_INSTALL_PREFIX="$work/prefix-core"
if grep -iE '^(Vulkan|ORDERLY_VOLK)[A-Za-z_]*:' "$work/core-only/CMakeCache.txt"; then
    echo "FAILED: the core-only build looked Vulkan up (above)"; exit 1
fi
quiet "$cmake" --build "$work/core-only" -j 2
quiet "$cmake" --install "$work/core-only"
for f in include/orderly/orderly_vk.h lib/pkgconfig/orderly-vk.pc lib/cmake/orderly/orderlyVkTargets.cmake; do
    [ ! -e "$work/prefix-core/$f" ] || { echo "FAILED: $f installed without the manager"; exit 1; }
done
quiet "$cmake" -S "$app" -B "$work/package-core" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$work/prefix-core" -DORDERLY_CONSUMER_MODE=package -DORDERLY_CONSUMER_VK=OFF
quiet "$cmake" --build "$work/package-core"
run "$work/package-core/consumer_core"
# Asking that install for the manager must fail to find the package.
if "$cmake" -S "$app" -B "$work/package-core-vk" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$work/prefix-core" -DORDERLY_CONSUMER_VK=ON >>"$log" 2>&1; then
    echo "FAILED: find_package(orderly COMPONENTS vk) succeeded on a core-only install"; exit 1
fi
echo "consumer: all ways built and ran"
