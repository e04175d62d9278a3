"""A realistic demo data set, loaded through the real use cases (so it obeys every rule).

What it contains
----------------
Movements, from the seed texts (the project's ``seeds/`` folder, real provincial notices):

* Đắk Nông, Kế hoạch số 461/KH-UBND of 11/8/2022: the peak movement for the province's 20th
  anniversary, running to 31/10/2023. Its dossiers come in January 2024, at the movement's
  final review ("tổng kết ... gắn với tổng kết nhiệm vụ công tác năm 2023"), and are judged by
  the first rulebook in force (Decree 98/2023, from 01/01/2024).
* Cao Bằng, Kế hoạch số 2255/KH-UBND of 21/8/2023, August 2023 to August 2024 (525 years of
  the province, 80 years of the People's Army). Its dossiers come in September–October 2024.
* The four province-wide movements of Đắk Nông's Công văn số 2457/UBND-NC of 25/5/2018. The
  letter names them but cites none of the plans that launched them in 2016–2017, and a
  movement is identified by its plan number and the plan's year
  (``EmulationMovement.id_for``). Inventing plan numbers would put documents that do not exist
  into the register, so each is recorded under the letter that is real, with a short tag:
  ``2457/UBND-NC-NTM`` (nông thôn mới), ``2457/UBND-NC-DN`` (doanh nghiệp), ``2457/UBND-NC-GN``
  (giảm nghèo), ``2457/UBND-NC-CCHC`` (cải cách thủ tục hành chính), issued on the letter's
  date. The letter gives no period for "Doanh nghiệp Đắk Nông hội nhập và phát triển"; it is
  given 2016–2020 like its siblings. They closed in 2021 and hold no dossiers (the rulebooks
  start in 2024).
* One current movement, not from the seeds, so that dossiers can be in flow today: Cao Bằng's
  yearly movement ``35/KH-UBND`` for the year of the recent activity (an illustrative number).

Sixty-eight dossiers cover every ``Status``, state-level and provincial awards, individuals and
collectives, public comments (some with contacts; each with a receipt code as its id, published
by the appraiser minutes after it came, one duplicate withheld with a reason, and the latest on
each nomination still open for comment not yet moderated), a council of fifteen members (``m01`` …
``m15``) with conflicts of interest and written ballots, holds, returns, withdrawals, batch
decisions (one decision number for several dossiers, as provinces do), decisions from above
and one revocation. Individuals carry private details (12-digit identity number, date of
birth, phone, e-mail at ``example.com``, address) so that later work can prove they never leak.
Each document reference hashes bytes that :func:`demo_document_bytes` can produce again.

Accounts to try the API with (:func:`ensure_demo_accounts`): one per staff role, each one of
the people in the histories where the histories name one, and the rest of the council without
tokens so that a council opened from the accounts has the demo's fifteen members.

The seeds come from two provinces, so this one store holds both; a real deployment is one
province. Units are named as they were at the time: districts (UBND huyện) in 2024, the
two-level local government (UBND xã, phường) after 1/7/2025.

How it runs
-----------
Every command goes through :class:`Dossiers` and :class:`Movements` (copies over the caller's
store, so the caller's applications and their clocks are left alone) with a clock set to the
moment of the step: working days of the caller's calendar, office hours in Vietnam, every
event before ``today``. All steps of all dossiers are sorted by time, so the stored log reads in
time order. The data depend only on fixed seeds (and, for the recent part, on ``today``):
running it twice writes nothing the second time (movements that exist are skipped; each
dossier resumes after the steps it already has, so a complete one is skipped).
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from math import ceil
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from application.accounts import SYSTEM, Accounts, IssuedToken
from application.comments import RECEIPT_ALPHABET, RECEIPT_LENGTH
from application.dossiers import Dossiers
from application.errors import NotFound
from application.movements import Movements
from domain.calendar import WorkCalendar
from domain.dossier import Status
from domain.movement import DuplicateMovement, EmulationMovement
from domain.rulebook import AwardRule, Decider, Subject
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role, fold
from domain.values import (
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    CommentStatus,
    Disposition,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    TitleKind,
    Vote,
)

__all__ = [
    "COUNCIL",
    "DEMO_ACCOUNTS",
    "DEMO_NAMESPACE",
    "EARLIEST_TODAY",
    "DemoAccount",
    "DemoSummary",
    "demo_document_bytes",
    "demo_dossier_ids",
    "ensure_demo_accounts",
    "load_demo",
]

DEMO_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:demo")
EARLIEST_TODAY = date(2025, 12, 1)
"""The recent part of the data needs its three months after the historical part (to mid-2025)."""

# --- who acts ---------------------------------------------------------------------------------

RECORDER = Actor("snv.tdkt.vanthu", Role.APPRAISER)
"""Records the movements (the commendation office of the Sở Nội vụ)."""
APPRAISERS = (
    Actor("snv.thamdinh01", Role.APPRAISER),
    Actor("snv.thamdinh02", Role.APPRAISER),
    Actor("snv.thamdinh03", Role.APPRAISER),
)
SECRETARY = Actor("hdtdkt.thuky", Role.COUNCIL_SECRETARY)
CHAIRMAN = Actor("ubnd.chutich", Role.CHAIRMAN)
COUNCIL = tuple(Actor(f"m{number:02d}", Role.COUNCIL_MEMBER) for number in range(1, 16))
PORTAL = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)
READER = Actor("demo.kiemtra", Role.AUDITOR)

Path = Literal[
    "submitted",
    "returned",
    "withdrawn",
    "withdrawn_after_return",
    "withdrawn_in_comment",
    "public_comment",
    "comment_closed",
    "held_complaint",
    "held_inspection",
    "not_qualified",
    "awaiting_council",
    "council_voting",
    "not_recommended",
    "awaiting_decision",
    "approved",
    "rejected",
    "forwarded",
    "conferred",
    "declined",
    "revoked",
]
"""How far each dossier goes; most names are the ``Status`` it ends in."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _rng(label: str) -> random.Random:
    """A reproducible generator for one part of the data set (demo data, not security)."""
    return random.Random(f"khenthuong-demo:{label}")  # noqa: S311


# --- units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    place: str
    """Where its people live, for addresses ("xã Đắk Lao, huyện Đắk Mil, tỉnh Đắk Nông")."""
    id_prefix: str
    """The province code that opens a citizen identity number (067 Đắk Nông, 004 Cao Bằng)."""

    @property
    def submitter(self) -> Actor:
        return Actor(f"{self.code}.vanthu", Role.SUBMITTER, unit=_nfc(self.name))


_DN, _CB = "067", "004"
UNITS = {
    unit.code: unit
    for unit in (
        _Unit("dkn-sgddt", "Sở Giáo dục và Đào tạo tỉnh Đắk Nông", "phường Nghĩa Tân, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-syt", "Sở Y tế tỉnh Đắk Nông", "phường Nghĩa Trung, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-ca", "Công an tỉnh Đắk Nông", "phường Nghĩa Đức, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-snn", "Sở Nông nghiệp và Phát triển nông thôn tỉnh Đắk Nông", "phường Nghĩa Phú, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-snv", "Sở Nội vụ tỉnh Đắk Nông", "phường Nghĩa Trung, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-dakmil", "UBND huyện Đắk Mil", "thị trấn Đắk Mil, huyện Đắk Mil, tỉnh Đắk Nông", _DN),
        _Unit("dkn-cujut", "UBND huyện Cư Jút", "thị trấn Ea T'ling, huyện Cư Jút, tỉnh Đắk Nông", _DN),
        _Unit("dkn-gianghia", "UBND thành phố Gia Nghĩa", "phường Nghĩa Thành, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-krongno", "UBND huyện Krông Nô", "thị trấn Đắk Mâm, huyện Krông Nô, tỉnh Đắk Nông", _DN),
        _Unit("dkn-bao", "Báo Đắk Nông", "phường Nghĩa Trung, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("dkn-mttq", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Đắk Nông", "phường Nghĩa Trung, thành phố Gia Nghĩa, tỉnh Đắk Nông", _DN),
        _Unit("cbg-sgddt", "Sở Giáo dục và Đào tạo tỉnh Cao Bằng", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-syt", "Sở Y tế tỉnh Cao Bằng", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-ca", "Công an tỉnh Cao Bằng", "phường Tân Giang, tỉnh Cao Bằng", _CB),
        _Unit("cbg-bchqs", "Bộ Chỉ huy Quân sự tỉnh Cao Bằng", "phường Nùng Trí Cao, tỉnh Cao Bằng", _CB),
        _Unit("cbg-bdbp", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Cao Bằng", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-svhttdl", "Sở Văn hóa, Thể thao và Du lịch tỉnh Cao Bằng", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-stp", "Sở Tư pháp tỉnh Cao Bằng", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-trungkhanh-h", "UBND huyện Trùng Khánh", "thị trấn Trùng Khánh, huyện Trùng Khánh, tỉnh Cao Bằng", _CB),
        _Unit("cbg-haquang-h", "UBND huyện Hà Quảng", "thị trấn Thông Nông, huyện Hà Quảng, tỉnh Cao Bằng", _CB),
        _Unit("cbg-thanhpho", "UBND thành phố Cao Bằng", "phường Hợp Giang, thành phố Cao Bằng, tỉnh Cao Bằng", _CB),
        _Unit("cbg-thucphan", "UBND phường Thục Phán", "phường Thục Phán, tỉnh Cao Bằng", _CB),
        _Unit("cbg-tangiang", "UBND phường Tân Giang", "phường Tân Giang, tỉnh Cao Bằng", _CB),
        _Unit("cbg-trungkhanh", "UBND xã Trùng Khánh", "xã Trùng Khánh, tỉnh Cao Bằng", _CB),
    )
}  # fmt: skip


# --- movements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MovementPlan:
    key: str
    plan_number: str
    title: str
    issuing_body: str
    issued_on: date
    starts_on: date
    ends_on: date
    closes_on: date | None = None
    closing_reason: str = ""

    @property
    def id(self) -> UUID:
        return EmulationMovement.id_for(self.plan_number, self.issued_on, self.issuing_body)


