"""Drive dossiers to a stage quickly, through the use cases (``services``) with the real
accounts' actors, so HTTP tests can start from any status without a request per step.

State-level awards need their public comment window to have run out before they go further.
Such dossiers are opened first (``open_windows``), the clock is moved past their last day once
(``let_windows_elapse``), and the stages after the window take them from that pool.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.accounts import SYSTEM
from application.comments import new_receipt_code
from domain.rulebook import Subject
from domain.shared import Actor, DocumentRef, Role
from domain.values import (
    CentralOutcome,
    CommentKind,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    Vote,
)
from tests.api.conftest import ACCOUNTS, MEMBER_NAMES, UNIT, Staff, sha

PROVINCIAL = "bang_khen_chu_tich_tinh"
"""Chairman's award, no council: submitted → appraised → awaiting decision."""
WITH_COUNCIL = "chien_si_thi_dua_tinh"
"""Provincial, with the council (needs three base titles)."""
STATE = "bang_khen_thu_tuong"
"""State level (Thủ tướng, QĐ-TTg): public comment, council, forwarding; no party opinion."""
STATE_WITH_PARTY = "huan_chuong_lao_dong_hang_nhat"
"""State level (Chủ tịch nước, QĐ-CTN) that needs the Party standing committee's opinion."""


def actor(who: str) -> Actor:
    """The actor the API builds for the account of ``who`` (see ``ACCOUNTS``)."""
    name, _display, role, unit = ACCOUNTS[who]
    return Actor(name, role, unit)


SUBMITTER = actor("submitter")
APPRAISER = actor("appraiser")
SECRETARY = actor("secretary")
CHAIRMAN = actor("chairman")
AUDITOR = actor("auditor")
ADMIN = actor("admin")
MEMBERS = [actor(name) for name in MEMBER_NAMES]
PORTAL = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)


