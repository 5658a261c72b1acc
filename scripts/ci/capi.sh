#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# CI for the C ABI (issue 4): builds libkeybound.so into dist/, checks the header (C and C++), the exports (only
# kb_*, and every function the header declares), the SONAME and the dependencies, runs the C tests plain, under
# ASan+UBSan and under valgrind, builds and runs the C example and the pure-C smoke target, and runs the Python
# binding's pytest suite. Assumes `swift build` already ran in the repository root.
# Needs: gcc, clang (the Swift toolchain's), valgrind, pkg-config, python3 with pytest and cryptography
#        (apt: build-essential valgrind pkg-config libssl-dev python3-pytest python3-cryptography).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
dist="$root/dist"
work="$root/.build-capi/ci"
mkdir -p "$work"

step "build libkeybound.so (release, static Swift stdlib, export list, SONAME)"
run scripts/build-capi.sh --prefix "$dist"
lib="$dist/lib/libkeybound.so.0"
[ -f "$lib" ] && [ -L "$dist/lib/libkeybound.so" ] && [ -f "$dist/lib/pkgconfig/keybound.pc" ] \
    && [ -f "$dist/include/keybound.h" ] || fail "dist/ layout is incomplete"

step "header alone: C11 and C++ (gcc and clang), -Wall -Wextra -Werror -pedantic"
for cc in gcc clang; do
    run "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c "$dist/include/keybound.h"
done
for cxx in g++ clang++; do
    run "$cxx" -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ "$dist/include/keybound.h"
done

step "exports: nm -D --defined-only shows only kb_*, and every declared function"
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$work/exported.txt"
gcc -E -P -x c "$dist/include/keybound.h" | grep -oE '\bkb_[a-z0-9_]+[[:space:]]*\(' | tr -d '( ' | sort -u \
    > "$work/declared.txt"
others="$(grep -v '^kb_' "$work/exported.txt" || true)"
[ -z "$others" ] || fail "symbols other than kb_* are exported: $others"
missing="$(comm -23 "$work/declared.txt" "$work/exported.txt")"
[ -z "$missing" ] || fail "declared in keybound.h but not exported: $missing"
extra="$(comm -13 "$work/declared.txt" "$work/exported.txt")"
[ -z "$extra" ] || fail "exported but not declared in keybound.h: $extra"
exported_count="$(wc -l < "$work/exported.txt" | tr -d ' ')"
echo "exported kb_* symbols: $exported_count (declared: $(wc -l < "$work/declared.txt" | tr -d ' '))"

step "SONAME and dependencies"
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libkeybound.so.0" ] || fail "SONAME is '$soname'"
echo "SONAME: $soname"
ldd "$lib" | tee "$work/ldd.txt"
unexpected="$(awk '{print $1}' "$work/ldd.txt" \
    | grep -vE '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libcrypto\.so\.3)$' \
    || true)"
[ -z "$unexpected" ] || fail "unexpected dependencies: $unexpected"
so_size="$(stat -c %s "$lib")"

step "C tests: fixtures, plain build (gcc, -std=c11 -Wall -Wextra -Werror -pedantic)"
run python3 IntegrationTests/c/gen_fixtures.py Tests/KeyboundTests/Fixtures/dpop-requests.json "$work/fixtures.txt"
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -I"$dist/include")
ldflags=(-L"$dist/lib" -lkeybound -Wl,-rpath,"$dist/lib" -pthread)
run gcc "${cflags[@]}" -O2 IntegrationTests/c/test_capi.c -o "$work/test_capi" "${ldflags[@]}"
run "$work/test_capi" "$work/fixtures.txt"

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
run clang "${cflags[@]}" -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    IntegrationTests/c/test_capi.c -o "$work/test_capi_asan" "${ldflags[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run "$work/test_capi_asan" "$work/fixtures.txt"

step "C tests under valgrind (memcheck, --leak-check=full)"
run gcc "${cflags[@]}" -O0 IntegrationTests/c/test_capi.c -o "$work/test_capi_vg" "${ldflags[@]}"
set +e
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=1 --suppressions=IntegrationTests/c/valgrind.supp --log-file="$work/valgrind.log" \
    "$work/test_capi_vg" "$work/fixtures.txt"
vg_status=$?
set -e
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|All heap blocks" \
    "$work/valgrind.log" | sed 's/^==[0-9]*== *//' | tee "$work/valgrind-summary.txt"
[ "$vg_status" -eq 0 ] || { cat "$work/valgrind.log" | tail -60; fail "valgrind reported errors or leaks"; }

step "C example (Examples/c), built with pkg-config against dist/"
export PKG_CONFIG_PATH="$dist/lib/pkgconfig"
run pkg-config --modversion keybound
# shellcheck disable=SC2046
run cc -std=c11 -Wall -Wextra -Werror -pedantic Examples/c/verify.c -o "$work/verify-example" \
    $(pkg-config --cflags --libs keybound) -Wl,-rpath,"$dist/lib"
run "$work/verify-example"

step "pure-C smoke target inside the package (swift run keybound-abi-smoke)"
# KEYBOUND_SWIFT_BUILD_FLAGS: the flags the root build used (.ci/run sets them), so that this reuses it as is.
# shellcheck disable=SC2086
run swift run ${KEYBOUND_SWIFT_BUILD_FLAGS:-} keybound-abi-smoke

step "Python ctypes binding (python, pytest)"
KEYBOUND_LIB="$lib" run python3 -m pytest -q python

step "summary"
echo "exported symbols: $exported_count (all kb_*, all declared in keybound.h)"
echo "libkeybound.so.0 size: $so_size bytes ($(( so_size / 1024 )) KiB)"
echo "ldd:"; sed 's/ (0x[0-9a-f]*)//' "$work/ldd.txt"
echo "valgrind:"; cat "$work/valgrind-summary.txt"
echo "capi.sh: all C ABI checks passed"
