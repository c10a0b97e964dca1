"""Who may pass the gateway: a valid token, within its client's rate, with a role that may read
or write. The services check again (they trust no caller) and judge the finer rules."""

from __future__ import annotations

from fastapi import Request

from cchc_gateway.edge import TokenBuckets
from cchc_shared.auth import (
    Authenticator,
    Principal,
    Unauthenticated,
    bearer_token,
    ensure_method_allowed,
)


class Gate:
    def __init__(
        self, auth: Authenticator, clients: TokenBuckets, token_requests: TokenBuckets
    ) -> None:
        self.auth = auth
        self.clients = clients
        self.token_requests = token_requests

    async def admit(self, request: Request) -> Principal:
        token = bearer_token(request.headers.get("authorization"))
        try:
            principal = await self.auth.principal(token)
        except Unauthenticated:
            # Failed attempts count against the address: guessing tokens gets slow too.
            self.clients.enforce(f"ip:{client_address(request)}")
            raise
        self.clients.enforce(f"sub:{principal.subject}")
        request.state.principal = principal
        ensure_method_allowed(request.method, principal)
        return principal

    async def admit_dependency(self, request: Request) -> None:
        """The same, as a FastAPI dependency for the gateway's own routes."""
        await self.admit(request)

    async def limit_token_requests(self, request: Request) -> None:
        self.token_requests.enforce(f"ip:{client_address(request)}")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
