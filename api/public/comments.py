"""The public comment: the form's post, the receipt, and looking a receipt up.

A comment is checked here in this order, and a refused one re-renders the nomination's page
with the form, a Vietnamese message (``role="alert"``, id ``loi-y-kien``) and every value the
person typed:

===========================================  ======
the form is not this site's (CSRF token)      403
the honeypot field ``website`` is filled      400
the window is closed (state or date)          409
nothing, or too much, typed; no kind chosen   400
too many comments from the address / dossier  429 (Retry-After)
the same text already sent for this dossier   409
===========================================  ======

An accepted comment is recorded as ``CommentReceived`` by the public portal (role PUBLIC), its
id a new receipt code; the answer is a 303 to the receipt's page once the views show it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.public.csrf import COOKIE_NAME, CsrfCheck
from api.public.pages import Form, comment_form_context, is_open, nomination_context, not_found
from api.public.protection import text_fingerprint
from api.public.site import COMMENT_KINDS, PublicSite, parse_dossier_id, site_of
from application.comments import format_receipt_code, new_receipt_code, normalise_receipt_code
from application.errors import NotFound
from domain.errors import CommentWindowClosed, DossierOnHold, DuplicateComment, InvalidValue
from domain.shared import Actor, Role
from domain.values import CommentKind

__all__ = ["PORTAL", "router"]

router = APIRouter(include_in_schema=False)
Site = Annotated[PublicSite, Depends(site_of)]

PORTAL = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)
"""Who records a comment sent through the public pages (the person stays anonymous)."""
MAX_TEXT = 5000
MAX_NAME = 200
MAX_CONTACT = 200
MAX_FIELDS = 20
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
RECEIPT_VIEWS = ("comments", "consultation")


# --- reading the form ---------------------------------------------------------------------------


async def form_fields(request: Request) -> dict[str, str] | None:
    """The posted form's fields (the first value of each), or None if it is not a form."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        return None
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        return None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


Fields = Annotated[dict[str, str] | None, Depends(form_fields)]


