"""The TWC customer service simulator, driven over HTTP with twc-customer-api.md's sample requests.

Every provider call goes through ``validating_client``, so each response is also checked against the
simulator's OpenAPI document.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.control import SimulatorState
from customer_graph.simulators.dataset import Dataset, Person, generate
from customer_graph.simulators.twc import PREFIX, create_app, credentials
from tests.simulators.openapi_contract import validating_client

SEED, PERSONS = 42, 40
TENANT = "twc-demo"
TOKEN_URL = f"/auth/realms/{TENANT}/protocol/openid-connect/token"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")

# -- the document's sample requests ------------------------------------------------------------------

SAMPLE_ADDRESS: dict[str, Any] = {
    "address1": "string",
    "address2": "string",
    "addressName": "string",
    "city": "string",
    "company": "string",
    "country": "string",
    "countryCode": "string",
    "customerId": "string",
    "defaultAddress": True,
    "email": "string",
    "firstName": "string",
    "id": "string",
    "lastName": "string",
    "phone": "string",
    "postcode": "string",
    "province": "string",
    "provinceCode": "string",
}
_SAMPLE_GROUP = {
    "attribute_group": "string",
    "attributes": {f"additionalProp{i}": {"attribute_value": "string", "value_type": "INTEGER"} for i in (1, 2, 3)},
    "is_obsolete": True,
}


def sample_customer(moment: str = "2022-06-20T06:21:32.358Z") -> dict[str, Any]:
    """twc-customer-api.md, Create a Customer: Sample Request (also the upload/validate/update sample)."""
    return {
        "accepts_marketing": True,
        "active": True,
        "addresses": [dict(SAMPLE_ADDRESS)],
        "attributeGroups": {f"additionalProp{i}": copy.deepcopy(_SAMPLE_GROUP) for i in (1, 2, 3)},
        "createdDate": moment,
        "customerRef": "string",
        "customer_state": "disabled",
        "defaultAddress": dict(SAMPLE_ADDRESS),
        "dob": moment,
        "email": "string",
        "firstName": "string",
        "id": "string",
        "lastModifiedDate": moment,
        "lastName": "string",
        "marketing_optin_level": "single_opt_in",
        "marketing_preferences_updated_at": moment,
        "mobile": "string",
        "phone": "string",
        "taxExempt": True,
        "taxExemptions": ["string"],
        "verified_email": True,
    }


# -- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture
def dataset() -> Dataset:
    return generate(SEED, PERSONS)


async def open_client(app: Starlette) -> httpx.AsyncClient:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as plain:
        spec = (await plain.get("/openapi.json")).json()
    return await validating_client(app, spec)


@pytest.fixture
async def app(dataset: Dataset) -> Starlette:
    return create_app(dataset, SimulatorOptions(seed=SEED))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with await open_client(app) as c:
        yield c


async def get_token(client: httpx.AsyncClient) -> str:
    creds = credentials()
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def tenant_headers(token: str, tenant: str | None = TENANT) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant is not None:
        headers["X-TWC-Tenant"] = tenant
    return headers


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return tenant_headers(await get_token(client))


def error(response: httpx.Response) -> dict[str, Any]:
    """The Spring error body without its timestamp (checked for format here)."""
    body: dict[str, Any] = response.json()
    assert TIMESTAMP.fullmatch(body.pop("timestamp"))
    return body


def twc_persons(dataset: Dataset) -> list[Person]:
    return dataset.in_provider("twc")


def twc_id(person: Person) -> str:
    assert person.twc is not None
    return person.twc.customer_id


def with_ref(dataset: Dataset) -> Person:
    return next(p for p in twc_persons(dataset) if p.twc and p.twc.customer_ref)


# -- auth --------------------------------------------------------------------------------------------


async def test_token_endpoint_answers_like_keycloak(client: httpx.AsyncClient) -> None:
    creds = credentials()
    assert creds == {
        "token_url": f"{PREFIX}{TOKEN_URL}",
        "tenant": TENANT,
        "client_id": "customer-graph",
        "client_secret": "twc-demo-secret",
    }
    response = await client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": "customer-graph",
            "client_secret": "twc-demo-secret",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body.pop("access_token")
    assert body == {
        "expires_in": 300,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "email profile",
    }
    assert response.headers["cache-control"] == "no-store"


async def test_token_endpoint_takes_client_secret_basic(client: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"customer-graph:twc-demo-secret").decode()
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("url", "form", "status", "body"),
    [
        (
            "/auth/realms/nobody/protocol/openid-connect/token",
            {
                "grant_type": "client_credentials",
                "client_id": "customer-graph",
                "client_secret": "twc-demo-secret",
            },
            404,
            {"error": "Realm does not exist"},
        ),
        (
            TOKEN_URL,
            {"client_id": "customer-graph", "client_secret": "twc-demo-secret"},
            400,
            {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"},
        ),
        (
            TOKEN_URL,
            {"grant_type": "client_credentials", "client_secret": "twc-demo-secret"},
            400,
            {"error": "invalid_client", "error_description": "Missing client_id parameter"},
        ),
        (
            TOKEN_URL,
            {"grant_type": "client_credentials", "client_id": "stranger", "client_secret": "twc-demo-secret"},
            401,
            {"error": "invalid_client", "error_description": "Invalid client credentials"},
        ),
        (
            TOKEN_URL,
            {"grant_type": "client_credentials", "client_id": "customer-graph", "client_secret": "wrong"},
            401,
            {"error": "unauthorized_client", "error_description": "Invalid client secret"},
        ),
        (
            TOKEN_URL,
            {"grant_type": "password", "client_id": "customer-graph", "client_secret": "twc-demo-secret"},
            400,
            {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"},
        ),
    ],
)
async def test_token_endpoint_refuses_with_keycloak_error_bodies(
    client: httpx.AsyncClient, url: str, form: dict[str, str], status: int, body: dict[str, str]
) -> None:
    response = await client.post(url, data=form)
    assert (response.status_code, response.json()) == (status, body)
    assert (await client.get("/__sim/stats")).json()["tokens_issued"] == {}


async def test_a_missing_token_is_401_with_the_spring_body(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v2/customers/search", params={"firstName": "Jane"}, headers={"X-TWC-Tenant": TENANT}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert error(response) == {
        "status": 401,
        "error": "Unauthorized",
        "message": "Full authentication is required to access this resource",
        "path": "/api/v2/customers/search",
    }


async def test_an_unknown_token_is_401_invalid_token(client: httpx.AsyncClient, dataset: Dataset) -> None:
    response = await client.get(
        f"/api/v2/customers/{twc_id(twc_persons(dataset)[0])}", headers=tenant_headers("not-a-token")
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="Malformed token"'
    assert error(response)["message"] == "Unauthorized"


@pytest.mark.parametrize("tenant", [None, "", "another-tenant"])
async def test_a_missing_or_unknown_tenant_is_403(client: httpx.AsyncClient, tenant: str | None) -> None:
    headers = tenant_headers(await get_token(client), tenant)
    response = await client.post("/api/v2/customers", json={"email": "new@example.com"}, headers=headers)
    assert response.status_code == 403
    assert error(response) == {
        "status": 403,
        "error": "Forbidden",
        "message": "Access Denied",
        "path": "/api/v2/customers",
    }
    assert (
        await client.get(
            "/api/v2/customers/search",
            params={"email": "new@example.com"},
            headers=tenant_headers(await get_token(client)),
        )
    ).json() == []


async def test_a_token_of_another_tenant_is_403(app: Starlette, client: httpx.AsyncClient) -> None:
    state: SimulatorState = app.state.simulator
    foreign = state.tokens.issue("another-tenant")
    response = await client.get(
        "/api/v2/customers/search", params={"firstName": "Jane"}, headers=tenant_headers(foreign.value)
    )
    assert response.status_code == 403
    assert error(response)["message"] == "Access Denied"


async def test_expired_tokens_are_refused_until_a_new_one_is_fetched(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    url = f"/api/v2/customers/{twc_id(twc_persons(dataset)[0])}"
    assert (await client.get(url, headers=auth)).status_code == 200
    assert (await client.post("/__sim/tokens/expire")).json() == {"expired": 1}
    refused = await client.get(url, headers=auth)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="Jwt expired"'
    assert error(refused) == {"status": 401, "error": "Unauthorized", "message": "Unauthorized", "path": url}
    assert (await client.get(url, headers=tenant_headers(await get_token(client)))).status_code == 200


async def test_the_token_lifetime_option_sets_expires_in_and_expiry(dataset: Dataset) -> None:
    app = create_app(dataset, SimulatorOptions(token_ttl_seconds=0.2))
    async with await open_client(app) as client:
        response = await client.post(
            TOKEN_URL,
            data={
                "grant_type": "client_credentials",
                "client_id": "customer-graph",
                "client_secret": "twc-demo-secret",
            },
        )
        assert response.json()["expires_in"] == 1
        headers = tenant_headers(response.json()["access_token"])
        url = f"/api/v2/customers/{twc_id(twc_persons(dataset)[0])}"
        assert (await client.get(url, headers=headers)).status_code == 200
        await asyncio.sleep(0.25)
        assert (await client.get(url, headers=headers)).status_code == 401


# -- seeded data -------------------------------------------------------------------------------------


async def test_seeded_customers_are_served_as_twc_holds_them(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = next(p for p in twc_persons(dataset) if p.twc and p.twc.view.email != p.email and p.twc.view.mobile)
    part = person.twc
    assert part is not None
    response = await client.get(f"/api/v2/customers/{part.customer_id}", headers=auth)
    assert response.status_code == 200
    body = response.json()
    address = part.addresses[0]
    assert body["email"] == part.view.email  # as seeded: its case (or spaces) differs from the person's
    assert body["email"].strip().lower() == person.email
    assert body["mobile"] == part.view.mobile == person.mobile
    assert body["dob"] == person.birth_date.strftime("%d-%m-%Y")
    assert (body["firstName"], body["lastName"]) == (part.view.first_name, part.view.last_name)
    assert body.get("customerRef") == part.customer_ref
    assert (body["accepts_marketing"], body.get("marketing_optin_level")) == (
        part.accepts_marketing,
        part.marketing_optin_level,
    )
    assert (body["active"], body["customer_state"]) == (True, "enabled")
    assert TIMESTAMP.fullmatch(body["createdDate"])
    [held] = body["addresses"]
    assert held["customerId"] == part.customer_id
    assert (
        held["address1"],
        held["city"],
        held["postcode"],
        held["countryCode"],
        held["defaultAddress"],
    ) == (address.line1, address.city, address.postcode, address.country, True)
    assert body["defaultAddress"] == held
    # The same seed gives the same records, address ids included.
    async with await open_client(create_app(generate(SEED, PERSONS), SimulatorOptions())) as again:
        other = await again.get(f"/api/v2/customers/{part.customer_id}", headers=tenant_headers(await get_token(again)))
        assert other.json() == body


# -- create ------------------------------------------------------------------------------------------


async def test_create_with_the_document_sample_returns_201_with_the_full_customer(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v2/customers", json=sample_customer(), headers=auth)
    assert response.status_code == 201
    body = response.json()
    customer_id = body["id"]
    assert UUID.fullmatch(customer_id)
    [address] = body["addresses"]
    assert UUID.fullmatch(address["id"]) and address["customerId"] == customer_id
    assert {k: v for k, v in address.items() if k not in ("id", "customerId")} == {
        k: v for k, v in SAMPLE_ADDRESS.items() if k not in ("id", "customerId")
    }
    assert body["defaultAddress"] == address  # the sample's defaultAddress names the same address ("string")
    assert TIMESTAMP.fullmatch(body["createdDate"]) and body["createdDate"] != "2022-06-20T06:21:32.358Z"
    expected = {
        k: v
        for k, v in sample_customer().items()
        if k not in ("id", "addresses", "defaultAddress", "createdDate", "lastModifiedDate")
    }
    expected["dob"] = "20-06-2022"  # the sample's date-time, kept as TWC's dd-mm-yyyy
    assert {k: v for k, v in body.items() if k in expected} == expected
    fetched = await client.get(f"/api/v2/customers/{customer_id}", headers=auth)
    assert fetched.json() == body
    by_ref = await client.get("/api/v2/customers/string/ref", headers=auth)
    assert by_ref.json() == body


async def test_create_with_only_an_email_fills_the_defaults(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v2/customers", json={"email": "only@example.com", "dob": "28-11-1999"}, headers=auth
    )
    assert response.status_code == 201
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("id", "createdDate", "lastModifiedDate")} == {
        "email": "only@example.com",
        "dob": "28-11-1999",
        "addresses": [],
        "accepts_marketing": False,
        "active": True,
        "customer_state": "enabled",
        "taxExempt": False,
        "taxExemptions": [],
        "verified_email": False,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"firstName": "No", "lastName": "Email"}, "email is mandatory"),
        ({"email": "   "}, "email is mandatory"),
        (
            {"email": "x@example.com", "dob": "1999-13-45"},
            "JSON parse error: dob: dob must be in dd-mm-yyyy format",
        ),
        (
            {"email": "x@example.com", "dob": "31-02-1999"},
            "JSON parse error: dob: dob must be in dd-mm-yyyy format",
        ),
        (
            {"email": "x@example.com", "customer_state": "asleep"},
            "JSON parse error: customer_state: Input should be 'disabled', 'invited', 'enabled' or 'declined'",
        ),
        (
            {"email": "x@example.com", "addresses": "street"},
            "JSON parse error: addresses: Input should be a valid list",
        ),
    ],
)
async def test_create_refuses_invalid_input_with_400_and_creates_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = await client.post("/api/v2/customers", json=body, headers=auth)
    assert response.status_code == 400
    assert error(response) == {
        "status": 400,
        "error": "Bad Request",
        "message": message,
        "path": "/api/v2/customers",
    }
    assert (await client.get("/api/v2/customers/search", params={"email": "x@example.com"}, headers=auth)).json() == []


async def test_create_refuses_malformed_json(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/v2/customers", content=b'{"email": ', headers=auth)
    assert response.status_code == 400
    assert error(response)["message"] == "JSON parse error: malformed request body"


async def test_duplicate_email_is_refused_case_and_space_insensitively(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = twc_persons(dataset)[0]
    response = await client.post("/api/v2/customers", json={"email": f"  {person.email.upper()} "}, headers=auth)
    assert response.status_code == 400
    assert error(response) == {
        "status": 400,
        "error": "Bad Request",
        "message": "A customer with this email already exists",
        "path": "/api/v2/customers",
    }


@pytest.mark.parametrize("field", ["customerRef", "alternateCustomerRef", "mobile"])
async def test_duplicate_unique_values_are_refused(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset, field: str
) -> None:
    first = await client.post(
        "/api/v2/customers",
        json={
            "email": "a@example.com",
            "customerRef": "REF-A",
            "alternateCustomerRef": "ALT-A",
            "mobile": "+44 7700 900123",
        },
        headers=auth,
    )
    assert first.status_code == 201
    values = {"customerRef": "REF-A", "alternateCustomerRef": "ALT-A", "mobile": "447700900123"}
    response = await client.post(
        "/api/v2/customers", json={"email": "b@example.com", field: values[field]}, headers=auth
    )
    assert response.status_code == 400
    assert error(response)["message"] == f"A customer with this {field} already exists"
    assert (await client.get("/api/v2/customers/search", params={"email": "b@example.com"}, headers=auth)).json() == []


# -- upload and validate ------------------------------------------------------------------------------


async def test_upload_with_the_document_sample_is_202_without_a_body(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    second = {"email": "second@example.com", "customerRef": "SECOND", "firstName": "Second"}
    response = await client.post("/api/v2/upload-customers", json=[sample_customer(), second], headers=auth)
    assert (response.status_code, response.content) == (202, b"")
    found = (await client.get("/api/v2/customers/search", params={"email": "string"}, headers=auth)).json()
    assert [c["customerRef"] for c in found] == ["string"]
    assert (await client.get("/api/v2/customers/SECOND/ref", headers=auth)).json()["firstName"] == "Second"


async def test_upload_skips_elements_whose_unique_values_are_taken(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    taken = twc_persons(dataset)[0].email
    batch = [
        {"email": taken, "firstName": "Taken"},
        {"email": "fresh@example.com"},
        {"email": "FRESH@example.com"},
    ]
    assert (await client.post("/api/v2/upload-customers", json=batch, headers=auth)).status_code == 202
    assert (await client.get("/api/v2/customers/search", params={"firstName": "Taken"}, headers=auth)).json() == []
    fresh = (await client.get("/api/v2/customers/search", params={"email": "fresh@example.com"}, headers=auth)).json()
    assert [c["email"] for c in fresh] == ["fresh@example.com"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"email": "ok@example.com"}, {"firstName": "NoEmail"}], "[1] email is mandatory"),
        ({"email": "ok@example.com"}, "JSON parse error: expected an array of customers"),
    ],
)
async def test_upload_refuses_a_bad_batch_whole(
    client: httpx.AsyncClient, auth: dict[str, str], body: Any, message: str
) -> None:
    response = await client.post("/api/v2/upload-customers", json=body, headers=auth)
    assert response.status_code == 400
    assert error(response) == {
        "status": 400,
        "error": "Bad Request",
        "message": message,
        "path": "/api/v2/upload-customers",
    }
    assert (await client.get("/api/v2/customers/search", params={"email": "ok@example.com"}, headers=auth)).json() == []


async def test_validate_checks_the_payload_not_the_data(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    valid = await client.post("/api/v2/customers/validate", json=sample_customer(), headers=auth)
    assert (valid.status_code, valid.content) == (200, b"")
    taken = await client.post("/api/v2/customers/validate", json={"email": twc_persons(dataset)[0].email}, headers=auth)
    assert taken.status_code == 200
    missing = await client.post("/api/v2/customers/validate", json={"firstName": "x"}, headers=auth)
    assert missing.status_code == 400
    assert error(missing) == {
        "status": 400,
        "error": "Bad Request",
        "message": "email is mandatory",
        "path": "/api/v2/customers/validate",
    }
    assert (await client.get("/api/v2/customers/search", params={"email": "string"}, headers=auth)).json() == []


# -- update ------------------------------------------------------------------------------------------


async def test_put_replaces_the_whole_customer(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = with_ref(dataset)
    url = f"/api/v2/customers/{twc_id(person)}"
    before = (await client.get(url, headers=auth)).json()
    response = await client.put(
        "/api/v2/customers",
        json={"id": before["id"], "email": "moved@example.com", "firstName": "Renamed"},
        headers=auth,
    )
    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "lastModifiedDate"} == {
        "id": before["id"],
        "email": "moved@example.com",
        "firstName": "Renamed",
        "addresses": [],
        "accepts_marketing": False,
        "active": True,
        "customer_state": "enabled",
        "taxExempt": False,
        "taxExemptions": [],
        "verified_email": False,
        "createdDate": before["createdDate"],
        # a change of the marketing preferences is stamped by the server
        **(
            {"marketing_preferences_updated_at": body["marketing_preferences_updated_at"]}
            if before["accepts_marketing"]
            else {}
        ),
    }
    assert body["lastModifiedDate"] > before["lastModifiedDate"]
    assert (await client.get(url, headers=auth)).json() == body
    # what was cleared is free again, and the old reference finds nobody
    assert (await client.get(f"/api/v2/customers/{before['customerRef']}/ref", headers=auth)).status_code == 404
    reuse = await client.post(
        "/api/v2/customers",
        json={"email": before["email"], "customerRef": before["customerRef"]},
        headers=auth,
    )
    assert reuse.status_code == 201


async def test_put_read_modify_write_keeps_everything_and_address_ids(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    url = f"/api/v2/customers/{twc_id(with_ref(dataset))}"
    before = (await client.get(url, headers=auth)).json()
    changed = {**before, "lastName": "Changed", "active": False}
    body = (await client.put("/api/v2/customers", json=changed, headers=auth)).json()
    assert {k: v for k, v in body.items() if k != "lastModifiedDate"} == {
        **{k: v for k, v in before.items() if k != "lastModifiedDate"},
        "lastName": "Changed",
        "active": False,
    }


async def test_put_by_customer_ref_without_an_id(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = with_ref(dataset)
    assert person.twc is not None
    ref = person.twc.customer_ref
    response = await client.put(
        "/api/v2/customers",
        json={"customerRef": ref, "email": person.email, "mobile": "+61 400 000 000"},
        headers=auth,
    )
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["mobile"]) == (twc_id(person), "+61 400 000 000")


async def test_put_errors_change_nothing(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    one, other = twc_persons(dataset)[:2]
    url = f"/api/v2/customers/{twc_id(one)}"
    before = (await client.get(url, headers=auth)).json()
    cases = [
        (
            {"id": twc_id(one), "email": f" {other.email.title()}"},
            400,
            "A customer with this email already exists",
        ),
        ({"id": twc_id(one), "firstName": "NoEmail"}, 400, "email is mandatory"),
        ({"email": "x@example.com"}, 400, "id or customerRef is required"),
        ({"id": "no-such-id", "email": "x@example.com"}, 404, "ResourceNotFound: customer not found"),
        (
            {"customerRef": "NO-SUCH-REF", "email": "x@example.com"},
            404,
            "ResourceNotFound: customer not found",
        ),
    ]
    for body, status, message in cases:
        response = await client.put("/api/v2/customers", json=body, headers=auth)
        assert response.status_code == status, body
        assert error(response) == {
            "status": status,
            "error": "Bad Request" if status == 400 else "Not Found",
            "message": message,
            "path": "/api/v2/customers",
        }
    assert (await client.get(url, headers=auth)).json() == before


# -- addresses ---------------------------------------------------------------------------------------


async def test_add_address_with_the_document_sample(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    customer_id = twc_id(twc_persons(dataset)[0])
    before = (await client.get(f"/api/v2/customers/{customer_id}", headers=auth)).json()
    response = await client.post(f"/api/v2/customers/{customer_id}/address", json=SAMPLE_ADDRESS, headers=auth)
    assert response.status_code == 200
    body = response.json()
    old, new = body["addresses"]
    assert old == {**before["addresses"][0], "defaultAddress": False}
    assert UUID.fullmatch(new["id"]) and new["customerId"] == customer_id
    assert {k: v for k, v in new.items() if k not in ("id", "customerId")} == {
        k: v for k, v in SAMPLE_ADDRESS.items() if k not in ("id", "customerId")
    }
    assert body["defaultAddress"] == new  # the sample marks it default
    assert (await client.get(f"/api/v2/customers/{customer_id}", headers=auth)).json() == body


async def test_add_address_to_an_unknown_customer_is_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.post("/api/v2/customers/nobody/address", json=SAMPLE_ADDRESS, headers=auth)
    assert response.status_code == 404
    assert error(response) == {
        "status": 404,
        "error": "Not Found",
        "message": "ResourceNotFound: customer not found",
        "path": "/api/v2/customers/nobody/address",
    }


# -- reads -------------------------------------------------------------------------------------------


async def test_find_by_id_of_nobody_is_a_blank_404(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    response = await client.get("/api/v2/customers/7c14445d-c9fb-457d-90ec-114a04e57bc3", headers=auth)
    assert (response.status_code, response.content) == (404, b"")


async def test_find_by_ref(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    person = with_ref(dataset)
    assert person.twc is not None
    found = await client.get(f"/api/v2/customers/{person.twc.customer_ref}/ref", headers=auth)
    assert (found.status_code, found.json()["id"]) == (200, person.twc.customer_id)
    missing = await client.get("/api/v2/customers/NO-SUCH-REF/ref", headers=auth)
    assert missing.status_code == 404
    assert error(missing) == {
        "status": 404,
        "error": "Not Found",
        "message": "ResourceNotFound: customer not found",
        "path": "/api/v2/customers/NO-SUCH-REF/ref",
    }


async def test_search_matches_every_given_parameter(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = next(p for p in twc_persons(dataset) if p.twc and p.twc.view.email != p.email)
    assert person.twc is not None
    view = person.twc.view

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v2/customers/search", params=params, headers=auth)
        assert response.status_code == 200
        return [c["id"] for c in response.json()]

    me = [person.twc.customer_id]
    assert await ids(email=person.email) == me  # the canonical e-mail finds the messy one
    assert await ids(email=person.email, lastName=view.last_name.upper()) == me
    assert await ids(email=person.email, lastName="Nobody") == []
    assert await ids(email="nobody@example.com") == []
    assert await ids() == []
    same_name = [
        p.twc.customer_id
        for p in twc_persons(dataset)
        if p.twc
        and (p.twc.view.first_name.lower(), p.twc.view.last_name.lower())
        == (view.first_name.lower(), view.last_name.lower())
    ]
    assert await ids(firstName=view.first_name, lastName=view.last_name) == same_name
    with_mobile = next(p for p in twc_persons(dataset) if p.twc and p.twc.view.mobile)
    assert await ids(mobile=with_mobile.mobile) == [twc_id(with_mobile)]
    assert await ids(mobile=with_mobile.mobile, firstName="Nobody") == []


# -- delete ------------------------------------------------------------------------------------------


async def test_delete_by_id_marks_deleted_and_keeps_the_identifiers_taken(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    person = with_ref(dataset)
    assert person.twc is not None
    ref = person.twc.customer_ref
    response = await client.delete(f"/api/v2/customers/{twc_id(person)}", headers=auth)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"/api/v2/customers/{twc_id(person)}", headers=auth)).status_code == 404
    assert (await client.get(f"/api/v2/customers/{ref}/ref", headers=auth)).status_code == 404
    assert (await client.get("/api/v2/customers/search", params={"email": person.email}, headers=auth)).json() == []
    put = await client.put("/api/v2/customers", json={"id": twc_id(person), "email": person.email}, headers=auth)
    assert put.status_code == 404
    # Only marked deleted: its e-mail and reference still belong to it.
    reuse = await client.post("/api/v2/customers", json={"email": person.email}, headers=auth)
    assert error(reuse)["message"] == "A customer with this email already exists"
    reuse_ref = await client.post(
        "/api/v2/customers", json={"email": "new@example.com", "customerRef": ref}, headers=auth
    )
    assert error(reuse_ref)["message"] == "A customer with this customerRef already exists"
    # Deleting again, or deleting nobody, is the same empty 204.
    assert (await client.delete(f"/api/v2/customers/{twc_id(person)}", headers=auth)).status_code == 204
    assert (await client.delete("/api/v2/customers/nobody", headers=auth)).status_code == 204


async def test_delete_by_ref(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    person = with_ref(dataset)
    assert person.twc is not None
    response = await client.delete(f"/api/v2/customers/{person.twc.customer_ref}/ref", headers=auth)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"/api/v2/customers/{twc_id(person)}", headers=auth)).status_code == 404
    assert (await client.delete("/api/v2/customers/NO-SUCH-REF/ref", headers=auth)).status_code == 204


async def test_reset_with_data_brings_deleted_customers_back(
    client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset
) -> None:
    url = f"/api/v2/customers/{twc_id(twc_persons(dataset)[0])}"
    await client.delete(url, headers=auth)
    await client.post("/__sim/reset?data=1")
    assert (await client.get(url, headers=tenant_headers(await get_token(client)))).status_code == 200
    stats = (await client.get("/__sim/stats")).json()
    assert stats["calls"] == {
        "GET /api/v2/customers/{id}": 1,
        f"POST {TOKEN_URL.replace(TENANT, '{tenant}')}": 1,
    }


# -- faults ------------------------------------------------------------------------------------------


async def test_latency_delays_calls(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"latency_ms": 150})
    started = time.perf_counter()
    assert (await client.get("/api/v2/customers/search", params={"email": "a@b.c"}, headers=auth)).status_code == 200
    assert 0.15 <= time.perf_counter() - started < 1.0


async def test_injected_errors_use_the_spring_body(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"error_rate": 1.0, "error_status": 503})
    response = await client.get("/api/v2/customers/search", params={"email": "a@b.c"}, headers=auth)
    assert response.status_code == 503
    assert error(response) == {
        "status": 503,
        "error": "Service Unavailable",
        "message": "Service Unavailable",
    }


async def test_hang_never_answers(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await client.post("/__sim/faults", json={"hang": True})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get("/api/v2/customers/search", params={"email": "a@b.c"}, headers=auth), 0.3)
    await client.delete("/__sim/faults")
    assert (await client.get("/api/v2/customers/search", params={"email": "a@b.c"}, headers=auth)).status_code == 200


async def test_malformed_bodies_are_not_json(client: httpx.AsyncClient, auth: dict[str, str], dataset: Dataset) -> None:
    await client.post("/__sim/faults", json={"malformed": True})
    # The validating client parses every body: a broken one fails right there.
    with pytest.raises(json.JSONDecodeError):
        await client.get(f"/api/v2/customers/{twc_id(twc_persons(dataset)[0])}", headers=auth)


async def test_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    # The token call of the ``auth`` fixture counts too: every route of the simulator shares the limit.
    await client.post("/__sim/faults", json={"rate_limit_per_minute": 3})
    statuses = [
        (await client.get("/api/v2/customers/search", params={"email": "a@b.c"}, headers=auth)) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    limited = statuses[-1]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert error(limited) == {"status": 429, "error": "Too Many Requests", "message": "Rate limit exceeded"}
