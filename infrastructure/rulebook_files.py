"""A deployment's own rulebook editions, read from TOML or YAML files.

Every file goes through ``domain.rulebook.rulebook_from_mapping``, so a file is accepted only if
it is a valid edition; every failure (unreadable file, bad syntax, unknown extension, invalid
content) is a ``RulebookError`` naming the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Hashable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from domain.errors import RulebookError
from domain.rulebook import Rulebook, RulebookHistory, default_rulebooks, rulebook_from_mapping

__all__ = ["SUPPORTED_SUFFIXES", "build_rulebook_history", "load_rulebook_file"]

SUPPORTED_SUFFIXES = (".toml", ".yaml", ".yml")


class _StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping.

    Plain ``yaml.safe_load`` keeps the last value silently; in a rulebook that would hide a
    mistake such as two ``threshold`` lines in one award.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"khóa «{key}» bị lặp (dòng {mark.line + 1})",
                    mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_text(path: Path, source: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulebookError(["không tìm thấy tệp"], source) from None
    except UnicodeDecodeError:
        raise RulebookError(["tệp không phải văn bản UTF-8"], source) from None
    except OSError as error:
        raise RulebookError([f"không đọc được tệp ({error.strerror or error})"], source) from None


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" (dòng {mark.line + 1}, cột {mark.column + 1})"
        problem = getattr(error, "problem", None) or str(error)
        raise RulebookError([f"không đọc được YAML{where}: {problem}"], source) from None


def _parse_toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulebookError([f"không đọc được TOML: {error}"], source) from None


def _normalise(data: Any) -> Any:
    """Make what TOML and YAML parsers produce fit ``rulebook_from_mapping``.

    ``effective_from`` may arrive as a date (unquoted in either format) or as a string (quoted);
    both are fine. A date with a time of day (``2026-01-01T00:00:00``, or YAML's
    ``2026-01-01 00:00:00``) is not a date: it is passed on as text so that validation reports
    ``effective_from`` rather than letting a datetime through.
    """
    if isinstance(data, dict) and isinstance(data.get("effective_from"), datetime):
        return {**data, "effective_from": data["effective_from"].isoformat()}
    return data


def load_rulebook_file(path: Path) -> Rulebook:
    """Read and validate one edition from a ``.toml``, ``.yaml`` or ``.yml`` file."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"«{path.suffix}»" if path.suffix else "(không có)"
        raise RulebookError(
            [f"phần mở rộng {shown} không được hỗ trợ; dùng .toml, .yaml hoặc .yml"], source
        )
    text = _read_text(path, source)
    data = _parse_toml(text, source) if suffix == ".toml" else _parse_yaml(text, source)
    return rulebook_from_mapping(_normalise(data), source)


def build_rulebook_history(files: Sequence[Path], include_defaults: bool = True) -> RulebookHistory:
    """All editions a deployment uses: the shipped ones (unless ``include_defaults`` is False)
    plus its own ``files``.

    A deployment's edition whose ``effective_from`` equals that of a shipped edition *replaces*
    the shipped one (a province publishing its own variant of a decree's catalogue); any other
    deployment edition is added alongside. Two of the deployment's own files may not share an
    effective date, and an edition name may not be reused by editions in force from different
    dates (submissions record the edition by name). Every file is read before failing: one bad
    file raises its own ``RulebookError``; several bad files, or clashes between editions, are
    listed together in one ``RulebookError``.
    """
    if isinstance(files, str | Path):
        raise TypeError("files phải là một danh sách đường dẫn, không phải một đường dẫn")
    failures: list[RulebookError] = []
    own: list[tuple[str, Rulebook]] = []
    for file in files:
        try:
            own.append((str(file), load_rulebook_file(Path(file))))
        except RulebookError as error:
            failures.append(error)
    if len(failures) == 1:
        raise failures[0]
    problems = [str(error) for error in failures]

    by_date: dict[date, str] = {}
    for source, book in own:
        if book.effective_from in by_date:
            problems.append(
                f"{source} và {by_date[book.effective_from]} cùng có ngày hiệu lực "
                f"{book.effective_from:%d/%m/%Y}"
            )
        else:
            by_date[book.effective_from] = source

    shipped = list(default_rulebooks().editions) if include_defaults else []
    kept: list[tuple[str, Rulebook]] = [
        (f"bộ quy tắc có sẵn {book.edition}", book)
        for book in shipped
        if book.effective_from not in by_date
    ]
    named: dict[str, tuple[str, Rulebook]] = {}
    for source, book in [*kept, *own]:
        if book.edition in named and named[book.edition][1].effective_from != book.effective_from:
            other = named[book.edition][0]
            problems.append(f"{source}: tên bộ quy tắc «{book.edition}» đã dùng cho {other}")
        else:
            named.setdefault(book.edition, (source, book))

    if problems:
        raise RulebookError(problems, "cấu hình bộ quy tắc khen thưởng")
    editions = [book for _, book in kept] + [book for _, book in own]
    return RulebookHistory(editions)
