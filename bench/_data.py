"""A province's event log, generated fast for the projection benchmark (``bench/projections.py``).

The events are the ones the application writes: every dossier is driven by the real domain
commands (``Dossier.submit``, ``open_public_comment``, ``receive_comment``, ``appraise``,
``open_council_review``, ``cast_ballot``, ``approve``, ``forward_upward``, ...), with the same
registers the ``Dossiers`` use cases keep beside them (a ``NominationSlot`` per nominee, taken
at submission and freed when the dossier ends without an award; a ``DocumentNumber`` per
decision, submission and revocation number, cited by every dossier it covers) and the
``EmulationMovement`` aggregates they belong to. Instead of one load-and-save round trip per
command, the aggregates stay in memory, their pending events are converted by the store's own
mapper (``mapper.to_stored_event``) and bulk-inserted with ``COPY`` into the events table, the
notification id left to the table's sequence. Every event therefore replays through
``repository.get`` like one the application saved.

How the province works (all of it seeded, so the same arguments give the same log):

* dossiers come in campaigns (*đợt xét*) of ``group_size`` dossiers under one movement; the
  campaigns start every few working days from January 2024 to the reference day, and each
  runs for months (a submission window of two weeks, returns and supplements, public comment
  for state-level awards, appraisal, a council session, batch decisions numbered one per fifty
  dossiers, submissions upward, central decisions a month or two later, rare revocations), so
  about a dozen campaigns are in flight at any moment;
* the steps of all campaigns are merged in time order, so the log interleaves the dossiers of
  many campaigns as a real province's does, and every step falls in office hours of a working
  day of the Vietnamese calendar;
* steps that would fall after the reference day are not taken: recent dossiers stay open in
  whatever status they had reached (submitted, public comment, awaiting council, voting...);
* the award mix gives about ten events per dossier: mostly *Bằng khen của Chủ tịch UBND
  tỉnh* (submit, appraise, approve), some collective titles, provincial titles voted by a
  council of fifteen, and state-level awards (public comment, council, Party opinion,
  submission upward, central decision).

Names, units and positions are Vietnamese and repeat as they do in a province (Nguyễn is
common); one surname (Khổng) is rare on purpose, for the search benchmark.
"""

from __future__ import annotations

import heapq
import math
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.domain import Aggregate

from application.store import Store
from domain.calendar import WorkCalendar
from domain.dossier import ENDED_WITHOUT_AWARD, Dossier
from domain.movement import EmulationMovement
from domain.registers import DocumentKind, DocumentNumber, NominationSlot, nominee_key
from domain.rulebook import AwardRule, RulebookHistory, Subject
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role, local_date
from domain.values import (
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    Disposition,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    Vote,
)

FIRST_DAY = date(2024, 1, 8)
"""The first campaign's submissions (the ND98-2023 rulebook is in force from 1/1/2024)."""
PROVINCE = "tỉnh Cao Bằng"
DAY = 100_000
"""A step's key is ``working-day index * DAY + second of the (Vietnamese) day``."""
MORNING = (7 * 3600 + 30 * 60, 11 * 3600 + 30 * 60)
AFTERNOON = (13 * 3600 + 30 * 60, 17 * 3600)
OFFICE_SECONDS = (MORNING[1] - MORNING[0]) + (AFTERNOON[1] - AFTERNOON[0])
DECISION_CHUNK = 50
"""Dossiers covered by one decision (or submission) number."""

# --- who acts -------------------------------------------------------------------------------

RECORDER = Actor("snv.tdkt.vanthu", Role.APPRAISER)
APPRAISERS = tuple(Actor(f"snv.thamdinh{n:02d}", Role.APPRAISER) for n in range(1, 7))
SECRETARY = Actor("hdtdkt.thuky", Role.COUNCIL_SECRETARY)
CHAIRMAN = Actor("ubnd.chutich", Role.CHAIRMAN)
COUNCIL = tuple(Actor(f"hdtdkt.tv{n:02d}", Role.COUNCIL_MEMBER) for n in range(1, 16))
PORTAL = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)

# --- units of the province --------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    """giao_duc, y_te, cong_an, quan_su, bien_phong, co_quan, xa, doan_the"""
    weight: int

    @property
    def submitter(self) -> Actor:
        return Actor(f"{self.code}.vanthu", Role.SUBMITTER, unit=self.name)


UNITS: tuple[Unit, ...] = (
    Unit("sgddt", "Sở Giáo dục và Đào tạo tỉnh Cao Bằng", "giao_duc", 14),
    Unit("syt", "Sở Y tế tỉnh Cao Bằng", "y_te", 8),
    Unit("ca", "Công an tỉnh Cao Bằng", "cong_an", 9),
    Unit("bchqs", "Bộ Chỉ huy Quân sự tỉnh Cao Bằng", "quan_su", 4),
    Unit("bdbp", "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Cao Bằng", "bien_phong", 4),
    Unit("stc", "Sở Tài chính tỉnh Cao Bằng", "co_quan", 2),
    Unit("snv", "Sở Nội vụ tỉnh Cao Bằng", "co_quan", 2),
    Unit("stp", "Sở Tư pháp tỉnh Cao Bằng", "co_quan", 1),
    Unit("sxd", "Sở Xây dựng tỉnh Cao Bằng", "co_quan", 1),
    Unit("sct", "Sở Công Thương tỉnh Cao Bằng", "co_quan", 1),
    Unit("snnmt", "Sở Nông nghiệp và Môi trường tỉnh Cao Bằng", "co_quan", 3),
    Unit("svhttdl", "Sở Văn hóa, Thể thao và Du lịch tỉnh Cao Bằng", "co_quan", 2),
    Unit("skhcn", "Sở Khoa học và Công nghệ tỉnh Cao Bằng", "co_quan", 1),
    Unit("sdttg", "Sở Dân tộc và Tôn giáo tỉnh Cao Bằng", "co_quan", 1),
    Unit("ttt", "Thanh tra tỉnh Cao Bằng", "co_quan", 1),
    Unit("vpubnd", "Văn phòng UBND tỉnh Cao Bằng", "co_quan", 1),
    Unit("bhxh", "Bảo hiểm xã hội tỉnh Cao Bằng", "co_quan", 1),
    Unit("nhcsxh", "Ngân hàng Chính sách xã hội chi nhánh tỉnh Cao Bằng", "co_quan", 1),
    Unit("bao", "Báo và Phát thanh, Truyền hình Cao Bằng", "co_quan", 1),
    Unit("ldld", "Liên đoàn Lao động tỉnh Cao Bằng", "doan_the", 2),
    Unit("tinhdoan", "Tỉnh đoàn Cao Bằng", "doan_the", 2),
    Unit("hlhpn", "Hội Liên hiệp Phụ nữ tỉnh Cao Bằng", "doan_the", 2),
    Unit("hnd", "Hội Nông dân tỉnh Cao Bằng", "doan_the", 2),
    Unit("hccb", "Hội Cựu chiến binh tỉnh Cao Bằng", "doan_the", 1),
    Unit("mttq", "Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh Cao Bằng", "doan_the", 1),
    Unit("thucphan", "UBND phường Thục Phán", "xa", 2),
    Unit("nungtricao", "UBND phường Nùng Trí Cao", "xa", 2),
    Unit("tangiang", "UBND phường Tân Giang", "xa", 2),
    Unit("trungkhanh", "UBND xã Trùng Khánh", "xa", 2),
    Unit("damthuy", "UBND xã Đàm Thủy", "xa", 1),
    Unit("hoaan", "UBND xã Hòa An", "xa", 2),
    Unit("nguyenbinh", "UBND xã Nguyên Bình", "xa", 2),
    Unit("baolac", "UBND xã Bảo Lạc", "xa", 2),
    Unit("baolam", "UBND xã Bảo Lâm", "xa", 1),
    Unit("haquang", "UBND xã Hà Quảng", "xa", 2),
    Unit("quanguyen", "UBND xã Quảng Uyên", "xa", 2),
    Unit("thachan", "UBND xã Thạch An", "xa", 1),
    Unit("halang", "UBND xã Hạ Lang", "xa", 1),
    Unit("tralinh", "UBND xã Trà Lĩnh", "xa", 1),
    Unit("thongnong", "UBND xã Thông Nông", "xa", 1),
    Unit("phuchoa", "UBND xã Phục Hòa", "xa", 1),
    Unit("tinhtuc", "UBND xã Tĩnh Túc", "xa", 1),
    Unit("dongkhe", "UBND xã Đông Khê", "xa", 1),
    Unit("nuochai", "UBND xã Nước Hai", "xa", 1),
    Unit("canhtan", "UBND xã Canh Tân", "xa", 1),
)

