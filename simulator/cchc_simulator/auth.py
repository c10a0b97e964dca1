"""The LGSP's OAuth2 client-credentials flow: client id and secret in HTTP Basic, bearer tokens
that expire. Tokens are random strings held in memory with their death instant."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenStore:
    def __init__(
        self, client_id: str, client_secret: str, ttl_seconds: int, clock: Callable[[], float]
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._ttl = ttl_seconds
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def client_matches(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Basic ...`` header carries our client id and secret."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, colon, secret = decoded.partition(":")
        return bool(colon) and (
            secrets.compare_digest(client_id.encode(), self._client_id.encode())
            & secrets.compare_digest(secret.encode(), self._client_secret.encode())
        )

    def issue(self, lifetime_override: float | None = None) -> IssuedToken:
        """A new token announcing the configured lifetime; it dies after ``lifetime_override``
        seconds instead when that is set (the early-expiry fault)."""
        now = self._clock()
        self._forget_expired(now)
        token = secrets.token_urlsafe(32)
        lifetime = self._ttl if lifetime_override is None else min(self._ttl, lifetime_override)
        self._expiry[token] = now + lifetime
        return IssuedToken(token, self._ttl)

    def is_valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Bearer ...`` header carries a live token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        expiry = self._expiry.get(token.strip())
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> int:
        revoked = len(self._expiry)
        self._expiry.clear()
        return revoked

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[token]
