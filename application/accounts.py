"""Use cases of accounts and the authentication of API tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import ApplicationError, NotFound, PermissionDenied
from application.store import Clock, Receipt, Store, utc_now
from domain.accounts import AccountDirectory, DuplicateAccount, UserAccount, check_account_name
from domain.shared import ROLE_LABELS, Actor, Role

TOKEN_PREFIX = "kt"  # noqa: S105 (a prefix, not a secret)
_TOKEN = re.compile(r"^kt_([0-9a-f]{32})_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
SYSTEM = Actor("khenthuong-cli", Role.ADMIN)
"""The actor of changes made from the command line by whoever runs the server."""


class Unauthenticated(ApplicationError):
    code = "unauthenticated"
    title = "Chưa xác thực"

    def __init__(
        self, problem: str = "Mã truy cập không hợp lệ, đã bị thu hồi hoặc đã hết hiệu lực."
    ) -> None:
        super().__init__(problem)


class RoleNotAvailable(ApplicationError):
    code = "role-not-available"
    title = "Không có vai trò này"

    def __init__(self, name: str, role: str) -> None:
        super().__init__(f"Tài khoản «{name}» không được cấp vai trò «{role}».")


class RoleChoiceNeeded(ApplicationError):
    code = "role-choice-needed"
    title = "Cần chọn vai trò"

    def __init__(self, roles: Sequence[Role]) -> None:
        listing = ", ".join(role.value for role in roles)
        super().__init__(
            f"Tài khoản có nhiều vai trò ({listing}); hãy chọn một bằng tiêu đề X-Role."
        )


@dataclass(frozen=True)
class IssuedToken:
    """A token as shown once to its owner; only its hash is stored."""

    account: str
    token_id: str
    token: str
    receipt: Receipt


@dataclass(frozen=True)
class AccountView:
    id: UUID
    name: str
    display_name: str
    unit: str | None
    roles: tuple[Role, ...]
    token_ids: tuple[str, ...]
    disabled: bool
    version: int


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account and the role it acts in for this request."""

    account: AccountView
    actor: Actor


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _view(account: UserAccount) -> AccountView:
    return AccountView(
        id=account.id,
        name=account.name,
        display_name=account.display_name,
        unit=account.unit,
        roles=tuple(sorted(account.roles)),
        token_ids=tuple(sorted(account.tokens)),
        disabled=account.disabled,
        version=account.version,
    )


