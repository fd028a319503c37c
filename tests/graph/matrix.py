"""Shared by the mutation matrix (``test_mutation_matrix_*.py``): every mutation x every provider, driven over
GraphQL against seeded persons, asserting the outcome, what the provider's simulator received and the state
the provider ends in, read back through the provider's own API.

What a provider *received* is its simulator's ``/__sim/stats`` (calls by ``METHOD /path/template``) less the
calls that only fetch the gateway's own credentials, which a token's expiry may add at any time. The
payloads select no ``customer``, so the gateway reads nothing back for them: what is counted is the write.

Raw reads go through the connector's HTTP client (its auth, the provider's paths, no mapper), so the state
checked is the provider's own JSON; they are made after the counts are taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from customer_graph.connectors.capillary.connector import CapillaryConnector
from customer_graph.connectors.martjack.connector import MartjackConnector
from customer_graph.connectors.openloyalty.connector import OpenLoyaltyConnector
from customer_graph.connectors.twc.connector import TwcConnector
from customer_graph.domain.models import Provider
from customer_graph.simulators.dataset import Dataset, Person
from tests.graph.conftest import Graph

OUTCOMES = (
    "outcomes { provider status operation recordId error { code retryable message } } "
    "userErrors { field code message } writeId"
)

# Endpoints, as the simulators count them.
CAP_GET = "GET /v2/customers/{id}"
CAP_PUT = "PUT /v2/customers/{id}"
CAP_REGISTER = "POST /v2/customers"
CAP_CHANGE_IDENTIFIER = "POST /v2/customers/{id}/changeIdentifier"
CAP_SUBSCRIPTIONS = "POST /v2/customers/{id}/subscriptions"
CAP_RETRO = "GET /v2/customers/{id}/retroRequest"
MJ = "/developerapi/Customer"
MJ_GET = f"GET {MJ}/{{merchantId}}/{{UserId}}"
MJ_SESSION = f"POST {MJ}/GetAccessToken/{{merchantId}}"
MJ_UPDATE = f"POST {MJ}/{{merchantId}}/Update"
MJ_CREATE = f"POST {MJ}/{{merchantId}}/Create"
MJ_ADD_ADDRESS = f"POST {MJ}/AddShippingAddress/{{merchantId}}"
MJ_GET_ADDRESSES = f"GET {MJ}/GetShippingAddress/{{merchantId}}/{{UserId}}"
MJ_DELETE_ADDRESS = f"GET {MJ}/DeleteShippingAddress/{{merchantId}}/{{UserId}}/{{ShippingAddressId}}"
MJ_ACTIVATE = f"GET {MJ}/Activation/{{merchantId}}/{{UserId}}"
MJ_DEACTIVATE = f"GET {MJ}/DeActivation/{{merchantId}}/{{UserId}}"
OL = "/api/{storeCode}"
OL_GET = f"GET {OL}/customer/{{customer}}"
OL_PUT = f"PUT {OL}/customer/{{customer}}"
OL_STATUS = f"GET {OL}/admin/customer/{{customer}}/status"
OL_REGISTER = f"POST {OL}/admin/customer/register"
OL_LEVEL = f"POST {OL}/customer/{{customer}}/level"
OL_ACTIVATE = f"POST {OL}/admin/customer/{{customer}}/activate"
OL_DEACTIVATE = f"POST {OL}/admin/customer/{{customer}}/deactivate"
OL_ANONYMIZE = f"POST {OL}/admin/customer/{{customer}}/anonymize"
TWC_GET = "GET /api/v2/customers/{id}"
TWC_PUT = "PUT /api/v2/customers"
TWC_CREATE = "POST /api/v2/customers"
TWC_ADD_ADDRESS = "POST /api/v2/customers/{id}/address"
TWC_DELETE = "DELETE /api/v2/customers/{id}"

# The gateway's own credentials (merchant JWT, admin login, OAuth tokens), not a customer operation. Martjack's
# customer session (GetAccessToken) is not one of them: Update needs it, and it is counted.
_CREDENTIAL_CALLS = (
    "/OAuth/Token/",
    "/oauth/token/generate",
    "/openid-connect/token",
    "/login_check",
    "/token/refresh",
)


@dataclass(frozen=True)
class Subject:
    """A seeded person as the graph knows it: the customer id and the record id at each provider."""

    person: Person
    id: str
    records: dict[Provider, str]


def everyone_in_all_four(dataset: Dataset) -> list[Person]:
    """Persons seeded in all four providers, with an e-mail at Open Loyalty and no Capillary merge history."""
    return [
        p
        for p in dataset.persons
        if p.capillary
        and p.martjack
        and p.openloyalty
        and p.twc
        and p.openloyalty.view.email
        and not p.capillary.victims
    ]


def in_all_four(dataset: Dataset, count: int = 1) -> list[Person]:
    found = everyone_in_all_four(dataset)
    assert len(found) >= count
    return found[:count]


async def subject(graph: Graph, person: Person) -> Subject:
    """The person, found by e-mail (so that the crosswalk links its four records); provider counters are reset
    afterwards, so that a test counts only what it does."""
    body = await graph.query(
        "query($v: String!) { customerByIdentifier(type: EMAIL, value: $v) { id records { provider recordId } } }",
        {"v": person.email},
    )
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customerByIdentifier"]
    records = {Provider[r["provider"]]: r["recordId"] for r in customer["records"]}
    await graph.reset_stats()
    return Subject(person, customer["id"], records)


async def mutate(graph: Graph, field: str, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Run one mutation; its payload, which must hold no error and no user error."""
    body = await graph.query(document, variables)
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"][field]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def outcome(payload: dict[str, Any], provider: Provider) -> dict[str, Any]:
    [found] = [o for o in payload["outcomes"] if o["provider"] == provider.name]
    return found


