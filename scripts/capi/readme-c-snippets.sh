#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# Compiles every ```c block of a Markdown file against an installed C library and runs it under valgrind.
# Usage: scripts/capi/readme-c-snippets.sh FILE.md DIST WORKDIR   (DIST: a scripts/build-capi.sh --prefix folder)
# Called by scripts/ci/capi.sh for README.md (it lives outside scripts/ci/, whose every script .ci/run runs as a stage).
# A block with its own main() is compiled as it is. A fragment without one is wrapped in a small harness: the
# Keybound headers and the usual C headers, and a main() that declares the names fragments use (cfg, verifier, result,
# url, err) before the fragment's lines. Each program is compiled with -std=c11 -Wall -Wextra -Werror (gcc), then run
# under valgrind memcheck, which fails on any read of an uninitialised byte (a printed buffer included) on the path it
# takes; the program's own exit status is not judged (the snippets are shapes with placeholder tokens and keys).
set -euo pipefail

[ $# -eq 3 ] || { sed -n '6,7p' "$0" | sed 's/^# //' >&2; exit 2; }
markdown="$1"; dist="$2"; work="$3"
rm -rf "$work" && mkdir -p "$work"

python3 - "$markdown" "$work" <<'PY'
import re, sys
markdown, work = sys.argv[1], sys.argv[2]
blocks = re.findall(r"^```c[ \t]*\n(.*?)^```[ \t]*$", open(markdown, encoding="utf-8").read(), re.M | re.S)
harness_head = """#include <keybound.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(void) {
    kb_config *cfg = NULL;
    kb_verifier *verifier = NULL;
    kb_result *result = NULL;
    const char *url = "https://api.example.com/items";
    char err[256] = "";
    if (kb_config_new(&cfg) != KB_OK || kb_verifier_new(cfg, &verifier, err, sizeof err) != KB_OK ||
        kb_result_new(&result) != KB_OK) return 1;
    (void)url;
    {
"""
harness_tail = """
    }
    kb_result_free(result);
    kb_verifier_free(verifier);
    kb_config_free(cfg);
    return 0;
}
"""
for index, block in enumerate(blocks, 1):
    wrapped = re.search(r"\bint\s+main\s*\(", block) is None
    with open(f"{work}/snippet{index}.c", "w", encoding="utf-8") as out:
        out.write(harness_head + block + harness_tail if wrapped else block)
    print(f"snippet{index}.c: {len(block.splitlines())} lines{' (wrapped in a harness)' if wrapped else ''}")
with open(f"{work}/count", "w") as out:
    out.write(str(len(blocks)))
PY

count="$(cat "$work/count")"
[ "$count" -gt 0 ] || { echo "readme-c-snippets.sh: no \`\`\`c block in $markdown" >&2; exit 1; }
for i in $(seq 1 "$count"); do
    src="$work/snippet$i.c"
    printf '+ gcc -std=c11 -Wall -Wextra -Werror %s\n' "$src"
    gcc -std=c11 -Wall -Wextra -Werror -I"$dist/include" "$src" -o "${src%.c}" -L"$dist/lib" -lkeybound \
        -Wl,-rpath,"$dist/lib" || { cat -n "$src" >&2; echo "readme-c-snippets.sh: $markdown block $i does not compile" >&2; exit 1; }
    set +e
    valgrind -q --error-exitcode=99 --track-origins=yes --leak-check=no "${src%.c}" > "$work/snippet$i.out" 2>&1
    status=$?
    set -e
    sed 's/^/    /' "$work/snippet$i.out"
    [ "$status" -ne 99 ] || { echo "readme-c-snippets.sh: $markdown block $i: valgrind found errors" >&2; exit 1; }
    echo "block $i: compiled, ran (exit $status), valgrind clean"
done
echo "readme-c-snippets.sh: $count \`\`\`c block(s) of $markdown compile and run clean"