_SURNAMES = (
    ("Nguyễn", 30), ("Nông", 9), ("Hoàng", 9), ("Lương", 5), ("Đàm", 4), ("Bế", 4),
    ("Triệu", 4), ("Lục", 3), ("Hà", 3), ("Trần", 5), ("Lê", 4), ("Phạm", 3), ("Vũ", 2),
    ("Lăng", 2), ("Mã", 1), ("Sầm", 1), ("Đinh", 2), ("Phan", 1), ("Đỗ", 1), ("Ngô", 1),
    ("Dương", 2), ("Lý", 2), ("Chu", 1), ("La", 1), ("Hứa", 1),
)  # fmt: skip
RARE_SURNAME = "Khổng"
RARE_SHARE = 0.001
_MIDDLE_M = ("Văn", "Đức", "Minh", "Hữu", "Quốc", "Thanh", "Ngọc", "Xuân", "Công", "Đình")
_MIDDLE_F = ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh", "Kim", "Phương")
_GIVEN_M = (
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Quân", "Sơn",
    "Thắng", "Trung", "Tuấn", "Vinh", "Hiếu", "Phúc", "Thành", "Tùng", "Huy", "Đạt", "Kiên",
)  # fmt: skip
_GIVEN_F = (
    "Hà", "Hạnh", "Hiền", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Thảo",
    "Thủy", "Trang", "Vân", "Yến", "Huyền", "Loan", "Dung", "Giang", "Ngân", "Oanh",
)  # fmt: skip
_PHONE_PREFIXES = ("091", "094", "088", "098", "097", "086", "035", "033", "038", "096")

