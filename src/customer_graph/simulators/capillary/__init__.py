"""Simulator of the Capillary v2 customer API (``capillary-v2-customer-api.md``,
``capillary-v2-register-customer.md`` and the Capillary facts of ``providers/README.md``), served under
:data:`PREFIX`."""

from __future__ import annotations

from starlette.applications import Starlette

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.capillary.app import (
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    DEFAULT_TOKEN_TTL_SECONDS,
    OAUTH_CLIENTS,
    TILLS,
    CapillaryApi,
    CapillaryDialect,
)
from customer_graph.simulators.capillary.openapi import OPENAPI
from customer_graph.simulators.capillary.store import SEED_ACCOUNTS, CapillaryStore
from customer_graph.simulators.control import SimulatorState, simulator_app
from customer_graph.simulators.dataset import Dataset

PREFIX = "/capillary"

__all__ = ["PREFIX", "create_app", "credentials"]


def create_app(dataset: Dataset, options: SimulatorOptions) -> Starlette:
    store = CapillaryStore(dataset)
    rate_limit = options.capillary_rate_limit_per_minute
    state = SimulatorState(
        name="capillary",
        dialect=CapillaryDialect(),
        reseed=store.reseed,
        token_ttl_seconds=options.token_ttl_seconds or DEFAULT_TOKEN_TTL_SECONDS,
        # None means Capillary's own limit; 0 disables the limit.
        rate_limit_per_minute=(DEFAULT_RATE_LIMIT_PER_MINUTE if rate_limit is None else rate_limit) or None,
        seed=options.seed,
    )
    return simulator_app(state, CapillaryApi(state, store).routes(), OPENAPI)


def credentials() -> dict[str, str]:
    till, (password, _) = next((t, c) for t, c in TILLS.items() if c[1])
    readonly, (readonly_password, _) = next((t, c) for t, c in TILLS.items() if not c[1])
    key, (secret, _) = next(iter(OAUTH_CLIENTS.items()))
    return {
        "basic": f"till {till}, password {password}: Authorization: Basic base64({till}:md5({password}))",
        "oauth": f'POST {PREFIX}/v3/oauth/token/generate {{"key": "{key}", "secret": "{secret}"}}, '
        "then header X-CAP-API-OAUTH-TOKEN",
        "read-only till": f"{readonly}, password {readonly_password} (writes answer 403)",
        "accounts": ", ".join(f"{source} accountId={account}" for source, account in SEED_ACCOUNTS.items()),
    }
