"""The audit log's signed checkpoints, for auditors and administrators.

The same checkpoints are public at ``/du-lieu-mo/checkpoints`` (``api.public.checkpoints``);
this is the staff API's view, with its authentication, problem answers and OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.errors import ApiProblem
from api.models import NEXT_CURSOR_DESCRIPTION, Out
from api.routes.common import READ_PROBLEMS, Cursor, ViewLimit, api_router, problems
from api.security import Caller, ServicesDep
from application.audit.verifier import b64, key_id, public_key_raw
from application.policy import authorize
from infrastructure.audit.checkpoints import StoredCheckpoint

__all__ = ["router"]

router = api_router("/api/v1", "Nhật ký kiểm toán (audit)")


class CheckpointOut(Out):
    """A signed checkpoint: the audit log named ``origin`` had ``size`` events, with root
    ``root``, at ``time``; ``signature`` is Ed25519 over ``signed_text``."""

    id: int = Field(description="Số thứ tự của điểm kiểm tra (con trỏ trang)")
    origin: str = Field(description="Tên nhật ký (dòng đầu của văn bản được ký)")
    size: int = Field(description="Số sự kiện (lá) của cây tại điểm kiểm tra")
    root: str = Field(description="Gốc cây Merkle (RFC 9162, SHA-256), base64")
    time: datetime = Field(description="Thời điểm ký (UTC)")
    key_id: str = Field(description="16 chữ số hex đầu của SHA-256 khóa công khai")
    signature: str = Field(description="Chữ ký Ed25519 trên signed_text, base64")
    signed_text: str = Field(description="Văn bản được ký: origin, size, root, time, mỗi dòng một")


class CheckpointPage(Out):
    items: list[CheckpointOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
    limit: int
    key_id: str | None = Field(description="Khóa ký điểm kiểm tra mới nhất (null nếu chưa có)")
    public_key: str | None = Field(description="Khóa công khai Ed25519 (32 byte), base64")


def checkpoint_out(stored: StoredCheckpoint) -> CheckpointOut:
    checkpoint = stored.checkpoint
    return CheckpointOut(
        id=stored.id,
        origin=checkpoint.origin,
        size=checkpoint.size,
        root=b64(checkpoint.root),
        time=checkpoint.time,
        key_id=checkpoint.key_id,
        signature=b64(checkpoint.signature),
        signed_text=checkpoint.body().decode("utf-8"),
    )


@router.get("/audit/checkpoints", response_model=CheckpointPage, responses=problems(*READ_PROBLEMS))
def list_checkpoints(
    caller: Caller, services: ServicesDep, cursor: Cursor = None, limit: ViewLimit = 50
) -> CheckpointPage:
    """Điểm kiểm tra đã ký của nhật ký kiểm toán, mới nhất trước. Thanh tra, kiểm toán và quản
    trị (công khai cho mọi người tại /du-lieu-mo/checkpoints)."""
    authorize(caller.actor, "audit.checkpoints")
    before = None
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
            raise ApiProblem(
                400,
                "invalid-cursor",
                "Con trỏ trang không hợp lệ",
                "cursor phải là nguyên giá trị next_cursor của trang trước.",
            )
        before = int(cursor)
    checkpoints = services.checkpoints
    found = checkpoints.table.page(before=before, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    key = checkpoints.public_key()
    return CheckpointPage(
        items=[checkpoint_out(stored) for stored in found],
        next_cursor=str(found[-1].id) if more and found else None,
        limit=limit,
        key_id=key_id(key) if key is not None else None,
        public_key=b64(public_key_raw(key)) if key is not None else None,
    )
