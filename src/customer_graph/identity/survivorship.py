"""Survivorship: one value per unified field, from the first provider in the field's priority list that has
a non-empty value; every disagreement is reported as a conflict, never silently dropped.

Strings that differ only in case or surrounding space (``SMITH`` / ``Smith``) are the same value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from customer_graph.domain.models import CustomerStatus, Gender, Provider, ProviderRecord

FIELDS = ("first_name", "last_name", "birth_date", "gender", "status")
DEFAULT_ORDER = (Provider.CAPILLARY, Provider.OPEN_LOYALTY, Provider.TWC, Provider.MARTJACK)


@dataclass(frozen=True, slots=True)
class ConflictValue:
    provider: Provider
    value: str


@dataclass(frozen=True, slots=True)
class Conflict:
    field: str
    values: tuple[ConflictValue, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    gender: Gender | None
    status: CustomerStatus | None
    conflicts: tuple[Conflict, ...]

    @property
    def display_name(self) -> str | None:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or None


class Survivorship:
    def __init__(
        self,
        priority: Mapping[str, Sequence[Provider]] | None = None,
        default_order: Sequence[Provider] = DEFAULT_ORDER,
    ) -> None:
        priority = priority or {}
        unknown = set(priority) - set(FIELDS)
        if unknown:
            raise ValueError(f"survivorship: unknown fields {sorted(unknown)}")
        # Providers missing from a field's list still count, after the listed ones, in the default order.
        self.order = {f: _complete(priority.get(f, default_order), default_order) for f in FIELDS}

    def profile(self, records: Sequence[ProviderRecord]) -> Profile:
        by_provider = {r.provider: r for r in records}
        values: dict[str, Any] = {}
        conflicts = []
        for name in FIELDS:
            candidates = [(p, getattr(by_provider[p], name)) for p in self.order[name] if p in by_provider]
            present = [(p, v) for p, v in candidates if v not in (None, "")]
            values[name] = present[0][1] if present else None
            if len({_comparable(v) for _, v in present}) > 1:
                conflicts.append(Conflict(_camel(name), tuple(ConflictValue(p, _text(v)) for p, v in present)))
        return Profile(conflicts=tuple(conflicts), **values)


def _complete(listed: Sequence[Provider], default_order: Sequence[Provider]) -> tuple[Provider, ...]:
    return tuple(dict.fromkeys([*listed, *default_order, *Provider]))


def _comparable(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