_LETTER_2457 = "theo Công văn số 2457/UBND-NC ngày 25/5/2018 của UBND tỉnh Đắk Nông"
HISTORICAL_MOVEMENTS = (
    _MovementPlan(
        "dkn-ntm", "2457/UBND-NC-NTM",
        f"Phong trào thi đua «Đắk Nông chung sức xây dựng nông thôn mới» giai đoạn 2016 - 2020 ({_LETTER_2457})",
        "UBND tỉnh Đắk Nông", date(2018, 5, 25), date(2016, 1, 1), date(2020, 12, 31),
        date(2021, 1, 22), "Kết thúc giai đoạn 2016 - 2020; đã tổng kết phong trào.",
    ),
    _MovementPlan(
        "dkn-dn", "2457/UBND-NC-DN",
        f"Phong trào thi đua «Doanh nghiệp Đắk Nông hội nhập và phát triển» ({_LETTER_2457})",
        "UBND tỉnh Đắk Nông", date(2018, 5, 25), date(2016, 1, 1), date(2020, 12, 31),
        date(2021, 1, 22), "Kết thúc giai đoạn 2016 - 2020; đã tổng kết phong trào.",
    ),
    _MovementPlan(
        "dkn-gn", "2457/UBND-NC-GN",
        f"Phong trào thi đua «Đắk Nông chung tay vì người nghèo - Không để ai bị bỏ lại phía sau» giai đoạn 2016 - 2020 ({_LETTER_2457})",
        "UBND tỉnh Đắk Nông", date(2018, 5, 25), date(2016, 1, 1), date(2020, 12, 31),
        date(2021, 1, 22), "Kết thúc giai đoạn 2016 - 2020; đã tổng kết phong trào.",
    ),
    _MovementPlan(
        "dkn-cchc", "2457/UBND-NC-CCHC",
        f"Phong trào thi đua «Đẩy mạnh cải cách thủ tục hành chính tỉnh Đắk Nông» giai đoạn 2017 - 2020 ({_LETTER_2457})",
        "UBND tỉnh Đắk Nông", date(2018, 5, 25), date(2017, 1, 1), date(2020, 12, 31),
        date(2021, 1, 22), "Kết thúc giai đoạn 2017 - 2020; đã tổng kết phong trào.",
    ),
    _MovementPlan(
        "dkn-461", "461/KH-UBND",
        "Phong trào thi đua cao điểm chào mừng kỷ niệm 20 năm ngày thành lập tỉnh Đắk Nông (01/01/2004 - 01/01/2024)",
        "UBND tỉnh Đắk Nông", date(2022, 8, 11), date(2022, 8, 11), date(2023, 10, 31),
        date(2024, 7, 15), "Đã tổng kết phong trào và hoàn thành việc tiếp nhận hồ sơ đề nghị khen thưởng.",
    ),
    _MovementPlan(
        "cbg-2255", "2255/KH-UBND",
        "Phong trào thi đua lập thành tích chào mừng kỷ niệm 525 năm thành lập tỉnh Cao Bằng (1499 - 2024) gắn với các hoạt động chào mừng kỷ niệm 80 năm Ngày thành lập Quân đội nhân dân Việt Nam (22/12/1944 - 22/12/2024)",
        "UBND tỉnh Cao Bằng", date(2023, 8, 21), date(2023, 8, 21), date(2024, 8, 31),
        date(2025, 1, 20), "Kết thúc đợt thi đua; đã tiếp nhận đủ hồ sơ đề nghị khen thưởng.",
    ),
)  # fmt: skip


def _current_movement(year: int, issued_on: date) -> _MovementPlan:
    return _MovementPlan(
        "current",
        "35/KH-UBND",
        "Phong trào thi đua thực hiện thắng lợi nhiệm vụ phát triển kinh tế - xã hội, bảo đảm "
        f"quốc phòng, an ninh năm {year}",
        "UBND tỉnh Cao Bằng",
        issued_on,
        issued_on,
        date(year, 12, 31),
    )


# --- nominees: profiles and their texts -----------------------------------------------------

