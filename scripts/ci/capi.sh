#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# CI for the C ABI: builds libkeybound.so into dist/ (and checks build-capi.sh --help), checks the header (C and
# C++), the exports (only kb_*, and every function the header declares), the SONAME and the dependencies, the
# stripped library and its separate debug file, runs the C tests plain, under ASan+UBSan and under valgrind, builds
# and runs the C example with the exact command written in it, compiles every ```c block of README.md, checks the
# pkg-config and CMake packages (version from the header; IntegrationTests/cmake-consumer through
# find_package(Keybound)) and runs the pure-C smoke target. The Python package (python/) is built from this stage's
# dist/lib/libkeybound.so.0 and tested by scripts/ci/python.sh.
# Assumes `swift build` already ran in the repository root (with $KEYBOUND_SWIFT_BUILD_FLAGS, when set).
# Needs: gcc, clang (the Swift toolchain's), valgrind, pkg-config, binutils, cmake (installed here when missing),
#        python3 (the C tests' fixture generator)
#        (apt: build-essential valgrind pkg-config libssl-dev cmake python3-pytest python3-cryptography).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"

step "build libkeybound.so (release, static Swift stdlib, export list, SONAME)"
capi_build ""
[ -L "$dist/lib/libkeybound.so" ] && [ -f "$dist/lib/pkgconfig/keybound.pc" ] \
    && [ -f "$dist/include/keybound.h" ] && [ -f "$dist/lib/cmake/Keybound/KeyboundConfig.cmake" ] \
    && [ -f "$dist/lib/cmake/Keybound/KeyboundConfigVersion.cmake" ] || fail "dist/ layout is incomplete"
header_version="$(sed -n 's/^#define KB_VERSION_STRING "\(.*\)"$/\1/p' include/keybound.h)"

step "scripts/build-capi.sh --help prints its whole usage"
# The usage is the script's header comment, from "Builds the self-contained" to "Needs:": --help prints all of it.
scripts/build-capi.sh --help > "$work/help.txt"
sed -n '/^# Builds the self-contained/,/^# Needs:/s/^# \{0,1\}//p' scripts/build-capi.sh > "$work/help-expected.txt"
[ "$(wc -l < "$work/help-expected.txt")" -gt 15 ] || fail "build-capi.sh has no usage comment"
cmp -s "$work/help.txt" "$work/help-expected.txt" || { diff "$work/help-expected.txt" "$work/help.txt"; fail "--help cut the usage"; }
for option in --prefix --with-redis --backend --help Needs:; do
    grep -q -- "$option" "$work/help.txt" || fail "build-capi.sh --help does not mention $option"
done
echo "build-capi.sh --help: $(wc -l < "$work/help.txt" | tr -d ' ') lines, every option"

step "stripped library: no debug info in libkeybound.so.0; it is in lib/debug/, named by .gnu_debuglink"
debug_file="$dist/lib/debug/libkeybound.so.0.debug"
readelf -S -W "$lib" > "$work/sections.txt"
if grep -qE '[[:space:]]\.debug_info[[:space:]]' "$work/sections.txt"; then fail "$lib still has .debug_info"; fi
grep -qE '[[:space:]]\.gnu_debuglink[[:space:]]' "$work/sections.txt" || fail "$lib has no .gnu_debuglink"
grep -qE '[[:space:]]\.symtab[[:space:]]' "$work/sections.txt" || fail "$lib lost its symbol table"
debuglink="$(readelf -p .gnu_debuglink "$lib" | sed -n 's/^ *\[ *0\] *//p')"
[ "$debuglink" = "libkeybound.so.0.debug" ] || fail ".gnu_debuglink names '$debuglink'"
[ -f "$debug_file" ] || fail "no $debug_file"
readelf -S -W "$debug_file" | grep -qE '[[:space:]]\.debug_info[[:space:]]' || fail "$debug_file has no .debug_info"
echo "libkeybound.so.0: $(stat -c %s "$lib") bytes, debug file: $(stat -c %s "$debug_file") bytes, debuglink: $debuglink"

step "header alone: C11 and C++ (gcc and clang), -Wall -Wextra -Werror -pedantic"
for cc in gcc clang; do
    run "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c "$dist/include/keybound.h"
done
for cxx in g++ clang++; do
    run "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ "$dist/include/keybound.h"
done

step "exports: nm -D --defined-only shows only kb_*, and every declared function"
capi_check_exports "$lib" "$dist/include/keybound.h" "$work"
exported_count="$(wc -l < "$work/exported.txt" | tr -d ' ')"

