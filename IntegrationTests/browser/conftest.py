# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""Fixtures for the browser test: the running demos (started by scripts/ci/integrations.sh) and an offline headless Chromium."""

import os
import shutil

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"


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


def _chromium_binary():
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    return found


@pytest.fixture
def driver(monkeypatch):
    """A fresh headless Chromium (new profile, so a new IndexedDB) driven by Debian's chromedriver, offline."""
    # Selenium must never look for or download a driver: the path is given explicitly, Selenium Manager is told to
    # stay offline, and it is made to fail loudly if anything still calls it.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common import selenium_manager

    def refuse(*_args, **_kwargs):
        raise AssertionError("Selenium Manager was called: the test must use /usr/bin/chromedriver")

    monkeypatch.setattr(selenium_manager.SeleniumManager, "binary_paths", refuse)
    if not os.path.isfile(CHROMEDRIVER):
        pytest.fail("Debian's chromium-driver is not installed (apt-get install chromium-driver)")

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium_binary()
    options.add_argument("--headless=new")
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--window-size=1100,1000")
    options.add_argument("--no-first-run")
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browser.set_script_timeout(30)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