def _typed(text: str) -> str:
    """A field as typed, in NFC, with the browser's CRLF line ends as LF."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")


def _form(fields: dict[str, str]) -> Form:
    return Form(
        noi_dung=_typed(fields.get("noi_dung", "")),
        ho_ten=_typed(fields.get("ho_ten", "")),
        lien_he=_typed(fields.get("lien_he", "")),
        loai=fields.get("loai", ""),
    )


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    field: str | None = None
    retry_after: int | None = None


def _check_input(form: Form) -> Refusal | None:
    if form.loai not in COMMENT_KINDS:
        return Refusal(
            400,
            "Vui lòng chọn loại ý kiến: ủng hộ, phản đối, hoặc góp ý, cung cấp thông tin.",
            "loai",
        )
    text = form.noi_dung.strip()
    if not text:
        return Refusal(400, "Vui lòng nhập nội dung ý kiến trước khi gửi.", "noi_dung")
    if len(text) > MAX_TEXT:
        return Refusal(
            400,
            f"Nội dung ý kiến dài {len(text):,} ký tự, vượt quá giới hạn {MAX_TEXT:,} ký tự. "
            "Vui lòng rút gọn rồi gửi lại; nội dung bạn đã nhập vẫn được giữ nguyên.".replace(
                ",", "."
            ),
            "noi_dung",
        )
    if len(form.ho_ten.strip()) > MAX_NAME:
        return Refusal(400, f"Họ và tên không được dài quá {MAX_NAME} ký tự.", "ho_ten")
    if len(form.lien_he.strip()) > MAX_CONTACT:
        return Refusal(400, f"Thông tin liên hệ không được dài quá {MAX_CONTACT} ký tự.", "lien_he")
    return None


CSRF_MESSAGES = {
    CsrfCheck.MISSING: "Không gửi được ý kiến vì trình duyệt không gửi kèm mã bảo vệ của biểu "
    "mẫu (cần bật cookie cho trang này). Nội dung bạn nhập vẫn được giữ nguyên; hãy bấm «Gửi ý "
    "kiến» lần nữa.",
    CsrfCheck.EXPIRED: "Biểu mẫu đã mở quá lâu nên mã bảo vệ đã hết hạn. Nội dung bạn nhập vẫn "
    "được giữ nguyên; hãy bấm «Gửi ý kiến» lần nữa.",
    CsrfCheck.INVALID: "Mã bảo vệ của biểu mẫu không hợp lệ (biểu mẫu không phải do trang này "
    "cung cấp). Nội dung bạn nhập vẫn được giữ nguyên; hãy bấm «Gửi ý kiến» lần nữa.",
}


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} phút"


# --- the post -----------------------------------------------------------------------------------


class CommentPost:
    """One comment being sent: its checks, in order, then the command."""

    def __init__(
        self, site: PublicSite, request: Request, dossier_id: UUID, row: dict[str, Any]
    ) -> None:
        self.site = site
        self.request = request
        self.dossier_id = dossier_id
        self.row = row
        self.address = request.client.host if request.client else "unknown"

    def refuse(self, form: Form, refusal: Refusal) -> HTMLResponse:
        """The nomination's page again, with the message and everything typed."""
        context = nomination_context(self.site, self.row)
        fields, cookie = comment_form_context(
            self.site,
            self.dossier_id,
            self.request.cookies.get(COOKIE_NAME),
            form=form,
            error=refusal.message,
            error_field=refusal.field,
        )
        context.update(fields)
        response = self.site.render(
            self.request,
            "nomination.html",
            context,
            status_code=refusal.status,
            cookie=cookie,
            private=True,
        )
        if refusal.retry_after is not None:
            response.headers["Retry-After"] = str(refusal.retry_after)
        return response

    def check(self, fields: dict[str, str], form: Form) -> Refusal | None:
        site = self.site
        verdict = site.csrf.check(
            self.request.cookies.get(COOKIE_NAME), fields.get("csrf_token"), site.now()
        )
        if verdict is not CsrfCheck.VALID:
            return Refusal(403, CSRF_MESSAGES[verdict])
        if fields.get("website", "").strip():
            site.per_address.record(self.address)
            return Refusal(
                400,
                "Không gửi được ý kiến: ô «Trang web» phải để trống (ô này chỉ dùng để chặn "
                "thư rác tự động).",
            )
        if not is_open(self.row, site.today()):
            closes_on = self.row["closes_on"].strftime("%d/%m/%Y")
            return Refusal(
                409,
                f"Hồ sơ này không còn nhận ý kiến (hạn cuối: hết ngày {closes_on}). Ý kiến "
                "chưa được gửi; nội dung bạn nhập vẫn được giữ bên dưới.",
            )
        refused = _check_input(form)
        if refused is not None:
            return refused
        return self.check_limits(form)

    def check_limits(self, form: Form) -> Refusal | None:
        site = self.site
        wait = site.per_address.retry_after(self.address)
        if wait:
            return Refusal(
                429,
                "Bạn đã gửi nhiều ý kiến trong thời gian ngắn. Vui lòng thử lại sau khoảng "
                f"{_minutes(wait)}; nội dung bạn nhập vẫn được giữ nguyên.",
                retry_after=wait,
            )
        wait = site.per_dossier.retry_after(str(self.dossier_id))
        if wait:
            return Refusal(
                429,
                "Hồ sơ này đang nhận rất nhiều ý kiến cùng lúc. Vui lòng thử lại sau khoảng "
                f"{_minutes(wait)}; nội dung bạn nhập vẫn được giữ nguyên.",
                retry_after=wait,
            )
        if self.is_duplicate(form.noi_dung):
            return Refusal(
                409,
                "Ý kiến có cùng nội dung đã được gửi cho hồ sơ này, nên không ghi nhận thêm lần "
                "nữa. Nếu bạn đã gửi, hãy tra cứu bằng mã biên nhận đã nhận.",
                "noi_dung",
            )
        return None

    def is_duplicate(self, text: str) -> bool:
        fingerprint = text_fingerprint(text)
        key = str(self.dossier_id)
        if self.site.recent.seen(key, fingerprint):
            return True
        return any(
            text_fingerprint(stored) == fingerprint
            for stored in self.site.reads.comment_texts(self.dossier_id)
        )

    def send(self, form: Form) -> str | Refusal:
        """Record the comment; its receipt code, or why the domain refused it."""
        kind = CommentKind(COMMENT_KINDS[form.loai][0])
        services = self.site.services
        for _ in range(3):  # a receipt code drawn twice: draw again
            code = new_receipt_code()
            try:
                receipt = services.dossiers.receive_comment(
                    self.dossier_id,
                    kind=kind,
                    text=form.noi_dung.strip(),
                    author_name=form.ho_ten.strip() or None,
                    contact=form.lien_he.strip() or None,
                    by=PORTAL,
                    comment_id=code,
                )
            except DuplicateComment:
                continue
            except (CommentWindowClosed, DossierOnHold):
                return Refusal(
                    409,
                    "Hồ sơ này hiện không nhận ý kiến. Ý kiến chưa được gửi; nội dung bạn "
                    "nhập vẫn được giữ bên dưới.",
                )
            except InvalidValue as error:
                return Refusal(400, f"Không gửi được ý kiến: {error}")
            self.site.per_address.record(self.address)
            self.site.per_dossier.record(str(self.dossier_id))
            self.site.recent.add(str(self.dossier_id), text_fingerprint(form.noi_dung))
            services.projections.wait_for(
                receipt.position,
                views=RECEIPT_VIEWS,
                timeout=services.settings.read_wait_seconds,
            )
            return code
        return Refusal(409, "Không cấp được mã biên nhận; vui lòng gửi lại.")


