"""Token verification: what a service accepts and what it refuses, and how it learns keys."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from cchc_shared.auth import (
    AuthUnavailable,
    JwksKeySource,
    TokenRules,
    TokenVerifier,
    Unauthenticated,
    sign_token,
    token_claims,
)
from cchc_shared.embedded import free_port
from cchc_shared.testing import TestTokens, serving

RULES = TokenRules(issuer="cchc", audience="cchc-api")


def verifier_for(*issuers: TestTokens) -> TokenVerifier:
    document = {"keys": [k for t in issuers for k in t.jwks()["keys"]]}
    return TokenVerifier(JwksKeySource(document=document), RULES)


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_a_valid_token_names_its_principal() -> None:
    tokens = TestTokens()
    principal = await verifier_for(tokens).verify(
        tokens.mint(["agency_officer", "viewer"], scope="huyen-a", subject="nv.an")
    )
    assert principal.subject == "nv.an"
    assert principal.roles == {"agency_officer", "viewer"}
    assert principal.org_unit_scope == "huyen-a"


async def test_unknown_roles_are_ignored() -> None:
    tokens = TestTokens()
    principal = await verifier_for(tokens).verify(tokens.mint(["superuser", "viewer"]))
    assert principal.roles == {"viewer"}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("other_key_same_kid", "not valid"),
        ("other_key_other_kid", "unknown key"),
        ("alg_none", "algorithm"),
        ("hs256_with_public_key", "algorithm"),
        ("wrong_audience", "not valid"),
        ("wrong_issuer", "not valid"),
        ("no_expiry", "not valid"),
        ("garbage", "malformed"),
        ("huge", "too long"),
    ],
)
async def test_untrustworthy_tokens_are_refused(case: str, reason: str) -> None:
    ours = TestTokens()
    verifier = verifier_for(ours)
    with pytest.raises(Unauthenticated, match=reason):
        await verifier.verify(forged(case, ours))


def forged(case: str, ours: TestTokens) -> str:
    stranger = TestTokens()
    if case == "expired":
        return ours.mint("admin", now=time.time() - 7200, ttl_seconds=600)
    if case == "other_key_same_kid":
        stranger.kid = ours.kid
        return stranger.mint("admin")
    if case == "other_key_other_kid":
        return stranger.mint("admin")
    if case == "alg_none":
        claims = token_claims(
            subject="x", roles=["admin"], issuer="cchc", audience="cchc-api", ttl_seconds=600
        )
        return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': ours.kid})}.{b64(claims)}."
    if case == "hs256_with_public_key":
        public = ours.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        claims = token_claims(
            subject="x", roles=["admin"], issuer="cchc", audience="cchc-api", ttl_seconds=600
        )
        return jwt.encode(claims, public * 2, algorithm="HS256", headers={"kid": ours.kid})
    if case == "wrong_audience":
        return _with(ours, audience="another-api").mint("admin")
    if case == "wrong_issuer":
        return _with(ours, issuer="https://evil.example").mint("admin")
    if case == "no_expiry":
        claims = token_claims(
            subject="x", roles=["admin"], issuer="cchc", audience="cchc-api", ttl_seconds=600
        )
        del claims["exp"]
        return sign_token(claims, ours.private_key, kid=ours.kid, algorithm="EdDSA")
    if case == "garbage":
        return "not.a.token"
    assert case == "huge"
    return ours.mint("admin", padding="x" * 10_000)


def _with(tokens: TestTokens, **changes: str) -> TestTokens:
    clone = TestTokens()
    clone.private_key, clone.kid = tokens.private_key, tokens.kid
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


async def test_an_external_provider_with_rsa_keys_and_nested_roles() -> None:
    """Keycloak-like: RS256, roles under realm_access, the scope in a custom claim."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid="kc-1", use="sig", alg="RS256")
    rules = TokenRules(
        issuer="https://sso.kontum.gov.vn/realms/cchc",
        audience="cchc-api",
        roles_claim="realm_access.roles",
        org_unit_claim="cchc_org_unit",
    )
    verifier = TokenVerifier(JwksKeySource(document={"keys": [jwk]}), rules)
    now = int(time.time())
    claims = {
        "iss": rules.issuer,
        "aud": ["cchc-api", "account"],
        "sub": "f3a1",
        "azp": "ioc",
        "iat": now,
        "exp": now + 300,
        "realm_access": {"roles": ["planner", "offline_access"]},
        "cchc_org_unit": "tinh",
    }
    principal = await verifier.verify(sign_token(claims, private, kid="kc-1", algorithm="RS256"))
    assert principal.roles == {"planner"}
    assert principal.org_unit_scope == "tinh"
    assert principal.client_id == "ioc"


async def test_keys_are_fetched_again_when_a_token_names_a_new_one() -> None:
    """Rotation as a service sees it: the JWKS changes, an unknown kid triggers a fetch, and
    forged kids cannot make it fetch more than once per interval."""
    old, new = TestTokens(), TestTokens()
    published = {"keys": old.jwks()["keys"]}
    fetches: list[int] = []
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, list[dict[str, object]]]:
        fetches.append(1)
        return published

    async with serving(app) as url:
        source = JwksKeySource(url=url + "/.well-known/jwks.json", min_refresh_seconds=0.3)
        verifier = TokenVerifier(source, RULES)
        assert (await verifier.verify(old.mint("viewer"))).roles == {"viewer"}
        published["keys"] = old.jwks()["keys"] + new.jwks()["keys"]
        await asyncio.sleep(0.35)
        assert (await verifier.verify(new.mint("planner"))).roles == {"planner"}
        assert len(fetches) == 2
        for _ in range(5):
            with pytest.raises(Unauthenticated, match="unknown key"):
                await verifier.verify(TestTokens().mint("admin"))
        assert len(fetches) <= 3


async def test_unreachable_keys_mean_503_not_acceptance() -> None:
    source = JwksKeySource(url=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json")
    with pytest.raises(AuthUnavailable):
        await TokenVerifier(source, RULES).verify(TestTokens().mint("admin"))