_SURNAMES_DN = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Phan", "Đặng", "Bùi", "Đỗ", "Võ", "Huỳnh", "Ngô", "Dương")  # fmt: skip
_SURNAMES_CB = ("Nông", "Hoàng", "Lương", "Đàm", "Bế", "Triệu", "Lục", "Nguyễn", "Hà", "Lăng", "Mã", "Sầm")  # fmt: skip
_MIDDLE_M = ("Văn", "Đức", "Minh", "Hữu", "Quốc", "Thanh", "Ngọc", "Xuân")
_MIDDLE_F = ("Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh")
_GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Vinh", "Hiếu", "Phúc", "Thành")  # fmt: skip
_GIVEN_F = ("Hà", "Hạnh", "Hiền", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo", "Thủy", "Trang", "Vân", "Yến", "Huyền", "Loan")  # fmt: skip
_PHONE_PREFIXES = ("091", "094", "088", "098", "097", "086", "035", "033", "038", "096")


@dataclass(frozen=True)
class _Profile:
    position: str
    achievements: str
    female_share: float = 0.4
    birth_years: tuple[int, int] = (1968, 1990)


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


INDIVIDUALS: dict[str, _Profile] = {
    "giao_vien": _Profile(
        "Giáo viên môn {subject}, {org}",
        "Hoàn thành xuất sắc nhiệm vụ {years} năm học liên tục. Là tác giả sáng kiến «{teach}» "
        "được Hội đồng sáng kiến cấp tỉnh công nhận và áp dụng tại {n} trường trên địa bàn. Bồi "
        "dưỡng {k} học sinh đạt giải trong kỳ thi chọn học sinh giỏi cấp tỉnh, trong đó {m} em "
        "đạt giải cấp quốc gia. Tích cực tham gia xây dựng kho học liệu số dùng chung của ngành.",
        female_share=0.65,
    ),
    "hieu_truong": _Profile(
        "Hiệu trưởng {org}",
        "Trong {years} năm giữ cương vị Hiệu trưởng, lãnh đạo nhà trường đạt chuẩn quốc gia mức "
        "độ 2 và kiểm định chất lượng giáo dục cấp độ 3. Tỷ lệ học sinh tốt nghiệp trung học "
        "phổ thông đạt {pct}%, cao hơn bình quân của tỉnh. Chỉ đạo chuyển đổi số trong quản lý "
        "nhà trường, {pct2}% hồ sơ được số hóa. Tập thể nhà trường {k} năm liền đạt danh hiệu "
        "Tập thể lao động xuất sắc.",
        birth_years=(1966, 1980),
    ),
    "bac_si": _Profile(
        "Bác sĩ chuyên khoa II, Trưởng khoa {ward}, {org}",
        "Trực tiếp thực hiện và chỉ đạo thành công hơn {surgeries} ca phẫu thuật, can thiệp chuyên sâu; "
        "triển khai lần đầu tại tỉnh kỹ thuật {tech}, giúp người bệnh không phải chuyển lên "
        "tuyến trên. Chủ nhiệm đề tài khoa học cấp tỉnh đã được nghiệm thu và ứng dụng tại các "
        "trung tâm y tế. Tham gia {k} đợt khám bệnh, cấp thuốc miễn phí cho đồng bào dân tộc "
        "thiểu số ở các xã vùng sâu, vùng xa.",
        birth_years=(1970, 1985),
    ),
    "dieu_duong": _Profile(
        "Điều dưỡng trưởng khoa {ward}, {org}",
        "Tổ chức chăm sóc người bệnh toàn diện, chỉ số hài lòng của người bệnh tại khoa đạt "
        "{pct}%. Là tác giả sáng kiến «Bảng kiểm an toàn người bệnh trên bệnh án điện tử» được "
        "áp dụng toàn bệnh viện. Hướng dẫn thực hành cho {n} lượt điều dưỡng mới và sinh viên; "
        "{years} năm liên tục hoàn thành xuất sắc nhiệm vụ.",
        female_share=0.85,
    ),
    "cong_an": _Profile(
        "{rank}, {post}, {org}",
        "Chỉ huy, trực tiếp tham gia đấu tranh thành công {cases} chuyên án, bắt giữ {suspects} đối tượng, "
        "thu giữ nhiều tang vật, góp phần giữ vững an ninh chính trị, trật tự an toàn xã hội. "
        "Có giải pháp công tác «{police}» được Giám đốc Công an tỉnh công nhận. {years} năm "
        "liên tục hoàn thành xuất sắc nhiệm vụ.",
        female_share=0.1,
        birth_years=(1972, 1988),
    ),
    "chu_tich_xa": _Profile(
        "Chủ tịch UBND {org}",
        "Lãnh đạo xã hoàn thành 19/19 tiêu chí nông thôn mới và được công nhận đạt chuẩn nông "
        "thôn mới nâng cao. Vận động Nhân dân hiến {area} m² đất, đóng góp hơn {n} ngày công làm "
        "đường giao thông nông thôn. Tỷ lệ hộ nghèo giảm từ {a}% xuống còn {b}%. Tỷ lệ hồ sơ "
        "thủ tục hành chính giải quyết đúng hạn đạt 100%.",
        female_share=0.2,
        birth_years=(1970, 1986),
    ),
    "nong_dan": _Profile(
        "Nông dân sản xuất, kinh doanh giỏi, {org}",
        "Phát triển mô hình trồng {crop} theo hướng hữu cơ trên diện tích {ha} ha, thu nhập "
        "bình quân {money} triệu đồng mỗi năm. Tạo việc làm thường xuyên cho {n} lao động địa "
        "phương, nhiều người là đồng bào dân tộc thiểu số. Hướng dẫn kỹ thuật, hỗ trợ giống cho "
        "{k} hộ nghèo cùng phát triển sản xuất.",
        female_share=0.3,
        birth_years=(1965, 1985),
    ),
    "doanh_nhan": _Profile(
        "Giám đốc {org}",
        "Đưa doanh thu của đơn vị tăng bình quân {pct}% mỗi năm, nộp ngân sách nhà nước {money} "
        "tỷ đồng. Xây dựng chuỗi liên kết tiêu thụ sản phẩm với {n} hộ dân; {k} sản phẩm đạt "
        "chứng nhận OCOP 4 sao. Thực hiện đầy đủ chế độ bảo hiểm cho người lao động và tích cực "
        "đóng góp cho các hoạt động an sinh xã hội.",
        female_share=0.35,
    ),
    "nha_bao": _Profile(
        "Phóng viên, {org}",
        "Thực hiện hơn {n} tin, bài, phóng sự tuyên truyền về phong trào thi đua và gương điển "
        "hình tiên tiến. Loạt bài «Những người giữ rừng ở Tà Đùng» đạt giải A Giải Báo chí cấp "
        "tỉnh. Kịp thời phản ánh nhiều vụ việc đã được cơ quan chức năng xem xét, xử lý.",
        female_share=0.5,
        birth_years=(1980, 1993),
    ),
    "cong_chuc": _Profile(
        "Chuyên viên, {org}",
        "Tham mưu đưa {n} thủ tục hành chính lên dịch vụ công trực tuyến toàn trình; tỷ lệ hồ sơ "
        "giải quyết đúng hạn đạt {pct}%. Xây dựng giải pháp «Số hóa kết quả giải quyết thủ tục "
        "hành chính tại bộ phận một cửa» được công nhận, rút ngắn thời gian xử lý hồ sơ bình quân "
        "{k} ngày. {years} năm liên tục hoàn thành xuất sắc nhiệm vụ.",
        female_share=0.55,
        birth_years=(1982, 1994),
    ),
    "quan_doi": _Profile(
        "{rank}, {post}, {org}",
        "Chỉ huy đơn vị hoàn thành tốt nhiệm vụ huấn luyện, sẵn sàng chiến đấu; kết quả kiểm tra "
        "huấn luyện đạt loại giỏi. Tổ chức thành công diễn tập khu vực phòng thủ. Chỉ đạo cán "
        "bộ, chiến sĩ giúp Nhân dân khắc phục hậu quả mưa lũ và xây dựng {k} nhà đồng đội, nhà "
        "tình nghĩa.",
        female_share=0.0,
        birth_years=(1972, 1985),
    ),
    "bien_phong": _Profile(
        "Thiếu tá, Đồn trưởng {org}",
        "Chỉ huy đơn vị quản lý, bảo vệ vững chắc {km} km đường biên giới và hệ thống mốc quốc "
        "giới. Phối hợp bắt giữ {cases} vụ buôn lậu, vận chuyển hàng cấm qua biên giới. Duy trì mô "
        "hình «Nâng bước em tới trường», nhận đỡ đầu {k} học sinh có hoàn cảnh khó khăn.",
        female_share=0.0,
        birth_years=(1980, 1988),
    ),
    "nghe_nhan": _Profile(
        "Nghệ nhân ưu tú, Chủ nhiệm {org}",
        "Hơn {years} năm sưu tầm, truyền dạy hát Then, đàn Tính của dân tộc Tày, Nùng; mở {n} "
        "lớp truyền dạy cho hơn {k} học viên, phần lớn là thanh thiếu niên. Tham gia biểu diễn "
        "tại nhiều liên hoan nghệ thuật trong và ngoài tỉnh, góp phần quảng bá di sản văn hóa "
        "của quê hương.",
        female_share=0.6,
        birth_years=(1955, 1970),
    ),
}

COLLECTIVE_ACHIEVEMENTS: dict[str, str] = {
    "truong": (
        "Nhà trường {k} năm liền đạt danh hiệu Tập thể lao động xuất sắc; tỷ lệ học sinh tốt "
        "nghiệp đạt {pct}%, có {n} học sinh đạt giải học sinh giỏi cấp tỉnh. Đạt chuẩn quốc gia "
        "mức độ 2; {pct2}% phòng học có thiết bị dạy học số. Chi bộ nhiều năm liền hoàn thành "
        "xuất sắc nhiệm vụ."
    ),
    "benh_vien": (
        "Đơn vị triển khai thành công {n} kỹ thuật mới, kỹ thuật cao; công suất sử dụng giường "
        "bệnh đạt {pct}%. Chỉ số hài lòng của người bệnh đạt {pct2}%. Hoàn thành bệnh án điện tử "
        "và thanh toán viện phí không dùng tiền mặt."
    ),
    "cong_an": (
        "Đơn vị chủ động nắm tình hình, đấu tranh triệt phá {cases} vụ, ổ nhóm tội phạm; tỷ lệ điều "
        "tra, khám phá án đạt {pct}%, án rất nghiêm trọng và đặc biệt nghiêm trọng đạt {pct2}%. "
        "Xây dựng {k} mô hình tự quản về an ninh, trật tự ở cơ sở."
    ),
    "xa": (
        "Xã đạt chuẩn nông thôn mới nâng cao; thu nhập bình quân đầu người đạt {money} triệu "
        "đồng mỗi năm. Nhân dân đóng góp {k} tỷ đồng và hiến đất làm đường; tỷ lệ hộ nghèo giảm "
        "còn {b}%. Đảng bộ xã nhiều năm liền hoàn thành tốt nhiệm vụ."
    ),
    "htx": (
        "Hợp tác xã có {n} thành viên, liên kết sản xuất {ha} ha {crop} đạt chứng nhận VietGAP; "
        "doanh thu năm gần nhất đạt {k} tỷ đồng. Thu nhập bình quân của người lao động {inc} "
        "triệu đồng mỗi tháng; hỗ trợ hộ nghèo vay vốn, giống và kỹ thuật."
    ),
    "co_quan": (
        "Cơ quan hoàn thành xuất sắc nhiệm vụ chính trị được giao; tham mưu ban hành {n} văn "
        "bản quan trọng của tỉnh. {pct}% thủ tục hành chính được cung cấp trực tuyến; chỉ số cải "
        "cách hành chính của cơ quan xếp thứ {order} trong các sở, ngành. Tổ chức đảng và đoàn "
        "thể đạt trong sạch, vững mạnh."
    ),
    "quan_su": (
        "Đơn vị hoàn thành xuất sắc nhiệm vụ huấn luyện, sẵn sàng chiến đấu; tổ chức thành công "
        "diễn tập khu vực phòng thủ. Huy động {n} lượt cán bộ, chiến sĩ giúp Nhân dân khắc phục "
        "hậu quả thiên tai, xây dựng {k} nhà đồng đội. Đảng bộ nhiều năm liền đạt trong sạch, "
        "vững mạnh tiêu biểu."
    ),
    "bien_phong": (
        "Đơn vị quản lý, bảo vệ vững chắc chủ quyền, an ninh biên giới; phối hợp bắt giữ {cases} vụ "
        "buôn lậu, gian lận thương mại. Duy trì hiệu quả các mô hình «Nâng bước em tới trường», "
        "«Con nuôi đồn Biên phòng» với {k} em được đỡ đầu."
    ),
    "dia_phuong": (
        "Nhân dân và cán bộ địa phương đoàn kết, hoàn thành vượt mức các chỉ tiêu phát triển "
        "kinh tế - xã hội; tốc độ tăng trưởng kinh tế bình quân đạt {growth}% mỗi năm. Tỷ lệ hộ nghèo "
        "giảm còn {b}%; quốc phòng, an ninh được giữ vững."
    ),
}

_FILL = {
    "subject": ("Toán", "Ngữ văn", "Vật lý", "Hóa học", "Tiếng Anh", "Lịch sử", "Sinh học"),
    "teach": (
        "Ứng dụng phần mềm GeoGebra trong dạy học hình học không gian",
        "Dạy học theo dự án gắn với di sản văn hóa địa phương",
        "Câu lạc bộ đọc sách song ngữ cho học sinh dân tộc thiểu số",
        "Ngân hàng câu hỏi đánh giá năng lực trên nền tảng trực tuyến",
    ),
    "ward": ("Ngoại tổng hợp", "Hồi sức tích cực - Chống độc", "Nội tim mạch", "Sản", "Nhi"),
    "tech": (
        "can thiệp mạch vành qua da",
        "phẫu thuật nội soi cắt túi mật",
        "lọc máu liên tục",
        "phẫu thuật thay khớp háng",
    ),
    "police": (
        "Phối hợp ba lực lượng trong phòng, chống ma túy ở vùng giáp ranh",
        "Ứng dụng dữ liệu dân cư trong truy xét tội phạm",
        "Tổ tự quản an ninh, trật tự ở thôn, buôn đồng bào dân tộc thiểu số",
    ),
    "crop_dn": ("cà phê", "hồ tiêu", "sầu riêng", "mắc ca"),
    "crop_cb": ("thạch đen", "hạt dẻ Trùng Khánh", "chè Shan tuyết", "lạc đỏ"),
}


def _numbers(rng: random.Random) -> dict[str, str]:
    return {
        "years": str(rng.randint(5, 12)),
        "n": str(rng.randint(12, 160)),
        "k": str(rng.randint(3, 25)),
        "m": str(rng.randint(1, 9)),
        "pct": str(rng.randint(88, 99)),
        "pct2": str(rng.randint(70, 98)),
        "area": f"{rng.randint(8, 60) * 1000:,}".replace(",", "."),
        "a": str(rng.randint(12, 25)),
        "b": f"{rng.randint(15, 49) / 10:.1f}".replace(".", ","),
        "ha": str(rng.randint(5, 120)),
        "money": str(rng.randint(45, 900)),
        "km": str(rng.randint(12, 45)),
        "inc": str(rng.randint(6, 12)),
        "order": str(rng.randint(1, 5)),
        "cases": str(rng.randint(8, 45)),
        "suspects": str(rng.randint(30, 180)),
        "surgeries": str(rng.randint(3, 18) * 100),
        "growth": f"{rng.randint(60, 95) / 10:.1f}".replace(".", ","),
    }


# --- the dossiers to load -------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    key: str
    movement: str
    unit: str
    award: str
    path: Path
    profile: str
    org: str
    """Individual: the workplace; collective: the nominee's name."""
    position: str = ""
    """Collective only: what the nominee is."""
    rank: str = ""
    post: str = ""
    returned_first: bool = False
    hold_first: bool = False
    conflict: bool = False
    objection: bool = False
    start: int = 0
    """Recent dossiers: working days before ``today`` of the submission."""


_s = _Spec


BK, CSTD, CO, TTLDXS = "bang_khen_chu_tich_tinh", "chien_si_thi_dua_tinh", "co_thi_dua_ubnd_tinh", "tap_the_lao_dong_xuat_sac"  # fmt: skip
BKTT, COCP = "bang_khen_thu_tuong", "co_thi_dua_chinh_phu"
HCLD1, HCLD2, HCLD3 = "huan_chuong_lao_dong_hang_nhat", "huan_chuong_lao_dong_hang_nhi", "huan_chuong_lao_dong_hang_ba"  # fmt: skip
HCDL1 = "huan_chuong_doc_lap_hang_nhat"

SPECS: tuple[_Spec, ...] = (
    # Đắk Nông, 461/KH-UBND: dossiers of January 2024 -----------------------------------------
    _s("dkn-01", "dkn-461", "dkn-sgddt", BK, "approved", "giao_vien", "Trường THPT Chu Văn An, thành phố Gia Nghĩa"),
    _s("dkn-02", "dkn-461", "dkn-syt", BK, "approved", "bac_si", "Bệnh viện Đa khoa tỉnh Đắk Nông"),
    _s("dkn-03", "dkn-461", "dkn-sgddt", BK, "approved", "truong", "Trường THPT Nguyễn Tất Thành", position="Trường trung học phổ thông công lập thuộc Sở Giáo dục và Đào tạo tỉnh Đắk Nông"),
    _s("dkn-04", "dkn-461", "dkn-dakmil", BK, "approved", "chu_tich_xa", "xã Đắk Lao, huyện Đắk Mil"),
    _s("dkn-05", "dkn-461", "dkn-dakmil", BK, "approved", "xa", "Nhân dân và cán bộ xã Thuận An", position="Xã đạt chuẩn nông thôn mới nâng cao, huyện Đắk Mil"),
    _s("dkn-06", "dkn-461", "dkn-cujut", BK, "revoked", "nong_dan", "thôn 5, xã Nam Dong, huyện Cư Jút"),
    _s("dkn-07", "dkn-461", "dkn-gianghia", BK, "approved", "cong_chuc", "Văn phòng HĐND và UBND thành phố Gia Nghĩa", returned_first=True),
    _s("dkn-08", "dkn-461", "dkn-ca", BK, "approved", "cong_an", "Phòng Cảnh sát hình sự, Công an tỉnh Đắk Nông", rank="Trung tá", post="Phó Trưởng phòng"),
    _s("dkn-09", "dkn-461", "dkn-krongno", BK, "rejected", "htx", "Hợp tác xã Nông nghiệp dịch vụ Đức Xuyên", position="Hợp tác xã nông nghiệp, huyện Krông Nô"),
    _s("dkn-10", "dkn-461", "dkn-dakmil", BK, "not_qualified", "doanh_nhan", "Công ty TNHH Cà phê Đức Lập"),
    _s("dkn-11", "dkn-461", "dkn-bao", BK, "withdrawn_after_return", "nha_bao", "Báo Đắk Nông"),
    _s("dkn-12", "dkn-461", "dkn-cujut", BK, "approved", "co_quan", "Phòng Nội vụ huyện Cư Jút", position="Cơ quan chuyên môn thuộc UBND huyện Cư Jút"),
    _s("dkn-13", "dkn-461", "dkn-ca", CO, "approved", "cong_an", "Công an huyện Đắk Mil", position="Đơn vị thuộc Công an tỉnh Đắk Nông"),
    _s("dkn-14", "dkn-461", "dkn-mttq", CO, "not_recommended", "co_quan", "Ủy ban Mặt trận Tổ quốc Việt Nam huyện Krông Nô", position="Tổ chức chính trị - xã hội cấp huyện"),
    _s("dkn-15", "dkn-461", "dkn-syt", CO, "approved", "benh_vien", "Bệnh viện Đa khoa tỉnh Đắk Nông", position="Bệnh viện hạng II trực thuộc Sở Y tế tỉnh Đắk Nông", conflict=True),
    _s("dkn-16", "dkn-461", "dkn-sgddt", HCLD3, "conferred", "hieu_truong", "Trường THPT Chuyên Nguyễn Chí Thanh"),
    _s("dkn-17", "dkn-461", "dkn-snn", HCLD3, "conferred", "co_quan", "Sở Nông nghiệp và Phát triển nông thôn tỉnh Đắk Nông", position="Cơ quan chuyên môn thuộc UBND tỉnh Đắk Nông"),
    _s("dkn-18", "dkn-461", "dkn-ca", BKTT, "conferred", "cong_an", "Phòng Cảnh sát điều tra tội phạm về ma túy, Công an tỉnh Đắk Nông", rank="Thượng tá", post="Trưởng phòng"),
    _s("dkn-19", "dkn-461", "dkn-sgddt", BKTT, "declined", "truong", "Trường THPT Dân tộc nội trú N'Trang Lơng", position="Trường phổ thông dân tộc nội trú cấp tỉnh"),
    _s("dkn-20", "dkn-461", "dkn-krongno", BKTT, "conferred", "nong_dan", "thôn Đắk Hoa, xã Đắk Sôr, huyện Krông Nô"),
    _s("dkn-21", "dkn-461", "dkn-syt", HCLD2, "not_recommended", "bac_si", "Bệnh viện Đa khoa tỉnh Đắk Nông"),
    _s("dkn-22", "dkn-461", "dkn-sgddt", BKTT, "not_qualified", "giao_vien", "Trường THCS Nguyễn Du, huyện Đắk Mil", objection=True),
    _s("dkn-23", "dkn-461", "dkn-gianghia", HCLD3, "withdrawn_in_comment", "chu_tich_xa", "xã Đắk Nia, thành phố Gia Nghĩa"),
    _s("dkn-24", "dkn-461", "dkn-snv", HCDL1, "conferred", "dia_phuong", "Nhân dân và cán bộ tỉnh Đắk Nông", position="Tỉnh Đắk Nông, tái lập ngày 01/01/2004"),
    # Cao Bằng, 2255/KH-UBND: dossiers of September-October 2024 -----------------------------
    _s("cbg-01", "cbg-2255", "cbg-bchqs", BK, "approved", "quan_su", "Ban Chỉ huy Quân sự huyện Hà Quảng", position="Cơ quan quân sự địa phương cấp huyện"),
    _s("cbg-02", "cbg-2255", "cbg-bchqs", BK, "approved", "quan_doi", "Bộ Chỉ huy Quân sự tỉnh Cao Bằng", rank="Thượng tá", post="Trưởng phòng Tham mưu"),
    _s("cbg-03", "cbg-2255", "cbg-bdbp", BK, "approved", "bien_phong", "Đồn Biên phòng Trà Lĩnh"),
    _s("cbg-04", "cbg-2255", "cbg-svhttdl", BK, "approved", "nghe_nhan", "Câu lạc bộ hát Then - đàn Tính huyện Trùng Khánh"),
    _s("cbg-05", "cbg-2255", "cbg-sgddt", BK, "approved", "giao_vien", "Trường THPT Chuyên Cao Bằng", hold_first=True),
    _s("cbg-06", "cbg-2255", "cbg-trungkhanh-h", BK, "approved", "xa", "Nhân dân và cán bộ xã Đàm Thủy", position="Xã biên giới có Thác Bản Giốc, huyện Trùng Khánh"),
    _s("cbg-07", "cbg-2255", "cbg-haquang-h", BK, "rejected", "chu_tich_xa", "xã Trường Hà, huyện Hà Quảng"),
    _s("cbg-08", "cbg-2255", "cbg-thanhpho", BK, "withdrawn", "doanh_nhan", "Hợp tác xã Chè Shan tuyết Phia Đén"),
    _s("cbg-09", "cbg-2255", "cbg-bdbp", CO, "approved", "bien_phong", "Đồn Biên phòng Sóc Giang", position="Đồn Biên phòng thuộc Bộ Chỉ huy Bộ đội Biên phòng tỉnh Cao Bằng"),
    _s("cbg-10", "cbg-2255", "cbg-syt", CO, "not_recommended", "benh_vien", "Trung tâm Y tế huyện Trùng Khánh", position="Đơn vị sự nghiệp y tế tuyến huyện"),
    _s("cbg-11", "cbg-2255", "cbg-bchqs", BKTT, "conferred", "quan_su", "Bộ Chỉ huy Quân sự tỉnh Cao Bằng", position="Cơ quan quân sự địa phương cấp tỉnh, Quân khu 1"),
    _s("cbg-12", "cbg-2255", "cbg-ca", BKTT, "conferred", "cong_an", "Phòng Cảnh sát hình sự, Công an tỉnh Cao Bằng", rank="Trung tá", post="Đội trưởng"),
    _s("cbg-13", "cbg-2255", "cbg-syt", HCLD3, "declined", "bac_si", "Bệnh viện Đa khoa tỉnh Cao Bằng"),
    _s("cbg-14", "cbg-2255", "cbg-sgddt", BKTT, "conferred", "truong", "Trường Phổ thông Dân tộc nội trú THPT tỉnh Cao Bằng", position="Trường phổ thông dân tộc nội trú cấp tỉnh"),
    # Cao Bằng, the current movement: recent weeks --------------------------------------------
    _s("now-01", "current", "cbg-sgddt", BK, "submitted", "giao_vien", "Trường THPT Thành phố Cao Bằng", start=2),
    _s("now-02", "current", "cbg-sgddt", TTLDXS, "submitted", "truong", "Trường THCS Hợp Giang", position="Trường trung học cơ sở, phường Thục Phán", start=3),
    _s("now-03", "current", "cbg-sgddt", CSTD, "submitted", "giao_vien", "Trường THPT Trùng Khánh", start=4),
    _s("now-04", "current", "cbg-thucphan", BK, "returned", "cong_chuc", "Bộ phận một cửa UBND phường Thục Phán", start=12),
    _s("now-05", "current", "cbg-syt", CSTD, "returned", "dieu_duong", "Bệnh viện Đa khoa tỉnh Cao Bằng", start=14),
    _s("now-06", "current", "cbg-ca", HCLD3, "public_comment", "cong_an", "Phòng An ninh đối nội, Công an tỉnh Cao Bằng", rank="Thượng tá", post="Trưởng phòng", start=7),
    _s("now-07", "current", "cbg-trungkhanh", BKTT, "public_comment", "xa", "Nhân dân và cán bộ xã Trùng Khánh", position="Xã biên giới, tỉnh Cao Bằng", start=8),
    _s("now-08", "current", "cbg-svhttdl", BKTT, "public_comment", "nghe_nhan", "Câu lạc bộ hát Then - đàn Tính xã Trùng Khánh", start=6),
    _s("now-09", "current", "cbg-ca", COCP, "public_comment", "cong_an", "Công an tỉnh Cao Bằng", position="Lực lượng Công an nhân dân cấp tỉnh", start=9),
    _s("now-10", "current", "cbg-bchqs", BKTT, "comment_closed", "quan_doi", "Ban Chỉ huy Phòng thủ khu vực 1 - Hòa An", rank="Trung tá", post="Chỉ huy trưởng", start=29),
    _s("now-11", "current", "cbg-syt", HCLD2, "comment_closed", "benh_vien", "Bệnh viện Đa khoa tỉnh Cao Bằng", position="Bệnh viện hạng I trực thuộc Sở Y tế tỉnh Cao Bằng", start=30),
    _s("now-12", "current", "cbg-trungkhanh", BKTT, "held_complaint", "doanh_nhan", "Hợp tác xã Dịch vụ nông nghiệp Hạt dẻ Trùng Khánh", objection=True, start=32),
    _s("now-13", "current", "cbg-tangiang", CSTD, "held_inspection", "cong_chuc", "Văn phòng HĐND và UBND phường Tân Giang", start=21),
    _s("now-14", "current", "cbg-sgddt", CSTD, "not_qualified", "giao_vien", "Trường THCS Hòa Chung", start=24),
    _s("now-15", "current", "cbg-ca", CSTD, "awaiting_council", "cong_an", "Phòng Cảnh sát giao thông, Công an tỉnh Cao Bằng", rank="Thiếu tá", post="Đội trưởng", start=20),
    _s("now-16", "current", "cbg-sgddt", CO, "awaiting_council", "truong", "Trường Tiểu học Hợp Giang", position="Trường tiểu học, phường Thục Phán", start=19),
    _s("now-17", "current", "cbg-syt", BKTT, "awaiting_council", "bac_si", "Trung tâm Kiểm soát bệnh tật tỉnh Cao Bằng", start=40),
    _s("now-18", "current", "cbg-bdbp", CSTD, "council_voting", "bien_phong", "Đồn Biên phòng Đàm Thủy", start=31),
    _s("now-19", "current", "cbg-ca", CO, "council_voting", "cong_an", "Phòng Cảnh sát giao thông, Công an tỉnh Cao Bằng", position="Đơn vị thuộc Công an tỉnh Cao Bằng", conflict=True, start=32),
    _s("now-20", "current", "cbg-svhttdl", BK, "awaiting_decision", "nghe_nhan", "Câu lạc bộ Văn nghệ dân gian phường Tân Giang", start=12),
    _s("now-21", "current", "cbg-sgddt", CSTD, "awaiting_decision", "hieu_truong", "Trường THPT Bảo Lạc", returned_first=True, start=48),
    _s("now-22", "current", "cbg-syt", HCLD1, "awaiting_decision", "bac_si", "Bệnh viện Đa khoa tỉnh Cao Bằng", start=58),
    _s("now-23", "current", "cbg-trungkhanh", BK, "approved", "htx", "Hợp tác xã Nông nghiệp Ngọc Côn", position="Hợp tác xã nông nghiệp, xã Trùng Khánh", start=42),
    _s("now-24", "current", "cbg-stp", TTLDXS, "approved", "co_quan", "Sở Tư pháp tỉnh Cao Bằng", position="Cơ quan chuyên môn thuộc UBND tỉnh Cao Bằng", start=40),
    _s("now-25", "current", "cbg-bchqs", BK, "approved", "quan_doi", "Ban Chỉ huy Phòng thủ khu vực 2 - Trùng Khánh", rank="Thiếu tá", post="Chính trị viên", hold_first=True, start=46),
    _s("now-26", "current", "cbg-ca", CSTD, "not_recommended", "cong_an", "Phòng Cảnh sát cơ động, Công an tỉnh Cao Bằng", rank="Thiếu tá", post="Phó Trưởng phòng", start=44),
    _s("now-27", "current", "cbg-sgddt", BKTT, "forwarded", "hieu_truong", "Trường THPT Chuyên Cao Bằng", start=57),
    _s("now-28", "current", "cbg-sgddt", HCLD3, "forwarded", "truong", "Trường Phổ thông Dân tộc nội trú THCS và THPT huyện Hà Quảng", position="Trường phổ thông dân tộc nội trú", start=58),
    _s("now-29", "current", "cbg-thucphan", BK, "rejected", "chu_tich_xa", "phường Thục Phán", start=36),
    _s("now-30", "current", "cbg-stp", TTLDXS, "withdrawn", "co_quan", "Phòng Bổ trợ tư pháp, Sở Tư pháp tỉnh Cao Bằng", position="Phòng chuyên môn thuộc Sở Tư pháp", start=26),
)  # fmt: skip


def _dossier_id(key: str) -> UUID:
    return uuid5(DEMO_NAMESPACE, f"dossier:{key}")


def demo_dossier_ids() -> list[UUID]:
    """The ids of the demo's dossiers, in a fixed order (the same on every run)."""
    return [_dossier_id(spec.key) for spec in SPECS]


# --- documents ----------------------------------------------------------------------------------


def demo_document_bytes(dossier_key: str, name: str, size: int) -> bytes:
    """The deterministic content behind a demo document's hash (for a document store to serve)."""
    header = f"%PDF-1.7\n% khenthuong demo {dossier_key} {name}\n".encode()
    block = hashlib.sha256(f"{dossier_key}|{name}".encode()).digest() * 64
    repeats = size // len(block) + 1
    return (header + block * repeats)[:size]


def _document(rng: random.Random, key: str, name: str) -> DocumentRef:
    size = rng.randint(40, 900) * 1024 + rng.randint(0, 1023)
    content = demo_document_bytes(key, name, size)
    return DocumentRef(name=name, sha256=hashlib.sha256(content).hexdigest(), size=size)


def _documents(rng: random.Random, spec: _Spec, state: bool) -> list[DocumentRef]:
    names = ["Tờ trình đề nghị khen thưởng.pdf", "Báo cáo thành tích.pdf"]
    if not spec.returned_first:
        names.append("Biên bản họp Hội đồng Thi đua - Khen thưởng đơn vị.pdf")
    if spec.award == CSTD:
        names.append("Giấy chứng nhận sáng kiến.pdf")
    elif state and len(names) < 4 and rng.random() < 0.6:
        names.append("Văn bản xác nhận của cơ quan thuế và bảo hiểm xã hội.pdf")
    return [_document(rng, spec.key, name) for name in names]


# --- planning: a clock for each dossier and batches shared between dossiers ------------------

_MORNING = (7 * 60 + 30, 11 * 60 + 30)
_AFTERNOON = (13 * 60 + 30, 16 * 60 + 50)


def _office_minutes() -> list[int]:
    return [*range(*_MORNING), *range(*_AFTERNOON)]


_OFFICE = _office_minutes()


def _moment(day: date, minute: int) -> datetime:
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=VIETNAM_TZ)
    return local.astimezone(UTC)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(VIETNAM_TZ)


