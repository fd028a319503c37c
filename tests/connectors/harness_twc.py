"""The TWC connector against its simulator, in-process, for the contract suite and the TWC tests."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.connectors.http import Policy
from customer_graph.connectors.twc import TwcConfig, TwcConnector
from customer_graph.domain.models import CustomerDraft, IdentifierKey, IdentifierType
from customer_graph.domain.normalise import normalise_email, normalise_phone
from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, Person, generate
from customer_graph.simulators.twc import PREFIX, create_app, credentials
from tests.connectors.contract import Harness

SEED, PERSONS = 42, 200
HOST = "http://twc.test"
_drafts = itertools.count(1)


def twc_persons(dataset: Dataset) -> list[Person]:
    return dataset.in_provider("twc")


def busiest_name(dataset: Dataset) -> tuple[str, int]:
    """The first or last name most TWC customers answer to (the connector searches both, case-insensitively)."""
    counts: Counter[str] = Counter()
    for person in twc_persons(dataset):
        assert person.twc is not None
        view = person.twc.view
        for word in {view.first_name.strip().lower(), view.last_name.strip().lower()}:
            counts[word] += 1
    return counts.most_common(1)[0]


def new_customer() -> CustomerDraft:
    n = next(_drafts)
    return CustomerDraft(first_name="Nova", last_name=f"Tester{n}", email=f"nova.{uuid.uuid4().hex[:12]}@example.test")


def config(**overrides: str) -> TwcConfig:
    creds = credentials()
    values = {
        "base_url": HOST + PREFIX,
        "tenant": creds["tenant"],
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "token_url": HOST + creds["token_url"],
        **overrides,
    }
    return TwcConfig(**values)


Wrap = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


async def build_harness(
    policy: Policy, *, dataset: Dataset | None = None, wrap: Wrap | None = None, twc_config: TwcConfig | None = None
) -> Harness:
    """``wrap`` puts a transport of the test's own between the connector and the simulator."""
    dataset = dataset or generate(SEED, PERSONS)
    app = create_app(dataset, SimulatorOptions(seed=SEED))  # TWC has no standing rate limit
    root = Starlette(routes=[Mount(PREFIX, app=app)])
    transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=root)
    connector = TwcConnector(twc_config or config(), policy, transport=wrap(transport) if wrap else transport)
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app=root), base_url=HOST + PREFIX)

    persons = twc_persons(dataset)
    parts = [p.twc for p in persons if p.twc is not None]
    with_mobile = next(p for p in parts if p.view.mobile)
    with_ref = next(p for p in parts if p.customer_ref)
    messy = next((p for p in parts if p.view.email and p.view.email != p.view.email.strip().lower()), parts[0])
    assert messy.view.email is not None and with_mobile.view.mobile is not None and with_ref.customer_ref
    name, matches = busiest_name(dataset)
    page_size = max(1, min(5, matches // 3))

    async def close() -> None:
        await connector.aclose()
        await control.aclose()

    return Harness(
        connector=connector,
        control=control,
        known_ids=[p.customer_id for p in parts[:5]],
        missing_ids=[str(uuid.UUID(int=1, version=4)), str(uuid.UUID(int=2, version=4))],
        lookups=[
            (IdentifierKey(IdentifierType.EMAIL, normalise_email(messy.view.email)), messy.customer_id),
            (IdentifierKey(IdentifierType.MOBILE, normalise_phone(with_mobile.view.mobile)), with_mobile.customer_id),
            (IdentifierKey(IdentifierType.CUSTOMER_REF, with_ref.customer_ref), with_ref.customer_id),
        ],
        search_text=name.title(),
        search_page_size=page_size,
        new_customer=new_customer,
        close=close,
    )
