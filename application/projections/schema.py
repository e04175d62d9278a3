"""How a view's tables look, independent of the database that holds them.

A view owns one or more tables of two kinds:

- **keyed** tables hold rows that belong to one aggregate (the ``owner`` column). Whenever an
  aggregate changes, its rows are replaced as a whole by what the view derives from its new
  state, so a row is always a pure function of the aggregate's history.
- **counter** tables hold counts under a key; a change adds the difference between the
  aggregate's contribution before and after it.

Both kinds give the same rows whether built live, event by event, or rebuilt from the log in
large batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ColumnType(StrEnum):
    UUID = "uuid"
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True


@dataclass(frozen=True)
class Index:
    """An index on the named columns; a column written ``-name`` is descending."""

    columns: tuple[str, ...]
    search: bool = False
    """A trigram index for substring search, where the database offers one."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    owner: str | None = None
    """The column naming the aggregate a keyed table's rows belong to; None for counters."""
    counter: str | None = None
    """The count column of a counter table."""
    indexes: tuple[Index, ...] = ()

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column")
        used = {*self.key, *(c.lstrip("-") for i in self.indexes for c in i.columns)}
        missing = used - set(names)
        if missing:
            raise ValueError(f"{self.name}: unknown columns {sorted(missing)}")
        if (self.owner is None) == (self.counter is None):
            raise ValueError(f"{self.name}: a table is either keyed by owner or a counter")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


Row = dict[str, Any]
CounterKey = tuple[Any, ...]


@dataclass
class TableChanges:
    """What one batch does to one table."""

    table: Table
    owners: set[Any] = field(default_factory=set)
    """Keyed tables: the aggregates whose rows are replaced by ``rows``."""
    rows: list[Row] = field(default_factory=list)
    deltas: dict[CounterKey, int] = field(default_factory=dict)
    """Counter tables: the amount to add under each key (zero counts are removed)."""

    def is_empty(self) -> bool:
        return not self.owners and not any(self.deltas.values())


@dataclass
class ViewChanges:
    """Everything one batch writes for one view, with the log position it reaches."""

    view: str
    start: int
    """The position the view was at before the batch."""
    end: int
    tables: Mapping[str, TableChanges]
    events: int = 0

    def rows_written(self) -> int:
        return sum(len(t.rows) + len(t.deltas) for t in self.tables.values())


def counter_deltas(
    before: Mapping[CounterKey, int], after: Mapping[CounterKey, int]
) -> dict[CounterKey, int]:
    """The amounts that turn ``before`` into ``after``."""
    deltas: dict[CounterKey, int] = {}
    for key in before.keys() | after.keys():
        change = after.get(key, 0) - before.get(key, 0)
        if change:
            deltas[key] = change
    return deltas


def merge_deltas(into: dict[CounterKey, int], more: Mapping[CounterKey, int]) -> None:
    for key, change in more.items():
        into[key] = into.get(key, 0) + change


def keyed(
    name: str,
    columns: Sequence[Column],
    *,
    key: Sequence[str],
    owner: str,
    indexes: Sequence[Index] = (),
) -> Table:
    return Table(
        name=name, columns=tuple(columns), key=tuple(key), owner=owner, indexes=tuple(indexes)
    )


def counter(name: str, keys: Sequence[Column], *, count: str = "count") -> Table:
    return Table(
        name=name,
        columns=(*keys, Column(count, ColumnType.INT, nullable=False)),
        key=tuple(k.name for k in keys),
        counter=count,
    )
