"""Who is calling: bearer tokens (``Authorization: Bearer kt_…``) and the role acted in.

Tokens are random, shown once, and stored only as a hash (``application.accounts``). An account
holding several roles picks one per request with the ``X-Role`` header. The principal is kept on
``request.state`` so the access log can name the user and role (never the token).

The role policy itself is enforced by the application's use cases; the few checks here cover
reads that do not go through a use case (lists, the agenda, account administration).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from application.accounts import (
    Principal,
    RoleChoiceNeeded,
    RoleNotAvailable,
    Unauthenticated,
)
from application.errors import PermissionDenied
from domain.shared import ROLE_LABELS, Role
from infrastructure.bootstrap import Services

__all__ = [
    "Caller",
    "Identified",
    "ServicesDep",
    "authenticated",
    "get_services",
    "require_admin",
    "require_not_submitter",
]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="kt_<tài khoản>_<mã số>_<bí mật>",
    description="Mã truy cập do quản trị cấp (hiển thị một lần). Gửi: Authorization: Bearer kt_…",
)

ROLE_HEADER_DESCRIPTION = (
    "Vai trò của yêu cầu khi tài khoản có nhiều vai trò: submitter, appraiser, "
    "council_secretary, council_member, chairman, auditor, admin."
)
MISSING_TOKEN = "Cần mã truy cập: gửi tiêu đề Authorization: Bearer kt_… (do quản trị cấp)."  # noqa: S105


async def get_services(request: Request) -> Services:
    # async: no I/O here, so FastAPI need not hop to a worker thread for it
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RoleHeader = Annotated[str | None, Header(alias="X-Role", description=ROLE_HEADER_DESCRIPTION)]


def _remember(request: Request, principal: Principal, acting: Role | None) -> None:
    request.state.principal = principal
    request.state.user_id = principal.account.name
    request.state.role = acting.value if acting is not None else None


async def authenticated(
    request: Request,
    services: ServicesDep,
    credentials: Credentials,
    x_role: RoleHeader = None,
) -> Principal:
    """The account behind the bearer token, acting in its only role or the one in X-Role.

    async: a token verified within ``KHENTHUONG_AUTH_CACHE_SECONDS`` is answered from memory on
    the event loop; only a token not in that cache is checked against the store, in a worker
    thread. A hop to the thread pool and back costs more than the cached check itself."""
    if credentials is None:
        raise Unauthenticated(MISSING_TOKEN)
    token, role = credentials.credentials, x_role or None
    accounts = services.accounts
    principal = accounts.authenticate_cached(token, role)
    if principal is None:
        principal = await run_in_threadpool(accounts.authenticate, token, role)
    _remember(request, principal, principal.actor.role)
    return principal


Caller = Annotated[Principal, Depends(authenticated)]


def identified(
    request: Request,
    services: ServicesDep,
    credentials: Credentials,
    x_role: RoleHeader = None,
) -> tuple[Principal, Role | None]:
    """Like ``authenticated``, but an account with several roles need not choose one (for /me)."""
    if credentials is None:
        raise Unauthenticated(MISSING_TOKEN)
    token = credentials.credentials
    try:
        principal = services.accounts.authenticate(token, x_role or None)
    except RoleChoiceNeeded:
        for role in Role:
            try:
                principal = services.accounts.authenticate(token, role.value)
            except RoleNotAvailable:
                continue
            _remember(request, principal, None)
            return principal, None
        raise
    _remember(request, principal, principal.actor.role)
    return principal, principal.actor.role


Identified = Annotated[tuple[Principal, Role | None], Depends(identified)]


def require_admin(caller: Principal, action: str) -> None:
    if caller.actor.role is not Role.ADMIN:
        raise PermissionDenied(action, ROLE_LABELS[caller.actor.role])


def require_not_submitter(caller: Principal, action: str) -> None:
    if caller.actor.role is Role.SUBMITTER:
        raise PermissionDenied(action, ROLE_LABELS[caller.actor.role])
