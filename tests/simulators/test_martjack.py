"""The Martjack simulator against martjack-customer-api.md (and README.md where the document is silent).

Every provider call goes through ``validating_client``, so every response is also checked against the
simulator's OpenAPI document; the few exceptions (a malformed body, a differently-cased path) say why.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.dataset import Dataset, generate
from customer_graph.simulators.martjack import DEMO_APP, PREFIX, create_app, credentials
from customer_graph.simulators.martjack.auth import oauth1_signature
from customer_graph.simulators.martjack.openapi import OPENAPI
from tests.simulators.martjack_fixtures import (
    TOKEN_PATH,
    C,
    M,
    client_for,
    martjack_persons,
    merchant_jwt,
    oauth_params,
    served_spec,
    signed_url,
)
from tests.simulators.openapi_contract import validating_client

SEED = 11
AUTH_FAILED = {"messageCode": "1003", "Message": "Authentication Failed", "ErrorCode": 1003}
NOT_AUTHORIZED = {"messageCode": "1030", "Message": "Service is not Authorized", "ErrorCode": 1030}
NO_RECORD = {"messageCode": "1009", "Message": "No Record Found", "ErrorCode": 1009}
NO_USER = {"messageCode": "1017", "Message": "User doesn't exit", "ErrorCode": 1017}
SESSION_EXPIRED = {"messageCode": "440", "Message": "Session expired", "ErrorCode": 440}
OK = {"messageCode": "1004", "Message": "Successful", "ErrorCode": 0}

# martjack-customer-api.md, Create Customer Account: the sample POST request.
CREATE_SAMPLE: dict[str, Any] = {
    "customer": {
        "UserName": "tom.sawyer@capillarytech.com",
        "FirstName": "Tom",
        "LastName": "Sawyer",
        "PostalAddress": "100, Santa Plaza",
        "AlternateEmail": "alternateEmail@gmail.com",
        "City": "3451",
        "Pin": "560001",
        "State": "KA",
        "Country": "IN",
        "Street": "MG Road",
        "MobileNo": "917000000000",
        "BirthDate": "1/1/1994 12:00:00",
        "Gender": "F",
        "Occupation": "Professor",
        "Industry": "Education",
        "OtherArea": "otherArea",
        "CountryName": "India",
        "StateName": "Karnataka",
        "CityName": "Bangalore",
        "AreaName": "Area Name",
        "OtherCity": "OtherCity",
        "IsReceiveOffers": False,
        "States": None,
        "merchantId": "81e77da2-723b-483d-8c0d-49f800c1xxxx",
        "Password": "ABG-704@cp",
        "CommunicationType": None,
    }
}


def invalid(reason: str) -> dict[str, Any]:
    return {"messageCode": "1016", "Message": f"Invalid Input: {reason}", "ErrorCode": 1016}


@pytest.fixture
def dataset() -> Dataset:
    return generate(SEED, 40)


@pytest.fixture
async def client(dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(dataset) as c:
        yield c


async def login(client: httpx.AsyncClient, user_name: str, password: str) -> dict[str, Any]:
    response = await client.post(f"{C}/{M}/login", json={"username": user_name, "password": password})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def guest_token(client: httpx.AsyncClient) -> str:
    body = (await client.post(f"{C}/GetAccessToken/{M}")).json()
    assert body["messageCode"] == "1004"
    return str(body["Token"]["AccessToken"])


async def get_customer(client: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    body = (await client.get(f"{C}/{M}/{user_id}")).json()
    assert body["messageCode"] == "1004", body
    customer: dict[str, Any] = body["Customer"]
    return customer


async def count(client: httpx.AsyncClient) -> int:
    return int((await client.get(f"{C}/{M}/Count")).json()["Count"])


# -- the document, the contract, determinism -----------------------------------------------------------------


async def test_the_served_document_is_the_openapi_module(dataset: Dataset) -> None:
    app = create_app(dataset, SimulatorOptions(seed=SEED))
    assert await served_spec(app) == json.loads(json.dumps(OPENAPI))
    assert OPENAPI["openapi"] == "3.1.0"


async def test_same_seed_same_customers(dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    async with client_for(generate(SEED, 40)) as a, client_for(generate(SEED, 40)) as b:
        assert await get_customer(a, part.user_id) == await get_customer(b, part.user_id)


async def test_credentials_name_a_customer_who_can_log_in() -> None:
    printed = credentials()
    assert printed["merchant id"] == M
    found = re.search(r'"username": "([^"]+)", "password": "([^"]+)"', printed["customer login"])
    assert found is not None
    async with client_for(generate(42, 20)) as client:
        body = await login(client, found[1], found[2])
    assert body["messageCode"] == "1004"


# -- merchant authentication ---------------------------------------------------------------------------------


async def test_token_route_issues_a_jwt_living_3600_seconds_by_default(client: httpx.AsyncClient) -> None:
    body = (await client.get(TOKEN_PATH)).json()
    assert body["messageCode"] == "1004" and body["ErrorCode"] == 0
    assert body["Token"]["MerchantId"] == M
    header, payload, _ = body["Token"]["AccessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "JWT"
    assert (claims["sub"], claims["exp"] - claims["iat"]) == (DEMO_APP.public_key, 3600)
    assert re.fullmatch(r"/Date\(\d{13}\+0530\)/", body["Token"]["issued_at"])


async def test_stats_count_merchant_jwts_as_access_tokens_and_sessions_apart(client: httpx.AsyncClient) -> None:
    # The connector contract reads ``tokens_issued.access`` to count merchant token fetches.
    await client.post("/__sim/reset?data=1")
    client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
    assert (await client.post(f"{C}/GetAccessToken/{M}")).json()["messageCode"] == "1004"
    issued = (await client.get("/__sim/stats")).json()["tokens_issued"]
    assert issued == {"access": 1, "customer_session": 1}


async def test_unknown_public_key_gets_no_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/developerapi/OAuth/Token/NOSUCHKEY")
    assert (response.status_code, response.json()) == (401, AUTH_FAILED)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "", "AuthToken": "forged.jwt.value"},
    ],
)
async def test_missing_or_wrong_merchant_credentials_get_1003_and_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(f"{C}/{M}/Count", headers=headers)
    assert (response.status_code, response.json()) == (401, AUTH_FAILED)


async def test_martjack_jwt_headers_authenticate(client: httpx.AsyncClient) -> None:
    jwt = await merchant_jwt(client)
    headers = {"Authorization": "", "AuthToken": jwt, "PublicKey": DEMO_APP.public_key, "MerchantId": M}
    assert (await client.get(f"{C}/{M}/Count", headers=headers)).json()["messageCode"] == "1004"
    headers["PublicKey"] = "OTHERKEY"
    assert (await client.get(f"{C}/{M}/Count", headers=headers)).json() == AUTH_FAILED


async def test_expired_merchant_jwt_is_refused_until_a_new_one_is_fetched(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/tokens/expire")
    response = await client.get(f"{C}/{M}/Count")
    assert (response.status_code, response.json()) == (401, AUTH_FAILED)
    client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
    assert (await client.get(f"{C}/{M}/Count")).status_code == 200


async def test_token_ttl_option_shortens_the_jwt_lifetime(dataset: Dataset) -> None:
    async with client_for(dataset, token_ttl_seconds=0.2) as client:
        assert (await client.get(f"{C}/{M}/Count")).status_code == 200
        await asyncio.sleep(0.25)
        response = await client.get(f"{C}/{M}/Count")
    assert (response.status_code, response.json()) == (401, AUTH_FAILED)


async def test_another_merchant_id_is_not_authorized(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{C}/81e77da2-723b-483d-8c0d-49f800c1exxx/Count")
    assert (response.status_code, response.json()) == (403, NOT_AUTHORIZED)


async def test_merchant_id_is_a_guid_matched_in_any_case(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{C}/{M.upper()}/Count")).status_code == 200


# -- OAuth 1.0 HMAC-SHA1 -------------------------------------------------------------------------------------


def test_signature_matches_the_published_oauth1_example() -> None:
    # The worked example of Twitter's "Creating a signature" guide (HMAC-SHA1, RFC 5849).
    params = [
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ("include_entities", "true"),
        ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
        ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1318622958"),
        ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        ("oauth_version", "1.0"),
    ]
    signature = oauth1_signature(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json",
        params,
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    assert signature == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


@pytest.fixture
async def unsigned(dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(dataset, authenticated=False) as c:
        yield c


async def test_oauth1_parameters_in_the_query_authenticate(unsigned: httpx.AsyncClient) -> None:
    response = await unsigned.get(signed_url("GET", f"http://sim{C}/{M}/Count?apiversion=4"))
    assert response.json()["messageCode"] == "1004"


async def test_oauth1_parameters_as_headers_authenticate(unsigned: httpx.AsyncClient) -> None:
    url = f"http://sim{C}/{M}/Count"
    as_headers = oauth_params("GET", url)
    assert (await unsigned.get(url, headers=as_headers)).json()["messageCode"] == "1004"
    header = "OAuth " + ", ".join(f'{k}="{v}"' for k, v in oauth_params("GET", url).items())
    assert (await unsigned.get(url, headers={"Authorization": header})).json()["messageCode"] == "1004"


async def test_oauth1_signature_covers_a_form_encoded_body(unsigned: httpx.AsyncClient) -> None:
    url = f"http://sim{C}/{M}/Create"
    form = {"InputFormat": "application/json", "InputData": json.dumps(CREATE_SAMPLE)}
    response = await unsigned.post(
        signed_url("POST", url, body=form),
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json()["Customer"]["UserName"] == "tom.sawyer@capillarytech.com"
    tampered = {**form, "InputData": form["InputData"].replace("tom.sawyer", "huck.finn")}
    response = await unsigned.post(
        signed_url("POST", url, body=form),
        content=urlencode(tampered),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status_code, response.json()) == (401, AUTH_FAILED)


async def test_oauth1_refuses_wrong_secret_stale_timestamp_replay_and_tampering(unsigned: httpx.AsyncClient) -> None:
    url = f"http://sim{C}/{M}/Count"
    refused = [
        signed_url("GET", url, secret="WRONGSECRET"),
        signed_url("GET", url, timestamp=int(time.time()) - 3600),
        signed_url("GET", url).replace("/Count", "/count"),  # the signed path differs from the one called
    ]
    for bad in refused:
        response = await unsigned.get(bad)
        assert (response.status_code, response.json()) == (401, AUTH_FAILED), bad
    once = signed_url("GET", url, nonce="same-nonce")
    assert (await unsigned.get(once)).status_code == 200
    assert (await unsigned.get(once)).json() == AUTH_FAILED


async def test_oauth1_signs_the_full_url_under_the_simulator_prefix(dataset: Dataset) -> None:
    mounted = Starlette(routes=[Mount(PREFIX, app=create_app(dataset, SimulatorOptions(seed=SEED)))])
    spec = {**OPENAPI, "paths": {PREFIX + path: item for path, item in OPENAPI["paths"].items()}}
    async with await validating_client(mounted, spec, base_url="http://127.0.0.1:8400") as client:
        response = await client.get(signed_url("GET", f"http://127.0.0.1:8400{PREFIX}{C}/{M}/Count"))
    assert response.json()["messageCode"] == "1004"


# -- Create --------------------------------------------------------------------------------------------------


async def test_create_the_document_sample(client: httpx.AsyncClient) -> None:
    before = await count(client)
    body = (await client.post(f"{C}/{M}/Create", json=CREATE_SAMPLE)).json()
    assert (body["messageCode"], body["Message"], body["ErrorCode"]) == ("1004", "Successful", 0)
    customer = body["Customer"]
    expected = {
        k: v
        for k, v in CREATE_SAMPLE["customer"].items()
        if k not in {"merchantId", "Password", "BirthDate", "CommunicationType", "States"}
    }
    assert {k: customer[k] for k in expected} == expected
    assert customer["BirthDate"] == "1/1/1994 12:00:00 PM"
    assert customer["UserInfoId"] == "00000000-0000-0000-0000-000000000000"
    assert (customer["UserProfiles"], customer["Password"], customer["MerchantId"]) == (None, None, M)
    assert (customer["CommunicationType"], customer["MarketingNotificationType"]) == ("nochannel", "sms|email|push")
    assert "PhoneNo" not in customer
    assert await count(client) == before + 1
    stored = await get_customer(client, customer["UserId"])
    assert stored["BirthDate"] == "1/1/1994"
    assert stored["UserInfoId"] != "00000000-0000-0000-0000-000000000000"
    assert (stored["UserProfiles"], stored["PhoneNo"], stored["FirstName"]) == ([], "", "Tom")


async def test_create_accepts_martjacks_form_encoded_input_data(client: httpx.AsyncClient) -> None:
    form = {
        "InputData": json.dumps(
            {"customer": {"MobileNo": 917411639000, "UserName": 917411639000, "Password": "x1!", "merchantId": M}}
        ),
        "InputFormat": "application/json",
    }
    body = (await client.post(f"{C}/{M}/Create", data=form)).json()
    assert (body["messageCode"], body["Customer"]["UserName"], body["Customer"]["MobileNo"]) == (
        "1004",
        "917411639000",
        "917411639000",
    )


async def test_create_with_a_taken_user_name_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[0]
    before = await count(client)
    duplicate = {"customer": {"UserName": f"  {part.user_name.upper()} ", "Password": "Other-1"}}
    response = await client.post(f"{C}/{M}/Create", json=duplicate)
    assert (response.status_code, response.json()) == (
        200,
        {"messageCode": "1016", "Message": "User already exists", "ErrorCode": 1016},
    )
    assert await count(client) == before
    assert (await login(client, part.user_name, part.password))["messageCode"] == "1004"


@pytest.mark.parametrize(
    ("customer", "reason"),
    [
        ({"Password": "Secret-1", "FirstName": "No"}, "UserName is required"),
        ({"UserName": "   ", "Password": "Secret-1"}, "UserName is required"),
        ({"UserName": "new.person@example.com"}, "Password is required"),
        ({"UserName": "new.person@example.com", "Password": "Secret-1", "BirthDate": "31/31/1990"}, "BirthDate"),
        ({"UserName": "new.person@example.com", "Password": "Secret-1", "FirstName": {"x": 1}}, "FirstName"),
    ],
)
async def test_create_with_missing_or_invalid_fields_is_1016(
    client: httpx.AsyncClient, customer: dict[str, Any], reason: str
) -> None:
    before = await count(client)
    response = await client.post(f"{C}/{M}/Create", json={"customer": customer})
    assert (response.status_code, response.json()) == (200, invalid(reason))
    assert await count(client) == before


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"])
async def test_a_body_that_is_not_a_json_object_is_1016(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(f"{C}/{M}/Create", content=body, headers={"Content-Type": "application/json"})
    assert response.json()["messageCode"] == "1016"


async def test_create_without_the_customer_wrapper_is_1016(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{C}/{M}/Create", json={"UserName": "a@b.c", "Password": "x"})
    assert response.json() == invalid("customer")


# -- reads ---------------------------------------------------------------------------------------------------


async def test_get_customer_details_shows_the_seeded_view(client: httpx.AsyncClient, dataset: Dataset) -> None:
    person, part = martjack_persons(dataset)[0]
    customer = await get_customer(client, part.user_id.upper())
    view = part.view
    assert (customer["UserId"], customer["UserInfoId"], customer["UserName"]) == (
        part.user_id,
        part.user_info_id,
        part.user_name,
    )
    assert (customer["FirstName"], customer["LastName"]) == (view.first_name, view.last_name)
    assert customer["MobileNo"] == person.mobile.lstrip("+") and customer["MobileNo"].isdigit()
    assert view.birth_date is not None
    birth = view.birth_date
    assert customer["BirthDate"] == f"{birth.month}/{birth.day}/{birth.year}"
    assert customer["IsReceiveOffers"] is part.receive_offers
    assert view.address is not None
    assert (customer["Street"], customer["Pin"], customer["Country"], customer["CityName"]) == (
        view.address.line1,
        view.address.postcode,
        view.address.country,
        view.address.city,
    )
    assert customer["UserProfiles"] == []
    email_user = part.user_name == view.email
    assert customer["AlternateEmail"] == ("" if email_user else view.email)


async def test_get_customer_details_of_an_unknown_user_is_1009(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{C}/{M}/9b0df0ca-101c-4525-ac55-33829319085a")
    assert (response.status_code, response.json()) == (200, NO_RECORD)


async def test_count_is_every_customer_of_the_merchant(client: httpx.AsyncClient, dataset: Dataset) -> None:
    response = await client.get(f"{C}/{M}/Count")
    assert response.json() == {"Count": len(martjack_persons(dataset)), "Message": "Successful", "messageCode": "1004"}


async def test_search_matches_user_name_by_contains_without_case(client: httpx.AsyncClient, dataset: Dataset) -> None:
    names = [part.user_name for _, part in martjack_persons(dataset)]
    keyword = names[0][2:7].upper()
    body = (await client.post(f"{C}/{M}/Search", json={"customerSearch": {"UserName": keyword}})).json()
    assert body["messageCode"] == "1004"
    assert sorted(c["UserName"] for c in body["Customers"]) == sorted(n for n in names if keyword.lower() in n.lower())


async def test_search_the_document_sample_after_creating_tom(client: httpx.AsyncClient) -> None:
    await client.post(f"{C}/{M}/Create", json=CREATE_SAMPLE)
    body = (await client.post(f"{C}/{M}/Search", json={"customerSearch": {"UserName": "tom"}})).json()
    assert "tom.sawyer@capillarytech.com" in [c["UserName"] for c in body["Customers"]]


async def test_search_without_a_match_is_1009_and_without_a_keyword_1016(client: httpx.AsyncClient) -> None:
    none = await client.post(f"{C}/{M}/Search", json={"customerSearch": {"UserName": "zz-nobody-zz"}})
    assert none.json() == NO_RECORD
    empty = await client.post(f"{C}/{M}/Search", json={"customerSearch": {}})
    assert empty.json() == invalid("UserName is required")


# -- customer sessions ---------------------------------------------------------------------------------------


async def test_login_with_credentials_returns_a_session_token(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[1]
    body = await login(client, part.user_name, part.password)
    assert (body["messageCode"], body["Message"], body["ErrorCode"]) == ("1004", "Logged In successfully", 0)
    token = body["Token"]
    assert re.fullmatch(r"[a-z0-5]{24}", token["AccessToken"])
    assert re.fullmatch(r"/Date\(\d{13}\+0530\)/", token["issued_at"])
    assert (token["UserId"], token["MerchantId"]) == (part.user_id, M)


async def test_login_is_refused_for_wrong_password_unknown_user_and_missing_fields(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[1]
    assert await login(client, part.user_name, "wrong") == {
        "messageCode": "1040",
        "Message": "Invalid password",
        "ErrorCode": 1040,
    }
    assert await login(client, "nobody@example.com", "x") == {
        "messageCode": "1041",
        "Message": "No user account exists with the provided details",
        "ErrorCode": 1041,
    }
    missing = await client.post(f"{C}/{M}/login", json={"username": part.user_name})
    assert missing.json() == invalid("password is required")


async def test_login_accepts_plain_form_fields(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[1]
    form = {"UserName": part.user_name, "Password": part.password}
    response = await client.post(f"{C}/{M}/login", data=form)
    assert response.json()["Token"]["UserId"] == part.user_id


async def test_validate_token_then_logout_then_the_session_is_expired(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[1]
    token = (await login(client, part.user_name, part.password))["Token"]["AccessToken"]
    valid = await client.get(f"{C}/{M}/{token}/ValidateToken")
    assert valid.json() == {**OK, "SessionValid": "true"}
    logout = await client.post(f"{C}/{M}/Logout", headers={"accesstoken": token})
    assert logout.json() == {"messageCode": "1004", "Message": "Logout Successfully", "ErrorCode": 0}
    assert (await client.get(f"{C}/{M}/{token}/ValidateToken")).json() == SESSION_EXPIRED
    assert (await client.post(f"{C}/{M}/Logout", headers={"accesstoken": token})).json() == SESSION_EXPIRED
    assert (await client.post(f"{C}/{M}/Logout")).json() == SESSION_EXPIRED


async def test_get_access_token_gives_a_guest_session(client: httpx.AsyncClient) -> None:
    body = (await client.post(f"{C}/GetAccessToken/{M}")).json()
    assert (body["messageCode"], body["Message"]) == ("1004", "Logged In successfully")
    assert body["Token"]["MerchantId"] == M
    token = body["Token"]["AccessToken"]
    assert (await client.post(f"{C}/{M}/{token}/ValidateToken")).json()["SessionValid"] == "true"


async def test_customer_sessions_expire_with_the_token_store(client: httpx.AsyncClient) -> None:
    token = await guest_token(client)
    await client.post("/__sim/tokens/expire")
    client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
    assert (await client.get(f"{C}/{M}/{token}/ValidateToken")).json() == SESSION_EXPIRED


# -- Update --------------------------------------------------------------------------------------------------


def update_body(user_id: str, **changes: Any) -> dict[str, Any]:
    """martjack-customer-api.md, Update Customer Details: the sample POST request, for this customer."""
    customer = {
        "UserInfoId": "021e57ca-f19a-42c4-8214-180ad7202044",
        "UserId": user_id,
        "merchantId": M,
        "UserName": "tom.sawyer@capillarytech.com",
        "FirstName": "Tom",
        "LastName": "Sawyer",
        "PostalAddress": "",
        "AlternateEmail": "",
        "City": "32",
        "Pin": "560001",
        "State": "KA",
        "Country": "IN",
        "PhoneNo": "",
        "Street": "",
        "MobileNo": "917400000000",
        "BirthDate": "01/01/1993",
        "Gender": "male",
        "Occupation": "",
        "Industry": "",
        "OtherArea": "",
        "CountryName": "",
        "IsReceiveOffers": False,
    }
    return {"customer": {**customer, **changes}}


async def test_update_without_an_access_token_is_440_and_changes_nothing(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[0]
    before = await get_customer(client, part.user_id)
    response = await client.post(f"{C}/{M}/Update", json=update_body(part.user_id))
    assert (response.status_code, response.json()) == (200, SESSION_EXPIRED)
    forged = await client.post(
        f"{C}/{M}/Update", json=update_body(part.user_id), headers={"accesstoken": "i1z1ouqyb3roglpei1vmpowe"}
    )
    assert forged.json() == SESSION_EXPIRED
    assert await get_customer(client, part.user_id) == before


async def test_update_with_an_expired_access_token_is_440(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    token = (await login(client, part.user_name, part.password))["Token"]["AccessToken"]
    await client.post("/__sim/tokens/expire")
    client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
    response = await client.post(f"{C}/{M}/Update", json=update_body(part.user_id), headers={"accesstoken": token})
    assert response.json() == SESSION_EXPIRED
    assert (await get_customer(client, part.user_id))["FirstName"] == part.view.first_name


async def test_update_with_the_customers_own_session_writes_the_whole_object(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[0]
    token = (await login(client, part.user_name, part.password))["Token"]["AccessToken"]
    body = update_body(part.user_id, IsReceiveOffers=True)
    del body["customer"]["Street"]  # left out: the whole-object write clears it
    response = await client.post(f"{C}/{M}/Update", json=body, headers={"accesstoken": token})
    assert response.json() == OK
    customer = await get_customer(client, part.user_id)
    assert (customer["FirstName"], customer["LastName"], customer["City"]) == ("Tom", "Sawyer", "32")
    assert (customer["MobileNo"], customer["BirthDate"], customer["Gender"]) == ("917400000000", "1/1/1993", "male")
    assert (customer["Street"], customer["PostalAddress"], customer["IsReceiveOffers"]) == ("", "", True)
    assert customer["UserName"] == part.user_name  # the identifier cannot change


async def test_update_with_a_guest_session_acts_for_any_customer(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[2]
    form = {"InputFormat": "application/json", "InputData": json.dumps(update_body(part.user_id, FirstName="Huck"))}
    headers = {"accesstoken": await guest_token(client)}
    response = await client.post(f"{C}/{M}/Update", data=form, headers=headers)
    assert response.json() == OK
    assert (await get_customer(client, part.user_id))["FirstName"] == "Huck"


async def test_update_of_another_customer_with_a_login_session_is_not_authorized(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    (_, mine), (_, theirs) = martjack_persons(dataset)[:2]
    token = (await login(client, mine.user_name, mine.password))["Token"]["AccessToken"]
    response = await client.post(f"{C}/{M}/Update", json=update_body(theirs.user_id), headers={"accesstoken": token})
    assert (response.status_code, response.json()) == (403, NOT_AUTHORIZED)


async def test_update_of_an_unknown_user_is_1017_and_without_user_id_1016(client: httpx.AsyncClient) -> None:
    headers = {"accesstoken": await guest_token(client)}
    unknown = await client.post(
        f"{C}/{M}/Update", json=update_body("1142e724-0f59-4b43-ace6-f10e0e2f0000"), headers=headers
    )
    assert unknown.json() == NO_USER
    body = update_body("x")
    del body["customer"]["UserId"]
    assert (await client.post(f"{C}/{M}/Update", json=body, headers=headers)).json() == invalid("UserId is required")


# -- profile attributes --------------------------------------------------------------------------------------


async def test_update_user_profile_the_document_sample(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    sample = {
        "UserProfile": {
            "UserId": part.user_id,
            "ProfileAttributes": {
                "ProfileAttribute": {"ProfileAttributeId": "1058", "ProfileAttributeValue": "Football"}
            },
        }
    }
    headers = {"accesstoken": await guest_token(client)}
    response = await client.post(f"{C}/{M}/UpdateUserProfile", json=sample, headers=headers)
    assert response.json() == {"messageCode": "1004", "Message": "Updated Successfully", "ErrorCode": 0}
    assert (await get_customer(client, part.user_id))["UserProfiles"] == [
        {
            "UserId": part.user_id,
            "ProfileAttributeId": 1058,
            "ProfileAttributeValueId": 0,
            "ProfileAttributeName": "Favorite Sport",
            "ProfileAttributeValue": "Football",
        }
    ]
    clear = {
        "UserProfile": {
            "UserId": part.user_id,
            "ProfileAttributes": {"ProfileAttribute": [{"ProfileAttributeId": 1058, "ProfileAttributeValue": ""}]},
        }
    }
    cleared = await client.post(f"{C}/{M}/UpdateUserProfile", json=clear, headers=headers)
    assert cleared.json()["ErrorCode"] == 0
    assert (await get_customer(client, part.user_id))["UserProfiles"] == []


async def test_update_user_profile_refusals(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]

    def body(attribute_id: str) -> dict[str, Any]:
        return {
            "UserProfile": {
                "UserId": part.user_id,
                "ProfileAttributes": {
                    "ProfileAttribute": {"ProfileAttributeId": attribute_id, "ProfileAttributeValue": "x"}
                },
            }
        }

    assert (await client.post(f"{C}/{M}/UpdateUserProfile", json=body("660"))).json() == SESSION_EXPIRED
    headers = {"accesstoken": await guest_token(client)}
    unknown = await client.post(f"{C}/{M}/UpdateUserProfile", json=body("9999"), headers=headers)
    assert unknown.json() == invalid("ProfileAttributeId")
    assert (await get_customer(client, part.user_id))["UserProfiles"] == []


# -- shipping addresses --------------------------------------------------------------------------------------


async def test_get_shipping_address_shows_the_seeded_address(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    path = f"{C}/GetShippingAddress/{M}/{part.user_id}"
    body = (await client.get(path, headers={"apiversion": "4"})).json()
    assert body["messageCode"] == "1004"
    [address] = body["ShippingAddresses"]
    seeded = part.addresses[0]
    assert (address["userId"], address["address1"], address["pin"], address["countrycode"]) == (
        part.user_id,
        seeded.line1,
        seeded.postcode,
        seeded.country,
    )
    assert isinstance(address["shippingaddressid"], int)


async def test_add_update_and_delete_shipping_addresses(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    sample = {
        "shippingaddress": {
            "shippingaddressid": "0",
            "userId": part.user_id,
            "firstname": "Tom",
            "lastname": "Sawyer",
            "address1": "H.no.6-51, plot.31, ECIL",
            "address2": "",
            "state": "KA",
            "pin": "560068",
            "countrycode": "IN",
            "citycode": "32",
            "phoneno": "",
            "mobileno": "91-7411000000",
            "email": "tom.sawyer@example.com",
            "AddressType": "Home Address",
        }
    }
    added = (await client.post(f"{C}/AddShippingAddress/{M}", json=sample)).json()
    assert (added["messageCode"], added["ErrorCode"]) == ("1004", 0)
    [saved] = added["ShippingAddresses"]
    new_id = saved["shippingaddressid"]
    assert saved["userId"] == "00000000-0000-0000-0000-000000000000" and saved["address1"] is None

    listed = (await client.get(f"{C}/GetShippingAddress/{M}/{part.user_id}")).json()["ShippingAddresses"]
    mine = next(a for a in listed if a["shippingaddressid"] == new_id)
    assert (mine["address1"], mine["StateName"], mine["CountryName"], mine["AddressType"]) == (
        "H.no.6-51, plot.31, ECIL",
        "Karnataka",
        "India",
        "Home Address",
    )

    replace = {
        "shippingaddress": {**sample["shippingaddress"], "shippingaddressid": new_id, "address1": "Door: 12, 4th Floor"}
    }
    assert (await client.post(f"{C}/AddShippingAddress/{M}", json=replace)).json()["ShippingAddresses"][0][
        "shippingaddressid"
    ] == new_id
    listed = (await client.get(f"{C}/GetShippingAddress/{M}/{part.user_id}")).json()["ShippingAddresses"]
    assert [a["address1"] for a in listed if a["shippingaddressid"] == new_id] == ["Door: 12, 4th Floor"]
    assert len(listed) == len(part.addresses) + 1

    deleted = await client.get(f"{C}/DeleteShippingAddress/{M}/{part.user_id}/{new_id}")
    assert deleted.json() == {"Message": "Success", "messageCode": "1004"}
    again = await client.get(f"{C}/DeleteShippingAddress/{M}/{part.user_id}/{new_id}")
    assert again.json() == NO_RECORD
    bad_id = await client.get(f"{C}/DeleteShippingAddress/{M}/{part.user_id}/abc")
    assert bad_id.json() == invalid("ShippingAddressId")


async def test_shipping_address_refusals(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    base = {
        "shippingaddressid": 0,
        "userId": part.user_id,
        "firstname": "Tom",
        "lastname": "Sawyer",
        "address1": "MG Road",
    }
    cases = [
        ({**base, "firstname": ""}, invalid("firstname is required")),
        ({**base, "shippingaddressid": "x"}, invalid("shippingaddressid")),
        ({**base, "shippingaddressid": 1}, NO_RECORD),
        ({**base, "userId": "4cded968-8ee1-4591-a50b-41649387b000"}, NO_USER),
    ]
    for address, expected in cases:
        response = await client.post(f"{C}/AddShippingAddress/{M}", json={"shippingaddress": address})
        assert response.json() == expected, address
    listed = (await client.get(f"{C}/GetShippingAddress/{M}/{part.user_id}")).json()["ShippingAddresses"]
    assert len(listed) == len(part.addresses)
    unknown = await client.get(f"{C}/GetShippingAddress/{M}/4cded968-8ee1-4591-a50b-41649387b000")
    assert unknown.json() == NO_RECORD


async def test_customer_without_addresses_has_no_shipping_record(client: httpx.AsyncClient) -> None:
    user_id = (await client.post(f"{C}/{M}/Create", json=CREATE_SAMPLE)).json()["Customer"]["UserId"]
    assert (await client.get(f"{C}/GetShippingAddress/{M}/{user_id}")).json() == NO_RECORD


# -- activation, password ------------------------------------------------------------------------------------


async def test_deactivation_blocks_login_and_activation_restores_it(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    _, part = martjack_persons(dataset)[0]
    assert (await client.get(f"{C}/DeActivation/{M}/{part.user_id}")).json() == OK
    assert await login(client, part.user_name, part.password) == {
        "messageCode": "1042",
        "Message": "Your account has not been activated yet. Please try later",
        "ErrorCode": 1042,
    }
    assert (await get_customer(client, part.user_id))["UserId"] == part.user_id
    assert (await client.get(f"{C}/Activation/{M}/{part.user_id}")).json() == OK
    assert (await login(client, part.user_name, part.password))["messageCode"] == "1004"
    unknown = await client.get(f"{C}/Activation/{M}/4cded968-8ee1-4591-a50b-41649387b000")
    assert unknown.json() == NO_USER


async def test_reset_password_changes_the_login(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    response = await client.post(f"{C}/{M}/{part.user_id}/ChangePassword=N3w-pass")
    assert response.json() == {"messageCode": "1004", "Message": "Your Password changed Successfully", "ErrorCode": 0}
    assert (await login(client, part.user_name, part.password))["messageCode"] == "1040"
    assert (await login(client, part.user_name, "N3w-pass"))["messageCode"] == "1004"


async def test_paths_match_in_any_case_as_on_iis(dataset: Dataset) -> None:
    # The document writes both /developerapi/ and /DeveloperAPI/. The contract's path matching is
    # case-sensitive, so this one call goes through a plain client and is compared with a validated one.
    app = create_app(dataset, SimulatorOptions(seed=SEED))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as raw:
        token = (await raw.get(TOKEN_PATH)).json()["Token"]["AccessToken"]
        response = await raw.get(f"/DeveloperAPI/customer/{M}/count", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"Count": len(martjack_persons(dataset)), "Message": "Successful", "messageCode": "1004"}


async def test_reset_with_data_restores_the_seed_and_ends_sessions(client: httpx.AsyncClient, dataset: Dataset) -> None:
    _, part = martjack_persons(dataset)[0]
    token = await guest_token(client)
    await client.post(f"{C}/{M}/Create", json=CREATE_SAMPLE)
    await client.post("/__sim/reset?data=1")
    client.headers["Authorization"] = f"Bearer {await merchant_jwt(client)}"
    assert await count(client) == len(martjack_persons(dataset))
    assert (await client.get(f"{C}/{M}/{token}/ValidateToken")).json() == SESSION_EXPIRED
    assert (await get_customer(client, part.user_id))["UserName"] == part.user_name


# -- faults in Martjack's dialect ----------------------------------------------------------------------------


async def test_latency_delays_the_call(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"latency_ms": 150})
    started = time.perf_counter()
    assert (await client.get(f"{C}/{M}/Count")).status_code == 200
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, {"messageCode": "1000", "Message": "Unhandled Exception", "ErrorCode": 1000}),
        (503, {"messageCode": "1000", "Message": "Unhandled Exception", "ErrorCode": 1000}),
        (401, AUTH_FAILED),
        (403, NOT_AUTHORIZED),
        (400, {"messageCode": "1016", "Message": "Invalid Input", "ErrorCode": 1016}),
    ],
)
async def test_injected_errors_come_in_martjacks_envelope(
    client: httpx.AsyncClient, status: int, expected: dict[str, Any]
) -> None:
    await client.post("/__sim/faults", json={"error_rate": 1.0, "error_status": status})
    response = await client.get(f"{C}/{M}/Count")
    assert (response.status_code, response.json()) == (status, expected)


async def test_hang_never_answers(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/faults", json={"hang": True})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.get(f"{C}/{M}/Count"), timeout=0.3)
    await client.delete("/__sim/faults")
    assert (await client.get(f"{C}/{M}/Count")).status_code == 200


async def test_malformed_keeps_the_status_but_breaks_the_body(dataset: Dataset) -> None:
    # A malformed body cannot pass the contract by design, so this call uses a plain client.
    app = create_app(dataset, SimulatorOptions(seed=SEED))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as raw:
        token = (await raw.get(TOKEN_PATH)).json()["Token"]["AccessToken"]
        await raw.post("/__sim/faults", json={"malformed": True})
        response = await raw.get(f"{C}/{M}/Count", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_rate_limit_answers_martjacks_429_with_retry_after(client: httpx.AsyncClient) -> None:
    await client.post("/__sim/reset")  # forget the token call the fixture made
    await client.post("/__sim/faults", json={"rate_limit_per_minute": 2})
    responses = [await client.get(f"{C}/{M}/Count") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    limited = responses[-1]
    assert limited.json() == {"messageCode": "429", "Message": "Rate limit exceeded", "ErrorCode": 429}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    stats = (await client.get("/__sim/stats")).json()
    assert stats["calls"][f"GET {C}/{{merchantId}}/Count"] == 3
