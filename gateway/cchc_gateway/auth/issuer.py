"""Tokens for accounts: the OAuth2 ``password`` and ``client_credentials`` grants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cchc_gateway.auth.keys import KeyStore
from cchc_gateway.auth.passwords import verify_secret
from cchc_gateway.store import repository
from cchc_shared.auth import sign_token, token_claims
from cchc_shared.errors import Problem, ProblemError

USER = "user"
CLIENT = "client"


class OAuthProblem(Problem):
    error: str
    """RFC 6749 §5.2 error code, beside the problem fields, for OAuth2 client libraries."""


class OAuthError(ProblemError):
    def __init__(self, status: int, error: str, detail: str, *, basic: bool = False) -> None:
        headers = {"Cache-Control": "no-store"}
        if basic:
            headers["WWW-Authenticate"] = 'Basic realm="cchc"'
        super().__init__(status, "Token request refused", detail, headers=headers)
        self.problem = OAuthProblem(
            title="Token request refused", status=status, detail=detail, error=error
        )


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    subject: str


class TokenIssuer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        keys: KeyStore,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    async def password_grant(self, username: str, password: str) -> IssuedToken:
        account = await self._authenticate(USER, username, password)
        if account is None:
            raise OAuthError(400, "invalid_grant", "Wrong user name or password.")
        return await self._issue(account.name, account.roles, account.org_unit_scope, None)

    async def client_credentials(self, client_id: str, secret: str, *, basic: bool) -> IssuedToken:
        account = await self._authenticate(CLIENT, client_id, secret)
        if account is None:
            raise OAuthError(401, "invalid_client", "Unknown client or wrong secret.", basic=basic)
        return await self._issue(
            f"client:{account.name}", account.roles, account.org_unit_scope, account.name
        )

    async def _authenticate(self, kind: str, name: str, secret: str) -> _Verified | None:
        account = None
        if "\x00" not in name:  # PostgreSQL text cannot hold NUL: no such account
            async with self._sessionmaker() as session:
                account = await repository.get_account(session, kind, name)
        ok = await verify_secret(account.secret_hash if account else None, secret)
        if account is None or not ok or account.disabled:
            return None
        return _Verified(account.name, list(account.roles), account.org_unit_scope)

    async def _issue(
        self, subject: str, roles: list[str], scope: str | None, client_id: str | None
    ) -> IssuedToken:
        signer = await self._keys.signer()
        claims = token_claims(
            subject=subject,
            roles=roles,
            issuer=self._issuer,
            audience=self._audience,
            ttl_seconds=self._ttl,
            org_unit_scope=scope,
            client_id=client_id,
        )
        token = sign_token(claims, signer.private_key, kid=signer.kid, algorithm=signer.algorithm)
        return IssuedToken(token, self._ttl, subject)


@dataclass(frozen=True)
class _Verified:
    name: str
    roles: list[str]
    org_unit_scope: str | None
