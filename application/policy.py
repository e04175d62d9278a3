"""Who may do what: the role policy, checked here for every use case (least privilege)."""

from __future__ import annotations

from application.errors import PermissionDenied
from domain.shared import ROLE_LABELS, Actor, Role

STAFF_ROLES = frozenset(Role) - {Role.PUBLIC}

# use case -> (Vietnamese action, roles allowed)
POLICY: dict[str, tuple[str, frozenset[Role]]] = {
    "movement.launch": ("phát động phong trào thi đua", frozenset({Role.ADMIN, Role.APPRAISER})),
    "movement.amend": ("sửa đổi phong trào thi đua", frozenset({Role.ADMIN, Role.APPRAISER})),
    "movement.close": ("kết thúc phong trào thi đua", frozenset({Role.ADMIN, Role.APPRAISER})),
    "movement.read": ("xem phong trào thi đua", STAFF_ROLES),
    "dossier.submit": ("trình hồ sơ", frozenset({Role.SUBMITTER})),
    "dossier.supplement": ("bổ sung hồ sơ", frozenset({Role.SUBMITTER})),
    "dossier.withdraw": ("rút hồ sơ", frozenset({Role.SUBMITTER})),
    "dossier.return_for_supplement": ("trả lại hồ sơ để bổ sung", frozenset({Role.APPRAISER})),
    "dossier.open_public_comment": ("công khai lấy ý kiến Nhân dân", frozenset({Role.APPRAISER})),
    "dossier.close_public_comment": ("kết thúc lấy ý kiến Nhân dân", frozenset({Role.APPRAISER})),
    "dossier.receive_comment": (
        "ghi nhận ý kiến Nhân dân",
        frozenset({Role.PUBLIC, Role.APPRAISER}),
    ),
    "dossier.moderate_comment": ("kiểm duyệt ý kiến Nhân dân", frozenset({Role.APPRAISER})),
    "dossier.comments": (
        "xem ý kiến Nhân dân đã nhận",
        frozenset({Role.APPRAISER, Role.AUDITOR}),
    ),
    "dossier.hold": ("tạm dừng xét khen thưởng", frozenset({Role.APPRAISER, Role.CHAIRMAN})),
    "dossier.lift_hold": ("tiếp tục xét khen thưởng", frozenset({Role.APPRAISER, Role.CHAIRMAN})),
    "dossier.appraise": ("thẩm định hồ sơ", frozenset({Role.APPRAISER})),
    "dossier.open_council_review": ("đưa hồ sơ ra Hội đồng", frozenset({Role.COUNCIL_SECRETARY})),
    "dossier.declare_conflict_of_interest": (
        "khai báo xung đột lợi ích",
        frozenset({Role.COUNCIL_MEMBER}),
    ),
    "dossier.cast_ballot": ("bỏ phiếu", frozenset({Role.COUNCIL_MEMBER})),
    "dossier.conclude_council_review": (
        "kết luận phiên xét của Hội đồng",
        frozenset({Role.COUNCIL_SECRETARY}),
    ),
    "dossier.record_party_opinion": (
        "ghi nhận ý kiến Ban Thường vụ Tỉnh ủy",
        frozenset({Role.APPRAISER}),
    ),
    "dossier.approve": ("quyết định khen thưởng", frozenset({Role.CHAIRMAN})),
    "dossier.reject": ("quyết định không khen thưởng", frozenset({Role.CHAIRMAN})),
    "dossier.forward_upward": ("trình cấp trên", frozenset({Role.CHAIRMAN})),
    "dossier.record_central_decision": (
        "ghi nhận quyết định của cấp trên",
        frozenset({Role.APPRAISER, Role.CHAIRMAN}),
    ),
    "dossier.revoke": ("hủy bỏ quyết định khen thưởng", frozenset({Role.CHAIRMAN, Role.APPRAISER})),
    "dossier.read": ("xem hồ sơ", STAFF_ROLES),
    "dossier.history": ("xem lịch sử hồ sơ", STAFF_ROLES),
    "audit.checkpoints": (
        "xem điểm kiểm tra đã ký của nhật ký kiểm toán",
        frozenset({Role.AUDITOR, Role.ADMIN}),
    ),
    "audit.proofs": (
        "xem bằng chứng của nhật ký kiểm toán",
        frozenset({Role.AUDITOR, Role.ADMIN}),
    ),
}

PRIVATE_READERS = frozenset({Role.APPRAISER, Role.CHAIRMAN, Role.AUDITOR, Role.SUBMITTER})
"""Roles that may see a nominee's personal details and commenters' contacts (submitters: own unit)."""

CONTACT_READERS = frozenset({Role.APPRAISER})
"""Roles shown a commenter's contact in the comments list (the appraiser, who may answer)."""


def authorize(actor: Actor, use_case: str) -> None:
    """Raise PermissionDenied unless the actor's role may perform the use case."""
    action, roles = POLICY[use_case]
    if actor.role not in roles:
        raise PermissionDenied(action, ROLE_LABELS[actor.role])


def allowed_roles(use_case: str) -> frozenset[Role]:
    return POLICY[use_case][1]
