"""Structured logs: one JSON object per line (or a readable console form on a terminal).

Both structlog loggers and the standard library's (eventsourcing, psycopg, uvicorn) go through
the same processors into one handler on stderr, so every line has ``timestamp`` (ISO 8601,
UTC), ``level``, ``event`` and the bound keys (for example ``request_id``).

Nothing secret or personal is written: keys that name a password, a URL with credentials or a
nominee's private details are replaced by ``[ẩn]`` wherever they appear, and passwords inside
connection URLs in any text are masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from infrastructure.settings import Settings

__all__ = ["REDACTED", "SENSITIVE_KEYS", "configure_logging", "redact_sensitive"]

REDACTED = "[ẩn]"
SENSITIVE_KEYS = frozenset(
    {
        # secrets
        "password",
        "passwd",
        "secret",
        "token",
        "authorization",
        "cookie",
        "api_key",
        "postgres_url",
        "postgres_password",
        "dsn",
        # personal data (domain.md, "What the public may see")
        "personal",
        "identity_number",
        "date_of_birth",
        "phone",
        "email",
        "address",
        "contact",
    }
)
"""Keys whose values are never logged (compared case-insensitively)."""

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]*(?P<tail>@)", re.I)
_HANDLER_NAME = "khenthuong"


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 5:
        return value
    if isinstance(value, str):
        if "://" not in value:  # no URL, no password to mask (most values): skip the regex
            return value
        return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}\g<tail>", value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if str(key).lower() in SENSITIVE_KEYS else _clean(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(item, depth + 1) for item in value]
    return value


def redact_sensitive(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: hide secret and personal values, mask passwords in URLs."""
    cleaned: MutableMapping[str, Any] = {}
    for key, value in event_dict.items():
        if key.lower() in SENSITIVE_KEYS:
            cleaned[key] = REDACTED
        else:
            cleaned[key] = _clean(value)
    event_dict.clear()
    event_dict.update(cleaned)
    return event_dict


def redact_exception(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """After ``format_exc_info``: mask passwords in URLs the traceback text may quote (the other
    values went through ``redact_sensitive`` already)."""
    text = event_dict.get("exception")
    if isinstance(text, str):
        event_dict["exception"] = _clean(text)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _use_console(settings: Settings, stream: TextIO) -> bool:
    if settings.log_format == "console":
        return True
    if settings.log_format == "json":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def drop_color_message(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """uvicorn adds a copy of its message with terminal colour codes; the plain one is enough."""
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Send all logs to ``stream`` (stderr by default) as JSON lines or console text.

    Calling it again replaces the previous handler (tests and the CLI may call it twice).
    """
    output = stream if stream is not None else sys.stderr
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        drop_color_message,
        redact_sensitive,
    ]
    renderer: Processor
    if _use_console(settings, output):
        # plain tracebacks: a rich one would print local variables such as request headers
        renderer = structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
        final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    else:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
        final = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # the traceback text may quote a URL with its password
            redact_exception,
        ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[*final, renderer],
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
