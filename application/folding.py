"""Folding stored events into aggregates, without the library's per-event generic machinery.

An event made by an ``@event``-decorated method is applied by calling that method with the
event's attributes, then setting the aggregate's version and modification time: exactly what
the library's ``DecoratedFuncCaller.apply`` and ``CanMutateAggregate.mutate`` do, minus the
per-event signature filtering and the originator id comparison (the caller picked the
aggregate by the event's originator id). Any other kind of event (the created events, events
with their own ``apply`` or ``mutate``) goes through the library's ``mutate``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from eventsourcing.domain import (
    CanMutateAggregate,
    DecoratedFuncCaller,
    OriginatorVersionError,
    decorated_funcs,
)

_Plan = tuple[Callable[..., None], tuple[str, ...], bool] | None
_plans: dict[type, _Plan] = {}


def _plan(kind: type) -> _Plan:
    """How to apply events of this class directly, or None to use the library's mutate."""
    if not issubclass(kind, DecoratedFuncCaller) or kind not in decorated_funcs:
        return None
    for base in kind.__mro__:
        if base is DecoratedFuncCaller:
            break
        if "apply" in vars(base) or "mutate" in vars(base):
            return None
    for base in kind.__mro__[kind.__mro__.index(DecoratedFuncCaller) + 1 :]:
        if base is CanMutateAggregate:
            break
        if "apply" in vars(base) or "mutate" in vars(base):
            return None
    func = decorated_funcs[kind]
    parameters = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    names = tuple(p.name for p in parameters)
    positional = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    return func, names, positional


def apply_event(event: Any, aggregate: Any) -> Any:
    """``event.mutate(aggregate)``, faster for events of ``@event``-decorated methods."""
    kind = type(event)
    try:
        plan = _plans[kind]
    except KeyError:
        plan = _plans[kind] = _plan(kind)
    if plan is None or aggregate is None:
        return event.mutate(aggregate)
    version = event.originator_version
    if version != aggregate.version + 1:
        raise OriginatorVersionError(version, aggregate.version + 1)
    func, names, positional = plan
    state = event.__dict__
    if positional:
        try:
            arguments = [state[name] for name in names]
        except KeyError:  # an older event without a field: the method's default applies
            func(aggregate, **{name: state[name] for name in names if name in state})
        else:
            func(aggregate, *arguments)
    else:
        func(aggregate, **{name: state[name] for name in names if name in state})
    aggregate.version = version
    aggregate.modified_on = event.timestamp
    return aggregate


def fold(aggregate: Any, events: Iterable[Any]) -> Any:
    """Apply events in order to an aggregate (None before its first event)."""
    for event in events:
        aggregate = apply_event(event, aggregate)
    return aggregate
