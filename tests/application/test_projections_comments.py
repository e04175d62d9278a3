"""The comments view and the consultation's counts follow moderation, on every store; the
public reads give a dossier's published comments with their answers and find any comment by
its receipt code; no commenter's contact ever reaches a view table."""

from __future__ import annotations

from datetime import date
from typing import Any

from application.comments import format_receipt_code, new_receipt_code
from application.projections.views import Comments
from application.store import Receipt
from domain.values import CommentKind, CommentStatus
from infrastructure.views.reads import ViewReads
from tests.application.flows import appraise, local_today
from tests.application.projection_helpers import (
    assert_equals_rebuild,
    dump,
    runner,
    view_database,
)
from tests.application.support import APPRAISER, PUBLIC, World, submit

CONTACTS = ("0987 654 321", "nam.hoang@example.vn", "Thôn Nà Pồng, xã Trùng Khánh")
TEXTS = (
    "Tôi ủng hộ đề nghị khen thưởng.",
    "Nội dung trùng với ý kiến trước.",
    "Đề nghị làm rõ thành tích năm 2025.",
)


def commented(world: World) -> tuple[Receipt, list[str]]:
    """A state-level nomination published on Monday 2 March 2026 with three comments."""
    receipt = submit(world, "bang_khen_thu_tuong")
    receipt = world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=receipt.version,
    )
    codes = [new_receipt_code() for _ in TEXTS]
    kinds = (CommentKind.SUPPORT, CommentKind.SUPPORT, CommentKind.OBJECTION)
    for code, kind, text, contact in zip(codes, kinds, TEXTS, CONTACTS, strict=True):
        world.clock.advance(hours=1)
        receipt = world.dossiers.receive_comment(
            receipt.id,
            kind=kind,
            text=text,
            author_name="Hoàng Văn Nam" if kind is CommentKind.OBJECTION else None,
            contact=contact,
            by=PUBLIC,
            comment_id=code,
        )
    return receipt, codes


def moderate(
    world: World, receipt: Receipt, code: str, decision: CommentStatus, reason: str = ""
) -> Receipt:
    world.clock.advance(hours=1)
    return world.dossiers.moderate_comment(
        receipt.id,
        code,
        decision=decision,
        reason=reason,
        by=APPRAISER,
        expected_version=receipt.version,
    )


