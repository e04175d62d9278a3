"""The one event store of a province, shared by the use-case applications.

Dossiers, movements and registers live in one stored log (one notification sequence), so
projections and the audit log follow a single ordered history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    JSONTranscoder,
    Recording,
    Transcoder,
)
from eventsourcing.utils import Environment

from application.errors import ConfigurationError, NotFound
from application.folding import fold
from application.transcodings import FastJSONTranscoder, register_domain_transcodings

Clock = Callable[[], datetime]
A = TypeVar("A", bound=Aggregate)

SUPPORTED_STORES = {"eventsourcing.popo", "eventsourcing.sqlite", "eventsourcing.postgres"}


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Fold stored events into an aggregate. The library's default projector checks each event
    against a runtime protocol, which costs more than the mutation itself on Python 3.11."""
    return fold(aggregate, events)


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True)
class Receipt:
    """What a command reached: the aggregate, its new version, and the log position written."""

    id: UUID
    version: int
    position: int


class Store(Application[UUID]):
    """Base of the use-case applications: configuration, loading, saving, receipts."""

    name = "khenthuong"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        clock: Clock = utc_now,
        share_with: Store | None = None,
    ) -> None:
        module = env.get("PERSISTENCE_MODULE")
        if module not in SUPPORTED_STORES:
            raise ConfigurationError(
                "Chưa chọn nơi lưu trữ sự kiện (PERSISTENCE_MODULE phải là "
                f"{', '.join(sorted(SUPPORTED_STORES))}); không chạy với kho mặc định trong bộ nhớ."
            )
        self.clock = clock
        self._share_with = share_with
        self.on_commit: Callable[[int], None] | None = None
        """Told the log position of every commit (wakes this process's projection runner)."""
        super().__init__(env=dict(env))

    # Settings come only from the explicit env (built from KHENTHUONG_ settings), never from
    # whatever happens to be in os.environ.
    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        if self._share_with is not None:
            return self._share_with.factory
        return super().construct_factory(env)

    def construct_recorder(self) -> ApplicationRecorder:
        if self._share_with is not None:
            return self._share_with.recorder
        return super().construct_recorder()

    def construct_transcoder(self) -> Transcoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def close(self) -> None:
        if self._share_with is None:
            super().close()

    # --- helpers for the use cases --------------------------------------------------------

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise ConfigurationError("Đồng hồ hệ thống phải trả về thời điểm có múi giờ.")
        return moment

    def _load(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, projector_func=replay)
        except AggregateNotFoundError:
            raise NotFound(what, aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise NotFound(what, aggregate_id)
        return aggregate

    def _load_optional(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, projector_func=replay)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(list(self.events.get(aggregate_id, limit=1)))

    def _commit(self, main: Aggregate, *others: Aggregate | None) -> Receipt:
        recordings: list[Recording[UUID]] = self.save(main, *others)
        position = max((r.notification.id for r in recordings), default=0)
        position = position or self.max_position()
        if self.on_commit is not None:
            self.on_commit(position)
        return Receipt(id=main.id, version=main.version, position=position)

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def stored_events(self, aggregate_id: UUID) -> Iterable[Any]:
        return self.events.get(aggregate_id)
