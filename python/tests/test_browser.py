# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The FastAPI browser example (examples/browser_app.py) under uvicorn, driven by a real headless Chromium: the page
keeps a non-extractable WebCrypto key, gets a DPoP-bound token and signs a fresh proof per call; from outside the
browser, the captured token and proofs get nothing. The Chromium fixture is the repository's browser test's
(IntegrationTests/browser/conftest.py: Debian's chromium and chromedriver, offline)."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, Dict, Iterator

import httpx
import pytest
from dpop_client import REPO, World
from test_frameworks import Server, free_port, python_module

_BROWSER = os.path.join(REPO, "IntegrationTests", "browser")
if _BROWSER not in sys.path:
    sys.path.insert(0, _BROWSER)  # the fixtures import their page helpers (demo_page.py) from beside them
_spec = importlib.util.spec_from_file_location("keybound_browser_fixtures", os.path.join(_BROWSER, "conftest.py"))
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
driver = _fixtures.driver


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    port = free_port()
    server = Server("browser-fastapi", python_module("uvicorn", "browser_app:app", "--port", str(port),
                                                     "--log-level", "warning"), port, World(), None, False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def page(driver: Any, action: str, *args: Any) -> Any:
    """Runs `window.keybound[action](...args)` in the page and returns its result."""
    script = """
        const done = arguments[arguments.length - 1];
        window.keybound.ready.then(() => window.keybound[arguments[0]](...arguments[1]))
            .then((value) => done({ value }), (error) => done({ failure: String(error) }));
    """
    outcome: Dict[str, Any] = driver.execute_async_script(script, action, list(args))
    assert "failure" not in outcome, f"{action} failed in the page: {outcome['failure']}"
    return outcome["value"]


def test_browser_key_logs_in_and_captured_credentials_get_nothing(driver: Any, app_url: str) -> None:
    driver.get(app_url + "/")
    state = page(driver, "state")
    assert state["extractable"] is False and len(state["jkt"]) == 43

    login = page(driver, "login")
    assert login["status"] == 200, login
    assert login["body"]["token_type"] == "DPoP" and login["body"]["jkt"] == state["jkt"]
    first = page(driver, "me")
    assert first["status"] == 200, first
    assert first["body"]["sub"] == "browser-user" and first["body"]["jkt"] == state["jkt"]
    second = page(driver, "me")
    assert second["status"] == 200 and second["body"]["proof_id"] != first["body"]["proof_id"]
    folder = os.environ.get("KEYBOUND_TEST_LOGS", "/tmp")
    assert driver.save_screenshot(os.path.join(folder, "keybound-python-browser.png"))

    captured = page(driver, "lastRequest")
    token, proof, url = captured["accessToken"], captured["proof"], captured["url"]
    assert url == app_url + "/api/me"
    attacker = World()  # another key, as an attacker holding the captured token would have
    stolen = httpx.get(url, headers={"Authorization": f"DPoP {token}",
                                     "DPoP": attacker.proof("GET", url, token=token)})
    assert stolen.status_code == 401 and 'error="invalid_token"' in stolen.headers["www-authenticate"]
    assert stolen.json()["error_description"] == "Invalid DPoP key binding"
    replayed = httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert replayed.status_code == 401 and 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]
    as_bearer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401 and "error=" not in as_bearer.headers["www-authenticate"]
    # The token endpoint refuses a proof for another method with 400 and the RFC 9449 §5 JSON body.
    token_url = app_url + "/token"
    wrong = httpx.post(token_url, headers={"DPoP": attacker.proof("GET", token_url)})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_dpop_proof", wrong.text
    assert "www-authenticate" not in wrong.headers
    # Control: a proof the page signed but did not send works from outside, so the refusals above are real.
    unsent = page(driver, "proofFor", "GET", "/api/me")
    assert httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": unsent}).status_code == 200

    # "Log out this device": the key is revoked; the page's next call is refused.
    assert page(driver, "logout")["status"] == 200
    after = page(driver, "me")
    assert after["status"] == 401 and 'error="invalid_token"' in after["challenge"], after
