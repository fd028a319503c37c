"""Match rules: which identifier values say that two provider records are the same person.

A rule joins two *sides*; a side is an identifier type, optionally pinned to one provider, or a provider's
own record id. Two records are the same person when one holds value ``v`` on one side and the other holds
``v`` on the other side. Rules are symmetric. The defaults (design.md, "Linking"):

- ``email``:        EMAIL (any provider)                 = EMAIL (any provider), normalised
- ``mobile``:       MOBILE (any provider)                = MOBILE (any provider), E.164
- ``martjack-id``:  Capillary MARTJACK_ID identifier     = a Martjack record id (UserId)
- ``customer-ref``: TWC CUSTOMER_REF                     = Capillary EXTERNAL_ID

Names never link: two strangers may share one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from customer_graph.domain.models import IdentifierKey, IdentifierType, Provider, ProviderRecord


@dataclass(frozen=True, slots=True)
class Side:
    """An identifier type (``type``) or, with ``type=None``, the record id; optionally of one provider."""

    type: IdentifierType | None
    provider: Provider | None = None

    def holds(self, provider: Provider, identifier_type: IdentifierType | None) -> bool:
        return self.type == identifier_type and (self.provider is None or self.provider is provider)


@dataclass(frozen=True, slots=True)
class MatchRule:
    name: str
    a: Side
    b: Side


DEFAULT_RULES: tuple[MatchRule, ...] = (
    MatchRule("email", Side(IdentifierType.EMAIL), Side(IdentifierType.EMAIL)),
    MatchRule("mobile", Side(IdentifierType.MOBILE), Side(IdentifierType.MOBILE)),
    MatchRule("martjack-id", Side(IdentifierType.MARTJACK_ID, Provider.CAPILLARY), Side(None, Provider.MARTJACK)),
    MatchRule(
        "customer-ref",
        Side(IdentifierType.CUSTOMER_REF, Provider.TWC),
        Side(IdentifierType.EXTERNAL_ID, Provider.CAPILLARY),
    ),
)


@dataclass(frozen=True, slots=True)
class Probe:
    """A read that may find the same person at ``provider``: by record id, or by identifier."""

    provider: Provider
    record_id: str | None = None
    key: IdentifierKey | None = None


class MatchRules:
    def __init__(self, rules: Sequence[MatchRule], lookup_types: Mapping[Provider, frozenset[IdentifierType]]) -> None:
        self.rules = tuple(rules)
        self.lookup_types = lookup_types

    def _probes(
        self, from_provider: Provider | None, identifier_type: IdentifierType | None, value: str
    ) -> Iterator[Probe]:
        for rule in self.rules:
            for here, there in ((rule.a, rule.b), (rule.b, rule.a)):
                if here.type != identifier_type:
                    continue
                if from_provider is not None and not here.holds(from_provider, identifier_type):
                    continue
                targets = [there.provider] if there.provider else list(self.lookup_types)
                for provider in targets:
                    if provider is from_provider:
                        continue
                    if there.type is None:
                        yield Probe(provider, record_id=value)
                    elif there.type in self.lookup_types.get(provider, frozenset()):
                        yield Probe(provider, key=IdentifierKey(there.type, value))

    def probes_for_key(self, key: IdentifierKey) -> list[Probe]:
        """Where to look for a person known only by this identifier: every provider that can look it up,
        and every translation the rules allow (an EXTERNAL_ID is also a TWC CUSTOMER_REF)."""
        probes = {Probe(p, key=key) for p, types in self.lookup_types.items() if key.type in types}
        probes.update(self._probes(None, key.type, key.value))
        return sorted(probes, key=_probe_order)

    def probes_for_record(self, record: ProviderRecord) -> list[Probe]:
        """Where the same person may be found elsewhere, from what this record holds."""
        probes = set(self._probes(record.provider, None, record.record_id))
        for identifier in record.identifiers:
            probes.update(self._probes(record.provider, identifier.type, identifier.value))
        return sorted(probes, key=_probe_order)

    def tokens(self, record: ProviderRecord) -> set[tuple[str, str]]:
        """``(rule, value)`` pairs this record holds: two records sharing one are the same person."""
        held: set[tuple[str, str]] = set()
        for rule in self.rules:
            for side in (rule.a, rule.b):
                if side.type is None and side.holds(record.provider, None):
                    held.add((rule.name, record.record_id))
                for identifier in record.identifiers:
                    if side.holds(record.provider, identifier.type):
                        held.add((rule.name, identifier.value))
        return held

    def keys_of(self, record: ProviderRecord) -> list[IdentifierKey]:
        """The identifiers of a record that rules can link on, for the crosswalk's index."""
        linkable = {side.type for rule in self.rules for side in (rule.a, rule.b) if side.type is not None}
        return [IdentifierKey(i.type, i.value) for i in record.identifiers if i.type in linkable]


def _probe_order(probe: Probe) -> tuple[str, str, str]:
    return (probe.provider.value, probe.record_id or "", f"{probe.key.type}:{probe.key.value}" if probe.key else "")
