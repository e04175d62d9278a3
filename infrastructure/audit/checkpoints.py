"""Signed checkpoints of the audit log: the Ed25519 key, the ``audit_checkpoints`` table, the
signer and its timer.

A checkpoint says "the log named ``origin`` had ``size`` leaves with root ``root`` at ``time``",
signed with the service's Ed25519 key over ``merkle.checkpoint_body``. Anyone who keeps a copy
(the public pages show the latest, ``/du-lieu-mo/checkpoints`` serves them all) can later prove
that the history was rewritten, with ``khenthuong audit verify --checkpoint FILE``.

The key is a PEM file (PKCS#8), ``KHENTHUONG_AUDIT_KEY_FILE`` or ``audit-ed25519.pem`` in the
data folder, created on first start readable by its owner only; a key file that its group or
others may read is refused. Its id is the first 16 hex digits of SHA-256 over the raw public key.

The signer never signs a root that does not extend the previous checkpoint: it checks the
consistency proof between them first, and refuses loudly (``InconsistentLog``) otherwise.
"""

from __future__ import annotations

import contextlib
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from application.audit.merkle import verify_consistency
from application.audit.verifier import Checkpoint, checkpoint_time, key_id, public_key_raw
from application.store import Clock, Store, utc_now
from infrastructure.keys import create_private_file
from infrastructure.views.database import ViewDatabase, lock_key

__all__ = [
    "CHECKPOINTS_TABLE",
    "KEYS_TABLE",
    "AuditCheckpoints",
    "AuditKeyError",
    "CheckpointStore",
    "CheckpointTimer",
    "Checkpointer",
    "InconsistentLog",
    "MerkleLog",
    "SigningKey",
    "StoredCheckpoint",
    "load_signing_key",
    "read_public_key",
]

CHECKPOINTS_TABLE = "audit_checkpoints"
KEYS_TABLE = "audit_checkpoint_keys"
"""The public keys that signed checkpoints, by key id (served without the key file)."""
FIRST_TICK_SECONDS = 60.0
"""The timer's first signature comes this long after the start (or one interval, if shorter)."""
log = structlog.get_logger("khenthuong.audit")


class AuditKeyError(Exception):
    """The signing key file cannot be created, read, or is not safe to use."""


class InconsistentLog(Exception):
    """The audit tree does not extend the last signed checkpoint: nothing is signed."""


