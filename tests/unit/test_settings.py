"""Settings: KHENTHUONG_ variables mapped onto eventsourcing's keys, validated, never leaking."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr, ValidationError

from infrastructure.logging import configure_logging
from infrastructure.settings import (
    SQLITE_FILE_NAME,
    Settings,
    describe_settings_error,
    parse_postgres_url,
)

SECRET = "s3cr%40t-pa55"
URL = f"postgresql://khenthuong:{SECRET}@db.example.vn:6543/tinh"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own KHENTHUONG_ variables must not change what these tests see."""
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)


def refusal(**values: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    return caught.value


# --- mapping ----------------------------------------------------------------------------------


def test_the_default_store_is_a_sqlite_file_inside_the_data_dir(tmp_path: Path) -> None:
    env = Settings(data_dir=tmp_path / "data").eventsourcing_env()

    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "data" / SQLITE_FILE_NAME)
    assert int(env["SQLITE_LOCK_TIMEOUT"]) > 0
    assert env["CREATE_TABLE"] == "y"


def test_a_relative_data_dir_becomes_an_absolute_sqlite_path() -> None:
    path = Path(Settings(data_dir=Path("data")).eventsourcing_env()["SQLITE_DBNAME"])

    assert path.is_absolute()
    assert path.name == SQLITE_FILE_NAME


def test_a_postgres_url_maps_onto_the_library_keys() -> None:
    settings = Settings(
        store="postgres",
        postgres_url=SecretStr(URL),
        postgres_pool_size=20,
        postgres_max_overflow=5,
        postgres_connect_timeout=3,
        postgres_lock_timeout=7,
        postgres_schema="khenthuong",
        create_tables=False,
    )

    assert settings.eventsourcing_env() == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "tinh",
        "POSTGRES_HOST": "db.example.vn",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "khenthuong",
        "POSTGRES_PASSWORD": "s3cr@t-pa55",
        "POSTGRES_POOL_SIZE": "20",
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_CONNECT_TIMEOUT": "3",
        "POSTGRES_LOCK_TIMEOUT": "7",
        "POSTGRES_SCHEMA": "khenthuong",
        "CREATE_TABLE": "n",
    }


@pytest.mark.parametrize(
    "url", ["postgresql://khenthuong@localhost/tinh", "postgres://khenthuong:@localhost/tinh"]
)
def test_an_empty_password_is_allowed_and_the_port_defaults_to_5432(url: str) -> None:
    env = Settings(store="postgres", postgres_url=SecretStr(url)).eventsourcing_env()

    assert env["POSTGRES_PASSWORD"] == ""
    assert env["POSTGRES_PORT"] == "5432"
    assert "POSTGRES_SCHEMA" not in env


def test_settings_come_from_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")
    monkeypatch.setenv("KHENTHUONG_POSTGRES_URL", URL)
    monkeypatch.setenv("KHENTHUONG_POSTGRES_POOL_SIZE", "12")
    monkeypatch.setenv("KHENTHUONG_CREATE_TABLES", "false")
    monkeypatch.setenv("KHENTHUONG_LOG_LEVEL", "warn")
    monkeypatch.setenv("KHENTHUONG_CALENDAR_FILE", str(tmp_path / "swaps.toml"))

    settings = Settings()

    assert settings.store == "postgres"
    assert settings.postgres_pool_size == 12
    assert settings.create_tables is False
    assert settings.log_level == "WARNING"
    assert settings.calendar_file == tmp_path / "swaps.toml"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["a.toml", "b.yaml"]', [Path("a.toml"), Path("b.yaml")]),
        (f"a.toml{os.pathsep}rules/b.yml", [Path("a.toml"), Path("rules/b.yml")]),
        ("", []),
    ],
)
def test_rulebook_files_are_a_json_list_or_paths_separated_like_path(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: list[Path]
) -> None:
    monkeypatch.setenv("KHENTHUONG_RULEBOOK_FILES", value)

    assert Settings().rulebook_files == expected


def test_building_the_env_never_touches_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")
    monkeypatch.setenv("KHENTHUONG_POSTGRES_URL", URL)
    before = dict(os.environ)

    Settings().eventsourcing_env()

    assert dict(os.environ) == before
    assert not any(key.startswith(("POSTGRES_", "SQLITE_", "PERSISTENCE")) for key in os.environ)


# --- validation -----------------------------------------------------------------------------


