"""The Open Loyalty simulator, driven over HTTP with the document's sample requests.

Every response passes through ``validating_client``, so each one is also checked against the simulator's
OpenAPI document.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, OpenLoyaltyPart, generate
from customer_graph.simulators.openloyalty import PREFIX, create_app, credentials
from customer_graph.simulators.openloyalty.openapi import OPENAPI
from tests.simulators.openapi_contract import validating_client

SEED = 42
API = "/api/DEFAULT"
NOT_FOUND = {"error": {"code": 404, "message": "Not Found"}}
ADDRESS_TREE = {
    "children": {k: {} for k in ("street", "address1", "address2", "postal", "city", "province", "country")}
}
COMPANY_TREE = {"children": {"name": {}, "nip": {}}}
LEVEL0, LEVEL2 = "e82c96cf-32a3-43bd-9034-4df343e50000", "e82c96cf-32a3-43bd-9034-4df343e52222"


def register_tree(**errors: list[str]) -> dict[str, Any]:
    """The register form's error body of the document, with messages on the named children."""
    names = [
        "firstName",
        "lastName",
        "gender",
        "email",
        "phone",
        "birthDate",
        "createdAt",
        "address",
        "company",
        "loyaltyCardNumber",
        "agreement1",
        "agreement2",
        "agreement3",
        "levelId",
        "posId",
        "sellerId",
    ]
    return {"form": {"children": _children(names, errors)}, "errors": []}


def edit_tree(**errors: list[str]) -> dict[str, Any]:
    names = [
        "firstName",
        "lastName",
        "gender",
        "email",
        "phone",
        "birthDate",
        "createdAt",
        "address",
        "company",
        "loyaltyCardNumber",
        "labels",
        "agreement1",
        "agreement2",
        "agreement3",
        "levelId",
        "posId",
        "sellerId",
    ]
    return {"form": {"children": _children(names, errors)}, "errors": []}


def _children(names: list[str], errors: dict[str, list[str]]) -> dict[str, Any]:
    children: dict[str, Any] = {}
    for name in names:
        node: dict[str, Any] = {"errors": errors[name]} if name in errors else {}
        if name == "address":
            node |= ADDRESS_TREE
        if name == "company":
            node |= COMPANY_TREE
        children[name] = node
    return children


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(SEED, 40)


def seeded(dataset: Dataset, *, card: bool = True, level: str | None = None) -> OpenLoyaltyPart:
    """A seeded Open Loyalty customer with an e-mail, an address and (or not) a card."""
    for person in dataset.in_provider("openloyalty"):
        part = person.openloyalty
        assert part is not None
        if (
            part.view.email
            and part.view.address
            and bool(part.loyalty_card_number) == card
            and (level is None or part.level_name == level)
        ):
            return part
    raise AssertionError("no such seeded customer")


async def _client(dataset: Dataset, options: SimulatorOptions) -> httpx.AsyncClient:
    return await validating_client(create_app(dataset, options), OPENAPI)


@pytest.fixture
async def client(dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(dataset, SimulatorOptions(seed=SEED)) as c:
        yield c


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/admin/login_check", data={"_username": "admin", "_password": "open"})
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await login(client))['token']}"}


def jwt_payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    return payload


async def register(client: httpx.AsyncClient, auth: dict[str, str], **fields: str) -> httpx.Response:
    form = {
        "firstName": "John",
        "lastName": "Kowalski",
        "email": "john@example.com",
        "agreement1": "1",
    } | fields
    return await client.post(
        f"{API}/admin/customer/register", headers=auth, data={f"customer[{k}]": v for k, v in form.items()}
    )


async def count(client: httpx.AsyncClient, auth: dict[str, str]) -> int:
    total: int = (await client.get(f"{API}/customer", headers=auth)).json()["total"]
    return total


# -- auth --------------------------------------------------------------------------------------------


async def test_login_returns_a_jwt_valid_for_a_day_and_a_refresh_token(client: httpx.AsyncClient) -> None:
    tokens = await login(client)
    payload = jwt_payload(tokens["token"])
    assert payload["username"] == "admin"
    assert payload["roles"] == ["ROLE_ADMIN"]
    assert payload["exp"] - payload["iat"] == 86400
    assert abs(payload["iat"] - time.time()) < 5
    assert tokens["refresh_token"] and tokens["refresh_token"] != tokens["token"]


