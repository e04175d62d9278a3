"""Signing checkpoints of the audit log (SQLite and PostgreSQL): the key file, the table, the
refusal to sign a tree that does not extend the last checkpoint, the timer."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from application.audit.verifier import key_id, verify_log
from domain.shared import Actor, Role
from infrastructure.audit.checkpoints import (
    AuditKeyError,
    CheckpointTimer,
    InconsistentLog,
    load_signing_key,
)
from infrastructure.audit.stored import StoredHistory
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings
from tests.api.conftest import make_settings, start_clock

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ADMIN = Actor("qt.admin", Role.ADMIN)


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        found = make_settings("sqlite", tmp_path / "data")
    else:
        found = make_settings("postgres", tmp_path, request.getfixturevalue("postgres_schema"))
    return found.model_copy(update={"data_dir": tmp_path / "data", "run_projections": False})


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with bootstrap(settings, clock=start_clock()) as ready:
        yield ready


def launch(services: Services, number: int) -> None:
    services.movements.launch(
        plan_number=f"{number}/KH-UBND",
        title=f"Phong trào thi đua số {number}",
        issuing_body="Ủy ban nhân dân tỉnh Cao Bằng",
        issued_on=date(2025, 1, 2),
        starts_on=date(2025, 1, 2),
        ends_on=date(2026, 12, 31),
        by=ADMIN,
    )


# --- the key ------------------------------------------------------------------------------------


def test_a_new_key_is_written_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "khoa" / "audit.pem"
    key = load_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_signing_key(path).key_id == key.key_id == key_id(key.public)
    assert len(key.key_id) == 16


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_others_can_read_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "audit.pem"
    load_signing_key(path)
    path.chmod(mode)
    with pytest.raises(AuditKeyError, match=f"chmod 600 {path}"):
        load_signing_key(path)


def test_a_missing_key_is_not_created_when_only_read(tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="Chưa có tệp khóa"):
        load_signing_key(tmp_path / "audit.pem", create=False)
    assert not (tmp_path / "audit.pem").exists()


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.pem"
    path.write_text("không phải khóa\n")
    path.chmod(0o600)
    with pytest.raises(AuditKeyError, match="PKCS#8"):
        load_signing_key(path)


def test_opening_the_store_creates_no_key_but_the_first_signing_does(settings: Settings) -> None:
    assert not settings.audit_key_path.exists()
    running = settings.model_copy(update={"run_projections": True})
    with bootstrap(running, clock=start_clock()) as services:
        assert not settings.audit_key_path.exists()  # e.g. `khenthuong users add`
        launch(services, 1)
        services.audit.catch_up()
        assert services.checkpoints.sign() is not None
        assert stat.S_IMODE(settings.audit_key_path.stat().st_mode) == 0o600


def test_the_server_refuses_to_start_with_a_key_others_can_read(settings: Settings) -> None:
    load_signing_key(settings.audit_key_path).path.chmod(0o644)
    running = settings.model_copy(update={"run_projections": True})
    with pytest.raises(AuditKeyError, match="chmod 600"):
        bootstrap(running, clock=start_clock())


def test_settings_name_the_key_and_the_log(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, province_name="Tỉnh Đắk Nông")
    assert settings.audit_key_path == (tmp_path / "audit-ed25519.pem").absolute()
    assert settings.audit_log_origin == "khenthuong/dak-nong"
    assert settings.audit_checkpoint_minutes == 60
    chosen = Settings(audit_key_file=tmp_path / "k.pem", audit_origin="example.vn/khenthuong")
    assert chosen.audit_key_path == tmp_path / "k.pem"
    assert chosen.audit_log_origin == "example.vn/khenthuong"


# --- signing ------------------------------------------------------------------------------------


def test_checkpoints_sign_the_tree_and_verify(services: Services) -> None:
    launch(services, 1)
    services.audit.catch_up()
    first = services.checkpoints.sign()
    launch(services, 2)
    services.audit.catch_up()
    second = services.checkpoints.sign()
    assert first is not None
    assert second is not None
    assert (first.checkpoint.size, second.checkpoint.size) == (1, 2)
    assert second.id > first.id
    assert services.checkpoints.table.latest() == second
    assert services.checkpoints.table.at_size(1) == first
    assert services.checkpoints.table.at_size(3) is None
    assert services.checkpoints.table.all() == [first.checkpoint, second.checkpoint]
    key = services.checkpoints.key().public
    with StoredHistory(services.movements).open() as (events, leaves):
        report = verify_log(events, services.checkpoints.table.all(), {key_id(key): key}, leaves)
    assert report.ok, report.findings


def test_the_timer_signs_only_what_grew_and_only_where_the_tree_is_written(
    services: Services,
) -> None:
    checkpoints = services.checkpoints
    writing = False
    checkpoints.active = lambda: writing
    launch(services, 1)
    services.audit.catch_up()
    assert checkpoints._tick() is None  # another process writes the tree: it signs
    writing = True
    assert checkpoints._tick() is not None
    assert checkpoints._tick() is None  # nothing new since
    launch(services, 2)
    services.audit.catch_up()
    signed = checkpoints._tick()
    assert signed is not None
    assert signed.checkpoint.size == 2


def test_a_tree_that_does_not_extend_the_last_checkpoint_is_not_signed(
    services: Services,
) -> None:
    launch(services, 1)
    launch(services, 2)
    services.audit.catch_up()
    signed = services.checkpoints.sign()
    assert signed is not None
    # a forged "last checkpoint" the tree cannot extend
    forged = replace(signed.checkpoint, size=1, root=bytes(32))
    services.checkpoints.table.add(forged)
    with pytest.raises(InconsistentLog, match="không nối tiếp"):
        services.checkpoints.sign()
    bigger = replace(signed.checkpoint, size=5)
    services.checkpoints.table.add(bigger)
    with pytest.raises(InconsistentLog, match="cắt bớt"):
        services.checkpoints.sign()
    assert len(services.checkpoints.table.all()) == 3  # nothing more was signed


def test_the_timer_thread_ticks_until_stopped() -> None:
    ticks = threading.Semaphore(0)
    timer = CheckpointTimer(ticks.release, 0.01)
    timer.start()
    try:
        for _ in range(3):
            assert ticks.acquire(timeout=5)
    finally:
        timer.stop()


def test_the_public_key_is_served_from_the_store_never_made_up(services: Services) -> None:
    checkpoints = services.checkpoints
    path = services.settings.audit_key_path
    assert not path.exists()
    assert checkpoints.public_key() is None  # a process without the key publishes none
    assert not path.exists()
    launch(services, 1)
    services.audit.catch_up()
    signed = checkpoints.sign()  # the signer creates the key
    assert signed is not None
    path.unlink()  # an API process elsewhere: no key file, the stored public key
    stored = checkpoints.public_key()
    assert stored is not None
    assert key_id(stored) == signed.checkpoint.key_id
    assert checkpoints.public_key(signed.checkpoint.key_id) is not None
    assert checkpoints.public_key("0" * 16) is None
