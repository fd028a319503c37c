"""The TWC connector against its simulator: what each operation sends (``/__sim/stats``), the state TWC ends in
(read back over TWC's own API), the error rules, the auth, and golden files for every mapper function."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from customer_graph.connectors.base import Connector, Operation, Support
from customer_graph.connectors.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from customer_graph.connectors.http import Policy
from customer_graph.connectors.twc import TwcConfig, TwcConnector, mapper, wire
from customer_graph.connectors.twc.connector import classify
from customer_graph.connectors.twc.wire import CustomerDocument, CustomerList, TwcAddress, TwcCustomer
from customer_graph.domain.models import (
    AddressInput,
    AddressPatch,
    Channel,
    CustomerDraft,
    CustomerStatus,
    Facet,
    Gender,
    Identifier,
    IdentifierKey,
    IdentifierType,
    ProfilePatch,
    Provider,
    ProviderRecord,
    SubscriptionInput,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.simulators.twc import credentials
from tests.connectors.contract import Harness
from tests.connectors.golden import assert_golden, jsonable, load_fixture
from tests.connectors.harness_twc import HOST, build_harness, config

POLICY = Policy(deadline=2.0, max_retries=0, backoff_base=0.01, backoff_max=0.05)
PROFILE = frozenset({Facet.PROFILE})
FETCHED = datetime(2024, 1, 1, tzinfo=UTC)
GET_ONE = "GET /api/v2/customers/{id}"
PUT = "PUT /api/v2/customers"
POST = "POST /api/v2/customers"
SEARCH = "GET /api/v2/customers/search"
BY_REF = "GET /api/v2/customers/{customerRef}/ref"
ADD_ADDRESS = "POST /api/v2/customers/{id}/address"
DELETE = "DELETE /api/v2/customers/{id}"
EMAIL_MARKETING_IN = SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)
EMAIL_MARKETING_OUT = SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT)
SMS_MARKETING_IN = SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = await build_harness(POLICY)
    yield harness
    await harness.close()


def twc(h: Harness) -> TwcConnector:
    assert isinstance(h.connector, TwcConnector)
    return h.connector


class Traffic:
    """What the simulator received between ``start`` and ``seen``, token traffic aside."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.before: Counter[str] = Counter()

    async def start(self) -> Traffic:
        self.before = Counter((await self.h.stats())["calls"])
        return self

    async def seen(self) -> dict[str, int]:
        now = Counter((await self.h.stats())["calls"])
        return {k: n for k, n in (now - self.before).items() if "token" not in k}


async def traffic(h: Harness) -> Traffic:
    return await Traffic(h).start()


