"""The keys that sign tokens: kept in the gateway's schema (every replica signs with the same key),
encrypted at rest, rotated on a schedule, published at ``/.well-known/jwks.json``.

A key is published from its creation, but signs only from ``activates_at``, a while later: every
replica and every service's cache learns it before the first token it signs arrives. After it
retires it stays published until the last token it signed has expired.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import OKPAlgorithm
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_gateway.store import repository
from cchc_gateway.store.models import SigningKey
from cchc_shared.auth import KeySource
from cchc_shared.db import transaction

_log = structlog.get_logger(__name__)
ALGORITHM = "EdDSA"
PUBLISH_AHEAD = timedelta(minutes=10)
"""How long a new key is published before it signs: longer than any replica's refresh."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Signer:
    kid: str
    private_key: Ed25519PrivateKey
    retires_at: datetime
    algorithm: str = ALGORITHM


class KeyCipher:
    """AES-256-GCM over the private keys, keyed from the operator's secret; the kid is bound in
    as associated data so a ciphertext cannot be moved to another row."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("CCHC_AUTH_KEY_SECRET must be set (at least 16 characters)")
        self._aead = AESGCM(hashlib.sha256(b"cchc-signing-keys\x00" + secret.encode()).digest())

    def seal(self, kid: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def open(self, kid: str, sealed: bytes) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], kid.encode())


class KeyStore(KeySource):
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cipher: KeyCipher,
        *,
        token_ttl: timedelta,
        rotation: timedelta,
        clock: Callable[[], datetime] = _utcnow,
        min_refresh_seconds: float = 5.0,
    ) -> None:
        if rotation <= PUBLISH_AHEAD:
            raise ValueError("keys must sign for longer than they are published ahead")
        self._sessionmaker = sessionmaker
        self._cipher = cipher
        self._token_ttl = token_ttl
        self._rotation = rotation
        self._clock = clock
        self._min_refresh = min_refresh_seconds
        self._public: dict[str, jwt.PyJWK] = {}
        self._jwks: dict[str, Any] = {"keys": []}
        self._signer: Signer | None = None
        self._refreshed_at = float("-inf")
        self._lock = asyncio.Lock()

    # KeySource: the gateway verifies its own tokens against the same published set.
    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None and kid not in self._public and self._may_refresh():
            await self.refresh()
        return self._public.get(kid) if kid is not None else None

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    async def signer(self) -> Signer:
        signer = self._signer
        if signer is None or signer.retires_at <= self._clock():
            await self.refresh()
            signer = self._signer
        assert signer is not None
        return signer

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._refreshed_at > self._min_refresh

    async def refresh(self) -> None:
        """Load the published keys, creating the signing key or its successor when due."""
        async with self._lock:
            now = self._clock()
            async with transaction(self._sessionmaker) as session:
                await repository.lock_key_rotation(session)
                await repository.delete_expired_keys(session, now)
                keys = list(await repository.published_keys(session, now))
                keys += self._create_due_keys(session, keys, now)
            self._load(keys, now)
            self._refreshed_at = time.monotonic()

    def _create_due_keys(
        self, session: AsyncSession, keys: list[SigningKey], now: datetime
    ) -> list[SigningKey]:
        current = _signing_key(keys, now)
        if current is None:
            # Nothing signs now (first start, or a gateway that was off for a whole period):
            # no token can exist that needs the new key published ahead, so it signs at once.
            created = self._new_key(activates_at=now)
        elif current.retires_at - now <= PUBLISH_AHEAD and not _successor_exists(keys, current):
            created = self._new_key(activates_at=current.retires_at)
        else:
            return []
        repository.add_key(session, created)
        _log.info(
            "signing key created", kid=created.kid, activates_at=created.activates_at.isoformat()
        )
        return [created]

    def _new_key(self, *, activates_at: datetime) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        kid = f"{activates_at:%Y%m%d}-{secrets.token_hex(6)}"
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        jwk.update(kid=kid, alg=ALGORITHM, use="sig")
        pkcs8 = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        retires_at = activates_at + self._rotation
        return SigningKey(
            kid=kid,
            algorithm=ALGORITHM,
            private_key=self._cipher.seal(kid, pkcs8),
            public_jwk=jwk,
            created_at=self._clock(),
            activates_at=activates_at,
            retires_at=retires_at,
            # the last token it signs lives token_ttl; a minute more covers clock skew
            expires_at=retires_at + self._token_ttl + timedelta(minutes=1),
        )

    def _load(self, keys: list[SigningKey], now: datetime) -> None:
        self._public = {k.kid: jwt.PyJWK(k.public_jwk) for k in keys}
        self._jwks = {"keys": [k.public_jwk for k in keys]}
        current = _signing_key(keys, now)
        if current is None:
            self._signer = None
            return
        private = serialization.load_der_private_key(
            self._cipher.open(current.kid, current.private_key), password=None
        )
        assert isinstance(private, Ed25519PrivateKey)
        self._signer = Signer(current.kid, private, current.retires_at)

    async def run_refresh(self, every_seconds: float = 60.0) -> None:
        """Background task: keep this replica's view of the keys (and the rotation) current."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self.refresh()
            except Exception as exc:  # keep serving with the keys we hold; retry next round
                _log.warning("signing keys refresh failed", error=repr(exc))


def _signing_key(keys: list[SigningKey], now: datetime) -> SigningKey | None:
    active = [k for k in keys if k.activates_at <= now < k.retires_at]
    return max(active, key=lambda k: k.activates_at, default=None)


def _successor_exists(keys: list[SigningKey], current: SigningKey) -> bool:
    return any(k.activates_at >= current.retires_at for k in keys if k.kid != current.kid)
