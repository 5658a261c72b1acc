# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The demo page in a real headless Chromium, through nginx: auth_request to keybound-serve, then the application.

The page is the demo's (Integrations/Sources/keybound-demo/Public): a non-extractable WebCrypto key in IndexedDB, a
login at the demo's token endpoint, a fresh proof for every call. Here every /api/ call crosses nginx, which asks
keybound-serve (RFC 9449 verification, replay cache, route scopes) before the application (app.py) sees it; the
application trusts the identity headers and keeps its own list of logged-out devices. A refusal by keybound-serve
carries X-Keybound-Code (nginx copies it from the auth answer); the application's own refusal does not.
"""
from demo_page import (
    captured_token_refusals, open_page, page, save_screenshot, send,
    unsent_proof_passes_then_log_out,
)


def test_non_extractable_key_logs_in_and_calls_the_api_through_nginx(driver, origin):
    state = open_page(driver, origin.url)
    assert state["created"] is True
    assert state["extractable"] is False
    jkt = state["jkt"]
    assert page(driver, "tryExport") == {"refused": True, "jwk": "InvalidAccessError", "pkcs8": "InvalidAccessError"}

    login = page(driver, "login")
    assert login["status"] == 200, login
    assert login["body"]["token_type"] == "DPoP"
    assert login["body"]["jkt"] == jkt

    # keybound-serve accepted the proof and nginx gave the application the identity it vouched for.
    me = page(driver, "me")
    assert me["status"] == 200, me
    assert me["body"]["sub"] == "demo-user"
    assert me["body"]["jkt"] == jkt
    assert me["body"]["scope"] == "profile orders:write"

    order = page(driver, "order", "espresso")
    assert order["status"] == 201, order
    assert order["body"]["item"] == "espresso" and order["body"]["jkt"] == jkt

    again = page(driver, "me")
    assert again["status"] == 200, again
    assert again["body"]["proof_jti"] and again["body"]["proof_jti"] != me["body"]["proof_jti"]

    # The route /api/admin needs a scope the token lacks: keybound-serve refuses, nginx answers the real 403.
    admin = page(driver, "admin")
    assert admin["status"] == 403, admin
    assert admin["body"] == {"error": "insufficient_scope", "code": "insufficient_scope"}
    assert 'error="insufficient_scope"' in admin["challenge"]

    page(driver, "me")
    save_screenshot(driver, "keybound-sidecar-browser.png")

    # After a reload the key comes back from IndexedDB; its token still passes keybound-serve.
    driver.refresh()
    restored = page(driver, "state")
    assert restored["created"] is False and restored["jkt"] == jkt and restored["extractable"] is False
    after = page(driver, "me")
    assert after["status"] == 200, after
    assert after["body"]["jkt"] == jkt


def test_captured_token_and_proofs_get_nothing_and_logout_ends_the_device(driver, origin):
    open_page(driver, origin.url)
    assert page(driver, "login")["status"] == 200
    assert page(driver, "me")["status"] == 200
    captured = page(driver, "lastRequest")
    token, proof, url = captured["accessToken"], captured["proof"], captured["url"]
    assert url == origin.url + "/api/me"

    # Each refusal is keybound-serve's, passed on by nginx with its code and challenge.
    for name, (_, body, headers) in captured_token_refusals(url, token, proof).items():
        assert headers["X-Keybound-Code"] == body["code"], name
        assert headers["WWW-Authenticate"].startswith("DPoP"), name

    # A proof the page signed but did not send passes (the control); then "log out this device": the application
    # refuses the key from now on, inside and outside the browser.
    logout, spare = unsent_proof_passes_then_log_out(driver, url, token)
    jkt = logout["body"]["revoked_jkt"]
    assert jkt == page(driver, "state")["jkt"]
    refused = page(driver, "me")
    assert refused["status"] == 401 and refused["body"]["code"] == "key_revoked", refused
    status, body, headers = send("GET", url, authorization=f"DPoP {token}", proof=spare)
    assert status == 401 and body["code"] == "key_revoked", body
    assert "X-Keybound-Code" not in headers  # keybound-serve accepted it; the application refused
    # A new token for the same key (the demo's token endpoint does not know the application's list) gets nothing.
    relogin = page(driver, "login")
    assert relogin["status"] == 200, relogin
    assert relogin["body"]["jkt"] == jkt
    after = page(driver, "order", "tea")
    assert after["status"] == 401 and after["body"]["code"] == "key_revoked", after


def test_without_credentials_the_application_is_never_asked(origin):
    # keybound-serve refuses, nginx answers with its challenge and code; the application (which would answer 500
    # without identity headers) never sees the request.
    status, body, headers = send("GET", origin.url + "/api/me")
    assert status == 401 and body["code"] == "missing_authorization", body
    assert headers["X-Keybound-Code"] == "missing_authorization"
    assert headers["WWW-Authenticate"].startswith("DPoP")
    # keybound-serve logged every request of this session, and no credential.
    log = origin.log("keybound-serve")
    assert "missing_authorization" in log, log[-2000:]
    assert "eyJ" not in log
