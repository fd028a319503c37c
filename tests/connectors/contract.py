"""What every connector's test harness provides to the shared contract suite (``test_contract.py``).

Each provider has ``tests/connectors/harness_<provider>.py`` with::

    async def build_harness(policy: Policy) -> Harness

which starts that provider's simulator in-process (``httpx.ASGITransport``), builds the connector with the
given policy, and fills in the samples below from the seeded dataset. Provider traffic is asserted only
through the simulator's ``/__sim`` surface.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from customer_graph.connectors.base import Connector
from customer_graph.domain.models import CustomerDraft, IdentifierKey


@dataclass
class Harness:
    connector: Connector
    control: httpx.AsyncClient  # base URL is the simulator's prefix: "/__sim/stats" etc.
    known_ids: list[str]  # at least 3 record ids present in the simulator
    missing_ids: list[str]  # at least 2 well-formed ids that are not
    # One sample per identifier type the connector can look up: the key and the record id it must find.
    lookups: list[tuple[IdentifierKey, str]]
    search_text: str  # a query matching at least ``3 * search_page_size`` records
    search_page_size: int
    new_customer: Callable[[], CustomerDraft]  # a valid, unique draft each call
    close: Callable[[], Awaitable[None]] = field(default=lambda: _noop())

    async def stats(self) -> dict[str, Any]:
        response = await self.control.get("/__sim/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    async def calls(self, *, excluding: tuple[str, ...] = ("token", "login", "oauth", "OAuth")) -> int:
        """Provider calls so far, not counting token traffic."""
        stats = await self.stats()
        return sum(n for key, n in stats["calls"].items() if not any(word in key for word in excluding))

    async def tokens_issued(self) -> int:
        stats = await self.stats()
        return int(stats.get("tokens_issued", {}).get("access", 0))

    async def fault(self, **faults: Any) -> None:
        (await self.control.post("/__sim/faults", json=faults)).raise_for_status()

    async def clear(self) -> None:
        (await self.control.delete("/__sim/faults")).raise_for_status()
        (await self.control.post("/__sim/reset")).raise_for_status()


async def _noop() -> None:
    return None
