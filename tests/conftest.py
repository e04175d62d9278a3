"""Shared fixtures: a real PostgreSQL server when one is reachable, otherwise a clear skip."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

POSTGRES_URL = os.environ.get(
    "KHENTHUONG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SKIP_MESSAGE = (
    "PostgreSQL is not reachable at {url} ({error}); the PostgreSQL tests are skipped. "
    "Start a server or set KHENTHUONG_TEST_POSTGRES_URL."
)


@dataclass(frozen=True)
class PostgresDatabase:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def env(self, schema: str | None = None) -> dict[str, str]:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "10",
        }
        if schema:
            env["POSTGRES_SCHEMA"] = schema
        return env

    def url(self) -> str:
        auth = self.user if not self.password else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """A throwaway database on the local server, dropped at the end of the session."""
    import psycopg
    from psycopg import sql

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        message = SKIP_MESSAGE.format(url=POSTGRES_URL, error=first_line)
        if os.environ.get("KHENTHUONG_REQUIRE_POSTGRES") == "1":
            pytest.fail("KHENTHUONG_REQUIRE_POSTGRES=1 but " + message)
        pytest.skip(message)
    info = admin.info
    dbname = f"khenthuong_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        yield PostgresDatabase(
            host=info.host,
            port=info.port,
            user=info.user,
            password=info.password or "",
            dbname=dbname,
        )
    finally:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        admin.close()


@pytest.fixture
def postgres_schema(postgres_database: PostgresDatabase) -> Iterator[dict[str, str]]:
    """A fresh schema per test in the session's database: the eventsourcing env for it."""
    import psycopg
    from psycopg import sql

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield postgres_database.env(schema)
    finally:
        with psycopg.connect(postgres_database.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
