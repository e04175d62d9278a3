"""User accounts: who may act in which role, and with which tokens, recorded as events so the
audit covers who could do what and when. Only token hashes are ever recorded."""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidValue
from domain.shared import Actor, Role, local_date, require_text

ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:account")
_DIRECTORY_ID = uuid5(NAMESPACE_URL, "urn:khenthuong:account-directory")
STAFF_ROLES = tuple(role for role in Role if role is not Role.PUBLIC)
MAX_ACTIVE_TOKENS = 20


class DuplicateAccount(DomainError):
    code = "duplicate-account"
    title = "Tài khoản đã tồn tại"

    def __init__(self, name: str) -> None:
        super().__init__(f"Đã có tài khoản «{name}».")


class AccountDisabled(DomainError):
    code = "account-disabled"
    title = "Tài khoản đã bị khóa"

    def __init__(self, name: str) -> None:
        super().__init__(f"Tài khoản «{name}» đã bị khóa; không thể thay đổi thêm.")


class RoleNotHeld(DomainError):
    code = "role-not-held"
    title = "Tài khoản không có vai trò này"

    def __init__(self, name: str, role: str) -> None:
        super().__init__(f"Tài khoản «{name}» không có vai trò «{role}».")


class UnknownToken(DomainError):
    code = "unknown-token"
    title = "Không có mã truy cập này"

    def __init__(self, token_id: str) -> None:
        super().__init__(f"Tài khoản không có mã truy cập đang hiệu lực với mã số «{token_id}».")


def check_account_name(name: str) -> str:
    if not isinstance(name, str) or not ACCOUNT_NAME.match(name):
        raise InvalidValue(
            "tên tài khoản",
            "phải gồm 2–64 ký tự: chữ thường không dấu, chữ số, dấu chấm, gạch ngang, gạch dưới",
        )
    return name


def staff_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = Role.PUBLIC
    if role is Role.PUBLIC:
        allowed = ", ".join(role.value for role in STAFF_ROLES)
        raise InvalidValue("vai trò", f"phải là một trong: {allowed}")
    return role


