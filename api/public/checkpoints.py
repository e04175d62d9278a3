"""The audit log's signed checkpoints, public (no account needed), so anyone can keep a copy.

- ``/du-lieu-mo/checkpoints``: every checkpoint, newest first, as JSON pages (``trang``,
  ``so_luong``), with the signing key's id and raw public key (base64).
- ``/du-lieu-mo/checkpoints/latest``: the latest checkpoint, the JSON that
  ``khenthuong audit verify --checkpoint FILE`` reads.
- ``/du-lieu-mo/checkpoints/public-key``: the Ed25519 public key (PEM) that signs them
  (``?key_id=`` for an earlier one), for ``khenthuong audit verify-export FILE --public-key``.
  Served from the keys stored with the checkpoints, so an API process needs no key file.

The public pages' footer shows the latest (``footer_checkpoint``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from api.errors import ApiProblem
from api.public.opendata import OPEN_HEADERS
from api.public.site import PublicSite, site_of
from application.audit.verifier import b64, public_key_raw
from application.audit.verifier import key_id as key_id_of
from domain.shared import VIETNAM_TZ
from infrastructure.audit.checkpoints import AuditCheckpoints, StoredCheckpoint

__all__ = ["footer_checkpoint", "router"]

router = APIRouter(include_in_schema=False)
Site = Annotated[PublicSite, Depends(site_of)]
DEFAULT_ROWS = 100
MAX_ROWS = 1000
BASE = "/du-lieu-mo/checkpoints"


def _checkpoints(site: PublicSite) -> AuditCheckpoints:
    return site.services.checkpoints


def checkpoint_item(stored: StoredCheckpoint) -> dict[str, Any]:
    return {"id": stored.id, **stored.checkpoint.to_json()}


def _problem(status: int, code: str, title: str, detail: str) -> ApiProblem:
    return ApiProblem(status, code, title, detail, headers=OPEN_HEADERS)


def _limit(so_luong: str | None) -> int:
    if so_luong is None:
        return DEFAULT_ROWS
    text = so_luong.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ROWS:
        raise _problem(
            400,
            "invalid-page-size",
            "Số dòng mỗi trang không hợp lệ",
            f"Tham số so_luong phải là số nguyên từ 1 đến {MAX_ROWS}.",
        )
    return int(text)


def _cursor(trang: str | None) -> int | None:
    if trang is None:
        return None
    text = trang.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise _problem(
            400,
            "invalid-cursor",
            "Con trỏ trang không hợp lệ",
            "Tham số trang phải là nguyên giá trị next_cursor của trang trước; bỏ tham số trang "
            "để đọc từ trang đầu.",
        )
    return int(text)


def _public_key(checkpoints: AuditCheckpoints) -> dict[str, Any]:
    key = checkpoints.public_key()
    return {
        "key_id": key_id_of(key) if key is not None else None,
        "public_key": b64(public_key_raw(key)) if key is not None else None,
        "public_key_url": f"{BASE}/public-key",
    }


@router.get(BASE)
@router.get(f"{BASE}/")
def checkpoints_json(
    request: Request, site: Site, trang: str | None = None, so_luong: str | None = None
) -> Response:
    checkpoints = _checkpoints(site)
    limit = _limit(so_luong)
    found = checkpoints.table.page(before=_cursor(trang), limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    next_cursor = str(found[-1].id) if more and found else None
    following = None
    if next_cursor is not None:
        kept = {"so_luong": so_luong} if so_luong else {}
        following = f"{BASE}?{urlencode({**kept, 'trang': next_cursor})}"
    body = {
        "origin": checkpoints.origin,
        **_public_key(checkpoints),
        "items": [checkpoint_item(stored) for stored in found],
        "next_cursor": next_cursor,
        "next": following,
    }
    return JSONResponse(body, headers=OPEN_HEADERS)


@router.get(f"{BASE}/latest")
def latest_checkpoint(site: Site) -> Response:
    stored = _checkpoints(site).table.latest()
    if stored is None:
        raise _problem(
            404,
            "no-checkpoint",
            "Chưa có điểm kiểm tra",
            "Nhật ký kiểm toán chưa được ký lần nào; điểm kiểm tra đầu tiên sẽ có sau khi máy "
            "chủ ký định kỳ hoặc khi quản trị chạy khenthuong audit checkpoint.",
        )
    return JSONResponse(checkpoint_item(stored), headers=OPEN_HEADERS)


@router.get(f"{BASE}/public-key")
def public_key(site: Site, key_id: str | None = None) -> Response:
    """The key that signs the checkpoints now (the latest's), or the one with ``key_id``."""
    wanted = None if key_id is None else key_id.strip().lower()[:64]
    key = _checkpoints(site).public_key(wanted)
    if key is None:
        raise _problem(
            404 if wanted else 503,
            "audit-key-unknown" if wanted else "audit-key-unavailable",
            "Không có khóa ký điểm kiểm tra",
            f"Không có khóa công khai mã {wanted}."
            if wanted
            else "Chưa có điểm kiểm tra nào được ký và máy chủ này không giữ khóa ký; xin thử "
            "lại sau.",
        )
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return PlainTextResponse(
        pem,
        media_type="application/x-pem-file",
        headers={
            **OPEN_HEADERS,
            "Content-Disposition": f'inline; filename="khenthuong-{key_id_of(key)}.pem"',
        },
    )


def footer_checkpoint(site: PublicSite) -> dict[str, Any] | None:
    """The latest checkpoint for the footer (size, shortened root, time); None when there is
    none yet or it cannot be read (the footer then says nothing of it)."""
    try:
        stored = _checkpoints(site).table.latest()
    except Exception:  # the footer never breaks a page
        return None
    if stored is None:
        return None
    checkpoint = stored.checkpoint
    root = b64(checkpoint.root)
    return {
        "size": checkpoint.size,
        "root": root,
        "root_short": root[:12] + "…",
        "time": checkpoint.time,
        "time_text": f"{checkpoint.time.astimezone(VIETNAM_TZ):%H:%M ngày %d/%m/%Y}",
        "url": f"{BASE}/latest",
    }
