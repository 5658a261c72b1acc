#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# Builds the self-contained C library and lays it out for installation:
#   DIR/include/keybound.h
#   DIR/lib/libkeybound.so.0          (the file; SONAME libkeybound.so.0)
#   DIR/lib/libkeybound.so -> libkeybound.so.0
#   DIR/lib/pkgconfig/keybound.pc     (relocatable: prefix=${pcfiledir}/../..)
# Usage: scripts/build-capi.sh [--prefix DIR] [--with-redis] [--backend openssl|swift-crypto]   (default DIR: dist)
# --with-redis builds the Redis flavour instead (the "Redis" trait; needs libhiredis-dev): libkeybound-redis.so.0 and
# keybound-redis.pc (Cflags -DKB_WITH_REDIS, which shows the kb_redis_* section of keybound.h), in .build-capi-redis.
# --backend swift-crypto builds the library on swift-crypto's BoringSSL instead of OpenSSL (traits: no OpenSSL,
# SwiftCrypto): the same libkeybound.so.0 and keybound.pc, linking no libcrypto at all, in .build-capi-swift-crypto.
# The release build uses its own scratch path (.build-capi), so the static-stdlib flags never rebuild .build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/dist"
redis=0
backend=openssl
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --with-redis) redis=1; shift ;;
        --backend) backend="$2"; shift 2 ;;
        --backend=*) backend="${1#--backend=}"; shift ;;
        -h|--help) sed -n '5,12p' "$0"; exit 0 ;;
        *) echo "build-capi.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$backend" in
    openssl|swift-crypto) ;;
    *) echo "build-capi.sh: --backend must be openssl or swift-crypto, not '$backend'" >&2; exit 2 ;;
esac
if [ "$backend" = swift-crypto ] && [ "$redis" = 1 ]; then
    echo "build-capi.sh: --with-redis and --backend swift-crypto are not combined" >&2; exit 2
fi
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

cd "$root"
scratch="$root/.build-capi"
name=keybound
traits=()
if [ "$redis" = 1 ]; then
    scratch="$root/.build-capi-redis"
    name=keybound-redis
    traits=(--traits default,Redis)
fi
if [ "$backend" = swift-crypto ]; then
    scratch="$root/.build-capi-swift-crypto"
    traits=(--disable-default-traits --traits SwiftCrypto)
    if [ "$redis" = 1 ]; then
        scratch="$root/.build-capi-swift-crypto-redis"
        traits=(--disable-default-traits --traits SwiftCrypto,Redis)
    fi
fi
set -x
swift build -c release --product KeyboundCABI --scratch-path "$scratch" "${traits[@]}" \
    -Xswiftc -static-stdlib -Xswiftc -use-ld=lld \
    -Xlinker --version-script="$root/scripts/capi/keybound.map" \
    -Xlinker -soname=lib$name.so.0
set +x
built="$(swift build -c release --product KeyboundCABI --scratch-path "$scratch" "${traits[@]}" --show-bin-path)/libKeyboundCABI.so"
[ -f "$built" ] || { echo "build-capi.sh: $built was not built" >&2; exit 1; }

version="$(sed -n 's/^#define KB_VERSION_STRING "\(.*\)"$/\1/p' include/keybound.h)"
[ -n "$version" ] || { echo "build-capi.sh: no KB_VERSION_STRING in include/keybound.h" >&2; exit 1; }

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 include/keybound.h "$prefix/include/keybound.h"
install -m 0755 "$built" "$prefix/lib/lib$name.so.0"
ln -sf lib$name.so.0 "$prefix/lib/lib$name.so"
requires=libcrypto
if [ "$backend" = swift-crypto ]; then requires=; fi
cflags=
if [ "$redis" = 1 ]; then requires="libcrypto hiredis"; cflags=" -DKB_WITH_REDIS"; fi
cat > "$prefix/lib/pkgconfig/$name.pc" <<PC
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: $name
Description: Verifier of RFC 9449 DPoP requests (C API)
Version: $version
${requires:+Requires.private: $requires
}Cflags: -I\${includedir}$cflags
Libs: -L\${libdir} -l$name
PC
echo "build-capi.sh: installed into $prefix"
ls -l "$prefix/lib"
