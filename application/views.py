"""The state of a dossier as a JSON-ready dict (what queries, the API and replays compare)."""

from __future__ import annotations

from typing import Any

from application.history import REDACTED, plain
from domain.dossier import Dossier, Status
from domain.values import Vote


def dossier_state(dossier: Dossier, *, include_private: bool) -> dict[str, Any]:
    """Everything recorded about the dossier; private fields only when the viewer may see them."""
    concluded = dossier.council_result is not None
    ballots: dict[str, Any]
    if concluded:
        ballots = {member: vote.value for member, vote in dossier.ballots.items()}
    else:
        # Ballots stay secret until the review concludes: only who has voted is shown.
        ballots = dict.fromkeys(dossier.ballots, "cast")
    comments = []
    for comment in dossier.comments.values():
        entry = plain(comment)
        if not include_private and comment.contact is not None:
            entry["contact"] = REDACTED
        answer = dossier.answers.get(comment.comment_id)
        entry["answer"] = plain(answer) if answer else None
        comments.append(entry)
    return {
        "id": str(dossier.id),
        "version": dossier.version,
        "status": dossier.status.value,
        "status_label": Status(dossier.status).label,
        "submitted_at": dossier.created_on.isoformat(),
        "modified_at": dossier.modified_on.isoformat(),
        "movement_id": str(dossier.movement_id),
        "rulebook_edition": dossier.rulebook_edition,
        "award": plain(dossier.award),
        "submitting_unit": dossier.submitting_unit,
        "nominee": plain(dossier.nominee),
        "personal": (plain(dossier.personal) if include_private else REDACTED)
        if dossier.personal
        else None,
        "achievements": dossier.achievements,
        "documents": plain(dossier.documents),
        "prior_titles": plain(dossier.prior_titles),
        "missing": list(dossier.missing),
        "held_from": plain(dossier.held_from),
        "hold_kind": plain(dossier.hold_kind),
        "returned_from": plain(dossier.returned_from),
        "public_comment": {
            "opened_on": plain(dossier.comment_opened_on),
            "closes_on": plain(dossier.comment_closes_on),
            "closed_on": plain(dossier.comment_closed_on),
            "comments": comments,
        },
        "appraisal": None
        if dossier.appraisal_qualified is None
        else {
            "qualified": dossier.appraisal_qualified,
            "opinion": dossier.appraisal_opinion,
            "on": plain(dossier.appraised_on),
        },
        "council": {
            "members": list(dossier.council_members),
            "meeting_on": plain(dossier.council_meeting_on),
            "ballots": ballots,
            "votes_cast": len(dossier.ballots),
            "yes_so_far": sum(1 for v in dossier.ballots.values() if v is Vote.YES)
            if concluded
            else None,
            "conflicts": dict(dossier.conflicts),
            "result": plain(dossier.council_result),
        },
        "party_opinion_favourable": dossier.party_opinion_favourable,
        "decision": {
            "number": dossier.decision_number,
            "date": plain(dossier.decision_date),
            "decided_by": dossier.decided_by,
            "ended_reason": dossier.ended_reason,
        },
        "upward": {
            "submission_number": dossier.submission_number,
            "submission_date": plain(dossier.submission_date),
            "outcome": plain(dossier.central_outcome),
            "decision_number": dossier.central_decision_number,
            "decision_date": plain(dossier.central_decision_date),
        },
        "revocation": None
        if dossier.revocation_number is None
        else {
            "decision_number": dossier.revocation_number,
            "grounds": plain(dossier.revocation_grounds),
        },
    }
