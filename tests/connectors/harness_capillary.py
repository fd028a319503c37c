"""The Capillary connector against its simulator, in-process, for the shared contract suite (OAuth auth)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.connectors.capillary import CapillaryConfig, CapillaryConnector, OAuthCredentials
from customer_graph.connectors.capillary.auth import Credentials
from customer_graph.connectors.http import Policy
from customer_graph.domain.models import CustomerDraft, IdentifierKey, IdentifierType
from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.capillary import PREFIX, create_app
from customer_graph.simulators.dataset import CapillaryPart, Dataset, generate
from tests.connectors.contract import Harness

SEED, SIZE = 42, 60
HOST = "http://capillary.test"
BASE_URL = HOST + PREFIX
OAUTH = OAuthCredentials(key="demo-key", secret="demo-secret")
_drafts = itertools.count(1)


@dataclass
class Simulated:
    """The simulator app, its dataset and a control client, for tests that build their own connectors."""

    dataset: Dataset
    transport: httpx.ASGITransport
    control: httpx.AsyncClient

    def connector(self, policy: Policy, credentials: Credentials = OAUTH) -> CapillaryConnector:
        return CapillaryConnector(CapillaryConfig(BASE_URL, credentials), policy, transport=self.transport)


def simulate(options: SimulatorOptions | None = None) -> Simulated:
    dataset = generate(SEED, SIZE)
    # Capillary's standing 600/min limit is off: tests that want a limit set one.
    options = options or SimulatorOptions(seed=SEED, capillary_rate_limit_per_minute=0)
    app = Starlette(routes=[Mount(PREFIX, app=create_app(dataset, options))])
    transport = httpx.ASGITransport(app=app)
    return Simulated(dataset, transport, httpx.AsyncClient(transport=transport, base_url=BASE_URL))


def parts(dataset: Dataset) -> list[CapillaryPart]:
    return [p.capillary for p in dataset.persons if p.capillary is not None]


def lookups(dataset: Dataset) -> list[tuple[IdentifierKey, str]]:
    """One sample per lookup type, with the customer id it must find (E-mail first: the 'nobody' probe)."""
    every = parts(dataset)
    email = next(p for p in every if p.view.email)
    mobile = next(p for p in every if p.view.mobile)
    wechat = next(p for p in every if p.wechat_id)
    martjack = next(p for p in every if p.martjack_id)
    assert email.view.email and mobile.view.mobile and wechat.wechat_id and martjack.martjack_id
    return [
        (IdentifierKey(IdentifierType.EMAIL, email.view.email.strip().lower()), str(email.customer_id)),
        (IdentifierKey(IdentifierType.MOBILE, "+" + mobile.view.mobile), str(mobile.customer_id)),
        (IdentifierKey(IdentifierType.EXTERNAL_ID, every[1].external_id), str(every[1].customer_id)),
        (IdentifierKey(IdentifierType.WECHAT, wechat.wechat_id), str(wechat.customer_id)),
        (IdentifierKey(IdentifierType.MARTJACK_ID, martjack.martjack_id), str(martjack.customer_id)),
    ]


def new_customer() -> CustomerDraft:
    n = next(_drafts)
    tag = uuid.uuid4().hex[:10]
    return CustomerDraft(
        first_name="New", last_name=f"Customer{n}", email=f"new.{tag}@example.com", external_id=f"NEW{tag.upper()}"
    )


async def build_harness(policy: Policy) -> Harness:
    sim = simulate()
    connector = sim.connector(policy)
    every = parts(sim.dataset)
    live = [str(p.customer_id) for p in every]
    victims = [str(v.customer_id) for p in every for v in p.victims]
    # A merge victim among the known ids: reads must resolve it to its survivor (8069 handled).
    known = [live[0], live[1], victims[0], *live[2:6]]

    async def close() -> None:
        await connector.aclose()
        await sim.control.aclose()

    return Harness(
        connector=connector,
        control=sim.control,
        known_ids=known,
        missing_ids=["399999999", "123"],
        lookups=lookups(sim.dataset),
        search_text="EXT",  # every customer's externalId starts with it
        search_page_size=5,
        new_customer=new_customer,
        close=close,
    )