def test_the_postgres_store_needs_a_url() -> None:
    problems = describe_settings_error(refusal(store="postgres"))

    assert len(problems) == 1
    assert "KHENTHUONG_POSTGRES_URL" in problems[0]


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://khenthuong:{SECRET}@localhost/tinh",
        f"postgresql://khenthuong:{SECRET}@/tinh",
        f"postgresql://:{SECRET}@localhost/tinh",
        f"postgresql://khenthuong:{SECRET}@localhost/",
        f"postgresql://khenthuong:{SECRET}@localhost:99999/tinh",
        f"postgresql://khenthuong:{SECRET}@localhost:port/tinh",
        f"postgresql://khenthuong:{SECRET}@localhost/tinh?sslmode=require",
    ],
)
def test_a_malformed_postgres_url_is_refused_without_echoing_it(url: str) -> None:
    error = refusal(store="postgres", postgres_url=url)
    problems = describe_settings_error(error)

    assert any("KHENTHUONG_POSTGRES_URL" in problem for problem in problems)
    for text in (str(error), repr(error), *problems):
        assert SECRET not in text
        assert "pa55" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("postgres_pool_size", 0),
        ("postgres_pool_size", 101),
        ("postgres_max_overflow", -1),
        ("postgres_max_overflow", 101),
        ("postgres_connect_timeout", 0),
        ("postgres_connect_timeout", 61),
        ("postgres_lock_timeout", -1),
        ("postgres_lock_timeout", 601),
    ],
)
def test_pool_sizes_and_timeouts_have_bounds(field: str, value: int) -> None:
    problems = describe_settings_error(refusal(**{field: value}))

    assert problems == [problems[0]]
    assert problems[0].startswith(f"KHENTHUONG_{field.upper()}: phải")


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"store": "mongodb"}, "KHENTHUONG_STORE"),
        ({"log_format": "xml"}, "KHENTHUONG_LOG_FORMAT"),
        ({"log_level": "LOUD"}, "KHENTHUONG_LOG_LEVEL"),
        ({"postgres_schema": "1; DROP TABLE"}, "KHENTHUONG_POSTGRES_SCHEMA"),
        ({"postgres_pool_size": "mười"}, "KHENTHUONG_POSTGRES_POOL_SIZE"),
    ],
)
def test_each_problem_names_its_variable_in_vietnamese(
    values: dict[str, object], variable: str
) -> None:
    (problem,) = describe_settings_error(refusal(**values))

    assert problem.startswith(f"{variable}: ")
    assert "Input should" not in problem


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "data"
    file.write_text("không phải thư mục", encoding="utf-8")

    (problem,) = describe_settings_error(refusal(data_dir=file))

    assert problem.startswith("KHENTHUONG_DATA_DIR: ")


def test_the_password_never_appears_in_repr_or_descriptions() -> None:
    settings = Settings(store="postgres", postgres_url=SecretStr(URL))

    for text in (repr(settings), str(settings), settings.store_description()):
        assert "pa55" not in text
    assert repr(settings.postgres_target()).count("pa55") == 0
    assert settings.store_description() == (
        "PostgreSQL postgresql://khenthuong:***@db.example.vn:6543/tinh"
    )


def test_parse_postgres_url_decodes_user_and_password() -> None:
    target = parse_postgres_url("postgresql://ng%C6%B0%E1%BB%9Di:p%3Aw@h:1/db")

    assert (target.user, target.password, target.host, target.port, target.dbname) == (
        "người",
        "p:w",
        "h",
        1,
        "db",
    )


# --- logging ----------------------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    configure_logging(Settings(log_format="json"))  # back to stderr for the other tests


def test_json_logs_carry_utc_timestamp_level_event_and_bound_keys(log_stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json", log_level="INFO"), stream=log_stream)

    structlog.get_logger("test").bind(request_id="r-1").info("đã khởi động", store="SQLite")
    logging.getLogger("eventsourcing").warning("thư viện %s", "cảnh báo")
    logging.getLogger("eventsourcing").debug("không ghi ở mức INFO")

    first, second = (json.loads(line) for line in log_stream.getvalue().splitlines())
    assert first["event"] == "đã khởi động"
    assert first["level"] == "info"
    assert first["request_id"] == "r-1"
    assert first["store"] == "SQLite"
    assert first["timestamp"].endswith("Z")
    assert second["event"] == "thư viện cảnh báo"
    assert second["level"] == "warning"


def test_logs_never_carry_secrets_or_personal_fields(log_stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="json"), stream=log_stream)

    structlog.get_logger("test").info(
        "kết nối",
        password="pa55",
        postgres_url=URL,
        personal={"identity_number": "067123456789"},
        nominee={"name": "Nguyễn Văn An", "phone": "0912 345 678"},
        detail=f"postgresql://khenthuong:{SECRET}@db/tinh",
    )
    logging.getLogger("psycopg").error("lỗi %s", f"postgresql://u:{SECRET}@h/db")

    text = log_stream.getvalue()
    assert "pa55" not in text
    assert "067123456789" not in text
    assert "0912 345 678" not in text
    assert "Nguyễn Văn An" in text


def test_auto_format_is_json_when_stderr_is_not_a_terminal(log_stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="auto"), stream=log_stream)

    structlog.get_logger("test").info("xin chào")

    assert json.loads(log_stream.getvalue())["event"] == "xin chào"


def test_console_format_is_readable_text(log_stream: io.StringIO) -> None:
    configure_logging(Settings(log_format="console"), stream=log_stream)

    structlog.get_logger("test").info("xin chào", phone="0912 345 678")

    line = log_stream.getvalue()
    assert "xin chào" in line
    assert "0912 345 678" not in line
    assert not line.startswith("{")


def test_uvicorn_colour_copies_of_messages_are_dropped_from_the_logs() -> None:
    import io
    import logging

    from infrastructure.logging import configure_logging
    from infrastructure.settings import Settings

    stream = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=stream)
    logging.getLogger("uvicorn.error").info(
        "Started", extra={"color_message": "\x1b[32mStarted\x1b[0m"}
    )
    line = stream.getvalue().strip().splitlines()[-1]
    assert "color_message" not in line
    assert "\x1b" not in line