def consultation(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    (row,) = rows["view_consultation"]
    return {key: row[key] for key in ("comments_received", "version")} | {
        "published": row["comments_published"],
        "withheld": row["comments_withheld"],
    }


def test_each_comment_has_a_row_with_its_moderation_and_the_consultation_counts_it(
    world: World,
) -> None:
    database = view_database(world.movements, world.calendar)
    live = runner(database, batch_size=3)
    receipt, (first, second, third) = commented(world)
    live.run_until_caught_up()
    assert consultation(dump(database)) == {
        "comments_received": 3,
        "published": 0,
        "withheld": 0,
        "version": 5,
    }

    receipt = moderate(world, receipt, first, CommentStatus.PUBLISHED)
    receipt = moderate(world, receipt, second, CommentStatus.WITHHELD, "Trùng lặp.")
    live.run_until_caught_up()
    rows = dump(database)
    assert consultation(rows) == {
        "comments_received": 3,
        "published": 1,
        "withheld": 1,
        "version": 7,
    }
    monday = date(2026, 3, 2)
    assert sorted(rows["view_comments"], key=lambda row: row["number"]) == [
        {
            "comment_id": first,
            "dossier_id": receipt.id,
            "number": 1,
            "kind": "support",
            "text": TEXTS[0],
            "author_name": None,
            "received_on": monday,
            "status": "published",
            "moderated_on": monday,
            "answer_disposition": None,
            "answer_reason": None,
            "answered_on": None,
        },
        {
            "comment_id": second,
            "dossier_id": receipt.id,
            "number": 2,
            "kind": "support",
            "text": TEXTS[1],
            "author_name": None,
            "received_on": monday,
            "status": "withheld",
            "moderated_on": monday,
            "answer_disposition": None,
            "answer_reason": None,
            "answered_on": None,
        },
        {
            "comment_id": third,
            "dossier_id": receipt.id,
            "number": 3,
            "kind": "objection",
            "text": TEXTS[2],
            "author_name": "Hoàng Văn Nam",
            "received_on": monday,
            "status": "received",
            "moderated_on": None,
            "answer_disposition": None,
            "answer_reason": None,
            "answered_on": None,
        },
    ]

    # A changed decision moves the counts: nothing was deleted.
    receipt = moderate(world, receipt, second, CommentStatus.PUBLISHED, "Đã xác minh.")
    receipt = moderate(world, receipt, third, CommentStatus.PUBLISHED)
    live.run_until_caught_up()
    rows = dump(database)
    assert consultation(rows) == {
        "comments_received": 3,
        "published": 3,
        "withheld": 0,
        "version": 9,
    }
    assert len(rows["view_comments"]) == 3
    assert_equals_rebuild(database, world.calendar)


def test_the_public_reads_give_published_comments_with_answers_and_any_comment_by_receipt(
    world: World,
) -> None:
    database = view_database(world.movements, world.calendar)
    live = runner(database)
    reads = ViewReads(database)
    receipt, (first, second, third) = commented(world)
    receipt = moderate(world, receipt, third, CommentStatus.PUBLISHED)
    receipt = moderate(world, receipt, second, CommentStatus.WITHHELD, "Trùng lặp.")
    receipt = moderate(world, receipt, first, CommentStatus.PUBLISHED)
    live.run_until_caught_up()

    published = reads.published_comments(receipt.id)
    assert [row["comment_id"] for row in published] == [first, third]  # in the order received
    assert published[1] | {"received_on": None} == {
        "comment_id": third,
        "receipt_code": format_receipt_code(third),
        "dossier_id": receipt.id,
        "number": 3,
        "kind": "objection",
        "text": TEXTS[2],
        "author_name": "Hoàng Văn Nam",
        "received_on": None,
        "status": "published",
        "moderated_on": date(2026, 3, 2),
        "answer": None,
    }
    withheld = reads.comment_by_receipt(format_receipt_code(second).lower())
    assert withheld is not None
    assert (withheld["comment_id"], withheld["status"]) == (second, "withheld")
    assert withheld["dossier_id"] == receipt.id
    assert "contact" not in withheld
    assert reads.comment_by_receipt(new_receipt_code()) is None
    assert reads.comment_by_receipt("not a code") is None
    assert reads.published_comments(world.movement_id) == []

    # After the appraisal each comment carries its answer.
    closes_on = world.dossiers.get(receipt.id, viewer=APPRAISER).comment_closes_on
    assert closes_on is not None
    appraised_on = world.calendar.add_working_days(closes_on, 1)
    world.clock.set_local(appraised_on)
    receipt = world.dossiers.close_public_comment(
        receipt.id, by=APPRAISER, expected_version=receipt.version
    )
    appraise(world, receipt)
    live.run_until_caught_up()
    answer = {"disposition": "noted", "reason": "Tiếp thu ý kiến.", "on": appraised_on}
    assert [row["answer"] for row in reads.published_comments(receipt.id)] == [answer, answer]
    found = reads.comment_by_receipt(format_receipt_code(second))
    assert found is not None
    assert found["answer"] == answer


def test_no_commenters_contact_reaches_a_view_table(world: World) -> None:
    database = view_database(world.movements, world.calendar)
    receipt, codes = commented(world)
    for code in codes:
        receipt = moderate(world, receipt, code, CommentStatus.PUBLISHED)
    runner(database).run_until_caught_up()
    assert "contact" not in Comments.table("view_comments").column_names
    for table, rows in dump(database).items():
        for row in rows:
            for value in row.values():
                for contact in CONTACTS:
                    assert contact not in str(value), (table, row)
