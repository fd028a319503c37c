"""The Capillary v2 simulator, driven over HTTP with the documents' sample requests.

Every response is validated against the simulator's OpenAPI document (``validating_client``). Expected values
are computed from the seeded dataset, not from the simulator's own code.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.capillary import PREFIX, create_app, credentials
from customer_graph.simulators.capillary.openapi import OPENAPI
from customer_graph.simulators.dataset import CapillaryPart, Dataset, generate
from tests.simulators.capillary_fixtures import (
    CHANGE_IDENTIFIER_SAMPLE,
    REGISTER_PAGE_SAMPLES,
    REGISTER_SAMPLE,
    SUBSCRIPTIONS_SAMPLE,
    UPDATE_SAMPLE,
)
from tests.simulators.openapi_contract import validating_client

SEED, SIZE = 42, 60
IST = timezone(timedelta(hours=5, minutes=30))
FIRST_NEW_ID = 400_000_001


def basic(till: str, password: str) -> str:
    digest = hashlib.md5(password.encode()).hexdigest()
    return "Basic " + base64.b64encode(f"{till}:{digest}".encode()).decode()


BASIC = basic("demo.till", "demo-password")


def error(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": message}], "warnings": []}


NOT_FOUND = error(8015, "Customer not found for the given identifiers")
MERGED = error(8069, "The customer is merged into another account")
NOT_IN_SOURCE = error(8065, "No customer found in the given source with the given identifier.")
INVALID_INPUT = error(400, "Input is invalid. Please check request parameters or input xml/json")


@pytest.fixture
def dataset() -> Dataset:
    return generate(SEED, SIZE)


async def make_client(
    dataset: Dataset, options: SimulatorOptions | None = None, *, auth: bool = True
) -> httpx.AsyncClient:
    client = await validating_client(create_app(dataset, options or SimulatorOptions(seed=SEED)), OPENAPI)
    if auth:
        client.headers["Authorization"] = BASIC
    return client


@pytest.fixture
async def client(dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    async with await make_client(dataset) as c:
        yield c


def parts(dataset: Dataset) -> list[CapillaryPart]:
    return [p.capillary for p in dataset.persons if p.capillary is not None]


def instore_only(dataset: Dataset) -> list[CapillaryPart]:
    """Customers with one INSTORE profile holding a mobile (and no Martjack id)."""
    return [p for p in parts(dataset) if p.sources == ["INSTORE"] and p.view.mobile and not p.martjack_id]


def with_victim(dataset: Dataset) -> CapillaryPart:
    return next(p for p in parts(dataset) if p.victims)


def ist(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(IST).isoformat()


async def loyalty_points(client: httpx.AsyncClient, customer_id: int, program_id: int = 1016) -> int:
    response = await client.get(f"/v2/customers/{customer_id}/loyaltyDetails?programId={program_id}")
    assert response.status_code == 200
    (program,) = response.json()["data"]
    points: int = program["loyaltyPoints"]
    return points


def new_wechat_customer(wechat: str, *, points: int = 0, mobile: str | None = None) -> dict[str, Any]:
    identifiers = [{"type": "wechat", "value": wechat}]
    if mobile:
        identifiers.append({"type": "mobile", "value": mobile})
    body: dict[str, Any] = {
        "profiles": [
            {
                "firstName": "Wei",
                "lastName": "Chen",
                "identifiers": identifiers,
                "source": "WECHAT",
                "accountId": "22232",
            }
        ]
    }
    if points:
        body["loyaltyProgramEnrollments"] = [{"programId": 1016, "tierNumber": 1, "loyaltyPoints": points}]
    return body


# -- auth ------------------------------------------------------------------------------------------------------


async def test_basic_auth_takes_the_md5_of_the_password(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = parts(dataset)[0]
    response = await client.get(f"/v2/customers/{part.customer_id}?source=INSTORE")
    assert response.status_code == 200
    assert response.json()["id"] == part.customer_id


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("demo.till", "wrong-password"),
        "Basic " + base64.b64encode(b"demo.till:demo-password").decode(),  # the password itself, not its md5
        basic("unknown.till", "demo-password"),
        "Basic !!!not-base64!!!",
        "Bearer something",
    ],
)
async def test_missing_or_wrong_credentials_get_401(dataset: Dataset, authorization: str | None) -> None:
    async with await make_client(dataset, auth=False) as client:
        headers = {"Authorization": authorization} if authorization else {}
        response = await client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE", headers=headers)
    assert response.status_code == 401
    assert response.json() == error(401, "Invalid credentials")


async def test_oauth_token_is_generated_and_accepted_in_its_header(dataset: Dataset) -> None:
    async with await make_client(dataset, auth=False) as client:
        generated = await client.post("/v3/oauth/token/generate", json={"key": "demo-key", "secret": "demo-secret"})
        assert generated.status_code == 200
        body = generated.json()
        assert body["errors"] is None
        assert body["data"]["ttlSeconds"] == 300
        token = body["data"]["accessToken"]
        response = await client.get(
            f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE", headers={"X-CAP-API-OAUTH-TOKEN": token}
        )
        assert response.status_code == 200
        unknown = await client.get(
            f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE",
            headers={"X-CAP-API-OAUTH-TOKEN": "not-a-token"},
        )
        assert unknown.status_code == 401
        assert unknown.json() == error(401, "Invalid or expired OAuth token")


async def test_oauth_token_generation_refuses_bad_keys(dataset: Dataset) -> None:
    async with await make_client(dataset, auth=False) as client:
        wrong = await client.post("/v3/oauth/token/generate", json={"key": "demo-key", "secret": "nope"})
        missing = await client.post("/v3/oauth/token/generate", json={"key": "demo-key"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "data": None,
        "errors": [{"status": False, "code": 401, "message": "Invalid key or secret"}],
    }
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["code"] == 400


async def test_expired_tokens_are_refused_until_a_new_one_is_generated(dataset: Dataset) -> None:
    async with await make_client(dataset, auth=False) as client:
        url = f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE"
        credentials_body = {"key": "demo-key", "secret": "demo-secret"}
        token = (await client.post("/v3/oauth/token/generate", json=credentials_body)).json()["data"]["accessToken"]
        assert (await client.get(url, headers={"X-CAP-API-OAUTH-TOKEN": token})).status_code == 200
        assert (await client.post("/__sim/tokens/expire")).json() == {"expired": 1}
        expired = await client.get(url, headers={"X-CAP-API-OAUTH-TOKEN": token})
        assert expired.status_code == 401
        assert expired.json() == error(401, "Invalid or expired OAuth token")
        fresh = (await client.post("/v3/oauth/token/generate", json=credentials_body)).json()["data"]["accessToken"]
        assert (await client.get(url, headers={"X-CAP-API-OAUTH-TOKEN": fresh})).status_code == 200


async def test_token_lifetime_follows_the_option(dataset: Dataset) -> None:
    async with await make_client(dataset, SimulatorOptions(token_ttl_seconds=0.2), auth=False) as client:
        data = (
            await client.post("/v3/oauth/token/generate", json={"key": "demo-key", "secret": "demo-secret"})
        ).json()["data"]
        assert data["ttlSeconds"] == 1
        url = f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE"
        assert (await client.get(url, headers={"X-CAP-API-OAUTH-TOKEN": data["accessToken"]})).status_code == 200
        await asyncio.sleep(0.25)
        response = await client.get(url, headers={"X-CAP-API-OAUTH-TOKEN": data["accessToken"]})
    assert response.status_code == 401
    assert response.json() == error(401, "Invalid or expired OAuth token")


async def test_a_read_only_till_reads_but_cannot_write(dataset: Dataset) -> None:
    part = instore_only(dataset)[0]
    async with await make_client(dataset, auth=False) as client:
        client.headers["Authorization"] = basic("readonly.till", "demo-password")
        assert (await client.get(f"/v2/customers/{part.customer_id}?source=INSTORE")).status_code == 200
        response = await client.put(
            f"/v2/customers/{part.customer_id}?source=INSTORE",
            json={"profiles": [{"firstName": "X", "source": "INSTORE"}]},
        )
    assert response.status_code == 403
    assert response.json() == error(403, "Access denied: no write access to the customer resource")


def test_credentials_name_what_works() -> None:
    creds = credentials()
    assert "demo.till" in creds["basic"] and "demo-password" in creds["basic"]
    assert "demo-key" in creds["oauth"] and "demo-secret" in creds["oauth"]
    assert PREFIX == "/capillary"


# -- register ------------------------------------------------------------------------------------------------


async def test_register_the_documents_sample(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/customers?source=MOBILE_APP&accountId=400", json=REGISTER_SAMPLE)
    assert response.status_code == 200
    assert response.json() == {
        "createdId": FIRST_NEW_ID,
        "warnings": [],
        "sideEffects": [{"entityType": "USER", "rawAwardedPoints": 75.0, "awardedPoints": 75, "type": "points"}],
    }

    customer = (await client.get(f"/v2/customers/{FIRST_NEW_ID}?source=MOBILE_APP&accountId=400&embed=mlp")).json()
    (profile,) = customer["profiles"]
    assert profile["firstName"] == "Tom" and profile["lastName"] == "Sawyer"
    assert profile["identifiers"] == [
        {"type": "email", "value": "tom.sawyer@example.com"},
        {"type": "mobile", "value": "91901000001"},
    ]
    assert profile["source"] == "MOBILE_APP" and profile["accountId"] == "400"
    assert profile["fields"] == {"employee": "true", "dateofbirth": "22-10-2000"}
    assert [c["type"] for c in profile["commChannels"]] == ["mobilePush", "mobile"]
    assert profile["commChannels"][0]["primary"] is True
    assert customer["extendedFields"] == {"gender": "Male", "city": "Bangalore"}
    assert customer["loyaltyInfo"]["loyaltyType"] == "loyalty"
    (program,) = customer["loyaltyProgramDetails"]
    # Tier 234 of a three-tier program is its highest tier.
    assert (
        program["programId"],
        program["loyaltyPoints"],
        program["currentSlab"],
        program["slabSNo"],
        program["nextSlab"],
        program["nextSlabSerialNumber"],
        program["slabExpiryDate"],
    ) == (1016, 75, "Platinum", 3, "", -1, "2022-02-11T16:36:17+05:30")


@pytest.mark.parametrize("index", [2, 3, 4, 5])
async def test_register_the_register_pages_samples(client: httpx.AsyncClient, index: int) -> None:
    sample = REGISTER_PAGE_SAMPLES[index]
    response = await client.post("/v2/customers", json=sample)
    assert response.status_code == 200
    assert response.json() == {"createdId": FIRST_NEW_ID, "warnings": [], "sideEffects": []}
    raw = sample["profiles"][0]
    source, account = raw["source"], raw.get("accountId")
    query = f"source={source}" + (f"&accountId={account}" if account else "")
    customer = (await client.get(f"/v2/customers/{FIRST_NEW_ID}?{query}")).json()
    assert [i["value"] for i in customer["profiles"][0]["identifiers"]] == [i["value"] for i in raw["identifiers"]]
    assert customer["extendedFields"] == sample.get("extendedFields", {})


@pytest.mark.parametrize("index", [0, 1])
async def test_register_samples_naming_an_unknown_program_are_refused(client: httpx.AsyncClient, index: int) -> None:
    # The register page's programId 469 is not a program of the demo org (1016, 1017).
    response = await client.post("/v2/customers", json=REGISTER_PAGE_SAMPLES[index])
    assert response.status_code == 400
    assert response.json() == error(1023, "Unable to register customer to loyalty program.")
    mobile = REGISTER_PAGE_SAMPLES[index]["profiles"][0]["identifiers"][0]["value"]
    lookup = await client.get(f"/v2/customers/lookup?source=ALL&identifierName=mobile&identifierValue={mobile}")
    assert lookup.json() == NOT_FOUND


async def test_an_identifier_held_in_the_same_source_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v2/customers", json=REGISTER_PAGE_SAMPLES[3])).status_code == 200
    # Customer_add_23 carries the same card number as Tom Sawyer.
    response = await client.post("/v2/customers", json=REGISTER_PAGE_SAMPLES[5])
    assert response.status_code == 400
    assert response.json() == error(8008, "The new identifier already exists in the same source.")


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("mobile", 1032, "A customer already exists with the same mobile number."),
        ("email", 1016, "Unable to register. Email provided already exists for some other user."),
        ("externalId", 1033, "A customer already exists with the same external id."),
    ],
)
async def test_register_with_another_customers_identifier_in_the_same_source(
    dataset: Dataset, client: httpx.AsyncClient, kind: str, code: int, message: str
) -> None:
    part = instore_only(dataset)[0]
    taken = {
        "mobile": "+" + str(part.view.mobile),
        "email": str(part.view.email).upper(),
        "externalId": part.external_id,
    }[kind]
    body = {
        "profiles": [
            {
                "firstName": "New",
                "source": "INSTORE",
                "identifiers": [
                    {"type": kind, "value": taken},
                    {
                        "type": "email" if kind != "email" else "mobile",
                        "value": "fresh@example.com" if kind != "email" else "447700900999",
                    },
                ],
            }
        ]
    }
    response = await client.post("/v2/customers?source=INSTORE", json=body)
    assert response.status_code == 400
    assert response.json() == error(code, message)
    # Nothing was created.
    assert (await client.get(f"/v2/customers/{FIRST_NEW_ID}?source=ALL")).json() == NOT_FOUND


async def test_registering_the_same_customer_again_in_its_source(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    body = {
        "profiles": [
            {
                "source": "INSTORE",
                "identifiers": [
                    {"type": "mobile", "value": part.view.mobile},
                    {"type": "externalId", "value": part.external_id},
                ],
            }
        ]
    }
    response = await client.post("/v2/customers", json=body)
    assert response.status_code == 400
    assert response.json() == error(8006, "Customer already exists for same source.")


@pytest.mark.parametrize(
    "body",
    [
        {"profiles": [{"firstName": "No", "lastName": "Identifiers", "source": "INSTORE"}]},
        {"profiles": [{"source": "INSTORE", "identifiers": [{"type": "wechat", "value": "wx_only"}]}]},
        {"profiles": []},
        {},
    ],
)
async def test_register_without_a_required_identifier(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v2/customers?source=INSTORE", json=body)
    assert response.status_code == 400
    assert response.json() == error(
        1007, "Unable to register customer. No valid primary identifier mobile number, email ID, or external ID passed."
    )


@pytest.mark.parametrize(
    ("query", "profile", "expected"),
    [
        (
            "source=NOWHERE",
            {"identifiers": [{"type": "email", "value": "a@example.com"}]},
            error(3217, "Source is invalid."),
        ),
        ("", {"identifiers": [{"type": "email", "value": "a@example.com"}]}, error(3217, "Source is invalid.")),
        (
            "source=WECHAT",
            {"identifiers": [{"type": "wechat", "value": "wx_1"}]},
            error(8045, "Account id is not passed."),
        ),
        (
            "source=INSTORE",
            {"identifiers": [{"type": "mobile", "value": "12ab"}]},
            error(1001, "Unable to register. Invalid mobile number."),
        ),
        (
            "source=INSTORE",
            {"identifiers": [{"type": "email", "value": "[email protected]"}]},
            error(1002, "Unable to register. Invalid email id."),
        ),
        (
            "source=INSTORE",
            {"identifiers": [{"type": "externalId", "value": " "}]},
            error(1003, "Unable to register. Invalid external id."),
        ),
        (
            "source=INSTORE",
            {"identifiers": [{"type": "passport", "value": "X1"}]},
            error(1104, "Invalid identifier or no identifier passed."),
        ),
        ("source=INSTORE", {"identifiers": [{"value": "no-type@example.com"}]}, INVALID_INPUT),
    ],
)
async def test_register_validation(
    client: httpx.AsyncClient, query: str, profile: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = await client.post(f"/v2/customers?{query}", json={"profiles": [profile]})
    assert response.status_code == 400
    assert response.json() == expected


async def test_register_with_an_identifier_held_in_another_source_combines(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    part = instore_only(dataset)[0]
    before = await loyalty_points(client, part.customer_id)
    body = new_wechat_customer("wx_combined", points=40, mobile=part.view.mobile)
    response = await client.post("/v2/customers?source=WECHAT&accountId=22232", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "createdId": part.customer_id,
        "warnings": [{"status": False, "code": 8050, "message": "Same Customer found in other sources,Combining"}],
        "sideEffects": [{"entityType": "USER", "rawAwardedPoints": 40.0, "awardedPoints": 40, "type": "points"}],
    }
    customer = (await client.get(f"/v2/customers/{part.customer_id}?source=ALL")).json()
    assert [(p["source"], p.get("accountId")) for p in customer["profiles"]] == [("INSTORE", None), ("WECHAT", "22232")]
    assert await loyalty_points(client, part.customer_id) == before + 40
    lookup = await client.get(
        "/v2/customers/lookup?source=WECHAT&accountId=22232&identifierName=wechat&identifierValue=wx_combined"
    )
    assert lookup.json() == {"entity": part.customer_id, "warnings": []}


async def test_register_with_identifiers_of_two_customers_is_refused(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    first, second = instore_only(dataset)[:2]
    body = {
        "profiles": [
            {
                "source": "ECOMMERCE",
                "identifiers": [
                    {"type": "mobile", "value": first.view.mobile},
                    {"type": "email", "value": second.view.email},
                ],
            }
        ]
    }
    response = await client.post("/v2/customers", json=body)
    assert response.status_code == 400
    assert response.json() == error(
        8053, "Each identifier is registered with a different customer in other source. Unable to merge accounts."
    )
    assert len((await client.get(f"/v2/customers/{first.customer_id}?source=ALL")).json()["profiles"]) == 1


# -- fetch ---------------------------------------------------------------------------------------------------


async def test_fetch_customer_details_of_a_seeded_customer(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    view = part.view
    assert view.address is not None and view.birth_date is not None
    response = await client.get(f"/v2/customers/{part.customer_id}?source=INSTORE")
    assert response.status_code == 200
    body = response.json()
    created = ist(view.registered_at)
    till = {"code": "demo.till", "description": "", "name": "demo.till", "type": "TILL"}
    channel_meta = {"residence": True, "office": False}
    assert body["profiles"] == [
        {
            "firstName": view.first_name,
            "lastName": view.last_name,
            "attribution": {"createDate": created, "createdBy": till, "modifiedBy": till, "modifiedDate": created},
            "fields": {
                "dateofbirth": view.birth_date.strftime("%d-%m-%Y"),
                "customer_address": ", ".join(x for x in (view.address.line1, view.address.line2) if x),
            },
            "identifiers": [
                {"type": "mobile", "value": view.mobile},
                {"type": "email", "value": view.email},
                {"type": "externalId", "value": part.external_id},
            ],
            "commChannels": [
                {"type": "mobile", "value": view.mobile, "primary": True, "verified": True, "meta": channel_meta},
                {"type": "email", "value": view.email, "primary": True, "verified": True, "meta": channel_meta},
            ],
            "source": "INSTORE",
            "userId": part.customer_id,
            "conflictingProfileList": [],
            "autoUpdateTime": created,
        }
    ]
    assert "+" not in str(view.mobile)
    assert body["id"] == part.customer_id
    assert body["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert body["loyaltyInfo"]["attributionV2"]["createDate"] == created
    assert body["extendedFields"]["city"] == view.address.city
    assert body["extendedFields"]["zip"] == view.address.postcode
    assert body["warnings"] == [] and body["segments"] == {}
    assert "pointsSummary" not in body and "subscriptionInfo" not in body


async def test_fetch_customer_details_embeds_points_subscriptions_and_programs(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    part = next(p for p in parts(dataset) if len(p.programs) == 2 and p.consents)
    body = (await client.get(f"/v2/customers/{part.customer_id}?source=ALL&embed=points,subscriptions,mlp")).json()
    main = part.programs[0]
    summary = body["pointsSummary"]
    assert (
        summary["loyaltyPoints"],
        summary["lifetimePoints"],
        summary["redeemed"],
        summary["expired"],
        summary["currentSlab"],
        summary["nextSlab"] or None,
    ) == (main.points, main.lifetime_points, main.redeemed_points, main.expired_points, main.tier, main.next_tier)
    assert main.points_expiry is not None
    assert summary["slabExpiryDate"] == f"{main.points_expiry.isoformat()}T23:59:59+05:30"
    assert [(p["programId"], p["loyaltyPoints"], p["currentSlab"]) for p in body["loyaltyProgramDetails"]] == [
        (b.program_id, b.points, b.tier) for b in part.programs
    ]
    priorities = {"TRANSACTIONAL": "TRANS", "MARKETING": "BULK"}
    expected = {(c.channel, priorities[c.kind], "OPTIN" if c.opted_in else "OPTOUT") for c in part.consents}
    got = body["subscriptionInfo"]["subscriptions"]
    assert {(s["channel"], s["priority"], s["type"]) for s in got} == expected
    assert len(got) == len(expected)


async def test_fetch_customer_details_by_source(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = next(p for p in parts(dataset) if "WECHAT" in p.sources)
    wechat = await client.get(f"/v2/customers/{part.customer_id}?source=WECHAT&accountId=22232")
    (profile,) = wechat.json()["profiles"]
    assert profile["identifiers"] == [{"type": "wechat", "value": part.wechat_id}]
    assert profile["accountId"] == "22232"
    every = (await client.get(f"/v2/customers/{part.customer_id}?source=ALL")).json()["profiles"]
    expected_sources = list(part.sources) + (
        ["MARTJACK"] if part.martjack_id and "MARTJACK" not in part.sources else []
    )
    assert [p["source"] for p in every] == expected_sources


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/v2/customers/1?source=INSTORE", 404, NOT_FOUND),
        ("/v2/customers/{id}", 400, error(8012, "Invalid source passed.")),
        ("/v2/customers/{id}?source=MOON", 400, error(8012, "Invalid source passed.")),
        ("/v2/customers/{id}?source=WECHAT", 400, error(8045, "Account id is not passed.")),
        ("/v2/customers/{id}?source=WECHAT&accountId=22232", 404, NOT_IN_SOURCE),
        ("/v2/customers/abc?source=INSTORE", 400, INVALID_INPUT),
    ],
)
async def test_fetch_customer_details_errors(
    dataset: Dataset, client: httpx.AsyncClient, path: str, status: int, expected: dict[str, Any]
) -> None:
    response = await client.get(path.replace("{id}", str(instore_only(dataset)[0].customer_id)))
    assert response.status_code == status
    assert response.json() == expected


async def test_a_seeded_victim_answers_8069_and_names_its_survivor(dataset: Dataset, client: httpx.AsyncClient) -> None:
    survivor = with_victim(dataset)
    victim = survivor.victims[0]
    for path in (
        f"/v2/customers/{victim.customer_id}?source=ALL",
        f"/v2/customers/{victim.customer_id}/loyaltyDetails",
        f"/v2/customers/{victim.customer_id}/subscriptions",
    ):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json() == MERGED
    history = await client.get(f"/v2/customers/{victim.customer_id}/retroRequest?changeType=MERGE")
    assert history.status_code == 200
    body = history.json()
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": 1}
    (item,) = body["data"]
    assert (item["status"], item["baseType"], item["userId"]) == ("APPROVED", "MERGE", survivor.customer_id)
    # The victim's points are already in the survivor's balance: nothing is added twice.
    assert await loyalty_points(client, survivor.customer_id) == survivor.programs[0].points


# -- update --------------------------------------------------------------------------------------------------


async def register_tom_on_wechat(client: httpx.AsyncClient, *, loyalty: str = "loyalty") -> int:
    body = {
        "loyaltyInfo": {"loyaltyType": loyalty},
        "profiles": [
            {
                "firstName": "Tom",
                "lastName": "Sawyer",
                "source": "WECHAT",
                "accountId": "22232",
                "identifiers": [
                    {"type": "mobile", "value": "919111111111"},
                    {"type": "email", "value": "tom.sawyer@example.com"},
                    {"type": "wechat", "value": "wc_2"},
                ],
            }
        ],
    }
    response = await client.post("/v2/customers?source=WECHAT&accountId=22232", json=body)
    assert response.status_code == 200
    created: int = response.json()["createdId"]
    return created


async def test_update_customer_details_with_the_documents_sample(client: httpx.AsyncClient) -> None:
    customer_id = await register_tom_on_wechat(client)
    response = await client.put(f"/v2/customers/{customer_id}?source=WECHAT&accountId=22232", json=UPDATE_SAMPLE)
    assert response.status_code == 200
    assert response.json() == {"createdId": customer_id, "warnings": []}
    body = (await client.get(f"/v2/customers/{customer_id}?source=WECHAT&accountId=22232")).json()
    (profile,) = body["profiles"]
    assert profile["fields"] == {"gender": "Male", "city": "Bangalore"}
    assert [(c["type"], c["verified"]) for c in profile["commChannels"]] == [("email", False), ("wechat", True)]
    assert body["extendedFields"] == {"gender": "MALE", "city": "Bangalore"}
    # Already enrolled in 1016 (registered as loyalty): "You cannot update details if the customer is already
    # enrolled in the loyalty program."
    assert await loyalty_points(client, customer_id) == 0


async def test_update_changes_names_and_later_reads_show_it(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    body = {
        "profiles": [
            {"firstName": "Katarzyna", "lastName": "Nowak", "source": "INSTORE", "fields": {"employee": True}}
        ],
        "extendedFields": {"city": "Gdańsk"},
    }
    response = await client.put(f"/v2/customers/{part.customer_id}?source=INSTORE", json=body)
    assert response.status_code == 200
    customer = (await client.get(f"/v2/customers/{part.customer_id}?source=INSTORE")).json()
    profile = customer["profiles"][0]
    assert (profile["firstName"], profile["lastName"], profile["fields"]["employee"]) == ("Katarzyna", "Nowak", "true")
    assert customer["extendedFields"]["city"] == "Gdańsk"
    assert profile["attribution"]["modifiedDate"] != profile["attribution"]["createDate"]


async def test_update_cannot_change_identifiers(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    body = {
        "profiles": [
            {
                "firstName": "Changed",
                "source": "INSTORE",
                "identifiers": [
                    {"type": "mobile", "value": part.view.mobile},
                    {"type": "email", "value": "new.address@example.com"},
                ],
            }
        ]
    }
    response = await client.put(f"/v2/customers/{part.customer_id}?source=INSTORE", json=body)
    assert response.status_code == 400
    assert response.json() == error(91006, "email update is not allowed.")
    profile = (await client.get(f"/v2/customers/{part.customer_id}?source=INSTORE")).json()["profiles"][0]
    assert profile["firstName"] == part.view.first_name
    assert {"type": "email", "value": part.view.email} in profile["identifiers"]


async def test_update_cannot_change_the_source(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    response = await client.put(
        f"/v2/customers/{part.customer_id}?source=INSTORE",
        json={"profiles": [{"firstName": "X", "source": "WECHAT", "accountId": "22232"}]},
    )
    assert response.status_code == 400
    assert response.json() == error(91006, "source update is not allowed.")


async def test_loyalty_cannot_become_non_loyalty_but_the_reverse_works(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    part = instore_only(dataset)[0]
    refused = await client.put(
        f"/v2/customers/{part.customer_id}?source=INSTORE", json={"loyaltyInfo": {"loyaltyType": "non_loyalty"}}
    )
    assert refused.status_code == 400
    assert refused.json() == error(1046, "Conversion of loyalty customer to non-loyalty is not allowed.")

    customer_id = await register_tom_on_wechat(client, loyalty="non_loyalty")
    assert (await client.get(f"/v2/customers/{customer_id}/loyaltyDetails")).json()["data"] == []
    converted = await client.put(
        f"/v2/customers/{customer_id}?source=WECHAT&accountId=22232", json={"loyaltyInfo": {"loyaltyType": "loyalty"}}
    )
    assert converted.status_code == 200
    body = (await client.get(f"/v2/customers/{customer_id}?source=ALL&embed=points")).json()
    assert body["loyaltyInfo"]["loyaltyType"] == "loyalty"
    assert (body["pointsSummary"]["currentSlab"], body["pointsSummary"]["loyaltyPoints"]) == ("Silver", 0)


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        ("/v2/customers/1?source=INSTORE", 404, NOT_FOUND),
        ("/v2/customers/{id}?source=WECHAT&accountId=22232", 404, NOT_IN_SOURCE),
        ("/v2/customers/{id}?source=ALL", 400, error(8012, "Invalid source passed.")),
    ],
)
async def test_update_errors(
    dataset: Dataset, client: httpx.AsyncClient, path: str, status: int, expected: dict[str, Any]
) -> None:
    response = await client.put(
        path.replace("{id}", str(instore_only(dataset)[0].customer_id)), json={"extendedFields": {"city": "X"}}
    )
    assert response.status_code == status
    assert response.json() == expected


# -- change identifiers and merges ---------------------------------------------------------------------------


async def test_change_identifier_with_the_documents_sample(client: httpx.AsyncClient) -> None:
    customer_id = await register_tom_on_wechat(client)
    response = await client.post(
        f"/v2/customers/{customer_id}/changeIdentifier?source=WECHAT&accountId=22232", json=CHANGE_IDENTIFIER_SAMPLE
    )
    assert response.status_code == 200
    assert response.json() == {"success": True, "warnings": []}
    profile = (await client.get(f"/v2/customers/{customer_id}?source=WECHAT&accountId=22232")).json()["profiles"][0]
    assert profile["identifiers"] == [
        {"type": "mobile", "value": "919111111111"},
        {"type": "wechat", "value": "wc_2"},
        {"type": "wechat", "value": "ray11"},
    ]
    removed = await client.get(
        "/v2/customers/lookup?source=ALL&identifierName=email&identifierValue=tom.sawyer@example.com"
    )
    assert removed.json() == NOT_FOUND
    history = (await client.get(f"/v2/customers/{customer_id}/retroRequest?changeType=EMAIL")).json()
    assert [(i["baseType"], i["userId"]) for i in history["data"]] == [("EMAIL", customer_id)]


async def test_adding_another_customers_identifier_merges_the_newer_into_the_older(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    survivor = instore_only(dataset)[0]
    survivor_points = await loyalty_points(client, survivor.customer_id)
    registered = await client.post("/v2/customers", json=new_wechat_customer("wx_merge", points=120))
    victim_id = registered.json()["createdId"]

    response = await client.post(
        f"/v2/customers/{victim_id}/changeIdentifier?source=WECHAT&accountId=22232",
        json={"add": [{"type": "mobile", "value": survivor.view.mobile}]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "warnings": [
            {
                "status": False,
                "code": 8051,
                "message": f"Same identifier found in other source. Merging into the account with user id "
                f"{survivor.customer_id}.",
            }
        ],
    }

    gone = await client.get(f"/v2/customers/{victim_id}?source=ALL")
    assert gone.status_code == 404
    assert gone.json() == MERGED
    assert await loyalty_points(client, survivor.customer_id) == survivor_points + 120
    merged = (await client.get(f"/v2/customers/{survivor.customer_id}?source=WECHAT&accountId=22232")).json()
    assert {"type": "wechat", "value": "wx_merge"} in merged["profiles"][0]["identifiers"]
    lookup = await client.get("/v2/customers/lookup?source=ALL&identifierName=wechat&identifierValue=wx_merge")
    assert lookup.json() == {"entity": survivor.customer_id, "warnings": []}
    history = (await client.get(f"/v2/customers/{victim_id}/retroRequest?changeType=MERGE")).json()
    assert history["pagination"]["total"] == 1
    (item,) = history["data"]
    assert (item["status"], item["baseType"], item["userId"]) == ("APPROVED", "MERGE", survivor.customer_id)
    hits = (await client.get("/v2/customers/search?q=wei")).json()["data"]
    assert victim_id not in {hit["userId"] for hit in hits}


async def test_the_older_account_survives_whichever_side_adds_the_identifier(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    older = instore_only(dataset)[0]
    before = await loyalty_points(client, older.customer_id)
    newer = (await client.post("/v2/customers", json=new_wechat_customer("wx_newer", points=7))).json()["createdId"]
    response = await client.post(
        f"/v2/customers/{older.customer_id}/changeIdentifier?source=INSTORE",
        json={"add": [{"type": "wechat", "value": "wx_newer"}]},
    )
    assert response.json()["warnings"][0]["message"].endswith(f"user id {older.customer_id}.")
    assert (await client.get(f"/v2/customers/{newer}?source=ALL")).json() == MERGED
    assert await loyalty_points(client, older.customer_id) == before + 7
    item = (await client.get(f"/v2/customers/{newer}/retroRequest?changeType=MERGE")).json()["data"][0]
    assert item["userId"] == older.customer_id
    # The survivor's history holds the same merge.
    survivor_merges = (await client.get(f"/v2/customers/{older.customer_id}/retroRequest?changeType=MERGE")).json()
    assert [i["id"] for i in survivor_merges["data"]] == [item["id"]]


async def test_change_identifier_errors_change_nothing(dataset: Dataset, client: httpx.AsyncClient) -> None:
    target, other, third = instore_only(dataset)[:3]
    url = f"/v2/customers/{target.customer_id}/changeIdentifier"
    cases: list[tuple[str, dict[str, Any], int, dict[str, Any]]] = [
        (
            "?source=INSTORE",
            {"add": [{"type": "mobile", "value": target.view.mobile}]},
            400,
            error(8007, "Unable to update. The identifier is already registered in the same source."),
        ),
        (
            "?source=INSTORE",
            {"add": [{"type": "email", "value": other.view.email}]},
            400,
            error(8008, "The new identifier already exists in the same source."),
        ),
        (
            "?source=WECHAT&accountId=22232",
            {"add": [{"type": "mobile", "value": other.view.mobile}, {"type": "mobile", "value": third.view.mobile}]},
            400,
            error(
                8053,
                "Each identifier is registered with a different customer in other source. Unable to merge accounts.",
            ),
        ),
        ("?source=INSTORE", {}, 400, error(1104, "Invalid identifier or no identifier passed.")),
        (
            "?source=INSTORE",
            {"remove": [{"type": "email", "value": "not.mine@example.com"}]},
            400,
            error(1104, "Invalid identifier or no identifier passed."),
        ),
        ("?source=INSTORE", {"add": [{"type": "email", "value": "broken"}]}, 400, error(8055, "Invalid email id.")),
        ("?source=INSTORE", {"add": [{"type": "mobile", "value": "12"}]}, 400, error(8056, "Invalid mobile number.")),
        ("?source=WECHAT", {"add": [{"type": "wechat", "value": "wx"}]}, 400, error(8045, "Account id is not passed.")),
        ("", {"add": [{"type": "wechat", "value": "wx"}]}, 400, error(8012, "Invalid source passed.")),
    ]
    before = (await client.get(f"/v2/customers/{target.customer_id}?source=ALL")).json()
    for query, body, status, expected in cases:
        response = await client.post(url + query, json=body)
        assert (response.status_code, response.json()) == (status, expected), body
    assert (await client.get(f"/v2/customers/{target.customer_id}?source=ALL")).json() == before
    for part in (other, third):
        assert (await client.get(f"/v2/customers/{part.customer_id}?source=ALL")).status_code == 200


async def test_change_identifier_of_an_unknown_or_merged_customer(dataset: Dataset, client: httpx.AsyncClient) -> None:
    body = {"add": [{"type": "email", "value": "someone@example.com"}]}
    unknown = await client.post("/v2/customers/1/changeIdentifier?source=INSTORE", json=body)
    assert unknown.status_code == 404
    assert unknown.json() == error(8009, "Unable to identify the customer. Customer id is invalid.")
    victim = with_victim(dataset).victims[0]
    merged = await client.post(f"/v2/customers/{victim.customer_id}/changeIdentifier?source=INSTORE", json=body)
    assert merged.status_code == 404
    assert merged.json() == MERGED


# -- lookup and search ---------------------------------------------------------------------------------------


async def test_fetch_customer_id_by_each_identifier(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = next(p for p in parts(dataset) if p.martjack_id and p.wechat_id and p.view.mobile)
    queries = [
        f"source=INSTORE&identifierName=mobile&identifierValue={part.view.mobile}",
        f"source=INSTORE&identifierName=mobile&identifierValue=%2B{part.view.mobile}",
        f"source=INSTORE&identifierName=email&identifierValue={str(part.view.email).upper()}",
        f"source=ALL&identifierName=externalId&identifierValue={part.external_id}",
        f"source=WECHAT&accountId=22232&identifierName=wechat&identifierValue={part.wechat_id}",
        f"source=MARTJACK&identifierName=martjackId&identifierValue={part.martjack_id}",
    ]
    for query in queries:
        response = await client.get(f"/v2/customers/lookup?{query}")
        assert (response.status_code, response.json()) == (200, {"entity": part.customer_id, "warnings": []}), query


@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("source=INSTORE&identifierName=mobile&identifierValue=919999999999", 404, NOT_FOUND),
        ("source=INSTORE&identifierName=externalId&identifierValue=NOPE", 404, NOT_FOUND),
        ("source=WECHAT&accountId=22232&identifierName=externalId&identifierValue={ext}", 404, NOT_IN_SOURCE),
        (
            "source=INSTORE&identifierName=passport&identifierValue=X",
            400,
            error(
                8013, "Customer identifier is invalid. Also check if the parameter identifierName is passed correctly."
            ),
        ),
        (
            "source=INSTORE&identifierName=mobile",
            400,
            error(
                8013, "Customer identifier is invalid. Also check if the parameter identifierName is passed correctly."
            ),
        ),
        ("source=WECHAT&identifierName=wechat&identifierValue=x", 400, error(8045, "Account id is not passed.")),
        ("identifierName=mobile&identifierValue=1", 400, error(8012, "Invalid source passed.")),
    ],
)
async def test_fetch_customer_id_errors(
    dataset: Dataset, client: httpx.AsyncClient, query: str, status: int, expected: dict[str, Any]
) -> None:
    response = await client.get("/v2/customers/lookup?" + query.replace("{ext}", instore_only(dataset)[0].external_id))
    assert response.status_code == status
    assert response.json() == expected


async def test_search_matches_name_and_identifier_prefixes_with_pagination(
    dataset: Dataset, client: httpx.AsyncClient
) -> None:
    name = parts(dataset)[0].view.first_name
    prefix = name[:3].lower()
    expected = sorted(
        p.customer_id
        for p in parts(dataset)
        if p.view.first_name.lower().startswith(prefix)
        or p.view.last_name.lower().startswith(prefix)
        or str(p.view.email).startswith(prefix)
    )
    page = await client.get(f"/v2/customers/search?limit=10&offset=0&q={prefix}")
    assert page.status_code == 200
    body = page.json()
    assert body["pagination"] == {"limit": 10, "offset": 0, "total": len(expected)}
    assert [hit["userId"] for hit in body["data"]] == expected[:10]
    first = body["data"][0]
    assert first["matchedIdentifiers"][0] == {
        "idType": "firstName",
        "idValue": name,
        "source": "INSTORE",
        "accountId": "",
    }
    assert body["warnings"] == [] and body["errors"] == []
    second = (await client.get(f"/v2/customers/search?limit=1&offset=1&q={prefix}")).json()
    assert [hit["userId"] for hit in second["data"]] == expected[1:2]

    part = instore_only(dataset)[0]
    by_mobile = (await client.get(f"/v2/customers/search?q={str(part.view.mobile)[:-1]}")).json()
    assert [hit["userId"] for hit in by_mobile["data"]] == [part.customer_id]
    assert by_mobile["data"][0]["matchedIdentifiers"] == [
        {"idType": "mobile", "idValue": part.view.mobile, "source": "INSTORE", "accountId": ""}
    ]


async def test_search_without_a_query_is_refused(client: httpx.AsyncClient) -> None:
    for url in ("/v2/customers/search", "/v2/customers/search?q=tom&limit=ten"):
        response = await client.get(url)
        assert response.status_code == 400
        assert response.json() == INVALID_INPUT


# -- loyalty and subscriptions -------------------------------------------------------------------------------


async def test_fetch_customer_loyalty_details(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = next(p for p in parts(dataset) if len(p.programs) == 2)
    body = (await client.get(f"/v2/customers/{part.customer_id}/loyaltyDetails")).json()
    assert body["warnings"] == [] and body["errors"] == []
    for got, balance in zip(body["data"], part.programs, strict=True):
        assert (
            got["programId"],
            got["loyaltyPoints"],
            got["lifetimePoints"],
            got["redeemed"],
            got["expired"],
            got["currentSlab"],
            got["nextSlab"] or None,
            got["loyaltyId"],
        ) == (
            balance.program_id,
            balance.points,
            balance.lifetime_points,
            balance.redeemed_points,
            balance.expired_points,
            balance.tier,
            balance.next_tier,
            body["data"][0]["loyaltyId"],
        )
    only = (await client.get(f"/v2/customers/{part.customer_id}/loyaltyDetails?programId=1017")).json()["data"]
    assert [p["programId"] for p in only] == [1017]
    unknown = await client.get("/v2/customers/1/loyaltyDetails")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


async def test_update_subscriptions_with_the_documents_sample(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = instore_only(dataset)[0]
    response = await client.post(f"/v2/customers/{part.customer_id}/subscriptions", json=SUBSCRIPTIONS_SAMPLE)
    assert response.status_code == 200
    assert response.json() == {
        "scope": {
            "scopeId": 0,
            "scope": "USER",
            "subScope": "NONE",
            "setCreatedOn": False,
            "setPriority": False,
            "setScopeId": False,
            "setScope": True,
            "setSubScope": True,
        },
        "subscriptions": [
            {"channel": "EMAIL", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
            {"channel": "SMS", "accountId": "", "priority": "BULK", "type": "OPTOUT"},
            {"channel": "EMAIL", "accountId": "", "priority": "TRANS", "type": "OPTIN"},
            {"channel": "SMS", "accountId": "123", "priority": "TRANS", "type": "OPTIN"},
        ],
        "campaignId": -1,
        "communicationId": -1,
        "reason": "Example reason",
        "warnings": [],
    }
    read = await client.get(f"/v2/customers/{part.customer_id}/subscriptions")
    assert read.status_code == 200
    assert read.json() == {
        "subscriptions": [
            {"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"},
            {"channel": "SMS", "priority": "TRANS", "type": "OPTIN"},
            {"channel": "EMAIL", "priority": "BULK", "type": "OPTOUT"},
            {"channel": "SMS", "priority": "BULK", "type": "OPTOUT"},
        ],
        "campaignId": 0,
        "communicationId": 0,
        "warnings": [],
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"channel": "PIGEON"}, error(1101, "Invalid channel type.")),
        ({"priority": "URGENT"}, error(1102, "Invalid priority type.")),
        ({"type": "MAYBE"}, error(1106, "Invalid subscription status passed.")),
    ],
)
async def test_update_subscriptions_validation_changes_nothing(
    dataset: Dataset, client: httpx.AsyncClient, change: dict[str, str], expected: dict[str, Any]
) -> None:
    part = instore_only(dataset)[0]
    before = (await client.get(f"/v2/customers/{part.customer_id}/subscriptions")).json()
    body = copy.deepcopy(SUBSCRIPTIONS_SAMPLE)
    body["subscriptions"][-1].update(change)
    response = await client.post(f"/v2/customers/{part.customer_id}/subscriptions", json=body)
    assert response.status_code == 400
    assert response.json() == expected
    assert (await client.get(f"/v2/customers/{part.customer_id}/subscriptions")).json() == before


async def test_update_subscriptions_refuses_another_scope(dataset: Dataset, client: httpx.AsyncClient) -> None:
    body = {**SUBSCRIPTIONS_SAMPLE, "scope": {"scope": "ORG", "subScope": "NONE"}}
    response = await client.post(f"/v2/customers/{instore_only(dataset)[0].customer_id}/subscriptions", json=body)
    assert (response.status_code, response.json()) == (400, error(1103, "Invalid scope."))


async def test_change_requests_errors(client: httpx.AsyncClient, dataset: Dataset) -> None:
    unknown = await client.get("/v2/customers/1/retroRequest?changeType=MERGE")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    bad = await client.get(f"/v2/customers/{instore_only(dataset)[0].customer_id}/retroRequest?changeType=NAME")
    assert (bad.status_code, bad.json()) == (400, INVALID_INPUT)


# -- data lifecycle ------------------------------------------------------------------------------------------


async def test_same_seed_same_data_and_reset_reseeds(dataset: Dataset, client: httpx.AsyncClient) -> None:
    part = parts(dataset)[1]
    url = f"/v2/customers/{part.customer_id}?source=ALL&embed=points,subscriptions,mlp"
    async with await make_client(generate(SEED, SIZE)) as twin:
        assert (await twin.get(url)).json() == (await client.get(url)).json()
    await client.post("/v2/customers", json=new_wechat_customer("wx_temp"))
    assert (await client.get(f"/v2/customers/{FIRST_NEW_ID}?source=ALL")).status_code == 200
    await client.post("/__sim/reset?data=1")
    assert (await client.get(f"/v2/customers/{FIRST_NEW_ID}?source=ALL")).json() == NOT_FOUND


# -- faults in Capillary's dialect ---------------------------------------------------------------------------


async def test_latency_delays_calls(dataset: Dataset, client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"latency_ms": 120})
    started = time.perf_counter()
    assert (await client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE")).status_code == 200
    assert time.perf_counter() - started >= 0.12


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, 500, "All requests failed due to errors."),
        (503, 503, "Service Unavailable"),
        (521, 521, "Another action is running on the same customer"),
        (404, 8015, "Customer not found for the given identifiers"),
    ],
)
async def test_injected_errors_use_capillarys_error_body(
    dataset: Dataset, client: httpx.AsyncClient, status: int, code: int, message: str
) -> None:
    await client.post("/__sim/faults", json={"error_rate": 1.0, "error_status": status})
    response = await client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE")
    assert response.status_code == status
    assert response.json() == error(code, message)
    token = await client.post("/v3/oauth/token/generate", json={"key": "demo-key", "secret": "demo-secret"})
    assert token.status_code == status


async def test_hang_never_answers(dataset: Dataset, client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"hang": True})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE"), timeout=0.3)


async def test_malformed_bodies_fail_the_contract(dataset: Dataset, client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"malformed": True})
    # The validating client parses every body: a truncated one raises.
    with pytest.raises(ValueError):
        await client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE")


async def test_rate_limit_answers_429_with_retry_after(dataset: Dataset, client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"rate_limit_per_minute": 2})
    url = f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE"
    statuses = [(await client.get(url)).status_code for _ in range(2)]
    limited = await client.get(url)
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json() == error(429, "Too many requests. The per-minute limit for this org is exhausted")


@pytest.mark.parametrize(("option", "expected"), [(None, 600), (3, 3), (0, None)])
async def test_the_standing_rate_limit_follows_the_option(
    dataset: Dataset, option: int | None, expected: int | None
) -> None:
    options = SimulatorOptions(capillary_rate_limit_per_minute=option)
    async with await make_client(dataset, options) as client:
        config = (await client.get("/__sim/config")).json()
        assert config == {"rate_limit_per_minute": expected, "token_ttl_seconds": 300.0}
        if expected == 3:
            url = f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE"
            statuses = [(await client.get(url)).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]


async def test_calls_are_counted_by_path_template(dataset: Dataset, client: httpx.AsyncClient) -> None:
    await client.get(f"/v2/customers/{parts(dataset)[0].customer_id}?source=INSTORE")
    await client.get("/v2/customers/lookup?source=ALL&identifierName=mobile&identifierValue=1234567")
    await client.post("/v3/oauth/token/generate", json={"key": "demo-key", "secret": "demo-secret"})
    stats = (await client.get("/__sim/stats")).json()
    assert stats["calls"] == {
        "GET /v2/customers/lookup": 1,
        "GET /v2/customers/{id}": 1,
        "POST /v3/oauth/token/generate": 1,
    }


async def test_the_document_is_served(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    assert served["openapi"] == "3.1.0"
    assert set(served["paths"]) == {
        "/v3/oauth/token/generate",
        "/v2/customers",
        "/v2/customers/lookup",
        "/v2/customers/search",
        "/v2/customers/{id}",
        "/v2/customers/{id}/changeIdentifier",
        "/v2/customers/{id}/loyaltyDetails",
        "/v2/customers/{id}/subscriptions",
        "/v2/customers/{id}/retroRequest",
    }
