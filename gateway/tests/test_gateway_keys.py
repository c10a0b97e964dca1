"""Signing keys: created at first start, rotated on schedule with the successor published ahead,
the old key kept for verification until its last token expires, encrypted at rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc_gateway.auth.keys import PUBLISH_AHEAD, KeyCipher, KeyStore
from cchc_gateway.store.models import SigningKey
from cchc_shared.auth import TokenRules, TokenVerifier, Unauthenticated, sign_token, token_claims
from cchc_shared.db import create_sessionmaker

TTL = timedelta(minutes=15)
ROTATION = timedelta(days=30)


class Clock:
    def __init__(self) -> None:
        # Starts at the real time: tokens' expiry is checked against it.
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def clock(empty_gateway_schema: None) -> AsyncIterator[Clock]:
    yield Clock()


def store(engine: AsyncEngine, clock: Clock, secret: str = "s" * 32) -> KeyStore:
    return KeyStore(
        create_sessionmaker(engine),
        KeyCipher(secret),
        token_ttl=TTL,
        rotation=ROTATION,
        clock=clock,
        min_refresh_seconds=0,
    )


async def sign(keys: KeyStore, clock: Clock) -> str:
    """A token issued now (real time: verification checks it against the real clock)."""
    signer = await keys.signer()
    claims = token_claims(
        subject="a",
        roles=["viewer"],
        issuer="cchc",
        audience="cchc-api",
        ttl_seconds=900,
    )
    return sign_token(claims, signer.private_key, kid=signer.kid, algorithm=signer.algorithm)


def kids(keys: KeyStore) -> set[str]:
    return {k["kid"] for k in keys.jwks()["keys"]}


async def test_rotation_publishes_ahead_and_keeps_the_old_key_until_its_tokens_expire(
    engine: AsyncEngine, clock: Clock
) -> None:
    keys = store(engine, clock)
    verifier = TokenVerifier(keys, TokenRules(issuer="cchc", audience="cchc-api"))
    await keys.refresh()
    first = (await keys.signer()).kid
    token = await sign(keys, clock)
    assert kids(keys) == {first}

    clock.now += ROTATION - PUBLISH_AHEAD  # the successor is due: published, not yet signing
    await keys.refresh()
    assert len(kids(keys)) == 2
    assert (await keys.signer()).kid == first

    clock.now += PUBLISH_AHEAD  # the first key retires; the successor signs
    await keys.refresh()
    second = (await keys.signer()).kid
    assert second != first
    assert kids(keys) == {first, second}
    assert (await verifier.verify(token)).subject == "a"  # old tokens still verify

    clock.now += TTL + timedelta(minutes=2)  # every token the first key signed has expired
    await keys.refresh()
    assert kids(keys) == {second}
    verifier.forget_cached()
    with pytest.raises(Unauthenticated, match="unknown key"):
        await verifier.verify(token)


async def test_another_replica_sees_the_same_keys(engine: AsyncEngine, clock: Clock) -> None:
    one, two = store(engine, clock), store(engine, clock)
    await one.refresh()
    await two.refresh()
    assert (await one.signer()).kid == (await two.signer()).kid
    assert one.jwks() == two.jwks()


async def test_a_key_unknown_to_this_replica_is_looked_up(
    engine: AsyncEngine, clock: Clock
) -> None:
    """A token signed by a key another replica just made is fetched, not refused."""
    mine = store(engine, clock)
    await mine.refresh()
    clock.now += ROTATION  # the other replica starts late, finds the key retired, rotates
    other = store(engine, clock)
    await other.refresh()
    token = await sign(other, clock)
    assert jwt.get_unverified_header(token)["kid"] not in kids(mine)
    verifier = TokenVerifier(mine, TokenRules(issuer="cchc", audience="cchc-api"))
    assert (await verifier.verify(token)).roles == {"viewer"}


async def test_private_keys_are_encrypted_at_rest(engine: AsyncEngine, clock: Clock) -> None:
    keys = store(engine, clock)
    await keys.refresh()
    async with engine.connect() as conn:
        row = (await conn.execute(select(SigningKey.kid, SigningKey.private_key))).one()
    signer = await keys.signer()
    from cryptography.hazmat.primitives import serialization

    raw = signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw not in row.private_key
    with pytest.raises(InvalidTag):
        await store(engine, clock, secret="another-secret-entirely").refresh()


def test_a_short_key_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="CCHC_AUTH_KEY_SECRET"):
        KeyCipher("")
