"""Idempotency keys, kept in the event store: a retried command gets the first answer back."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from application.errors import ApplicationError
from application.store import Store

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:idempotency-key")
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency-key-reused"
    title = "Khóa Idempotency-Key đã dùng cho yêu cầu khác"

    def __init__(self) -> None:
        super().__init__(
            "Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác (khác đường dẫn hoặc "
            "nội dung); hãy dùng một khóa mới cho mỗi yêu cầu mới."
        )


class IdempotencyRecord(Aggregate):
    """The first answer given to a request sent with an Idempotency-Key."""

    class Recorded(Aggregate.Created):
        label: ClassVar[str] = "Ghi nhận khóa Idempotency-Key"
        user_id: str
        key: str
        method: str
        path: str
        body_sha256: str
        status_code: int
        response: dict[str, Any]
        headers: dict[str, str]

    @staticmethod
    def id_for(user_id: str, key: str) -> UUID:
        return uuid5(_NAMESPACE, f"{user_id}\x1f{key}")

    @event(Recorded)
    def __init__(
        self,
        user_id: str,
        key: str,
        method: str,
        path: str,
        body_sha256: str,
        status_code: int,
        response: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        self.user_id = user_id
        self.key = key
        self.method = method
        self.path = path
        self.body_sha256 = body_sha256
        self.status_code = status_code
        self.response = response
        self.headers = headers


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    response: dict[str, Any]
    headers: dict[str, str]


def body_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Idempotency(Store):
    """Looks up and records first answers. Recording happens after the command's own commit:
    if the process stops in between, the retry runs again and meets the command's own guards
    (a stale If-Match, an existing dossier id), so nothing is ever written twice."""

    def answer_for(
        self, user_id: str, key: str, method: str, path: str, body: bytes
    ) -> StoredAnswer | None:
        """The first answer to this key, or None if the key is new; another request → error."""
        record = self._load_optional(IdempotencyRecord, IdempotencyRecord.id_for(user_id, key))
        if record is None:
            return None
        if (record.method, record.path, record.body_sha256) != (
            method,
            path,
            body_fingerprint(body),
        ):
            raise IdempotencyKeyReused()
        return StoredAnswer(record.status_code, dict(record.response), dict(record.headers))

    def remember(
        self,
        *,
        user_id: str,
        key: str,
        method: str,
        path: str,
        body: bytes,
        status_code: int,
        response: dict[str, Any],
        headers: dict[str, str],
        at: datetime | None = None,
    ) -> None:
        record = IdempotencyRecord._create(
            IdempotencyRecord.Recorded,
            id=IdempotencyRecord.id_for(user_id, key),
            timestamp=at or self.now(),
            user_id=user_id,
            key=key,
            method=method,
            path=path,
            body_sha256=body_fingerprint(body),
            status_code=status_code,
            response=response,
            headers=headers,
        )
        # The same key answered at the same moment by another worker: the first one stays.
        with contextlib.suppress(IntegrityError):
            self.save(record)