class RawTwc:
    """TWC's own API, straight, to see the state a write left behind (these calls are counted too)."""

    def __init__(self, h: Harness) -> None:
        self.client = h.control
        self._token: str | None = None

    async def headers(self) -> dict[str, str]:
        if self._token is None:
            creds = credentials()
            response = await self.client.post(
                HOST + creds["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}", "X-TWC-Tenant": creds_tenant()}

    async def get(self, customer_id: str) -> dict[str, Any] | None:
        response = await self.client.get(f"/api/v2/customers/{customer_id}", headers=await self.headers())
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post("/api/v2/customers", json=body, headers=await self.headers())
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def creds_tenant() -> str:
    return credentials()["tenant"]


async def created(h: Harness, **fields: Any) -> ProviderRecord:
    draft = h.new_customer()
    if fields:
        draft = replace(draft, **fields)
    result = await h.connector.create(draft)
    assert result.record is not None
    return result.record


def ids_of(record: ProviderRecord, kind: IdentifierType) -> list[str]:
    return [i.value for i in record.identifiers if i.type is kind]


# -- capabilities ---------------------------------------------------------------------------------


def test_capabilities_follow_the_design_table() -> None:
    caps = TwcConnector.capabilities
    assert caps[Operation.CREATE] is Support.NATIVE
    assert caps[Operation.ERASE] is Support.NATIVE
    assert caps[Operation.GET_RECORDS] is Support.NATIVE
    for emulated in (
        Operation.UPDATE_PROFILE,
        Operation.ADD_IDENTIFIER,
        Operation.REMOVE_IDENTIFIER,
        Operation.UPSERT_ADDRESS,
        Operation.REMOVE_ADDRESS,
        Operation.SET_SUBSCRIPTIONS,
        Operation.MERGE,
        Operation.SET_STATUS,
        Operation.SEARCH,
    ):
        assert caps[emulated] is Support.EMULATED, emulated
    assert caps[Operation.LOYALTY] is caps[Operation.ENROLL_LOYALTY] is Support.UNSUPPORTED
    assert TwcConnector.record_facets == {Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS}
    assert TwcConnector.lookup_types == {IdentifierType.EMAIL, IdentifierType.MOBILE, IdentifierType.CUSTOMER_REF}


def test_config_never_shows_the_secret() -> None:
    cfg = config()
    assert "twc-demo-secret" not in repr(cfg)
    assert "twc-demo-secret" not in repr(TwcConnector(cfg, POLICY).auth)
    derived = TwcConfig(base_url="https://twc.example/", tenant="acme", client_id="c", client_secret="s")
    assert derived.resolved_token_url() == "https://twc.example/auth/realms/acme/protocol/openid-connect/token"


# -- reads ----------------------------------------------------------------------------------------


async def test_get_records_is_one_get_per_distinct_id_and_holds_every_facet(h: Harness) -> None:
    seen = await traffic(h)
    known = h.known_ids[:3]
    slots = await h.connector.get_records([known[0], known[1], known[0], known[2]], PROFILE)
    assert await seen.seen() == {GET_ONE: 3}
    records = [s for s in slots if isinstance(s, ProviderRecord)]
    assert [r.record_id for r in records] == [known[0], known[1], known[0], known[2]]
    for record in records:
        assert record.facets == {Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS}
        assert record.account == "twc-demo" and record.provider is Provider.TWC
        assert record.addresses is not None and record.subscriptions is not None
        assert record.loyalty_programs is None
        [email] = ids_of(record, IdentifierType.EMAIL)
        assert email == email.strip().lower()


async def test_lookups_verify_the_normalised_value_and_make_one_call_per_distinct_key(h: Harness) -> None:
    keys = [key for key, _ in h.lookups]
    seen = await traffic(h)
    slots = await h.connector.find_by_identifiers([*keys, keys[0]], PROFILE)
    assert await seen.seen() == {SEARCH: 2, BY_REF: 1}
    expected = [record_id for _, record_id in h.lookups]
    assert [s.record_id for s in slots if isinstance(s, ProviderRecord)] == [*expected, expected[0]]
    # TWC compares phone numbers by their digits: a value that is not the number must not match.
    mobile = next(k for k in keys if k.type is IdentifierType.MOBILE)
    digits_only = IdentifierKey(IdentifierType.MOBILE, "zz-" + mobile.value)
    missing_ref = IdentifierKey(IdentifierType.CUSTOMER_REF, "EXT-NOBODY")
    wechat = IdentifierKey(IdentifierType.WECHAT, "wx_1")
    seen = await traffic(h)
    slots = await h.connector.find_by_identifiers([digits_only, missing_ref, wechat], PROFILE)
    assert slots[:2] == [None, None]
    assert isinstance(slots[2], ProviderUnsupported)
    assert await seen.seen() == {SEARCH: 1, BY_REF: 1}


async def test_search_unions_first_and_last_names_and_paginates_here(h: Harness) -> None:
    seen = await traffic(h)
    page = await h.connector.search(h.search_text, 0, 2)
    assert await seen.seen() == {SEARCH: 2}
    assert page.total is not None and page.total >= 3 and len(page.records) == 2
    everything = await h.connector.search(h.search_text, 0, 1000)
    assert [r.record_id for r in everything.records][:2] == [r.record_id for r in page.records]
    word = h.search_text.lower()
    assert all(word in {(r.first_name or "").lower(), (r.last_name or "").lower()} for r in everything.records)
    record = everything.records[0]
    both = await h.connector.search(f"{record.first_name} {record.last_name}", 0, 10)
    assert record.record_id in [r.record_id for r in both.records]
    [email] = ids_of(record, IdentifierType.EMAIL)
    by_email = await h.connector.search(email.upper(), 0, 10)
    assert [r.record_id for r in by_email.records] == [record.record_id]
    seen = await traffic(h)
    assert (await h.connector.search("   ", 0, 10)).total == 0
    assert await seen.seen() == {}


async def test_a_blank_200_from_find_by_id_is_not_found() -> None:
    async def blank(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        return httpx.Response(200, content=b"")

    connector = TwcConnector(config(), POLICY, transport=httpx.MockTransport(blank))
    try:
        [slot] = await connector.get_records(["x"], PROFILE)
        assert isinstance(slot, ProviderNotFound)
    finally:
        await connector.aclose()


# -- create ---------------------------------------------------------------------------------------


async def test_create_posts_once_and_reads_back_normalised(h: Harness) -> None:
    draft = CustomerDraft(
        first_name=" Ada ",
        last_name="Lovelace",
        email=" Ada.Lovelace@Example.TEST ",
        mobile="+44 7911 123987",
        birth_date=date(1815, 12, 10),
        external_id="EXT-ADA-1",
        gender=Gender.FEMALE,
        address=AddressInput(line1="12 St James's Square", city="London", postcode="SW1Y 4JH", country="gb"),
        subscriptions=(EMAIL_MARKETING_IN, SMS_MARKETING_IN),
    )
    seen = await traffic(h)
    result = await h.connector.create(draft)
    assert await seen.seen() == {POST: 1}
    assert result.operation == "createCustomer"
    assert result.details == {"ignored": "gender, subscription SMS MARKETING"}
    record = result.record
    assert record is not None
    raw = await RawTwc(h).get(record.record_id)
    assert raw is not None
    assert (raw["email"], raw["mobile"], raw["dob"], raw["customerRef"]) == (
        "ada.lovelace@example.test",
        "+447911123987",
        "10-12-1815",
        "EXT-ADA-1",
    )
    assert (raw["accepts_marketing"], raw["marketing_optin_level"]) == (True, "single_opt_in")
    [again] = await h.connector.get_records([record.record_id], PROFILE)
    assert isinstance(again, ProviderRecord)
    assert (again.first_name, again.birth_date, again.status) == ("Ada", date(1815, 12, 10), CustomerStatus.ACTIVE)
    assert ids_of(again, IdentifierType.MOBILE) == ["+447911123987"]
    assert again.addresses is not None and [(a.line1, a.country) for a in again.addresses] == [
        ("12 St James's Square", "GB")
    ]
    assert [(s.channel, s.status) for s in again.subscriptions or ()] == [(Channel.EMAIL, SubscriptionStatus.OPT_IN)]


async def test_create_refuses_a_taken_email_and_a_missing_one(h: Harness) -> None:
    first = await created(h)
    [email] = ids_of(first, IdentifierType.EMAIL)
    seen = await traffic(h)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.create(CustomerDraft(email=email.upper()))
    assert caught.value.provider_code == "DUPLICATE_EMAIL" and caught.value.status == 400
    assert email not in str(caught.value)
    assert await seen.seen() == {POST: 1}
    seen = await traffic(h)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.create(CustomerDraft(first_name="No", last_name="Email"))
    assert caught.value.provider_code == "EMAIL_REQUIRED"
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.create(CustomerDraft(email="not-an-address"))
    assert caught.value.provider_code == "INVALID_EMAIL"
    assert await seen.seen() == {}  # refused here, TWC saw nothing


# -- update profile (read, modify, PUT the whole object) -------------------------------------------


async def test_update_profile_rewrites_the_whole_object_keeping_what_it_does_not_model(h: Harness) -> None:
    raw = RawTwc(h)
    body = {
        "email": "keep.me@example.test",
        "firstName": "Old",
        "lastName": "Name",
        "dob": "01-02-1990",
        "customerRef": "EXT-KEEP-1",
        "phone": "+44 20 7946 0001",
        "taxExempt": True,
        "taxExemptions": ["VAT"],
        "attributeGroups": {"prefs": {"attribute_group": "prefs", "attributes": {}, "is_obsolete": False}},
        "addresses": [{"address1": "1 Keep Street", "city": "Leeds", "defaultAddress": True}],
    }
    customer = await raw.create(body)
    seen = await traffic(h)
    result = await h.connector.update_profile(customer["id"], ProfilePatch(first_name="New", birth_date=None))
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert result.operation == "updateCustomer" and result.record is not None
    assert (result.record.first_name, result.record.last_name, result.record.birth_date) == ("New", "Name", None)
    after = await raw.get(customer["id"])
    assert after is not None
    assert (after["firstName"], after.get("dob")) == ("New", None)
    for kept in ("customerRef", "phone", "taxExempt", "taxExemptions", "attributeGroups", "email"):
        assert after[kept] == customer[kept], kept
    assert [a["id"] for a in after["addresses"]] == [a["id"] for a in customer["addresses"]]


async def test_a_gender_only_patch_changes_nothing_at_twc(h: Harness) -> None:
    record = await created(h)
    seen = await traffic(h)
    result = await h.connector.update_profile(record.record_id, ProfilePatch(gender=Gender.MALE))
    assert await seen.seen() == {GET_ONE: 1}
    assert result.operation == "unchanged" and result.details == {"ignored": "gender"}


async def test_update_of_a_missing_customer_is_not_found_without_a_write(h: Harness) -> None:
    seen = await traffic(h)
    with pytest.raises(ProviderNotFound):
        await h.connector.update_profile(h.missing_ids[0], ProfilePatch(first_name="X"))
    assert await seen.seen() == {GET_ONE: 1}


# -- identifiers ----------------------------------------------------------------------------------


async def test_add_and_remove_a_mobile(h: Harness) -> None:
    record = await created(h)
    mobile = Identifier(IdentifierType.MOBILE, "+447911123555", Provider.TWC)
    seen = await traffic(h)
    result = await h.connector.add_identifier(record.record_id, mobile)
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert result.record is not None and ids_of(result.record, IdentifierType.MOBILE) == ["+447911123555"]
    [found] = await h.connector.find_by_identifiers([IdentifierKey(IdentifierType.MOBILE, "+447911123555")], PROFILE)
    assert isinstance(found, ProviderRecord) and found.record_id == record.record_id

    seen = await traffic(h)
    again = await h.connector.add_identifier(record.record_id, mobile)
    assert again.operation == "unchanged"
    other = Identifier(IdentifierType.MOBILE, "+447911123556", Provider.TWC)
    not_held = await h.connector.remove_identifier(record.record_id, other)
    assert not_held.operation == "unchanged"
    assert await seen.seen() == {GET_ONE: 2}  # nothing written

    seen = await traffic(h)
    removed = await h.connector.remove_identifier(record.record_id, mobile)
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert removed.record is not None and ids_of(removed.record, IdentifierType.MOBILE) == []
    raw = await RawTwc(h).get(record.record_id)
    assert raw is not None and raw.get("mobile") is None


async def test_add_email_replaces_the_one_email_and_a_taken_value_is_refused(h: Harness) -> None:
    record, other = await created(h), await created(h)
    [other_email] = ids_of(other, IdentifierType.EMAIL)
    new = Identifier(IdentifierType.EMAIL, "Fresh.Address@Example.TEST", Provider.TWC)
    result = await h.connector.add_identifier(record.record_id, new)
    assert result.record is not None and ids_of(result.record, IdentifierType.EMAIL) == ["fresh.address@example.test"]
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.add_identifier(record.record_id, Identifier(IdentifierType.EMAIL, other_email, Provider.TWC))
    assert caught.value.provider_code == "DUPLICATE_EMAIL"
    ref = Identifier(IdentifierType.CUSTOMER_REF, "EXT-NEW-REF", Provider.TWC)
    await h.connector.add_identifier(record.record_id, ref)
    by_ref = IdentifierKey(IdentifierType.CUSTOMER_REF, "EXT-NEW-REF")
    [found] = await h.connector.find_by_identifiers([by_ref], PROFILE)
    assert isinstance(found, ProviderRecord) and found.record_id == record.record_id


async def test_identifiers_twc_cannot_hold_are_refused_without_a_call(h: Harness) -> None:
    record_id = h.known_ids[0]
    seen = await traffic(h)
    with pytest.raises(ProviderUnsupported):
        await h.connector.add_identifier(record_id, Identifier(IdentifierType.WECHAT, "wx_1", Provider.TWC))
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.add_identifier(record_id, Identifier(IdentifierType.MOBILE, "12", Provider.TWC))
    assert caught.value.provider_code == "INVALID_MOBILE"
    assert await seen.seen() == {}


async def test_the_email_cannot_be_removed_but_one_no_longer_held_is_left_alone(h: Harness) -> None:
    record_id = h.known_ids[0]
    [record] = await h.connector.get_records([record_id], PROFILE)
    assert isinstance(record, ProviderRecord)
    [email] = ids_of(record, IdentifierType.EMAIL)
    seen = await traffic(h)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.remove_identifier(record_id, Identifier(IdentifierType.EMAIL, email, Provider.TWC))
    assert caught.value.provider_code == "EMAIL_REQUIRED"
    assert await seen.seen() == {GET_ONE: 1}  # read, found held, refused: nothing written
    # The second half of an e-mail change: the new address replaced the old one, so nothing is left to do.
    seen = await traffic(h)
    result = await h.connector.remove_identifier(
        record_id, Identifier(IdentifierType.EMAIL, "old@example.org", Provider.TWC)
    )
    assert result.operation == "unchanged"
    assert await seen.seen() == {GET_ONE: 1}


async def test_an_address_patch_changes_the_default_address_or_gives_one_to_a_customer_without(h: Harness) -> None:
    record = await created(
        h, address=AddressInput(line1="1 First Street", city="Leeds", postcode="LS1 4DY", country="GB")
    )
    seen = await traffic(h)
    result = await h.connector.update_profile(
        record.record_id, ProfilePatch(address=AddressPatch(city="York", postcode=None))
    )
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert result.record is not None and result.record.addresses is not None
    [address] = result.record.addresses
    assert (address.line1, address.city, address.postcode, address.country, address.is_default) == (
        "1 First Street",
        "York",
        None,
        "GB",
        True,
    )

    bare = await created(h)
    assert bare.addresses == ()
    result = await h.connector.update_profile(bare.record_id, ProfilePatch(address=AddressPatch(city="Leeds")))
    assert result.record is not None and result.record.addresses is not None
    [address] = result.record.addresses
    assert (address.city, address.is_default) == ("Leeds", True) and address.id


# -- addresses ------------------------------------------------------------------------------------


async def test_add_change_and_remove_an_address(h: Harness) -> None:
    record = await created(
        h, address=AddressInput(line1="1 First Street", line2="Flat 2", city="Leeds", postcode="LS1 4DY", country="GB")
    )
    assert record.addresses is not None
    [first] = record.addresses
    seen = await traffic(h)
    added = await h.connector.upsert_address(
        record.record_id, AddressInput(line1="9 Second Road", city="York", country="GB")
    )
    assert await seen.seen() == {ADD_ADDRESS: 1}
    assert added.operation == "addCustomerAddress" and added.record is not None
    assert added.record.addresses is not None
    assert [a.line1 for a in added.record.addresses] == ["1 First Street", "9 Second Road"]

    seen = await traffic(h)
    changed = await h.connector.upsert_address(
        record.record_id, AddressInput(id=first.id, line1="1 First Street", city="Leeds", postcode="LS2 7HY")
    )
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert changed.record is not None and changed.record.addresses is not None
    moved = next(a for a in changed.record.addresses if a.id == first.id)
    assert (moved.line2, moved.postcode, moved.country, moved.is_default) == (None, "LS2 7HY", None, True)

    seen = await traffic(h)
    with pytest.raises(ProviderNotFound):
        await h.connector.upsert_address(record.record_id, AddressInput(id="no-such-address", line1="x"))
    assert await seen.seen() == {GET_ONE: 1}

    removed = await h.connector.remove_address(record.record_id, first.id or "")
    assert removed.record is not None and removed.record.addresses is not None
    assert [a.line1 for a in removed.record.addresses] == ["9 Second Road"]
    raw = await RawTwc(h).get(record.record_id)
    assert raw is not None and raw.get("defaultAddress") is None and len(raw["addresses"]) == 1
    seen = await traffic(h)
    assert (await h.connector.remove_address(record.record_id, first.id or "")).operation == "unchanged"
    assert await seen.seen() == {GET_ONE: 1}


# -- subscriptions, loyalty, status ----------------------------------------------------------------


async def test_email_marketing_is_the_one_subscription(h: Harness) -> None:
    record = await created(h)
    seen = await traffic(h)
    result = await h.connector.set_subscriptions(record.record_id, [SMS_MARKETING_IN, EMAIL_MARKETING_IN])
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert result.details == {"ignored": "subscription SMS MARKETING"}
    raw = RawTwc(h)
    stored = await raw.get(record.record_id)
    assert stored is not None and (stored["accepts_marketing"], stored["marketing_optin_level"]) == (
        True,
        "single_opt_in",
    )
    out = await h.connector.set_subscriptions(record.record_id, [EMAIL_MARKETING_OUT])
    assert out.record is not None and [s.status for s in out.record.subscriptions or ()] == [SubscriptionStatus.OPT_OUT]
    stored = await raw.get(record.record_id)
    assert stored is not None and stored["accepts_marketing"] is False and stored.get("marketing_optin_level") is None
    seen = await traffic(h)
    with pytest.raises(ProviderUnsupported):
        await h.connector.set_subscriptions(record.record_id, [SMS_MARKETING_IN])
    assert await seen.seen() == {}


async def test_an_opt_in_keeps_a_confirmed_level(h: Harness) -> None:
    customer = await RawTwc(h).create(
        {"email": "confirmed@example.test", "accepts_marketing": True, "marketing_optin_level": "confirmed_opt_in"}
    )
    seen = await traffic(h)
    result = await h.connector.set_subscriptions(customer["id"], [EMAIL_MARKETING_IN])
    assert result.operation == "unchanged"
    assert await seen.seen() == {GET_ONE: 1}


async def test_loyalty_is_unsupported_without_a_call(h: Harness) -> None:
    seen = await traffic(h)
    with pytest.raises(ProviderUnsupported):
        await h.connector.enroll_in_loyalty_program(h.known_ids[0], "1016")
    assert await seen.seen() == {}


async def test_deactivate_and_reactivate(h: Harness) -> None:
    record = await created(h)
    seen = await traffic(h)
    off = await h.connector.set_status(record.record_id, False)
    assert await seen.seen() == {GET_ONE: 1, PUT: 1}
    assert off.record is not None and off.record.status is CustomerStatus.INACTIVE
    raw = await RawTwc(h).get(record.record_id)
    assert raw is not None and raw["active"] is False
    on = await h.connector.set_status(record.record_id, True)
    assert on.record is not None and on.record.status is CustomerStatus.ACTIVE


# -- merge, erase ---------------------------------------------------------------------------------


async def merge_pair(h: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = RawTwc(h)
    survivor = await raw.create(
        {
            "email": "survivor@example.test",
            "firstName": "Jane",
            "addresses": [
                {
                    "address1": "12 High Street",
                    "city": "London",
                    "postcode": "SW1A 1AA",
                    "countryCode": "GB",
                    "defaultAddress": True,
                }
            ],
        }
    )
    victim = await raw.create(
        {
            "email": "victim@example.test",
            "firstName": "Janet",
            "lastName": "Smith",
            "mobile": "+447911123777",
            "customerRef": "EXT-VICTIM",
            "dob": "23-06-1984",
            "addresses": [
                {"address1": "12 high street", "city": "London", "postcode": "SW1A 1AA", "countryCode": "GB"},
                {"address1": "4 Mill Road", "city": "Leeds", "countryCode": "GB"},
            ],
        }
    )
    return survivor, victim


async def test_merge_copies_missing_fields_to_the_survivor_and_deletes_the_victim(h: Harness) -> None:
    survivor, victim = await merge_pair(h)
    seen = await traffic(h)
    result = await h.connector.merge(survivor["id"], victim["id"])
    # Both read; the victim gives up its unique values; the survivor takes them; the victim goes.
    assert await seen.seen() == {GET_ONE: 2, PUT: 2, DELETE: 1}
    assert (result.survivor_id, result.victim_id) == (survivor["id"], victim["id"])
    [merged, gone] = await h.connector.get_records([survivor["id"], victim["id"]], PROFILE)
    assert isinstance(gone, ProviderNotFound)
    assert isinstance(merged, ProviderRecord)
    assert (merged.first_name, merged.last_name, merged.birth_date) == ("Jane", "Smith", date(1984, 6, 23))
    assert ids_of(merged, IdentifierType.EMAIL) == ["survivor@example.test"]
    assert ids_of(merged, IdentifierType.MOBILE) == ["+447911123777"]
    assert ids_of(merged, IdentifierType.CUSTOMER_REF) == ["EXT-VICTIM"]
    assert merged.addresses is not None and [a.line1 for a in merged.addresses] == ["12 High Street", "4 Mill Road"]
    [by_ref] = await h.connector.find_by_identifiers(
        [IdentifierKey(IdentifierType.CUSTOMER_REF, "EXT-VICTIM")], PROFILE
    )
    assert isinstance(by_ref, ProviderRecord) and by_ref.record_id == survivor["id"]


class FailNthPut(httpx.AsyncBaseTransport):
    """Answers the n-th PUT with a 503 itself; everything else goes to the simulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport, n: int) -> None:
        self.inner, self.n, self.puts = inner, n, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.puts += 1
            if self.puts == self.n:
                return httpx.Response(503, json={"status": 503, "error": "Service Unavailable"})
        return await self.inner.handle_async_request(request)


async def test_a_merge_that_fails_half_way_gives_the_victim_its_values_back() -> None:
    h = await build_harness(POLICY, wrap=lambda inner: FailNthPut(inner, 2))
    try:
        survivor, victim = await merge_pair(h)
        with pytest.raises(ProviderUnavailable):
            await h.connector.merge(survivor["id"], victim["id"])
        raw = RawTwc(h)
        after_victim, after_survivor = await raw.get(victim["id"]), await raw.get(survivor["id"])
        assert after_victim is not None and after_survivor is not None
        assert (after_victim["mobile"], after_victim["customerRef"]) == ("+447911123777", "EXT-VICTIM")
        assert after_survivor.get("mobile") is None
    finally:
        await h.close()


async def test_merging_a_record_into_itself_is_refused(h: Harness) -> None:
    seen = await traffic(h)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.merge(h.known_ids[0], h.known_ids[0])
    assert caught.value.provider_code == "SAME_RECORD"
    assert await seen.seen() == {}


async def test_erase_deletes_and_the_customer_is_gone_everywhere(h: Harness) -> None:
    record = await created(h)
    [email] = ids_of(record, IdentifierType.EMAIL)
    seen = await traffic(h)
    result = await h.connector.erase(record.record_id)
    assert await seen.seen() == {DELETE: 1}
    assert result.operation == "deleteCustomer" and result.record is None
    [slot] = await h.connector.get_records([record.record_id], PROFILE)
    assert isinstance(slot, ProviderNotFound)
    assert await h.connector.find_by_identifiers([IdentifierKey(IdentifierType.EMAIL, email)], PROFILE) == [None]


# -- auth -----------------------------------------------------------------------------------------


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


async def test_client_credentials_then_bearer_and_tenant_on_every_call() -> None:
    recorders: list[Recorder] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        recorders.append(Recorder(inner))
        return recorders[0]

    h = await build_harness(POLICY, wrap=wrap)
    try:
        await asyncio.gather(h.connector.get_records(h.known_ids[:3], PROFILE), h.connector.search("smith", 0, 5))
        token, *calls = recorders[0].requests
        assert token.url.path.endswith("/auth/realms/twc-demo/protocol/openid-connect/token")
        form = dict(httpx.QueryParams(token.content.decode()))
        assert form == {
            "grant_type": "client_credentials",
            "client_id": "customer-graph",
            "client_secret": "twc-demo-secret",
        }
        assert calls and all(c.headers["X-TWC-Tenant"] == "twc-demo" for c in calls)
        assert all(c.headers["Authorization"].startswith("Bearer ") for c in calls)
        assert await h.tokens_issued() == 1
    finally:
        await h.close()


async def test_a_wrong_secret_and_a_wrong_tenant_are_auth_errors() -> None:
    h = await build_harness(POLICY, twc_config=config(client_secret="wrong"))
    try:
        [slot] = await h.connector.get_records(h.known_ids[:1], PROFILE)
        assert isinstance(slot, ProviderAuthError) and "wrong" not in str(slot)
    finally:
        await h.close()
    # A token of one realm sent with another tenant's header: a 403 that no new token would fix.
    h = await build_harness(POLICY, twc_config=config(tenant="other-tenant"))
    try:
        [slot] = await h.connector.get_records(h.known_ids[:1], PROFILE)
        assert isinstance(slot, ProviderAuthError) and slot.status == 403
        assert await h.tokens_issued() == 1
    finally:
        await h.close()


# -- error rules ----------------------------------------------------------------------------------


def spring(status: int, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "timestamp": "2024-01-01T00:00:00.000Z",
            "status": status,
            "error": "Bad Request",
            "message": message,
            "path": "/api/v2/customers",
        },
    )


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (spring(400, "A customer with this email already exists"), ProviderRejected, "DUPLICATE_EMAIL"),
        (spring(400, "A customer with this customerRef already exists"), ProviderRejected, "DUPLICATE_CUSTOMER_REF"),
        (
            spring(400, "A customer with this alternateCustomerRef already exists"),
            ProviderRejected,
            "DUPLICATE_ALTERNATE_REF",
        ),
        (spring(400, "A customer with this mobile already exists"), ProviderRejected, "DUPLICATE_MOBILE"),
        (spring(400, "email is mandatory"), ProviderRejected, "EMAIL_REQUIRED"),
        (spring(400, "JSON parse error: dob: dob must be in dd-mm-yyyy format"), ProviderRejected, "INVALID_INPUT"),
        (spring(400, "something new"), ProviderRejected, None),
        (httpx.Response(400, content=b"<html>"), ProviderRejected, None),
        (httpx.Response(405), ProviderRejected, "INVALID_INPUT"),
        (httpx.Response(404), ProviderNotFound, None),
        (spring(404, "ResourceNotFound: customer not found"), ProviderNotFound, None),
        (spring(401, "Unauthorized"), ProviderAuthError, None),
        (spring(403, "Access Denied"), ProviderAuthError, None),
        (httpx.Response(429, headers={"Retry-After": "7"}), ProviderRateLimited, None),
        (spring(503, "Service Unavailable"), ProviderUnavailable, None),
    ],
)
def test_error_rules(response: httpx.Response, kind: type[ProviderError], code: str | None) -> None:
    error = classify(response, "create")
    assert type(error) is kind
    if isinstance(error, ProviderRejected):
        assert error.provider_code == code
    if isinstance(error, ProviderRateLimited):
        assert error.retry_after == 7
    assert "already exists" not in str(error) and "dd-mm-yyyy" not in str(error)


def test_success_is_no_error() -> None:
    assert classify(httpx.Response(204), "erase") is None


async def test_a_customer_without_an_id_is_a_protocol_error() -> None:
    async def no_id(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        return httpx.Response(200, json={"email": "a@b.example"})

    connector = TwcConnector(config(), POLICY, transport=httpx.MockTransport(no_id))
    try:
        [slot] = await connector.get_records(["x"], PROFILE)
        assert isinstance(slot, ProviderProtocolError)
    finally:
        await connector.aclose()


def test_the_connector_satisfies_the_protocol() -> None:
    assert isinstance(TwcConnector(config(), POLICY), Connector)


# -- golden files: every mapper function ------------------------------------------------------------


def as_golden(record: ProviderRecord) -> dict[str, Any]:
    """A record for ``assert_golden``: ``golden.jsonable`` has no rule for the frozenset ``facets`` (yet)."""
    value: dict[str, Any] = jsonable(replace(record, facets=frozenset()))
    value["facets"] = sorted(facet.value for facet in record.facets)
    return value


def customer(name: str) -> TwcCustomer:
    return TwcCustomer.model_validate(load_fixture(name))


@pytest.mark.parametrize("name", ["twc_customer_sample", "twc_customer_realistic", "twc_customer_minimal"])
def test_golden_customer_to_record(name: str) -> None:
    assert_golden(name, as_golden(mapper.customer_to_record(customer(name), fetched_at=FETCHED, tenant="twc-demo")))


@pytest.mark.parametrize("name", ["twc_customer_sample", "twc_customer_realistic", "twc_customer_minimal"])
def test_golden_record_parts(name: str) -> None:
    """identifiers, status, addresses and subscriptions one by one (customer_to_record composes them)."""
    c = customer(name)
    assert_golden(
        f"{name}_parts",
        {
            "identifiers": mapper.identifiers_to_domain(c),
            "status": mapper.status_to_domain(c),
            "addresses": mapper.addresses_to_domain(c),
            "subscriptions": mapper.subscriptions_to_domain(c),
            "held_mobile": mapper.held_identifier(c, IdentifierType.MOBILE),
        },
    )


def test_golden_search_sample() -> None:
    customers = CustomerList.model_validate(load_fixture("twc_search_sample")).root
    assert_golden(
        "twc_search_sample",
        [as_golden(mapper.customer_to_record(c, fetched_at=FETCHED, tenant="twc-demo")) for c in customers],
    )


def test_golden_address_sample() -> None:
    address = TwcAddress.model_validate(load_fixture("twc_address_sample"))
    assert_golden("twc_address_sample", mapper.address_to_domain(address))


def test_golden_merge_changes() -> None:
    pair = load_fixture("twc_merge_pair")
    survivor, victim = CustomerDocument.parse(pair["survivor"]), CustomerDocument.parse(pair["victim"])
    changes = mapper.merge_changes(survivor, victim)
    moved = [n for n in wire.MOVABLE_UNIQUE if n in changes.fields]
    assert_golden(
        "twc_merge_pair",
        {
            "survivor_changes": changes.fields,
            "victim_release": mapper.release_changes(moved).fields,
            "survivor_put": survivor.body(changes.fields),
        },
    )


# Domain -> wire: the ``.domain.json`` golden file holds the wire body the function produced.


def test_golden_draft_to_wire() -> None:
    draft = CustomerDraft(
        first_name=" Ada ",
        last_name="Lovelace",
        email=" Ada@Example.COM",
        mobile="447911123456",
        birth_date=date(1815, 12, 10),
        gender=Gender.FEMALE,
        external_id="EXT1",
        card_number="C1",
        password="secret",
        address=AddressInput(
            line1="1 A St", line2="", city="London", state="Greater London", postcode="SW1A 1AA", country="gb"
        ),
        subscriptions=(SMS_MARKETING_IN, EMAIL_MARKETING_IN),
    )
    body, ignored = mapper.draft_to_wire(draft)
    assert_golden("twc_out_draft", {"body": body.body(), "ignored": ignored})
    assert "secret" not in json.dumps(body.body())


def test_golden_address_input_and_changes_to_wire() -> None:
    c = customer("twc_customer_realistic")
    document = CustomerDocument.parse(load_fixture("twc_customer_realistic"))
    address = AddressInput(
        id="8d2f6c1e-0000-4000-8000-000000000001",
        line1="12 High Street",
        city="London",
        postcode="SW1A 2AA",
        country="United Kingdom",
    )
    write = mapper.address_input_to_wire(address, default=True)
    assert_golden(
        "twc_out_changes",
        {
            "address_input": write.body(),
            "address_replaced": wire.address_with(document.raw_addresses()[0], mapper.address_input_to_wire(address)),
            "profile": mapper.profile_changes(
                ProfilePatch(first_name=" Janet ", birth_date=date(1984, 6, 24), gender=Gender.FEMALE)
            ),
            "profile_clear": mapper.profile_changes(ProfilePatch(last_name=None, birth_date=None)),
            "subscriptions_in": mapper.subscription_changes(c, [EMAIL_MARKETING_IN, SMS_MARKETING_IN]),
            "subscriptions_out": mapper.subscription_changes(c, [EMAIL_MARKETING_OUT]),
            "subscriptions_none": mapper.subscription_changes(c, [SMS_MARKETING_IN]),
            "status": mapper.status_changes(False),
            "mobile": mapper.identifier_value_to_wire(
                Identifier(IdentifierType.MOBILE, "+44 7911 123456", Provider.TWC)
            ),
            "email": mapper.identifier_value_to_wire(Identifier(IdentifierType.EMAIL, " A@B.Example ", Provider.TWC)),
            "ref": mapper.identifier_value_to_wire(Identifier(IdentifierType.CUSTOMER_REF, " EXT9 ", Provider.TWC)),
            "field_for_wechat": mapper.identifier_field(IdentifierType.WECHAT),
            "details": mapper.details(["gender"], effect="x"),
        },
    )
    assert mapper.changed(document, {"firstName": " Jane "}) is False
    assert mapper.changed(document, {"firstName": "Jane"}) is True


def test_dob_formats() -> None:
    assert wire.parse_dob("23-06-1984") == date(1984, 6, 23)
    assert wire.parse_dob("2022-06-20T23:21:32.358-05:00") == date(2022, 6, 21)  # its UTC date
    assert wire.parse_dob("") is None
    with pytest.raises(ValueError):
        wire.parse_dob("31-02-1990")
    assert wire.format_dob(date(1984, 6, 3)) == "03-06-1984"
