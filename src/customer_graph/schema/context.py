"""The per-request context every resolver receives (``info.context``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from customer_graph.connectors.errors import ProviderError
from customer_graph.gateway import Gateway
from customer_graph.loaders import RequestLoaders
from customer_graph.schema.access import Principal
from customer_graph.schema.limits import DEFAULT_LIMITS, Limits


@dataclass
class Context:
    gateway: Gateway
    loaders: RequestLoaders
    request: Any = None
    # Provider failures that belong to a root field rather than to one of its children (a lookup fan-out that
    # could not reach a provider): reported in ``errors`` by ``PartialErrors`` with the root field's path.
    root_errors: list[tuple[str, ProviderError]] = field(default_factory=list)
    # Who asks (``schema.access``): None sees nothing personal and may run nothing that needs a scope.
    principal: Principal | None = None
    limits: Limits = DEFAULT_LIMITS
    request_id: str | None = None


Info = StrawberryInfo[Context, None]