class UserAccount(Aggregate):
    """A person's account. A submitter acts for the unit the account is bound to."""

    class Created(Aggregate.Created):
        label: ClassVar[str] = "Tạo tài khoản"
        name: str
        display_name: str
        unit: str | None
        by: Actor

    class RoleGranted(Aggregate.Event):
        label: ClassVar[str] = "Cấp vai trò"
        role: Role
        by: Actor

    class RoleRevoked(Aggregate.Event):
        label: ClassVar[str] = "Thu hồi vai trò"
        role: Role
        by: Actor

    class TokenIssued(Aggregate.Event):
        label: ClassVar[str] = "Cấp mã truy cập"
        token_id: str
        token_hash: str
        by: Actor

    class TokenRevoked(Aggregate.Event):
        label: ClassVar[str] = "Thu hồi mã truy cập"
        token_id: str
        by: Actor

    class Disabled(Aggregate.Event):
        label: ClassVar[str] = "Khóa tài khoản"
        reason: str
        by: Actor

    @staticmethod
    def id_for(name: str) -> UUID:
        return uuid5(_NAMESPACE, name)

    @classmethod
    def create(
        cls, *, name: str, display_name: str, unit: str | None, by: Actor, at: datetime
    ) -> UserAccount:
        """An account has a unique login name; its unit is required for a submitter."""
        local_date(at)
        login = check_account_name(name)
        return cls._create(
            cls.Created,
            id=cls.id_for(login),
            timestamp=at,
            name=login,
            display_name=require_text("họ tên", display_name, max_length=200),
            unit=require_text("đơn vị", unit, max_length=300) if unit else None,
            by=by,
        )

    @event(Created)
    def __init__(self, name: str, display_name: str, unit: str | None, by: Actor) -> None:
        self.name = name
        self.display_name = display_name
        self.unit = unit
        self.roles: set[Role] = set()
        self.tokens: dict[str, str] = {}
        self.disabled = False

    def grant_role(self, role: Role, *, by: Actor, at: datetime) -> None:
        """A submitter role needs the account's unit: a submitter always acts for one unit."""
        self._require_enabled(at)
        granted = staff_role(role)
        if granted is Role.SUBMITTER and not self.unit:
            raise InvalidValue("đơn vị", "bắt buộc với vai trò đơn vị trình (submitter)")
        if granted in self.roles:
            return
        self._on_role_granted(role=granted, by=by, timestamp=at)

    @event(RoleGranted)
    def _on_role_granted(self, role: Role, by: Actor, timestamp: datetime) -> None:
        self.roles.add(Role(role))

    def revoke_role(self, role: Role, *, by: Actor, at: datetime) -> None:
        self._require_enabled(at)
        revoked = staff_role(role)
        if revoked not in self.roles:
            raise RoleNotHeld(self.name, revoked.value)
        self._on_role_revoked(role=revoked, by=by, timestamp=at)

    @event(RoleRevoked)
    def _on_role_revoked(self, role: Role, by: Actor, timestamp: datetime) -> None:
        self.roles.discard(Role(role))

    def issue_token(self, token_id: str, token_hash: str, *, by: Actor, at: datetime) -> None:
        """Only the hash of a token is recorded; the token itself is shown once to its owner."""
        self._require_enabled(at)
        if not re.fullmatch(r"[0-9a-f]{64}", token_hash) or not re.fullmatch(
            r"[0-9a-f]{8,32}", token_id
        ):
            raise InvalidValue("mã truy cập", "không đúng định dạng")
        if len(self.tokens) >= MAX_ACTIVE_TOKENS:
            raise InvalidValue(
                "mã truy cập", f"mỗi tài khoản có tối đa {MAX_ACTIVE_TOKENS} mã đang hiệu lực"
            )
        self._on_token_issued(token_id=token_id, token_hash=token_hash, by=by, timestamp=at)

    @event(TokenIssued)
    def _on_token_issued(
        self, token_id: str, token_hash: str, by: Actor, timestamp: datetime
    ) -> None:
        self.tokens[token_id] = token_hash

    def revoke_token(self, token_id: str, *, by: Actor, at: datetime) -> None:
        local_date(at)
        if token_id not in self.tokens:
            raise UnknownToken(token_id[:32])
        self._on_token_revoked(token_id=token_id, by=by, timestamp=at)

    @event(TokenRevoked)
    def _on_token_revoked(self, token_id: str, by: Actor, timestamp: datetime) -> None:
        self.tokens.pop(token_id, None)

    def disable(self, *, reason: str, by: Actor, at: datetime) -> None:
        """A disabled account keeps its history but can no longer act or be changed."""
        self._require_enabled(at)
        self._on_disabled(
            reason=require_text("lý do", reason, max_length=2000), by=by, timestamp=at
        )

    @event(Disabled)
    def _on_disabled(self, reason: str, by: Actor, timestamp: datetime) -> None:
        self.disabled = True
        self.tokens.clear()

    def actor(self, role: Role) -> Actor:
        return Actor(user_id=self.name, role=role, unit=self.unit)

    def _require_enabled(self, at: datetime) -> None:
        local_date(at)
        if self.disabled:
            raise AccountDisabled(self.name)


class AccountDirectory(Aggregate):
    """The list of accounts (one aggregate): written with each new account, read to list them."""

    class Started(Aggregate.Created):
        label: ClassVar[str] = "Lập danh bạ tài khoản"

    class Listed(Aggregate.Event):
        label: ClassVar[str] = "Thêm vào danh bạ tài khoản"
        account_id: UUID
        name: str

    ID: ClassVar[UUID] = _DIRECTORY_ID

    @classmethod
    def start(cls, at: datetime) -> AccountDirectory:
        return cls._create(cls.Started, id=cls.ID, timestamp=at)

    @event(Started)
    def __init__(self) -> None:
        self.accounts: dict[str, UUID] = {}

    def list_account(self, account: UserAccount, at: datetime) -> None:
        if account.name in self.accounts:
            raise DuplicateAccount(account.name)
        self._on_listed(account_id=account.id, name=account.name, timestamp=at)

    @event(Listed)
    def _on_listed(self, account_id: UUID, name: str, timestamp: datetime) -> None:
        self.accounts[name] = account_id
