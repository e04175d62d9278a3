"""Accounts (tài khoản) and the current user: admin only, except that a user may issue and
revoke their own tokens. A token is shown once, in the answer that creates it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from api.models import (
    AccountName,
    AccountOut,
    AccountPage,
    CreateUser,
    DisableUser,
    GrantRole,
    MeOut,
    NewAccountOut,
    StaffRole,
    TokenId,
    TokenOut,
)
from api.routes.common import (
    COMMAND_PROBLEMS,
    READ_PROBLEMS,
    Limit,
    Offset,
    api_router,
    page,
    problems,
)
from api.security import Caller, Identified, ServicesDep, require_admin
from application.accounts import AccountView
from domain.shared import Role

router = api_router("/api/v1/users", "Tài khoản (users)")
me_router = api_router("/api/v1", "Tài khoản (users)")

UserName = Annotated[AccountName, Path(description="Tên đăng nhập của tài khoản")]


def account_out(view: AccountView) -> AccountOut:
    return AccountOut(
        id=view.id,
        name=view.name,
        display_name=view.display_name,
        unit=view.unit,
        roles=[role.value for role in view.roles],
        token_ids=list(view.token_ids),
        disabled=view.disabled,
        version=view.version,
    )


@me_router.get("/me", response_model=MeOut, responses=problems(401, 403, 422))
def me(identified: Identified, services: ServicesDep) -> MeOut:
    """The calling account: name, display name, unit, roles, the role acted in, token ids.

    An account with several roles may call it without X-Role (acting_role is then null)."""
    principal, acting = identified
    # Read afresh: authentication may have used a few-seconds-old copy of the account.
    account = services.accounts.get_account(principal.account.name)
    return MeOut(
        name=account.name,
        display_name=account.display_name,
        unit=account.unit,
        roles=[role.value for role in account.roles],
        acting_role=acting.value if acting is not None else None,
        token_ids=list(account.token_ids),
    )


@router.get("", response_model=AccountPage, responses=problems(*READ_PROBLEMS))
def list_users(
    caller: Caller, services: ServicesDep, limit: Limit = 20, offset: Offset = 0
) -> AccountPage:
    """Every account, by name (admin)."""
    require_admin(caller, "xem danh sách tài khoản")
    items, total = page(services.accounts.list_accounts(), limit, offset)
    return AccountPage(
        items=[account_out(item) for item in items], total=total, limit=limit, offset=offset
    )


@router.post(
    "", status_code=201, response_model=NewAccountOut, responses=problems(*COMMAND_PROBLEMS)
)
def create_user(
    body: CreateUser, caller: Caller, services: ServicesDep, response: Response
) -> NewAccountOut:
    """Tạo tài khoản (admin) with its roles and a first token, shown once."""
    view, issued = services.accounts.create_account(
        name=body.name,
        display_name=body.display_name,
        roles=[Role(role) for role in body.roles],
        unit=body.unit,
        by=caller.actor,
    )
    response.headers["Location"] = f"/api/v1/users/{view.name}"
    token = TokenOut(token_id=issued.token_id, token=issued.token) if issued else None
    return NewAccountOut(account=account_out(view), token=token)


@router.get("/{name}", response_model=AccountOut, responses=problems(*READ_PROBLEMS))
def get_user(name: UserName, caller: Caller, services: ServicesDep) -> AccountOut:
    """One account (admin)."""
    require_admin(caller, "xem tài khoản")
    return account_out(services.accounts.get_account(name))


@router.post("/{name}/roles", response_model=AccountOut, responses=problems(*COMMAND_PROBLEMS))
def grant_role(
    name: UserName, body: GrantRole, caller: Caller, services: ServicesDep
) -> AccountOut:
    """Cấp vai trò (admin); a submitter role needs the account's unit."""
    return account_out(services.accounts.grant_role(name, Role(body.role), by=caller.actor))


@router.delete(
    "/{name}/roles/{role}", response_model=AccountOut, responses=problems(*COMMAND_PROBLEMS)
)
def revoke_role(
    name: UserName,
    role: Annotated[StaffRole, Path(description="Vai trò thu hồi")],
    caller: Caller,
    services: ServicesDep,
) -> AccountOut:
    """Thu hồi vai trò (admin)."""
    return account_out(services.accounts.revoke_role(name, Role(role), by=caller.actor))


@router.post(
    "/{name}/tokens",
    status_code=201,
    response_model=TokenOut,
    responses=problems(*COMMAND_PROBLEMS),
)
def issue_token(name: UserName, caller: Caller, services: ServicesDep) -> TokenOut:
    """Cấp mã truy cập (admin, or the account itself); shown once, only its hash is kept."""
    issued = services.accounts.issue_token(name, by=caller.actor)
    return TokenOut(token_id=issued.token_id, token=issued.token)


@router.delete(
    "/{name}/tokens/{token_id}",
    response_model=AccountOut,
    responses=problems(*COMMAND_PROBLEMS),
)
def revoke_token(
    name: UserName,
    token_id: Annotated[TokenId, Path(description="Mã số của mã truy cập (token_ids)")],
    caller: Caller,
    services: ServicesDep,
) -> AccountOut:
    """Thu hồi mã truy cập (admin, or the account itself): it stops working at once."""
    return account_out(services.accounts.revoke_token(name, token_id, by=caller.actor))


@router.post("/{name}/disable", response_model=AccountOut, responses=problems(*COMMAND_PROBLEMS))
def disable_user(
    name: UserName, body: DisableUser, caller: Caller, services: ServicesDep
) -> AccountOut:
    """Khóa tài khoản (admin): its tokens stop working; its history stays."""
    return account_out(services.accounts.disable(name, reason=body.reason, by=caller.actor))