class _Days:
    """Working-day arithmetic on the caller's calendar (forwards and backwards)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar

    def on_or_after(self, day: date) -> date:
        while not self.calendar.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add(self, day: date, days: int) -> date:
        return self.calendar.add_working_days(day, days) if days > 0 else day

    def before(self, day: date, days: int) -> date:
        """The working day ``days`` working days before ``day``."""
        found = 0
        while found < days:
            day -= timedelta(days=1)
            if self.calendar.is_working_day(day):
                found += 1
        return day


class _Cursor:
    """The moment of a dossier's latest step; the next step is always later, in office hours."""

    def __init__(self, days: _Days, rng: random.Random, at: datetime) -> None:
        self.days = days
        self.rng = rng
        self.at = at

    @property
    def day(self) -> date:
        return _local(self.at).date()

    def _minute(self) -> int:
        local = _local(self.at)
        return local.hour * 60 + local.minute

    def later(self, low: int, high: int) -> datetime:
        """Between ``low`` and ``high`` working days later (0: later the same day if possible)."""
        return self.on(self.days.add(self.day, self.rng.randint(low, high)))

    @classmethod
    def starting(cls, days: _Days, rng: random.Random, day: date) -> _Cursor:
        """A cursor at an office-hours moment of ``day`` (or of the next working day)."""
        return cls(days, rng, _moment(days.on_or_after(day), rng.choice(_OFFICE)))

    def on(
        self, day: date, *, within: int = 150, window: tuple[int, int] | None = None
    ) -> datetime:
        """On ``day`` (a working day not before the current one), after the current moment;
        ``window`` (minutes after midnight) narrows the time of day on a later day."""
        day = self.days.on_or_after(day)
        if day < self.day:
            raise RuntimeError(f"dữ liệu mẫu: bước mới ({day}) trước bước cũ ({self.day})")
        choices = _OFFICE
        if day == self.day:
            later = [minute for minute in _OFFICE if minute >= self._minute() + 5]
            if later:
                choices = [minute for minute in later if minute <= later[0] + within]
            else:
                day = self.days.add(day, 1)
        if window is not None and day != self.day:
            choices = [minute for minute in choices if window[0] <= minute <= window[1]]
        self.at = _moment(day, self.rng.choice(choices))
        return self.at

    def soon(self) -> datetime:
        """A few minutes later (ballots at a meeting)."""
        return self.on(self.day, within=6)