# --- the key ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """The private key and what is published about it."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def public_pem(self) -> str:
        return (
            self.public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
            .strip()
            + "\n"
        )

    def public_raw(self) -> bytes:
        return public_key_raw(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def _check_mode(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise AuditKeyError(
            f"Không đọc được tệp khóa ký điểm kiểm tra {path}: {error.strerror or error}"
        ) from None
    if not stat.S_ISREG(mode):
        raise AuditKeyError(f"Tệp khóa ký điểm kiểm tra {path} không phải tệp thông thường.")
    if mode & 0o077:
        raise AuditKeyError(
            f"Tệp khóa ký điểm kiểm tra {path} có quyền {stat.filemode(mode)}: nhóm hoặc người "
            f"khác đọc được khóa bí mật nên không dùng. Sửa bằng: chmod 600 {path}"
        )


def _create(path: Path) -> bool:
    """Write a new key (mode 0600, never over an existing file); False if one appeared."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        created = create_private_file(path, pem)
    except OSError as error:
        raise AuditKeyError(
            f"Không tạo được tệp khóa ký điểm kiểm tra {path}: {error.strerror or error}"
        ) from None
    if created:
        log.info("audit_key_created", path=str(path))
    return created


def load_signing_key(path: Path, *, create: bool = True) -> SigningKey:
    """The Ed25519 key in ``path`` (PEM, PKCS#8), created if missing and ``create``."""
    if not path.exists():
        if not create:
            raise AuditKeyError(
                f"Chưa có tệp khóa ký điểm kiểm tra {path} (tạo khi máy chủ khởi động lần đầu, "
                "hoặc khi chạy khenthuong audit checkpoint)."
            )
        _create(path)
    _check_mode(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AuditKeyError(
            f"Không đọc được tệp khóa ký điểm kiểm tra {path}: {error.strerror or error}"
        ) from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise AuditKeyError(
            f"Tệp {path} không phải khóa bí mật PEM không mật khẩu (PKCS#8)."
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise AuditKeyError(f"Khóa trong {path} không phải khóa Ed25519.")
    return SigningKey(private, path)


def read_public_key(path: Path) -> Ed25519PublicKey:
    """The public half of an existing key file (for ``audit verify`` without --public-key)."""
    return load_signing_key(path, create=False).public


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint and its row number (the cursor of the listings)."""

    id: int
    checkpoint: Checkpoint


CHECKPOINT_COLUMNS = ("id", "origin", "size", "root", "time", "key_id", "signature")
"""The columns of a stored checkpoint, in the order ``stored_checkpoint`` takes them."""


def stored_checkpoint(values: Sequence[Any]) -> StoredCheckpoint:
    """A stored checkpoint from its columns' values (``CHECKPOINT_COLUMNS``), as either
    driver returns them (SQLite gives the time as text)."""
    ident, origin, size, root, moment, key, signature = values
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return StoredCheckpoint(
        int(ident),
        Checkpoint(
            origin=str(origin),
            size=int(size),
            root=bytes(root),
            time=moment.astimezone(UTC),
            key_id=str(key),
            signature=bytes(signature),
        ),
    )


class CheckpointStore:
    """The ``audit_checkpoints`` table, next to the events (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        # The views' database gives the datastore, the dialect and the names (the in-memory
        # store keeps these tables in its side database, as it does its views).
        database = ViewDatabase(store, [])
        self.dialect = database.dialect
        self.schema = database.schema
        self.table = database.qualified(CHECKPOINTS_TABLE)
        self.keys_table = database.qualified(KEYS_TABLE)
        self.datastore: Any = database.datastore

    def _sql(self, statement: str) -> str:
        statement = statement.replace("{table}", self.table).replace("{keys}", self.keys_table)
        return statement.replace("%s", "?") if self.dialect == "sqlite" else statement

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=write) as cursor:
            if write:
                self._lock(cursor)
            yield cursor

    def _lock(self, cursor: Any) -> None:
        """One signer at a time, across processes."""
        if self.dialect == "postgres":
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", (lock_key(f"audit-checkpoints:{self.schema}"),)
            )
        else:  # take SQLite's write lock now, not at the INSERT
            cursor.execute(self._sql("DELETE FROM {table} WHERE 0"))

    def setup(self) -> None:
        """Create the checkpoints table and the table of the public keys that signed them."""
        if self.dialect == "postgres":
            statements = (
                "CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, "
                "origin text NOT NULL, size bigint NOT NULL, root bytea NOT NULL, "
                "time timestamptz NOT NULL, key_id text NOT NULL, signature bytea NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {keys} (key_id text PRIMARY KEY, "
                "public_key bytea NOT NULL)",
            )
        else:
            statements = (
                "CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "origin TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, "
                "time TEXT NOT NULL, key_id TEXT NOT NULL, signature BLOB NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {keys} (key_id TEXT PRIMARY KEY, "
                "public_key BLOB NOT NULL)",
            )
        with self.datastore.transaction(commit=True) as cursor:
            for statement in statements:
                cursor.execute(self._sql(statement))

    def _row(self, row: Any) -> StoredCheckpoint:
        return stored_checkpoint([row[n] for n in CHECKPOINT_COLUMNS])

    def add(
        self, checkpoint: Checkpoint, cursor: Any = None, *, public_key: bytes | None = None
    ) -> StoredCheckpoint:
        """Store a checkpoint (and the raw public key that signed it, the first time)."""
        moment: Any = checkpoint.time
        if self.dialect == "sqlite":
            moment = checkpoint.time.astimezone(UTC).isoformat(timespec="microseconds")
        params = (
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root,
            moment,
            checkpoint.key_id,
            checkpoint.signature,
        )
        statement = self._sql(
            "INSERT INTO {table} (origin, size, root, time, key_id, signature) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id"
        )
        with contextlib.ExitStack() as stack:
            if cursor is None:
                cursor = stack.enter_context(self.transaction(write=True))
            cursor.execute(statement, params)
            row = cursor.fetchone()
            if public_key is not None:
                cursor.execute(
                    self._sql(
                        "INSERT INTO {keys} (key_id, public_key) VALUES (%s, %s) "
                        "ON CONFLICT (key_id) DO NOTHING"
                    ),
                    (checkpoint.key_id, public_key),
                )
        return StoredCheckpoint(int(row["id"]), checkpoint)

    def public_key(self, key_id: str | None = None) -> bytes | None:
        """The raw public key with this id (default: the latest checkpoint's), if stored."""
        statement = "SELECT public_key FROM {keys} WHERE key_id = %s"
        if key_id is None:
            statement = (
                "SELECT k.public_key FROM {keys} k JOIN {table} c ON c.key_id = k.key_id "
                "ORDER BY c.id DESC LIMIT 1"
            )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), () if key_id is None else (key_id,))
            row = cursor.fetchone()
        return None if row is None else bytes(row["public_key"])

    def latest(self, cursor: Any = None) -> StoredCheckpoint | None:
        found = self.page(limit=1, cursor=cursor)
        return found[0] if found else None

    def page(
        self, *, before: int | None = None, limit: int = 100, cursor: Any = None
    ) -> list[StoredCheckpoint]:
        """Newest first; ``before`` is the id of the last one of the previous page."""
        statement = "SELECT id, origin, size, root, time, key_id, signature FROM {table}"
        params: list[Any] = []
        if before is not None:
            statement += " WHERE id < %s"
            params.append(before)
        statement += " ORDER BY id DESC LIMIT %s"
        params.append(limit)
        with contextlib.ExitStack() as stack:
            if cursor is None:
                cursor = stack.enter_context(self.datastore.transaction(commit=False))
            cursor.execute(self._sql(statement), params)
            return [self._row(row) for row in cursor.fetchall()]

    def at_size(self, size: int) -> StoredCheckpoint | None:
        """The latest checkpoint signed at exactly ``size`` leaves, if any."""
        statement = (
            "SELECT id, origin, size, root, time, key_id, signature FROM {table} "
            "WHERE size = %s ORDER BY id DESC LIMIT 1"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), (size,))
            row = cursor.fetchone()
        return None if row is None else self._row(row)

    def all(self) -> list[Checkpoint]:
        """Every checkpoint, oldest first."""
        statement = (
            "SELECT id, origin, size, root, time, key_id, signature FROM {table} ORDER BY id"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement))
            return [self._row(row).checkpoint for row in cursor.fetchall()]


