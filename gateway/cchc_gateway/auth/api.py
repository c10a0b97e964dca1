"""The gateway's own endpoints: the token endpoint, the public keys, who am I, accounts, audit."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from cchc_gateway.auth.issuer import (
    CLIENT,
    USER,
    IssuedToken,
    OAuthError,
    OAuthProblem,
    TokenIssuer,
)
from cchc_gateway.auth.keys import KeyStore
from cchc_gateway.auth.passwords import hash_secret_async
from cchc_gateway.store import repository
from cchc_gateway.store.models import Account, AuditEntry
from cchc_shared.auth import AUTH_RESPONSES, CurrentPrincipal, Forbidden, Principal, Role
from cchc_shared.db import DbSession
from cchc_shared.errors import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_RESPONSES,
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from cchc_shared.responses import FastJSONResponse
from cchc_shared.types import utc_instant

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
SafeText = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@:-]+$")]
NamePath = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@:-]+$")]
Secret = Annotated[str, Field(min_length=12, max_length=200, pattern=r"^[^\x00]*$")]


class TokenResponse(BaseModel):
    access_token: str = Field(description="A signed JWT to send as `Authorization: Bearer …`.")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme's name
    expires_in: int = Field(description="Seconds the token is valid. Thời hạn (giây).")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": "eyJhbGciOiJFZERTQSIs…", "token_type": "Bearer", "expires_in": 900}
            ]
        }
    )


class Me(BaseModel):
    subject: str
    roles: list[str]
    org_unit_scope: str | None = Field(description="The org unit subtree you are limited to.")
    client_id: str | None


class AccountOut(BaseModel):
    kind: Literal["user", "client"]
    name: str
    roles: list[str]
    org_unit_scope: str | None
    display_name: str | None
    disabled: bool
    created_at: datetime


class AccountCreated(AccountOut):
    secret: str | None = Field(
        None, description="The generated secret, shown this once (null if you gave one)."
    )


class AccountIn(BaseModel):
    """A person (`user`, signs in with a password) or a system (`client`, client credentials)."""

    kind: Literal["user", "client"]
    name: Name
    roles: list[Role] = Field(min_length=1, max_length=5)
    org_unit_scope: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Limit the account to this org unit subtree.",
    )
    display_name: Annotated[SafeText, Field(max_length=200)] | None = None
    secret: Secret | None = Field(None, description="Omit to have a random one generated.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "user",
                    "name": "nv.an",
                    "roles": ["agency_officer"],
                    "org_unit_scope": "62",
                    "display_name": "Nguyễn Văn An",
                },
                {"kind": "client", "name": "lgsp-kontum", "roles": ["integration"]},
            ]
        }
    )


class AccountPatch(BaseModel):
    roles: list[Role] | None = Field(None, min_length=1, max_length=5)
    org_unit_scope: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, pattern=r"^[^\x00-\x1f\x7f]*$", description="null: no longer limited to a subtree."
    )
    display_name: Annotated[SafeText, Field(max_length=200)] | None = None
    disabled: StrictBool | None = None
    secret: Secret | None = Field(None, description="A new password or client secret.")


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    subject: str | None
    client_id: str | None
    roles: list[str]
    org_unit_scope: str | None
    method: str
    path: str
    query: str | None
    status: int
    remote_addr: str | None
    user_agent: str | None
    request_id: str | None
    duration_ms: float


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": OAuthProblem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": desc}
    for status, desc in (
        (400, "Wrong user name or password (`invalid_grant`), or malformed (`invalid_request`)"),
        (401, "Unknown client or wrong client secret (`invalid_client`)"),
    )
}


def token_router(issuer: TokenIssuer) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post(
        "/api/v1/auth/token",
        response_model=TokenResponse,
        responses={**OAUTH_ERRORS, 422: PROBLEM_RESPONSES[422]},
        summary="Get a token (OAuth2) · Lấy mã truy cập",
    )
    async def token(
        request: Request,
        grant_type: Annotated[Literal["password", "client_credentials"], Form()],
        username: Annotated[str | None, Form(max_length=200)] = None,
        password: Annotated[str | None, Form(max_length=1024)] = None,
        client_id: Annotated[str | None, Form(max_length=200)] = None,
        client_secret: Annotated[str | None, Form(max_length=1024)] = None,
        scope: Annotated[str | None, Form(max_length=1000)] = None,
    ) -> FastJSONResponse:
        """`password` for people (`username`, `password`); `client_credentials` for systems
        (`client_id` and `client_secret`, in the form or as HTTP Basic). Answers a signed JWT.

        Người dùng: `password`; hệ thống (IOC, LGSP): `client_credentials`."""
        if grant_type == "password":
            request.state.audit_subject = username
            issued = await issuer.password_grant(
                _required(username, "username"), _required(password, "password")
            )
        else:
            basic = _basic_credentials(request)
            if basic is not None and (client_id or client_secret):
                raise OAuthError(400, "invalid_request", "Give the client's credentials once.")
            cid, secret = basic or (
                _required(client_id, "client_id"),
                _required(client_secret, "client_secret"),
            )
            request.state.audit_subject = f"client:{cid}"
            issued = await issuer.client_credentials(cid, secret, basic=basic is not None)
        return _token_response(issued)

    return router


def _token_response(issued: IssuedToken) -> FastJSONResponse:
    body = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)
    return FastJSONResponse(body.model_dump(), headers=NO_STORE)


def _required(value: str | None, name: str) -> str:
    if not value:
        problem = OAuthError(400, "invalid_request", f"`{name}` is required for this grant.")
        problem.problem.errors = [FieldError(field=f"body.{name}", message="Field required")]
        raise problem
    return value


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        client_id, _, secret = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(
            401, "invalid_client", "Malformed HTTP Basic credentials.", basic=True
        ) from exc
    if not client_id or not secret:
        raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials.", basic=True)
    return unquote(client_id), unquote(secret)


def keys_router(keys: KeyStore) -> APIRouter:
    router = APIRouter()

    @router.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks() -> FastJSONResponse:
        return FastJSONResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})

    return router


async def unscoped_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin or principal.org_unit_scope is not None:
        raise Forbidden("Only an administrator with no org-unit limit manages accounts and audit.")
    return principal


Admin = Annotated[Principal, Depends(unscoped_admin)]


def accounts_router() -> APIRouter:
    router = APIRouter(tags=["auth"], responses={**AUTH_RESPONSES, **PROBLEM_RESPONSES})

    @router.get("/api/v1/auth/me", summary="Who am I · Tài khoản hiện tại")
    async def me(principal: CurrentPrincipal) -> Me:
        """The roles and org-unit scope of the token you sent."""
        return Me(
            subject=principal.subject,
            roles=sorted(principal.roles),
            org_unit_scope=principal.org_unit_scope,
            client_id=principal.client_id,
        )

    @router.get("/api/v1/auth/accounts", summary="List accounts · Danh sách tài khoản")
    async def list_accounts(
        _: Admin,
        session: DbSession,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> AccountPage:
        after = _account_cursor(cursor)
        rows = await repository.list_accounts(session, limit=limit + 1, after=after)
        page, more = rows[:limit], len(rows) > limit
        next_cursor = repository.encode_cursor(page[-1].kind, page[-1].name) if more else None
        return AccountPage(items=[_account_out(a) for a in page], next_cursor=next_cursor)

    @router.post(
        "/api/v1/auth/accounts", status_code=201, summary="Create an account · Tạo tài khoản"
    )
    async def create_account(body: AccountIn, _: Admin, session: DbSession) -> AccountCreated:
        """Create a person or a system. Without `secret`, a random one is generated and answered
        this once: store it, it cannot be read again."""
        generated = None if body.secret else secrets.token_urlsafe(24)
        values = {
            "kind": body.kind,
            "name": body.name,
            "secret_hash": await hash_secret_async(body.secret or generated or ""),
            "roles": sorted({r.value for r in body.roles}),
            "org_unit_scope": body.org_unit_scope,
            "display_name": body.display_name,
            "disabled": False,
        }
        if not await repository.insert_account_if_absent(session, values):
            raise Conflict(f"A {body.kind} named {body.name} exists.")
        account = await repository.get_account(session, body.kind, body.name)
        assert account is not None
        return AccountCreated(**_account_out(account).model_dump(), secret=generated)

    @router.patch(
        "/api/v1/auth/accounts/{kind}/{name}", summary="Change an account · Sửa tài khoản"
    )
    async def patch_account(
        kind: Literal["user", "client"],
        name: NamePath,
        body: AccountPatch,
        _: Admin,
        session: DbSession,
    ) -> AccountOut:
        """Change roles, scope or name, disable (`"disabled": true`) or set a new secret.
        A disabled account gets no new token; tokens it holds expire within their lifetime."""
        account = await repository.get_account(session, kind, name)
        if account is None:
            raise NotFound(kind, name)
        await _apply_patch(account, body)
        await session.flush()
        await session.refresh(account)
        return _account_out(account)

    @router.get("/api/v1/auth/audit", summary="Audit log of writes · Nhật ký ghi")
    async def audit(
        _: Admin,
        session: DbSession,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=100)] = None,
        subject: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
        since: Annotated[
            datetime | None, BeforeValidator(_iso_only), AfterValidator(_in_utc)
        ] = None,
    ) -> AuditPage:
        """Every write that went through the gateway, newest first: who, what, when, from where."""
        before_id = _audit_cursor(cursor)
        rows = await repository.list_audit(
            session, limit=limit + 1, before_id=before_id, subject=subject, since=since
        )
        page, more = rows[:limit], len(rows) > limit
        next_cursor = repository.encode_cursor(page[-1].id) if more else None
        return AuditPage(items=[_audit_out(e) for e in page], next_cursor=next_cursor)

    return router


def _iso_only(value: object) -> object:
    """An instant as ISO 8601 text, not a bare number pydantic would read as a Unix time."""
    if isinstance(value, str) and value.lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date-time, e.g. 2024-06-30T00:00:00+07:00")
    return value


def _in_utc(value: datetime | None) -> datetime | None:
    """The instant in UTC (a time without an offset is read as UTC), which it must be possible
    to state: `0001-01-01T00:00:00+01:00` is in year 0 in UTC, which neither Python nor the
    database driver can hold (it was a 500), so it is refused here."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return utc_instant(value)


