# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Fixtures for the browser test: the running demos (started by scripts/ci/integrations.sh) and an offline headless Chromium."""

import os

import pytest

from demo_page import chromium


def _demo_url(variable):
    url = os.environ.get(variable)
    if not url:
        # Fail, never skip: this test only means something against a running demo.
        pytest.fail(f"{variable} is not set: run scripts/ci/integrations.sh, which starts the demo and sets it")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def demo_url():
    """The demo with nonces off."""
    return _demo_url("KEYBOUND_DEMO_URL")


@pytest.fixture(scope="session")
def nonce_demo_url():
    """The demo started with --nonces."""
    return _demo_url("KEYBOUND_DEMO_NONCE_URL")


@pytest.fixture(scope="session")
def stepup_demo_url():
    """The demo started with a short step-up max_age and clock skew (--step-up-max-age 2 --clock-skew 1)."""
    return _demo_url("KEYBOUND_DEMO_STEPUP_URL")


@pytest.fixture
def driver(monkeypatch):
    """A fresh headless Chromium (new profile, so a new IndexedDB), offline (demo_page.chromium)."""
    yield from chromium(monkeypatch)
