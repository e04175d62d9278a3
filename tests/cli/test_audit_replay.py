"""``khenthuong audit replay``: the demo data give no findings; a breach written below the
domain is printed in a Vietnamese table, written as JSON, and makes the exit status 1."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest

from api.cli import main
from domain.dossier import Dossier
from domain.rulebook import Subject
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role, local_date
from domain.values import Nominee, PersonalDetails
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

UNIT = "Sở Giáo dục và Đào tạo tỉnh Cao Bằng"
SUBMITTER = Actor("sgddt.vanthu", Role.SUBMITTER, UNIT)
APPRAISER = Actor("snv.thamdinh01", Role.APPRAISER)
HEADINGS = ("Hồ sơ", "Vị trí", "Phiên bản", "Sự kiện", "Quy tắc", "Yêu cầu", "Thực tế")


def _clean(patch: pytest.MonkeyPatch, data_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            patch.delenv(name)
    patch.setenv("KHENTHUONG_DATA_DIR", str(data_dir))
    patch.setenv("KHENTHUONG_LOG_FORMAT", "json")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``khenthuong demo`` run once for the module, into a fresh SQLite store."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    with pytest.MonkeyPatch.context() as patch:
        _clean(patch, data_dir)
        out, err = io.StringIO(), io.StringIO()  # capsys is function-scoped
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["demo", "--today", datetime.now(VIETNAM_TZ).date().isoformat()])
        assert code == 0, err.getvalue()
    return data_dir


class Clock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def breached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[UUID, int]:
    """A provincial certificate, appraised, then "approved" below the domain by an appraiser
    with a number off the pattern: (dossier id, version of the forged decision)."""
    data_dir = tmp_path / "data"
    _clean(monkeypatch, data_dir)
    clock = Clock(datetime(2026, 3, 2, 2, 5, tzinfo=UTC))  # Monday 09:05 in Vietnam
    with bootstrap(Settings(data_dir=data_dir), clock=clock, run_projections=False) as services:
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
            award_code="bang_khen_chu_tich_tinh",
            submitting_unit=UNIT,
            nominee=Nominee(Subject.INDIVIDUAL, "Nguyễn Văn An", "Giáo viên"),
            personal=PersonalDetails(identity_number="079190001234"),
            achievements="Hoàn thành xuất sắc nhiệm vụ năm học.",
            documents=[DocumentRef("to-trinh.pdf", "a" * 64, 1_000)],
            by=SUBMITTER,
        )
        services.dossiers.appraise(
            receipt.id, qualified=True, opinion="Đủ điều kiện.", by=APPRAISER, expected_version=1
        )
        dossier: Dossier = services.dossiers.repository.get(receipt.id)
        dossier._on_approved(
            decision_number="12/QD-UBND",
            decision_date=local_date(clock()),
            by=APPRAISER,
            timestamp=clock(),
        )
        services.dossiers.save(dossier)
    return receipt.id, dossier.version


def test_the_demo_data_give_no_findings(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean(monkeypatch, demo_dir)

    assert main(["audit", "replay"]) == 0
    assert "không có vi phạm" in capsys.readouterr().out

    assert main(["audit", "replay", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == []
    assert report["dossiers"] >= 60


def test_a_breach_is_shown_in_a_vietnamese_table_and_written_as_json(
    breached: tuple[UUID, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dossier_id, version = breached
    target = tmp_path / "replay.json"

    assert main(["audit", "replay", "--json", str(target)]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [word for heading in HEADINGS for word in heading.split()]
    rows = [line for line in lines if line.startswith(str(dossier_id))]
    assert [row.split()[2:5] for row in rows] == [
        [str(version), "Quyết", "định"],
        [str(version), "Quyết", "định"],
    ]
    assert "signer_role" in rows[0]
    assert "decision_number_format" in rows[1]
    assert lines[-1].endswith("2 vi phạm.")
    report = json.loads(target.read_text(encoding="utf-8"))
    assert [(f["dossier_id"], f["version"], f["event"], f["rule"]) for f in report["findings"]] == [
        (str(dossier_id), version, "Approved", "signer_role"),
        (str(dossier_id), version, "Approved", "decision_number_format"),
    ]
    assert report["by_rule"] == {"signer_role": 1, "decision_number_format": 1}


def test_json_on_stdout_replaces_the_table(
    breached: tuple[UUID, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "replay", "--json", "-"]) == 1

    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["findings"]) == 2
    assert captured.err.strip().endswith("2 vi phạm.")


def test_an_unwritable_json_file_is_a_clear_error(
    breached: tuple[UUID, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "replay", "--json", str(tmp_path / "missing" / "x.json")]) == 1
    assert "Không ghi được tệp JSON" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["audit"], ["audit", "replay", "--json"]])
def test_wrong_usage_exits_with_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "Lỗi:" in capsys.readouterr().err
