#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# Builds the self-contained C library and lays it out for installation:
#   DIR/include/keybound.h
#   DIR/lib/libkeybound.so.0                  (the file, stripped of debug info; SONAME libkeybound.so.0)
#   DIR/lib/libkeybound.so -> libkeybound.so.0
#   DIR/lib/debug/libkeybound.so.0.debug      (its debug info; the library's .gnu_debuglink names it)
#   DIR/lib/debug/.build-id/NN/REST.debug     (-> the same file, for gdb -iex 'set debug-file-directory DIR/lib/debug')
#   DIR/lib/pkgconfig/keybound.pc             (relocatable: prefix=${pcfiledir}/../..; Version from keybound.h)
#   DIR/lib/cmake/Keybound/KeyboundConfig.cmake and KeyboundConfigVersion.cmake
#                                             (relocatable; find_package(Keybound) gives the target Keybound::keybound)
#
# Usage: scripts/build-capi.sh [--prefix DIR] [--with-redis] [--backend openssl|swift-crypto] [--help]
#   --prefix DIR      where to install (default: dist in the repository)
#   --with-redis      builds the Redis flavour instead (the "Redis" trait; needs libhiredis-dev), in .build-capi-redis:
#                     libkeybound-redis.so.0, keybound-redis.pc and the CMake target Keybound::keybound-redis, and
#                     installs include/keybound_redis.h too (include it for the kb_redis_* functions; no macro needed)
#   --backend B       openssl (default), or swift-crypto: the library on swift-crypto's BoringSSL instead of OpenSSL
#                     (traits: no OpenSSL, SwiftCrypto), the same file names, linking no libcrypto at all, in
#                     .build-capi-swift-crypto. Not combined with --with-redis.
#   -h, --help        prints this text
# The release build uses its own scratch path (.build-capi), so the static-stdlib flags never rebuild .build.
# Needs: the Swift toolchain, objcopy (binutils).
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
        -h|--help) sed -n '/^# Builds the self-contained/,/^# Needs:/s/^# \{0,1\}//p' "$0"; exit 0 ;;
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

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/debug" "$prefix/lib/cmake/Keybound"
install -m 0644 include/keybound.h "$prefix/include/keybound.h"
if [ "$redis" = 1 ]; then install -m 0644 include/keybound_redis.h "$prefix/include/keybound_redis.h"; fi

# The library without its debug info, which goes to a separate file that the library names (.gnu_debuglink).
lib="lib$name.so.0"
debug="$prefix/lib/debug/$lib.debug"
objcopy --only-keep-debug "$built" "$debug"
chmod 0644 "$debug"
objcopy --strip-debug --add-gnu-debuglink="$debug" "$built" "$prefix/lib/$lib.tmp"
chmod 0755 "$prefix/lib/$lib.tmp"
mv -f "$prefix/lib/$lib.tmp" "$prefix/lib/$lib"
ln -sf "$lib" "$prefix/lib/lib$name.so"
build_id="$(readelf -n "$prefix/lib/$lib" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p' | head -n 1)"
if [ -n "$build_id" ]; then
    mkdir -p "$prefix/lib/debug/.build-id/${build_id:0:2}"
    ln -sf "../../$lib.debug" "$prefix/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
fi

requires=libcrypto
if [ "$backend" = swift-crypto ]; then requires=; fi
if [ "$redis" = 1 ]; then requires="libcrypto hiredis"; fi
cat > "$prefix/lib/pkgconfig/$name.pc" <<PC
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: $name
Description: Verifier of RFC 9449 DPoP requests (C API)
Version: $version
${requires:+Requires.private: $requires
}Cflags: -I\${includedir}
Libs: -L\${libdir} -l$name
PC

# CMake package: one Config file per flavour installed into the same folder, so both flavours can share a prefix.
cmake_dir="$prefix/lib/cmake/Keybound"
cat > "$cmake_dir/KeyboundConfigVersion.cmake" <<CMAKE
# Generated by scripts/build-capi.sh: Keybound $version. Compatible: the same major version, at least the one asked
# for (0.x: the same minor version too).
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(NOT PACKAGE_FIND_VERSION_MAJOR STREQUAL "${version%%.*}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
elseif(PACKAGE_FIND_VERSION_MAJOR STREQUAL "0" AND NOT PACKAGE_FIND_VERSION_MINOR STREQUAL "$(echo "$version" | cut -d. -f2)")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
if(NOT CMAKE_SIZEOF_VOID_P STREQUAL "" AND NOT CMAKE_SIZEOF_VOID_P STREQUAL "8")
  set(PACKAGE_VERSION "\${PACKAGE_VERSION} (64-bit)")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
CMAKE
cat > "$cmake_dir/KeyboundConfig.cmake" <<'CMAKE'
# Generated by scripts/build-capi.sh. find_package(Keybound) defines, for each flavour installed in this prefix:
#   Keybound::keybound        libkeybound.so.0 and include/keybound.h
#   Keybound::keybound-redis  libkeybound-redis.so.0 and include/keybound_redis.h (scripts/build-capi.sh --with-redis)
# Relocatable: every path is found from this file's own place (PREFIX/lib/cmake/Keybound).
get_filename_component(_keybound_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(Keybound_INCLUDE_DIRS "${_keybound_prefix}/include")
set(Keybound_LIBRARIES "")
foreach(_keybound_flavour IN ITEMS keybound keybound-redis)
  set(_keybound_lib "${_keybound_prefix}/lib/lib${_keybound_flavour}.so.0")
  if(EXISTS "${_keybound_lib}" AND NOT TARGET Keybound::${_keybound_flavour})
    add_library(Keybound::${_keybound_flavour} SHARED IMPORTED)
    set_target_properties(Keybound::${_keybound_flavour} PROPERTIES
      IMPORTED_LOCATION "${_keybound_lib}"
      IMPORTED_SONAME "lib${_keybound_flavour}.so.0"
      INTERFACE_INCLUDE_DIRECTORIES "${_keybound_prefix}/include")
  endif()
  if(TARGET Keybound::${_keybound_flavour})
    list(APPEND Keybound_LIBRARIES Keybound::${_keybound_flavour})
    set(Keybound_${_keybound_flavour}_FOUND TRUE)
  endif()
endforeach()
if(NOT Keybound_LIBRARIES)
  set(Keybound_FOUND FALSE)
  set(Keybound_NOT_FOUND_MESSAGE "no libkeybound*.so.0 in ${_keybound_prefix}/lib")
endif()
# find_package(Keybound REQUIRED COMPONENTS keybound-redis) asks for a flavour by name.
foreach(_keybound_component IN LISTS Keybound_FIND_COMPONENTS)
  if(NOT Keybound_${_keybound_component}_FOUND AND Keybound_FIND_REQUIRED_${_keybound_component})
    set(Keybound_FOUND FALSE)
    set(Keybound_NOT_FOUND_MESSAGE "Keybound component ${_keybound_component} is not installed in ${_keybound_prefix}")
  endif()
endforeach()
unset(_keybound_lib)
unset(_keybound_flavour)
unset(_keybound_component)
unset(_keybound_prefix)
CMAKE

echo "build-capi.sh: installed into $prefix"
ls -l "$prefix/lib"