step "SONAME and dependencies"
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libkeybound.so.0" ] || fail "SONAME is '$soname'"
echo "SONAME: $soname"
capi_check_ldd "$lib" "$work" libcrypto.so.3
so_size="$(stat -c %s "$lib")"

capi_c_tests "$dist" "$work"

step "pkg-config: keybound.pc's version is the header's KB_VERSION_STRING"
export PKG_CONFIG_PATH="$dist/lib/pkgconfig"
pc_version="$(pkg-config --modversion keybound)"
[ "$pc_version" = "$header_version" ] || fail "pkg-config --modversion keybound is '$pc_version', keybound.h '$header_version'"
echo "pkg-config --modversion keybound: $pc_version (keybound.h: $header_version)"

step "C example (Examples/c/verify.c), built with the exact command written at its top"
# The command is the comment line after "Build it with this exact command": run as written, in a folder of its own.
build_line="$(sed -n '/Build it with this exact command/,/\*=/s/^ \*   \(cc .*\)$/\1/p' Examples/c/verify.c)"
[ -n "$build_line" ] && [ "$(printf '%s\n' "$build_line" | wc -l)" -eq 1 ] || fail "no build command in Examples/c/verify.c"
rm -rf "$work/example" && mkdir -p "$work/example" && cp Examples/c/verify.c "$work/example/"
printf '+ (cd %s && %s)\n' "$work/example" "$build_line"
(cd "$work/example" && eval "$build_line") || fail "Examples/c/verify.c does not build with its own command"
run "$work/example/verify"

step "README.md: every \`\`\`c block compiles with -Wall -Wextra -Werror and runs clean under valgrind"
bash scripts/capi/readme-c-snippets.sh README.md "$dist" "$work/readme"

step "CMake package: IntegrationTests/cmake-consumer through find_package(Keybound)"
command -v cmake >/dev/null || need_apt cmake
cmake --version | head -n 1
rm -rf "$work/cmake-consumer"
run cmake -S IntegrationTests/cmake-consumer -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$dist" \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release
run cmake --build "$work/cmake-consumer"
run "$work/cmake-consumer/consumer"
# Asking for a flavour this prefix lacks fails at configure time.
if cmake -S IntegrationTests/cmake-consumer -B "$work/cmake-consumer-redis" -DCMAKE_PREFIX_PATH="$dist" \
    -DKEYBOUND_FLAVOUR=keybound-redis > "$work/cmake-redis.log" 2>&1; then
    fail "find_package(Keybound COMPONENTS keybound-redis) succeeded without the Redis flavour"
fi
tr -s ' \n' '  ' < "$work/cmake-redis.log" | grep -q "component keybound-redis is not installed" || { cat "$work/cmake-redis.log"; fail "unexpected CMake error"; }
echo "find_package(Keybound REQUIRED COMPONENTS keybound-redis) fails without the Redis flavour, as it should"
# The package is relocatable: a copy of dist/ elsewhere still configures (its paths come from the Config's place).
rm -rf "$work/relocated" && cp -a "$dist" "$work/relocated"
run cmake -S IntegrationTests/cmake-consumer -B "$work/cmake-consumer-relocated" -DCMAKE_PREFIX_PATH="$work/relocated" \
    -DCMAKE_C_COMPILER=gcc > "$work/cmake-relocated.log"
grep -qx "Keybound_DIR:PATH=$work/relocated/lib/cmake/Keybound" "$work/cmake-consumer-relocated/CMakeCache.txt" \
    || fail "find_package(Keybound) did not find the relocated copy"
run cmake --build "$work/cmake-consumer-relocated"
readelf -d "$work/cmake-consumer-relocated/consumer" | grep -E 'R(UN)?PATH' | grep -q "$work/relocated/lib" \
    || fail "the relocated consumer is not linked to the relocated library"
run "$work/cmake-consumer-relocated/consumer"

step "pure-C smoke target inside the package (swift run keybound-abi-smoke)"
# KEYBOUND_SWIFT_BUILD_FLAGS: the flags the root build used (.ci/run sets them), so that this reuses it as is.
# shellcheck disable=SC2086
run swift run ${KEYBOUND_SWIFT_BUILD_FLAGS:-} keybound-abi-smoke

step "summary"
echo "exported symbols: $exported_count (all kb_*, all declared in keybound.h)"
echo "libkeybound.so.0 size: $so_size bytes ($(( so_size / 1024 )) KiB, stripped; debug info in lib/debug/)"
echo "version: $header_version (keybound.h, pkg-config, CMake package, library)"
echo "ldd:"; sed 's/ (0x[0-9a-f]*)//' "$work/ldd.txt"
echo "valgrind:"; cat "$work/valgrind-summary.txt"
echo "capi.sh: all C ABI checks passed"
