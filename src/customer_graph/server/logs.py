"""Structured logs: one JSON object a line, carrying the request id, and never customer data.

The rules that keep customer data and secrets out of the logs:

- **Extras are allow-listed.** A record's ``extra`` fields are written only when their name is in
  :data:`SAFE_FIELDS` (ids we mint, provider and operation names, codes, statuses, timings).
- **Exception messages are never written**, only the exception's type and its stack of frames: a message may
  quote input (pydantic, ``KeyError('jane@example.com')``) or a provider's body.
- **GraphQL errors are logged by code and path**: strawberry logs each error with its message, which may
  quote a variable's value; the message is replaced.
- **Messages are scrubbed** as a last line of defence: anything shaped like an e-mail, a phone number, a
  long digit run, a bearer token or a URL query string is replaced before the line is written.
- Libraries that log URLs with query strings (httpx, httpcore) are held at WARNING.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import traceback
from typing import Any

import orjson

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("customer_graph_request_id", default=None)

SAFE_FIELDS = frozenset(
    {
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "write_id",
        "provider",
        "operation",
        "code",
        "outcome",
        "path",
        "error_type",
        "attempts",
        "state",
        "version",
        "migration",
        "use",
    }
)

_SCRUB = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"[^\s\"'<>@]+@[^\s\"'<>@]+"), "[redacted-email]"),
    (re.compile(r"\?[^\s\"']+"), "?[redacted-query]"),
    # Eight digits or more, alone or grouped by spaces, dashes or brackets (dots are left: IPs, decimals).
    (re.compile(r"\+?\d(?:[ ()-]?\d){7,}"), "[redacted-number]"),
    (re.compile(r"\b[A-Za-z0-9_-]{32,}\b"), "[redacted-token]"),
]
_MINTED = frozenset({"request_id", "write_id"})
_MINTED_ID = re.compile(r"wr_[0-9a-f]{20}")
_QUIET_LIBRARIES = ("httpx", "httpcore", "asyncio", "hpack", "redis", "asyncpg")


def scrub(text: str) -> str:
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


class GraphQLErrorFilter(logging.Filter):
    """Rewrites strawberry's error records: the code, the path and the original error's type, no message."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if hasattr(error, "path") and hasattr(error, "extensions"):
            record.msg, record.args = "GraphQL error", None
            record.code = (error.extensions or {}).get("code") or "UNCLASSIFIED"
            record.path = ".".join(str(part) for part in error.path or ())
            original = getattr(error, "original_error", None)
            record.error_type = type(original).__name__ if original is not None else "GraphQLError"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id  # minted here, or a client's that matched a strict pattern
        for name in SAFE_FIELDS - _MINTED:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value if isinstance(value, int | float | bool) else scrub(str(value))
        for name in _MINTED - {"request_id"}:  # ids we make (``wr_`` and hex): nothing to scrub, digits abound
            value = record.__dict__.get(name)
            if isinstance(value, str) and _MINTED_ID.fullmatch(value):
                entry[name] = value
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = exception_summary(record.exc_info[1])
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """For a terminal: the same rules as the JSON lines, as ``ts level logger msg key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = orjson.loads(JsonFormatter().format(record))
        head = f"{entry.pop('ts')} {entry.pop('level'):<7} {entry.pop('logger')}: {entry.pop('msg')}"
        exception = entry.pop("exception", None)
        line = " ".join([head, *(f"{k}={v}" for k, v in sorted(entry.items()))])
        if exception:
            line += f"\n  {exception['type']}\n" + "".join(exception["stack"])
        return line


def exception_summary(exc: BaseException) -> dict[str, Any]:
    """The exception's type chain and frames, never its message (which may quote input) nor source text."""
    types: list[str] = []
    stack: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(types) < 5:
        types.append(type(current).__qualname__)
        # Where, not what: file, line and function (a source line may hold a literal value).
        frames = traceback.extract_tb(current.__traceback__)[-10:]
        stack = [f"{frame.filename}:{frame.lineno} in {frame.name}\n" for frame in frames] or stack
        current = current.__cause__ or current.__context__
    return {"type": " <- ".join(types), "stack": stack}


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (uvicorn's included) to one stderr handler with the safe formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # it logs query strings; ours logs the route only
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    install_graphql_filter()


def install_graphql_filter() -> None:
    strawberry_logger = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, GraphQLErrorFilter) for f in strawberry_logger.filters):
        strawberry_logger.addFilter(GraphQLErrorFilter())
