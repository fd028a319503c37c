"""The per-request context every resolver receives (``info.context``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from customer_graph.connectors.errors import ProviderError
from customer_graph.gateway import Gateway
from customer_graph.loaders import RequestLoaders


@dataclass
class Context:
    gateway: Gateway
    loaders: RequestLoaders
    request: Any = None
    # Provider failures that belong to a root field rather than to one of its children (a lookup fan-out that
    # could not reach a provider): reported in ``errors`` by ``PartialErrors`` with the root field's path.
    root_errors: list[tuple[str, ProviderError]] = field(default_factory=list)


Info = StrawberryInfo[Context, None]
