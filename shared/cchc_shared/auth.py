"""Who is calling, and may they: bearer tokens verified on every service, roles, org-unit scope.

Every service verifies the token itself (a service reached directly trusts no one): the gateway
publishes its public keys at ``/.well-known/jwks.json`` (or an OpenID Connect provider does) and
:class:`JwksKeySource` fetches them, caches them, and fetches again when a token names a key it
does not know yet (a rotation). Verified tokens are cached until they expire: verifying an EdDSA
signature costs a few hundred microseconds here, a dictionary lookup does not.

In an endpoint::

    @router.post("/api/v1/targets/{target_id}/reports")
    async def report(principal: Annotated[Principal, Depends(require_roles(Role.PLANNER))]):
        ...
        await ensure_in_scope(principal, body.org_unit_id, tree.is_descendant,
                              field="body.org_unit_id")

Org-unit scope: a principal limited to an org unit sees and writes only that subtree. A read
that names an org unit resolves it with :func:`scoped_org_unit` (403 naming the parameter outside
the subtree; the principal's own unit when none is named); a write about an org unit checks it
with :func:`ensure_in_scope`; a province-wide document is written only by an unlimited principal
(:func:`require_unscoped_roles`). Each service answers ``is_descendant`` from its own tree.

``create_service_app`` puts :func:`default_access` on every router of a service, so a route that
says nothing still needs a token: any role to read, a writing role to write.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import httpx
import jwt
import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cchc_shared.errors import PROBLEM_MEDIA_TYPE, FieldError, Problem, ProblemError
from cchc_shared.settings import ServiceSettings

_log = structlog.get_logger(__name__)


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"  # Sở Nội vụ: writes plans, targets, tasks
    AGENCY_OFFICER = "agency_officer"  # reports progress and figures for its own org unit
    VIEWER = "viewer"  # reads, e.g. the IOC dashboard
    INTEGRATION = "integration"  # an LGSP client: reads, and may push dossier changes


READ_ROLES: frozenset[str] = frozenset(Role)
WRITE_ROLES: frozenset[str] = frozenset(
    {Role.ADMIN, Role.PLANNER, Role.AGENCY_OFFICER, Role.INTEGRATION}
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Asymmetric only: an HMAC algorithm would let a public key be used as a shared secret.
ALLOWED_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES384", "RS256", "PS256"})
MAX_TOKEN_LENGTH = 8192
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a person (password grant) or a system (client credentials)."""

    subject: str
    roles: frozenset[str]
    org_unit_scope: str | None = None
    """Set: the principal sees and writes only this org unit and its subtree."""
    client_id: str | None = None
    expires_at: float = field(default=float("inf"), compare=False)

    def has_any_role(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


DEVELOPER = Principal(subject="developer", roles=frozenset({Role.ADMIN}))
"""Who a request is when ``CCHC_AUTH_REQUIRED=false`` and it carries no token (a developer's
machine only)."""


class Unauthenticated(ProblemError):
    """401: no token, or one we cannot trust (RFC 6750 says how to tell the client)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            401,
            "Unauthorized",
            detail,
            headers={
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'
            },
        )


class Forbidden(ProblemError):
    """403; ``field`` names the parameter that asked for too much (``query.org_unit``)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        errors = [FieldError(field=field, message=detail)] if field else None
        super().__init__(403, "Forbidden", detail, errors=errors)


class AuthUnavailable(ProblemError):
    """503: the keys cannot be fetched, so no token can be checked (never a silent accept)."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, "Service Unavailable", detail, headers={"Retry-After": "5"})


# --- keys -------------------------------------------------------------------------------------


class KeySource:
    """Answers the public key a token's ``kid`` names, or None."""

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        raise NotImplementedError


def parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWK set, by kid; keys of unknown types are skipped."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []):
        if entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALLOWED_ALGORITHMS:
            keys[entry["kid"]] = key
    return keys


class JwksKeySource(KeySource):
    """Keys from a JWK set: a URL fetched and cached, or a fixed document.

    An unknown kid triggers a fetch, at most once per ``min_refresh_seconds`` so a stream of
    forged kids cannot turn us into a load generator against the key server.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        document: Mapping[str, Any] | None = None,
        ttl_seconds: float = 300.0,
        min_refresh_seconds: float = 5.0,
    ) -> None:
        if (url is None) == (document is None):
            raise ValueError("give exactly one of url and document")
        self._url = url
        self._keys = parse_jwks(document) if document is not None else {}
        self._fetched_at = time.monotonic() if document is not None else float("-inf")
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK | None:
        stale = time.monotonic() - self._fetched_at > self._ttl
        if self._url is not None and (stale or (kid not in self._keys and self._may_refresh())):
            await self._refresh()
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._fetched_at > self._min_refresh

    async def _refresh(self) -> None:
        assert self._url is not None
        async with self._lock:
            if not self._may_refresh():
                return  # another request fetched while we waited
            try:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    resp = await client.get(self._url)
                    resp.raise_for_status()
                    self._keys = parse_jwks(resp.json())
            except (httpx.HTTPError, ValueError) as exc:
                _log.warning("public keys unavailable", url=self._url, error=repr(exc))
                if not self._keys:
                    raise AuthUnavailable("The token signing keys cannot be fetched.") from exc
            finally:
                self._fetched_at = time.monotonic()


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audience: str
    roles_claim: str = "roles"
    org_unit_claim: str = "org_unit"
    leeway: float = 30.0


class TokenVerifier:
    def __init__(self, keys: KeySource, rules: TokenRules) -> None:
        self.keys = keys
        self.rules = rules
        self._verified: dict[str, Principal] = {}

    async def verify(self, token: str) -> Principal:
        """The principal a token names; :class:`Unauthenticated` if it proves nothing."""
        cached = self._verified.get(token)
        if cached is not None and cached.expires_at > time.time():
            return cached
        principal = await self._verify_uncached(token)
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()  # crude bound; a full cache refills at verification speed
        self._verified[token] = principal
        return principal

    def forget_cached(self) -> None:
        """Drop verified tokens (e.g. after a key was withdrawn)."""
        self._verified.clear()

    async def _verify_uncached(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("The token is too long.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is malformed.") from exc
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("The token's signing algorithm is not accepted.")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        if key is None or key.algorithm_name != algorithm:
            raise Unauthenticated("The token is signed with an unknown key.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.rules.audience,
                issuer=self.rules.issuer,
                leeway=self.rules.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("The token is not valid.") from exc
        return principal_from_claims(claims, self.rules)


def principal_from_claims(claims: Mapping[str, Any], rules: TokenRules) -> Principal:
    roles = _claim(claims, rules.roles_claim)
    if isinstance(roles, str):
        roles = roles.split()
    known = frozenset(r for r in roles or () if isinstance(r, str) and r in READ_ROLES)
    scope = _claim(claims, rules.org_unit_claim)
    client_id = claims.get("client_id") or claims.get("azp")
    return Principal(
        subject=str(claims["sub"]),
        roles=known,
        org_unit_scope=str(scope) if scope not in (None, "") else None,
        client_id=str(client_id) if client_id else None,
        expires_at=float(claims["exp"]),
    )


def _claim(claims: Mapping[str, Any], dotted: str) -> Any:
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def sign_token(claims: Mapping[str, Any], private_key: Any, *, kid: str, algorithm: str) -> str:
    """A signed JWT (used by the gateway's token endpoint and by tests)."""
    return jwt.encode(dict(claims), private_key, algorithm=algorithm, headers={"kid": kid})


def token_claims(
    *,
    subject: str,
    roles: Iterable[str],
    issuer: str,
    audience: str,
    ttl_seconds: int,
    org_unit_scope: str | None = None,
    client_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    import uuid

    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "roles": sorted(roles),
    }
    if org_unit_scope is not None:
        claims["org_unit"] = org_unit_scope
    if client_id is not None:
        claims["client_id"] = client_id
    return claims


# --- FastAPI ----------------------------------------------------------------------------------


class Authenticator:
    """What ``app.state.auth`` holds: the verifier and whether a token is required."""

    def __init__(self, verifier: TokenVerifier | None, *, required: bool) -> None:
        self.verifier = verifier
        self.required = required

    async def principal(self, token: str | None) -> Principal:
        if token is None:
            if self.required:
                raise Unauthenticated("A bearer token is required.")
            return DEVELOPER
        if self.verifier is None:
            raise AuthUnavailable("Token verification is not configured.")
        return await self.verifier.verify(token)


def authenticator_from_settings(settings: ServiceSettings) -> Authenticator:
    return Authenticator(verifier_from_settings(settings), required=settings.auth_required)


def verifier_from_settings(
    settings: ServiceSettings, keys: KeySource | None = None
) -> TokenVerifier | None:
    """The verifier the settings describe; None when they name no keys."""
    if keys is None:
        if settings.auth_jwks:
            keys = JwksKeySource(document=json.loads(settings.auth_jwks))
        elif settings.auth_jwks_url:
            keys = JwksKeySource(url=settings.auth_jwks_url)
        else:
            return None
    rules = TokenRules(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        roles_claim=settings.auth_roles_claim,
        org_unit_claim=settings.auth_org_unit_claim,
        leeway=settings.auth_leeway,
    )
    return TokenVerifier(keys, rules)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `POST /api/v1/auth/token` (or the configured OpenID Connect "
    "provider). Mã truy cập lấy từ `POST /api/v1/auth/token`.",
)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller of this request (FastAPI resolves it once per request)."""
    authenticator: Authenticator = request.app.state.auth
    principal = await authenticator.principal(credentials.credentials if credentials else None)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""Inject into an endpoint: the verified caller."""


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting callers holding any of ``roles`` (admin always passes)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(allowed):
            needed = ", ".join(sorted(allowed))
            raise Forbidden(f"This needs one of the roles: {needed}.")
        return principal

    return dependency


def require_unscoped_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """As :func:`require_roles`, for writes of province-wide documents (plans, index
    frameworks): a principal limited to an org unit writes only that subtree, so never these."""
    allowed = require_roles(*roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        await allowed(principal)
        if principal.org_unit_scope is not None:
            raise Forbidden(
                "Province-wide documents are written only by principals not limited to an org "
                f"unit (yours: {principal.org_unit_scope})."
            )
        return principal

    return dependency


async def province_wide_only(principal: CurrentPrincipal) -> Principal:
    """For operations of the whole province's feed (the ingest's): raw dossiers of every agency,
    quarantined payloads, backfills. A principal limited to an org unit sees that unit through
    the indicators, never through these."""
    if principal.org_unit_scope is not None:
        raise Forbidden(
            "These operations cover the whole province: only principals not limited to an org "
            f"unit use them (yours: {principal.org_unit_scope})."
        )
    return principal


def ensure_method_allowed(method: str, principal: Principal) -> None:
    """The floor of every route: any role reads; only writing roles write."""
    reading = method in READ_METHODS
    if not principal.has_any_role(READ_ROLES if reading else WRITE_ROLES):
        raise Forbidden(f"Your roles do not allow you to {'read' if reading else 'write'} here.")


async def default_access(request: Request, principal: CurrentPrincipal) -> Principal:
    """Put on every service router by ``create_service_app``: a token, and the floor."""
    ensure_method_allowed(request.method, principal)
    return principal


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (None for none or another scheme)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


DescendantCheck = Callable[[str, str], bool | Awaitable[bool]]
"""``is_descendant(org_unit_id, ancestor_id)``: True if the first lies in the second's subtree."""


async def in_scope(
    principal: Principal, org_unit_id: object, is_descendant: DescendantCheck
) -> bool:
    """Whether the principal may see or write ``org_unit_id`` (unscoped principals may, always)."""
    scope = principal.org_unit_scope
    if scope is None:
        return True
    target = str(org_unit_id)
    if target == scope:
        return True
    answer = is_descendant(target, scope)
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


async def ensure_in_scope(
    principal: Principal,
    org_unit_id: object,
    is_descendant: DescendantCheck,
    *,
    field: str | None = None,
) -> None:
    """403 unless ``org_unit_id`` lies within the principal's org-unit subtree; ``field`` names
    the parameter that gave it (``query.org_unit``, ``body.org_unit_id``)."""
    if not await in_scope(principal, org_unit_id, is_descendant):
        raise Forbidden(
            f"Org unit {org_unit_id} is outside your scope ({principal.org_unit_scope}).",
            field=field,
        )


async def scoped_org_unit(
    principal: Principal,
    requested: str | None,
    is_descendant: DescendantCheck,
    *,
    field: str,
) -> str | None:
    """The org unit a read is about: the one asked for (403 naming ``field`` when it lies
    outside the principal's subtree) or, when none is asked for, the principal's own scope unit
    (None for an unscoped principal: everything)."""
    if requested is None or not requested.strip():
        return principal.org_unit_scope
    await ensure_in_scope(principal, requested.strip(), is_descendant, field=field)
    return requested.strip()


SCOPE_NOTE = (
    " A principal limited to an org unit gets its own unit when this is omitted, and 403 for a "
    "unit outside its subtree. (Tài khoản giới hạn theo đơn vị: mặc định là đơn vị của mình; "
    "đơn vị ngoài phạm vi bị từ chối.)"
)
"""Appended to the OpenAPI description of an org-unit parameter that :func:`scoped_org_unit`
resolves."""


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for status, desc in (
        (401, "No valid bearer token (Không có mã truy cập hợp lệ)"),
        (403, "Not allowed for your roles or org unit (Không được phép)"),
    )
}
"""Responses every protected route can give, for the OpenAPI document."""
