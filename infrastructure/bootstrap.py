"""The composition root: build the applications of one province from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from application.accounts import Accounts
from application.dossiers import Dossiers
from application.idempotency import Idempotency
from application.movements import Movements
from application.store import Clock, utc_now
from domain.rulebook import RulebookHistory
from infrastructure.audit.checkpoints import AuditCheckpoints
from infrastructure.audit.follower import AuditFollower
from infrastructure.audit.log import AuditLog
from infrastructure.calendar import VietnamCalendar, load_swaps
from infrastructure.rulebook_files import build_rulebook_history
from infrastructure.settings import Settings
from infrastructure.views.service import Projections

__all__ = ["Services", "StorageUnavailable", "bootstrap"]


class StorageUnavailable(Exception):
    """The event store cannot be prepared (folder not writable, server unreachable)."""


@dataclass
class Services:
    """Everything a process needs, sharing one event store; close it when done."""

    movements: Movements
    dossiers: Dossiers
    accounts: Accounts
    idempotency: Idempotency
    calendar: VietnamCalendar
    rulebooks: RulebookHistory
    settings: Settings
    projections: Projections
    audit: AuditLog
    """The tamper-evident log of every stored event (its writer runs with the projections)."""
    checkpoints: AuditCheckpoints
    """The audit log's signed checkpoints (``infrastructure.audit.checkpoints``)."""

    def close(self) -> None:
        """Stop the projection runner, then release the store's connections (the other
        applications share the movements' store)."""
        self.projections.stop()
        self.movements.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def build_calendar(settings: Settings) -> VietnamCalendar:
    """The Vietnamese working-day calendar with the deployment's announced swaps, if any."""
    if settings.calendar_file is None:
        return VietnamCalendar()
    days_off, working_days = load_swaps(settings.calendar_file)
    return VietnamCalendar(days_off, working_days)


def _prepare_sqlite_folder(settings: Settings) -> None:
    folder = settings.sqlite_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageUnavailable(
            f"Không tạo được thư mục dữ liệu {folder}: {error.strerror or error}"
        ) from None


def bootstrap(
    settings: Settings, *, clock: Clock = utc_now, run_projections: bool | None = None
) -> Services:
    """Read the calendar and rulebook files, open the store, and build the applications.

    Raises the loaders' own errors for bad files (``CalendarFileError``, ``RulebookError``),
    ``StorageUnavailable`` for a data folder that cannot be created, and the eventsourcing
    library's ``PersistenceError`` when the database cannot be reached.
    """
    calendar = build_calendar(settings)
    rulebooks = build_rulebook_history(settings.rulebook_files)
    if settings.store == "sqlite":
        _prepare_sqlite_folder(settings)
    env = settings.eventsourcing_env()
    movements = Movements(env, clock=clock)
    try:
        dossiers = Dossiers(
            env, rulebooks=rulebooks, calendar=calendar, clock=clock, share_with=movements
        )
        accounts = Accounts(
            env,
            clock=clock,
            share_with=movements,
            auth_cache_seconds=settings.auth_cache_seconds,
        )
        idempotency = Idempotency(env, clock=clock, share_with=movements)
        projections = Projections(
            movements,
            calendar,
            postgres_conninfo=settings.postgres_conninfo(),
            batch_size=settings.projection_batch_size,
            cache_size=settings.projection_cache_size,
        )
        audit = AuditLog(movements)
        follower = AuditFollower(audit, postgres_conninfo=settings.postgres_conninfo())
        projections.followers.append(follower)
        checkpoints = _checkpoints(settings, movements, audit, follower, clock)
        # The writer signs each leaf with the checkpoints' key (created by the first write).
        audit.signer = lambda: checkpoints.key().sign
        projections.followers.append(checkpoints)  # its timer signs where the tree is written
        if settings.create_tables:
            projections.setup()
            audit.setup()
            checkpoints.setup()
        for application in (movements, dossiers, accounts, idempotency):
            application.on_commit = projections.notify
        if settings.run_projections if run_projections is None else run_projections:
            if checkpoints.minutes and checkpoints.key_path.exists():
                # A bad key file stops the start here; a missing one is created (with its
                # restrictive mode) by the first signing, in the process that signs.
                checkpoints.key()
            projections.start()
    except BaseException:
        movements.close()
        raise
    return Services(
        movements=movements,
        dossiers=dossiers,
        accounts=accounts,
        idempotency=idempotency,
        calendar=calendar,
        rulebooks=rulebooks,
        settings=settings,
        projections=projections,
        audit=audit,
        checkpoints=checkpoints,
    )


def _checkpoints(
    settings: Settings,
    store: Movements,
    audit: AuditLog,
    follower: AuditFollower,
    clock: Clock,
) -> AuditCheckpoints:
    """The signed checkpoints of the audit log; the timer signs only while this process holds
    the audit log's lock (one signer however many processes)."""
    return AuditCheckpoints(
        store,
        audit,
        key_path=settings.audit_key_path,
        origin=settings.audit_log_origin,
        minutes=settings.audit_checkpoint_minutes,
        clock=clock,
        active=lambda: follower.running_here,
    )