_ORGS: dict[str, tuple[str, ...]] = {
    "giao_duc": (
        "Trường THPT Chuyên Cao Bằng", "Trường THPT Thành phố Cao Bằng", "Trường THPT Bảo Lạc",
        "Trường THPT Trùng Khánh", "Trường THPT Hòa An", "Trường THPT Quảng Uyên",
        "Trường THCS Hợp Giang", "Trường THCS Hòa Chung", "Trường THCS Đề Thám",
        "Trường Tiểu học Hợp Giang", "Trường Tiểu học Sông Hiến", "Trường Mầm non Hoa Sen",
        "Trường PTDTNT THCS và THPT Hà Quảng", "Trường Phổ thông Dân tộc nội trú tỉnh",
        "Trường Cao đẳng Cao Bằng",
    ),
    "y_te": (
        "Bệnh viện Đa khoa tỉnh Cao Bằng", "Bệnh viện Y dược cổ truyền tỉnh",
        "Trung tâm Kiểm soát bệnh tật tỉnh", "Trung tâm Y tế Trùng Khánh",
        "Trung tâm Y tế Bảo Lạc", "Trung tâm Y tế Hòa An", "Bệnh viện Phục hồi chức năng tỉnh",
    ),
    "cong_an": (
        "Phòng Cảnh sát hình sự", "Phòng Cảnh sát giao thông", "Phòng An ninh đối nội",
        "Phòng Cảnh sát điều tra tội phạm về ma túy", "Phòng Cảnh sát cơ động",
        "Phòng Quản lý hành chính về trật tự xã hội", "Công an xã Trùng Khánh",
        "Công an phường Thục Phán",
    ),
    "quan_su": (
        "Ban Chỉ huy Phòng thủ khu vực 1 - Hòa An", "Ban Chỉ huy Phòng thủ khu vực 2 - Trùng Khánh",
        "Phòng Tham mưu", "Phòng Chính trị", "Phòng Hậu cần - Kỹ thuật",
    ),
    "bien_phong": (
        "Đồn Biên phòng Trà Lĩnh", "Đồn Biên phòng Sóc Giang", "Đồn Biên phòng Đàm Thủy",
        "Đồn Biên phòng Lý Vạn", "Đồn Biên phòng Cần Yên", "Đồn Biên phòng Đức Long",
    ),
    "co_quan": (
        "Văn phòng", "Phòng Tổ chức cán bộ", "Phòng Kế hoạch - Tài chính", "Thanh tra Sở",
        "Phòng Nghiệp vụ", "Trung tâm Dịch vụ công",
    ),
    "xa": (
        "Văn phòng HĐND và UBND", "Bộ phận một cửa", "Phòng Kinh tế", "Phòng Văn hóa - Xã hội",
        "Hợp tác xã Nông nghiệp", "Thôn Bản Giốc", "Thôn Nà Mạ", "Tổ dân phố số 5",
    ),
    "doan_the": ("Ban Tuyên giáo", "Ban Tổ chức", "Văn phòng", "Ban Phong trào"),
}  # fmt: skip
_POSITIONS: dict[str, tuple[str, ...]] = {
    "giao_duc": ("Giáo viên", "Tổ trưởng chuyên môn", "Hiệu trưởng", "Phó Hiệu trưởng"),
    "y_te": ("Bác sĩ chuyên khoa II", "Điều dưỡng trưởng khoa", "Trưởng khoa", "Dược sĩ"),
    "cong_an": ("Đại úy, Đội trưởng", "Thiếu tá, Phó Trưởng phòng", "Trung tá, Trưởng phòng"),
    "quan_su": ("Thiếu tá, Trợ lý tác chiến", "Trung tá, Chính trị viên", "Đại úy, Đại đội trưởng"),
    "bien_phong": ("Thiếu tá, Đồn trưởng", "Đại úy, Chính trị viên phó", "Thượng úy, Đội trưởng"),
    "co_quan": ("Chuyên viên", "Chuyên viên chính", "Trưởng phòng", "Phó Trưởng phòng"),
    "xa": ("Chủ tịch UBND", "Công chức Văn phòng - Thống kê", "Trưởng thôn", "Nông dân"),
    "doan_the": ("Chuyên viên", "Phó Trưởng ban", "Trưởng ban"),
}  # fmt: skip
_COLLECTIVE_KIND = {
    "giao_duc": "Trường học",
    "y_te": "Đơn vị sự nghiệp y tế",
    "cong_an": "Đơn vị thuộc Công an tỉnh",
    "quan_su": "Cơ quan, đơn vị quân sự địa phương",
    "bien_phong": "Đồn Biên phòng",
    "co_quan": "Phòng, ban chuyên môn",
    "xa": "Tập thể thuộc UBND cấp xã",
    "doan_the": "Ban chuyên môn của tổ chức chính trị - xã hội",
}
_ACHIEVEMENTS = (
    "Hoàn thành xuất sắc nhiệm vụ {y} năm liên tục; là tác giả sáng kiến «{idea}» được Hội đồng "
    "sáng kiến cấp tỉnh công nhận và áp dụng tại {n} đơn vị. Tích cực tham gia phong trào thi đua "
    "«{move}», được Nhân dân tin tưởng.",
    "Chủ trì triển khai {n} nhiệm vụ trọng tâm của đơn vị; tỷ lệ hồ sơ giải quyết đúng hạn đạt "
    "{p}%. Tham gia {k} đợt hỗ trợ đồng bào các xã biên giới khắc phục hậu quả mưa lũ.",
    "Đơn vị hoàn thành vượt mức các chỉ tiêu được giao, {k} năm liền đạt danh hiệu Tập thể lao "
    "động xuất sắc; ứng dụng chuyển đổi số, {p}% thủ tục được giải quyết trực tuyến toàn trình.",
    "Trực tiếp tham gia giải quyết {n} vụ việc phức tạp; xây dựng mô hình «{idea}» được nhân rộng "
    "trên địa bàn tỉnh; {y} năm liên tục hoàn thành xuất sắc nhiệm vụ.",
)
_IDEAS = (
    "Số hóa hồ sơ một cửa", "Tổ tự quản an ninh trật tự ở thôn bản",
    "Dạy học theo dự án gắn với di sản địa phương", "Bảng kiểm an toàn người bệnh",
    "Nâng bước em tới trường", "Liên kết tiêu thụ hạt dẻ Trùng Khánh",
)  # fmt: skip
_MOVES = ("Cả nước chung tay vì người nghèo", "Chuyển đổi số", "Xây dựng nông thôn mới")
_DOC_NAMES = (
    "Tờ trình đề nghị khen thưởng.pdf",
    "Báo cáo thành tích.pdf",
    "Biên bản họp Hội đồng Thi đua - Khen thưởng đơn vị.pdf",
    "Văn bản xác nhận của cơ quan thuế và bảo hiểm xã hội.pdf",
)
_SUPPORT = (
    "Tôi là người dân trên địa bàn, xin bày tỏ sự đồng tình với đề nghị khen thưởng.",
    "Gia đình tôi nhiều lần được giúp đỡ tận tình; tôi hoàn toàn ủng hộ đề nghị.",
    "Tập thể, cá nhân luôn gương mẫu, gần dân, được Nhân dân ghi nhận. Xin đồng tình.",
)
_INFORMATION = (
    "Đề nghị cơ quan thẩm định đối chiếu thành tích với các đợt khen thưởng trước để tránh trùng."
)
_OBJECTION = (
    "Phản ánh: người được đề nghị có liên quan đến việc chậm giải quyết hồ sơ đất đai; đề nghị "
    "làm rõ trước khi xét khen thưởng."
)

# Award mix: code, weight, collective share (for awards open to both).
AWARD_MIX: tuple[tuple[str, int, float], ...] = (
    ("bang_khen_chu_tich_tinh", 560, 0.3),
    ("tap_the_lao_dong_xuat_sac", 130, 1.0),
    ("chien_si_thi_dua_tinh", 165, 0.0),
    ("co_thi_dua_ubnd_tinh", 60, 1.0),
    ("bang_khen_thu_tuong", 85, 0.3),
    ("huan_chuong_lao_dong_hang_ba", 50, 0.4),
    ("huan_chuong_lao_dong_hang_nhi", 12, 0.4),
    ("chien_si_thi_dua_toan_quoc", 15, 0.0),
    ("co_thi_dua_chinh_phu", 15, 1.0),
    ("huan_chuong_lao_dong_hang_nhat", 3, 0.4),
)


# --- working days and moments -------------------------------------------------------------------


