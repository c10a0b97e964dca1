"""Secrets hashed with argon2id; verification runs in a thread (it is meant to be slow)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): about 0.15 s a guess here,
# and a login burst does not exhaust a small gateway's memory. The parameters live in each hash,
# so raising them later re-hashes nothing and still verifies old hashes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the account does not exist, so a wrong name costs as long as a wrong
# password and timing tells nothing about which names exist.
_DUMMY_HASH = _hasher.hash("no such account")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


async def hash_secret_async(secret: str) -> str:
    return await asyncio.to_thread(_hasher.hash, secret)


async def verify_secret(secret_hash: str | None, secret: str) -> bool:
    return await asyncio.to_thread(
        _verify, secret_hash or _DUMMY_HASH, secret, secret_hash is not None
    )


def _verify(secret_hash: str, secret: str, real: bool) -> bool:
    try:
        _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False
    return real