async def received(graph: Graph, provider: Provider) -> dict[str, int]:
    """What the provider's simulator received since the last reset, without credential calls."""
    return {
        call: n
        for call, n in (await graph.stats(provider)).items()
        if not any(part in call for part in _CREDENTIAL_CALLS)
    }


async def received_by_all(graph: Graph) -> dict[Provider, dict[str, int]]:
    return {provider: await received(graph, provider) for provider in Provider}


def sent(graph: Graph, provider: Provider, method: str, path_part: str) -> list[httpx.Request]:
    """The requests to one provider with this method whose path contains ``path_part``."""
    return [r for r in graph.sent(provider) if r.method == method and path_part in r.url.path]


# -- the providers' own state, read through their own APIs -----------------------------------------------


def _raw(response: httpx.Response, operation: str) -> None:
    return None  # keep every answer, errors included: the test reads the provider's own words


async def capillary_raw(graph: Graph, customer_id: str, embed: str = "") -> httpx.Response:
    """``GET /v2/customers/{id}?source=ALL`` as Capillary answers it (an 8069 victim included)."""
    connector = graph.gateway.connectors[Provider.CAPILLARY]
    assert isinstance(connector, CapillaryConnector)
    params = {"source": "ALL", **({"embed": embed} if embed else {})}
    return await connector.http.request(
        "test", "GET", f"/v2/customers/{customer_id}", idempotent=True, params=params, classify=_raw
    )


async def capillary_customer(graph: Graph, customer_id: str, embed: str = "") -> dict[str, Any]:
    response = await capillary_raw(graph, customer_id, embed)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def capillary_profile(customer: dict[str, Any], source: str) -> dict[str, Any]:
    [profile] = [p for p in customer["profiles"] if p["source"] == source]
    return profile


def capillary_identifiers(customer: dict[str, Any], source: str | None = None) -> set[tuple[str, str]]:
    return {
        (i["type"], i["value"])
        for p in customer["profiles"]
        if source is None or p["source"] == source
        for i in p.get("identifiers", [])
    }


async def martjack_raw(graph: Graph, path: str, *, method: str = "GET", json: Any = None) -> dict[str, Any]:
    """One call under ``/developerapi/Customer/`` (``{m}`` in ``path`` is the merchant id), its envelope."""
    connector = graph.gateway.connectors[Provider.MARTJACK]
    assert isinstance(connector, MartjackConnector)
    merchant = connector.config.merchant_id.lower()
    response = await connector.http.request(
        "test", method, "Customer/" + path.format(m=merchant), idempotent=True, json=json, classify=_raw
    )
    body: dict[str, Any] = response.json()
    return body


