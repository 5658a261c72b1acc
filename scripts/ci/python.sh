#!/usr/bin/env bash
#===----------------------------------------------------------------------===#
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#===----------------------------------------------------------------------===#
# CI for the Python package (python/): builds the wheel from the C stage's library (dist/lib/libkeybound.so.0, made by
# scripts/ci/capi.sh; never built again here), makes it a manylinux wheel with auditwheel, installs it into a fresh
# virtualenv of the oldest supported Python (3.9) with nothing else, imports it and runs the API and remote-key tests
# there, then
# runs the whole pytest suite against
# the wheel installed in a second virtualenv (never the source tree): the API, and FastAPI under uvicorn, Flask under
# gunicorn and Django's test server, driven over HTTP by httpx, and the FastAPI browser example in a headless Chromium.
# mypy --strict checks the package. Server logs and the screenshot land in .build-python/logs.
# Needs: python3 (3.9 or later; a python3.9 too when installed, for the oldest-version check), network access to PyPI
#        the first time (python/requirements-ci.txt), dist/lib/libkeybound.so.0; openssl (tests/test_remote_keys.py
#        makes a throw-away CA with it); Debian's chromium and chromium-driver (installed here when missing).
set -euo pipefail
# shellcheck source=scripts/lib/ci.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/ci.sh"
lib="$root/dist/lib/libkeybound.so.0"
work="$root/.build-python"
[ -f "$lib" ] || fail "no $lib: scripts/ci/capi.sh builds it first"
rm -rf "$work/wheel" "$work/dist" "$work/fresh" "$work/logs" && mkdir -p "$work/logs"

need_apt chromium chromium-driver

step "virtualenv with the build and test tools (python/requirements-ci.txt)"
[ -x "$work/venv/bin/python" ] || run python3 -m venv "$work/venv"
py="$work/venv/bin/python"
run "$py" -m pip install -q --disable-pip-version-check -r python/requirements-ci.txt

step "wheel: python -m build with the C stage's library, then auditwheel repair"
KEYBOUND_LIB="$lib" run "$py" -m build --wheel --no-isolation --outdir "$work/wheel" python
"$py" -m auditwheel show "$work"/wheel/keybound-*.whl | tee "$work/auditwheel-show.txt"
PATH="$work/venv/bin:$PATH" run "$py" -m auditwheel repair -w "$work/dist" "$work"/wheel/keybound-*.whl
wheel="$(ls "$work"/dist/keybound-*.whl)"
case "$wheel" in *-py3-none-manylinux_*_x86_64.whl) ;; *) fail "not a manylinux wheel: $wheel" ;; esac
echo "wheel: $(basename "$wheel") ($(stat -c %s "$wheel") bytes)"

step "fresh virtualenv, nothing else: pip install the wheel, import it"
oldest=python3
for candidate in python3.9 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9*/bin/python3.9; do
    if "$candidate" -c 'import venv' 2>/dev/null; then oldest="$candidate"; break; fi
done
run "$oldest" -m venv "$work/fresh"
run "$work/fresh/bin/pip" install -q --disable-pip-version-check --no-index "$wheel"
(cd "$work" && run "$work/fresh/bin/python" -c '
import sys, keybound
v = keybound.Verifier()
try:
    v.verify("GET", "https://api.example/", {})
except keybound.MissingCredentials as refusal:
    assert refusal.code == 100 and refusal.www_authenticate.startswith("DPoP"), refusal
print("python", sys.version.split()[0], "keybound", keybound.__version__, "from", keybound.LIBRARY_PATH)
')

step "the API and remote-key tests on that Python (with python/requirements-oldest.txt added)"
run "$work/fresh/bin/pip" install -q --disable-pip-version-check -r python/requirements-oldest.txt
(cd python/tests && run env -u KEYBOUND_LIB KEYBOUND_TEST_INSTALLED=1 "$work/fresh/bin/python" -m pytest -q \
    -p no:cacheprovider test_verifier.py test_remote_keys.py)

step "mypy --strict on the package"
run "$work/venv/bin/mypy" --strict --cache-dir "$work/mypy-cache" python/src/keybound

step "pytest against the installed wheel (API; FastAPI, Starlette, Flask, Django over HTTP; Chromium)"
run "$work/venv/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$wheel"
# From python/tests, so that the source tree is not importable; the suite checks that it runs on the installed copy.
(cd python/tests && run env -u KEYBOUND_LIB KEYBOUND_TEST_INSTALLED=1 KEYBOUND_TEST_LOGS="$work/logs" "$py" -m pytest -q -p no:cacheprovider .)
