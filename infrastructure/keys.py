"""The key that signs the public forms' CSRF tokens.

Taken, in this order, from ``KHENTHUONG_CSRF_SECRET``, from the file named by
``KHENTHUONG_CSRF_SECRET_FILE`` (a container or systemd secret), or from ``csrf-secret`` in the
data folder, which the first process creates (random, readable by its owner only) and every
process sharing the folder then reads. Processes on several machines must be given the same
key by one of the first two ways: a form served by one process is checked by another.

When the data folder cannot be written (a read-only container with PostgreSQL), the process
makes a key of its own and says so in the log: its forms then fail the check in any other
process, which is acceptable for one process only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import structlog

from infrastructure.settings import MIN_SECRET_LENGTH, Settings

__all__ = ["CSRF_KEY_FILE", "KeyFileError", "create_private_file", "csrf_key"]

CSRF_KEY_FILE = "csrf-secret"
log = structlog.get_logger("khenthuong.keys")


class KeyFileError(Exception):
    """The configured key file is missing, unreadable or too short."""


def _derive(secret: str) -> bytes:
    """A fixed-length key for HMAC, bound to its purpose."""
    return hashlib.sha256(b"khenthuong csrf v1\x00" + secret.strip().encode("utf-8")).digest()


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"Không đọc được tệp khóa CSRF {path}: {error}") from None
    if len(text) < MIN_SECRET_LENGTH:
        raise KeyFileError(
            f"Tệp khóa CSRF {path} phải chứa ít nhất {MIN_SECRET_LENGTH} ký tự bí mật."
        )
    return text


def create_private_file(path: Path, data: bytes) -> bool:
    """Write a new secret file readable by its owner only (mode 0600, its folder made if
    missing), never over an existing one: False if one exists (another process may have made
    it meanwhile). Raises ``OSError`` when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return True


def _data_folder_key(folder: Path) -> str | None:
    """The shared key in the data folder, created (0600) if missing; None if impossible."""
    path = folder.expanduser() / CSRF_KEY_FILE
    if not path.exists():
        try:
            create_private_file(path, (secrets.token_urlsafe(48) + "\n").encode("utf-8"))
        except OSError:
            return None
    return _read(path)


def csrf_key(settings: Settings) -> bytes:
    """The process's CSRF signing key (see the module's documentation)."""
    if settings.csrf_secret is not None:
        return _derive(settings.csrf_secret.get_secret_value())
    if settings.csrf_secret_file is not None:
        return _derive(_read(settings.csrf_secret_file.expanduser()))
    shared = _data_folder_key(settings.data_dir)
    if shared is not None:
        return _derive(shared)
    log.warning(
        "csrf_key_per_process",
        detail="data folder not writable and no KHENTHUONG_CSRF_SECRET: public forms are "
        "signed with a key of this process only",
    )
    return _derive(secrets.token_urlsafe(48))
