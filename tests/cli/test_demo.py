"""The demo data set: realistic, complete, deterministic, idempotent, and loaded by the CLI."""

from __future__ import annotations

import io
import os
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from api.cli import main
from application.comments import normalise_receipt_code
from application.demo import (
    COUNCIL,
    HISTORICAL_MOVEMENTS,
    DemoSummary,
    demo_dossier_ids,
    load_demo,
)
from domain.dossier import Dossier, Status
from domain.rulebook import Subject
from domain.shared import VIETNAM_TZ, Actor, Role
from domain.values import CommentStatus
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings

AUDITOR = Actor("kiem-tra", Role.AUDITOR)
ACCOUNT_TOPICS = "domain.accounts:"
FIXED_TODAY = date(2026, 11, 23)


@dataclass
class Loaded:
    data_dir: Path
    today: date
    output: str


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """``khenthuong demo`` run once for the module, into a fresh SQLite store."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    today = datetime.now(VIETNAM_TZ).date()
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("KHENTHUONG_"):
                patch.delenv(name)
        patch.setenv("KHENTHUONG_DATA_DIR", str(data_dir))
        patch.setenv("KHENTHUONG_LOG_FORMAT", "json")
        out, err = io.StringIO(), io.StringIO()  # capsys is function-scoped
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["demo", "--today", today.isoformat()])
        assert code == 0, err.getvalue()
    return Loaded(data_dir=data_dir, today=today, output=out.getvalue())


@pytest.fixture
def services(loaded: Loaded) -> Iterator[Services]:
    with bootstrap(Settings(data_dir=loaded.data_dir)) as opened:
        yield opened


def ignore(_line: str) -> None:
    pass


def all_dossiers(services: Services) -> list[Dossier]:
    return [services.dossiers.get(each, viewer=AUDITOR) for each in demo_dossier_ids()]


# --- what is in it ----------------------------------------------------------------------------


def test_the_demo_holds_at_least_sixty_dossiers_in_every_status(services: Services) -> None:
    dossiers = all_dossiers(services)

    assert len(dossiers) >= 60
    assert {Status(d.status) for d in dossiers} == set(Status)


def test_it_mixes_state_and_provincial_awards_individuals_and_collectives(
    services: Services,
) -> None:
    dossiers = all_dossiers(services)

    assert {d.award.is_state_level for d in dossiers} == {True, False}
    assert {d.nominee.kind for d in dossiers} == {Subject.INDIVIDUAL, Subject.COLLECTIVE}
    assert {d.rulebook_edition for d in dossiers} == {"ND98-2023", "ND152-2025"}


def test_individuals_carry_private_details_and_collectives_none(services: Services) -> None:
    identities = []
    for dossier in all_dossiers(services):
        if dossier.nominee.kind is Subject.COLLECTIVE:
            assert dossier.personal is None
            continue
        personal = dossier.personal
        assert personal is not None
        assert personal.identity_number is not None
        assert len(personal.identity_number) == 12
        assert personal.identity_number.isdigit()
        assert None not in (
            personal.date_of_birth,
            personal.phone,
            personal.email,
            personal.address,
        )
        identities.append(personal.identity_number)
    assert len(identities) == len(set(identities)) > 20


def test_texts_are_vietnamese_in_nfc(services: Services) -> None:
    for dossier in all_dossiers(services):
        for text in (dossier.nominee.name, dossier.nominee.position, dossier.achievements):
            assert unicodedata.normalize("NFC", text) == text
        assert dossier.achievements.count(".") >= 2
    names = {d.nominee.name for d in all_dossiers(services)}
    assert any("ễ" in name or "ạ" in name or "ờ" in name or "ư" in name for name in names)


def test_every_dossier_has_two_to_four_documents_at_submission(services: Services) -> None:
    for dossier_id in demo_dossier_ids():
        first = next(iter(services.dossiers.stored_events(dossier_id)))
        assert 2 <= len(first.documents) <= 4
        assert all(len(document.sha256) == 64 for document in first.documents)


def test_state_level_nominations_took_comments_some_with_contacts(services: Services) -> None:
    comments = [c for d in all_dossiers(services) for c in d.comments.values()]

    assert len(comments) >= 20
    assert any(c.contact for c in comments)
    assert any(c.contact is None for c in comments)


def test_demo_comments_carry_receipt_codes_and_are_moderated(services: Services) -> None:
    dossiers = all_dossiers(services)
    comments = [c for d in dossiers for c in d.comments.values()]
    assert all(normalise_receipt_code(c.comment_id) == c.comment_id for c in comments)
    by_status = Counter(c.status for c in comments)
    assert by_status[CommentStatus.PUBLISHED] >= 20
    (withheld,) = [c for c in comments if c.status is CommentStatus.WITHHELD]
    assert withheld.moderation_reason
    assert "trùng lặp" in withheld.moderation_reason.lower()
    open_now = [d for d in dossiers if d.status is Status.PUBLIC_COMMENT]
    statuses = {c.status for d in open_now for c in d.comments.values()}
    assert statuses == set(CommentStatus)  # the public pages show all three counts
    closed = [d for d in dossiers if d.comment_closed_on is not None]
    assert all(c.status is not CommentStatus.RECEIVED for d in closed for c in d.comments.values())


def test_open_comment_windows_close_after_today(loaded: Loaded, services: Services) -> None:
    published = [d for d in all_dossiers(services) if d.status is Status.PUBLIC_COMMENT]

    assert published
    for dossier in published:
        assert dossier.comment_closes_on is not None
        assert dossier.comment_closes_on > loaded.today


def test_council_members_and_the_revoked_award(services: Services) -> None:
    dossiers = all_dossiers(services)
    voted = {member for d in dossiers for member in d.ballots}
    revoked = [d for d in dossiers if d.status is Status.REVOKED]

    assert voted == {member.user_id for member in COUNCIL}
    assert any(d.conflicts for d in dossiers)
    assert len(revoked) == 1
    assert revoked[0].decision_number is not None
    assert revoked[0].revocation_number is not None


def test_history_lies_in_the_past_on_working_days_in_office_hours_and_in_order(
    loaded: Loaded, services: Services
) -> None:
    recorder = services.dossiers.recorder
    notifications = [  # the demo's accounts and tokens are made today, for real
        n
        for n in recorder.select_notifications(start=1, limit=1_000_000)
        if not n.topic.startswith(ACCOUNT_TOPICS)
    ]
    events = [services.dossiers.mapper.to_domain_event(n) for n in notifications]
    moments = [cast(datetime, event.timestamp).astimezone(VIETNAM_TZ) for event in events]  # type: ignore[attr-defined]

    assert moments == sorted(moments)
    assert moments[0].date() == date(2018, 5, 25)
    for moment in moments:
        assert moment.date() < loaded.today
        assert services.calendar.is_working_day(moment.date()), moment
        minutes = moment.hour * 60 + moment.minute
        assert 7 * 60 + 30 <= minutes < 11 * 60 + 30 or 13 * 60 + 30 <= minutes < 17 * 60


def test_the_four_movements_of_the_2018_letter_are_distinct_and_closed(
    services: Services,
) -> None:
    letter = [plan for plan in HISTORICAL_MOVEMENTS if plan.plan_number.startswith("2457/")]
    movements = [services.movements.get_movement(plan.id, viewer=AUDITOR) for plan in letter]

    assert len({m.id for m in movements}) == 4
    assert all(m.closed and m.issued_on == date(2018, 5, 25) for m in movements)


# --- loading again, elsewhere, through the CLI ---------------------------------------------


def test_running_the_demo_again_writes_nothing(
    loaded: Loaded, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = services.dossiers.recorder.max_notification_id()
    lines: list[str] = []

    summary = load_demo(services.movements, services.dossiers, today=loaded.today, log=lines.append)

    assert services.dossiers.recorder.max_notification_id() == before
    assert summary.created == 0
    assert summary.events_written == 0
    assert sum(summary.by_status.values()) == len(demo_dossier_ids())

    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(loaded.data_dir))
    assert main(["demo"]) == 0
    written = services.dossiers.recorder.select_notifications(start=before + 1, limit=1000)
    assert written  # fresh tokens for the demo accounts (tokens are shown only once)
    assert all(n.topic.startswith(ACCOUNT_TOPICS) for n in written)


def _snapshot(services: Services) -> list[tuple[Any, ...]]:
    return [
        (d.id, d.status, d.nominee, d.personal, d.achievements, d.version, d.modified_on)
        for d in all_dossiers(services)
    ]


def test_the_same_data_every_run(tmp_path: Path) -> None:
    summaries: list[DemoSummary] = []
    snapshots = []
    for name in ("a", "b"):
        with bootstrap(Settings(data_dir=tmp_path / name)) as services:
            summaries.append(
                load_demo(services.movements, services.dossiers, today=FIXED_TODAY, log=ignore)
            )
            snapshots.append(_snapshot(services))

    assert snapshots[0] == snapshots[1]
    assert summaries[0] == summaries[1]


def test_the_demo_refuses_a_reference_date_before_its_own_history(tmp_path: Path) -> None:
    with (
        bootstrap(Settings(data_dir=tmp_path)) as services,
        pytest.raises(ValueError, match="ngày tham chiếu"),
    ):
        load_demo(
            services.movements,
            services.dossiers,
            today=date(2025, 6, 2),
            log=ignore,
        )


def test_the_cli_prints_the_table_by_status(loaded: Loaded) -> None:
    for status in Status:
        assert status.label in loaded.output
    assert "Tổng cộng" in loaded.output


def test_demo_then_history_of_the_revoked_dossier_through_main(
    loaded: Loaded,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    revoked = next(d for d in all_dossiers(services) if d.status is Status.REVOKED)
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(loaded.data_dir))

    assert str(revoked.id) in loaded.output
    assert main(["history", str(revoked.id)]) == 0

    out = capsys.readouterr().out
    assert "Hủy bỏ quyết định khen thưởng" in out
    assert "Quyết định khen thưởng" in out
    assert revoked.nominee.name in out
    assert revoked.personal is not None
    assert str(revoked.personal.identity_number) not in out
    assert str(revoked.personal.phone) not in out


def test_show_history_prints_the_revoked_dossier(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(loaded.data_dir))

    assert main(["demo", "--show-history", "--today", loaded.today.isoformat()]) == 0

    out = capsys.readouterr().out
    assert "Đã có đủ lịch sử của" in out
    assert "Phiên bản" in out
    assert "Hủy bỏ quyết định khen thưởng" in out
