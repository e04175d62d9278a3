"""The award rulebook: the shipped editions, a deployment's own files, and clear errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain.errors import NoRulebookInForce, RulebookError
from domain.rulebook import Decider, Level, RulebookHistory, Subject, default_rulebooks
from infrastructure.rulebook_files import build_rulebook_history, load_rulebook_file

CATALOGUE = {
    "bang_khen_chu_tich_tinh",
    "chien_si_thi_dua_tinh",
    "co_thi_dua_ubnd_tinh",
    "tap_the_lao_dong_xuat_sac",
    "chien_si_thi_dua_toan_quoc",
    "bang_khen_thu_tuong",
    "co_thi_dua_chinh_phu",
    "huan_chuong_lao_dong_hang_nhat",
    "huan_chuong_lao_dong_hang_nhi",
    "huan_chuong_lao_dong_hang_ba",
    "huan_chuong_doc_lap_hang_nhat",
    "huan_chuong_doc_lap_hang_nhi",
    "huan_chuong_doc_lap_hang_ba",
    "anh_hung_lao_dong",
}


# --- writing deployment files in either format ---------------------------------------------


def _provincial_award(**changes: Any) -> dict[str, Any]:
    award: dict[str, Any] = {
        "code": "bang_khen_chu_tich_tinh",
        "name": "Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh",
        "subject": "any",
        "level": "provincial",
        "decider": "provincial_chairman",
        "public_comment": False,
        "council_required": True,
        "quorum": 0.75,
        "threshold": 0.75,
        "appraisal_days": 15,
    }
    award.update(changes)
    return award


def _state_award(**changes: Any) -> dict[str, Any]:
    award: dict[str, Any] = {
        "code": "bang_khen_thu_tuong",
        "name": "Bằng khen của Thủ tướng Chính phủ",
        "subject": "any",
        "level": "state",
        "decider": "prime_minister",
        "public_comment": True,
        "comment_days": 10,
        "council_required": True,
        "quorum": 0.8,
        "threshold": 0.8,
        "appraisal_days": 20,
        "party_opinion": True,
    }
    award.update(changes)
    return award


def _edition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "edition": "BN-2026",
        "title": "Quy định khen thưởng của tỉnh Bắc Ninh 2026",
        "effective_from": date(2026, 1, 1),
        "awards": [_provincial_award(), _state_award()],
    }
    data.update(changes)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | date):
        return value.isoformat() if isinstance(value, date) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def _to_toml(data: dict[str, Any]) -> str:
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if key != "awards"]
    for award in data.get("awards", []):
        lines += ["", "[[awards]]"] + [f"{k} = {_toml_value(v)}" for k, v in award.items()]
    return "\n".join(lines) + "\n"


def _write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    path = folder / name
    if path.suffix == ".toml":
        path.write_text(_to_toml(data), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


FORMATS = ["tinh.toml", "tinh.yaml", "tinh.yml"]


# --- the shipped editions -------------------------------------------------------------------


def test_default_history_has_both_editions_with_the_whole_catalogue() -> None:
    history = default_rulebooks()
    assert [book.edition for book in history.editions] == ["ND98-2023", "ND152-2025"]
    for book in history.editions:
        assert len(book.awards) >= 14
        assert set(book.awards) >= CATALOGUE


def test_state_level_awards_are_published_for_public_comment_in_every_edition() -> None:
    for book in default_rulebooks().editions:
        for rule in book.awards.values():
            if rule.is_state_level:
                assert rule.public_comment
                assert rule.comment_days >= 1
                assert rule.decider is not Decider.PROVINCIAL_CHAIRMAN


@pytest.mark.parametrize(
    ("on", "edition"),
    [
        (date(2024, 1, 1), "ND98-2023"),
        (date(2025, 6, 30), "ND98-2023"),
        (date(2025, 7, 1), "ND152-2025"),
        (date(2030, 1, 1), "ND152-2025"),
    ],
)
def test_edition_in_force_is_chosen_by_date(on: date, edition: str) -> None:
    assert default_rulebooks().in_force(on).edition == edition


def test_no_edition_is_in_force_before_the_2022_law_took_effect() -> None:
    with pytest.raises(NoRulebookInForce, match="31/12/2023"):
        default_rulebooks().in_force(date(2023, 12, 31))


# --- a deployment's own files ---------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_a_deployment_file_loads(tmp_path: Path, name: str) -> None:
    book = load_rulebook_file(_write(tmp_path, name, _edition()))
    assert book.edition == "BN-2026"
    assert book.effective_from == date(2026, 1, 1)
    rule = book.rule("bang_khen_chu_tich_tinh")
    assert rule.level is Level.PROVINCIAL
    assert rule.subject is Subject.ANY
    assert str(rule.quorum) == "0.75"
    assert book.rule("bang_khen_thu_tuong").party_opinion


@pytest.mark.parametrize("name", FORMATS)
def test_a_quoted_effective_date_loads_too(tmp_path: Path, name: str) -> None:
    book = load_rulebook_file(_write(tmp_path, name, _edition(effective_from="2026-01-01")))
    assert book.effective_from == date(2026, 1, 1)


def test_a_yaml_file_written_by_hand_loads(tmp_path: Path) -> None:
    path = tmp_path / "tinh.YAML"
    path.write_text(
        """\
