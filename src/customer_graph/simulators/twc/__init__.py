"""Simulator of TWC (The Wishlist Co) customer service, after /work/shared/providers/twc-customer-api.md.

Served under ``/twc``: a Keycloak token endpoint per tenant realm, then ``/api/v2/customers...`` with a Bearer
token and the ``X-TWC-Tenant`` header. One demo tenant with one client (see :func:`credentials`).
"""

from __future__ import annotations

from starlette.applications import Starlette

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.control import SimulatorState, simulator_app
from customer_graph.simulators.dataset import Dataset
from customer_graph.simulators.twc.app import (
    DEFAULT_TOKEN_TTL_SECONDS,
    DEMO_CLIENT,
    TOKEN_PATH,
    TwcDialect,
    build_routes,
)
from customer_graph.simulators.twc.openapi import openapi
from customer_graph.simulators.twc.store import TwcStore

PREFIX = "/twc"

__all__ = ["PREFIX", "create_app", "credentials"]


def create_app(dataset: Dataset, options: SimulatorOptions) -> Starlette:
    store = TwcStore(dataset)
    ttl = DEFAULT_TOKEN_TTL_SECONDS if options.token_ttl_seconds is None else options.token_ttl_seconds
    state = SimulatorState(
        name="twc", dialect=TwcDialect(), reseed=store.reseed, token_ttl_seconds=ttl, seed=options.seed
    )
    return simulator_app(state, build_routes(state, store), openapi(PREFIX))


def credentials() -> dict[str, str]:
    return {
        "token_url": PREFIX + TOKEN_PATH.format(tenant=DEMO_CLIENT.tenant),
        "tenant": DEMO_CLIENT.tenant,
        "client_id": DEMO_CLIENT.client_id,
        "client_secret": DEMO_CLIENT.client_secret,
    }
