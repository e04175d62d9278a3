"""Settings from environment variables prefixed ``KHENTHUONG_``, mapped onto eventsourcing's keys.

The event store is chosen explicitly: SQLite (one file in ``data_dir``, the default) or
PostgreSQL (``postgres_url``). The settings never read a ``.env`` file and never write to
``os.environ``: :meth:`Settings.eventsourcing_env` builds the dictionary that is passed to the
applications as their ``env``.

=========================================  ================================================
variable                                   meaning
=========================================  ================================================
``KHENTHUONG_STORE``                       ``sqlite`` (default) or ``postgres``
``KHENTHUONG_DATA_DIR``                    folder of the SQLite file ``khenthuong.sqlite3``
``KHENTHUONG_POSTGRES_URL``                ``postgresql://user:password@host:5432/dbname``
``KHENTHUONG_POSTGRES_POOL_SIZE``          pooled connections (1–100, default 10)
``KHENTHUONG_POSTGRES_MAX_OVERFLOW``       extra connections under load (0–100, default 10)
``KHENTHUONG_POSTGRES_CONNECT_TIMEOUT``    seconds to connect or to wait for the pool (1–60)
``KHENTHUONG_POSTGRES_LOCK_TIMEOUT``       seconds to wait for the table lock (0 = forever)
``KHENTHUONG_POSTGRES_SCHEMA``             schema of the tables (default: the search path)
``KHENTHUONG_CREATE_TABLES``               create missing tables at start-up (default true)
``KHENTHUONG_RULEBOOK_FILES``              extra rulebook editions: a JSON list, or paths
                                           separated by ``:`` (``os.pathsep``)
``KHENTHUONG_CALENDAR_FILE``               TOML file of announced day-off swaps
``KHENTHUONG_LOG_FORMAT``                  ``auto`` (console on a terminal), ``json``, ``console``
``KHENTHUONG_LOG_LEVEL``                   ``DEBUG``, ``INFO`` (default), ``WARNING``, ``ERROR``
``KHENTHUONG_PROVINCE_NAME``               the province on the public pages (``Cao Bằng``)
``KHENTHUONG_CSRF_SECRET``                 key that signs the public forms' CSRF tokens (at
                                           least 32 characters; same in every process)
``KHENTHUONG_CSRF_SECRET_FILE``            a file holding that key (a container secret)
``KHENTHUONG_PUBLIC_COMMENTS_PER_ADDRESS`` public comments one address may send per window
``KHENTHUONG_PUBLIC_COMMENTS_PER_DOSSIER`` public comments one dossier takes per window
``KHENTHUONG_PUBLIC_COMMENT_WINDOW_SECONDS``  the rate limits' window (default 600 s)
``KHENTHUONG_PUBLIC_PAGE_SIZE``            rows per page of the public lists (default 20)
``KHENTHUONG_AUDIT_KEY_FILE``              the Ed25519 key signing the audit checkpoints
                                           (PEM; default ``audit-ed25519.pem`` in
                                           ``data_dir``, created on first start, mode 0600)
``KHENTHUONG_AUDIT_CHECKPOINT_MINUTES``    sign a checkpoint of the audit log every so many
                                           minutes (default 60; 0: only on demand)
``KHENTHUONG_AUDIT_ORIGIN``                the log's name in its checkpoints (default
                                           ``khenthuong/<province, ascii>``)
=========================================  ================================================

Without ``KHENTHUONG_CSRF_SECRET`` or ``KHENTHUONG_CSRF_SECRET_FILE`` the CSRF key is kept in
``csrf-secret`` inside ``data_dir`` (created on first start, readable by its owner only), so
the processes sharing a data folder share it; see ``infrastructure.keys``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "SQLITE_FILE_NAME",
    "PostgresTarget",
    "Settings",
    "describe_settings_error",
    "parse_postgres_url",
]

SQLITE_FILE_NAME = "khenthuong.sqlite3"
AUDIT_KEY_FILE_NAME = "audit-ed25519.pem"
MIN_SECRET_LENGTH = 32
SQLITE_LOCK_TIMEOUT_SECONDS = 10
"""How long a SQLite writer waits for another writer's lock before failing."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_URL_EXAMPLE = "postgresql://người_dùng:mật_khẩu@máy_chủ:5432/tên_cơ_sở_dữ_liệu"


