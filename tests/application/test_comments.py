"""Public comments through the use cases, on every store: receipt codes as comment ids,
moderation by the appraiser with the caller's version, and the comments list with the contact
for the appraiser only."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from application.comments import (
    RECEIPT_ALPHABET,
    format_receipt_code,
    new_receipt_code,
    normalise_receipt_code,
)
from application.errors import NotFound, PermissionDenied, VersionConflict
from application.history import REDACTED
from application.store import Receipt
from domain.errors import CommentNotFound, InvalidValue
from domain.values import CommentKind, CommentStatus
from tests.application.flows import appraise, local_today
from tests.application.support import (
    APPRAISER,
    AUDITOR,
    CHAIRMAN,
    PUBLIC,
    SUBMITTER,
    World,
    submit,
)

STATE = "bang_khen_thu_tuong"


def published_for_comment(world: World) -> Receipt:
    receipt = submit(world, STATE)
    return world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=receipt.version,
    )


def citizen_comment(world: World, receipt: Receipt, code: str | None = None) -> Receipt:
    return world.dossiers.receive_comment(
        receipt.id,
        kind=CommentKind.OBJECTION,
        text="Tôi đề nghị làm rõ thành tích năm 2025.",
        author_name="Hoàng Văn Nam",
        contact="0987 654 321",
        by=PUBLIC,
        comment_id=code,
    )


# --- receipt codes ------------------------------------------------------------------------------


def test_a_receipt_code_has_twelve_unambiguous_characters_shown_in_three_groups() -> None:
    codes = {new_receipt_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 12
        assert set(code) <= set(RECEIPT_ALPHABET)
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", format_receipt_code(code))
    assert not set("01ILOU") & set(RECEIPT_ALPHABET)


def test_a_receipt_code_is_found_whatever_its_case_dashes_or_blanks() -> None:
    code = new_receipt_code()
    shown = format_receipt_code(code)
    for typed in (code, shown, shown.lower(), f"  {shown[:4]} {shown[5:9]} {shown[10:]} "):
        assert normalise_receipt_code(typed) == code
    for wrong in ("", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "0000-1111-OOOO", "x" * 200, None):
        assert normalise_receipt_code(wrong) is None


def test_a_comment_without_an_id_gets_a_receipt_code(world: World) -> None:
    receipt = citizen_comment(world, published_for_comment(world))
    dossier = world.dossiers.get(receipt.id, viewer=APPRAISER)
    (comment_id,) = dossier.comments
    assert normalise_receipt_code(comment_id) == comment_id


# --- moderation ---------------------------------------------------------------------------------


def test_the_appraiser_publishes_then_withholds_a_comment_and_both_stay_in_the_history(
    world: World,
) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    receipt = world.dossiers.moderate_comment(
        receipt.id,
        code,
        decision=CommentStatus.PUBLISHED,
        reason="",
        by=APPRAISER,
        expected_version=receipt.version,
    )
    world.clock.advance(days=1)
    receipt = world.dossiers.moderate_comment(
        receipt.id,
        format_receipt_code(code).lower(),  # as the commenter wrote it on a letter
        decision=CommentStatus.WITHHELD,
        reason="Người gửi đề nghị không công bố.",
        by=APPRAISER,
        expected_version=receipt.version,
    )
    assert receipt.version == 5

    comment = world.dossiers.get(receipt.id, viewer=APPRAISER).comments[code]
    assert comment.status is CommentStatus.WITHHELD
    assert comment.moderation_reason == "Người gửi đề nghị không công bố."
    assert comment.moderated_on == local_today(world)
    history = world.dossiers.history(receipt.id, viewer=AUDITOR)
    moderated = [entry for entry in history if entry.event == "CommentModerated"]
    assert [entry.label for entry in moderated] == ["Kiểm duyệt ý kiến Nhân dân"] * 2
    assert [(e.data["decision"], e.data["reason"]) for e in moderated] == [
        ("published", ""),
        ("withheld", "Người gửi đề nghị không công bố."),
    ]


def test_a_moderation_on_a_stale_version_is_refused(world: World) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    with pytest.raises(VersionConflict):
        world.dossiers.moderate_comment(
            receipt.id,
            code,
            decision=CommentStatus.PUBLISHED,
            reason="",
            by=APPRAISER,
            expected_version=receipt.version - 1,
        )


def test_withholding_without_a_reason_or_an_unknown_comment_is_refused(world: World) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    with pytest.raises(InvalidValue):
        world.dossiers.moderate_comment(
            receipt.id,
            code,
            decision=CommentStatus.WITHHELD,
            reason=" ",
            by=APPRAISER,
            expected_version=receipt.version,
        )
    with pytest.raises(CommentNotFound):
        world.dossiers.moderate_comment(
            receipt.id,
            new_receipt_code(),
            decision=CommentStatus.PUBLISHED,
            reason="",
            by=APPRAISER,
            expected_version=receipt.version,
        )
    with pytest.raises(NotFound):
        world.dossiers.moderate_comment(
            uuid4(),
            code,
            decision=CommentStatus.PUBLISHED,
            reason="",
            by=APPRAISER,
            expected_version=1,
        )
    assert world.dossiers.get(receipt.id, viewer=APPRAISER).version == receipt.version


@pytest.mark.parametrize("who", [CHAIRMAN, AUDITOR, SUBMITTER, PUBLIC])
def test_only_the_appraiser_moderates(world: World, who: object) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    with pytest.raises(PermissionDenied):
        world.dossiers.moderate_comment(
            receipt.id,
            code,
            decision=CommentStatus.PUBLISHED,
            reason="",
            by=who,  # type: ignore[arg-type]
            expected_version=receipt.version,
        )


# --- the comments list ---------------------------------------------------------------------------


def test_the_comments_list_shows_the_contact_to_the_appraiser_only(world: World) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    receipt = world.dossiers.moderate_comment(
        receipt.id,
        code,
        decision=CommentStatus.WITHHELD,
        reason="Trùng lặp.",
        by=APPRAISER,
        expected_version=receipt.version,
    )

    seen = world.dossiers.comments(receipt.id, viewer=APPRAISER)
    assert seen.version == receipt.version
    (entry,) = seen.comments
    assert entry == {
        "comment_id": code,
        "receipt_code": format_receipt_code(code),
        "kind": "objection",
        "text": "Tôi đề nghị làm rõ thành tích năm 2025.",
        "author_name": "Hoàng Văn Nam",
        "contact": "0987 654 321",
        "received_on": local_today(world).isoformat(),
        "status": "withheld",
        "moderation_reason": "Trùng lặp.",
        "moderated_on": local_today(world).isoformat(),
        "answer": None,
    }
    (audited,) = world.dossiers.comments(receipt.id, viewer=AUDITOR).comments
    assert audited == {**entry, "contact": REDACTED}
    for who in (CHAIRMAN, SUBMITTER):
        with pytest.raises(PermissionDenied):
            world.dossiers.comments(receipt.id, viewer=who)


def test_the_comments_list_carries_the_appraisals_answer(world: World) -> None:
    code = new_receipt_code()
    receipt = citizen_comment(world, published_for_comment(world), code)
    closes_on = world.dossiers.get(receipt.id, viewer=APPRAISER).comment_closes_on
    assert closes_on is not None
    world.clock.set_local(world.calendar.add_working_days(closes_on, 1))
    receipt = world.dossiers.close_public_comment(
        receipt.id, by=APPRAISER, expected_version=receipt.version
    )
    receipt = appraise(world, receipt)
    (entry,) = world.dossiers.comments(receipt.id, viewer=APPRAISER).comments
    assert entry["answer"] == {"disposition": "noted", "reason": "Tiếp thu ý kiến."}
    assert entry["status"] == "received"