async def martjack_customer(graph: Graph, user_id: str) -> dict[str, Any]:
    body = await martjack_raw(graph, f"{{m}}/{user_id}")
    assert body["messageCode"] == "1004", body
    customer: dict[str, Any] = body["Customer"]
    return customer


async def martjack_login_code(graph: Graph, person: Person) -> str:
    """The customer's own login (Martjack keeps no readable status: a deactivated account refuses it, 1042)."""
    assert person.martjack is not None
    body = await martjack_raw(
        graph,
        "{m}/login",
        method="POST",
        json={"username": person.martjack.user_name, "password": person.martjack.password},
    )
    return str(body.get("ErrorCode") or body["messageCode"])


async def martjack_addresses(graph: Graph, user_id: str) -> list[dict[str, Any]]:
    body = await martjack_raw(graph, f"GetShippingAddress/{{m}}/{user_id}")
    addresses: list[dict[str, Any]] = body.get("ShippingAddresses") or []
    return addresses


async def openloyalty_raw(graph: Graph, path: str) -> httpx.Response:
    """``GET /api/{storeCode}/<path>`` as Open Loyalty answers it."""
    connector = graph.gateway.connectors[Provider.OPEN_LOYALTY]
    assert isinstance(connector, OpenLoyaltyConnector)
    return await connector.http.request(
        "test", "GET", f"/api/{connector.config.store_code}/{path}", idempotent=True, classify=_raw
    )


async def openloyalty_customer(graph: Graph, customer_id: str) -> dict[str, Any]:
    response = await openloyalty_raw(graph, f"customer/{customer_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def twc_raw(graph: Graph, customer_id: str) -> httpx.Response:
    connector = graph.gateway.connectors[Provider.TWC]
    assert isinstance(connector, TwcConnector)
    return await connector.http.request(
        "test", "GET", f"/api/v2/customers/{customer_id}", idempotent=True, classify=_raw
    )


async def twc_customer(graph: Graph, customer_id: str) -> dict[str, Any]:
    response = await twc_raw(graph, customer_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def diff(before: Any, after: Any, *, ignore: frozenset[str] = frozenset(), path: str = "") -> dict[str, Any]:
    """What changed between two JSON values, by dotted path (list items by index): ``{path: (old, new)}``."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: dict[str, Any] = {}
        for key in dict.fromkeys([*before, *after]):
            if key in ignore:
                continue
            found |= diff(before.get(key), after.get(key), ignore=ignore, path=f"{path}{key}.")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = {}
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found |= diff(old, new, ignore=ignore, path=f"{path}{index}.")
        return found
    return {} if before == after else {path.rstrip("."): (before, after)}


# What each provider changes by itself on every write (times, versions): left out of ``changes``.
BOOKKEEPING = {
    Provider.CAPILLARY: frozenset({"modifiedDate", "autoUpdateTime"}),
    Provider.MARTJACK: frozenset(),
    Provider.OPEN_LOYALTY: frozenset({"updatedAt", "version"}),
    Provider.TWC: frozenset({"lastModifiedDate", "marketing_preferences_updated_at"}),
}


async def state(graph: Graph, who: Subject) -> dict[Provider, dict[str, Any]]:
    """The subject's record at each provider, as that provider's own API shows it (these reads are counted:
    take it before ``graph.reset_stats()`` or after the counts were checked)."""
    records = who.records
    return {
        Provider.CAPILLARY: await capillary_customer(graph, records[Provider.CAPILLARY]),
        Provider.MARTJACK: await martjack_customer(graph, records[Provider.MARTJACK]),
        Provider.OPEN_LOYALTY: await openloyalty_customer(graph, records[Provider.OPEN_LOYALTY]),
        Provider.TWC: await twc_customer(graph, records[Provider.TWC]),
    }


def changes(
    before: dict[Provider, dict[str, Any]], after: dict[Provider, dict[str, Any]]
) -> dict[Provider, dict[str, Any]]:
    """What changed at each provider, bookkeeping aside."""
    return {provider: diff(before[provider], after[provider], ignore=BOOKKEEPING[provider]) for provider in before}
