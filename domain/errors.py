"""The domain's exceptions: one type per rule, each with a stable code and a Vietnamese message.

The web layer maps ``code`` to a problem type and ``title``/``str(error)`` to the text a person
reads, so every message says what is wrong and, where it can, what to do.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar


class DomainError(Exception):
    """A command broke a rule. Nothing was recorded."""

    code: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "Thao tác không hợp lệ"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidValue(DomainError):
    code = "invalid-value"
    title = "Dữ liệu không hợp lệ"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"Trường «{field}» {problem}.")
        self.field = field


class RulebookError(DomainError):
    code = "invalid-rulebook"
    title = "Bộ quy tắc khen thưởng không hợp lệ"

    def __init__(self, problems: list[str], source: str = "bộ quy tắc") -> None:
        listing = "; ".join(problems)
        super().__init__(f"{source} có lỗi: {listing}")
        self.problems = problems


class UnknownAward(DomainError):
    code = "unknown-award"
    title = "Không có hình thức khen thưởng này"

    def __init__(self, award_code: str, edition: str) -> None:
        super().__init__(
            f"Hình thức khen thưởng «{award_code}» không có trong bộ quy tắc {edition}."
        )


class NoRulebookInForce(DomainError):
    code = "no-rulebook-in-force"
    title = "Chưa có bộ quy tắc áp dụng"

    def __init__(self, on: date) -> None:
        super().__init__(f"Không có bộ quy tắc khen thưởng nào có hiệu lực vào ngày {on:%d/%m/%Y}.")


class IllegalTransition(DomainError):
    """The dossier is not in a state where this move is allowed."""

    code = "illegal-transition"
    title = "Không thể thực hiện ở trạng thái hiện tại"

    def __init__(self, action: str, status: str, status_label: str) -> None:
        super().__init__(f"Không thể {action} khi hồ sơ đang ở trạng thái «{status_label}».")
        self.action = action
        self.status = status


class DossierOnHold(DomainError):
    code = "dossier-on-hold"
    title = "Hồ sơ đang tạm dừng xét"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"Không thể {action}: hồ sơ đang tạm dừng xét khen thưởng để xác minh; "
            "cần dỡ bỏ tạm dừng trước."
        )


class WrongRole(DomainError):
    code = "wrong-role"
    title = "Vai trò không được phép"

    def __init__(self, action: str, required: str) -> None:
        super().__init__(f"Chỉ {required} mới được {action}.")


class ForeignUnit(DomainError):
    code = "foreign-unit"
    title = "Không thuộc đơn vị trình"

    def __init__(self, action: str) -> None:
        super().__init__(f"Chỉ đơn vị đã trình hồ sơ mới được {action}.")


class SeparationOfDuties(DomainError):
    code = "separation-of-duties"
    title = "Vi phạm nguyên tắc phân tách nhiệm vụ"

    def __init__(self, action: str) -> None:
        super().__init__(
            f"Người đã trình hoặc bổ sung hồ sơ này không được {action} chính hồ sơ đó."
        )


class NomineeKindMismatch(DomainError):
    code = "nominee-kind-mismatch"
    title = "Đối tượng không phù hợp với hình thức khen thưởng"

    def __init__(self, award_name: str, expected: str) -> None:
        super().__init__(f"«{award_name}» chỉ xét tặng cho {expected}.")


class PersonalDetailsMisplaced(DomainError):
    code = "personal-details-misplaced"
    title = "Thông tin cá nhân không phù hợp"

    def __init__(self) -> None:
        super().__init__("Tập thể không có thông tin cá nhân (số định danh, ngày sinh, ...).")


class NotEligible(DomainError):
    """An eligibility chain (Law, Articles 21-22) is not satisfied by the recorded titles."""

    code = "not-eligible"
    title = "Chưa đủ điều kiện đề nghị"

    def __init__(self, award_name: str, needs: str) -> None:
        super().__init__(f"Đề nghị «{award_name}» cần {needs}.")


class MovementClosed(DomainError):
    code = "movement-closed"
    title = "Phong trào thi đua đã kết thúc"

    def __init__(self, plan_number: str) -> None:
        super().__init__(
            f"Phong trào theo kế hoạch {plan_number} đã kết thúc, không nhận thêm hồ sơ "
            "và không sửa đổi được nữa."
        )


class DuplicateNomination(DomainError):
    code = "duplicate-nomination"
    title = "Đối tượng đã có hồ sơ đang xét"

    def __init__(self) -> None:
        super().__init__(
            "Đối tượng này đã có một hồ sơ đề nghị cùng hình thức khen thưởng trong cùng "
            "phong trào thi đua (mỗi thành tích chỉ được đề nghị khen thưởng một lần)."
        )


class DuplicateDocumentNumber(DomainError):
    code = "duplicate-document-number"
    title = "Số văn bản đã được sử dụng"

    def __init__(self, number: str) -> None:
        super().__init__(f"Số văn bản {number} đã được dùng cho một quyết định hoặc tờ trình khác.")


class InvalidDocumentNumber(DomainError):
    code = "invalid-document-number"
    title = "Số văn bản không đúng thể thức"

    def __init__(self, number: str, pattern: str) -> None:
        super().__init__(f"Số văn bản «{number}» không đúng thể thức; cần dạng {pattern}.")


class InvalidDocumentDate(DomainError):
    code = "invalid-document-date"
    title = "Ngày văn bản không hợp lệ"

    def __init__(self, problem: str) -> None:
        super().__init__(f"Ngày ký văn bản {problem}.")


class CommentPeriodTooShort(DomainError):
    code = "comment-period-too-short"
    title = "Thời gian lấy ý kiến quá ngắn"

    def __init__(self, closes_on: date, required_days: int, earliest: date) -> None:
        super().__init__(
            f"Ngày kết thúc lấy ý kiến {closes_on:%d/%m/%Y} chưa đủ {required_days} ngày làm "
            f"việc; sớm nhất là ngày {earliest:%d/%m/%Y}."
        )


class CommentWindowStillOpen(DomainError):
    code = "comment-window-still-open"
    title = "Chưa hết thời gian lấy ý kiến Nhân dân"

    def __init__(self, closes_on: date) -> None:
        super().__init__(
            f"Thời gian lấy ý kiến Nhân dân kéo dài đến hết ngày {closes_on:%d/%m/%Y}; "
            "chỉ được kết thúc lấy ý kiến và thẩm định sau ngày đó."
        )


class CommentWindowClosed(DomainError):
    code = "comment-window-closed"
    title = "Đã hết thời gian lấy ý kiến"

    def __init__(self, closes_on: date | None) -> None:
        when = f" (hạn cuối {closes_on:%d/%m/%Y})" if closes_on else ""
        super().__init__(f"Hồ sơ không còn trong thời gian lấy ý kiến Nhân dân{when}.")


class PublicCommentRequired(DomainError):
    code = "public-comment-required"
    title = "Chưa lấy ý kiến Nhân dân"

    def __init__(self) -> None:
        super().__init__(
            "Hình thức khen thưởng cấp Nhà nước phải được công khai lấy ý kiến Nhân dân "
            "trước khi thẩm định."
        )


class PublicCommentNotApplicable(DomainError):
    code = "public-comment-not-applicable"
    title = "Không cần lấy ý kiến Nhân dân"

    def __init__(self, award_name: str) -> None:
        super().__init__(f"«{award_name}» không thuộc diện công khai lấy ý kiến Nhân dân.")


class DuplicateComment(DomainError):
    code = "duplicate-comment"
    title = "Ý kiến đã được ghi nhận"

    def __init__(self) -> None:
        super().__init__("Ý kiến này đã được ghi nhận trước đó.")


class UnansweredComments(DomainError):
    code = "unanswered-comments"
    title = "Còn ý kiến chưa được trả lời"

    def __init__(self, missing: int) -> None:
        super().__init__(
            f"Kết quả thẩm định phải trả lời mọi ý kiến Nhân dân đã nhận; còn {missing} ý kiến "
            "chưa có câu trả lời."
        )


class UnknownComment(DomainError):
    code = "unknown-comment"
    title = "Không có ý kiến này"

    def __init__(self, comment_id: str) -> None:
        super().__init__(f"Hồ sơ không có ý kiến mã {comment_id}.")


class CommentNotFound(DomainError):
    """A command names a comment the dossier never received (the API answers 404)."""

    code = "comment-not-found"
    title = "Không tìm thấy ý kiến"

    def __init__(self, comment_id: str) -> None:
        super().__init__(
            f"Hồ sơ không có ý kiến mã {comment_id}; kiểm tra lại mã ý kiến (mã biên nhận)."
        )


class ModerationUnchanged(DomainError):
    code = "moderation-unchanged"
    title = "Ý kiến đã ở trạng thái này"

    def __init__(self, status_label: str) -> None:
        super().__init__(
            f"Ý kiến đang ở trạng thái «{status_label}» với cùng lý do; không có gì thay đổi "
            "để ghi nhận."
        )


class NotACouncilMember(DomainError):
    code = "not-a-council-member"
    title = "Không phải thành viên Hội đồng"

    def __init__(self) -> None:
        super().__init__("Chỉ thành viên Hội đồng có tên trong phiên xét mới được bỏ phiếu.")


class AlreadyVoted(DomainError):
    code = "already-voted"
    title = "Đã bỏ phiếu"

    def __init__(self) -> None:
        super().__init__("Mỗi thành viên Hội đồng chỉ được bỏ một phiếu cho mỗi hồ sơ.")


class ConflictOfInterest(DomainError):
    code = "conflict-of-interest"
    title = "Xung đột lợi ích"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)


class QuorumNotMet(DomainError):
    code = "quorum-not-met"
    title = "Không đủ số thành viên dự họp"

    def __init__(self, present: int, members: int, required: int) -> None:
        super().__init__(
            f"Phiên họp có {present}/{members} thành viên dự, cần ít nhất {required} "
            "thành viên để xét khen thưởng."
        )


class CouncilApprovalMissing(DomainError):
    code = "council-approval-missing"
    title = "Hội đồng chưa thông qua"

    def __init__(self) -> None:
        super().__init__(
            "Hình thức khen thưởng này phải được Hội đồng Thi đua - Khen thưởng biểu quyết "
            "thông qua trước khi quyết định."
        )


class PartyOpinionMissing(DomainError):
    code = "party-opinion-missing"
    title = "Chưa có ý kiến của Ban Thường vụ Tỉnh ủy"

    def __init__(self) -> None:
        super().__init__(
            "Hình thức khen thưởng này cần ý kiến bằng văn bản của Ban Thường vụ Tỉnh ủy "
            "trước khi trình cấp trên."
        )


class PartyOpinionUnfavourable(DomainError):
    code = "party-opinion-unfavourable"
    title = "Ban Thường vụ Tỉnh ủy không đồng ý"

    def __init__(self) -> None:
        super().__init__(
            "Ban Thường vụ Tỉnh ủy có ý kiến không đồng ý đề nghị: không thể trình cấp trên; "
            "Chủ tịch UBND tỉnh có thể quyết định không khen thưởng."
        )


class PersonalDetailsRequired(DomainError):
    code = "personal-details-required"
    title = "Thiếu số định danh cá nhân"

    def __init__(self) -> None:
        super().__init__(
            "Hồ sơ đề nghị khen thưởng cá nhân cần số định danh cá nhân (12 chữ số) để bảo đảm "
            "mỗi thành tích chỉ được đề nghị khen thưởng một lần."
        )


class WrongLevel(DomainError):
    code = "wrong-level"
    title = "Sai thẩm quyền quyết định"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)


class InvalidPeriod(DomainError):
    code = "invalid-period"
    title = "Thời gian không hợp lệ"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