@dataclass(eq=False)
class _Batch:
    """Dossiers decided together: one council session, one decision, one submission upward."""

    name: str
    order: int
    kind: Literal["council", "QĐ-UBND", "TTr-UBND", "QĐ-CTN", "QĐ-TTg"]
    earliest: date | None = None
    gap: tuple[int, int] = (2, 4)
    ready: datetime | None = None
    day: date | None = None
    number: str = ""
    waiting: list[_Script] = field(default_factory=list)


@dataclass
class _Step:
    at: datetime
    seq: int
    target: UUID
    index: int
    """The dossier version before the step (0 for a submission); -1 for a movement step."""
    run: Callable[[int], object]


class _Numbers:
    """Official document numbers: plausible for their date, unique per kind and year."""

    SCALE: Mapping[str, tuple[float, int]] = {
        "QĐ-UBND": (6.3, 17),
        "TTr-UBND": (0.4, 6),
        "QĐ-CTN": (3.1, 40),
        "QĐ-TTg": (4.2, 25),
        "TB-UBND": (0.6, 3),
        "CV/TU": (2.2, 110),
    }

    def __init__(self) -> None:
        self.used: set[tuple[str, int, int]] = set()

    def take(self, kind: str, day: date) -> str:
        scale, offset = self.SCALE[kind]
        number = int(day.timetuple().tm_yday * scale) + offset
        while (kind, day.year, number) in self.used:
            number += 1
        self.used.add((kind, day.year, number))
        return f"{number}-{kind}" if kind == "CV/TU" else f"{number}/{kind}"


Script = Generator[_Batch, date, None]


@dataclass(eq=False)
class _Script:
    spec: _Spec
    gen: Script
    cursor: _Cursor
    waiting_on: _Batch | None = None
    done: bool = False


# --- the planner ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    movement: _MovementPlan
    submit_from: date | None
    submit_to: date | None
    council: _Batch
    council_late: _Batch | None
    decision: _Batch
    upward: _Batch
    to_president: _Batch | None
    to_government: _Batch | None
    revocation: _Batch | None


class _Planner:
    def __init__(self, dossiers: Dossiers, today: date) -> None:
        self.app = dossiers
        self.days = _Days(dossiers.calendar)
        self.today = today
        self.numbers = _Numbers()
        self.steps: list[_Step] = []
        self.people: set[str] = set()
        self.identities: set[str] = set()
        self._seq = 0
        self.withheld: str | None = None
        """The key of the dossier whose duplicated comment the appraiser withheld."""
        self.groups = self._groups()

    # the groups of dossiers and their batches ----------------------------------------------

    def recent(self, working_days: int) -> date:
        return self.days.before(self.today, working_days)

    def _groups(self) -> dict[str, _Group]:
        window_start = self.recent(62)
        year = (window_start - timedelta(days=30)).year
        current = _current_movement(year, self.days.on_or_after(date(year, 1, 12)))
        self.current_movement = current
        by_key = {plan.key: plan for plan in HISTORICAL_MOVEMENTS}
        return {
            "dkn-461": _Group(
                by_key["dkn-461"], date(2024, 1, 8), date(2024, 1, 19),
                council=_Batch("dkn-hd", 1, "council", date(2024, 2, 26)),
                council_late=None,
                decision=_Batch("dkn-qd", 2, "QĐ-UBND", date(2024, 3, 5)),
                upward=_Batch("dkn-ttr", 2, "TTr-UBND", date(2024, 3, 12)),
                to_president=_Batch("dkn-ctn", 3, "QĐ-CTN", date(2024, 8, 19)),
                to_government=_Batch("dkn-ttg", 3, "QĐ-TTg", date(2024, 7, 22)),
                revocation=_Batch("dkn-huy", 4, "QĐ-UBND", date(2025, 5, 20)),
            ),
            "cbg-2255": _Group(
                by_key["cbg-2255"], date(2024, 9, 9), date(2024, 10, 4),
                council=_Batch("cbg-hd", 1, "council", date(2024, 11, 4)),
                council_late=None,
                decision=_Batch("cbg-qd", 2, "QĐ-UBND", date(2024, 11, 18)),
                upward=_Batch("cbg-ttr", 2, "TTr-UBND", date(2024, 11, 25)),
                to_president=_Batch("cbg-ctn", 3, "QĐ-CTN", date(2025, 5, 12)),
                to_government=_Batch("cbg-ttg", 3, "QĐ-TTg", date(2025, 4, 7)),
                revocation=None,
            ),
            "current": _Group(
                current, None, None,
                council=_Batch("now-hd1", 1, "council", self.recent(26)),
                council_late=_Batch("now-hd2", 1, "council", self.recent(4), gap=(1, 1)),
                decision=_Batch("now-qd", 2, "QĐ-UBND", self.recent(14)),
                upward=_Batch("now-ttr", 2, "TTr-UBND", self.recent(10)),
                to_president=None,
                to_government=None,
                revocation=None,
            ),
        }  # fmt: skip

    # steps -----------------------------------------------------------------------------------

    def add(self, at: datetime, target: UUID, index: int, run: Callable[[int], object]) -> None:
        self._seq += 1
        self.steps.append(_Step(at=at, seq=self._seq, target=target, index=index, run=run))

    def movements(self, plans: Iterable[_MovementPlan], mv: Movements) -> None:
        for plan in plans:
            rng = _rng(plan.key)
            recorded = _Cursor.starting(self.days, rng, plan.issued_on).at
            self.add(recorded, plan.id, -1, _launch(mv, plan))
            if plan.closes_on is not None:
                closed = _Cursor.starting(self.days, rng, plan.closes_on).at
                self.add(closed, plan.id, -1, _close(mv, plan))

    def dossiers(self, specs: Iterable[_Spec]) -> None:
        scripts = [self._script(spec) for spec in specs]
        self._run(scripts)

    def _script(self, spec: _Spec) -> _Script:
        group = self.groups[spec.movement]
        rng = _rng(spec.key)
        if group.submit_from is not None and group.submit_to is not None:
            span = (group.submit_to - group.submit_from).days
            first = group.submit_from + timedelta(days=rng.randint(0, span))
        else:
            first = self.recent(spec.start)
        cursor = _Cursor.starting(self.days, rng, first)
        story = _DossierScript(self, spec, group, rng, cursor)
        return _Script(spec=spec, gen=story.run(), cursor=cursor)

    def _run(self, scripts: list[_Script]) -> None:
        for script in scripts:
            self._advance(script, None)
        while True:
            waiting = [s.waiting_on for s in scripts if s.waiting_on is not None]
            if not waiting:
                break
            batch = min(waiting, key=lambda b: b.order)
            self._resolve(batch)
            members, batch.waiting = batch.waiting, []
            for script in members:
                script.waiting_on = None
                assert batch.day is not None
                self._advance(script, batch.day)

    def _advance(self, script: _Script, value: date | None) -> None:
        try:
            batch = script.gen.send(value) if value is not None else next(script.gen)
        except StopIteration:
            script.done = True
            return
        if batch.day is not None:
            raise RuntimeError(f"dữ liệu mẫu: {script.spec.key} đến sau khi {batch.name} đã chốt")
        script.waiting_on = batch
        batch.waiting.append(script)
        if batch.ready is None or script.cursor.at > batch.ready:
            batch.ready = script.cursor.at

    def _resolve(self, batch: _Batch) -> None:
        assert batch.ready is not None
        rng = _rng(f"batch:{batch.name}")
        day = self.days.add(_local(batch.ready).date(), rng.randint(*batch.gap))
        if batch.earliest is not None and batch.earliest > day:
            day = self.days.on_or_after(batch.earliest)
        batch.day = day
        if batch.kind != "council":
            batch.number = self.numbers.take(batch.kind, day)

    # people --------------------------------------------------------------------------------

    def person(self, rng: random.Random, spec: _Spec, profile: _Profile) -> tuple[str, bool]:
        surnames = _SURNAMES_CB if spec.unit.startswith("cbg") else _SURNAMES_DN
        for _ in range(50):
            female = rng.random() < profile.female_share
            middle = _pick(rng, _MIDDLE_F if female else _MIDDLE_M)
            given = _pick(rng, _GIVEN_F if female else _GIVEN_M)
            name = _nfc(f"{_pick(rng, surnames)} {middle} {given}")
            if name not in self.people:
                self.people.add(name)
                return name, female
        raise RuntimeError("dữ liệu mẫu: không tạo được tên không trùng")

    def identity(self, rng: random.Random, prefix: str, born: date, female: bool) -> str:
        century = (0 if born.year < 2000 else 2) + (1 if female else 0)
        while True:
            number = f"{prefix}{century}{born.year % 100:02d}{rng.randrange(10**6):06d}"
            if number not in self.identities:
                self.identities.add(number)
                return number


