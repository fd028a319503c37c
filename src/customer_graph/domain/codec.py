"""Domain values to JSON and back, for what must outlive a request: journal arguments, stored responses.

Generic over the domain's frozen dataclasses: enums by value, dates and datetimes in ISO 8601, tuples as
lists, frozensets as sorted lists; decoding follows the dataclass's type hints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(encode(v) for v in value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(kind: type[T], data: Any) -> T:
    result: T = _decode(kind, data)
    return result


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _decode(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        for option in options:
            try:
                return _decode(option, data)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"no member of {kind} decodes {data!r}")
    if origin in (tuple, list, frozenset, set):
        item = typing.get_args(kind)[0]
        values = [_decode(item, v) for v in data]
        return origin(values) if origin is not list else values
    if origin is dict:
        key_type, value_type = typing.get_args(kind)
        return {_decode(key_type, k): _decode(value_type, v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: _decode(hints[k], v) for k, v in data.items() if k in names})
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is date:
        return date.fromisoformat(data)
    if kind in (str, int, float, bool):
        if not isinstance(data, kind) and not (kind is float and isinstance(data, int)):
            raise TypeError(f"expected {kind.__name__}")
        return data
    if kind is typing.Any or kind is object:
        return data
    raise TypeError(f"cannot decode {kind}")
