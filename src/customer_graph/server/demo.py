"""``customer-graph demo``: the four simulators and the gateway in one process, on one loopback port.

The simulators are mounted under ``/sim`` and the gateway reaches them over real HTTP on that same port, as
it would reach the providers, with the credentials the simulators accept.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.gateway import Gateway
from customer_graph.schema.access import ALL_SCOPES, READ, WRITE, Principal
from customer_graph.server.app import create_app
from customer_graph.server.auth import ApiKeys, key_digest
from customer_graph.server.http import Security
from customer_graph.server.ratelimit import TokenBucket
from customer_graph.server.wiring import build_gateway
from customer_graph.settings import Settings, parse
from customer_graph.simulators import SimulatorOptions, create_simulators_app
from customer_graph.simulators.dataset import Dataset, Person

CAPILLARY_RATE_LIMIT = 600


def demo_settings(
    sim_base_url: str, store_url: str = "sqlite://:memory:", policies: dict[str, dict[str, object]] | None = None
) -> Settings:
    """Settings for the gateway against the simulators served at ``sim_base_url`` (e.g. ``http://h:p/sim``);
    ``policies`` replaces a provider's call policy (``{"twc": {"deadline": 1}}``)."""
    from customer_graph.simulators.dataset import CAPILLARY_PROGRAMS
    from customer_graph.simulators.martjack.app import DEMO_APP
    from customer_graph.simulators.openloyalty.app import ADMIN_PASSWORD, ADMIN_USERNAME
    from customer_graph.simulators.openloyalty.store import LEVELS, STORE_CODE
    from customer_graph.simulators.twc.app import DEMO_CLIENT

    providers: dict[str, dict[str, object]] = {
        "capillary": {
            "base_url": f"{sim_base_url}/capillary",
            "auth": "oauth",
            "oauth_key": "demo-key",
            "oauth_secret": "demo-secret",
            "policy": {"rate_limit_per_minute": CAPILLARY_RATE_LIMIT},
            "program_names": {str(pid): name for pid, name, _ in CAPILLARY_PROGRAMS},
            "programs": [str(pid) for pid, _, _ in CAPILLARY_PROGRAMS],
        },
        "martjack": {
            "base_url": f"{sim_base_url}/martjack",
            "merchant_id": DEMO_APP.merchant_id,
            "public_key": DEMO_APP.public_key,
            "secret": DEMO_APP.secret,
        },
        "openloyalty": {
            "base_url": f"{sim_base_url}/openloyalty",
            "store_code": STORE_CODE,
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "programs": [STORE_CODE, *(level.level_id for level in LEVELS)],
        },
        "twc": {
            "base_url": f"{sim_base_url}/twc",
            "tenant": DEMO_CLIENT.tenant,
            "client_id": DEMO_CLIENT.client_id,
            "client_secret": DEMO_CLIENT.client_secret,
        },
    }
    for name, policy in (policies or {}).items():
        providers[name]["policy"] = policy
    return parse({"store": {"url": store_url}, "providers": providers})


@dataclass(frozen=True)
class DemoKeys:
    """The demo's two API keys: one with every scope, one without ``customers:pii`` (to see the masking)."""

    every_scope: str
    without_pii: str

    @classmethod
    def new(cls, every_scope: str | None = None) -> DemoKeys:
        return cls(every_scope or f"cg_demo_{secrets.token_urlsafe(24)}", f"cg_demo_{secrets.token_urlsafe(24)}")

    def security(self) -> Security:
        return Security(
            authenticator=ApiKeys(
                {
                    key_digest(self.every_scope): Principal("demo", ALL_SCOPES),
                    key_digest(self.without_pii): Principal("demo-without-pii", frozenset({READ, WRITE})),
                }
            ),
            rate_limiter=TokenBucket(per_minute=6_000),
        )


def graphiql_url(base_url: str, api_key: str) -> str:
    """GraphiQL at ``base_url/graphql``, opening with the key in its Headers tab."""
    return f"{base_url}/graphql?headers={quote(json.dumps({'X-API-Key': api_key}), safe='')}"


def create_demo_app(dataset: Dataset, host: str, port: int, keys: DemoKeys | None = None) -> Starlette:
    simulators = create_simulators_app(dataset, SimulatorOptions(seed=dataset.seed))
    settings = demo_settings(f"http://{host}:{port}/sim")

    async def gateway() -> Gateway:
        return build_gateway(settings)

    return create_app(
        gateway, extra_routes=[Mount("/sim", app=simulators)], security=(keys or DemoKeys.new()).security()
    )


@dataclass(frozen=True)
class Example:
    title: str
    query: str


def examples(dataset: Dataset) -> list[Example]:
    """Three queries worth running first, with values from this dataset."""
    # Someone in all four providers whose name one of them spells differently: survivorship and conflicts show.
    everywhere = next(
        (p for p in dataset.persons if _in_all_four(p) and _spelled_differently(p)),
        next(p for p in dataset.persons if _in_all_four(p)),
    )
    return [
        Example(
            "One customer, found by e-mail in all four providers and merged",
            '{ customerByIdentifier(type: EMAIL, value: "%s") {\n'
            "    id displayName birthDate\n"
            "    records { provider recordId }\n"
            "    identifiers(types: [EMAIL, MOBILE]) { type value provider source }\n"
            "    loyaltyPrograms { provider name points tier }\n"
            "    conflicts { field values { provider value } }\n"
            "} }" % everywhere.email,
        ),
        Example(
            "A page of search results",
            '{ customers(search: "%s", first: 3) {\n'
            "    totalCount pageInfo { hasNextPage }\n"
            "    edges { node { displayName records { provider } } }\n"
            "} }" % everywhere.last_name,
        ),
        Example("The providers and their health", "{ providers { name health circuitState } }"),
    ]


def _spelled_differently(person: Person) -> bool:
    views = [getattr(person, p).view for p in person.providers]
    return len({(v.first_name, v.last_name) for v in views}) > 1


def _in_all_four(person: Person) -> bool:
    return len(person.providers) == 4 and person.openloyalty is not None and person.openloyalty.view.email is not None