def _launch(mv: Movements, plan: _MovementPlan) -> Callable[[int], object]:
    def run(_version: int) -> object:
        try:
            return mv.launch(
                plan_number=plan.plan_number,
                title=plan.title,
                issuing_body=plan.issuing_body,
                issued_on=plan.issued_on,
                starts_on=plan.starts_on,
                ends_on=plan.ends_on,
                by=RECORDER,
            )
        except DuplicateMovement:
            return None

    return run


def _close(mv: Movements, plan: _MovementPlan) -> Callable[[int], object]:
    def run(_version: int) -> object:
        movement = mv.get_movement(plan.id, viewer=READER)
        if movement.closed:
            return None
        return mv.close_movement(
            plan.id, expected_version=movement.version, reason=plan.closing_reason, by=RECORDER
        )

    return run


# --- one dossier's story --------------------------------------------------------------------


class _DossierScript:
    """Drives one dossier to its target status; yields a batch where it waits for others."""

    def __init__(
        self,
        planner: _Planner,
        spec: _Spec,
        group: _Group,
        rng: random.Random,
        cursor: _Cursor,
    ) -> None:
        self.planner = planner
        self.spec = spec
        self.group = group
        self.rng = rng
        self.cursor = cursor
        self.id = _dossier_id(spec.key)
        self.version = 0
        self.unit = UNITS[spec.unit]
        self.submitter = self.unit.submitter
        self.appraiser = APPRAISERS[rng.randrange(len(APPRAISERS))]
        self.comments: list[tuple[str, CommentKind]] = []
        self.award: AwardRule = planner.app.rulebooks.in_force(cursor.day).rule(spec.award)

    @property
    def app(self) -> Dossiers:
        return self.planner.app

    def step(self, at: datetime, run: Callable[[int], object]) -> None:
        self.planner.add(at, self.id, self.version, run)
        self.version += 1

    # the story -----------------------------------------------------------------------------

    def run(self) -> Script:
        path, award, cursor = self.spec.path, self.award, self.cursor
        self.submit()
        if self.spec.returned_first or path in ("returned", "withdrawn_after_return"):
            self.return_for_supplement()
            if path == "returned":
                return
            if path == "withdrawn_after_return":
                self.withdraw(
                    "Đơn vị rút hồ sơ để hoàn thiện lại báo cáo thành tích, trình vào đợt xét sau."
                )
                return
            self.supplement()
        if path == "withdrawn":
            self.withdraw(
                "Tập thể đề nghị nhường suất khen thưởng cho đơn vị có thành tích tiêu biểu hơn."
            )
            return
        if path == "submitted":
            return
        if award.public_comment:
            closes_on = self.open_public_comment()
            self.receive_comments(closes_on)
            if path == "public_comment":
                return
            if path == "withdrawn_in_comment":
                self.withdraw("Cá nhân được đề nghị đã chuyển công tác ra ngoài tỉnh.")
                return
            self.step(
                cursor.on(self.planner.days.add(closes_on, self.rng.randint(1, 2))),
                self._close_comment,
            )
            if path == "comment_closed":
                return
            if path == "held_complaint":
                self.hold(HoldKind.COMPLAINT)
                return
        if self.spec.hold_first:
            self.hold(HoldKind.INSPECTION)
            self.lift_hold()
        if path == "held_inspection":
            self.hold(HoldKind.INSPECTION)
            return
        self.appraise(qualified=path != "not_qualified")
        if path == "not_qualified":
            return
        if award.council_required:
            if path == "awaiting_council":
                return
            session = self.group.council
            if path == "council_voting" and self.group.council_late is not None:
                session = self.group.council_late  # met just before today: ballots still coming
            day = yield session
            self.council(day, passes=path != "not_recommended", complete=path != "council_voting")
            if path in ("council_voting", "not_recommended"):
                return
        if award.party_opinion:
            self.party_opinion()
        if path == "awaiting_decision":
            return
        if path == "rejected":
            self.reject()
            return
        if award.is_state_level:
            yield from self.upward()
            return
        day = yield self.group.decision
        self.approve(day, self.group.decision.number)
        if path == "revoked" and self.group.revocation is not None:
            day = yield self.group.revocation
            self.revoke(day, self.group.revocation.number)

    def upward(self) -> Script:
        upward = self.group.upward
        day = yield upward
        self.forward(day, upward.number)
        if self.spec.path == "forwarded":
            return
        president = self.award.decider is Decider.PRESIDENT
        central = self.group.to_president if president else self.group.to_government
        if central is None:
            raise RuntimeError(f"dữ liệu mẫu: {self.spec.key} không có cấp quyết định")
        day = yield central
        outcome = (
            CentralOutcome.DECLINED if self.spec.path == "declined" else CentralOutcome.CONFERRED
        )
        self.central(day, central.number, outcome)

    # commands ------------------------------------------------------------------------------

    def submit(self) -> None:
        spec, rng, app = self.spec, self.rng, self.app
        movement_id = self.group.movement.id
        nominee, personal, achievements = self.nominee()
        documents = _documents(rng, spec, self.award.is_state_level)
        titles = self.prior_titles(nominee)
        unit_name = self.submitter.unit or ""

        def run(_version: int) -> object:
            return app.submit(
                movement_id=movement_id,
                award_code=spec.award,
                submitting_unit=unit_name,
                nominee=nominee,
                personal=personal,
                achievements=achievements,
                documents=documents,
                prior_titles=titles,
                by=self.submitter,
                dossier_id=self.id,
            )

        self.step(self.cursor.at, run)

    def return_for_supplement(self) -> None:
        missing = [
            "Biên bản họp Hội đồng Thi đua - Khen thưởng của đơn vị có đủ chữ ký của các thành viên",
            "Văn bản xác nhận phạm vi ảnh hưởng của sáng kiến, giải pháp công tác",
        ][: self.rng.randint(1, 2)]
        note = (
            "Đề nghị đơn vị bổ sung trong thời hạn 10 ngày làm việc; thời hạn thẩm định tạm dừng."
        )
        by, app = self.appraiser, self.app
        self.step(
            self.cursor.later(3, 6),
            lambda v: app.return_for_supplement(
                self.id, missing=missing, note=note, by=by, expected_version=v
            ),
        )

    def supplement(self) -> None:
        documents = [
            _document(
                self.rng, self.spec.key, "Biên bản họp Hội đồng Thi đua - Khen thưởng (bổ sung).pdf"
            ),
            _document(self.rng, self.spec.key, "Xác nhận của Hội đồng sáng kiến.pdf"),
        ]
        note = "Đơn vị bổ sung biên bản họp và văn bản xác nhận theo yêu cầu."
        by, app = self.submitter, self.app
        self.step(
            self.cursor.later(2, 5),
            lambda v: app.supplement(
                self.id, documents=documents, note=note, by=by, expected_version=v
            ),
        )

    def withdraw(self, reason: str) -> None:
        by, app = self.submitter, self.app
        self.step(
            self.cursor.later(2, 6),
            lambda v: app.withdraw(self.id, reason=reason, by=by, expected_version=v),
        )

    def open_public_comment(self) -> date:
        at = self.cursor.later(1, 2)
        days = self.planner.days
        closes_on = days.add(_local(at).date(), self.award.comment_days + self.rng.randint(0, 2))
        by, app = self.appraiser, self.app
        self.step(
            at,
            lambda v: app.open_public_comment(
                self.id, closes_on=closes_on, by=by, expected_version=v
            ),
        )
        return closes_on

    def receive_comments(self, closes_on: date) -> None:
        rng = self.rng
        kinds = [CommentKind.SUPPORT] * rng.randint(0, 2)
        if rng.random() < 0.35:
            kinds.append(CommentKind.INFORMATION)
        if self.spec.objection:
            kinds.append(CommentKind.OBJECTION)
        last = min(closes_on, self.planner.days.before(self.planner.today, 1))
        opened = self.cursor.day
        span = max(0, self.planner.days.calendar.working_days_between(opened, last))
        offsets = sorted(rng.randint(0, span) for _ in kinds)
        duplicate = self._withholds_a_duplicate(len(kinds))
        first: tuple[str, str | None, str | None] | None = None
        for number, (kind, offset) in enumerate(zip(kinds, offsets, strict=True), start=1):
            comment_id = demo_receipt_code(self.spec.key, number)
            text, author, contact = self.comment_text(kind)
            by = PORTAL if rng.random() < 0.8 else self.appraiser
            if duplicate and number == 2 and first is not None:
                text, author, contact = first  # the same person sent the same comment again
            first = first or (text, author, contact)
            self.comments.append((comment_id, kind))
            at = self.cursor.on(self.planner.days.add(opened, offset))
            self.step(at, _comment(self.app, self.id, comment_id, kind, text, author, contact, by))
            decision = self.moderation(number, len(kinds), duplicate)
            if decision is not None:
                # Moderated minutes later, before anything else happens to the dossier (its next
                # step is at least five minutes after the comment).
                self.step(at + timedelta(minutes=2), _moderate(self, comment_id, *decision))

    def _withholds_a_duplicate(self, comments: int) -> bool:
        """The first dossier open for comment with two comments or more gets a duplicate."""
        if self.planner.withheld is None and self.spec.path == "public_comment" and comments >= 2:
            self.planner.withheld = self.spec.key
            return True
        return False

    def moderation(
        self, number: int, comments: int, duplicate: bool
    ) -> tuple[CommentStatus, str] | None:
        """The appraiser publishes each comment, withholds the duplicate, and has not yet
        looked at the latest comment on a nomination still open for comment."""
        if duplicate and number == 2:
            return CommentStatus.WITHHELD, WITHHELD_DUPLICATE
        if self.spec.path == "public_comment" and number == comments:
            return None
        return CommentStatus.PUBLISHED, ""

    def _close_comment(self, version: int) -> object:
        return self.app.close_public_comment(self.id, by=self.appraiser, expected_version=version)

    def hold(self, kind: HoldKind) -> None:
        reasons = {
            HoldKind.COMPLAINT: "Nhận đơn phản ánh của công dân liên quan đến người được đề nghị; tạm dừng xét để xác minh theo quy định.",
            HoldKind.INSPECTION: "Thanh tra tỉnh đang thanh tra việc quản lý, sử dụng ngân sách tại đơn vị; tạm dừng xét đến khi có kết luận thanh tra.",
            HoldKind.DISCIPLINE: "Đang xem xét kỷ luật; tạm dừng xét khen thưởng.",
        }
        by, app, reason = self.appraiser, self.app, reasons[kind]
        self.step(
            self.cursor.later(1, 3),
            lambda v: app.hold(self.id, kind=kind, reason=reason, by=by, expected_version=v),
        )

    def lift_hold(self) -> None:
        outcome = "Kết luận xác minh: không phát hiện vi phạm liên quan đến người được đề nghị; tiếp tục xét khen thưởng."
        by, app = self.appraiser, self.app
        self.step(
            self.cursor.later(5, 8),
            lambda v: app.lift_hold(self.id, outcome=outcome, by=by, expected_version=v),
        )

    def appraise(self, *, qualified: bool) -> None:
        answers = {comment_id: self.answer(kind, qualified) for comment_id, kind in self.comments}
        if qualified:
            opinion = (
                f"Hồ sơ đầy đủ thành phần theo quy định; thành tích đạt tiêu chuẩn «{self.award.name}». "
                "Đã lấy ý kiến cơ quan thuế, bảo hiểm xã hội và công an: không có vi phạm."
            )
            if self.award.public_comment:
                opinion += " Đã công khai lấy ý kiến Nhân dân trên Cổng thông tin điện tử tỉnh."
        elif self.spec.objection:
            opinion = (
                "Qua xác minh, ý kiến phản ánh của Nhân dân là có cơ sở: cá nhân bị kỷ luật khiển "
                "trách trong thời gian đề nghị khen thưởng. Không đủ điều kiện đề nghị."
            )
        else:
            opinion = (
                "Thành tích trùng với thành tích đã được khen thưởng trong cùng giai đoạn; sáng kiến "
                "chưa được công nhận phạm vi ảnh hưởng cấp tỉnh. Không đủ điều kiện đề nghị."
            )
        by, app = self.appraiser, self.app
        self.step(
            self.cursor.later(4, 8),
            lambda v: app.appraise(
                self.id,
                qualified=qualified,
                opinion=opinion,
                answers=answers,
                by=by,
                expected_version=v,
            ),
        )

    def council(self, day: date, *, passes: bool, complete: bool) -> None:
        days, rng, app = self.planner.days, self.rng, self.app
        meeting = days.add(day, 3)
        members = [member.user_id for member in COUNCIL]
        self.step(
            self.cursor.on(day),
            lambda v: app.open_council_review(
                self.id, members=members, meeting_on=meeting, by=SECRETARY, expected_version=v
            ),
        )
        conflicted = COUNCIL[5] if self.spec.conflict else None
        voters = [member for member in COUNCIL if member is not conflicted]
        votes = _votes(rng, len(COUNCIL), len(voters), self.award.threshold, passes)
        absent = set(rng.sample(range(len(voters)), rng.randint(1, 2)))
        self.cursor.on(meeting, window=(8 * 60, 9 * 60 + 15))
        if conflicted is not None:
            reason = "Thành viên là Thủ trưởng cơ quan quản lý trực tiếp đơn vị được đề nghị."
            self.step(self.cursor.soon(), _conflict(app, self.id, reason, conflicted))
        present = [m.user_id for i, m in enumerate(voters) if i not in absent]
        if conflicted is not None:
            present.append(conflicted.user_id)
        for index, (member, vote) in enumerate(zip(voters, votes, strict=True)):
            if index not in absent:
                self.step(self.cursor.soon(), _ballot(app, self.id, member, vote))
        if not complete:
            return
        self.cursor.later(1, 2)
        for index, (member, vote) in enumerate(zip(voters, votes, strict=True)):
            if index in absent:
                self.step(self.cursor.soon(), _ballot(app, self.id, member, vote))
        self.step(
            self.cursor.later(0, 0),
            lambda v: app.conclude_council_review(
                self.id, present=present, by=SECRETARY, expected_version=v
            ),
        )

    def party_opinion(self) -> None:
        at = self.cursor.later(4, 7)
        number = self.planner.numbers.take("CV/TU", _local(at).date())
        signed = _local(at).date()
        summary = f"Ban Thường vụ Tỉnh ủy thống nhất đề nghị «{self.award.name}» cho {'tập thể' if self.nominee_kind is Subject.COLLECTIVE else 'cá nhân'} được đề nghị."
        by, app = self.appraiser, self.app
        self.step(
            at,
            lambda v: app.record_party_opinion(
                self.id,
                document_number=number,
                document_date=signed,
                favourable=True,
                summary=summary,
                by=by,
                expected_version=v,
            ),
        )

    def approve(self, day: date, number: str) -> None:
        app = self.app
        self.step(
            self.cursor.on(day),
            lambda v: app.approve(
                self.id, decision_number=number, decision_date=day, by=CHAIRMAN, expected_version=v
            ),
        )

    def reject(self) -> None:
        at = self.cursor.later(3, 7)
        signed = _local(at).date()
        number = self.planner.numbers.take("TB-UBND", signed)
        reason = "Thành tích đề nghị trùng với thành tích đã được tặng Bằng khen của Bộ trưởng trong cùng giai đoạn; chưa đủ thời gian theo quy định kể từ lần khen thưởng trước."
        app = self.app
        self.step(
            at,
            lambda v: app.reject(
                self.id,
                reason=reason,
                notice_number=number,
                notice_date=signed,
                by=CHAIRMAN,
                expected_version=v,
            ),
        )

    def forward(self, day: date, number: str) -> None:
        app = self.app
        self.step(
            self.cursor.on(day),
            lambda v: app.forward_upward(
                self.id,
                submission_number=number,
                submission_date=day,
                by=CHAIRMAN,
                expected_version=v,
            ),
        )

    def central(self, day: date, number: str, outcome: CentralOutcome) -> None:
        note = (
            "Quyết định khen thưởng đã về tỉnh; Sở Nội vụ thông báo cho đơn vị tổ chức trao tặng."
            if outcome is CentralOutcome.CONFERRED
            else "Bộ Nội vụ thông báo hồ sơ chưa đủ tiêu chuẩn; tỉnh đã thông báo cho đơn vị."
        )
        recorded = self.cursor.on(self.planner.days.add(day, self.rng.randint(3, 8)))
        app, by = self.app, self.appraiser
        self.step(
            recorded,
            lambda v: app.record_central_decision(
                self.id,
                outcome=outcome,
                decision_number=number,
                decision_date=day,
                note=note,
                by=by,
                expected_version=v,
            ),
        )

    def revoke(self, day: date, number: str) -> None:
        explanation = (
            "Kết luận thanh tra số 12/KL-TTr xác định số liệu về diện tích, sản lượng và doanh thu "
            "trong báo cáo thành tích không trung thực; văn bản xác nhận của UBND xã được cấp khi "
            "chưa kiểm tra thực tế. Thu hồi Bằng khen và số tiền thưởng đã nhận."
        )
        app = self.app
        self.step(
            self.cursor.on(day),
            lambda v: app.revoke(
                self.id, grounds=Grounds.FALSE_DOCUMENTS, explanation=explanation, decision_number=number,
                decision_date=day, by=CHAIRMAN, expected_version=v,
            ),
        )  # fmt: skip

    # content -------------------------------------------------------------------------------

    @property
    def nominee_kind(self) -> Subject:
        return (
            Subject.INDIVIDUAL
            if self.spec.profile in INDIVIDUALS and not self.spec.position
            else Subject.COLLECTIVE
        )

    def nominee(self) -> tuple[Nominee, PersonalDetails | None, str]:
        spec, rng = self.spec, self.rng
        values = _numbers(rng)
        crops = _FILL["crop_cb"] if spec.unit.startswith("cbg") else _FILL["crop_dn"]
        values.update(
            {
                key: _pick(rng, options)
                for key, options in _FILL.items()
                if not key.startswith("crop")
            }
        )
        values.update(crop=_pick(rng, crops), org=spec.org, rank=spec.rank, post=spec.post)
        if self.nominee_kind is Subject.COLLECTIVE:
            text = COLLECTIVE_ACHIEVEMENTS[spec.profile].format(**values)
            return Nominee(Subject.COLLECTIVE, spec.org, spec.position), None, _nfc(text)
        profile = INDIVIDUALS[spec.profile]
        name, female = self.planner.person(rng, spec, profile)
        born = date(rng.randint(*profile.birth_years), rng.randint(1, 12), rng.randint(1, 28))
        position = _nfc(profile.position.format(**values))
        personal = PersonalDetails(
            identity_number=self.planner.identity(rng, self.unit.id_prefix, born, female),
            date_of_birth=born,
            phone=f"{_pick(rng, _PHONE_PREFIXES)}{rng.randint(1, 9)} {rng.randrange(1000):03d} {rng.randrange(1000):03d}",
            email=f"{fold(name).replace(' ', '.')}{born.year % 100:02d}@example.com",
            address=_nfc(f"Tổ {rng.randint(1, 15)}, {self.unit.place}"),
        )
        return (
            Nominee(Subject.INDIVIDUAL, name, position),
            personal,
            _nfc(profile.achievements.format(**values)),
        )

    def prior_titles(self, nominee: Nominee) -> list[PriorTitle]:
        """Titles already held: the eligibility chain where the award needs one, else a few."""
        year, rng = self.cursor.day.year, self.rng

        def title(code: str, back: int, kind: TitleKind = TitleKind.REGULAR) -> PriorTitle:
            issuer = "UBND" if code in (TTLDXS, "bang_khen_chuyen_de") else self.unit_abbreviation
            number = rng.randint(100, 2900) if issuer == "UBND" else rng.randint(20, 480)
            return PriorTitle(code, year - back, f"{number}/QĐ-{issuer}", kind)

        titles: list[PriorTitle] = []
        staff = self.spec.profile not in ("nong_dan", "doanh_nhan", "nghe_nhan")
        need = self.award.prerequisite
        if nominee.kind is Subject.INDIVIDUAL:
            if need is not None:
                titles += [
                    title(need.title_code, 1 + term * need.term_years)
                    for term in range(need.consecutive_times - 1, -1, -1)
                ]
            elif staff and rng.random() < 0.6:
                titles.append(title("chien_si_thi_dua_co_so", 1))
            elif staff and rng.random() < 0.5:
                titles.append(title("lao_dong_tien_tien", 1))
        elif self.award.code in (CO, COCP) or (
            self.spec.profile not in ("xa", "dia_phuong", "htx") and rng.random() < 0.5
        ):
            titles += [title(TTLDXS, 2), title(TTLDXS, 1)]
        if staff and rng.random() < 0.2:
            titles.append(title("bang_khen_chuyen_de", 2, TitleKind.THEMATIC))
        return titles

    @property
    def unit_abbreviation(self) -> str:
        """The issuer part of a unit's own decision numbers (Sở Giáo dục và Đào tạo → SGDĐT)."""
        words = self.unit.name.split()
        if words[0] == "UBND":
            return "UBND"
        if "tỉnh" in words:
            words = words[: words.index("tỉnh")]
        return "".join(word[0].upper() for word in words if word != "và")[:8]

    def comment_text(self, kind: CommentKind) -> tuple[str, str | None, str | None]:
        rng = self.rng
        who = self.nominee_kind
        if kind is CommentKind.SUPPORT:
            text = _pick(rng, _SUPPORT[who])
        elif kind is CommentKind.INFORMATION:
            text = "Đề nghị cơ quan thẩm định lưu ý: thành tích nêu trong hồ sơ đã được báo chí địa phương phản ánh; đề nghị đối chiếu để tránh trùng lặp với các đợt khen thưởng trước."
        else:
            text = "Phản ánh: người được đề nghị có liên quan đến việc chậm giải quyết hồ sơ đất đai của gia đình tôi và đã bị kỷ luật; đề nghị làm rõ trước khi xét khen thưởng."
        named = kind is CommentKind.OBJECTION or rng.random() < 0.6
        author = None
        contact = None
        if named:
            female = rng.random() < 0.5
            surnames = _SURNAMES_CB if self.spec.unit.startswith("cbg") else _SURNAMES_DN
            author = _nfc(
                f"{_pick(rng, surnames)} {_pick(rng, _MIDDLE_F if female else _MIDDLE_M)} {_pick(rng, _GIVEN_F if female else _GIVEN_M)}"
            )
            if kind is CommentKind.OBJECTION or rng.random() < 0.5:
                contact = f"{_pick(rng, _PHONE_PREFIXES)}{rng.randint(1, 9)} {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
        return text, author, contact

    def answer(self, kind: CommentKind, qualified: bool) -> CommentAnswer:
        if kind is CommentKind.SUPPORT:
            return CommentAnswer(Disposition.NOTED, "Ghi nhận ý kiến đồng tình của Nhân dân.")
        if kind is CommentKind.INFORMATION:
            return CommentAnswer(
                Disposition.ACCEPTED,
                "Đã đối chiếu: thành tích không trùng với các lần khen thưởng trước.",
            )
        if qualified:
            return CommentAnswer(
                Disposition.REJECTED,
                "Đã phối hợp với UBND cấp xã xác minh: hồ sơ của gia đình công dân đã được giải quyết đúng hạn; nội dung phản ánh không có cơ sở.",
            )
        return CommentAnswer(
            Disposition.ACCEPTED,
            "Đã xác minh: nội dung phản ánh có cơ sở; người được đề nghị bị kỷ luật khiển trách trong thời gian đề nghị khen thưởng.",
        )


