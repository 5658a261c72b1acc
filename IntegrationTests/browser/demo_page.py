# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""What the browser tests share: a headless Chromium, the demo page's `window.keybound` actions, and an attacker
outside the browser (another P-256 key, plain HTTP requests).

Used by IntegrationTests/browser (the demo alone) and IntegrationTests/sidecar-browser (the same page through nginx
and keybound-serve).
"""

import base64
import hashlib
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


# --- Chromium ---------------------------------------------------------------------------------------------------------

CHROMEDRIVER = "/usr/bin/chromedriver"


def _chromium_binary():
    for candidate in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    return found


def chromium(monkeypatch):
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


# --- The page -------------------------------------------------------------------------------------------------------


def page(driver, action, *args):
    """Runs `window.keybound[action](...args)` in the page and returns its result (a JSON-like value)."""
    script = """
        const done = arguments[arguments.length - 1];
        const [action, args] = [arguments[0], arguments[1]];
        window.keybound.ready
            .then(() => window.keybound[action](...args))
            .then((value) => done({ value }), (error) => done({ failure: String(error) }));
    """
    outcome = driver.execute_async_script(script, action, list(args))
    assert "failure" not in outcome, f"{action} failed in the page: {outcome['failure']}"
    return outcome["value"]


def open_page(driver, url):
    driver.get(url + "/")
    return page(driver, "state")


def save_screenshot(driver, name):
    folder = os.environ.get("KEYBOUND_SCREENSHOT_DIR") or tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    assert driver.save_screenshot(path), "the screenshot was not saved"
    print(f"screenshot: {path}")
    return path


# --- Outside the browser --------------------------------------------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AttackerKey:
    """Another P-256 key, as an attacker holding a captured token would have."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def proof(self, method, url, token=None, nonce=None):
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}
        payload = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
        if token:
            payload["ath"] = b64url(hashlib.sha256(token.encode()).digest())
        if nonce:
            payload["nonce"] = nonce
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def send(method, url, authorization=None, proof=None):
    """An HTTP request from outside the browser: (status, JSON body, headers)."""
    request = urllib.request.Request(url, method=method)
    if authorization:
        request.add_header("Authorization", authorization)
    if proof:
        request.add_header("DPoP", proof)
    if method == "POST":
        request.add_header("Content-Type", "application/json")
        request.data = b"{}"
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


def captured_token_refusals(url, token, sent_proof):
    """What someone holding the page's access token and a proof it already sent gets from outside the browser: the
    token as a bearer token, under DPoP without a proof, with a valid proof from another key, and with the sent proof
    again are each refused 401 with their Keybound code. Returns each answer, (status, body, headers), by name."""
    attacker = AttackerKey()
    tries = {
        "bearer": (f"Bearer {token}", None, "unsupported_scheme"),
        "no_proof": (f"DPoP {token}", None, "missing_dpop_proof"),
        "other_key": (f"DPoP {token}", attacker.proof("GET", url, token), "token_binding"),
        "replay": (f"DPoP {token}", sent_proof, "proof_replayed"),
    }
    answers = {}
    for name, (authorization, proof, code) in tries.items():
        status, body, headers = send("GET", url, authorization=authorization, proof=proof)
        assert status == 401 and body["code"] == code, (name, body)
        answers[name] = (status, body, headers)
    return answers


def unsent_proof_passes_then_log_out(driver, url, token):
    """The control for the refusals above: a proof the page signed but did not send passes from outside, so they were
    real. Then another unsent proof is kept aside and the page logs this device out. Returns the logout's result and
    the proof kept aside (signed before the logout)."""
    unsent = page(driver, "proofFor", "GET", "/api/me")
    status, body, _ = send("GET", url, authorization=f"DPoP {token}", proof=unsent)
    assert status == 200 and body["sub"] == "demo-user", body
    spare = page(driver, "proofFor", "GET", "/api/me")
    logout = page(driver, "logout")
    assert logout["status"] == 200, logout
    return logout, spare