# --- signing ----------------------------------------------------------------------------------


class MerkleLog(Protocol):
    """What the signer needs of ``infrastructure.audit.log.AuditLog``."""

    def size(self) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def consistency_proof(self, m: int, n: int) -> list[bytes]: ...


class Checkpointer:
    """Signs checkpoints of one audit log with one key."""

    def __init__(
        self,
        audit_log: MerkleLog,
        table: CheckpointStore,
        key: SigningKey,
        origin: str,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.audit_log = audit_log
        self.table = table
        self.key = key
        self.origin = origin
        self.clock = clock

    def sign(self, *, only_if_grown: bool = False) -> StoredCheckpoint | None:
        """Sign the tree as it stands (None when ``only_if_grown`` and it has not grown since
        the last checkpoint). Raises ``InconsistentLog`` if it does not extend that one.

        The tree is read outside the table's write lock (the log's own reads and writes must
        not wait for it); the insert then checks no other signer came in between."""
        for _attempt in range(5):
            previous = self.table.latest()
            size = self.audit_log.size()
            root = self.audit_log.root(size)
            if previous is not None:
                self._check_extends(previous.checkpoint, size, root)
                if only_if_grown and size == previous.checkpoint.size:
                    return None
            unsigned = Checkpoint(
                self.origin, size, root, checkpoint_time(self.clock()), self.key.key_id, b""
            )
            signed = replace(unsigned, signature=self.key.sign(unsigned.body()))
            with self.table.transaction(write=True) as cursor:
                latest = self.table.latest(cursor)
                if (latest.id if latest else None) != (previous.id if previous else None):
                    continue  # another process signed meanwhile: check against that one
                stored = self.table.add(signed, cursor, public_key=self.key.public_raw())
            log.info("audit_checkpoint_signed", size=size, key_id=self.key.key_id, id=stored.id)
            return stored
        raise InconsistentLog("Không ký được: các tiến trình khác liên tục ký cùng lúc.")

    def _check_extends(self, previous: Checkpoint, size: int, root: bytes) -> None:
        if size < previous.size:
            self._refuse(
                f"Cây nhật ký kiểm toán có {size} lá, ít hơn điểm kiểm tra đã ký gần nhất "
                f"({previous.size} lá): nhật ký đã bị cắt bớt. Không ký."
            )
        proof = self.audit_log.consistency_proof(previous.size, size) if previous.size else []
        if not verify_consistency(previous.size, size, previous.root, root, proof):
            self._refuse(
                f"Cây nhật ký kiểm toán ({size} lá) không nối tiếp điểm kiểm tra đã ký gần nhất "
                f"({previous.size} lá): bằng chứng nhất quán không khớp, lịch sử đã bị viết "
                "lại. Không ký. Chạy khenthuong audit verify để tìm vị trí."
            )

    @staticmethod
    def _refuse(message: str) -> None:
        log.error("audit_checkpoint_refused", detail=message)
        raise InconsistentLog(message)


class CheckpointTimer:
    """Calls ``sign`` every ``seconds`` in a background thread until stopped."""

    def __init__(
        self,
        sign: Callable[[], object],
        seconds: float,
        *,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._sign = sign
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_error = on_error

    def start(self) -> None:
        if self._thread is not None or self._seconds <= 0:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="khenthuong-audit-checkpoints", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        # The first tick comes soon after start (the tree has caught up by then), so a newly
        # started server publishes a checkpoint without waiting a whole interval.
        first = min(self._seconds, FIRST_TICK_SECONDS)
        if self._stop.wait(first):
            return
        self._tick_once()
        while not self._stop.wait(self._seconds):
            self._tick_once()

    def _tick_once(self) -> None:
        try:
            self._sign()
        except Exception as error:  # reported; the next tick tries again
            log.error(
                "audit_checkpoint_failed", error=type(error).__name__, detail=str(error)[:300]
            )
            if self.on_error is not None:
                self.on_error(error)


class AuditCheckpoints:
    """The checkpoints of one store, as a process uses them: the table, the key (read or
    created on first use), signing, and the timer."""

    def __init__(
        self,
        store: Store,
        audit_log: MerkleLog,
        *,
        key_path: Path,
        origin: str,
        minutes: int,
        clock: Clock = utc_now,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self.table = CheckpointStore(store)
        self.active = active
        """Whether this process signs on the timer (it writes the audit tree)."""
        self.audit_log = audit_log
        self.key_path = key_path
        self.origin = origin
        self.minutes = minutes
        self.clock = clock
        self._key: SigningKey | None = None
        self._key_lock = threading.Lock()
        self._timer: CheckpointTimer | None = None

    def setup(self) -> None:
        self.table.setup()

    def key(self) -> SigningKey:
        """The signing key (created on first use; raises ``AuditKeyError``)."""
        with self._key_lock:
            if self._key is None:
                self._key = load_signing_key(self.key_path)
            return self._key

    def public_key(self, key_id: str | None = None) -> Ed25519PublicKey | None:
        """The public key with this id, or the one checkpoints are signed with now: as stored
        with the checkpoints, else (none signed yet) the key file's, if this process has it.
        Never creates a key: a process that does not sign must not publish a key of its own."""
        raw = self.table.public_key(key_id)
        if raw is not None:
            return Ed25519PublicKey.from_public_bytes(raw)
        if key_id is not None or not self.key_path.exists():
            return None
        try:
            return self.key().public
        except AuditKeyError:
            return None

    def sign(self, *, only_if_grown: bool = False) -> StoredCheckpoint | None:
        """Sign the audit tree as it stands now (see ``Checkpointer.sign``)."""
        signer = Checkpointer(self.audit_log, self.table, self.key(), self.origin, clock=self.clock)
        return signer.sign(only_if_grown=only_if_grown)

    def start(self) -> None:
        """Sign every ``minutes`` in a background thread (0: never). An existing key file is
        read now, so a bad one stops the start with its message; a missing one is created by
        the first signing (only the process that writes the tree signs, so commands that
        merely open the store, like ``users add``, never create a key)."""
        if self.minutes <= 0 or self._timer is not None:
            return
        if self.key_path.exists():
            self.key()
        self._timer = CheckpointTimer(self._tick, self.minutes * 60.0)
        self._timer.start()

    def _tick(self) -> StoredCheckpoint | None:
        """One tick of the timer: sign if this process writes the tree and it grew."""
        if not self.active():
            return None
        return self.sign(only_if_grown=True)

    def wake(self) -> None:
        """New events were committed (the views' followers are woken): nothing to do now."""

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