async def _apply_patch(account: Account, body: AccountPatch) -> None:
    given = body.model_fields_set
    if "roles" in given and body.roles is not None:
        account.roles = sorted({r.value for r in body.roles})
    if "org_unit_scope" in given:
        account.org_unit_scope = body.org_unit_scope
    if "display_name" in given:
        account.display_name = body.display_name
    if "disabled" in given and body.disabled is not None:
        account.disabled = body.disabled
    if "secret" in given and body.secret is not None:
        account.secret_hash = await hash_secret_async(body.secret)


def _account_cursor(cursor: str | None) -> tuple[str, str] | None:
    if cursor is None:
        return None
    parts = repository.decode_cursor(cursor, 2)
    if parts is None:
        raise _bad_cursor()
    return parts[0], parts[1]


def _audit_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    parts = repository.decode_cursor(cursor, 1)
    if parts is None or not parts[0].isdigit() or len(parts[0]) > 18:
        raise _bad_cursor()
    return int(parts[0])


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        [FieldError(field="query.cursor", message="Not a cursor of this list.")]
    )


def _account_out(account: Account) -> AccountOut:
    return AccountOut(
        kind="user" if account.kind == USER else "client",
        name=account.name,
        roles=list(account.roles),
        org_unit_scope=account.org_unit_scope,
        display_name=account.display_name,
        disabled=account.disabled,
        created_at=account.created_at,
    )


def _audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut.model_validate(entry, from_attributes=True)


__all__ = ["CLIENT", "USER", "accounts_router", "keys_router", "token_router"]