@dataclass(frozen=True)
class PostgresTarget:
    """The parts of a PostgreSQL URL; ``repr`` never shows the password."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def __repr__(self) -> str:
        return (
            f"PostgresTarget(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"password='***', dbname={self.dbname!r})"
        )

    def masked_url(self) -> str:
        """The URL to show in logs and messages: the password is replaced by ``***``."""
        return f"postgresql://{self.user}:***@{self.host}:{self.port}/{self.dbname}"


def parse_postgres_url(url: str) -> PostgresTarget:
    """Split ``postgresql://user:password@host:port/dbname``; raise ValueError saying what is wrong.

    The password may be empty (``postgresql://user@host/db`` or ``user:@host``); user and
    password may be percent-encoded. The messages never repeat the URL (it holds the password).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(
            f"KHENTHUONG_POSTGRES_URL không hợp lệ (cổng phải là số 1–65535); dạng đúng: {_URL_EXAMPLE}"
        ) from None
    problems: list[str] = []
    if parts.scheme not in ("postgresql", "postgres"):
        problems.append("phải bắt đầu bằng postgresql://")
    if not parts.hostname:
        problems.append("thiếu tên máy chủ")
    if not parts.username:
        problems.append("thiếu tên người dùng")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        problems.append("thiếu tên cơ sở dữ liệu (phần sau dấu / cuối cùng)")
    if parts.query or parts.fragment:
        problems.append("không hỗ trợ tham số sau dấu ? hoặc #")
    if port == 0:
        problems.append("cổng phải từ 1 đến 65535")
    if problems:
        raise ValueError(
            f"KHENTHUONG_POSTGRES_URL không hợp lệ: {'; '.join(problems)}. Dạng đúng: {_URL_EXAMPLE}"
        )
    return PostgresTarget(
        host=parts.hostname or "",
        port=port or 5432,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        dbname=dbname,
    )


class Settings(BaseSettings):
    """The service's configuration; every field can be set by ``KHENTHUONG_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="KHENTHUONG_",
        env_file=None,
        extra="ignore",
        frozen=True,
        validate_default=True,
        hide_input_in_errors=True,  # an error must never echo the URL (it holds the password)
    )

    store: Literal["sqlite", "postgres"] = "sqlite"
    data_dir: Path = Path("./data")
    postgres_url: SecretStr | None = None
    postgres_pool_size: int = Field(default=10, ge=1, le=100)
    postgres_max_overflow: int = Field(default=10, ge=0, le=100)
    postgres_connect_timeout: int = Field(default=5, ge=1, le=60)
    postgres_lock_timeout: int = Field(default=5, ge=0, le=600)
    postgres_schema: str | None = None
    create_tables: bool = True
    rulebook_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    calendar_file: Path | None = None
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    auth_cache_seconds: int = Field(default=5, ge=0, le=60)
    run_projections: bool = True
    """Run the view projections inside this process (off when ``khenthuong projections run``
    serves them for several API processes)."""
    projection_batch_size: int = Field(default=2_000, ge=1, le=100_000)
    projection_cache_size: int = Field(default=20_000, ge=100, le=10_000_000)
    read_wait_seconds: float = Field(default=2.0, ge=0, le=30)
    """How long a read with ``?after=POSITION`` waits for the views before answering 503."""
    ready_max_lag_events: int = Field(default=1_000, ge=0, le=100_000_000)
    """``/readyz`` reports not ready while a view is more events than this behind the log."""
    province_name: str = Field(default="Cao Bằng", min_length=1, max_length=100)
    """The province, as the public pages name it ("Tỉnh Cao Bằng", "UBND tỉnh Cao Bằng")."""
    csrf_secret: SecretStr | None = None
    """The key signing the public forms' CSRF tokens; the same in every API process."""
    csrf_secret_file: Path | None = None
    """A file whose content is that key (instead of ``csrf_secret``)."""
    public_comments_per_address: int = Field(default=5, ge=1, le=10_000)
    """Public comments one network address may send within ``public_comment_window_seconds``."""
    public_comments_per_dossier: int = Field(default=200, ge=1, le=100_000)
    """Public comments one dossier takes within the window (from every address together)."""
    public_comment_window_seconds: int = Field(default=600, ge=1, le=86_400)
    public_page_size: int = Field(default=20, ge=5, le=100)
    audit_key_file: Path | None = None
    """The Ed25519 private key (PEM) that signs the audit checkpoints; default
    ``data_dir/audit-ed25519.pem`` (see ``audit_key_path``)."""
    audit_checkpoint_minutes: int = Field(default=60, ge=0, le=10_080)
    """Minutes between two signed checkpoints of the audit log (0: only on demand)."""
    audit_origin: str | None = Field(default=None, max_length=200)
    """The audit log's name, the first line of every checkpoint (default from the province)."""

    # --- field checks -------------------------------------------------------------------------

    @field_validator("store", "log_format", mode="before")
    @classmethod
    def _lower_case_choice(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> str:
        level = str(value).strip().upper()
        if level == "WARN":
            level = "WARNING"
        if level not in LOG_LEVELS:
            raise ValueError(f"mức ghi nhật ký phải là một trong {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("postgres_schema", mode="before")
    @classmethod
    def _schema_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and not _SCHEMA.match(value):
                raise ValueError(
                    "tên schema chỉ gồm chữ cái không dấu, chữ số, dấu gạch dưới (tối đa 63 ký tự) "
                    "và không bắt đầu bằng chữ số"
                )
        return value

    @field_validator("postgres_url", mode="before")
    @classmethod
    def _blank_url_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("postgres_url", mode="after")
    @classmethod
    def _well_formed_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_postgres_url(value.get_secret_value())
        return value

    @field_validator("province_name", mode="before")
    @classmethod
    def _province_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = " ".join(unicodedata.normalize("NFC", value).split())
            if value.lower().startswith("tỉnh "):  # "Tỉnh Cao Bằng" → "Cao Bằng"
                value = value[len("tỉnh ") :]
        return value

    @field_validator("csrf_secret", mode="before")
    @classmethod
    def _blank_secret_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("csrf_secret", mode="after")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(f"phải có ít nhất {MIN_SECRET_LENGTH} ký tự")
        return value

    @field_validator("calendar_file", "csrf_secret_file", "audit_key_file", mode="before")
    @classmethod
    def _blank_path_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("audit_origin", mode="before")
    @classmethod
    def _origin_line(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None and (not value.isprintable() or not value.isascii()):
                raise ValueError("chỉ gồm chữ cái không dấu, chữ số và dấu câu, trên một dòng")
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _data_dir_not_a_file(cls, value: Path) -> Path:
        if str(value).strip() == "":
            raise ValueError("không được để trống")
        if value.exists() and not value.is_dir():
            raise ValueError(f"«{value}» đã có nhưng không phải là thư mục")
        return value

    @field_validator("rulebook_files", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """A JSON list (``["a.toml", "b.yaml"]``) or paths separated by ``os.pathsep``."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("danh sách JSON không hợp lệ") from None
            return items
        return [item.strip() for item in text.split(os.pathsep) if item.strip()]

    @model_validator(mode="after")
    def _postgres_needs_url(self) -> Settings:
        if self.store == "postgres" and self.postgres_url is None:
            raise ValueError(
                f"KHENTHUONG_STORE=postgres cần KHENTHUONG_POSTGRES_URL, dạng {_URL_EXAMPLE}"
            )
        return self

    # --- derived values ---------------------------------------------------------------------

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file (inside ``data_dir``, as an absolute path)."""
        return (self.data_dir.expanduser() / SQLITE_FILE_NAME).absolute()

    @property
    def audit_key_path(self) -> Path:
        """The checkpoint signing key's file (``audit_key_file``, or one in ``data_dir``)."""
        if self.audit_key_file is not None:
            return self.audit_key_file.expanduser().absolute()
        return (self.data_dir.expanduser() / AUDIT_KEY_FILE_NAME).absolute()

    @property
    def audit_log_origin(self) -> str:
        """``audit_origin``, or ``khenthuong/`` and the province in plain ASCII
        (``khenthuong/cao-bang``)."""
        if self.audit_origin:
            return self.audit_origin
        text = unicodedata.normalize("NFKD", self.province_name.replace("đ", "d").replace("Đ", "D"))
        plain = "".join(ch for ch in text if ch.isascii()).lower()
        slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "tinh"
        return f"khenthuong/{slug}"

    def postgres_target(self) -> PostgresTarget:
        if self.postgres_url is None:
            raise ValueError("chưa cấu hình KHENTHUONG_POSTGRES_URL")
        return parse_postgres_url(self.postgres_url.get_secret_value())

    def postgres_conninfo(self) -> str | None:
        """A libpq connection string for the process's own connections (locks, LISTEN)."""
        if self.store != "postgres":
            return None
        from psycopg.conninfo import make_conninfo

        target = self.postgres_target()
        return make_conninfo(
            dbname=target.dbname,
            host=target.host,
            port=str(target.port),
            user=target.user,
            password=target.password,
            connect_timeout=str(self.postgres_connect_timeout),
        )

    def store_description(self) -> str:
        """Where the events are kept, safe to show to people and to log (no password)."""
        if self.store == "postgres":
            target = self.postgres_target()
            schema = f" (schema {self.postgres_schema})" if self.postgres_schema else ""
            return f"PostgreSQL {target.masked_url()}{schema}"
        return f"SQLite {self.sqlite_path}"

    def eventsourcing_env(self) -> dict[str, str]:
        """The ``env`` of the applications, in the eventsourcing library's own keys."""
        create = "y" if self.create_tables else "n"
        if self.store == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": str(SQLITE_LOCK_TIMEOUT_SECONDS),
                "CREATE_TABLE": create,
            }
        target = self.postgres_target()
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": target.dbname,
            "POSTGRES_HOST": target.host,
            "POSTGRES_PORT": str(target.port),
            "POSTGRES_USER": target.user,
            "POSTGRES_PASSWORD": target.password,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
            "POSTGRES_LOCK_TIMEOUT": str(self.postgres_lock_timeout),
            "CREATE_TABLE": create,
        }
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env


_MESSAGES = {
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "bool_parsing": "phải là true/false (hoặc 1/0, yes/no)",
    "literal_error": "phải là một trong: {expected}",
    "path_type": "phải là một đường dẫn",
    "list_type": "phải là một danh sách đường dẫn",
    "string_type": "phải là một chuỗi ký tự",
}


def describe_settings_error(error: ValidationError) -> list[str]:
    """One Vietnamese line per problem, naming the environment variable; never the value given."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        location = [str(part) for part in item.get("loc", ()) if not isinstance(part, int)]
        variable = f"KHENTHUONG_{location[0].upper()}" if location else "Cấu hình"
        kind = item.get("type", "")
        if kind == "value_error":
            message = str(item.get("ctx", {}).get("error", item.get("msg", "")))
        elif kind in _MESSAGES:
            context = {
                key: str(value).replace(" or ", " hoặc ")
                for key, value in (item.get("ctx") or {}).items()
            }
            try:
                message = _MESSAGES[kind].format(**context)
            except KeyError:
                message = str(item.get("msg", ""))
        else:
            message = str(item.get("msg", ""))
        if message.startswith("KHENTHUONG_"):
            lines.append(message)
        else:
            lines.append(f"{variable}: {message}")
    return lines
