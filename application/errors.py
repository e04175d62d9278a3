"""Errors the application layer raises on top of the domain's rule errors."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID


class ApplicationError(Exception):
    code: ClassVar[str] = "application-error"
    title: ClassVar[str] = "Không thực hiện được yêu cầu"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(ApplicationError):
    code = "configuration-error"
    title = "Cấu hình không hợp lệ"


class NotFound(ApplicationError):
    code = "not-found"
    title = "Không tìm thấy"

    def __init__(self, what: str, identifier: UUID | str) -> None:
        super().__init__(f"Không tìm thấy {what} có mã {identifier}.")


class AlreadyExists(ApplicationError):
    code = "already-exists"
    title = "Đã tồn tại"

    def __init__(self, what: str, identifier: UUID | str) -> None:
        super().__init__(f"Đã có {what} với mã {identifier}.")


class VersionConflict(ApplicationError):
    """The caller acted on a version that is no longer the current one."""

    code = "version-conflict"
    title = "Hồ sơ đã được người khác cập nhật"

    def __init__(self, identifier: UUID, expected: int, current: int) -> None:
        super().__init__(
            f"Bạn đang thao tác trên phiên bản {expected} nhưng phiên bản hiện tại là {current}; "
            "hãy tải lại hồ sơ rồi thực hiện lại."
        )
        self.identifier = identifier
        self.expected = expected
        self.current = current


class PermissionDenied(ApplicationError):
    code = "permission-denied"
    title = "Không có quyền"

    def __init__(self, action: str, role: str) -> None:
        super().__init__(f"Vai trò «{role}» không được phép {action}.")
        self.action = action


class InvalidMoment(ApplicationError):
    code = "invalid-moment"
    title = "Thời điểm không hợp lệ"

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
