#!/usr/bin/env bash
# Installs vpar from the build tree $2 into a temporary prefix, then builds
# and runs tests/consumer twice: via find_package(vpar) and via pkg-config.
set -euo pipefail
src=$1 build=$2 cc=${3:-cc}
tmp=$(mktemp -d /tmp/vpar_consumer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/vpar.h"

# 1. CMake package
cmake -S "$src/tests/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS= -DCMAKE_EXE_LINKER_FLAGS= >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/consumer" "$tmp/a.npy"

# 2. pkg-config
pc=$(find "$tmp/prefix" -name vpar.pc | head -n1)
test -n "$pc"
export PKG_CONFIG_PATH=$(dirname "$pc")
"$cc" -std=c11 -o "$tmp/consumer-pc" "$src/tests/consumer/main.c" \
      $(pkg-config --cflags vpar) $(pkg-config --libs vpar)
"$tmp/consumer-pc" "$tmp/b.npy"
echo "consumer: find_package and pkg-config builds both ran"
