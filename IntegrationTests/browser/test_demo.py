# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""End-to-end: the demo page in a real headless Chromium, and an attacker outside it (RFC 9449).

The page keeps a non-extractable WebCrypto key in IndexedDB, logs in with it and signs a fresh proof for every call.
From outside the browser, what an attacker could capture (the access token, a proof already sent) gets nothing.
"""

import time

from demo_page import (
    AttackerKey, captured_token_refusals, open_page, page, save_screenshot, send,
    unsent_proof_passes_then_log_out,
)


# --- The tests ------------------------------------------------------------------------------------------------------


def test_non_extractable_key_logs_in_calls_the_api_and_survives_a_reload(driver, demo_url):
    state = open_page(driver, demo_url)
    assert state["created"] is True
    assert state["extractable"] is False
    jkt = state["jkt"]

    # The private key cannot leave the browser: exportKey fails in the page, in every format.
    export = page(driver, "tryExport")
    assert export == {"refused": True, "jwk": "InvalidAccessError", "pkcs8": "InvalidAccessError"}

    login = page(driver, "login")
    assert login["status"] == 200, login
    assert login["body"]["token_type"] == "DPoP"
    assert login["body"]["jkt"] == jkt  # the token is bound to this key's thumbprint

    me = page(driver, "me")
    assert me["status"] == 200, me
    assert me["body"]["sub"] == "demo-user"
    assert me["body"]["jkt"] == jkt

    order = page(driver, "order", "espresso")
    assert order["status"] == 201, order
    assert order["body"]["item"] == "espresso"

    # Every call carries a fresh proof.
    again = page(driver, "me")
    assert again["status"] == 200
    assert again["body"]["proof_jti"] != me["body"]["proof_jti"]

    # A route needing a scope the token lacks: 403 insufficient_scope.
    admin = page(driver, "admin")
    assert admin["status"] == 403
    assert admin["body"]["error"] == "insufficient_scope"

    page(driver, "me")  # the screenshot shows a successful call on top
    save_screenshot(driver, "keybound-demo.png")

    # After a reload the same key comes back from IndexedDB and the token bound to it keeps working.
    driver.refresh()
    restored = page(driver, "state")
    assert restored["created"] is False
    assert restored["jkt"] == jkt
    assert restored["extractable"] is False
    after = page(driver, "me")
    assert after["status"] == 200, after
    assert after["body"]["jkt"] == jkt


def test_captured_token_and_proofs_get_nothing_outside_the_browser(driver, demo_url):
    open_page(driver, demo_url)
    assert page(driver, "login")["status"] == 200
    me = page(driver, "me")
    assert me["status"] == 200
    captured = page(driver, "lastRequest")
    token, proof, url = captured["accessToken"], captured["proof"], captured["url"]
    assert url == demo_url + "/api/me"

    # The token alone as a bearer token, or without a proof; with another key's proof (the token is bound to the
    # browser's key); with the proof the page already sent: each refused with its code.
    answers = captured_token_refusals(url, token, proof)
    # RFC 6750 §3.1: a bearer token under the wrong scheme gets a bare challenge, the scheme first.
    challenge = answers["bearer"][2]["WWW-Authenticate"]
    assert challenge.startswith("DPoP") and "error=" not in challenge

    # A proof the page signed but did not send passes (the control); then "log out this device": the key is
    # revoked, and its token with it, inside and outside the browser.
    _, spare = unsent_proof_passes_then_log_out(driver, url, token)
    refused = page(driver, "me")
    assert refused["status"] == 401 and refused["body"]["code"] == "key_revoked", refused
    status, body, _ = send("GET", url, authorization=f"DPoP {token}", proof=spare)
    assert status == 401 and body["code"] == "key_revoked", body
    # Nor can the revoked key get a new token.
    relogin = page(driver, "login")
    assert relogin["status"] == 400 and relogin["body"]["code"] == "key_revoked", relogin


def test_nonces_on_the_page_retries_once_after_use_dpop_nonce(driver, nonce_demo_url):
    open_page(driver, nonce_demo_url)

    # The first proof has no nonce: the token endpoint answers 400 use_dpop_nonce with a DPoP-Nonce, and the page
    # retries once with it (RFC 9449 §8).
    login = page(driver, "login")
    assert login["status"] == 200, login
    assert login["retried"] is True
    assert [a["status"] for a in login["attempts"]] == [400, 200]
    assert login["attempts"][0]["error"] == "use_dpop_nonce"

    # The page keeps the newest nonce, so the next calls need no retry.
    me = page(driver, "me")
    assert me["status"] == 200 and me["retried"] is False, me
    order = page(driver, "order", "tea")
    assert order["status"] == 201 and order["retried"] is False, order

    # A nonce the server no longer accepts (here: made up) is refused with 401 use_dpop_nonce and a fresh nonce, and
    # the page recovers by retrying once.
    page(driver, "setNonce", "stale-nonce-the-server-never-issued")
    recovered = page(driver, "me")
    assert recovered["status"] == 200 and recovered["retried"] is True, recovered
    assert recovered["attempts"][0]["status"] == 401
    assert recovered["attempts"][0]["error"] == "use_dpop_nonce"
    assert page(driver, "state")["nonce"] != "stale-nonce-the-server-never-issued"

    # From outside: a proof without a nonce is told to use one; the page's sent proof replayed is still refused.
    captured = page(driver, "lastRequest")
    attacker = AttackerKey()
    url = nonce_demo_url + "/api/me"
    token = page(driver, "state")["token"]
    status, body, headers = send("GET", url, authorization=f"DPoP {token}", proof=attacker.proof("GET", url, token))
    assert status == 401 and body["error"] == "use_dpop_nonce", body
    assert headers["DPoP-Nonce"]
    assert 'error="use_dpop_nonce"' in headers["WWW-Authenticate"]
    nonce = headers["DPoP-Nonce"]
    status, body, _ = send(
        "GET", url, authorization=f"DPoP {token}", proof=attacker.proof("GET", url, token, nonce=nonce)
    )
    assert status == 401 and body["code"] == "token_binding", body
    status, body, _ = send(captured["method"], captured["url"], f"DPoP {captured['accessToken']}", captured["proof"])
    assert status == 401 and body["code"] == "proof_replayed", body
    save_screenshot(driver, "keybound-demo-nonces.png")


# The step-up demo's RFC 9470 max_age and clock skew (scripts/ci/integrations.sh starts it with these).
STEPUP_MAX_AGE = 2
STEPUP_SKEW = 1


def test_delete_account_steps_up_with_the_same_key(driver, stepup_demo_url):
    state = open_page(driver, stepup_demo_url)
    jkt = state["jkt"]
    login = page(driver, "login")
    assert login["status"] == 200, login
    first_token = page(driver, "state")["token"]

    # Let the login age past max_age plus the clock skew (whole seconds), rather than wait the real 5 minutes.
    time.sleep(STEPUP_MAX_AGE + STEPUP_SKEW + 1.2)

    deleted = page(driver, "deleteAccount")
    # The server refused the old login with 401 insufficient_user_authentication and max_age in the challenge ...
    assert deleted["firstStatus"] == 401, deleted
    assert 'error="insufficient_user_authentication"' in deleted["firstChallenge"]
    assert "max_age" in deleted["firstChallenge"] and str(STEPUP_MAX_AGE) in deleted["firstChallenge"]
    # ... and the page logged in again with the same key, then the retry went through.
    assert deleted["steppedUp"] is True
    assert deleted["status"] == 200, deleted
    assert deleted["body"]["deleted"] == "demo-user"
    assert deleted["body"]["jkt"] == jkt
    assert 0 <= deleted["body"]["login_age"] <= STEPUP_MAX_AGE + STEPUP_SKEW
    after = page(driver, "state")
    assert after["jkt"] == jkt  # the same non-extractable key, not a new one
    assert after["extractable"] is False
    assert after["token"] != first_token  # a new token, with a fresh auth_time
    save_screenshot(driver, "keybound-demo-step-up.png")