class WorkDays:
    """The working days of the calendar from ``first`` on, indexed; moments as integer keys."""

    def __init__(self, calendar: WorkCalendar, first: date, count: int) -> None:
        days: list[date] = []
        day = first
        while len(days) < count:
            if calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        self.days = days
        self.index = {d: i for i, d in enumerate(days)}
        self._midnights = [datetime(d.year, d.month, d.day, tzinfo=VIETNAM_TZ) for d in days]

    def on_or_after(self, day: date) -> int:
        while day not in self.index:
            day += timedelta(days=1)
        return self.index[day]

    def moment(self, key: int) -> datetime:
        """The UTC moment of a key (timestamps are stored in UTC)."""
        return (self._midnights[key // DAY] + timedelta(seconds=key % DAY)).astimezone(UTC)


def office_second(rng: random.Random) -> int:
    offset = rng.randrange(OFFICE_SECONDS)
    morning = MORNING[1] - MORNING[0]
    return MORNING[0] + offset if offset < morning else AFTERNOON[0] + offset - morning


class Cursor:
    """The moment of a dossier's latest step; every next step is later (office hours)."""

    __slots__ = ("key", "rng")

    def __init__(self, rng: random.Random, day: int) -> None:
        self.rng = rng
        self.key = day * DAY + office_second(rng)

    @property
    def day(self) -> int:
        return self.key // DAY

    def on(self, day: int, *, morning: bool = False) -> int:
        """A moment on working day ``day`` (not before the current one), after the current."""
        rng = self.rng
        if day <= self.day:
            second = self.key % DAY + rng.randint(120, 5400)
            if second >= AFTERNOON[1]:
                day = self.day + 1
                second = office_second(rng)
            else:
                day = self.day
        elif morning:
            second = 8 * 3600 + rng.randint(0, 3600)
        else:
            second = office_second(rng)
        self.key = day * DAY + second
        return self.key

    def later(self, low: int, high: int) -> int:
        return self.on(self.day + self.rng.randint(low, high))

    def soon(self, low: int = 10, high: int = 150) -> int:
        self.key += self.rng.randint(low, high)
        return self.key


# --- registers, as the Dossiers use cases keep them ------------------------------------------


class Registers:
    def __init__(self) -> None:
        self.slots: dict[UUID, NominationSlot] = {}
        self.numbers: dict[UUID, DocumentNumber] = {}

    def take_slot(self, slot_id: UUID, dossier_id: UUID, at: datetime) -> NominationSlot:
        slot = self.slots.get(slot_id)
        if slot is None:
            slot = NominationSlot.open(slot_id, dossier_id, at)
            self.slots[slot_id] = slot
        else:
            slot.take(dossier_id, at)
        return slot

    def cite(
        self,
        number: str | None,
        signed_on: date,
        kind: DocumentKind,
        dossier_id: UUID,
        at: datetime,
    ) -> DocumentNumber:
        assert number is not None
        key = DocumentNumber.id_for(number, signed_on)
        entry = self.numbers.get(key)
        if entry is None:
            entry = DocumentNumber.register(number, signed_on, kind, dossier_id, at)
            self.numbers[key] = entry
        else:
            entry.cite(signed_on, kind, dossier_id, at)
        return entry


class Numbers:
    """Official numbers, plausible for their date and unique per kind and year."""

    SCALE: ClassVar[dict[str, tuple[float, int]]] = {
        "QĐ-UBND": (6.3, 17),
        "TTr-UBND": (0.9, 6),
        "QĐ-CTN": (3.1, 40),
        "QĐ-TTg": (4.2, 25),
        "TB-UBND": (1.6, 3),
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


# --- the plan: steps, batches, stories --------------------------------------------------------

Step = tuple[int, int, Callable[[datetime], Sequence[Aggregate]]]
"""(key, sequence number, command returning the aggregates it changed)."""


@dataclass(eq=False)
class Batch:
    """Dossiers handled together: a council session, a decision, a submission upward."""

    name: str
    order: int
    gap: tuple[int, int] = (2, 4)
    number_kind: str | None = None
    ready: int = 0
    day: int = -1
    numbers: list[str] = field(default_factory=list)
    waiting: list[Story] = field(default_factory=list)


@dataclass
class MovementPlan:
    plan_number: str
    title: str
    issued_on: date
    starts_on: date
    ends_on: date
    closes_on: date | None
    issuing_body: str = "UBND tỉnh Cao Bằng"
    aggregate: EmulationMovement | None = None

    @property
    def id(self) -> UUID:
        return EmulationMovement.id_for(self.plan_number, self.issued_on, self.issuing_body)


def movement_plans(last_day: date) -> list[MovementPlan]:
    """Yearly and thematic movements of the province, 2024 to the reference year."""
    plans: list[MovementPlan] = []
    for year in range(2024, last_day.year + 1):
        closes = date(year + 1, 2, 14)
        plans.append(
            MovementPlan(
                f"{30 + year % 10}/KH-UBND",
                "Phong trào thi đua thực hiện thắng lợi nhiệm vụ phát triển kinh tế - xã hội, "
                f"bảo đảm quốc phòng, an ninh năm {year}",
                date(year, 1, 3),
                date(year, 1, 1),
                date(year, 12, 31),
                closes if closes < last_day else None,
            )
        )
        plans.append(
            MovementPlan(
                f"{400 + year % 10}/KH-UBND",
                f"Phong trào thi đua «Cao Bằng chung tay vì người nghèo - Không để ai bị bỏ lại "
                f"phía sau» năm {year}",
                date(year, 3, 4),
                date(year, 3, 4),
                date(year, 12, 31),
                closes if closes < last_day else None,
            )
        )
        plans.append(
            MovementPlan(
                f"{1200 + year % 10}/KH-UBND",
                f"Phong trào thi đua «Chuyển đổi số, cải cách hành chính» năm {year}",
                date(year, 5, 6),
                date(year, 5, 6),
                date(year, 12, 31),
                closes if closes < last_day else None,
            )
        )
    return plans


class Story:
    """One dossier: its content, and a generator of its steps that waits on batches."""

    def __init__(self, group: Group, index: int, day: int) -> None:
        gen = group.gen
        rng = gen.rng
        self.group = group
        self.gen = gen
        self.rng = rng
        self.index = index
        self.id = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.cursor = Cursor(rng, day)
        code = gen.pick_award()
        self.award_code = code
        self.rule: AwardRule = gen.rulebooks.in_force(gen.workdays.days[day]).rule(code)
        self.unit = gen.pick_unit()
        collective_share = gen.collective_share[code]
        self.kind = Subject.COLLECTIVE if rng.random() < collective_share else Subject.INDIVIDUAL
        self.dossier: Dossier | None = None
        self.comments: list[tuple[str, CommentKind]] = []
        self.appraiser = APPRAISERS[rng.randrange(len(APPRAISERS))]
        self.batch_index = 0
        self._content(day)

    # content --------------------------------------------------------------------------------

    def _content(self, day: int) -> None:
        rng, unit, gen = self.rng, self.unit, self.gen
        year = gen.workdays.days[day].year
        orgs = _ORGS[unit.kind]
        org = orgs[rng.randrange(len(orgs))]
        self.personal: PersonalDetails | None = None
        self.prior_titles: list[PriorTitle] = []
        if self.kind is Subject.COLLECTIVE:
            base = org if unit.kind in ("giao_duc", "y_te", "bien_phong") else f"{org}, {unit.name}"
            name = base
            number = 1
            while (self.group.movement.id, self.award_code, name.lower()) in gen.collectives:
                number += 1
                name = f"{base} (tập thể {number})"
            gen.collectives.add((self.group.movement.id, self.award_code, name.lower()))
            self.nominee = Nominee(Subject.COLLECTIVE, name, _COLLECTIVE_KIND[unit.kind])
        else:
            female = rng.random() < 0.45
            if rng.random() < RARE_SHARE:
                surname = RARE_SURNAME
            else:
                surname = gen.surnames[rng.randrange(len(gen.surnames))]
            middle = (_MIDDLE_F if female else _MIDDLE_M)[rng.randrange(10)]
            givens = _GIVEN_F if female else _GIVEN_M
            name = f"{surname} {middle} {givens[rng.randrange(len(givens))]}"
            positions = _POSITIONS[unit.kind]
            position = f"{positions[rng.randrange(len(positions))]}, {org}"
            born = date(rng.randint(1966, 1996), rng.randint(1, 12), rng.randint(1, 28))
            identity = f"004{1 if female else 0}{born.year % 100:02d}{self.gen.next_identity():06d}"
            phone = f"{_PHONE_PREFIXES[rng.randrange(10)]}{rng.randint(1, 9)} {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
            self.personal = PersonalDetails(
                identity_number=identity,
                date_of_birth=born,
                phone=phone,
                email=f"canbo{identity[-6:]}@caobang.gov.vn",
                address=f"Tổ {rng.randint(1, 15)}, phường Thục Phán, {PROVINCE}",
            )
            self.nominee = Nominee(Subject.INDIVIDUAL, name, position[:300])
            need = self.rule.prerequisite
            if need is not None:
                self.prior_titles = [
                    PriorTitle(
                        need.title_code,
                        year - 1 - t * need.term_years,
                        f"{rng.randint(20, 900)}/QĐ-UBND",
                    )
                    for t in range(need.consecutive_times)
                ]
            elif rng.random() < 0.5:
                self.prior_titles = [
                    PriorTitle("chien_si_thi_dua_co_so", year - 1, f"{rng.randint(20, 900)}/QĐ-SNV")
                ]
        template = _ACHIEVEMENTS[rng.randrange(len(_ACHIEVEMENTS))]
        self.achievements = template.format(
            y=rng.randint(3, 12),
            n=rng.randint(5, 160),
            k=rng.randint(2, 25),
            p=rng.randint(85, 99),
            idea=_IDEAS[rng.randrange(len(_IDEAS))],
            move=_MOVES[rng.randrange(len(_MOVES))],
        )
        count = 2 + (rng.random() < 0.7) + (self.rule.is_state_level and rng.random() < 0.6)
        self.documents = [
            DocumentRef(name, f"{rng.getrandbits(256):064x}", rng.randint(40_000, 900_000))
            for name in _DOC_NAMES[:count]
        ]

    @property
    def slot_id(self) -> UUID:
        identity = self.personal.identity_number if self.personal else None
        key = nominee_key(self.nominee.kind, self.nominee.name, identity, self.unit.name)
        return NominationSlot.id_for(self.group.movement.id, self.award_code, key)

    # steps ----------------------------------------------------------------------------------

    def step(self, command: Callable[[datetime], Sequence[Aggregate]]) -> None:
        self.group.add(self.cursor.key, command)

    def act(self, command: Callable[..., Sequence[Aggregate] | None], *args: Any) -> None:
        """As ``Dossiers._act``: run ``command(dossier, at, *args)``, free the slot if the
        dossier ended without an award, and hand back everything it changed (one transaction
        in the application)."""

        def run(at: datetime) -> Sequence[Aggregate]:
            dossier = self.dossier
            assert dossier is not None
            was_open = dossier.status.is_open
            others = list(command(dossier, at, *args) or [])
            if was_open and dossier.status in ENDED_WITHOUT_AWARD:
                slot = self.gen.registers.slots.get(self.slot_id)
                if slot is not None:
                    slot.free(dossier.id, at)
                    others.append(slot)
            return [dossier, *others]

        self.step(run)

    def story(self) -> Generator[Batch, Batch, None]:
        """The dossier's flow; yields the batch it waits for (the planner sends it back dated)."""
        rng, c, rule, group = self.rng, self.cursor, self.rule, self.group
        chance = rng.random
        self.step(self.submit)
        if chance() < 0.07:
            c.later(3, 6)
            self.act(self.return_for_supplement)
            if chance() < 0.15:
                c.later(2, 6)
                self.act(self.withdraw)
                return
            c.later(2, 5)
            self.act(self.supplement)
        if chance() < 0.02:
            c.later(2, 8)
            self.act(self.withdraw)
            return
        objection = False
        if rule.public_comment:
            c.later(1, 3)
            opened = c.day
            closes = opened + rule.comment_days + rng.randint(0, 2)
            self.act(self.open_public_comment, self.gen.workdays.days[closes])
            kinds = [CommentKind.SUPPORT] * rng.choice((0, 0, 1, 1, 1, 2, 3))
            if chance() < 0.12:
                kinds.append(CommentKind.INFORMATION)
            if chance() < 0.04:
                kinds.append(CommentKind.OBJECTION)
                objection = True
            days = sorted(rng.randint(opened, closes) for _ in kinds)
            for number, (kind, day) in enumerate(zip(kinds, days, strict=True), start=1):
                c.on(day)
                if c.day > closes:  # the window ends with its closing day
                    break
                self.comment(f"yk-{self.index}-{number}", kind)
            if chance() < 0.02:
                c.later(0, 2)
                if c.day <= closes:
                    self.act(self.withdraw)
                    return
            c.on(max(c.day, closes + rng.randint(1, 2)))
            self.act(self.close_public_comment)
            if objection and chance() < 0.4:
                c.later(1, 3)
                self.act(self.hold, HoldKind.COMPLAINT)
                c.later(5, 10)
                self.act(self.lift_hold)
            c.later(2, 6)
        else:
            if chance() < 0.02:
                c.later(1, 3)
                self.act(self.hold, HoldKind.INSPECTION)
                c.later(5, 10)
                self.act(self.lift_hold)
            c.later(3, 9)
        qualified = chance() > (0.5 if objection else 0.04)
        self.act(self.appraise, qualified)
        if not qualified:
            return
        if rule.council_required:
            session = yield group.council_state if rule.is_state_level else group.council
            if not self.council(session, passes=chance() > 0.08):
                return
        if rule.party_opinion:
            c.later(3, 7)
            self.act(self.party_opinion)
        if rule.is_state_level:
            batch = yield group.upward
            c.on(batch.day)
            self.act(self.forward, *self.numbered(batch))
            president = rule.decider.value == "president"
            batch = yield group.central_president if president else group.central_pm
            c.on(batch.day + rng.randint(3, 8))
            declined = chance() < 0.05
            self.act(self.central, *self.numbered(batch), declined)
            return
        if chance() < 0.03:
            c.later(3, 7)
            self.act(self.reject)
            return
        batch = yield group.decision
        c.on(batch.day)
        self.act(self.approve, *self.numbered(batch))
        if chance() < 0.004:
            batch = yield group.revocation
            c.on(batch.day)
            self.act(self.revoke, batch.numbers[0], self.gen.workdays.days[batch.day])

    def numbered(self, batch: Batch) -> tuple[str, date]:
        """This dossier's number in a batch (one per fifty dossiers) and the batch's date."""
        return batch.numbers[self.batch_index // DECISION_CHUNK], self.gen.workdays.days[batch.day]

    # commands (as the Dossiers use cases call them) -----------------------------------------

    def submit(self, at: datetime) -> Sequence[Aggregate]:
        gen = self.gen
        movement = self.group.movement.aggregate
        assert movement is not None
        book = gen.rulebooks.in_force(local_date(at))
        dossier = Dossier.submit(
            dossier_id=self.id,
            movement=movement,
            rulebook_edition=book.edition,
            award=book.rule(self.award_code),
            submitting_unit=self.unit.name,
            nominee=self.nominee,
            personal=self.personal,
            achievements=self.achievements,
            documents=self.documents,
            prior_titles=self.prior_titles,
            by=self.unit.submitter,
            at=at,
        )
        self.dossier = dossier
        gen.submitted += 1
        return [dossier, gen.registers.take_slot(self.slot_id, dossier.id, at)]

    def return_for_supplement(self, d: Dossier, at: datetime) -> None:
        d.return_for_supplement(
            missing=["Biên bản họp Hội đồng Thi đua - Khen thưởng của đơn vị có đủ chữ ký"],
            note="Đề nghị đơn vị bổ sung trong thời hạn 10 ngày làm việc.",
            by=self.appraiser,
            at=at,
        )

    def supplement(self, d: Dossier, at: datetime) -> None:
        digest = f"{self.rng.getrandbits(256):064x}"
        d.supplement(
            documents=[DocumentRef("Biên bản họp (bổ sung).pdf", digest, 120_000)],
            note="Đơn vị đã bổ sung biên bản họp.",
            by=self.unit.submitter,
            at=at,
        )

    def withdraw(self, d: Dossier, at: datetime) -> None:
        d.withdraw(
            reason="Đơn vị rút hồ sơ để hoàn thiện, trình vào đợt sau.",
            by=self.unit.submitter,
            at=at,
        )

    def open_public_comment(self, d: Dossier, at: datetime, closes_on: date) -> None:
        d.open_public_comment(
            closes_on=closes_on, by=self.appraiser, at=at, calendar=self.gen.calendar
        )

    def close_public_comment(self, d: Dossier, at: datetime) -> None:
        d.close_public_comment(by=self.appraiser, at=at)

    def hold(self, d: Dossier, at: datetime, kind: HoldKind) -> None:
        reason = (
            "Nhận đơn phản ánh của công dân; tạm dừng xét để xác minh."
            if kind is HoldKind.COMPLAINT
            else "Thanh tra tỉnh đang thanh tra tại đơn vị; tạm dừng xét đến khi có kết luận."
        )
        d.hold(kind=kind, reason=reason, by=self.appraiser, at=at)

    def lift_hold(self, d: Dossier, at: datetime) -> None:
        d.lift_hold(
            outcome="Kết luận xác minh: không có vi phạm; tiếp tục xét.", by=self.appraiser, at=at
        )

    def comment(self, comment_id: str, kind: CommentKind) -> None:
        rng, surnames = self.rng, self.gen.surnames
        if kind is CommentKind.SUPPORT:
            text = _SUPPORT[rng.randrange(len(_SUPPORT))]
        else:
            text = _INFORMATION if kind is CommentKind.INFORMATION else _OBJECTION
        author: str | None = None
        contact: str | None = None
        if kind is CommentKind.OBJECTION or rng.random() < 0.6:
            given = _GIVEN_M[rng.randrange(len(_GIVEN_M))]
            author = f"{surnames[rng.randrange(len(surnames))]} Văn {given}"
            if rng.random() < 0.5:
                contact = (
                    f"091{rng.randint(1, 9)} {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
                )
        by = PORTAL if rng.random() < 0.85 else self.appraiser
        self.comments.append((comment_id, kind))
        self.act(self.receive_comment, comment_id, kind, text, author, contact, by)

    def receive_comment(
        self,
        d: Dossier,
        at: datetime,
        comment_id: str,
        kind: CommentKind,
        text: str,
        author: str | None,
        contact: str | None,
        by: Actor,
    ) -> None:
        d.receive_comment(
            comment_id=comment_id,
            kind=kind,
            text=text,
            author_name=author,
            contact=contact,
            by=by,
            at=at,
        )

    def appraise(self, d: Dossier, at: datetime, qualified: bool) -> None:
        answers = {
            key: CommentAnswer(
                Disposition.NOTED if kind is CommentKind.SUPPORT else Disposition.ACCEPTED,
                "Đã tiếp thu, xác minh và giải trình trong báo cáo thẩm định.",
            )
            for key, kind in self.comments
        }
        opinion = (
            f"Hồ sơ đầy đủ thành phần; thành tích đạt tiêu chuẩn «{self.rule.name}»."
            if qualified
            else "Thành tích trùng với thành tích đã được khen thưởng; không đủ điều kiện."
        )
        d.appraise(qualified=qualified, opinion=opinion, answers=answers, by=self.appraiser, at=at)

    def council(self, session: Batch, *, passes: bool) -> bool:
        """Open the review on the session's day, vote three working days later, conclude."""
        rng, c, rule = self.rng, self.cursor, self.rule
        meeting = session.day + 3
        c.on(session.day)
        self.act(self.open_council_review, self.gen.workdays.days[meeting])
        needed = max(1, math.ceil(rule.threshold * len(COUNCIL)))
        conflicted = COUNCIL[rng.randrange(len(COUNCIL))] if rng.random() < 0.08 else None
        voters = [m for m in COUNCIL if m is not conflicted]
        if rng.random() < 0.3 and len(voters) - 1 >= needed:
            voters.pop(rng.randrange(len(voters)))  # one member absent
        if passes and len(voters) < needed:
            passes = False
        if passes:
            yes = rng.randint(needed, len(voters))
        else:
            yes = rng.randint(max(0, needed - 4), needed - 1)
        votes = [Vote.YES] * yes + [
            Vote.NO if rng.random() < 0.6 else Vote.ABSTAIN for _ in range(len(voters) - yes)
        ]
        rng.shuffle(votes)
        c.on(meeting, morning=True)
        if conflicted is not None:
            self.act(self.declare_conflict, conflicted)
            c.soon()
        for member, vote in zip(voters, votes, strict=True):
            self.act(self.cast_ballot, member, vote)
            c.soon(5, 40)
        present = [m.user_id for m in voters] + ([conflicted.user_id] if conflicted else [])
        self.act(self.conclude_council_review, present)
        return passes

    def open_council_review(self, d: Dossier, at: datetime, meeting_on: date) -> None:
        members = [m.user_id for m in COUNCIL]
        d.open_council_review(members=members, meeting_on=meeting_on, by=SECRETARY, at=at)

    def declare_conflict(self, d: Dossier, at: datetime, member: Actor) -> None:
        d.declare_conflict_of_interest(
            reason="Thành viên là thủ trưởng trực tiếp của đơn vị được đề nghị.", by=member, at=at
        )

    def cast_ballot(self, d: Dossier, at: datetime, member: Actor, vote: Vote) -> None:
        d.cast_ballot(vote=vote, by=member, at=at)

    def conclude_council_review(self, d: Dossier, at: datetime, present: list[str]) -> None:
        d.conclude_council_review(present=present, by=SECRETARY, at=at)

    def party_opinion(self, d: Dossier, at: datetime) -> None:
        signed = local_date(at)
        d.record_party_opinion(
            document_number=self.gen.numbers.take("CV/TU", signed),
            document_date=signed,
            favourable=True,
            summary=f"Ban Thường vụ Tỉnh ủy thống nhất đề nghị «{self.rule.name}».",
            by=self.appraiser,
            at=at,
        )

    def reject(self, d: Dossier, at: datetime) -> None:
        signed = local_date(at)
        d.reject(
            reason="Thành tích trùng với thành tích đã được khen thưởng trong cùng giai đoạn.",
            notice_number=self.gen.numbers.take("TB-UBND", signed),
            notice_date=signed,
            by=CHAIRMAN,
            at=at,
        )

    def approve(self, d: Dossier, at: datetime, number: str, signed: date) -> list[Aggregate]:
        d.approve(decision_number=number, decision_date=signed, by=CHAIRMAN, at=at)
        cite = self.gen.registers.cite
        return [cite(d.decision_number, signed, DocumentKind.AWARD_DECISION, d.id, at)]

    def forward(self, d: Dossier, at: datetime, number: str, signed: date) -> list[Aggregate]:
        d.forward_upward(submission_number=number, submission_date=signed, by=CHAIRMAN, at=at)
        cite = self.gen.registers.cite
        return [cite(d.submission_number, signed, DocumentKind.SUBMISSION, d.id, at)]

    def central(
        self, d: Dossier, at: datetime, number: str, signed: date, declined: bool
    ) -> list[Aggregate]:
        d.record_central_decision(
            outcome=CentralOutcome.DECLINED if declined else CentralOutcome.CONFERRED,
            decision_number=number,
            decision_date=signed,
            note="Quyết định của cấp trên đã về tỉnh.",
            by=self.appraiser,
            at=at,
        )
        cite = self.gen.registers.cite
        return [cite(d.central_decision_number, signed, DocumentKind.CENTRAL_DECISION, d.id, at)]

    def revoke(self, d: Dossier, at: datetime, number: str, signed: date) -> list[Aggregate]:
        d.revoke(
            grounds=Grounds.FALSE_DOCUMENTS,
            explanation="Kết luận thanh tra xác định báo cáo thành tích không trung thực.",
            decision_number=number,
            decision_date=signed,
            by=CHAIRMAN,
            at=at,
        )
        cite = self.gen.registers.cite
        return [cite(d.revocation_number, signed, DocumentKind.REVOCATION, d.id, at)]


class Group:
    """A campaign: ``size`` dossiers under one movement, submitted over two weeks."""

    def __init__(self, gen: Province, number: int, start: int, size: int) -> None:
        self.gen = gen
        self.number = number
        self.start = start
        self.size = size
        day = gen.workdays.days[start]
        candidates = [
            m for m in gen.movements if m.issued_on < day and (m.closes_on is None or m.closes_on > day + timedelta(days=40))
        ]  # fmt: skip
        self.movement = candidates[gen.rng.randrange(len(candidates))]
        self.steps: list[Step] = []
        self.council = Batch("council", 1)
        self.council_state = Batch("council-state", 1)
        self.decision = Batch("decision", 2, number_kind="QĐ-UBND")
        self.upward = Batch("upward", 2, number_kind="TTr-UBND")
        self.central_pm = Batch("central-pm", 3, gap=(20, 45), number_kind="QĐ-TTg")
        self.central_president = Batch("central-president", 3, gap=(30, 60), number_kind="QĐ-CTN")  # fmt: skip
        self.revocation = Batch("revocation", 4, gap=(60, 160), number_kind="QĐ-UBND")
        self.batches = (
            self.council, self.council_state, self.decision, self.upward, self.central_pm,
            self.central_president, self.revocation,
        )  # fmt: skip

    def add(self, key: int, command: Callable[[datetime], Sequence[Aggregate]]) -> None:
        self.steps.append((key, len(self.steps), command))

    def plan(self) -> list[Step]:
        rng = self.gen.rng
        stories: list[tuple[Story, Generator[Batch, Batch, None]]] = []
        for _ in range(self.size):
            story = Story(self, self.gen.next_dossier(), self.start + rng.randrange(10))
            stories.append((story, story.story()))
            if story.index % self.gen.sample_every == 0:
                self.gen.sampled.append(story)
        waiting: dict[int, Generator[Batch, Batch, None]] = {}
        for story, flow in stories:
            self._advance(story, flow, None, waiting)
        while True:
            pending = [b for b in self.batches if b.waiting]
            if not pending:
                break
            batch = min(pending, key=lambda b: b.order)
            self._resolve(batch)
            members, batch.waiting = batch.waiting, []
            for position, story in enumerate(members):
                story.batch_index = position
                self._advance(story, waiting.pop(id(story)), batch, waiting)
        cutoff = self.gen.cutoff
        steps = [step for step in self.steps if step[0] < cutoff]
        steps.sort(key=lambda step: (step[0], step[1]))
        self.steps = []
        return steps

    def _advance(
        self,
        story: Story,
        flow: Generator[Batch, Batch, None],
        value: Batch | None,
        waiting: dict[int, Generator[Batch, Batch, None]],
    ) -> None:
        try:
            batch = flow.send(value) if value is not None else next(flow)
        except StopIteration:
            return
        batch.waiting.append(story)
        batch.ready = max(batch.ready, story.cursor.key)
        waiting[id(story)] = flow

    def _resolve(self, batch: Batch) -> None:
        rng = self.gen.rng
        batch.day = batch.ready // DAY + rng.randint(*batch.gap)
        if batch.number_kind is not None:
            signed = self.gen.workdays.days[batch.day]
            count = max(1, math.ceil(len(batch.waiting) / DECISION_CHUNK))
            batch.numbers = [self.gen.numbers.take(batch.number_kind, signed) for _ in range(count)]


# --- the generator ----------------------------------------------------------------------------


@dataclass
class Generated:
    dossiers: int
    movements: int
    events: int
    seconds: float
    by_kind: Counter[str]
    samples: dict[UUID, tuple[int, str]]
    """Some dossiers' final (version, status), to check that they replay."""
    first_day: date
    last_day: date


class Province:
    """Plans the campaigns, runs their steps in time order and streams the stored events."""

    def __init__(
        self,
        store: Store,
        calendar: WorkCalendar,
        rulebooks: RulebookHistory,
        *,
        dossiers: int,
        group_size: int,
        seed: int,
        last_day: date,
        sample_every: int = 500,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.rulebooks = rulebooks
        self.rng = random.Random(seed)  # benchmark data, not security
        self.dossiers = dossiers
        self.group_size = group_size
        self.workdays = WorkDays(calendar, FIRST_DAY - timedelta(days=14), 2_000)
        self.cutoff = self.workdays.on_or_after(last_day) * DAY
        self.last_day = last_day
        self.movements = movement_plans(last_day)
        self.registers = Registers()
        self.numbers = Numbers()
        self.collectives: set[tuple[UUID, str, str]] = set()
        self.surnames = [name for name, weight in _SURNAMES for _ in range(weight)]
        self._units = [unit for unit in UNITS for _ in range(unit.weight)]
        self._awards = [code for code, weight, _ in AWARD_MIX for _ in range(weight)]
        self.collective_share = {code: share for code, _, share in AWARD_MIX}
        self.submitted = 0
        self.sample_every = sample_every
        self.sampled: list[Story] = []
        self._identity = 0
        self._dossier = 0

    def next_identity(self) -> int:
        self._identity += 1
        return self._identity

    def next_dossier(self) -> int:
        self._dossier += 1
        return self._dossier

    def pick_award(self) -> str:
        return self._awards[self.rng.randrange(len(self._awards))]

    def pick_unit(self) -> Unit:
        return self._units[self.rng.randrange(len(self._units))]

    def _movement_steps(self) -> list[Step]:
        steps: list[Step] = []
        for plan in self.movements:
            issued = self.workdays.on_or_after(plan.issued_on) * DAY + 8 * 3600
            if issued >= self.cutoff:
                continue
            steps.append((issued, len(steps), self._launch(plan)))
            if plan.closes_on is not None:
                closed = self.workdays.on_or_after(plan.closes_on) * DAY + 15 * 3600
                if closed < self.cutoff:
                    steps.append((closed, len(steps), self._close(plan)))
        steps.sort(key=lambda step: (step[0], step[1]))
        return steps

    def _launch(self, plan: MovementPlan) -> Callable[[datetime], Sequence[Aggregate]]:
        def run(at: datetime) -> Sequence[Aggregate]:
            plan.aggregate = EmulationMovement.launch(
                plan_number=plan.plan_number,
                title=plan.title,
                issuing_body=plan.issuing_body,
                issued_on=plan.issued_on,
                starts_on=plan.starts_on,
                ends_on=plan.ends_on,
                by=RECORDER,
                at=at,
            )
            return [plan.aggregate]

        return run

    def _close(self, plan: MovementPlan) -> Callable[[datetime], Sequence[Aggregate]]:
        def run(at: datetime) -> Sequence[Aggregate]:
            assert plan.aggregate is not None
            plan.aggregate.close(reason="Đã tổng kết phong trào.", by=RECORDER, at=at)
            return [plan.aggregate]

        return run

    def steps(self) -> Generator[tuple[int, Callable[[datetime], Sequence[Aggregate]]], None, None]:
        """All steps of all campaigns, in time order; a campaign is planned when its turn comes."""
        groups = max(1, math.ceil(self.dossiers / self.group_size))
        first = self.workdays.on_or_after(FIRST_DAY)
        last = self.cutoff // DAY - 11  # the last campaign's submissions all come in
        starts = [first + (last - first) * g // max(1, groups - 1) for g in range(groups)]
        if groups == 1:
            starts = [max(first, last - 40)]
        sizes = [self.group_size] * groups
        sizes[-1] = self.dossiers - self.group_size * (groups - 1)
        heap: list[tuple[int, int, int, int]] = []
        streams: dict[int, list[Step]] = {0: self._movement_steps()}
        heap.append((streams[0][0][0], 0, 0, 0))
        pending = 0
        counter = 1
        while heap or pending < groups:
            top = heap[0][0] if heap else 1 << 62
            while pending < groups and starts[pending] * DAY <= top:
                group = Group(self, pending, starts[pending], sizes[pending])
                planned = group.plan()
                pending += 1
                if planned:
                    streams[counter] = planned
                    heapq.heappush(heap, (planned[0][0], counter, 0, counter))
                    counter += 1
                top = heap[0][0]
            key, _, position, stream = heapq.heappop(heap)
            steps = streams[stream]
            yield key, steps[position][2]
            if position + 1 < len(steps):
                heapq.heappush(heap, (steps[position + 1][0], stream, position + 1, stream))
            else:
                del streams[stream]


def _copy_worker(
    conninfo: str,
    table: str,
    batches: queue.Queue[list[tuple[Any, ...]] | None],
    errors: list[BaseException],
) -> None:
    try:
        with psycopg.connect(conninfo) as conn:
            while True:
                rows = batches.get()
                if rows is None:
                    return
                with conn.cursor() as cursor:
                    statement = f"COPY {table} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"  # fmt: skip
                    with cursor.copy(statement) as copy:
                        copy.set_types(["uuid", "int8", "text", "bytea"])
                        for row in rows:
                            copy.write_row(row)
                conn.commit()
    except BaseException as error:  # reported by the generating thread
        errors.append(error)
        while batches.get() is not None:  # let the producer finish
            pass


def generate(
    store: Store,
    calendar: WorkCalendar,
    rulebooks: RulebookHistory,
    conninfo: str,
    *,
    dossiers: int,
    group_size: int = 1_000,
    seed: int = 20_240_108,
    last_day: date,
    progress: Callable[[str], None] = print,
    sample_every: int = 500,
) -> Generated:
    """Write ``dossiers`` dossiers' events (and their movements and registers) into the store."""
    started = time.perf_counter()
    gen = Province(
        store,
        calendar,
        rulebooks,
        dossiers=dossiers,
        group_size=group_size,
        seed=seed,
        last_day=last_day,
        sample_every=sample_every,
    )
    recorder: Any = store.recorder
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    to_stored = store.mapper.to_stored_event
    batches: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(maxsize=4)
    errors: list[BaseException] = []
    writer = threading.Thread(
        target=_copy_worker, args=(conninfo, table, batches, errors), daemon=True
    )
    writer.start()
    rows: list[tuple[Any, ...]] = []
    by_kind: Counter[str] = Counter()
    events = 0
    moment = gen.workdays.moment
    next_report = time.perf_counter() + 10
    try:
        for key, command in gen.steps():
            for aggregate in command(moment(key)):
                for event in aggregate.collect_events():
                    stored = to_stored(event)
                    rows.append(
                        (
                            stored.originator_id,
                            stored.originator_version,
                            stored.topic,
                            stored.state,
                        )
                    )
                    by_kind[type(aggregate).__name__] += 1
            if len(rows) >= 20_000:
                events += len(rows)
                batches.put(rows)
                rows = []
                if errors:
                    raise RuntimeError("COPY failed") from errors[0]
                if time.perf_counter() > next_report:
                    next_report = time.perf_counter() + 10
                    progress(
                        f"  generating: {events:,} events, {gen._dossier:,}/{dossiers:,} dossiers "
                        f"planned, {time.perf_counter() - started:.0f} s"
                    )
        events += len(rows)
        if rows:
            batches.put(rows)
    finally:
        batches.put(None)
        writer.join()
    if errors:
        raise RuntimeError("COPY failed") from errors[0]
    samples = {
        story.id: (story.dossier.version, story.dossier.status.value)
        for story in gen.sampled
        if story.dossier is not None
    }
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"ANALYZE {table}")
    return Generated(
        dossiers=gen.submitted,
        movements=sum(1 for m in gen.movements if m.aggregate is not None),
        events=events,
        seconds=time.perf_counter() - started,
        by_kind=by_kind,
        samples=samples,
        first_day=FIRST_DAY,
        last_day=last_day,
    )