async def test_login_with_wrong_credentials_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/admin/login_check", data={"_username": "admin", "_password": "nope"})
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Bad credentials"}


async def test_login_accepts_a_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/admin/login_check", json={"_username": "admin", "_password": "open"})
    assert response.status_code == 200
    assert set(response.json()) == {"token", "refresh_token"}


async def test_a_call_without_a_token_is_401_authentication_required(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/customer")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication Required"}
    basic = await client.get(f"{API}/customer", headers={"Authorization": "Basic YWRtaW46b3Blbg=="})
    assert basic.status_code == 401
    assert basic.json() == {"message": "Authentication Required"}


async def test_a_forged_token_is_rejected_with_403(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/customer", headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6"})
    assert response.status_code == 403
    assert response.json() == {"error": {"code": 403, "message": "Invalid JWT Token"}}


async def test_expired_tokens_are_rejected_and_login_starts_again(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert (await client.get(f"{API}/customer", headers=auth)).status_code == 200
    await client.post("/__sim/tokens/expire")
    response = await client.get(f"{API}/customer", headers=auth)
    assert response.status_code == 403
    assert response.json() == {"error": {"code": 403, "message": "Expired JWT Token"}}
    fresh = await login(client)
    again = await client.get(f"{API}/customer", headers={"Authorization": f"Bearer {fresh['token']}"})
    assert again.status_code == 200


async def test_a_short_lived_token_expires_and_the_refresh_token_renews_it(dataset: Dataset) -> None:
    async with await _client(dataset, SimulatorOptions(seed=SEED, token_ttl_seconds=0.3)) as client:
        tokens = await login(client)
        old = {"Authorization": f"Bearer {tokens['token']}"}
        assert (await client.get(f"{API}/customer", headers=old)).status_code == 200
        await asyncio.sleep(0.35)
        expired = await client.get(f"{API}/customer", headers=old)
        assert expired.status_code == 403
        assert expired.json()["error"]["message"] == "Expired JWT Token"
        refreshed = await client.post("/api/token/refresh", data={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200
        assert refreshed.json()["refresh_token"] == tokens["refresh_token"]
        new = {"Authorization": f"Bearer {refreshed.json()['token']}"}
        assert refreshed.json()["token"] != tokens["token"]
        assert (await client.get(f"{API}/customer", headers=new)).status_code == 200


async def test_config_sets_the_token_lifetime_seen_in_the_jwt(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/config", json={"token_ttl_seconds": 60})
    payload = jwt_payload((await login(client))["token"])
    assert payload["exp"] - payload["iat"] == 60


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/token/refresh", data={"refresh_token": "nope"})
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Bad credentials"}
    # An access token is not a refresh token.
    tokens = await login(client)
    as_refresh = await client.post("/api/token/refresh", data={"refresh_token": tokens["token"]})
    assert as_refresh.status_code == 401
    # ... nor a refresh token an access token.
    as_bearer = await client.get(f"{API}/customer", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert as_bearer.status_code == 403
    assert as_bearer.json() == {"error": {"code": 403, "message": "Invalid JWT Token"}}


async def test_an_unknown_store_code_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/OTHER/customer", headers=auth)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- register ----------------------------------------------------------------------------------------


async def test_doc_sample_register_as_admin(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    before = await count(client, auth)
    response = await client.post(
        f"{API}/admin/customer/register",
        headers=auth,
        data={
            "customer[firstName]": "John",
            "customer[lastName]": "Kowalski",
            "customer[email]": "john@example.com",
            "customer[phone]": "0665998332",
            "customer[agreement1]": "1",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "john@example.com" and set(body) == {"customerId", "email"}
    customer = (await client.get(f"{API}/customer/{body['customerId']}", headers=auth)).json()
    assert customer["firstName"] == "John" and customer["lastName"] == "Kowalski"
    assert customer["phone"] == "0665998332"
    assert customer["address"] == {}
    assert customer["active"] is True
    assert (customer["agreement1"], customer["agreement2"], customer["agreement3"]) == (True, False, False)
    assert customer["levelId"] == LEVEL0 and customer["levelPercent"] == "0.00%"
    assert customer["status"]["state"] == "no-card"
    assert "company" not in customer and "loyaltyCardNumber" not in customer
    assert await count(client, auth) == before + 1


async def test_doc_sample_create_with_address_company_and_card(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        f"{API}/customer/register",
        headers=auth,
        data={
            "customer[firstName]": "John",
            "customer[lastName]": "Kowalski",
            "customer[email]": "john3@example.com",
            "customer[phone]": "000000004000",
            "customer[birthDate]": "1990-01-01",
            "customer[address][street]": "Street",
            "customer[address][postal]": "00-000",
            "customer[address][city]": "Wroclaw",
            "customer[address][province]": "Dolnoslaskie",
            "customer[address][country]": "Poland",
            "customer[company][nip]": "111-222-33-44",
            "customer[company][name]": "Company name",
            "customer[loyaltyCardNumber]": "00000000000000002",
            "customer[agreement1]": "1",
            "customer[agreement2]": "1",
            "customer[agreement3]": "1",
        },
    )
    assert response.status_code == 200
    assert response.json()["email"] == "john3@example.com"
    customer = (await client.get(f"{API}/customer/{response.json()['customerId']}", headers=auth)).json()
    assert customer["address"] == {
        "street": "Street",
        "postal": "00-000",
        "city": "Wroclaw",
        "province": "Dolnoslaskie",
        "country": "Poland",
    }
    assert customer["company"] == {"name": "Company name", "nip": "111-222-33-44"}
    assert customer["birthDate"] == "1990-01-01T01:00:00+0100"
    assert customer["loyaltyCardNumber"] == "00000000000000002"
    assert customer["status"]["state"] == "with-card"
    assert (customer["agreement2"], customer["agreement3"]) == (True, True)


async def test_doc_sample_empty_register_lists_every_child_without_messages(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(f"{API}/customer/register", headers=auth)
    assert response.status_code == 400
    assert response.json() == register_tree()


async def test_register_requires_first_name_last_name_email_and_agreement1(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    before = await count(client, auth)
    response = await client.post(
        f"{API}/admin/customer/register",
        headers=auth,
        data={"customer[lastName]": " ", "customer[agreement1]": "0"},
    )
    assert response.status_code == 400
    blank = ["This value should not be blank."]
    assert response.json() == register_tree(firstName=blank, lastName=blank, email=blank, agreement1=blank)
    assert await count(client, auth) == before


async def test_register_validates_formats(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await register(client, auth, email="not-an-email", gender="other", birthDate="11/09/1990", phone="12ab")
    assert response.status_code == 400
    assert response.json() == register_tree(
        email=["This value is not a valid email address."],
        gender=["This value is not valid."],
        birthDate=["This value is not valid."],
        phone=["This value is not a valid phone number."],
    )


async def test_register_refuses_a_duplicate_email_compared_lower_cased(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    existing = seeded(dataset)
    assert existing.view.email is not None
    before = await count(client, auth)
    response = await register(client, auth, email=existing.view.email.upper())
    assert response.status_code == 400
    assert response.json() == register_tree(email=["Customer with such email already exists."])
    assert await count(client, auth) == before


async def test_register_refuses_a_duplicate_phone_ignoring_the_plus(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    existing = seeded(dataset)
    assert existing.view.mobile is not None
    compact = existing.view.mobile.replace(" ", "").replace("-", "").lstrip("+")
    response = await register(client, auth, phone=compact)
    assert response.status_code == 400
    assert response.json() == register_tree(phone=["Customer with such phone already exists."])


async def test_register_refuses_a_duplicate_loyalty_card_number(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    existing = seeded(dataset)
    assert existing.loyalty_card_number is not None
    response = await register(client, auth, loyaltyCardNumber=existing.loyalty_card_number)
    assert response.status_code == 400
    assert response.json() == register_tree(
        loyaltyCardNumber=["Customer with such loyalty card number already exists."]
    )
    # An empty card number is no card at all, and two customers may both have none.
    assert (await register(client, auth, loyaltyCardNumber="")).status_code == 200
    assert (await register(client, auth, email="other@example.com", loyaltyCardNumber="")).status_code == 200


async def test_register_refuses_extra_fields_at_the_form_level(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await register(client, auth, nickname="Johnny")
    assert response.status_code == 400
    assert response.json() == register_tree() | {"errors": ["This form should not contain extra fields."]}


async def test_register_accepts_a_json_body_and_refuses_a_broken_one(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        f"{API}/customer/register",
        headers=auth,
        json={
            "customer": {
                "firstName": "Ann",
                "lastName": "Lee",
                "email": "ann@example.com",
                "agreement1": True,
                "address": {"city": "Kraków"},
            }
        },
    )
    assert response.status_code == 200
    customer = (await client.get(f"{API}/customer/{response.json()['customerId']}", headers=auth)).json()
    assert customer["address"] == {"city": "Kraków"}
    broken = await client.post(
        f"{API}/customer/register",
        headers=auth | {"Content-Type": "application/json"},
        content=b'{"customer": ',
    )
    assert broken.status_code == 400
    assert broken.json() == {"error": {"code": 400, "message": "Invalid json message received"}}


async def test_register_with_half_a_company_is_a_500(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    before = await count(client, auth)
    response = await client.post(
        f"{API}/customer/register",
        headers=auth,
        data={
            "customer[firstName]": "Jo",
            "customer[lastName]": "K",
            "customer[email]": "jo@example.com",
            "customer[agreement1]": "1",
            "customer[company][name]": "Acme",
        },
    )
    assert response.status_code == 500
    assert response.json() == {"error": {"code": 500, "message": "Internal Server Error"}}
    assert await count(client, auth) == before


# -- read --------------------------------------------------------------------------------------------


async def test_get_a_seeded_customer_as_open_loyalty_holds_it(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    view = part.view
    assert view.address is not None and view.birth_date is not None and view.registered_at is not None
    response = await client.get(f"{API}/customer/{part.customer_id}", headers=auth)
    assert response.status_code == 200
    customer = response.json()
    assert customer["customerId"] == part.customer_id
    assert (customer["firstName"], customer["lastName"]) == (view.first_name, view.last_name)
    assert customer["email"] == view.email
    assert customer["phone"] == view.mobile  # international format, with spaces
    assert customer["gender"] == view.gender
    number, _, street = view.address.line1.partition(" ")
    assert customer["address"]["street"] == street and customer["address"]["address1"] == number
    assert customer["address"]["city"] == view.address.city
    assert customer["address"]["postal"] == view.address.postcode
    assert customer["address"]["country"] == view.address.country
    assert customer["loyaltyCardNumber"] == part.loyalty_card_number
    assert customer["agreement2"] is part.marketing_email and customer["agreement3"] is part.marketing_sms
    assert customer["levelPercent"] == part.level_percent
    assert customer["level"]["name"] == part.level_name
    assert customer["birthDate"].startswith(view.birth_date.isoformat() + "T0")
    assert customer["createdAt"][:10] == view.registered_at.date().isoformat()
    assert customer["id"] == customer["levelId"] == customer["level"]["levelId"]["id"]
    assert customer["version"] == 1 and customer["currency"] == "eur"


async def test_get_an_unknown_customer_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get(f"{API}/customer/00000000-0000-474c-b092-b0dd880c07e1", headers=auth)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_status_shows_points_level_and_next_level(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset, level="level1")
    status = (await client.get(f"{API}/admin/customer/{part.customer_id}/status", headers=auth)).json()
    assert status["customerId"] == part.customer_id
    assert status["points"] == part.points
    assert status["totalEarnedPoints"] == round(part.points + status["usedPoints"] + status["expiredPoints"], 2)
    assert (status["level"], status["levelName"], status["levelConditionValue"]) == ("5.00%", "level1", 20)
    assert (status["nextLevel"], status["nextLevelName"], status["nextLevelConditionValue"]) == (
        "10.00%",
        "level2",
        200,
    )
    assert 20 <= status["transactionsAmount"] < 200
    assert status["transactionsAmountToNextLevel"] == round(200 - status["transactionsAmount"], 2)
    assert status["averageTransactionsAmount"] == f"{status['transactionsAmount'] / status['transactionsCount']:.2f}"


async def test_status_of_an_unknown_customer_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get(f"{API}/admin/customer/nope/status", headers=auth)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# -- list --------------------------------------------------------------------------------------------


async def test_list_pages_from_one_with_ten_per_page_by_default(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    total = len(dataset.in_provider("openloyalty"))
    assert total > 10
    first = (await client.get(f"{API}/customer", headers=auth)).json()
    assert first["total"] == total and len(first["customers"]) == 10
    seen = [c["customerId"] for c in first["customers"]]
    page = 2
    while True:
        more = (await client.get(f"{API}/customer", headers=auth, params={"page": page})).json()["customers"]
        if not more:
            break
        seen += [c["customerId"] for c in more]
        page += 1
    assert sorted(seen) == sorted(
        p.openloyalty.customer_id for p in dataset.in_provider("openloyalty") if p.openloyalty
    )
    # Newest first without a sort.
    created = [c["createdAt"] for c in first["customers"]]
    assert created == sorted(created, key=lambda d: _epoch(d), reverse=True)


def _epoch(value: str) -> float:
    from datetime import datetime

    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp()


async def test_list_sorts_and_pages_with_per_page(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    params = {"sort": "customerId", "direction": "asc", "perPage": "3"}
    page1 = (await client.get(f"{API}/admin/customer", headers=auth, params=params | {"page": "1"})).json()
    page2 = (await client.get(f"{API}/admin/customer", headers=auth, params=params | {"page": "2"})).json()
    ids = [c["customerId"] for c in page1["customers"] + page2["customers"]]
    assert len(ids) == 6 and ids == sorted(ids)
    desc = (
        await client.get(
            f"{API}/admin/customer",
            headers=auth,
            params={"sort": "customerId", "direction": "DESC", "perPage": "3"},
        )
    ).json()
    assert [c["customerId"] for c in desc["customers"]] == sorted(
        ids + [c["customerId"] for c in desc["customers"]], reverse=True
    )[:3]


async def test_doc_sample_list_with_form_body_like_and_strict(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    """The document's curl sends the filters with -d on a GET: a form body."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    like = {
        "email": "example.com",
        "strict": "0",
        "page": "1",
        "perPage": "2",
        "sort": "customerId",
        "direction": "asc",
    }
    response = await client.request("GET", f"{API}/customer", headers=auth | form, content=urlencode(like))
    expected = sorted(
        p.openloyalty.customer_id
        for p in dataset.in_provider("openloyalty")
        if p.openloyalty and p.openloyalty.view.email and "example.com" in p.openloyalty.view.email
    )
    body = response.json()
    assert body["total"] == len(expected)
    assert [c["customerId"] for c in body["customers"]] == expected[:2]
    strict = await client.request(
        "GET", f"{API}/customer", headers=auth | form, content=urlencode(like | {"strict": "1"})
    )
    assert strict.json() == {"customers": [], "total": 0}


async def test_strict_filters_match_exact_values(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    assert part.view.email and part.view.mobile and part.loyalty_card_number
    cases = [
        {"email": part.view.email.upper()},
        {"phone": "+" + part.view.mobile.replace(" ", "").replace("-", "").lstrip("+")},
        {"loyaltyCardNumber": part.loyalty_card_number},
        {"firstName": part.view.first_name, "lastName": part.view.last_name, "email": part.view.email},
    ]
    for filters in cases:
        body = (await client.get(f"{API}/customer", headers=auth, params=filters | {"strict": "1"})).json()
        assert [c["customerId"] for c in body["customers"]] == [part.customer_id], filters
        assert body["total"] == 1
    partial = {"loyaltyCardNumber": part.loyalty_card_number[:-1], "strict": "1"}
    assert (await client.get(f"{API}/customer", headers=auth, params=partial)).json()["total"] == 0
    loose = {"loyaltyCardNumber": part.loyalty_card_number[:-1], "strict": "0"}
    found = (await client.get(f"{API}/customer", headers=auth, params=loose)).json()["customers"]
    assert part.customer_id in [c["customerId"] for c in found]


async def test_list_filters_by_transaction_ranges(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = (
        await client.get(
            f"{API}/customer",
            headers=auth,
            params={"transactionsAmountFrom": "200", "transactionsAmountTo": "999.99", "perPage": "100"},
        )
    ).json()
    assert body["total"] == len(body["customers"]) > 0
    assert all(200 <= c["transactionsAmount"] <= 999.99 and c["levelPercent"] == "10.00%" for c in body["customers"])


# -- check -------------------------------------------------------------------------------------------


async def test_doc_sample_check_by_email_or_phone(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    assert part.view.email and part.view.mobile
    for value, total in (
        (part.view.email.title(), 1),
        (part.view.mobile.replace(" ", ""), 1),
        ("899000333", 0),
    ):
        response = await client.get(f"{API}/customer/check", headers=auth, params={"emailOrPhone": value})
        assert response.status_code == 200
        assert response.json() == {"total": total}, value


# -- update ------------------------------------------------------------------------------------------


async def test_doc_sample_update_sets_email_erases_phone_and_keeps_the_rest(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    url = f"{API}/customer/{part.customer_id}"
    before = (await client.get(url, headers=auth)).json()
    assert "phone" in before
    response = await client.put(
        url,
        headers=auth,
        data={"customer[email]": "john4@example.com", "customer[phone]": "", "customer[agreement2]": "1"},
    )
    assert response.status_code == 200
    assert response.json() == {"customerId": part.customer_id}
    after = (await client.get(url, headers=auth)).json()
    assert after["email"] == "john4@example.com"
    assert "phone" not in after
    assert after["agreement2"] is True
    untouched = (
        "firstName",
        "lastName",
        "address",
        "birthDate",
        "loyaltyCardNumber",
        "agreement3",
        "createdAt",
    )
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    assert after["version"] == before["version"] + 1
    # The old e-mail and phone are free again; the new e-mail is taken.
    check = await client.get(f"{API}/customer/check", headers=auth, params={"emailOrPhone": part.view.email})
    assert check.json() == {"total": 0}
    assert (await register(client, auth, email="JOHN4@example.com")).json() == register_tree(
        email=["Customer with such email already exists."]
    )


async def test_update_with_only_a_city_erases_the_rest_of_the_address(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    url = f"{API}/customer/{part.customer_id}"
    response = await client.put(url, headers=auth, data={"customer[address][city]": "Gdańsk"})
    assert response.status_code == 200
    after = (await client.get(url, headers=auth)).json()
    assert after["address"] == {"city": "Gdańsk"}
    assert after["email"] == part.view.email


async def test_update_with_half_a_company_is_a_500_and_changes_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    url = f"{API}/customer/{part.customer_id}"
    before = (await client.get(url, headers=auth)).json()
    response = await client.put(
        url, headers=auth, data={"customer[company][nip]": "111-222-33-44", "customer[firstName]": "Changed"}
    )
    assert response.status_code == 500
    assert response.json() == {"error": {"code": 500, "message": "Internal Server Error"}}
    assert (await client.get(url, headers=auth)).json() == before
    whole = await client.put(
        url, headers=auth, data={"customer[company][nip]": "111-222-33-44", "customer[company][name]": "Acme"}
    )
    assert whole.status_code == 200
    assert (await client.get(url, headers=auth)).json()["company"] == {"name": "Acme", "nip": "111-222-33-44"}


async def test_doc_sample_update_with_an_invalid_phone(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    url = f"{API}/customer/{part.customer_id}"
    before = (await client.get(url, headers=auth)).json()
    response = await client.put(url, headers=auth, data={"customer[phone]": "+440000000"})
    assert response.status_code == 400
    assert response.json() == edit_tree(phone=["This value is not a valid phone number."])
    assert (await client.get(url, headers=auth)).json() == before


async def test_update_refuses_another_customers_identifiers_but_not_its_own(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part, other = seeded(dataset), seeded(dataset, card=False)
    assert other.view.email and other.view.mobile and part.view.email
    url = f"{API}/customer/{part.customer_id}"
    taken = await client.put(
        url, headers=auth, data={"customer[email]": other.view.email, "customer[phone]": other.view.mobile}
    )
    assert taken.status_code == 400
    assert taken.json() == edit_tree(
        email=["Customer with such email already exists."], phone=["Customer with such phone already exists."]
    )
    own = await client.put(url, headers=auth, data={"customer[email]": part.view.email.upper()})
    assert own.status_code == 200


async def test_update_refuses_blank_names_and_unknown_customers(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    blank = await client.put(f"{API}/customer/{part.customer_id}", headers=auth, data={"customer[firstName]": ""})
    assert blank.status_code == 400
    assert blank.json() == edit_tree(firstName=["This value should not be blank."])
    missing = await client.put(f"{API}/customer/nope", headers=auth, data={"customer[firstName]": "X"})
    assert missing.status_code == 404
    assert missing.json() == NOT_FOUND


async def test_update_labels_and_json_body(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    part = seeded(dataset)
    url = f"{API}/customer/{part.customer_id}"
    response = await client.put(
        url,
        headers=auth,
        json={"customer": {"labels": "tier:vip;source:pos", "agreement3": True, "gender": "male"}},
    )
    assert response.status_code == 200
    after = (await client.get(url, headers=auth)).json()
    assert after["labels"] == [{"key": "tier", "value": "vip"}, {"key": "source", "value": "pos"}]
    assert (after["agreement3"], after["gender"]) == (True, "male")


# -- lifecycle ---------------------------------------------------------------------------------------


async def test_doc_sample_deactivate_and_activate(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    url = f"{API}/admin/customer/{part.customer_id}"
    response = await client.post(url + "/deactivate", headers=auth)
    assert (response.status_code, response.content) == (200, b"")
    customer = (await client.get(f"{API}/customer/{part.customer_id}", headers=auth)).json()
    assert customer["active"] is False and customer["status"]["type"] == "blocked"
    assert (await client.post(url + "/activate", headers=auth)).status_code == 200
    customer = (await client.get(f"{API}/customer/{part.customer_id}", headers=auth)).json()
    assert customer["active"] is True and customer["status"]["type"] == "active"
    unknown = await client.post(f"{API}/admin/customer/nope/activate", headers=auth)
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


async def test_doc_sample_anonymize_erases_personal_data(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    assert part.view.email
    response = await client.post(f"{API}/admin/customer/{part.customer_id}/anonymize", headers=auth)
    assert (response.status_code, response.content) == (204, b"")
    customer = (await client.get(f"{API}/customer/{part.customer_id}", headers=auth)).json()
    assert (customer["firstName"], customer["lastName"]) == ("Anonymous", "Anonymous")
    for gone in ("email", "phone", "birthDate", "loyaltyCardNumber", "gender", "company"):
        assert gone not in customer, gone
    assert customer["address"] == {}
    assert customer["levelPercent"] == part.level_percent
    assert (await register(client, auth, email=part.view.email)).status_code == 200
    unknown = await client.post(f"{API}/admin/customer/nope/anonymize", headers=auth)
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


async def test_doc_sample_remove_customer(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    part = seeded(dataset)
    before = await count(client, auth)
    response = await client.delete(f"{API}/customer/{part.customer_id}", headers=auth)
    assert response.status_code == 204
    assert (await client.get(f"{API}/customer/{part.customer_id}", headers=auth)).json() == NOT_FOUND
    assert await count(client, auth) == before - 1
    again = await client.delete(f"{API}/customer/{part.customer_id}", headers=auth)
    assert (again.status_code, again.json()) == (404, NOT_FOUND)
    # Reseeding brings it back.
    await client.post("/__sim/reset?data=1")
    auth = {"Authorization": f"Bearer {(await login(client))['token']}"}
    assert (await client.get(f"{API}/customer/{part.customer_id}", headers=auth)).status_code == 200


async def test_doc_sample_assign_level_then_remove_the_manual_level(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset, level="level1")
    one = f"{API}/customer/{part.customer_id}"
    response = await client.post(one + "/level", headers=auth, data={"levelId": LEVEL2})
    assert (response.status_code, response.json()) == (200, [])
    customer = (await client.get(one, headers=auth)).json()
    assert (customer["levelId"], customer["levelPercent"], customer["level"]["name"]) == (
        LEVEL2,
        "10.00%",
        "level2",
    )
    status = (await client.get(f"{API}/admin/customer/{part.customer_id}/status", headers=auth)).json()
    assert (status["levelName"], status["nextLevelName"]) == ("level2", "level3")
    removed = await client.post(one + "/remove-manually-level", headers=auth)
    assert removed.status_code == 204
    assert (await client.get(one, headers=auth)).json()["level"]["name"] == "level1"


async def test_assign_level_refuses_unknown_levels_and_customers(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    part = seeded(dataset)
    one = f"{API}/customer/{part.customer_id}"
    unknown = await client.post(one + "/level", headers=auth, data={"levelId": "e82c96cf-0000-0000-0000-000000000000"})
    assert unknown.status_code == 400
    assert unknown.json() == {
        "form": {"children": {"levelId": {"errors": ["This value is not valid."]}}},
        "errors": [],
    }
    blank = await client.post(one + "/level", headers=auth)
    assert blank.json() == {
        "form": {"children": {"levelId": {"errors": ["This value should not be blank."]}}},
        "errors": [],
    }
    assert (await client.get(one, headers=auth)).json()["levelPercent"] == part.level_percent
    missing = await client.post(f"{API}/customer/nope/level", headers=auth, data={"levelId": LEVEL2})
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)


# -- faults ------------------------------------------------------------------------------------------


async def test_latency_delays_each_call(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"latency_ms": 150})
    started = time.perf_counter()
    assert (await client.get(f"{API}/customer", headers=auth)).status_code == 200
    assert 0.15 <= time.perf_counter() - started < 1.0


async def test_error_rate_answers_with_the_fosrest_error_body(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"error_rate": 1.0, "error_status": 503})
    response = await client.get(f"{API}/customer", headers=auth)
    assert response.status_code == 503
    assert response.json() == {"error": {"code": 503, "message": "Service Unavailable"}}
    login_call = await client.post("/api/admin/login_check", data={"_username": "admin", "_password": "open"})
    assert login_call.json() == {"error": {"code": 503, "message": "Service Unavailable"}}


async def test_hang_never_answers(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"hang": True})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get(f"{API}/customer", headers=auth), timeout=0.3)
    await client.delete("/__sim/faults")
    assert (await client.get(f"{API}/customer", headers=auth)).status_code == 200


async def test_malformed_breaks_the_json_body(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"malformed": True})
    # The contract check cannot parse the body: the response is not JSON.
    with pytest.raises(ValueError):
        await client.get(f"{API}/customer", headers=auth)
    stats = (await client.get("/__sim/stats")).json()
    assert stats["calls"]["GET /api/{storeCode}/customer"] == 1


async def test_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/reset")  # the login of the auth fixture counts in the window too
    await client.post("/__sim/faults", json={"rate_limit_per_minute": 2})
    statuses = [(await client.get(f"{API}/customer", headers=auth)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await client.get(f"{API}/customer", headers=auth)
    assert limited.json() == {"error": {"code": 429, "message": "Too Many Requests"}}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_no_rate_limit_by_default(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    statuses = {(await client.get(f"{API}/customer/check", headers=auth)).status_code for _ in range(50)}
    assert statuses == {200}


# -- the simulator as a whole ------------------------------------------------------------------------


async def test_the_same_seed_serves_the_same_customers(dataset: Dataset) -> None:
    pages = []
    for _ in range(2):
        async with await _client(dataset, SimulatorOptions(seed=SEED)) as client:
            auth = {"Authorization": f"Bearer {(await login(client))['token']}"}
            pages.append((await client.get(f"{API}/customer", headers=auth, params={"perPage": 100})).json())
    assert pages[0] == pages[1]


async def test_every_documented_path_is_served(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec == json.loads(json.dumps(OPENAPI))
    assert len(spec["paths"]) == 14
    assert PREFIX == "/openloyalty" and spec["servers"] == [{"url": PREFIX}]
    assert credentials()["storeCode"] == "DEFAULT"
    assert "_password=open" in credentials()["login"]