class Driver:
    def __init__(self, staff: Staff) -> None:
        self.staff = staff
        self.services = staff.services
        self.numbers = itertools.count(1)
        self.windows: dict[str, list[UUID]] = defaultdict(list)

    # --- plumbing ----------------------------------------------------------------------------

    def today(self) -> date:
        return self.staff.today()

    def number(self) -> int:
        return next(self.numbers)

    def version(self, dossier_id: UUID) -> int:
        return self.services.dossiers.get(dossier_id, viewer=AUDITOR).version

    def movement_version(self, movement_id: UUID) -> int:
        return self.services.movements.get_movement(movement_id, viewer=AUDITOR).version

    def do(self, command: str, dossier_id: UUID, by: Actor, **arguments: Any) -> UUID:
        getattr(self.services.dossiers, command)(
            dossier_id, by=by, expected_version=self.version(dossier_id), **arguments
        )
        return dossier_id

    # --- submission ----------------------------------------------------------------------------

    def submit(self, award: str = PROVINCIAL, *, unit: str = UNIT) -> UUID:
        """A new dossier for a new nominee (so no nomination slot is ever taken twice)."""
        n = self.number()
        titles = []
        if award == WITH_COUNCIL:
            titles = [
                PriorTitle("chien_si_thi_dua_co_so", year, f"{year - 2000}/QĐ-SGDĐT")
                for year in (2023, 2024, 2025)
            ]
        by = SUBMITTER if unit == UNIT else actor("other_submitter")
        receipt = self.services.dossiers.submit(
            movement_id=self.staff.movement_id,
            award_code=award,
            submitting_unit=unit,
            nominee=Nominee(Subject.INDIVIDUAL, f"Nguyễn Văn Thử {n}", "Giáo viên"),
            personal=PersonalDetails(
                identity_number=f"0010{n:08d}",
                date_of_birth=date(1980, 1, 1),
                phone="0912 000 000",
                email=f"thu{n}@example.vn",
                address="1 Lê Lợi",
            ),
            achievements="Hoàn thành xuất sắc nhiệm vụ.",
            documents=[
                DocumentRef("to-trinh.pdf", sha(f"to-trinh-{n}"), 1000),
                DocumentRef("bao-cao.pdf", sha(f"bao-cao-{n}"), 2000),
            ],
            prior_titles=titles,
            by=by,
        )
        return receipt.id

    # --- provincial stages -------------------------------------------------------------------

    def submitted(self) -> UUID:
        return self.submit()

    def returned(self) -> UUID:
        return self.do(
            "return_for_supplement",
            self.submit(),
            APPRAISER,
            missing=["Biên bản họp xét"],
            note="Bổ sung biên bản.",
        )

    def held(self) -> UUID:
        return self.do(
            "hold", self.submit(), APPRAISER, kind=HoldKind.COMPLAINT, reason="Có đơn khiếu nại."
        )

    def appraised(self, dossier_id: UUID) -> UUID:
        return self.do(
            "appraise", dossier_id, APPRAISER, qualified=True, opinion="Đủ điều kiện.", answers={}
        )

    def awaiting_decision(self) -> UUID:
        return self.appraised(self.submit())

    def approved(self) -> UUID:
        return self.do(
            "approve",
            self.awaiting_decision(),
            CHAIRMAN,
            decision_number="123/QĐ-UBND",
            decision_date=self.today(),
        )

    def awaiting_council(self) -> UUID:
        return self.appraised(self.submit(WITH_COUNCIL))

    def open_council(self, dossier_id: UUID) -> UUID:
        return self.do(
            "open_council_review",
            dossier_id,
            SECRETARY,
            members=list(MEMBER_NAMES),
            meeting_on=self.today() + timedelta(days=2),
        )

    def council_voting(self) -> UUID:
        return self.open_council(self.awaiting_council())

    def vote_and_conclude(self, dossier_id: UUID) -> UUID:
        for member in MEMBERS:
            self.do("cast_ballot", dossier_id, member, vote=Vote.YES)
        return self.do("conclude_council_review", dossier_id, SECRETARY, present=list(MEMBER_NAMES))

    # --- state-level stages ------------------------------------------------------------------

    def state_submitted(self) -> UUID:
        return self.submit(STATE)

    def comment_open(self, award: str = STATE) -> UUID:
        """A state-level dossier whose window opens today (comments are taken)."""
        closes_on = self.services.calendar.add_working_days(self.today(), 10)
        return self.do("open_public_comment", self.submit(award), APPRAISER, closes_on=closes_on)

    def comment_received(self, award: str = STATE) -> tuple[UUID, str]:
        """A dossier open for comment with one comment from the portal; (its id, the code)."""
        dossier_id = self.comment_open(award)
        code = new_receipt_code()
        self.services.dossiers.receive_comment(
            dossier_id,
            kind=CommentKind.OBJECTION,
            text="Đề nghị làm rõ thành tích.",
            author_name="Hoàng Văn Nam",
            contact="0987 654 321",
            by=PORTAL,
            comment_id=code,
        )
        return dossier_id, code

    def open_windows(self, award: str, count: int) -> None:
        """Open ``count`` windows now, for stages that need them run out (see the module)."""
        self.windows[award].extend(self.comment_open(award) for _ in range(count))

    def let_windows_elapse(self) -> None:
        """Move the clock to the first working day after every window opened so far."""
        calendar = self.services.calendar
        last = self.services.calendar.add_working_days(self.today(), 10)
        self.staff.clock.set_local(last + timedelta(days=1))
        while not calendar.is_working_day(self.today()):
            self.staff.clock.advance(days=1)

    def comment_elapsed(self, award: str = STATE) -> UUID:
        """A dossier still in public_comment whose window has run out (may be closed)."""
        assert self.windows[award], f"no elapsed window left for {award}: open more first"
        return self.windows[award].pop()

    def state_awaiting_decision(self, award: str = STATE) -> UUID:
        dossier_id = self.do("close_public_comment", self.comment_elapsed(award), APPRAISER)
        return self.vote_and_conclude(self.open_council(self.appraised(dossier_id)))

    def party_awaiting_decision(self) -> UUID:
        return self.state_awaiting_decision(STATE_WITH_PARTY)

    def forwarded(self) -> UUID:
        return self.do(
            "forward_upward",
            self.state_awaiting_decision(),
            CHAIRMAN,
            submission_number="45/TTr-UBND",
            submission_date=self.today(),
        )

    def conferred(self) -> UUID:
        return self.do(
            "record_central_decision",
            self.forwarded(),
            APPRAISER,
            outcome=CentralOutcome.CONFERRED,
            decision_number="1520/QĐ-TTg",
            decision_date=self.today(),
            note="",
        )

    # --- movements and accounts --------------------------------------------------------------

    def movement(self) -> UUID:
        n = self.number()
        return self.services.movements.launch(
            plan_number=f"{n}/KH-UBND",
            title=f"Phong trào thi đua số {n}",
            issuing_body="Ủy ban nhân dân tỉnh",
            issued_on=date(2026, 1, 5),
            starts_on=date(2026, 1, 5),
            ends_on=date(2026, 12, 31),
            by=ADMIN,
        ).id

    def account(self, *roles: Role) -> str:
        """A throwaway account (auditor and appraiser by default); its name."""
        name = f"tam.{self.number()}"
        self.services.accounts.create_account(
            name=name,
            display_name=f"Tài khoản tạm {name}",
            roles=list(roles or (Role.AUDITOR, Role.APPRAISER)),
            by=SYSTEM,
        )
        return name

    def extra_token(self, name: str) -> str:
        """A second token for the account (so revoking it leaves the caller's own working)."""
        return self.services.accounts.issue_token(name, by=SYSTEM).token_id