def _comment(
    app: Dossiers,
    dossier_id: UUID,
    comment_id: str,
    kind: CommentKind,
    text: str,
    author: str | None,
    contact: str | None,
    by: Actor,
) -> Callable[[int], object]:
    def run(version: int) -> object:
        return app.receive_comment(
            dossier_id,
            kind=kind,
            text=text,
            author_name=author,
            contact=contact,
            by=by,
            expected_version=version,
            comment_id=comment_id,
        )

    return run


WITHHELD_DUPLICATE = (
    "Ý kiến trùng lặp với ý kiến cùng người gửi đã gửi trước đó; không công bố lần hai. Nội dung "
    "vẫn được chuyển cơ quan thẩm định xem xét và trả lời."
)


def demo_receipt_code(dossier_key: str, number: int) -> str:
    """The receipt code of a demo dossier's comment: the same on every run."""
    digest = hashlib.sha256(f"khenthuong demo comment {dossier_key} {number}".encode()).digest()
    return "".join(
        RECEIPT_ALPHABET[byte % len(RECEIPT_ALPHABET)] for byte in digest[:RECEIPT_LENGTH]
    )


def _moderate(
    script: _DossierScript, comment_id: str, decision: CommentStatus, reason: str
) -> Callable[[int], object]:
    app, dossier_id, by = script.app, script.id, script.appraiser
    return lambda v: app.moderate_comment(
        dossier_id, comment_id, decision=decision, reason=reason, by=by, expected_version=v
    )


