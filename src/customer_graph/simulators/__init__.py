"""Simulators of the four customer providers, served on one port under one prefix each.

``create_simulators_app`` mounts every provider's app under its prefix; the prefix is that provider's base
URL (``/capillary`` then ``/v2/customers...``, ``/martjack`` then ``/developerapi/...``, ``/openloyalty``
then ``/api/...``, ``/twc`` then ``/api/v2/...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.simulators.dataset import Dataset


@dataclass(frozen=True)
class SimulatorOptions:
    """Start-up settings shared by the simulators; ``None`` means the provider's own default."""

    token_ttl_seconds: float | None = None
    capillary_rate_limit_per_minute: int | None = None
    seed: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def provider_modules() -> dict[str, ModuleType]:
    """Each provider's simulator module by provider name (``PREFIX``, ``create_app``, ``credentials``)."""
    from customer_graph.simulators import capillary, martjack, openloyalty, twc

    return {"capillary": capillary, "martjack": martjack, "openloyalty": openloyalty, "twc": twc}


def create_simulators_app(dataset: Dataset, options: SimulatorOptions | None = None) -> Starlette:
    options = options or SimulatorOptions(seed=dataset.seed)
    mounts = [Mount(module.PREFIX, app=module.create_app(dataset, options)) for module in provider_modules().values()]
    return Starlette(routes=mounts)
