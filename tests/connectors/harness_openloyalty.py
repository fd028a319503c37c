"""The Open Loyalty connector against its simulator, in-process, for the shared contract suite and its own tests."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.connectors.http import Policy
from customer_graph.connectors.openloyalty import OpenLoyaltyConfig, OpenLoyaltyConnector
from customer_graph.domain.models import CustomerDraft, IdentifierKey, IdentifierType
from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, Person, generate
from customer_graph.simulators.openloyalty import PREFIX, create_app
from tests.connectors.contract import Harness

SEED = 42
CUSTOMERS = 200
BASE_URL = "http://openloyalty.test" + PREFIX
SEARCH_TEXT = "example.com"  # an e-mail domain: 18 customers of seed 42
SEARCH_PAGE_SIZE = 5
_numbers = itertools.count(1)


@dataclass
class OpenLoyaltyHarness(Harness):
    dataset: Dataset | None = None
    transport: httpx.AsyncBaseTransport | None = None  # the simulator's, for a second connector

    def persons(self) -> list[Person]:
        assert self.dataset is not None
        return self.dataset.in_provider("openloyalty")


def new_customer() -> CustomerDraft:
    """A valid, unique draft: its e-mail and mobile belong to nobody in the dataset."""
    n = next(_numbers)
    return CustomerDraft(
        first_name="Harness",
        last_name=f"Customer{n}",
        email=f"harness.{n}.{uuid.uuid4().hex[:8]}@example.test",
        mobile=f"+447911{n:06d}",
    )


async def build_harness(policy: Policy) -> OpenLoyaltyHarness:
    dataset = generate(SEED, CUSTOMERS)
    # Open Loyalty has no standing rate limit of its own: nothing to disable.
    app = Starlette(routes=[Mount(PREFIX, app=create_app(dataset, SimulatorOptions(seed=SEED)))])
    transport = httpx.ASGITransport(app=app)
    connector = OpenLoyaltyConnector(
        OpenLoyaltyConfig(BASE_URL, "admin", "open", store_code="DEFAULT"), policy, transport=transport
    )
    control = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
    persons = dataset.in_provider("openloyalty")
    parts = [p.openloyalty for p in persons if p.openloyalty is not None]
    with_email = next(p for p in persons if p.openloyalty and p.openloyalty.view.email)
    with_card = next(p for p in persons if p.openloyalty and p.openloyalty.loyalty_card_number)
    with_mobile = persons[1]
    assert with_email.openloyalty and with_card.openloyalty and with_mobile.openloyalty
    lookups = [
        (IdentifierKey(IdentifierType.EMAIL, with_email.email), with_email.openloyalty.customer_id),
        (IdentifierKey(IdentifierType.MOBILE, with_mobile.mobile), with_mobile.openloyalty.customer_id),
        (
            IdentifierKey(IdentifierType.CARD_NUMBER, with_card.openloyalty.loyalty_card_number or ""),
            with_card.openloyalty.customer_id,
        ),
    ]

    async def close() -> None:
        await connector.aclose()
        await control.aclose()

    return OpenLoyaltyHarness(
        connector=connector,
        control=control,
        known_ids=[part.customer_id for part in parts[:5]],
        missing_ids=[str(uuid.UUID(int=n, version=4)) for n in (1, 2, 3)],
        lookups=lookups,
        search_text=SEARCH_TEXT,
        search_page_size=SEARCH_PAGE_SIZE,
        new_customer=new_customer,
        close=close,
        dataset=dataset,
        transport=transport,
    )
