"""Simulator of Martjack (Capillary Anywhere Commerce) customers for one demo merchant.

Served under ``/martjack``; the provider's own paths follow
(``/martjack/developerapi/Customer/{merchantId}/...``).
See ``app.py`` for the routes and ``auth.py`` for the merchant's OAuth 1.0 / JWT and the customer session.
"""

from __future__ import annotations

from starlette.applications import Starlette

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.control import SimulatorState, simulator_app
from customer_graph.simulators.dataset import DEFAULT_SEED, Dataset, generate
from customer_graph.simulators.martjack.app import (
    DEFAULT_TOKEN_TTL_SECONDS,
    DEMO_APP,
    DEMO_MERCHANT_ID,
    MartjackApi,
    MartjackDialect,
)
from customer_graph.simulators.martjack.openapi import OPENAPI
from customer_graph.simulators.martjack.store import CustomerStore

PREFIX = "/martjack"

__all__ = ["DEMO_APP", "DEMO_MERCHANT_ID", "PREFIX", "create_app", "credentials"]


def create_app(dataset: Dataset, options: SimulatorOptions) -> Starlette:
    store = CustomerStore(dataset)

    def reseed() -> None:  # the state's reseed needs the API, which needs the state
        store.reseed()
        api.sessions.clear()

    ttl = options.token_ttl_seconds if options.token_ttl_seconds is not None else DEFAULT_TOKEN_TTL_SECONDS
    state = SimulatorState(
        name="martjack", dialect=MartjackDialect(), reseed=reseed, token_ttl_seconds=ttl, seed=options.seed
    )
    api = MartjackApi(store, state)
    return simulator_app(state, api.routes(), OPENAPI)


def credentials() -> dict[str, str]:
    """What works against this simulator; the customer is the default dataset's first Martjack customer."""
    person = next(p for p in generate(DEFAULT_SEED, 4).persons if p.martjack is not None)
    assert person.martjack is not None
    customer = person.martjack
    base = f"{PREFIX}/developerapi"
    return {
        "merchant id": DEMO_MERCHANT_ID,
        "consumer (public) key": DEMO_APP.public_key,
        "consumer secret": DEMO_APP.secret,
        "merchant auth": "OAuth 1.0 HMAC-SHA1 signed calls, or GET "
        f"{base}/OAuth/Token/{DEMO_APP.public_key} "
        "then 'Authorization: Bearer <AccessToken>'",
        "customer login": f"POST {base}/Customer/{DEMO_MERCHANT_ID}/login "
        f'{{"username": "{customer.user_name}", "password": "{customer.password}"}} '
        f"(default dataset, seed {DEFAULT_SEED}); "
        "send Token.AccessToken as header 'accesstoken'",
    }
