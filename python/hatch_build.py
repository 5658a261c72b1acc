# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Hatch build hook: bundles libkeybound.so.0 into the wheel and makes it a platform wheel.

The library is never built here: it is the one scripts/build-capi.sh made. $KEYBOUND_LIB names it (CI points it at the
C stage's dist/lib/libkeybound.so.0); without it, ../dist/lib/libkeybound.so.0 of this repository is used. The
package's version is the library's own (kb_version_string), read by loading it.
"""

from __future__ import annotations

import ctypes
import os
import sysconfig
from typing import Any, Dict

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HERE = os.path.dirname(os.path.abspath(__file__))


def library_path() -> str:
    """The libkeybound.so.0 to bundle."""
    path = os.environ.get("KEYBOUND_LIB") or os.path.join(HERE, "..", "dist", "lib", "libkeybound.so.0")
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise RuntimeError(f"no Keybound C library at {path}: run scripts/build-capi.sh --prefix dist first, "
                           "or set KEYBOUND_LIB to a libkeybound.so.0")
    return path


def library_version() -> str:
    """kb_version_string() of the library that will be bundled."""
    lib = ctypes.CDLL(library_path())
    lib.kb_version_string.restype = ctypes.c_char_p
    return str(lib.kb_version_string().decode())


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the library as keybound/libkeybound.so.0 and tags the wheel py3-none-<platform>."""

    def initialize(self, version: str, build_data: Dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        build_data["force_include"][library_path()] = "keybound/libkeybound.so.0"
        build_data["pure_python"] = False
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        build_data["tag"] = f"py3-none-{platform}"
