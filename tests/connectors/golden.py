"""Golden files for mappers: a wire fixture in, the domain value out, compared as JSON.

``assert_golden(name, value)`` compares ``value`` (domain dataclasses, enums, dates) with
``tests/connectors/golden/<name>.json``. Run with ``UPDATE_GOLDEN=1`` to (re)write a file after checking the
change by eye; a missing file fails the test rather than being created silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def load_fixture(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.wire.json").read_text())


def assert_golden(name: str, value: Any, *, ignore: tuple[str, ...] = ("fetched_at",)) -> None:
    actual = _drop(jsonable(value), ignore)
    path = GOLDEN / f"{name}.domain.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert actual == json.loads(path.read_text())


def _drop(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_drop(v, keys) for v in value]
    return value
