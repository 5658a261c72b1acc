#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# CI for the swift-crypto flavour of the C library: builds libkeybound.so with
# `scripts/build-capi.sh --backend swift-crypto` (traits: no OpenSSL, SwiftCrypto) into dist-swift-crypto/, checks
# that it exports only kb_* (every function keybound.h declares), that ldd shows no libcrypto (only libc, libm,
# libstdc++, libgcc_s and the loader), and runs the same C tests as scripts/ci/capi.sh: plain, under ASan+UBSan and
# under valgrind, with KB_EXPECT_BACKEND=swift-crypto (the library must report swift-crypto as its backend).
# One release build (.build-capi-swift-crypto; swift-crypto's BoringSSL adds a few minutes to a first build).
# Needs: gcc, clang (the Swift toolchain's), valgrind, python3 (apt: build-essential valgrind python3).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
dist="$root/dist-swift-crypto"
work="$root/.build-capi-swift-crypto/ci"
mkdir -p "$work"

step "build libkeybound.so on swift-crypto (release, static Swift stdlib, export list, SONAME, no libcrypto)"
run scripts/build-capi.sh --backend swift-crypto --prefix "$dist"
lib="$dist/lib/libkeybound.so.0"
[ -f "$lib" ] && [ -f "$dist/include/keybound.h" ] || fail "dist-swift-crypto/ layout is incomplete"

step "exports: only kb_*, and every declared function"
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$work/exported.txt"
gcc -E -P -x c "$dist/include/keybound.h" | grep -oE '\bkb_[a-z0-9_]+[[:space:]]*\(' | tr -d '( ' | sort -u \
    > "$work/declared.txt"
others="$(grep -v '^kb_' "$work/exported.txt" || true)"
[ -z "$others" ] || fail "symbols other than kb_* are exported: $others"
missing="$(comm -23 "$work/declared.txt" "$work/exported.txt")"
[ -z "$missing" ] || fail "declared in keybound.h but not exported: $missing"
extra="$(comm -13 "$work/declared.txt" "$work/exported.txt")"
[ -z "$extra" ] || fail "exported but not declared in keybound.h: $extra"
echo "exported kb_* symbols: $(wc -l < "$work/exported.txt" | tr -d ' ')"

step "dependencies: no libcrypto, only libc, libm, libstdc++, libgcc_s and the loader"
ldd "$lib" | tee "$work/ldd.txt"
unexpected="$(awk '{print $1}' "$work/ldd.txt" \
    | grep -vE '^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$' \
    || true)"
[ -z "$unexpected" ] || fail "unexpected dependencies: $unexpected"
if nm -D "$lib" | grep -qE ' U (EVP_|OSSL_|OPENSSL_|ERR_)'; then fail "the library references libcrypto symbols"; fi
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libkeybound.so.0" ] || fail "SONAME is '$soname'"

step "C tests: plain build (gcc, -std=c11 -Wall -Wextra -Werror -pedantic)"
run python3 IntegrationTests/c/gen_fixtures.py Tests/KeyboundTests/Fixtures/dpop-requests.json "$work/fixtures.txt"
run python3 IntegrationTests/c/gen_live_fixtures.py "$work/live.txt"   # requests signed at the real time
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -I"$dist/include")
ldflags=(-L"$dist/lib" -lkeybound -Wl,-rpath,"$dist/lib" -pthread)
export KB_EXPECT_BACKEND=swift-crypto
run gcc "${cflags[@]}" -O2 IntegrationTests/c/test_capi.c -o "$work/test_capi" "${ldflags[@]}"
run "$work/test_capi" "$work/fixtures.txt" "$work/live.txt"

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
run clang "${cflags[@]}" -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    IntegrationTests/c/test_capi.c -o "$work/test_capi_asan" "${ldflags[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run "$work/test_capi_asan" "$work/fixtures.txt" "$work/live.txt"

step "C tests under valgrind (memcheck, --leak-check=full)"
# valgrind 3.19 cannot read the DWARF 5 debug info clang writes for swift-crypto's BoringSSL ("unhandled dwarf2 abbrev
# form code 0x25", then it gives up): it runs against a copy of the library without debug info (symbols kept).
vglib="$work/valgrind-lib"
mkdir -p "$vglib"
run cp "$lib" "$vglib/libkeybound.so.0"
run strip --strip-debug "$vglib/libkeybound.so.0"
ln -sf libkeybound.so.0 "$vglib/libkeybound.so"
run gcc "${cflags[@]}" -O0 IntegrationTests/c/test_capi.c -o "$work/test_capi_vg" -L"$vglib" -lkeybound -Wl,-rpath,"$vglib" -pthread
set +e
valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode=1 --suppressions=IntegrationTests/c/valgrind.supp --log-file="$work/valgrind.log" \
    "$work/test_capi_vg" "$work/fixtures.txt" "$work/live.txt"
vg_status=$?
set -e
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:|All heap blocks" \
    "$work/valgrind.log" | sed 's/^==[0-9]*== *//' | tee "$work/valgrind-summary.txt"
[ "$vg_status" -eq 0 ] || { tail -60 "$work/valgrind.log"; fail "valgrind reported errors or leaks"; }

step "summary"
so_size="$(stat -c %s "$lib")"
echo "libkeybound.so.0 (swift-crypto) size: $so_size bytes ($(( so_size / 1024 )) KiB)"
echo "ldd:"; sed 's/ (0x[0-9a-f]*)//' "$work/ldd.txt"
echo "valgrind:"; cat "$work/valgrind-summary.txt"
echo "capi-swift-crypto.sh: all C ABI checks passed on the swift-crypto flavour"
