"""The registers that hold rules across dossiers: one open nomination per nominee, award and
movement; official document numbers unique within their year unless the same decision is cited."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from domain.errors import DuplicateDocumentNumber, DuplicateNomination
from domain.registers import DocumentKind, DocumentNumber, NominationSlot, nominee_key
from tests.unit.builders import SUBMISSION_DAY, assert_message, at

MOVEMENT = uuid4()
NOW = at(SUBMISSION_DAY)


# --- the nomination slot: one achievement, at most one award ----------------------------------------


def _slot(holder: UUID) -> NominationSlot:
    slot_id = NominationSlot.id_for(MOVEMENT, "chien_si_thi_dua_tinh", "id:001190012345")
    return NominationSlot.open(slot_id, holder, NOW)


def test_a_held_slot_cannot_be_taken_by_another_dossier() -> None:
    first, second = uuid4(), uuid4()
    slot = _slot(first)
    with pytest.raises(DuplicateNomination) as raised:
        slot.take(second, NOW)
    assert_message(raised.value, "cùng hình thức khen thưởng", "phong trào thi đua")
    assert slot.holder == first
    assert slot.version == 1


def test_a_freed_slot_can_be_taken_by_a_new_dossier() -> None:
    first, second = uuid4(), uuid4()
    slot = _slot(first)
    slot.free(first, NOW)
    assert slot.holder is None
    slot.take(second, NOW)
    assert slot.holder == second
    assert [type(e).__name__ for e in slot.collect_events()] == ["Opened", "Freed", "Taken"]


def test_only_the_holder_frees_a_slot() -> None:
    first, second = uuid4(), uuid4()
    slot = _slot(first)
    slot.free(second, NOW)
    assert slot.holder == first
    assert slot.version == 1
    with pytest.raises(DuplicateNomination):
        slot.take(second, NOW)


def test_the_holder_may_take_its_own_slot_again() -> None:
    first = uuid4()
    slot = _slot(first)
    slot.take(first, NOW)
    assert slot.holder == first


def test_a_slot_is_one_nominee_one_award_one_movement() -> None:
    key = "id:001190012345"
    slot_id = NominationSlot.id_for(MOVEMENT, "chien_si_thi_dua_tinh", key)
    assert slot_id == NominationSlot.id_for(MOVEMENT, "chien_si_thi_dua_tinh", key)
    assert slot_id != NominationSlot.id_for(uuid4(), "chien_si_thi_dua_tinh", key)
    assert slot_id != NominationSlot.id_for(MOVEMENT, "bang_khen_chu_tich_tinh", key)
    assert slot_id != NominationSlot.id_for(MOVEMENT, "chien_si_thi_dua_tinh", "id:001190099999")
    assert "001190012345" not in str(slot_id)


def test_the_nominee_key_prefers_the_identity_number() -> None:
    assert nominee_key("individual", "Nguyễn Thị Lan", "001190012345", "Sở Y tế") == (
        nominee_key("individual", "Nguyen Thi Lan", "001190012345", "Sở Giáo dục và Đào tạo")
    )


def test_the_nominee_key_folds_case_diacritics_and_spaces() -> None:
    unit = "Sở Giáo dục và Đào tạo"
    assert nominee_key("individual", "Nguyễn  Thị Lan", None, unit) == nominee_key(
        "individual", "nguyen thi lan", None, "so giao duc va dao tao"
    )
    assert nominee_key("collective", "Trường THPT Đống Đa", None, "Sở A") == nominee_key(
        "collective", "truong thpt dong da", None, "Sở B"
    )


def test_two_people_of_the_same_name_in_different_units_are_different_nominees() -> None:
    assert nominee_key("individual", "Nguyễn Văn An", None, "Sở Y tế") != nominee_key(
        "individual", "Nguyễn Văn An", None, "Sở Tài chính"
    )


# --- official document numbers ------------------------------------------------------------------------


def _register(number: str = "123/QĐ-UBND", signed_on: date = date(2026, 3, 5)) -> DocumentNumber:
    return DocumentNumber.register(number, signed_on, DocumentKind.AWARD_DECISION, uuid4(), NOW)


def test_one_decision_may_be_cited_by_several_dossiers() -> None:
    entry = _register()
    other = uuid4()
    entry.cite(date(2026, 3, 5), DocumentKind.AWARD_DECISION, other, NOW)
    assert len(entry.dossiers) == 2
    assert entry.dossiers[-1] == other


def test_a_dossier_citing_the_same_decision_twice_is_recorded_once() -> None:
    entry = _register()
    dossier = entry.dossiers[0]
    entry.cite(date(2026, 3, 5), DocumentKind.AWARD_DECISION, dossier, NOW)
    assert entry.dossiers == [dossier]
    assert entry.version == 1


def test_a_number_reused_with_another_date_is_a_duplicate() -> None:
    entry = _register()
    with pytest.raises(DuplicateDocumentNumber) as raised:
        entry.cite(date(2026, 3, 6), DocumentKind.AWARD_DECISION, uuid4(), NOW)
    assert_message(raised.value, "123/QĐ-UBND")
    assert entry.version == 1


def test_a_number_reused_for_another_kind_of_document_is_a_duplicate() -> None:
    entry = _register()
    with pytest.raises(DuplicateDocumentNumber):
        entry.cite(date(2026, 3, 5), DocumentKind.REVOCATION, uuid4(), NOW)
    assert len(entry.dossiers) == 1


def test_document_numbers_restart_every_year() -> None:
    this_year = DocumentNumber.id_for("123/QĐ-UBND", date(2026, 3, 5))
    assert this_year == DocumentNumber.id_for("123/QĐ-UBND", date(2026, 12, 30))
    assert this_year != DocumentNumber.id_for("123/QĐ-UBND", date(2027, 3, 5))
    assert this_year != DocumentNumber.id_for("124/QĐ-UBND", date(2026, 3, 5))
    assert _register().id == this_year