def _conflict(
    app: Dossiers, dossier_id: UUID, reason: str, member: Actor
) -> Callable[[int], object]:
    return lambda v: app.declare_conflict_of_interest(
        dossier_id, reason=reason, by=member, expected_version=v
    )


_SUPPORT: dict[Subject, tuple[str, ...]] = {
    Subject.INDIVIDUAL: (
        "Tôi là người dân trên địa bàn, xin bày tỏ sự đồng tình. Người được đề nghị rất tận tụy "
        "với công việc, được Nhân dân quý mến.",
        "Gia đình tôi nhiều lần được giúp đỡ tận tình; tôi hoàn toàn ủng hộ việc đề nghị khen thưởng.",
        "Đồng chí luôn gương mẫu, gần dân, giải quyết công việc nhanh chóng, đúng quy định. Tôi ủng hộ.",
    ),
    Subject.COLLECTIVE: (
        "Tôi là người dân trên địa bàn, xin bày tỏ sự đồng tình. Đơn vị luôn tận tình phục vụ "
        "Nhân dân, được bà con tin tưởng.",
        "Những năm qua địa phương thay đổi rõ rệt nhờ sự đóng góp của tập thể này; tôi ủng hộ đề nghị.",
        "Tập thể đoàn kết, làm việc trách nhiệm, được Nhân dân ghi nhận. Xin đồng tình với đề nghị.",
    ),
}


def _ballot(app: Dossiers, dossier_id: UUID, member: Actor, vote: Vote) -> Callable[[int], object]:
    return lambda v: app.cast_ballot(dossier_id, vote=vote, by=member, expected_version=v)


def _votes(
    rng: random.Random, members: int, voters: int, threshold: Decimal, passes: bool
) -> list[Vote]:
    """Ballots of the members who vote: enough yes votes of ALL members to pass, or too few."""
    needed = max(1, ceil(threshold * members))
    yes = rng.randint(needed, voters) if passes else rng.randint(max(1, needed - 4), needed - 1)
    yes = min(yes, voters)
    rest = [Vote.NO if rng.random() < 0.6 else Vote.ABSTAIN for _ in range(voters - yes)]
    votes = [Vote.YES] * yes + rest
    rng.shuffle(votes)
    return votes


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What the demo data set holds after a load (counts are read back from the store)."""

    movements: Mapping[str, UUID]
    """Plan number → movement id."""
    dossiers: int
    created: int
    """Dossiers created by this run (0 when the demo was already loaded)."""
    events_written: int
    by_status: Mapping[Status, int]
    interesting: Mapping[str, UUID]
    """One dossier per status (keyed by the status value), for showing the flows."""

    @property
    def revoked(self) -> UUID:
        """The dossier whose award was revoked: its history shows the whole provincial flow."""
        return self.interesting[Status.REVOKED.value]


def _clones(
    movements: Movements, dossiers: Dossiers, clock: Callable[[], datetime]
) -> tuple[Movements, Dossiers]:
    """Applications over the caller's store whose clock the demo sets step by step."""
    env = dict(movements.env)
    mv = Movements(env, clock=clock, share_with=movements)
    ds = Dossiers(
        env,
        rulebooks=dossiers.rulebooks,
        calendar=dossiers.calendar,
        clock=clock,
        share_with=dossiers,
    )
    return mv, ds


def _current_version(dossiers: Dossiers, dossier_id: UUID) -> int:
    try:
        return dossiers.get(dossier_id, viewer=READER).version
    except NotFound:
        return 0


def load_demo(
    movements: Movements,
    dossiers: Dossiers,
    *,
    today: date,
    log: Callable[[str], None] = print,
) -> DemoSummary:
    """Load the demo data set into the store of ``movements`` and ``dossiers`` (idempotent)."""
    if today < EARLIEST_TODAY:
        raise ValueError(f"Dữ liệu mẫu cần ngày tham chiếu từ {EARLIEST_TODAY:%d/%m/%Y} trở đi.")
    moment = [datetime.now(tz=UTC)]
    mv, ds = _clones(movements, dossiers, lambda: moment[0])
    start_position = dossiers.max_position()
    planner = _Planner(ds, today)
    plans = (*HISTORICAL_MOVEMENTS, planner.current_movement)
    planner.movements(plans, mv)
    planner.dossiers(SPECS)
    limit = _moment(today, 0)
    late = [step for step in planner.steps if step.at >= limit]
    if late:
        raise RuntimeError(f"dữ liệu mẫu: {len(late)} bước rơi vào ngày tham chiếu trở về sau")

    ids = demo_dossier_ids()
    existing = {dossier_id: _current_version(dossiers, dossier_id) for dossier_id in ids}
    complete = sum(
        1
        for dossier_id in ids
        if existing[dossier_id] == sum(1 for s in planner.steps if s.target == dossier_id)
    )
    log(
        f"Nạp dữ liệu mẫu: {len(plans)} phong trào thi đua, {len(SPECS)} hồ sơ (ngày tham chiếu {today:%d/%m/%Y})."
    )
    if complete:
        log(f"Đã có đủ lịch sử của {complete} hồ sơ: bỏ qua.")
    created = sum(1 for dossier_id in ids if existing[dossier_id] == 0)
    for step in sorted(planner.steps, key=lambda s: (s.at, s.seq)):
        if step.index >= 0 and step.index < existing[step.target]:
            continue
        moment[0] = step.at
        step.run(step.index)

    by_status: Counter[Status] = Counter()
    interesting: dict[str, UUID] = {}
    for dossier_id in ids:
        status = Status(dossiers.get(dossier_id, viewer=READER).status)
        by_status[status] += 1
        interesting.setdefault(status.value, dossier_id)
    written = dossiers.max_position() - start_position
    log(f"Xong: ghi {written} sự kiện, tạo mới {created} hồ sơ.")
    return DemoSummary(
        movements={plan.plan_number: plan.id for plan in plans},
        dossiers=len(SPECS),
        created=created,
        events_written=written,
        by_status=dict(by_status),
        interesting=interesting,
    )


# --- accounts to try the API with -----------------------------------------------------------

_OPEN_PATHS = frozenset(
    {
        "submitted",
        "returned",
        "public_comment",
        "comment_closed",
        "held_complaint",
        "held_inspection",
        "awaiting_council",
        "council_voting",
        "awaiting_decision",
    }
)


def _busiest_unit() -> _Unit:
    """The unit with the most dossiers still in flow (ties: the first in ``UNITS``)."""
    counts = Counter(spec.unit for spec in SPECS if spec.path in _OPEN_PATHS)
    order = list(UNITS)
    code = max(counts, key=lambda unit: (counts[unit], -order.index(unit)))
    return UNITS[code]


@dataclass(frozen=True)
class DemoAccount:
    """An account of the demo: a person of the histories, acting in one role."""

    name: str
    display_name: str
    role: Role
    unit: str | None = None


_SUBMITTING_UNIT = _busiest_unit()
_DEMO_MEMBER = COUNCIL[0]
"""``m01`` missed the vote on a dossier still in ``council_voting`` (``now-18``), so the demo
member can cast a real ballot there; ``m15`` has voted on every open review."""

DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        _SUBMITTING_UNIT.submitter.user_id,
        _nfc(f"Văn thư {_SUBMITTING_UNIT.name}"),
        Role.SUBMITTER,
        _nfc(_SUBMITTING_UNIT.name),
    ),
    DemoAccount(APPRAISERS[0].user_id, "Chuyên viên thẩm định, Sở Nội vụ", Role.APPRAISER),
    DemoAccount(
        SECRETARY.user_id, "Thư ký Hội đồng Thi đua - Khen thưởng tỉnh", Role.COUNCIL_SECRETARY
    ),
    DemoAccount(
        _DEMO_MEMBER.user_id,
        f"Thành viên Hội đồng Thi đua - Khen thưởng tỉnh ({_DEMO_MEMBER.user_id})",
        Role.COUNCIL_MEMBER,
    ),
    DemoAccount(CHAIRMAN.user_id, "Chủ tịch Ủy ban nhân dân tỉnh", Role.CHAIRMAN),
    DemoAccount(READER.user_id, "Thanh tra, kiểm toán (dữ liệu mẫu)", Role.AUDITOR),
    DemoAccount("demo.quantri", "Quản trị hệ thống (dữ liệu mẫu)", Role.ADMIN),
)
"""One account per staff role, in the order of ``Role``; each gets a fresh token per run."""

_OTHER_MEMBERS: tuple[DemoAccount, ...] = tuple(
    DemoAccount(
        member.user_id,
        f"Thành viên Hội đồng Thi đua - Khen thưởng tỉnh ({member.user_id})",
        Role.COUNCIL_MEMBER,
    )
    for member in COUNCIL
    if member != _DEMO_MEMBER
)
"""The rest of the demo's council: accounts without tokens, so that the council's roster read
from the accounts is the fifteen members of the histories."""


def ensure_demo_accounts(accounts: Accounts) -> list[IssuedToken]:
    """Create the demo accounts that are missing and give each a fresh token (idempotent).

    Tokens are shown only once, so on every run an existing demo account has its previous
    tokens revoked and gets a new one. A demo account that was disabled stays disabled and gets
    no token. Changes are made as ``SYSTEM`` (the command line).
    """
    existing = {view.name: view for view in accounts.list_accounts()}
    issued: list[IssuedToken] = []
    for demo in DEMO_ACCOUNTS:
        view = existing.get(demo.name)
        if view is None:
            _, token = accounts.create_account(
                name=demo.name,
                display_name=demo.display_name,
                roles=[demo.role],
                unit=demo.unit,
                by=SYSTEM,
            )
            if token is not None:
                issued.append(token)
            continue
        if view.disabled:
            continue
        if demo.role not in view.roles:
            accounts.grant_role(demo.name, demo.role, by=SYSTEM)
        accounts.revoke_all_tokens(demo.name, by=SYSTEM)
        issued.append(accounts.issue_token(demo.name, by=SYSTEM))
    for member in _OTHER_MEMBERS:
        if member.name not in existing:
            accounts.create_account(
                name=member.name,
                display_name=member.display_name,
                roles=[member.role],
                unit=member.unit,
                by=SYSTEM,
                issue_token=False,
            )
    return issued
