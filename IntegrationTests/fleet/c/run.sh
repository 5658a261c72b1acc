#!/bin/sh
# Builds IntegrationTests/fleet/c/redis_smoke.c against an installed Redis flavour (scripts/build-capi.sh --with-redis --prefix DIR)
# and runs it; checks the default and Redis libraries' dependencies. Usage: run.sh DIR REDIS_URL
set -eu
dir="$1"; url="$2"; here="$(cd "$(dirname "$0")" && pwd)"
export PKG_CONFIG_PATH="$dir/lib/pkgconfig"
set -x
cc -std=c11 -Wall -Wextra -Werror -o "$dir/redis_smoke" "$here/redis_smoke.c" $(pkg-config --cflags --libs keybound-redis)
LD_LIBRARY_PATH="$dir/lib" "$dir/redis_smoke" "$url"
nm -D --defined-only "$dir/lib/libkeybound-redis.so.0" | grep -c -E ' kb_(redis_store_new|config_set_redis_store|redis_store_free)(@@KEYBOUND_0)?$' | grep -qx 3
readelf -d "$dir/lib/libkeybound-redis.so.0" | grep -E 'NEEDED.*hiredis'
# The CMake package of the Redis flavour: Keybound::keybound-redis (when cmake is installed).
if command -v cmake >/dev/null; then
    cmake -S "$here/../../cmake-consumer" -B "$dir/cmake-consumer" -DCMAKE_PREFIX_PATH="$dir" -DKEYBOUND_FLAVOUR=keybound-redis
    cmake --build "$dir/cmake-consumer"
    "$dir/cmake-consumer/consumer"
fi