edition: BN-2026
title: Quy định khen thưởng của tỉnh Bắc Ninh 2026
effective_from: 2026-01-01
awards:
  - code: chien_si_thi_dua_tinh
    name: Chiến sĩ thi đua cấp tỉnh
    subject: individual
    level: provincial
    decider: provincial_chairman
    public_comment: false
    council_required: true
    quorum: 0.8
    threshold: 0.9
    appraisal_days: 20
    prerequisite:
      title_code: chien_si_thi_dua_co_so
      title_name: Chiến sĩ thi đua cơ sở
      consecutive_times: 3
""",
        encoding="utf-8",
    )
    rule = load_rulebook_file(path).rule("chien_si_thi_dua_tinh")
    assert rule.prerequisite is not None
    assert rule.prerequisite.consecutive_times == 3


BAD_EDITIONS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "unknown key",
        _edition(awards=[_provincial_award(colour="red")]),
        ["awards[0] (bang_khen_chu_tich_tinh).colour", "khóa không được hỗ trợ"],
    ),
    ("unknown top-level key", _edition(province="Bắc Ninh"), ["province: khóa không được hỗ trợ"]),
    (
        "missing key",
        _edition(awards=[{k: v for k, v in _provincial_award().items() if k != "threshold"}]),
        ["awards[0] (bang_khen_chu_tich_tinh).threshold: thiếu"],
    ),
    ("missing edition", {k: v for k, v in _edition().items() if k != "edition"}, ["edition"]),
    (
        "bad enum value",
        _edition(awards=[_provincial_award(level="national")]),
        ["awards[0] (bang_khen_chu_tich_tinh).level", "«national»"],
    ),
    (
        "share above 1",
        _edition(awards=[_provincial_award(quorum=1.5)]),
        ["awards[0] (bang_khen_chu_tich_tinh).quorum", "từ 0 đến 1"],
    ),
    (
        "state-level award without public comment",
        _edition(awards=[_state_award(public_comment=False)]),
        ["awards[0] (bang_khen_thu_tuong).public_comment", "lấy ý kiến Nhân dân"],
    ),
    (
        "duplicate code",
        _edition(awards=[_provincial_award(), _provincial_award()]),
        ["awards[1] (bang_khen_chu_tich_tinh)", "«bang_khen_chu_tich_tinh» bị trùng"],
    ),
    (
        "bad date",
        _edition(effective_from="2026-02-30"),
        ["effective_from", "YYYY-MM-DD"],
    ),
    (
        "not a date at all",
        _edition(effective_from=20260101),
        ["effective_from"],
    ),
]


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize(
    ("data", "named"),
    [(data, named) for _, data, named in BAD_EDITIONS],
    ids=[kind for kind, _, _ in BAD_EDITIONS],
)
def test_a_bad_file_names_the_offending_key(
    tmp_path: Path, name: str, data: dict[str, Any], named: list[str]
) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(RulebookError) as caught:
        load_rulebook_file(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in named:
        assert fragment in message


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path) -> None:
    data = _edition(awards=[_provincial_award(quorum=2, level="national")], extra=1)
    with pytest.raises(RulebookError) as caught:
        load_rulebook_file(_write(tmp_path, "tinh.toml", data))
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("tinh.toml", "edition = 'BN-2026'\nawards = [\n", "không đọc được TOML"),
        ("tinh.toml", "edition = 'a'\nedition = 'b'\n", "không đọc được TOML"),
        ("tinh.yaml", "edition: BN-2026\nawards: [\n", "không đọc được YAML (dòng 3"),
        ("tinh.yaml", "edition: a\n  title: b\n", "không đọc được YAML (dòng 2"),
        ("tinh.yaml", "edition: a\nedition: b\n", "khóa «edition» bị lặp"),
        ("tinh.yaml", "a: 1\n---\nb: 2\n", "không đọc được YAML"),
    ],
)
def test_bad_syntax_is_a_rulebook_error_naming_the_place(
    tmp_path: Path, name: str, text: str, named: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError) as caught:
        load_rulebook_file(path)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)


def test_a_duplicated_yaml_key_inside_an_award_is_refused(tmp_path: Path) -> None:
    text = yaml.safe_dump(_edition(), allow_unicode=True, sort_keys=False)
    text = text.replace("  threshold: 0.75\n", "  threshold: 0.75\n  threshold: 0.5\n")
    path = tmp_path / "tinh.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="khóa «threshold» bị lặp"):
        load_rulebook_file(path)


@pytest.mark.parametrize(
    "effective_from",
    ["effective_from = 2026-01-01T00:00:00", "effective_from = 2026-01-01 08:00:00+07:00"],
)
def test_a_date_with_a_time_of_day_is_not_an_effective_date(
    tmp_path: Path, effective_from: str
) -> None:
    text = _to_toml(_edition()).replace("effective_from = 2026-01-01", effective_from)
    path = tmp_path / "tinh.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="effective_from"):
        load_rulebook_file(path)


def test_a_yaml_timestamp_is_not_an_effective_date(tmp_path: Path) -> None:
    text = yaml.safe_dump(_edition(), allow_unicode=True, sort_keys=False)
    text = text.replace("effective_from: 2026-01-01", "effective_from: 2026-01-01 08:00:00")
    path = tmp_path / "tinh.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="effective_from"):
        load_rulebook_file(path)


def test_an_empty_yaml_file_is_a_rulebook_error(tmp_path: Path) -> None:
    path = tmp_path / "tinh.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(RulebookError, match="phải là một bảng"):
        load_rulebook_file(path)


@pytest.mark.parametrize("name", ["tinh.json", "tinh.toml.bak", "tinh"])
def test_an_unknown_extension_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(_to_toml(_edition()), encoding="utf-8")
    with pytest.raises(RulebookError, match=r"phần mở rộng .* không được hỗ trợ") as caught:
        load_rulebook_file(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_a_rulebook_error(tmp_path: Path) -> None:
    path = tmp_path / "khong-co.toml"
    with pytest.raises(RulebookError, match="không tìm thấy tệp") as caught:
        load_rulebook_file(path)
    assert str(path) in str(caught.value)


def test_an_unreadable_file_is_a_rulebook_error(tmp_path: Path) -> None:
    folder = tmp_path / "thu-muc.toml"  # a directory cannot be read as a file
    folder.mkdir()
    with pytest.raises(RulebookError, match="không đọc được tệp"):
        load_rulebook_file(folder)


def test_a_file_that_is_not_utf8_is_a_rulebook_error(tmp_path: Path) -> None:
    path = tmp_path / "tinh.yaml"
    path.write_bytes(b"edition: \xff\xfe\n")
    with pytest.raises(RulebookError, match="UTF-8"):
        load_rulebook_file(path)


# --- combining shipped and deployment editions ----------------------------------------------


def test_history_without_files_is_the_shipped_one() -> None:
    history = build_rulebook_history([])
    assert [book.edition for book in history.editions] == ["ND98-2023", "ND152-2025"]


def test_a_deployment_edition_with_a_new_date_is_added(tmp_path: Path) -> None:
    path = _write(tmp_path, "tinh.yaml", _edition())
    history = build_rulebook_history([path])
    assert [book.edition for book in history.editions] == ["ND98-2023", "ND152-2025", "BN-2026"]
    assert history.in_force(date(2025, 12, 31)).edition == "ND152-2025"
    assert history.in_force(date(2026, 1, 1)).edition == "BN-2026"


def test_a_deployment_edition_with_a_shipped_date_replaces_the_shipped_one(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "tinh.toml", _edition(edition="BN-152", effective_from="2025-07-01"))
    history = build_rulebook_history([path])
    assert [book.edition for book in history.editions] == ["ND98-2023", "BN-152"]
    assert history.in_force(date(2025, 7, 1)).rule("bang_khen_chu_tich_tinh").appraisal_days == 15


def test_a_replacement_may_keep_the_shipped_edition_name(tmp_path: Path) -> None:
    data = _edition(edition="ND152-2025", effective_from=date(2025, 7, 1))
    history = build_rulebook_history([_write(tmp_path, "tinh.toml", data)])
    assert len(history.in_force(date(2025, 7, 1)).awards) == 2


def test_without_defaults_only_the_deployment_editions_count(tmp_path: Path) -> None:
    history = build_rulebook_history(
        [_write(tmp_path, "tinh.yml", _edition())], include_defaults=False
    )
    assert isinstance(history, RulebookHistory)
    assert [book.edition for book in history.editions] == ["BN-2026"]
    with pytest.raises(NoRulebookInForce):
        history.in_force(date(2025, 12, 31))


def test_without_defaults_or_files_there_is_no_history() -> None:
    with pytest.raises(RulebookError, match="cần ít nhất một bộ quy tắc"):
        build_rulebook_history([], include_defaults=False)


def test_two_deployment_files_with_the_same_date_are_refused(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.toml", _edition(edition="BN-A"))
    second = _write(tmp_path, "b.yaml", _edition(edition="BN-B"))
    with pytest.raises(RulebookError) as caught:
        build_rulebook_history([first, second])
    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)
    assert "01/01/2026" in str(caught.value)


def test_a_shipped_edition_name_cannot_be_reused_for_another_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "tinh.toml", _edition(edition="ND98-2023"))
    with pytest.raises(RulebookError, match="«ND98-2023» đã dùng") as caught:
        build_rulebook_history([path])
    assert str(path) in str(caught.value)


def test_every_bad_deployment_file_is_reported_at_once(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.toml", _edition(awards=[_provincial_award(quorum=3)]))
    second = _write(tmp_path, "b.yaml", _edition(awards=[_provincial_award(level="x")]))
    with pytest.raises(RulebookError) as caught:
        build_rulebook_history([first, second])
    message = str(caught.value)
    assert str(first) in message
    assert "quorum" in message
    assert str(second) in message
    assert "level" in message


def test_a_single_bad_deployment_file_keeps_its_own_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.toml", _edition(awards=[_provincial_award(quorum=3)]))
    with pytest.raises(RulebookError) as caught:
        build_rulebook_history([path])
    assert str(caught.value).startswith(f"{path} có lỗi")
