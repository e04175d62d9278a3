"""The ``khenthuong`` command line: the history table, and clear Vietnamese errors."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from api.cli import main, render_history
from application.history import HistoryEntry
from domain.rulebook import Subject
from domain.shared import Actor, DocumentRef, Role
from domain.values import CommentKind, Nominee, PersonalDetails
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import SQLITE_FILE_NAME, Settings

UNIT = "Sở Giáo dục và Đào tạo tỉnh Cao Bằng"
SUBMITTER = Actor("sgddt.vanthu", Role.SUBMITTER, UNIT)
APPRAISER = Actor("snv.thamdinh01", Role.APPRAISER)
PUBLIC = Actor("cong-thong-tin", Role.PUBLIC)
PRIVATE = ("079190001234", "0912 345 678", "an.nguyen@example.com", "Tổ 3, phường Thục Phán", "0987 654 321")  # fmt: skip


class Clock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Recorded:
    dossier_id: UUID
    data_dir: Path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KHENTHUONG_LOG_FORMAT", "json")


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    """A state-level nomination, published, with one comment carrying a contact."""
    clock = Clock(datetime(2026, 3, 2, 2, 5, tzinfo=UTC))  # Monday 09:05 in Vietnam
    with bootstrap(Settings(data_dir=tmp_path / "data"), clock=clock) as services:
        dossier_id = _nomination(services, clock)
    return Recorded(dossier_id, tmp_path / "data")


def _nomination(services: Services, clock: Clock) -> UUID:
    movement = services.movements.launch(
        plan_number="2255/KH-UBND",
        title="Phong trào thi đua chào mừng 525 năm thành lập tỉnh Cao Bằng",
        issuing_body="UBND tỉnh Cao Bằng",
        issued_on=date(2023, 8, 21),
        starts_on=date(2023, 8, 21),
        ends_on=date(2026, 8, 31),
        by=APPRAISER,
    )
    receipt = services.dossiers.submit(
        movement_id=movement.id,
        award_code="bang_khen_thu_tuong",
        submitting_unit=UNIT,
        nominee=Nominee(
            Subject.INDIVIDUAL, "Nguyễn Văn An", "Hiệu trưởng Trường THPT Chuyên Cao Bằng"
        ),
        personal=PersonalDetails(
            identity_number=PRIVATE[0],
            date_of_birth=date(1975, 4, 12),
            phone=PRIVATE[1],
            email=PRIVATE[2],
            address=PRIVATE[3],
        ),
        achievements="Nhiều năm liền hoàn thành xuất sắc nhiệm vụ.",
        documents=[DocumentRef("Tờ trình.pdf", "ab" * 32, 2048)],
        by=SUBMITTER,
    )
    clock.moment += timedelta(hours=1)
    closes_on = services.calendar.add_working_days(date(2026, 3, 2), 10)
    receipt = services.dossiers.open_public_comment(
        receipt.id, closes_on=closes_on, by=APPRAISER, expected_version=receipt.version
    )
    clock.moment += timedelta(days=1)
    services.dossiers.receive_comment(
        receipt.id,
        kind=CommentKind.SUPPORT,
        text="Tôi đồng tình với đề nghị khen thưởng.",
        author_name="Trần Thị Bình",
        contact=PRIVATE[4],
        by=PUBLIC,
    )
    return receipt.id


# --- the history table ------------------------------------------------------------------------


def test_history_prints_a_table_in_vietnam_time_with_labels_and_actors(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["history", str(recorded.dossier_id)])

    out = capsys.readouterr().out
    assert code == 0
    assert "Nguyễn Văn An" in out
    assert "Bằng khen của Thủ tướng Chính phủ" in out
    table = out[out.index("Phiên bản") :].splitlines()
    header, _rule, *rows = table
    assert header.split()[:2] == ["Phiên", "bản"]
    assert len(rows) == 3
    submitted, opened, comment = rows
    assert submitted.split()[:3] == ["1", "02/03/2026", "09:05"]
    assert "Tiếp nhận hồ sơ đề nghị" in submitted
    assert "Đơn vị trình · sgddt.vanthu" in submitted
    assert opened.split()[:3] == ["2", "02/03/2026", "10:05"]
    assert "Chuyên viên thẩm định (Sở Nội vụ) · snv.thamdinh01" in opened
    assert "Lấy ý kiến đến hết ngày 16/03/2026" in opened
    assert comment.split()[:3] == ["3", "03/03/2026", "10:05"]
    assert "Đồng tình: Tôi đồng tình với đề nghị khen thưởng." in comment


def test_history_columns_are_aligned(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["history", str(recorded.dossier_id)])

    out = capsys.readouterr().out
    _header, rule, *rows = out[out.index("Phiên bản") :].splitlines()
    starts = [index + 2 for index, char in enumerate(rule) if rule[index : index + 3] == "  -"]
    assert len(starts) == 4
    for row in rows:
        for start in starts:
            assert row[start - 2 : start] == "  "
            assert row[start] != " "


def test_history_never_shows_personal_details(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["history", str(recorded.dossier_id)])

    captured = capsys.readouterr()
    for value in PRIVATE:
        assert value not in captured.out
        assert value not in captured.err


def test_render_history_redacts_private_fields_even_in_the_fallback_summary() -> None:
    entry = HistoryEntry(
        version=7,
        event="SomethingNew",
        label="Sự kiện mới",
        at=datetime(2026, 3, 2, 17, 30, tzinfo=UTC),
        actor=APPRAISER,
        actor_role_label="Chuyên viên thẩm định (Sở Nội vụ)",
        data={"contact": "0912 345 678", "personal": {"phone": "0912"}, "note": "ghi chú"},
    )

    (line,) = render_history([entry])[2:]

    assert line.split()[:3] == ["7", "03/03/2026", "00:30"]
    assert "0912" not in line
    assert "contact=[ẩn]" in line
    assert "note=ghi chú" in line


# --- errors ---------------------------------------------------------------------------------


def test_an_unknown_dossier_is_reported_in_vietnamese(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["history", "00000000-0000-4000-8000-000000000000"])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("Lỗi: Không tìm thấy hồ sơ")
    assert "Traceback" not in captured.err


def test_a_malformed_dossier_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["history", "hồ-sơ-số-1"])

    captured = capsys.readouterr()
    assert code == 2
    assert "không đúng định dạng UUID" in captured.err
    assert "Traceback" not in captured.err


def test_invalid_settings_name_the_variable_and_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")
    monkeypatch.setenv("KHENTHUONG_POSTGRES_URL", "postgresql://u:bí-mật@máy-chủ:99999/db")

    code = main(["history", "00000000-0000-4000-8000-000000000000"])

    captured = capsys.readouterr()
    assert code == 3
    assert "KHENTHUONG_POSTGRES_URL" in captured.err
    assert "bí-mật" not in captured.err
    assert "Traceback" not in captured.err


def test_a_bad_rulebook_file_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rulebook = tmp_path / "tinh.toml"
    rulebook.write_text('edition = "X"\n', encoding="utf-8")
    monkeypatch.setenv("KHENTHUONG_RULEBOOK_FILES", str(rulebook))

    code = main(["history", "00000000-0000-4000-8000-000000000000"])

    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.startswith("Lỗi: Cấu hình không hợp lệ")
    assert "tinh.toml" in captured.err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_database_exits_4_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")
    monkeypatch.setenv(
        "KHENTHUONG_POSTGRES_URL", f"postgresql://khenthuong:pa55word@127.0.0.1:{_closed_port()}/x"
    )
    monkeypatch.setenv("KHENTHUONG_POSTGRES_CONNECT_TIMEOUT", "1")

    code = main(["history", "00000000-0000-4000-8000-000000000000"])

    captured = capsys.readouterr()
    assert code == 4
    assert captured.err.startswith("Lỗi: Không truy cập được kho sự kiện (PostgreSQL")
    assert "pa55word" not in captured.err
    assert "Traceback" not in captured.err


def test_the_data_dir_is_created_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "mới" / "dữ liệu"
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(data_dir))

    main(["history", "00000000-0000-4000-8000-000000000000"])

    assert (data_dir / SQLITE_FILE_NAME).is_file()


def test_version_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("khenthuong ")
    assert main([]) == 2
    assert "Lỗi:" in capsys.readouterr().err
    assert main(["demo", "--today", "hôm nay"]) == 2


def test_services_share_one_store_and_close_as_a_context_manager(tmp_path: Path) -> None:
    with bootstrap(Settings(data_dir=tmp_path / "kho")) as services:
        assert services.dossiers.recorder is services.movements.recorder
        assert services.rulebooks.in_force(date(2026, 1, 1)).edition == "ND152-2025"
        assert services.calendar.is_working_day(date(2026, 3, 2))
    assert services.movements.closing.is_set()
