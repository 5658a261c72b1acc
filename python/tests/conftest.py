# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Makes the `keybound` module of this source tree importable by the tests."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
