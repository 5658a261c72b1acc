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

step "build libkeybound.so on swift-crypto (release, static Swift stdlib, export list, SONAME, no libcrypto)"
capi_build -swift-crypto --backend swift-crypto

step "exports: only kb_*, and every declared function"
capi_check_exports "$lib" "$dist/include/keybound.h" "$work"

step "dependencies: no libcrypto, only libc, libm, libstdc++, libgcc_s and the loader"
capi_check_ldd "$lib" "$work"
if nm -D "$lib" | grep -qE ' U (EVP_|OSSL_|OPENSSL_|ERR_)'; then fail "the library references libcrypto symbols"; fi
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libkeybound.so.0" ] || fail "SONAME is '$soname'"

# valgrind 3.19 cannot read the DWARF 5 debug info clang writes for swift-crypto's BoringSSL ("unhandled dwarf2 abbrev
# form code 0x25", then it gives up): the valgrind run links against a copy of the library without debug info
# (symbols kept).
vglib="$work/valgrind-lib"
mkdir -p "$vglib"
run cp "$lib" "$vglib/libkeybound.so.0"
run strip --strip-debug "$vglib/libkeybound.so.0"
ln -sf libkeybound.so.0 "$vglib/libkeybound.so"
export KB_EXPECT_BACKEND=swift-crypto
capi_c_tests "$dist" "$work" "$vglib"

step "summary"
so_size="$(stat -c %s "$lib")"
echo "libkeybound.so.0 (swift-crypto) size: $so_size bytes ($(( so_size / 1024 )) KiB)"
echo "ldd:"; sed 's/ (0x[0-9a-f]*)//' "$work/ldd.txt"
echo "valgrind:"; cat "$work/valgrind-summary.txt"
echo "capi-swift-crypto.sh: all C ABI checks passed on the swift-crypto flavour"