class Accounts(Store):
    """Accounts and tokens. Authentication may keep a verified token for a few seconds
    (``auth_cache_seconds``) to spare a database read per request: a token revoked in another
    process keeps working for at most that long; in this process it stops at once."""

    MAX_CACHED_TOKENS = 10_000

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Clock = utc_now,
        share_with: Store | None = None,
        auth_cache_seconds: float = 0,
    ) -> None:
        super().__init__(env, clock=clock, share_with=share_with)
        self._auth_ttl = auth_cache_seconds
        self._auth_cache: dict[str, tuple[float, UserAccount]] = {}
        self._auth_lock = threading.Lock()

    def _forget_tokens(self) -> None:
        with self._auth_lock:
            self._auth_cache.clear()

    # --- administration -------------------------------------------------------------------

    def create_account(
        self,
        *,
        name: str,
        display_name: str,
        roles: Sequence[Role],
        unit: str | None = None,
        by: Actor = SYSTEM,
        issue_token: bool = True,
    ) -> tuple[AccountView, IssuedToken | None]:
        """Create an account with its roles and, by default, a first token shown once."""
        self._require_admin(by, "tạo tài khoản")
        at = self.now()
        login = check_account_name(name)
        for attempt in (1, 2):
            account = UserAccount.create(
                name=login, display_name=display_name, unit=unit, by=by, at=at
            )
            for role in roles:
                account.grant_role(role, by=by, at=at)
            token: tuple[str, str] | None = None
            if issue_token:
                token = self._new_token(account, by)
            directory = self._load_optional(
                AccountDirectory, AccountDirectory.ID
            ) or AccountDirectory.start(at)
            directory.list_account(account, at)
            try:
                receipt = self._commit(account, directory)
            except IntegrityError:
                if self._exists(account.id):
                    raise DuplicateAccount(login) from None
                if attempt == 2:
                    raise
                continue  # another account was listed at the same moment: list again
            issued = IssuedToken(login, token[0], token[1], receipt) if token else None
            return _view(account), issued
        raise AssertionError("unreachable")

    def grant_role(
        self, name: str, role: Role, *, unit: str | None = None, by: Actor = SYSTEM
    ) -> AccountView:
        self._require_admin(by, "cấp vai trò")
        account = self._account(name)
        account.grant_role(role, by=by, at=self.now())
        self._commit(account)
        self._forget_tokens()
        return _view(account)

    def revoke_role(self, name: str, role: Role, *, by: Actor = SYSTEM) -> AccountView:
        self._require_admin(by, "thu hồi vai trò")
        account = self._account(name)
        account.revoke_role(role, by=by, at=self.now())
        self._commit(account)
        self._forget_tokens()
        return _view(account)

    def issue_token(self, name: str, *, by: Actor = SYSTEM) -> IssuedToken:
        """A new token for an account; the token is returned once and only its hash is kept."""
        if by.user_id != name:
            self._require_admin(by, "cấp mã truy cập cho người khác")
        account = self._account(name)
        token_id, token = self._new_token(account, by)
        receipt = self._commit(account)
        return IssuedToken(account.name, token_id, token, receipt)

    def revoke_token(self, name: str, token_id: str, *, by: Actor = SYSTEM) -> AccountView:
        if by.user_id != name:
            self._require_admin(by, "thu hồi mã truy cập của người khác")
        account = self._account(name)
        account.revoke_token(token_id, by=by, at=self.now())
        self._commit(account)
        self._forget_tokens()
        return _view(account)

    def revoke_all_tokens(self, name: str, *, by: Actor = SYSTEM) -> AccountView:
        self._require_admin(by, "thu hồi mã truy cập")
        account = self._account(name)
        at = self.now()
        for token_id in sorted(account.tokens):
            account.revoke_token(token_id, by=by, at=at)
        if account.pending_events:
            self._commit(account)
        self._forget_tokens()
        return _view(account)

    def disable(self, name: str, *, reason: str, by: Actor = SYSTEM) -> AccountView:
        """Disable an account: its tokens stop working at once; its history stays."""
        self._require_admin(by, "khóa tài khoản")
        account = self._account(name)
        account.disable(reason=reason, by=by, at=self.now())
        self._commit(account)
        self._forget_tokens()
        return _view(account)

    # --- queries --------------------------------------------------------------------------

    def get_account(self, name: str) -> AccountView:
        return _view(self._account(name))

    def list_accounts(self) -> list[AccountView]:
        directory = self._load_optional(AccountDirectory, AccountDirectory.ID)
        if directory is None:
            return []
        accounts = [
            self._load(UserAccount, account_id, "tài khoản")
            for account_id in directory.accounts.values()
        ]
        return [_view(account) for account in sorted(accounts, key=lambda a: a.name)]

    def members_with_role(self, role: Role) -> list[str]:
        return [a.name for a in self.list_accounts() if role in a.roles and not a.disabled]

    # --- authentication -------------------------------------------------------------------

    def authenticate(self, token: str, role: str | None = None) -> Principal:
        """The account behind a bearer token, acting in its only role or in the role asked for."""
        match = _TOKEN.match(token)
        if match is None:
            raise Unauthenticated("Mã truy cập không đúng định dạng (kt_…).")
        return self._acting(self._verified_account(token, *match.groups()), role)

    def authenticate_cached(self, token: str, role: str | None = None) -> Principal | None:
        """``authenticate`` when the token was verified within ``auth_cache_seconds``, without
        touching the store (so it never blocks: an async caller may use it on its event loop);
        None when the token is not in the cache (call ``authenticate``)."""
        if not self._auth_ttl or _TOKEN.match(token) is None:
            return None
        key = _hash(token)
        with self._auth_lock:
            hit = self._auth_cache.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return self._acting(hit[1], role)

    def _acting(self, account: UserAccount, role: str | None) -> Principal:
        """The account acting in its only role, or in ``role`` if it holds it."""
        roles = sorted(account.roles)
        if role is None:
            if not roles:
                raise PermissionDenied("làm việc với hệ thống", "không có vai trò")
            if len(roles) > 1:
                raise RoleChoiceNeeded(roles)
            chosen = roles[0]
        else:
            try:
                chosen = Role(role)
            except ValueError:
                raise RoleNotAvailable(account.name, role[:40]) from None
            if chosen not in account.roles:
                raise RoleNotAvailable(account.name, ROLE_LABELS.get(chosen, role))
        return Principal(_view(account), account.actor(chosen))

    # --- helpers --------------------------------------------------------------------------

    def _verified_account(
        self, token: str, account_hex: str, token_id: str, secret: str
    ) -> UserAccount:
        key = _hash(token)
        if self._auth_ttl:
            with self._auth_lock:
                hit = self._auth_cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
        account = self._load_optional(UserAccount, UUID(hex=account_hex))
        stored = account.tokens.get(token_id) if account is not None else None
        if account is None or stored is None or account.disabled:
            raise Unauthenticated()
        if not hmac.compare_digest(stored, _hash(secret)):
            raise Unauthenticated()
        if self._auth_ttl:
            with self._auth_lock:
                if len(self._auth_cache) >= self.MAX_CACHED_TOKENS:
                    self._auth_cache.clear()
                self._auth_cache[key] = (time.monotonic() + self._auth_ttl, account)
        return account

    def _new_token(self, account: UserAccount, by: Actor) -> tuple[str, str]:
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        account.issue_token(token_id, _hash(secret), by=by, at=self.now())
        return token_id, f"{TOKEN_PREFIX}_{account.id.hex}_{token_id}_{secret}"

    def _account(self, name: str) -> UserAccount:
        login = check_account_name(name)
        account = self._load_optional(UserAccount, UserAccount.id_for(login))
        if account is None:
            raise NotFound("tài khoản", login)
        return account

    @staticmethod
    def _require_admin(by: Actor, action: str) -> None:
        if by.role is not Role.ADMIN:
            raise PermissionDenied(action, ROLE_LABELS[by.role])
