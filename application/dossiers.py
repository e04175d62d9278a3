"""Use cases of nomination dossiers: load, check the caller's version, call the domain, save."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.comments import (
    format_receipt_code,
    is_receipt_code,
    new_receipt_code,
    normalise_receipt_code,
)
from application.errors import AlreadyExists, InvalidMoment, NotFound, VersionConflict
from application.history import REDACTED, HistoryEntry, history_entries, plain
from application.policy import CONTACT_READERS, PRIVATE_READERS, authorize
from application.store import Clock, Receipt, Store, replay, utc_now
from application.views import dossier_state
from domain.calendar import WorkCalendar
from domain.dossier import ENDED_WITHOUT_AWARD, Dossier
from domain.errors import DuplicateNomination
from domain.movement import EmulationMovement
from domain.registers import DocumentKind, DocumentNumber, NominationSlot, nominee_key
from domain.rulebook import RulebookHistory
from domain.shared import Actor, DocumentRef, Role, local_date, same_unit
from domain.values import (
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    CommentStatus,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    Vote,
)

Command = Callable[[Dossier, datetime], Sequence[Aggregate | None] | None]
DOSSIER = "hồ sơ"


@dataclass(frozen=True)
class DossierComments:
    """The comments a dossier received, read at one version of it (the ETag to moderate with)."""

    dossier_id: UUID
    version: int
    comments: list[dict[str, Any]]


class Dossiers(Store):
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        rulebooks: RulebookHistory,
        calendar: WorkCalendar,
        clock: Clock = utc_now,
        share_with: Store | None = None,
    ) -> None:
        super().__init__(env, clock=clock, share_with=share_with)
        self.rulebooks = rulebooks
        self.calendar = calendar

    # --- submission -----------------------------------------------------------------------

    def submit(
        self,
        *,
        movement_id: UUID,
        award_code: str,
        submitting_unit: str,
        nominee: Nominee,
        personal: PersonalDetails | None,
        achievements: str,
        documents: Sequence[DocumentRef],
        prior_titles: Sequence[PriorTitle] = (),
        by: Actor,
        dossier_id: UUID | None = None,
    ) -> Receipt:
        """Submit a dossier under the rulebook in force today; one open nomination per nominee."""
        authorize(by, "dossier.submit")
        new_id = dossier_id or uuid4()
        if self._exists(new_id):
            raise AlreadyExists(DOSSIER, new_id)
        movement = self._load(EmulationMovement, movement_id, "phong trào thi đua")
        for attempt in (1, 2):
            at = self.now()
            book = self.rulebooks.in_force(local_date(at))
            dossier = Dossier.submit(
                dossier_id=new_id,
                movement=movement,
                rulebook_edition=book.edition,
                award=book.rule(award_code),
                submitting_unit=submitting_unit,
                nominee=nominee,
                personal=personal,
                achievements=achievements,
                documents=documents,
                prior_titles=prior_titles,
                by=by,
                at=at,
            )
            slot = self._slot_for(dossier)
            if slot is None:
                slot = NominationSlot.open(self._slot_id(dossier), dossier.id, at)
            else:
                slot.take(dossier.id, at)
            try:
                return self._commit(dossier, slot)
            except IntegrityError:
                if self._exists(new_id):
                    raise AlreadyExists(DOSSIER, new_id) from None
                if attempt == 2:
                    raise DuplicateNomination() from None
                # Another submission for the same nominee was saved meanwhile: look again.
        raise AssertionError("unreachable")

    # --- the flow -------------------------------------------------------------------------

    def return_for_supplement(
        self,
        dossier_id: UUID,
        *,
        missing: Sequence[str],
        note: str,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Return an incomplete dossier to its unit; the legal clock pauses."""
        return self._act(
            "dossier.return_for_supplement", dossier_id, expected_version, by,
            lambda d, at: d.return_for_supplement(missing=missing, note=note, by=by, at=at),
        )  # fmt: skip

    def supplement(
        self,
        dossier_id: UUID,
        *,
        documents: Sequence[DocumentRef],
        note: str,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """The unit supplies the missing documents; the dossier resumes."""
        return self._act(
            "dossier.supplement", dossier_id, expected_version, by,
            lambda d, at: d.supplement(documents=documents, note=note, by=by, at=at),
        )  # fmt: skip

    def open_public_comment(
        self, dossier_id: UUID, *, closes_on: date, by: Actor, expected_version: int
    ) -> Receipt:
        """Publish a state-level nomination for the people's comments."""
        return self._act(
            "dossier.open_public_comment", dossier_id, expected_version, by,
            lambda d, at: d.open_public_comment(closes_on=closes_on, by=by, at=at, calendar=self.calendar),
        )  # fmt: skip

    def receive_comment(
        self,
        dossier_id: UUID,
        *,
        kind: CommentKind,
        text: str,
        author_name: str | None,
        contact: str | None,
        by: Actor,
        expected_version: int | None = None,
        comment_id: str | None = None,
    ) -> Receipt:
        """Record a comment while the window is open (a citizen does not know the version).

        Without ``comment_id`` the comment gets a new receipt code as its id."""
        key = comment_id or new_receipt_code()
        return self._act(
            "dossier.receive_comment", dossier_id, expected_version, by,
            lambda d, at: d.receive_comment(
                comment_id=key, kind=kind, text=text, author_name=author_name, contact=contact, by=by, at=at
            ),
        )  # fmt: skip

    def moderate_comment(
        self,
        dossier_id: UUID,
        comment_id: str,
        *,
        decision: CommentStatus,
        reason: str,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Publish or withhold (with a reason) a comment received; a later decision replaces it.

        ``comment_id`` may also be a receipt code as people write it (any case, dashes)."""
        return self._act(
            "dossier.moderate_comment", dossier_id, expected_version, by,
            lambda d, at: d.moderate_comment(
                comment_id=_comment_key(d, comment_id), decision=decision, reason=reason, by=by, at=at
            ),
        )  # fmt: skip

    def close_public_comment(
        self, dossier_id: UUID, *, by: Actor, expected_version: int
    ) -> Receipt:
        """Close the window after its last day."""
        return self._act(
            "dossier.close_public_comment", dossier_id, expected_version, by,
            lambda d, at: d.close_public_comment(by=by, at=at),
        )  # fmt: skip

    def hold(
        self, dossier_id: UUID, *, kind: HoldKind, reason: str, by: Actor, expected_version: int
    ) -> Receipt:
        """Hold a dossier while a case about the nominee is verified."""
        return self._act(
            "dossier.hold", dossier_id, expected_version, by,
            lambda d, at: d.hold(kind=kind, reason=reason, by=by, at=at),
        )  # fmt: skip

    def lift_hold(
        self, dossier_id: UUID, *, outcome: str, by: Actor, expected_version: int
    ) -> Receipt:
        """Resume a held dossier."""
        return self._act(
            "dossier.lift_hold", dossier_id, expected_version, by,
            lambda d, at: d.lift_hold(outcome=outcome, by=by, at=at),
        )  # fmt: skip

    def appraise(
        self,
        dossier_id: UUID,
        *,
        qualified: bool,
        opinion: str,
        answers: Mapping[str, CommentAnswer] | None = None,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Record the Sở Nội vụ's appraisal, answering every comment."""
        return self._act(
            "dossier.appraise", dossier_id, expected_version, by,
            lambda d, at: d.appraise(qualified=qualified, opinion=opinion, answers=answers or {}, by=by, at=at),
        )  # fmt: skip

    def open_council_review(
        self,
        dossier_id: UUID,
        *,
        members: Sequence[str],
        meeting_on: date,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Put the dossier before the council with its full membership."""
        return self._act(
            "dossier.open_council_review", dossier_id, expected_version, by,
            lambda d, at: d.open_council_review(members=members, meeting_on=meeting_on, by=by, at=at),
        )  # fmt: skip

    def declare_conflict_of_interest(
        self, dossier_id: UUID, *, reason: str, by: Actor, expected_version: int
    ) -> Receipt:
        """A member declares a conflict of interest and steps out of the vote."""
        return self._act(
            "dossier.declare_conflict_of_interest", dossier_id, expected_version, by,
            lambda d, at: d.declare_conflict_of_interest(reason=reason, by=by, at=at),
        )  # fmt: skip

    def cast_ballot(
        self, dossier_id: UUID, *, vote: Vote, by: Actor, expected_version: int
    ) -> Receipt:
        """A member casts their one ballot."""
        return self._act(
            "dossier.cast_ballot", dossier_id, expected_version, by,
            lambda d, at: d.cast_ballot(vote=vote, by=by, at=at),
        )  # fmt: skip

    def conclude_council_review(
        self, dossier_id: UUID, *, present: Sequence[str], by: Actor, expected_version: int
    ) -> Receipt:
        """Record the council's result against quorum and threshold."""
        return self._act(
            "dossier.conclude_council_review", dossier_id, expected_version, by,
            lambda d, at: d.conclude_council_review(present=present, by=by, at=at),
        )  # fmt: skip

    def record_party_opinion(
        self,
        dossier_id: UUID,
        *,
        document_number: str,
        document_date: date,
        favourable: bool,
        summary: str,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Record the provincial Party standing committee's written opinion."""
        return self._act(
            "dossier.record_party_opinion", dossier_id, expected_version, by,
            lambda d, at: d.record_party_opinion(
                document_number=document_number, document_date=document_date,
                favourable=favourable, summary=summary, by=by, at=at,
            ),
        )  # fmt: skip

    def approve(
        self,
        dossier_id: UUID,
        *,
        decision_number: str,
        decision_date: date,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """The Chủ tịch awards a provincial award by a numbered decision."""

        def command(d: Dossier, at: datetime) -> Sequence[Aggregate | None]:
            d.approve(decision_number=decision_number, decision_date=decision_date, by=by, at=at)
            return [
                self._cite(d.decision_number, decision_date, DocumentKind.AWARD_DECISION, d.id, at)
            ]

        return self._act("dossier.approve", dossier_id, expected_version, by, command)

    def reject(
        self,
        dossier_id: UUID,
        *,
        reason: str,
        notice_number: str,
        notice_date: date,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """The Chủ tịch declines to award, by a written notice."""
        return self._act(
            "dossier.reject", dossier_id, expected_version, by,
            lambda d, at: d.reject(reason=reason, notice_number=notice_number, notice_date=notice_date, by=by, at=at),
        )  # fmt: skip

    def forward_upward(
        self,
        dossier_id: UUID,
        *,
        submission_number: str,
        submission_date: date,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """The Chủ tịch submits a state-level nomination upward."""

        def command(d: Dossier, at: datetime) -> Sequence[Aggregate | None]:
            d.forward_upward(
                submission_number=submission_number, submission_date=submission_date, by=by, at=at
            )
            return [
                self._cite(d.submission_number, submission_date, DocumentKind.SUBMISSION, d.id, at)
            ]

        return self._act("dossier.forward_upward", dossier_id, expected_version, by, command)

    def record_central_decision(
        self,
        dossier_id: UUID,
        *,
        outcome: CentralOutcome,
        decision_number: str,
        decision_date: date,
        note: str = "",
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Record the Thủ tướng's or the Chủ tịch nước's decision."""

        def command(d: Dossier, at: datetime) -> Sequence[Aggregate | None]:
            d.record_central_decision(
                outcome=outcome, decision_number=decision_number, decision_date=decision_date,
                note=note, by=by, at=at,
            )  # fmt: skip
            number = d.central_decision_number
            return [self._cite(number, decision_date, DocumentKind.CENTRAL_DECISION, d.id, at)]

        return self._act(
            "dossier.record_central_decision", dossier_id, expected_version, by, command
        )

    def withdraw(
        self, dossier_id: UUID, *, reason: str, by: Actor, expected_version: int
    ) -> Receipt:
        """The submitting unit withdraws its dossier."""
        return self._act(
            "dossier.withdraw", dossier_id, expected_version, by,
            lambda d, at: d.withdraw(reason=reason, by=by, at=at),
        )  # fmt: skip

    def revoke(
        self,
        dossier_id: UUID,
        *,
        grounds: Grounds,
        explanation: str,
        decision_number: str,
        decision_date: date,
        by: Actor,
        expected_version: int,
    ) -> Receipt:
        """Revoke an award; the history keeps everything."""

        def command(d: Dossier, at: datetime) -> Sequence[Aggregate | None]:
            d.revoke(
                grounds=grounds, explanation=explanation, decision_number=decision_number,
                decision_date=decision_date, by=by, at=at,
            )  # fmt: skip
            number = d.revocation_number
            return [self._cite(number, decision_date, DocumentKind.REVOCATION, d.id, at)]

        return self._act("dossier.revoke", dossier_id, expected_version, by, command)

    # --- queries --------------------------------------------------------------------------

    def get(self, dossier_id: UUID, *, viewer: Actor) -> Dossier:
        """The current dossier, if the viewer may see it (a unit sees only its own)."""
        authorize(viewer, "dossier.read")
        dossier = self._load(Dossier, dossier_id, DOSSIER)
        self._require_visible(dossier, viewer)
        return dossier

    def state(
        self,
        dossier_id: UUID,
        *,
        viewer: Actor,
        version: int | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The dossier as it is, or as it was at a version or at a moment."""
        current = self.get(dossier_id, viewer=viewer)
        if version is not None and at is not None:
            raise InvalidMoment("Chỉ chọn một trong hai: phiên bản hoặc thời điểm.")
        target = current.version
        if version is not None:
            if not 1 <= version <= current.version:
                raise InvalidMoment(f"Phiên bản phải từ 1 đến {current.version}.")
            target = version
        elif at is not None:
            target = self._version_at(dossier_id, at)
        if target == current.version:
            dossier, as_of = current, self.now()
        else:
            dossier = self._at_version(dossier_id, target)
            as_of = at or dossier.modified_on
        state = dossier_state(dossier, include_private=self._private_ok(dossier, viewer))
        state["deadline"] = plain(dossier.deadline(self.calendar, local_date(as_of)))
        return state

    def comments(self, dossier_id: UUID, *, viewer: Actor) -> DossierComments:
        """Every comment received, in order, with its moderation and its answer; the contact
        only for the appraiser (others read it redacted)."""
        authorize(viewer, "dossier.comments")
        dossier = self._load(Dossier, dossier_id, DOSSIER)
        self._require_visible(dossier, viewer)
        show_contact = viewer.role in CONTACT_READERS
        entries = []
        for comment in dossier.comments.values():
            entry = plain(comment)
            if not show_contact and comment.contact is not None:
                entry["contact"] = REDACTED
            key = comment.comment_id
            entry["receipt_code"] = format_receipt_code(key) if is_receipt_code(key) else None
            answer = dossier.answers.get(comment.comment_id)
            entry["answer"] = plain(answer) if answer else None
            entries.append(entry)
        return DossierComments(dossier.id, dossier.version, entries)

    def history(self, dossier_id: UUID, *, viewer: Actor) -> list[HistoryEntry]:
        """Every event of the dossier, with its Vietnamese label, actor, time and data."""
        authorize(viewer, "dossier.history")
        dossier = self._load(Dossier, dossier_id, DOSSIER)
        self._require_visible(dossier, viewer)
        return history_entries(
            self.events.get(dossier_id),
            include_private=self._private_ok(dossier, viewer),
            reveal_ballots=dossier.council_result is not None,
        )

    # --- machinery ------------------------------------------------------------------------

    def _act(
        self,
        use_case: str,
        dossier_id: UUID,
        expected_version: int | None,
        by: Actor,
        command: Command,
    ) -> Receipt:
        """Load, check the caller's version, run the command, free the nominee's slot if the
        dossier ended without an award, and save everything in one transaction.

        A register entry (slot, document number) created by someone else meanwhile makes the
        save fail without any change to the dossier: then the command is run once more.
        """
        authorize(by, use_case)
        # A caller without a version (a citizen's comment) is retried through contention.
        attempts = 3 if expected_version is not None else 12
        for attempt in range(1, attempts + 1):
            dossier = self._load(Dossier, dossier_id, DOSSIER)
            self._require_visible(dossier, by)
            loaded = dossier.version
            if expected_version is not None and loaded != expected_version:
                raise VersionConflict(dossier_id, expected_version, loaded)
            was_open = dossier.status.is_open
            at = self.now()
            others = list(command(dossier, at) or [])
            if was_open and dossier.status in ENDED_WITHOUT_AWARD:
                slot = self._slot_for(dossier)
                if slot is not None:
                    slot.free(dossier.id, at)
                    others.append(slot)
            try:
                return self._commit(dossier, *others)
            except IntegrityError:
                current = self._load(Dossier, dossier_id, DOSSIER)
                moved = current.version != loaded
                if attempt == attempts or (moved and expected_version is not None):
                    raise VersionConflict(
                        dossier_id, expected_version or loaded, current.version
                    ) from None
                time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 (jitter, not crypto)
        raise AssertionError("unreachable")

    def _require_visible(self, dossier: Dossier, viewer: Actor) -> None:
        if viewer.role is Role.SUBMITTER and (
            viewer.unit is None or not same_unit(viewer.unit, dossier.submitting_unit)
        ):
            raise NotFound(DOSSIER, dossier.id)

    def _private_ok(self, dossier: Dossier, viewer: Actor) -> bool:
        return viewer.role in PRIVATE_READERS

    def _cite(
        self,
        number: str | None,
        signed_on: date,
        kind: DocumentKind,
        dossier_id: UUID,
        at: datetime,
    ) -> DocumentNumber:
        assert number is not None
        entry = self._load_optional(DocumentNumber, DocumentNumber.id_for(number, signed_on))
        if entry is None:
            return DocumentNumber.register(number, signed_on, kind, dossier_id, at)
        entry.cite(signed_on, kind, dossier_id, at)
        return entry

    def _slot_id(self, dossier: Dossier) -> UUID:
        identity = dossier.personal.identity_number if dossier.personal else None
        key = nominee_key(
            dossier.nominee.kind, dossier.nominee.name, identity, dossier.submitting_unit
        )
        return NominationSlot.id_for(dossier.movement_id, dossier.award.code, key)

    def _slot_for(self, dossier: Dossier) -> NominationSlot | None:
        return self._load_optional(NominationSlot, self._slot_id(dossier))

    def _version_at(self, dossier_id: UUID, moment: datetime) -> int:
        if moment.tzinfo is None:
            raise InvalidMoment("Thời điểm phải kèm múi giờ, ví dụ 2026-03-05T09:00:00+07:00.")
        version = 0
        for stored in self.events.get(dossier_id):
            if cast(Aggregate.Event, stored).timestamp > moment:
                break
            version = stored.originator_version
        if version == 0:
            raise InvalidMoment("Tại thời điểm đó hồ sơ chưa được trình.")
        return version

    def _at_version(self, dossier_id: UUID, version: int) -> Dossier:
        dossier: Dossier = self.repository.get(dossier_id, version=version, projector_func=replay)
        return dossier


def _comment_key(dossier: Dossier, comment_id: str) -> str:
    """The stored id a caller means: the id itself, or the receipt code it spells."""
    if comment_id in dossier.comments:
        return comment_id
    return normalise_receipt_code(comment_id) or comment_id