@router.post("/cong-khai/{dossier_id}/y-kien", response_class=HTMLResponse)
def send_comment(request: Request, site: Site, dossier_id: str, fields: Fields) -> Response:
    found = parse_dossier_id(dossier_id)
    row = site.reads.public_consultation(found) if found is not None else None
    if found is None or row is None:
        return not_found(site, request)
    post = CommentPost(site, request, found, row)
    if fields is None:
        return post.refuse(
            Form(),
            Refusal(400, "Biểu mẫu gửi lên không đúng định dạng; vui lòng nhập lại và gửi."),
        )
    form = _form(fields)
    refused = post.check(fields, form)
    if refused is not None:
        return post.refuse(form, refused)
    try:
        outcome = post.send(form)
    except NotFound:
        return not_found(site, request)
    if isinstance(outcome, Refusal):
        return post.refuse(form, outcome)
    return RedirectResponse(f"/y-kien/{format_receipt_code(outcome)}", status_code=303)


# --- the receipt --------------------------------------------------------------------------------


def _lookup_page(
    site: PublicSite, request: Request, *, typed: str = "", error: str | None = None, status: int
) -> HTMLResponse:
    return site.render(
        request,
        "lookup.html",
        {"typed": typed, "error": error},
        status_code=status,
        private=True,
    )


@router.get("/y-kien", response_class=HTMLResponse)
def lookup(request: Request, site: Site, ma: str | None = None) -> Response:
    if ma is None:
        return _lookup_page(site, request, status=200)
    code = normalise_receipt_code(ma)
    if code is None:
        return _lookup_page(
            site,
            request,
            typed=ma[:64],
            error="Mã biên nhận gồm 12 ký tự chữ và số, dạng XXXX-XXXX-XXXX. Vui lòng kiểm tra "
            "lại mã đã nhập.",
            status=400,
        )
    return RedirectResponse(f"/y-kien/{format_receipt_code(code)}", status_code=303)


@router.get("/y-kien/{code}", response_class=HTMLResponse)
def receipt(request: Request, site: Site, code: str) -> Response:
    key = normalise_receipt_code(code)
    comment = site.reads.comment_by_receipt(key) if key is not None else None
    if comment is None:
        return _lookup_page(
            site,
            request,
            typed=code[:64],
            error="Không tìm thấy ý kiến nào có mã biên nhận này. Vui lòng kiểm tra lại mã "
            "(12 ký tự, dạng XXXX-XXXX-XXXX).",
            status=404,
        )
    nomination = site.reads.public_consultation(comment["dossier_id"])
    return site.render(
        request,
        "receipt.html",
        {"comment": comment, "nomination": nomination},
        private=True,
    )
