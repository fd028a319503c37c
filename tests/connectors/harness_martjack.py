"""The Martjack connector against its simulator, in-process, for the shared contract suite and our own tests."""

from __future__ import annotations

import itertools
import uuid

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.connectors.http import Policy
from customer_graph.connectors.martjack import MartjackConfig, MartjackConnector
from customer_graph.domain.models import CustomerDraft, IdentifierKey, IdentifierType
from customer_graph.domain.normalise import normalise_email, normalise_phone
from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, MartjackPart, generate
from customer_graph.simulators.martjack import DEMO_APP, DEMO_MERCHANT_ID, PREFIX, create_app
from tests.connectors.contract import Harness

SEED = 42
PERSONS = 40
HOST = "http://martjack.test"
BASE_URL = f"{HOST}{PREFIX}"  # the host root, as settings give it; the connector adds /developerapi
SEARCH_TEXT = "example"  # every e-mail UserName of the dataset (18 customers with this seed)
SEARCH_PAGE_SIZE = 5
_serial = itertools.count(1)


def dataset() -> Dataset:
    return generate(SEED, PERSONS)


def martjack_parts(data: Dataset) -> list[MartjackPart]:
    return [p.martjack for p in data.in_provider("martjack") if p.martjack is not None]


def config() -> MartjackConfig:
    return MartjackConfig(
        base_url=BASE_URL, merchant_id=DEMO_MERCHANT_ID, public_key=DEMO_APP.public_key, secret=DEMO_APP.secret
    )


def new_customer() -> CustomerDraft:
    n = next(_serial)
    tag = uuid.uuid4().hex[:10]
    return CustomerDraft(
        first_name="Nova", last_name=f"Tester{n}", email=f"nova.{tag}@new.example", password=f"Pw-{tag}"
    )


def lookups(parts: list[MartjackPart]) -> list[tuple[IdentifierKey, str]]:
    by_email = [p for p in parts if "@" in p.user_name]
    by_mobile = [p for p in parts if "@" not in p.user_name]
    return [
        (IdentifierKey(IdentifierType.USERNAME, by_email[1].user_name), by_email[1].user_id.lower()),
        (IdentifierKey(IdentifierType.EMAIL, normalise_email(by_email[2].user_name)), by_email[2].user_id.lower()),
        (IdentifierKey(IdentifierType.MOBILE, normalise_phone(by_mobile[0].user_name)), by_mobile[0].user_id.lower()),
    ]


def simulator_transport(data: Dataset) -> httpx.ASGITransport:
    """The simulator mounted under its prefix, as the demo serves it (Martjack has no standing rate limit)."""
    simulator = create_app(data, SimulatorOptions(seed=SEED))
    return httpx.ASGITransport(app=Starlette(routes=[Mount(PREFIX, app=simulator)]))


async def build_harness(policy: Policy) -> Harness:
    data = dataset()
    transport = simulator_transport(data)
    connector = MartjackConnector(config(), policy, transport=transport)
    control = httpx.AsyncClient(transport=transport, base_url=f"{HOST}{PREFIX}")
    parts = martjack_parts(data)
    assert sum(SEARCH_TEXT in p.user_name for p in parts) >= 3 * SEARCH_PAGE_SIZE

    async def close() -> None:
        await connector.aclose()
        await control.aclose()

    return Harness(
        connector=connector,
        control=control,
        known_ids=[p.user_id.lower() for p in parts[:5]],
        missing_ids=[str(uuid.UUID(int=i, version=4)) for i in (1, 2)],
        lookups=lookups(parts),
        search_text=SEARCH_TEXT,
        search_page_size=SEARCH_PAGE_SIZE,
        new_customer=new_customer,
        close=close,
    )
