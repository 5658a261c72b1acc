# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
"""The installed `keybound` package: RFC 9449 examples, and requests signed with Python's `cryptography`."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import time
from importlib import metadata

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from dpop_client import AUDIENCE, ISSUER, REPO, URL, World, b64, b64json, header_version, sign_es256

import keybound

# ----- RFC 9449 examples (Tests/Vectors/rfc-examples.md)

FIG_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
FIG7_PAYLOAD_IAT = 1562265296
FIG13_AUTHORIZATION = "DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
TOKEN_URL = "https://server.example.com/token"
RESOURCE_URL = "https://resource.example.org/protectedresource"


def rfc_vectors() -> dict[str, str]:
    """Figures 2, 7 and 13, read from the vendored Tests/Vectors/rfc-examples.md (a missing file fails the test)."""
    path = os.path.join(REPO, "Tests", "Vectors", "rfc-examples.md")
    if not os.path.exists(path):
        pytest.fail(f"vendored test vectors missing: {path}")
    with open(path, encoding="utf-8") as file:
        text = file.read()
    blocks = re.findall(r"```\n(eyJ[^\n]+)\n```", text)
    found = re.search(r"DPoP: (eyJ[^\n]+)", text)
    assert found is not None
    return {"fig2": blocks[0], "fig7": blocks[1], "fig13": found.group(1)}


@pytest.fixture()
def world() -> World:
    return World()


def verifier(world: World, **policy: object) -> keybound.Verifier:
    return keybound.Verifier(issuers=[keybound.Issuer(ISSUER, audiences=[AUDIENCE], jwks=world.jwks)],
                             policy=keybound.Policy(**policy))  # type: ignore[arg-type]


# ----- the package


def test_installed_package_bundles_the_library_and_has_its_version() -> None:
    assert keybound.__version__ == header_version() == keybound.version()
    assert metadata.version("keybound") == keybound.__version__
    package_dir = os.path.dirname(os.path.abspath(keybound.__file__))
    assert os.path.exists(os.path.join(package_dir, "py.typed"))
    if os.environ.get("KEYBOUND_TEST_INSTALLED") == "1":
        # CI runs the suite against the wheel installed in a fresh virtualenv, never the source tree.
        assert not package_dir.startswith(os.path.join(REPO, "python")), package_dir
        assert os.sep + "site-packages" + os.sep in package_dir, package_dir
        assert "KEYBOUND_LIB" not in os.environ
        assert keybound.LIBRARY_PATH == os.path.join(package_dir, "libkeybound.so.0")
    assert keybound.backend_name() == "openssl" and "openssl" in keybound.backends()


def test_rfc9449_figure2_token_endpoint_and_replay() -> None:
    v = keybound.Verifier()
    fig2 = rfc_vectors()["fig2"]
    ok = v.verify_token_endpoint("POST", TOKEN_URL, {"DPoP": fig2}, now=1562262616)
    assert ok.jkt == FIG_JKT and ok.proof_id == "-BwC3ESc6acc2lTc"
    assert ok.subject is None and ok.expires_at is None and ok.claims == {} and ok.scope == []
    with pytest.raises(keybound.ReplayedProof) as refusal:
        v.verify_token_endpoint("POST", TOKEN_URL, {"DPoP": fig2}, now=1562262616)
    assert refusal.value.code == 211 and refusal.value.name == "proof_replayed"
    assert refusal.value.http_status == 400 and refusal.value.error == "invalid_dpop_proof"
    assert refusal.value.error_body is not None and json.loads(refusal.value.error_body)["error"] == "invalid_dpop_proof"
    assert refusal.value.www_authenticate is None and refusal.value.headers == {}
    assert isinstance(refusal.value, keybound.InvalidProof) and isinstance(refusal.value, keybound.DPoPError)


def test_rfc9449_figure7_reuses_the_jti_outside_the_window() -> None:
    vectors = rfc_vectors()
    v = keybound.Verifier()
    v.verify_token_endpoint("POST", TOKEN_URL, {"dpop": vectors["fig2"]}, now=1562262616)
    ok = v.verify_token_endpoint("POST", TOKEN_URL, {"dpop": vectors["fig7"]}, now=FIG7_PAYLOAD_IAT)
    assert ok.jkt == FIG_JKT and ok.proof_id == "-BwC3ESc6acc2lTc"


def test_rfc9449_figure13_opaque_token() -> None:
    vectors = rfc_vectors()
    v = keybound.Verifier()
    headers = {"Authorization": FIG13_AUTHORIZATION, "DPoP": vectors["fig13"]}
    with pytest.raises(keybound.InvalidToken) as refusal:
        v.verify_opaque("GET", RESOURCE_URL, headers, bound_jkt="NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                        now=1562262618)
    assert refusal.value.code == 311 and refusal.value.http_status == 401
    assert refusal.value.www_authenticate is not None
    assert refusal.value.www_authenticate.startswith('DPoP error="invalid_token", error_description="Invalid DPoP')
    ok = v.verify_opaque("GET", RESOURCE_URL, headers, bound_jkt=FIG_JKT, now=1562262618)
    assert ok.jkt == FIG_JKT and ok.proof_id == "e1j3V_bKic8-LAEB" and ok.claims == {}


# ----- requests signed with `cryptography`


def test_verified_request_is_a_frozen_dataclass_with_lazy_claims(world: World) -> None:
    v = verifier(world)
    token = world.token(nested={"a": [1, 2]}, ratio=0.5)
    ok = v.verify("GET", URL + "?page=2", world.headers(url=URL + "?page=2", token=token))
    assert (ok.subject, ok.client_id, ok.scope, ok.jkt, ok.token_id, ok.issuer) == (
        "alice", "app", ["read", "write"], world.jkt, "tok-1", ISSUER)
    assert ok.expires_at == world.now + 600 and isinstance(ok.expires_at, int)
    assert ok.dpop_nonce is None
    assert "claims" not in ok.__dict__  # decoded on first use only
    assert ok.claims["roles"] == ["a", "b"] and ok.claims["nested"] == {"a": [1, 2]} and ok.claims["ratio"] == 0.5
    assert ok.claims["cnf"] == {"jkt": world.jkt} and ok.claims["sub"] == "alice"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.subject = "mallory"  # type: ignore[misc]


def test_default_clock_is_the_current_time(world: World) -> None:
    # The token and proof are made at the real time: no `now` argument is needed (the old binding's 0 refused all).
    v = verifier(world)
    assert v.verify("GET", URL, world.headers()).subject == "alice"
    # A clock of the verifier's own is read on every call.
    late = keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)],
                             clock=lambda: world.now + 3600)
    with pytest.raises(keybound.InvalidProof) as refusal:
        late.verify("GET", URL, world.headers())
    assert refusal.value.code == 209


def test_jwks_as_a_dict(world: World) -> None:
    v = keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], jwks=world.jwks_dict)])
    assert v.verify("GET", URL, world.headers()).jkt == world.jkt


def test_rs256_access_tokens() -> None:
    """An RSA issuer (RS256 tokens, as the benchmarks sign them): accepted; a token signed by another RSA key under the
    same kid is refused at its signature (305)."""
    world, other = World(token_alg="RS256"), World(token_alg="RS256")
    v = keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], jwks=world.jwks)])
    assert v.verify("GET", URL, world.headers()).jkt == world.jkt
    other.client_key, other.client_jwk, other.jkt = world.client_key, world.client_jwk, world.jkt
    with pytest.raises(keybound.InvalidToken) as refusal:
        v.verify("GET", URL, world.headers(token=other.token()))
    assert refusal.value.code == 305


@pytest.mark.parametrize("change, code, cls", [
    (lambda w, t: ("POST", URL, {"Authorization": "DPoP " + t, "DPoP": w.proof(token=t)}), 207, keybound.InvalidProof),
    (lambda w, t: ("GET", "https://api.example.com/other", {"Authorization": "DPoP " + t, "DPoP": w.proof(token=t)}),
     208, keybound.InvalidProof),
    (lambda w, t: ("GET", URL, {"Authorization": "DPoP " + t, "DPoP": w.proof(token=t, iat=w.now - 120)}), 209,
     keybound.InvalidProof),
    (lambda w, t: ("GET", URL, {"Authorization": "DPoP " + t, "DPoP": w.proof(token=t + "x")}), 210,
     keybound.InvalidProof),
    (lambda w, t: ("GET", URL, {"Authorization": "Bearer " + t, "DPoP": w.proof(token=t)}), 101,
     keybound.MissingCredentials),
    (lambda w, t: ("GET", URL, {"DPoP": w.proof(token=t)}), 100, keybound.MissingCredentials),
    (lambda w, t: ("GET", URL, {"Authorization": "DPoP " + t}), 103, keybound.InvalidProof),
    (lambda w, t: ("GET", URL, {"Authorization": "DPoP " + t, "DPoP": [w.proof(token=t), w.proof(token=t)]}), 104,
     keybound.InvalidRequest),
    (lambda w, t: ("GET", URL, {"Authorization": "DPoP " + w.token(aud="https://else.example"),
                                "DPoP": w.proof(token=t)}), 210, keybound.InvalidProof),
    (lambda w, t: ("GET", URL, w.headers(token=w.token(exp=w.now - 60))), 308, keybound.InvalidToken),
])
def test_refusals_raise_their_class(world: World, change, code: int, cls: type) -> None:  # type: ignore[no-untyped-def]
    v = verifier(world)
    method, url, headers = change(world, world.token())
    with pytest.raises(cls) as refusal:
        v.verify(method, url, headers)
    assert type(refusal.value) is cls
    assert refusal.value.code == code
    assert refusal.value.name == keybound.errors._native.status_name(code)
    assert refusal.value.www_authenticate is not None and refusal.value.www_authenticate.startswith("DPoP")
    assert refusal.value.headers["WWW-Authenticate"] == refusal.value.www_authenticate
    assert refusal.value.http_status in (400, 401)
    assert str(code) in str(refusal.value)


def test_wrong_audience_and_binding(world: World) -> None:
    v = verifier(world)
    other = world.token(aud="https://else.example")
    with pytest.raises(keybound.InvalidToken) as refusal:
        v.verify("GET", URL, world.headers(token=other))
    assert refusal.value.code == 307 and refusal.value.error == "invalid_token"
    unbound = world.token(cnf={"jkt": "A" * 43})
    with pytest.raises(keybound.InvalidToken) as refusal:
        v.verify("GET", URL, world.headers(token=unbound))
    assert refusal.value.code == 311
    assert refusal.value.www_authenticate is not None
    assert 'error_description="Invalid DPoP key binding"' in refusal.value.www_authenticate


def test_replay_and_revocation(world: World) -> None:
    v = verifier(world)
    headers = world.headers()
    v.verify("GET", URL, headers)
    with pytest.raises(keybound.ReplayedProof) as replayed:
        v.verify("GET", URL, headers)
    assert replayed.value.code == 211 and replayed.value.http_status == 401
    v.revoke_token("tok-1", until=world.now + 600)
    with pytest.raises(keybound.Revoked) as revoked:
        v.verify("GET", URL, world.headers())
    assert revoked.value.code == 312 and isinstance(revoked.value, keybound.InvalidToken)
    v.revoke_key(world.jkt, until=world.now + 600)
    token_url = "https://issuer.example/token"
    with pytest.raises(keybound.Revoked) as revoked:
        v.verify_token_endpoint("POST", token_url, {"DPoP": world.proof("POST", token_url)})
    assert revoked.value.code == 313 and revoked.value.http_status == 400
    assert v.refusals(211) == 1 and v.refusals(312) == 1 and v.refusals(313) == 1
    metrics = v.metrics()
    assert metrics.verified == 1 and metrics.refused == 3 and metrics.replay_cache_capacity == 1048576


def test_nonce_retry(world: World) -> None:
    v = verifier(world, nonce="required", nonce_secrets=[b"s" * 32])
    token = world.token()
    with pytest.raises(keybound.UseNonce) as refusal:
        v.verify("GET", URL, world.headers(token=token))
    assert refusal.value.code == 220 and refusal.value.error == "use_dpop_nonce"
    nonce = refusal.value.dpop_nonce
    assert nonce is not None and len(nonce) == 27 and nonce == v.mint_nonce()
    assert refusal.value.headers["DPoP-Nonce"] == nonce
    with pytest.raises(keybound.UseNonce) as stale:
        v.verify("GET", URL, world.headers(token=token, nonce="x" * 27))
    assert stale.value.code == 221
    ok = v.verify("GET", URL, world.headers(token=token, nonce=nonce))
    assert ok.subject == "alice" and ok.dpop_nonce is not None and len(ok.dpop_nonce) == 27


def test_key_rotation_and_skipped_keys(world: World) -> None:
    v = verifier(world)
    with pytest.raises(keybound.ConfigurationError) as error:
        v.replace_jwks(ISSUER, "{}")
    assert error.value.code == 903 and error.value.name == "invalid_jwks"
    assert v.verify("GET", URL, world.headers()).subject == "alice"
    other = {"kty": "EC", "crv": "P-256", "kid": "other", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
             "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
    v.replace_jwks(ISSUER, {"keys": [other, dict(other, kid="enc", use="enc")]})
    assert v.skipped_keys(ISSUER) == ['key 1 (kid "enc"): use is not sig']
    with pytest.raises(keybound.InvalidToken) as refusal:
        v.verify("GET", URL, world.headers())
    assert refusal.value.code == 303
    v.replace_jwks(ISSUER, world.jwks)
    assert v.skipped_keys(ISSUER) == []
    assert v.verify("GET", URL, world.headers()).subject == "alice"


def test_external_base_url_verifies_the_origin_form_target(world: World) -> None:
    v = verifier(world, external_base_url="https://api.example.com/")
    assert v.verify("GET", "/items?q=1", world.headers(url=URL + "?q=1")).subject == "alice"


def test_eddsa_proof_and_algorithm_policy(world: World) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().public_bytes_raw())}
    url = "https://issuer.example/token"
    payload = {"jti": "ed-1", "htm": "POST", "htu": url, "iat": world.now}
    signing_input = f"{b64json({'typ': 'dpop+jwt', 'alg': 'EdDSA', 'jwk': jwk})}.{b64json(payload)}"
    proof = f"{signing_input}.{b64(key.sign(signing_input.encode()))}"
    assert len(verifier(world).verify_token_endpoint("POST", url, {"DPoP": proof}).jkt) == 43
    es_only = verifier(world, proof_algorithms=["ES256"])
    with pytest.raises(keybound.InvalidProof) as refusal:
        es_only.verify_token_endpoint("POST", url, {"DPoP": proof})
    assert refusal.value.code == 202


def test_configuration_errors(world: World) -> None:
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], "not json")])
    assert error.value.code == 903 and isinstance(error.value, ValueError)
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(policy=keybound.Policy(proof_max_age=100000))
    assert error.value.code == 902 and "proof" in str(error.value).lower()
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(policy=keybound.Policy(nonce="required"))
    assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(policy=keybound.Policy(nonce="sometimes"))
    assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(policy=keybound.Policy(proof_algorithms=["HS256"]))
    assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(policy=keybound.Policy(external_base_url="ftp://x"))
    assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier().mint_nonce()
    assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier(issuers=[keybound.Issuer(ISSUER, AUDIENCE, world.jwks)])  # a str, not a list
    assert error.value.code == 902


def test_redis_store_needs_the_redis_flavour() -> None:
    if keybound.HAS_REDIS:
        with pytest.raises(keybound.ConfigurationError) as error:
            keybound.RedisReplayStore("http://not-redis")
        assert error.value.code == 902
    else:
        with pytest.raises(keybound.ConfigurationError) as error:
            keybound.RedisReplayStore("redis://127.0.0.1:6379")
        assert error.value.code == 902 and "Redis" in str(error.value)


def test_closed_verifier_raises(world: World) -> None:
    with verifier(world) as v:
        v.verify("GET", URL, world.headers())
        assert repr(v) == "<keybound.Verifier openssl, nonce='off', blocking=False>"
    assert repr(v) == "<keybound.Verifier closed, nonce='off', blocking=False>"
    with pytest.raises(keybound.ConfigurationError) as error:
        v.verify("GET", URL, world.headers())
    assert error.value.code == 900


def test_threads_share_one_verifier(world: World) -> None:
    v = verifier(world)
    token = world.token()
    requests = [world.headers(token=token) for _ in range(40)]
    outcomes: list[object] = []
    lock = threading.Lock()

    def work() -> None:
        for headers in requests:
            try:
                v.verify("GET", URL, headers)
                result: object = "ok"
            except keybound.DPoPError as refusal:
                result = refusal.code
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == len(requests)
    assert outcomes.count(211) == 3 * len(requests)


def test_reserved_statuses_have_their_classes() -> None:
    # 314, 315 and 316 are reserved in keybound.h; their classes exist so that handlers can be written now.
    assert keybound.errors.error_class(314) is keybound.InsufficientUserAuthentication
    assert keybound.errors.error_class(315) is keybound.InsufficientScope
    assert keybound.errors.error_class(316) is keybound.BoundTokenAsBearer
    assert keybound.errors.error_class(212) is keybound.ReplayQuotaExceeded
    assert keybound.errors.error_class(501) is keybound.ServerError
    assert keybound.errors.error_class(220) is keybound.UseNonce
    assert keybound.errors.error_class(102) is keybound.InvalidRequest
    assert keybound.errors.error_class(205) is keybound.InvalidProof


def test_time_is_not_read_when_now_is_given(world: World) -> None:
    calls: list[int] = []

    def clock() -> float:
        calls.append(1)
        return time.time()

    v = keybound.Verifier(issuers=[keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], clock=clock)
    v.verify("GET", URL, world.headers(), now=world.now)
    assert calls == []
    v.verify("GET", URL, world.headers())
    assert calls == [1]


def test_key_miss_hook_fetches_the_new_key_set(world: World, caplog: pytest.LogCaptureFixture) -> None:
    rotated = World()  # the issuer's next key, published under another kid
    rotated_jwks = {"keys": [dict(rotated.jwks_dict["keys"][0], kid="k2")]}
    calls: list[tuple[str, object]] = []

    def on_key_miss(issuer: str, kid: object) -> None:
        calls.append((issuer, kid))
        verifier.replace_jwks(issuer, {"keys": world.jwks_dict["keys"] + rotated_jwks["keys"]})

    verifier = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], on_key_miss=on_key_miss)
    new_token = rotated.token(kid="k2", cnf={"jkt": world.jkt})  # bound to world's client key
    with pytest.raises(keybound.InvalidToken) as refusal:
        verifier.verify("GET", URL, world.headers(token=new_token))
    assert refusal.value.code == 303 and calls == [(ISSUER, "k2")]
    assert verifier.verify("GET", URL, world.headers(token=new_token)).subject == "alice"

    def broken(issuer: str, kid: object) -> None:
        raise RuntimeError("the JWKS endpoint is down")

    failing = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], world.jwks)], on_key_miss=broken)
    with pytest.raises(keybound.InvalidToken) as refusal:
        failing.verify("GET", URL, world.headers(token=new_token))
    assert refusal.value.code == 303
    assert "the on_key_miss hook raised" in caplog.text


# ----- per-request requirements (docs/design.md "The checks", check 7) and claim rules


def test_scope_requirement(world: World) -> None:
    v = verifier(world)
    token = world.token(scope="read write")
    assert v.verify("GET", URL, world.headers(token=token), scope="read").scope == ["read", "write"]
    assert v.verify("GET", URL, world.headers(token=token), scope=["write", "read"]).subject == "alice"
    headers = world.headers(token=token)
    with pytest.raises(keybound.InsufficientScope) as refusal:
        v.verify("GET", URL, headers, scope="read admin")
    assert refusal.value.code == 315 and refusal.value.http_status == 403
    assert refusal.value.error == "insufficient_scope"
    assert refusal.value.www_authenticate is not None and 'scope="read admin"' in refusal.value.www_authenticate
    # Refused before the replay insert: the same proof still verifies where no scope is needed.
    assert v.verify("GET", URL, headers).subject == "alice"
    with pytest.raises(keybound.InsufficientScope) as refusal:
        v.verify("GET", URL, world.headers(token=world.token(scope=None)), scope="read")
    assert refusal.value.code == 315


def test_step_up_requirements(world: World) -> None:
    v = verifier(world)
    token = world.token(auth_time=world.now - 600, acr="urn:mace:incommon:iap:silver")
    assert v.verify("GET", URL, world.headers(token=token), max_age=900).subject == "alice"
    with pytest.raises(keybound.InsufficientUserAuthentication) as refusal:
        v.verify("GET", URL, world.headers(token=token), max_age=60)
    assert refusal.value.code == 314 and refusal.value.http_status == 401
    assert refusal.value.error == "insufficient_user_authentication"
    assert refusal.value.www_authenticate is not None and 'max_age="60"' in refusal.value.www_authenticate
    assert v.verify("GET", URL, world.headers(token=token), acr_values="gold urn:mace:incommon:iap:silver").jkt
    with pytest.raises(keybound.InsufficientUserAuthentication) as refusal:
        v.verify("GET", URL, world.headers(token=token), acr_values=["gold"])
    assert refusal.value.code == 314
    assert refusal.value.www_authenticate is not None and 'acr_values="gold"' in refusal.value.www_authenticate
    # Without auth_time, max_age fails unless the policy lets iat stand in for it.
    fresh = world.token(iat=world.now - 10)
    with pytest.raises(keybound.InsufficientUserAuthentication) as refusal:
        v.verify("GET", URL, world.headers(token=fresh), max_age=60)
    assert refusal.value.code == 314
    lenient = verifier(world, auth_time_from_iat=True)
    assert lenient.verify("GET", URL, world.headers(token=fresh), max_age=60).subject == "alice"


def test_requirement_arguments_are_checked(world: World) -> None:
    v = verifier(world)
    with pytest.raises(keybound.ConfigurationError) as error:
        v.verify("GET", URL, world.headers(), max_age=-1)
    assert error.value.code == 900
    with pytest.raises(keybound.ConfigurationError) as error:
        v.verify("GET", URL, world.headers(), scope=["read", ""])
    assert error.value.code == 900


def test_claim_rules(world: World) -> None:
    strict = verifier(world, required_claims=["roles"], allowed_client_ids=["app"])
    assert strict.verify("GET", URL, world.headers()).client_id == "app"
    with pytest.raises(keybound.InvalidToken) as refusal:
        strict.verify("GET", URL, world.headers(token=world.token(roles=None)))
    assert refusal.value.code == 310 and "roles" in (refusal.value.description or "")
    with pytest.raises(keybound.InvalidToken) as refusal:
        strict.verify("GET", URL, world.headers(token=world.token(client_id="other")))
    assert refusal.value.code == 310 and "client_id" in (refusal.value.description or "")


def test_nonces_bound_to_the_client_key(world: World) -> None:
    v = verifier(world, nonce="required_bound", nonce_secrets=[b"b" * 32])
    other = World()
    token = world.token()
    assert v.verify("GET", URL, world.headers(token=token, nonce=v.mint_nonce(world.jkt))).jkt == world.jkt
    with pytest.raises(keybound.UseNonce) as refusal:
        v.verify("GET", URL, world.headers(token=token, nonce=v.mint_nonce(other.jkt)))
    assert refusal.value.code == 221 and refusal.value.dpop_nonce is not None


def test_backend_choice(world: World) -> None:
    assert verifier(world, backend="openssl").backend == "openssl"
    assert verifier(world, backend="default").backend == keybound.backend_name()
    if "swift-crypto" not in keybound.backends():
        with pytest.raises(keybound.ConfigurationError) as error:
            verifier(world, backend="swift-crypto")
        assert error.value.code == 902
    with pytest.raises(keybound.ConfigurationError) as error:
        verifier(world, backend="boringssl")
    assert error.value.code == 902


def test_issuer_keys_as_pem(world: World) -> None:
    from cryptography.hazmat.primitives import serialization

    public_pem = world.issuer_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    pem_only = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], pem_keys=[
        keybound.PEMKey("k1", public_pem, alg="ES256")])])
    assert pem_only.verify("GET", URL, world.headers()).subject == "alice"
    other = World()
    both = keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], jwks=other.jwks_dict, pem_keys=[
        keybound.PEMKey("pem-1", public_pem.encode())])])  # a JWK Set (kid k1) beside a PEM key
    assert both.verify("GET", URL, world.headers(token=world.token(kid="pem-1"))).subject == "alice"

    private_pem = world.issuer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()).decode()
    refused = [("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", None, 904),
               (private_pem, None, 905), (public_pem, "RS256", 906)]
    for pem, alg, code in refused:
        with pytest.raises(keybound.ConfigurationError) as error:
            keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE], pem_keys=[keybound.PEMKey("k1", pem, alg=alg)])])
        assert error.value.code == code, (pem[:30], alg, error.value)
    with pytest.raises(keybound.ConfigurationError) as error:
        keybound.Verifier([keybound.Issuer(ISSUER, [AUDIENCE])])
    assert error.value.code == 902


# ----- Bearer migration, typed claims, the per-key replay share


def test_bearer_is_refused_unless_the_migration_mode_is_on(world: World) -> None:
    plain = world.token(cnf=None)  # a token without `cnf`, as a Bearer-era issuer mints
    bearer = {"Authorization": f"Bearer {plain}"}
    with pytest.raises(keybound.MissingCredentials) as refusal:
        verifier(world).verify("GET", URL, bearer)
    assert refusal.value.code == 101 and refusal.value.name == "unsupported_scheme"
    assert refusal.value.http_status == 401 and refusal.value.www_authenticate is not None
    assert refusal.value.www_authenticate.startswith("DPoP") and "Bearer" not in refusal.value.www_authenticate

    migrating = verifier(world, allow_bearer=True)
    ok = migrating.verify("GET", URL, bearer)
    assert ok.jkt is None and ok.proof_id is None and ok.scheme == "Bearer"
    assert (ok.subject, ok.scope, ok.token_id) == ("alice", ["read", "write"], "tok-1")
    assert ok.claims["sub"] == "alice" and "cnf" not in ok.claims
    dpop = migrating.verify("GET", URL, world.headers())
    assert dpop.jkt == world.jkt and dpop.scheme == "DPoP"

    # A DPoP-bound token sent as Bearer is never accepted (RFC 9449 §7.2).
    bound = world.token()
    with pytest.raises(keybound.BoundTokenAsBearer) as refusal:
        migrating.verify("GET", URL, {"Authorization": f"Bearer {bound}"})
    assert refusal.value.code == 316 and refusal.value.http_status == 401
    assert refusal.value.error == "invalid_token" and isinstance(refusal.value, keybound.InvalidToken)
    # Bearer beside a DPoP header is a malformed request.
    with pytest.raises(keybound.InvalidRequest) as refusal:
        migrating.verify("GET", URL, {"Authorization": f"Bearer {plain}", "DPoP": world.proof(token=plain)})
    assert refusal.value.code == 102 and refusal.value.http_status == 400
    # Every challenge of the migration mode names both schemes.
    with pytest.raises(keybound.MissingCredentials) as refusal:
        migrating.verify("GET", URL, {})
    challenge = refusal.value.www_authenticate or ""
    assert "DPoP" in challenge and "Bearer" in challenge, challenge


def test_typed_claims(world: World) -> None:
    claims = dict(tenant="caf\u00e9", level=42, whole=42.0, ratio=0.5, admin=True, nothing=None, groups=["x", "y"],
                  huge=2 ** 53 + 1, mixed=["x", 1], iss=ISSUER, aud=AUDIENCE, sub="alice", exp=world.now + 600,
                  iat=world.now, cnf={"jkt": world.jkt}, roles=["a", "b"], scope="read write")
    token = sign_es256(world.issuer_key, {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}, claims)  # keeps the null
    ok = verifier(world).verify("GET", URL, world.headers(token=token))
    assert ok.claim_str("tenant") == "caf\u00e9" and ok.claim_str("sub") == "alice"
    assert ok.claim_int("level") == 42 and ok.claim_int("whole") == 42 and isinstance(ok.claim_int("whole"), int)
    assert ok.claim_int("exp") == world.now + 600
    assert ok.claim_float("ratio") == 0.5 and ok.claim_float("level") == 42.0
    assert ok.claim_bool("admin") is True
    assert ok.claim_strings("groups") == ["x", "y"] and ok.claim_strings("roles") == ["a", "b"]
    for accessor in (ok.claim_str, ok.claim_int, ok.claim_float, ok.claim_bool, ok.claim_strings):
        assert accessor("absent") is None
    wrong = [(ok.claim_str, "level"), (ok.claim_int, "ratio"), (ok.claim_int, "admin"), (ok.claim_int, "huge"),
             (ok.claim_float, "huge"), (ok.claim_bool, "tenant"), (ok.claim_strings, "scope"),
             (ok.claim_strings, "mixed"), (ok.claim_str, "nothing"), (ok.claim_int, "nothing")]
    for accessor, name in wrong:
        with pytest.raises(keybound.ClaimTypeError) as refusal:
            accessor(name)
        assert refusal.value.code == 310 and refusal.value.name == "token_claims", (accessor, name)
        assert refusal.value.http_status == 401 and refusal.value.error == "invalid_token"
        assert isinstance(refusal.value, keybound.InvalidToken)
    # No JWT access token (token endpoint): every claim is absent.
    token_url = "https://issuer.example/token"
    endpoint = verifier(world).verify_token_endpoint("POST", token_url, {"DPoP": world.proof("POST", token_url)})
    assert endpoint.claim_str("sub") is None and endpoint.claim_int("exp") is None


def test_replay_key_share_answers_429_with_retry_after(world: World) -> None:
    # A share up to 1,024 is counted exactly (docs/design.md "Per-key replay share").
    v = verifier(world, replay_key_share=1)
    token = world.token()
    v.verify("GET", URL, world.headers(token=token))
    with pytest.raises(keybound.ReplayQuotaExceeded) as refusal:
        v.verify("GET", URL, world.headers(token=token))
    assert refusal.value.code == 212 and refusal.value.name == "replay_quota_exceeded"
    assert refusal.value.http_status == 429
    retry_after = refusal.value.retry_after
    assert retry_after is not None and 0 < retry_after <= 60 + 2 * 5, retry_after
    assert refusal.value.headers["Retry-After"] == str(retry_after)
    assert v.refusals(212) == 1
    # Another key has its own share; a replay is still 211, without Retry-After.
    other = World()
    other.issuer_key = world.issuer_key
    headers = other.headers()
    assert v.verify("GET", URL, headers).jkt == other.jkt
    with pytest.raises(keybound.ReplayedProof) as replayed:
        v.verify("GET", URL, headers)
    assert replayed.value.retry_after is None and "Retry-After" not in replayed.value.headers
    # The token endpoint answers 429 too (not 400), and a per-key share lifts the bound for one key.
    token_url = "https://issuer.example/token"
    with pytest.raises(keybound.ReplayQuotaExceeded) as refusal:
        v.verify_token_endpoint("POST", token_url, {"DPoP": world.proof("POST", token_url)})
    assert refusal.value.http_status == 429 and refusal.value.retry_after is not None
    lifted = verifier(world, replay_key_share=1, replay_key_shares={world.jkt: 0})  # 0: unlimited for that key
    for _ in range(3):
        lifted.verify("GET", URL, world.headers(token=token))
    # Out of range: refused when the verifier is made.
    with pytest.raises(keybound.ConfigurationError) as error:
        verifier(world, replay_key_share=-5)
    assert error.value.code == 902
