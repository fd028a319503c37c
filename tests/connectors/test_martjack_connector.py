"""The Martjack connector against its simulator: every write, lookups, search, the error rules, and golden
files for every mapper function (the document's sample responses in, domain values out).

Provider traffic is asserted exactly: :func:`calls` is what the simulator received (token traffic apart), so
a call nobody expected fails a test as surely as an expected one that was never made.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
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
from customer_graph.connectors.martjack import CAPABILITIES, MartjackConfig, MartjackConnector, mapper, wire
from customer_graph.connectors.martjack.auth import SessionExpired, jwt_lifetime, oauth1_authorization
from customer_graph.connectors.martjack.connector import ERASE_REMAINS, api_root, classify
from customer_graph.domain.models import (
    AddressInput,
    Channel,
    CustomerDraft,
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
from customer_graph.simulators.martjack import DEMO_APP, DEMO_MERCHANT_ID
from tests.connectors import harness_martjack
from tests.connectors.contract import Harness
from tests.connectors.golden import assert_golden, load_fixture

M = DEMO_MERCHANT_ID
C = "/developerapi/Customer"
GET_CUSTOMER = f"GET {C}/{{merchantId}}/{{UserId}}"
SEARCH = f"POST {C}/{{merchantId}}/Search"
CREATE = f"POST {C}/{{merchantId}}/Create"
UPDATE = f"POST {C}/{{merchantId}}/Update"
OPEN_SESSION = f"POST {C}/GetAccessToken/{{merchantId}}"
ADD_ADDRESS = f"POST {C}/AddShippingAddress/{{merchantId}}"
GET_ADDRESSES = f"GET {C}/GetShippingAddress/{{merchantId}}/{{UserId}}"
DELETE_ADDRESS = f"GET {C}/DeleteShippingAddress/{{merchantId}}/{{UserId}}/{{ShippingAddressId}}"
ACTIVATE = f"GET {C}/Activation/{{merchantId}}/{{UserId}}"
DEACTIVATE = f"GET {C}/DeActivation/{{merchantId}}/{{UserId}}"
TOKEN = "GET /developerapi/OAuth/Token/{PublicKey}"

ALL = frozenset(Facet)
PROFILE = frozenset({Facet.PROFILE})
NOW = datetime(2026, 1, 1, tzinfo=UTC)
MARKETING_EMAIL_IN = SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)
MARKETING_SMS_OUT = SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await harness_martjack.build_harness(Policy(deadline=2.0, max_retries=1, backoff_base=0.01))
    yield h
    await h.close()


def connector_of(h: Harness) -> MartjackConnector:
    assert isinstance(h.connector, MartjackConnector)
    return h.connector


async def calls(h: Harness) -> dict[str, int]:
    """What the simulator received since the last :func:`reset`, merchant token requests apart."""
    stats = await h.stats()
    return {key: n for key, n in stats["calls"].items() if key != TOKEN}


async def reset(h: Harness) -> None:
    (await h.control.post("/__sim/reset")).raise_for_status()  # counters only: data and tokens stay


async def provider_get(h: Harness, path: str, **kwargs: Any) -> dict[str, Any]:
    """A call of our own to the simulator (to read back what the connector cannot), merchant-signed."""
    token = (await h.control.get(f"/developerapi/OAuth/Token/{DEMO_APP.public_key}")).json()["Token"]
    headers = {"Authorization": f"Bearer {token['AccessToken']}"}
    response = await h.control.request(kwargs.pop("method", "GET"), path, headers=headers, **kwargs)
    body: dict[str, Any] = response.json()
    return body


async def login_code(h: Harness, user_name: str, password: str) -> str:
    """Martjack's answer to a customer login: "1004" in, "1042" for a deactivated account."""
    body = await provider_get(h, f"{C}/{M}/login", method="POST", json={"username": user_name, "password": password})
    return str(body["messageCode"])


def draft(**overrides: Any) -> CustomerDraft:
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": " Ada.Lovelace@Analytical.example ",
        "mobile": "+447400123456",
        "birth_date": date(1985, 12, 10),
        "gender": Gender.FEMALE,
        "password": "Engine-1843",
    }
    return CustomerDraft(**{**values, **overrides})


async def read(h: Harness, record_id: str, facets: frozenset[Facet] = ALL) -> ProviderRecord:
    [slot] = await h.connector.get_records([record_id], facets)
    assert isinstance(slot, ProviderRecord), slot
    return slot


def values(record: ProviderRecord, identifier_type: IdentifierType) -> list[str]:
    return [i.value for i in record.identifiers if i.type is identifier_type]


# -- capabilities --------------------------------------------------------------------------------------------


async def test_capabilities_follow_the_design_table() -> None:
    assert CAPABILITIES[Operation.CREATE] is Support.NATIVE
    assert CAPABILITIES[Operation.UPDATE_PROFILE] is Support.EMULATED
    assert CAPABILITIES[Operation.ADD_IDENTIFIER] is CAPABILITIES[Operation.REMOVE_IDENTIFIER] is Support.UNSUPPORTED
    assert CAPABILITIES[Operation.UPSERT_ADDRESS] is CAPABILITIES[Operation.REMOVE_ADDRESS] is Support.NATIVE
    assert CAPABILITIES[Operation.LOYALTY] is CAPABILITIES[Operation.ENROLL_LOYALTY] is Support.UNSUPPORTED
    assert CAPABILITIES[Operation.MERGE] is CAPABILITIES[Operation.ERASE] is Support.EMULATED
    assert CAPABILITIES[Operation.SET_STATUS] is Support.NATIVE
    connector = MartjackConnector(harness_martjack.config(), Policy())
    assert isinstance(connector, Connector)
    assert connector.record_facets == {Facet.PROFILE, Facet.SUBSCRIPTIONS}
    assert DEMO_APP.secret not in repr(connector.config)
    await connector.aclose()


@pytest.mark.parametrize(
    "base_url",
    [
        "https://www.martjack.com",
        "https://www.martjack.com/",
        "https://www.martjack.com/DeveloperAPI",
        "https://www.martjack.com/developerapi/",
    ],
)
def test_the_api_root_is_found_under_the_configured_host(base_url: str) -> None:
    assert api_root(base_url).lower() == "https://www.martjack.com/developerapi/"


# -- create ------------------------------------------------------------------------------------------------


async def test_create_registers_username_and_password_and_reads_back(harness: Harness) -> None:
    address = AddressInput(
        line1="12 Babbage Row", line2="Flat 3", city="London", state="Greater London", postcode="SW1A 1AA", country="gb"
    )
    result = await harness.connector.create(draft(address=address, subscriptions=(MARKETING_EMAIL_IN,)))
    assert await calls(harness) == {CREATE: 1, ADD_ADDRESS: 1}
    assert result.record is not None and result.operation == "Customer/Create"
    assert "address_id" in result.details
    record_id = result.record.record_id

    record = await read(harness, record_id)
    assert (record.first_name, record.last_name, record.birth_date, record.gender) == (
        "Ada",
        "Lovelace",
        date(1985, 12, 10),
        Gender.FEMALE,
    )
    assert values(record, IdentifierType.USERNAME) == ["ada.lovelace@analytical.example"]
    assert values(record, IdentifierType.EMAIL) == ["ada.lovelace@analytical.example"]
    assert values(record, IdentifierType.MOBILE) == ["+447400123456"]
    assert {(s.channel, s.status) for s in record.subscriptions or ()} == {
        (Channel.EMAIL, SubscriptionStatus.OPT_IN),
        (Channel.SMS, SubscriptionStatus.OPT_IN),
    }
    assert record.addresses is not None and len(record.addresses) == 1
    saved = record.addresses[0]
    assert (saved.id, saved.line1, saved.line2, saved.city, saved.state, saved.postcode, saved.country) == (
        result.details["address_id"],
        "12 Babbage Row",
        "Flat 3",
        "London",
        "Greater London",
        "SW1A 1AA",
        "GB",
    )
    assert await login_code(harness, "ada.lovelace@analytical.example", "Engine-1843") == "1004"


async def test_a_created_customer_stays_created_when_its_address_cannot_be_saved(harness: Harness) -> None:
    result = await harness.connector.create(draft(address=AddressInput(city="London")))  # no line 1
    assert result.record is not None and result.details == {"address": "not saved: invalid"}
    assert await calls(harness) == {CREATE: 1}


async def test_create_with_only_a_mobile_makes_it_the_username(harness: Harness) -> None:
    result = await harness.connector.create(draft(email=None, mobile="+44 7400 123456"))
    assert result.record is not None
    assert values(result.record, IdentifierType.USERNAME) == ["447400123456"]
    assert values(result.record, IdentifierType.MOBILE) == ["+447400123456"]
    [found] = await harness.connector.find_by_identifiers(
        [IdentifierKey(IdentifierType.MOBILE, "+447400123456")], PROFILE
    )
    assert isinstance(found, ProviderRecord) and found.record_id == result.record.record_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"password": None},
        {"password": ""},
        {"email": None, "mobile": None, "username": None},
        {"email": "not-an-email"},
        {"subscriptions": (SubscriptionInput(Channel.PUSH, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),)},
    ],
)
async def test_create_refuses_what_martjack_would_refuse_without_calling(
    harness: Harness, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ProviderRejected):
        await harness.connector.create(draft(**overrides))
    assert await calls(harness) == {}


async def test_create_with_a_taken_username_is_rejected_with_martjacks_code(harness: Harness) -> None:
    await harness.connector.create(draft())
    with pytest.raises(ProviderRejected) as caught:
        await harness.connector.create(draft(first_name="Other"))
    assert caught.value.provider_code == "1016"
    assert await calls(harness) == {CREATE: 2}


# -- update profile ------------------------------------------------------------------------------------------


async def test_update_profile_reads_modifies_and_writes_the_whole_customer(harness: Harness) -> None:
    record_id = harness.known_ids[0]
    before = await read(harness, record_id)
    await reset(harness)

    result = await harness.connector.update_profile(record_id, ProfilePatch(first_name="Kate", birth_date=None))
    assert await calls(harness) == {GET_CUSTOMER: 1, OPEN_SESSION: 1, UPDATE: 1}
    assert result.record is not None and result.record.first_name == "Kate"

    after = await read(harness, record_id)
    assert (after.first_name, after.birth_date) == ("Kate", None)
    # Everything the patch left alone survived the whole-object write.
    assert (after.last_name, after.gender, after.identifiers, after.subscriptions, after.addresses) == (
        before.last_name,
        before.gender,
        before.identifiers,
        before.subscriptions,
        before.addresses,
    )


async def test_an_empty_patch_calls_nothing(harness: Harness) -> None:
    result = await harness.connector.update_profile(harness.known_ids[0], ProfilePatch())
    assert result.operation == "none"
    assert await calls(harness) == {}


async def test_the_guest_session_is_reused_then_renewed_once_when_martjack_says_440(harness: Harness) -> None:
    connector, record_id = connector_of(harness), harness.known_ids[1]
    await connector.update_profile(record_id, ProfilePatch(first_name="One"))
    await connector.update_profile(record_id, ProfilePatch(first_name="Two"))
    assert await calls(harness) == {GET_CUSTOMER: 2, OPEN_SESSION: 1, UPDATE: 2}
    issued = await harness.tokens_issued()

    (await harness.control.post("/__sim/tokens/expire")).raise_for_status()  # the JWT and the session
    await reset(harness)
    await connector.update_profile(record_id, ProfilePatch(first_name="Three"))
    # The read refused for the dead JWT (401) and sent again with a new one; the Update refused for the dead
    # session (440), a new session, the same Update again.
    assert await calls(harness) == {GET_CUSTOMER: 2, OPEN_SESSION: 1, UPDATE: 2}
    assert await harness.tokens_issued() == issued + 1
    assert connector.session.opened == 2
    assert (await read(harness, record_id)).first_name == "Three"


async def test_concurrent_updates_of_one_customer_lose_nothing(harness: Harness) -> None:
    record_id = harness.known_ids[2]
    await asyncio.gather(
        harness.connector.update_profile(record_id, ProfilePatch(first_name="Ann")),
        harness.connector.update_profile(record_id, ProfilePatch(last_name="Other")),
        harness.connector.update_profile(record_id, ProfilePatch(gender=Gender.MALE)),
    )
    after = await read(harness, record_id, PROFILE)
    assert (after.first_name, after.last_name, after.gender) == ("Ann", "Other", Gender.MALE)


async def test_updating_a_missing_customer_is_not_found_and_writes_nothing(harness: Harness) -> None:
    with pytest.raises(ProviderNotFound):
        await harness.connector.update_profile(harness.missing_ids[0], ProfilePatch(first_name="X"))
    assert await calls(harness) == {GET_CUSTOMER: 1}


async def test_ids_that_are_not_guids_never_reach_the_provider(harness: Harness) -> None:
    [slot] = await harness.connector.get_records(["../../Count"], PROFILE)
    assert isinstance(slot, ProviderNotFound)
    with pytest.raises(ProviderNotFound):
        await harness.connector.set_status("1 OR 1=1", active=False)
    assert await calls(harness) == {}


# -- identifiers, loyalty: unsupported ---------------------------------------------------------------------


async def test_identifier_changes_and_loyalty_are_unsupported_without_calling(harness: Harness) -> None:
    record_id = harness.known_ids[0]
    email = Identifier(IdentifierType.EMAIL, "new@example.com", Provider.MARTJACK)
    for call in (
        harness.connector.add_identifier(record_id, email),
        harness.connector.remove_identifier(record_id, email),
        harness.connector.enroll_in_loyalty_program(record_id, "1"),
    ):
        with pytest.raises(ProviderUnsupported):
            await call
    assert await calls(harness) == {}


async def test_a_record_read_with_loyalty_claims_no_loyalty_facet(harness: Harness) -> None:
    record = await read(harness, harness.known_ids[0], frozenset({Facet.PROFILE, Facet.LOYALTY}))
    assert record.facets == {Facet.PROFILE, Facet.SUBSCRIPTIONS}
    assert record.loyalty_programs is None and record.addresses is None
    assert await calls(harness) == {GET_CUSTOMER: 1}  # addresses cost a call of their own: not made


# -- addresses -------------------------------------------------------------------------------------------------


async def test_addresses_are_added_replaced_and_removed(harness: Harness) -> None:
    record_id = harness.known_ids[3]
    before = await read(harness, record_id)
    assert before.addresses is not None
    await reset(harness)

    added = await harness.connector.upsert_address(
        record_id,
        AddressInput(line1="1 New Street", city="Leeds", state="West Yorkshire", postcode="LS1 4DY", country="GB"),
    )
    address_id = added.details["address_id"]
    assert await calls(harness) == {GET_CUSTOMER: 1, ADD_ADDRESS: 1}
    mid = await read(harness, record_id)
    assert mid.addresses is not None and len(mid.addresses) == len(before.addresses) + 1
    assert any(a.id == address_id and a.line1 == "1 New Street" and a.city == "Leeds" for a in mid.addresses)

    await harness.connector.upsert_address(
        record_id, AddressInput(id=address_id, line1="2 New Street", city="Leeds", country="GB")
    )
    replaced = await read(harness, record_id)
    assert [a.line1 for a in replaced.addresses or () if a.id == address_id] == ["2 New Street"]

    await reset(harness)
    await harness.connector.remove_address(record_id, address_id)
    assert await calls(harness) == {DELETE_ADDRESS: 1}
    assert (await read(harness, record_id)).addresses == before.addresses


async def test_address_refusals(harness: Harness) -> None:
    record_id = harness.known_ids[3]
    with pytest.raises(ProviderNotFound):
        await harness.connector.remove_address(record_id, "999")
    with pytest.raises(ProviderNotFound):
        await harness.connector.upsert_address(record_id, AddressInput(id="999", line1="x"))
    assert await calls(harness) == {DELETE_ADDRESS: 1, GET_CUSTOMER: 1, ADD_ADDRESS: 1}
    await reset(harness)
    with pytest.raises(ProviderRejected):
        await harness.connector.upsert_address(record_id, AddressInput(city="Nowhere"))
    with pytest.raises(ProviderNotFound):
        await harness.connector.remove_address(record_id, "not-a-number")
    assert await calls(harness) == {}


async def test_a_customer_without_addresses_reads_as_none_not_missing(harness: Harness) -> None:
    created = await harness.connector.create(draft())
    assert created.record is not None
    record = await read(harness, created.record.record_id)
    assert record.addresses == () and Facet.ADDRESSES in record.facets


# -- subscriptions ---------------------------------------------------------------------------------------------


async def test_subscriptions_are_one_flag_for_email_and_sms_marketing(harness: Harness) -> None:
    created = await harness.connector.create(draft())
    assert created.record is not None
    record_id = created.record.record_id
    await reset(harness)

    result = await harness.connector.set_subscriptions(record_id, [MARKETING_EMAIL_IN])
    assert result.details == {"receive_offers": "true"}
    assert await calls(harness) == {GET_CUSTOMER: 1, OPEN_SESSION: 1, UPDATE: 1}
    record = await read(harness, record_id)
    assert {(s.channel, s.kind, s.status) for s in record.subscriptions or ()} == {
        (Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
        (Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
    }
    assert (record.first_name, values(record, IdentifierType.MOBILE)) == ("Ada", ["+447400123456"])

    # An opt-out of either channel clears the flag for both.
    result = await harness.connector.set_subscriptions(record_id, [MARKETING_EMAIL_IN, MARKETING_SMS_OUT])
    assert result.details == {"receive_offers": "false"}
    record = await read(harness, record_id)
    assert {s.status for s in record.subscriptions or ()} == {SubscriptionStatus.OPT_OUT}

    await reset(harness)
    unchanged = await harness.connector.set_subscriptions(record_id, [MARKETING_SMS_OUT])
    assert unchanged.operation == "none"
    assert await calls(harness) == {GET_CUSTOMER: 1}


@pytest.mark.parametrize(
    "subscription",
    [
        SubscriptionInput(Channel.EMAIL, SubscriptionKind.TRANSACTIONAL, SubscriptionStatus.OPT_IN),
        SubscriptionInput(Channel.WHATSAPP, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
    ],
)
async def test_subscriptions_martjack_cannot_hold_are_rejected_without_calling(
    harness: Harness, subscription: SubscriptionInput
) -> None:
    with pytest.raises(ProviderRejected):
        await harness.connector.set_subscriptions(harness.known_ids[0], [subscription])
    assert await calls(harness) == {}


# -- status, merge, erase --------------------------------------------------------------------------------------


async def test_status_switches_the_account_off_and_on(harness: Harness) -> None:
    created = await harness.connector.create(draft())
    assert created.record is not None
    record_id = created.record.record_id
    await reset(harness)
    assert (await harness.connector.set_status(record_id, active=False)).operation == "Customer/DeActivation"
    assert await login_code(harness, "ada.lovelace@analytical.example", "Engine-1843") == "1042"
    assert (await harness.connector.set_status(record_id, active=True)).operation == "Customer/Activation"
    assert await login_code(harness, "ada.lovelace@analytical.example", "Engine-1843") == "1004"
    assert {k: v for k, v in (await calls(harness)).items() if "login" not in k} == {DEACTIVATE: 1, ACTIVATE: 1}
    with pytest.raises(ProviderNotFound):
        await harness.connector.set_status(harness.missing_ids[0], active=False)


async def test_merge_deactivates_the_victim_once_the_survivor_is_known(harness: Harness) -> None:
    survivor = await harness.connector.create(draft())
    victim = await harness.connector.create(draft(email="ada@second.example", mobile=None, password="Victim-1"))
    assert survivor.record is not None and victim.record is not None
    await reset(harness)

    result = await harness.connector.merge(survivor.record.record_id, victim.record.record_id)
    assert (result.survivor_id, result.victim_id, result.operation) == (
        survivor.record.record_id,
        victim.record.record_id,
        "deactivate victim",
    )
    assert await calls(harness) == {GET_CUSTOMER: 1, DEACTIVATE: 1}
    assert await login_code(harness, "ada@second.example", "Victim-1") == "1042"
    assert await login_code(harness, "ada.lovelace@analytical.example", "Engine-1843") == "1004"


async def test_merge_into_a_missing_survivor_leaves_the_victim_alone(harness: Harness) -> None:
    with pytest.raises(ProviderNotFound):
        await harness.connector.merge(harness.missing_ids[0], harness.known_ids[0])
    with pytest.raises(ProviderRejected):
        await harness.connector.merge(harness.known_ids[0], harness.known_ids[0].upper())
    assert await calls(harness) == {GET_CUSTOMER: 1}


async def test_erase_deactivates_and_says_what_remains(harness: Harness) -> None:
    created = await harness.connector.create(draft())
    assert created.record is not None
    await reset(harness)
    result = await harness.connector.erase(created.record.record_id)
    assert (result.operation, result.details) == ("Customer/DeActivation", {"remains": ERASE_REMAINS})
    assert await calls(harness) == {DEACTIVATE: 1}
    assert await login_code(harness, "ada.lovelace@analytical.example", "Engine-1843") == "1042"
    remains = await read(harness, created.record.record_id, PROFILE)  # still there, as reported
    assert remains.first_name == "Ada"


# -- reads -------------------------------------------------------------------------------------------------------


async def test_get_records_makes_one_call_per_distinct_id_and_addresses_only_when_asked(harness: Harness) -> None:
    a, b = harness.known_ids[:2]
    slots = await harness.connector.get_records([a, b, a], PROFILE)
    assert [s.record_id for s in slots if isinstance(s, ProviderRecord)] == [a, b, a]
    assert await calls(harness) == {GET_CUSTOMER: 2}
    await reset(harness)
    await harness.connector.get_records([a, b], frozenset({Facet.PROFILE, Facet.ADDRESSES}))
    assert await calls(harness) == {GET_CUSTOMER: 2, GET_ADDRESSES: 2}


async def test_lookups_keep_exact_matches_only(harness: Harness) -> None:
    ann = await harness.connector.create(draft(email="ann.lee@x.example", mobile=None))
    joann = await harness.connector.create(draft(email="joann.lee@x.example", mobile=None))
    assert ann.record is not None and joann.record is not None
    await reset(harness)
    keys = [
        IdentifierKey(IdentifierType.EMAIL, "ann.lee@x.example"),  # "contains" also finds joann
        IdentifierKey(IdentifierType.USERNAME, "JoAnn.Lee@X.example"),  # Martjack ignores case
        IdentifierKey(IdentifierType.EMAIL, "ann.lee@x.example"),
        IdentifierKey(IdentifierType.EMAIL, "lee@x.example"),  # contained in both, held by neither
        IdentifierKey(IdentifierType.MOBILE, "not a phone"),
        IdentifierKey(IdentifierType.CARD_NUMBER, "123"),
        IdentifierKey(IdentifierType.USERNAME, "ann.lee@x.example"),
    ]  # the same search as the first key
    slots = await harness.connector.find_by_identifiers(keys, PROFILE)
    assert [s.record_id if isinstance(s, ProviderRecord) else s for s in slots[:5]] == [
        ann.record.record_id,
        joann.record.record_id,
        ann.record.record_id,
        None,
        None,
    ]
    assert isinstance(slots[5], ProviderUnsupported)
    assert isinstance(slots[6], ProviderRecord) and slots[6].record_id == ann.record.record_id
    assert await calls(harness) == {SEARCH: 3}  # one per distinct keyword


async def test_an_email_outside_the_username_is_read_but_cannot_be_looked_up(harness: Harness) -> None:
    part = next(p for p in harness_martjack.martjack_parts(harness_martjack.dataset()) if "@" not in p.user_name)
    assert part.view.email is not None
    record = await read(harness, part.user_id.lower(), PROFILE)
    assert part.view.email in values(record, IdentifierType.EMAIL)  # AlternateEmail is read
    [slot] = await harness.connector.find_by_identifiers(
        [IdentifierKey(IdentifierType.EMAIL, part.view.email)], PROFILE
    )
    assert slot is None  # Search matches UserName only: documented limitation


async def test_a_lookup_with_addresses_fetches_them_for_the_match(harness: Harness) -> None:
    key, record_id = harness.lookups[0]
    [slot] = await harness.connector.find_by_identifiers([key], frozenset({Facet.PROFILE, Facet.ADDRESSES}))
    assert isinstance(slot, ProviderRecord) and slot.record_id == record_id
    assert slot.addresses and Facet.ADDRESSES in slot.facets
    assert await calls(harness) == {SEARCH: 1, GET_ADDRESSES: 1}


async def test_search_cuts_pages_from_one_ordered_answer(harness: Harness) -> None:
    first = await harness.connector.search(" example ", 0, 4)
    last = await harness.connector.search("example", 16, 4)
    assert first.total == last.total == 18
    assert len(first.records) == 4 and len(last.records) == 2
    names = [values(r, IdentifierType.USERNAME)[0] for r in (*first.records, *last.records)]
    assert names[:4] == sorted(names[:4], key=str.casefold)
    assert all(r.facets == {Facet.PROFILE, Facet.SUBSCRIPTIONS} for r in first.records)
    assert await calls(harness) == {SEARCH: 2}
    nobody = await harness.connector.search("zz-nobody", 0, 10)
    assert (nobody.records, nobody.total) == ((), 0)
    with pytest.raises(ProviderRejected):
        await harness.connector.search("  ", 0, 10)
    assert await calls(harness) == {SEARCH: 3}


# -- auth and errors ---------------------------------------------------------------------------------------------


async def test_a_wrong_public_key_is_an_auth_error_that_names_nothing(harness: Harness) -> None:
    config = MartjackConfig(
        base_url=harness_martjack.BASE_URL, merchant_id=M, public_key="NOTMYKEY", secret=DEMO_APP.secret
    )
    transport = harness_martjack.simulator_transport(harness_martjack.dataset())
    connector = MartjackConnector(config, Policy(), transport=transport)
    try:
        [slot] = await connector.get_records(harness.known_ids[:1], PROFILE)
    finally:
        await connector.aclose()
    assert isinstance(slot, ProviderAuthError)
    for secret in ("NOTMYKEY", DEMO_APP.secret, M, harness.known_ids[0], "http"):
        assert secret not in str(slot)


async def test_provider_refusals_name_no_customer_data(harness: Harness) -> None:
    await harness.connector.create(draft())
    with pytest.raises(ProviderRejected) as caught:
        await harness.connector.create(draft())
    text = str(caught.value)
    for leak in ("ada", "Engine-1843", M, "developerapi", "User already exists"):
        assert leak not in text.lower() and leak not in text


async def test_the_merchant_jwt_lives_as_long_as_its_claims_say(harness: Harness) -> None:
    connector = connector_of(harness)
    await read(harness, harness.known_ids[0], PROFILE)
    assert connector.auth.fetches == 1
    body = (await harness.control.get(f"/developerapi/OAuth/Token/{DEMO_APP.public_key}")).json()
    assert jwt_lifetime(body["Token"]["AccessToken"]) == 3600
    assert jwt_lifetime("opaque") == 900


async def test_our_oauth1_signature_is_accepted_by_martjack(harness: Harness) -> None:
    url = f"{harness_martjack.HOST}/martjack{C}/{M}/Count"
    header = oauth1_authorization("GET", url, DEMO_APP.public_key, DEMO_APP.secret)
    response = await harness.control.get(f"{C}/{M}/Count", headers={"Authorization": header})
    assert response.json()["messageCode"] == "1004"
    wrong = oauth1_authorization("GET", url, DEMO_APP.public_key, "not-the-secret")
    assert (await harness.control.get(f"{C}/{M}/Count", headers={"Authorization": wrong})).status_code == 401


def envelope(code: str, status: int = 200, **headers: str) -> httpx.Response:
    error_code = 0 if code == "1004" else int(code)
    return httpx.Response(status, json={"messageCode": code, "Message": "m", "ErrorCode": error_code}, headers=headers)


@pytest.mark.parametrize(
    ("response", "expected", "provider_code"),
    [
        (envelope("1004"), None, None),
        (httpx.Response(200, json={"Count": 3, "Message": "Successful", "messageCode": "1004"}), None, None),
        (httpx.Response(200, content=b'{"trunc'), None, None),  # left to the wire model: a protocol error
        (envelope("1009"), ProviderNotFound, None),
        (envelope("1017"), ProviderNotFound, None),
        (envelope("1003", 401), ProviderAuthError, None),
        (envelope("1003"), ProviderAuthError, None),
        (envelope("1030", 403), ProviderAuthError, None),
        (envelope("440"), SessionExpired, None),
        (envelope("1016"), ProviderRejected, "1016"),
        (envelope("1042"), ProviderRejected, "1042"),
        (envelope("1000"), ProviderUnavailable, None),
        (envelope("1000", 500), ProviderUnavailable, None),
        (httpx.Response(503, text="Service Unavailable"), ProviderUnavailable, None),
        (httpx.Response(404, text="Not Found"), ProviderNotFound, None),
    ],
)
def test_the_classifier_reads_the_envelope_whatever_the_status(
    response: httpx.Response, expected: type[ProviderError] | None, provider_code: str | None
) -> None:
    error = classify(response, "op")
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    if provider_code is not None:
        assert isinstance(error, ProviderRejected) and error.provider_code == provider_code


@pytest.mark.parametrize("status", [200, 429])
def test_rate_limits_in_the_envelope_or_the_status_carry_retry_after(status: int) -> None:
    error = classify(envelope("429", status, **{"Retry-After": "7"}), "op")
    assert isinstance(error, ProviderRateLimited) and error.retry_after == 7


async def test_an_answer_that_is_not_the_wire_model_is_a_protocol_error(harness: Harness) -> None:
    await harness.fault(malformed=True)
    with pytest.raises(ProviderProtocolError):
        await harness.connector.search("example", 0, 5)


# -- mapper: golden files (the document's sample responses) ------------------------------------------------------


def test_golden_customer_details() -> None:
    body = wire.CustomerResponse.model_validate(load_fixture("martjack_customer_details"))
    assert_golden("martjack_customer_details", mapper.record_from_wire(body.customer, fetched_at=NOW))


def test_golden_search() -> None:
    body = wire.CustomersResponse.model_validate(load_fixture("martjack_search"))
    assert_golden("martjack_search", [mapper.record_from_wire(c, fetched_at=NOW) for c in body.customers])


def test_golden_create_echo() -> None:
    body = wire.CustomerResponse.model_validate(load_fixture("martjack_create"))
    assert_golden("martjack_create", mapper.record_from_wire(body.customer, fetched_at=NOW))


def test_golden_shipping_addresses() -> None:
    body = wire.ShippingAddressesResponse.model_validate(load_fixture("martjack_shipping_addresses"))
    customer = wire.CustomerResponse.model_validate(load_fixture("martjack_customer_details")).customer
    record = mapper.record_from_wire(customer, fetched_at=NOW, addresses=body.shipping_addresses)
    assert_golden(
        "martjack_shipping_addresses",
        {"addresses": [mapper.address_from_wire(a) for a in body.shipping_addresses], "facets": sorted(record.facets)},
    )


def test_golden_saved_shipping_address() -> None:
    body = wire.ShippingAddressesResponse.model_validate(load_fixture("martjack_add_shipping_address"))
    assert_golden("martjack_add_shipping_address", [mapper.address_from_wire(a) for a in body.shipping_addresses])


def test_golden_access_token() -> None:
    token = wire.TokenResponse.model_validate(load_fixture("martjack_access_token")).token
    issued = mapper.parse_net_date(token.issued_at)
    assert issued is not None and issued.utcoffset() == timedelta(hours=5, minutes=30)
    assert_golden("martjack_access_token", {"access_token": token.access_token, "issued_at": issued})


def test_golden_create_body() -> None:
    body = mapper.create_from_draft(
        draft(
            address=AddressInput(
                line1="100, Santa Plaza", line2="MG Road", city="Bangalore", state="KA", postcode="560001", country="in"
            ),
            subscriptions=(MARKETING_EMAIL_IN,),
        ),
        "ABG-704@cp",
    ).body(M)
    assert_golden("martjack_create_body", body)


def test_golden_update_body_keeps_what_the_patch_leaves_and_what_we_do_not_model() -> None:
    fixture = load_fixture("martjack_customer_details")
    fixture["Customer"]["LoyaltyTier"] = "Gold"  # a member this connector does not know: sent back as read
    customer = wire.CustomerResponse.model_validate(fixture).customer
    patched = mapper.apply_patch(customer, ProfilePatch(first_name="Thomas", gender=None, birth_date=date(1990, 2, 28)))
    body = wire.update_body(patched, M)
    assert body["customer"]["LoyaltyTier"] == "Gold"
    assert_golden("martjack_update_body", body)


def test_golden_shipping_address_body() -> None:
    customer = wire.CustomerResponse.model_validate(load_fixture("martjack_customer_details")).customer
    body = mapper.address_to_wire(
        AddressInput(line1="H.no.6-51, plot.31, ECIL", city="Bangalore", state="KA", postcode="560068", country="IN"),
        customer,
    ).body()
    assert_golden("martjack_shipping_address_body", body)


# -- mapper: rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1/1/1994", date(1994, 1, 1)),
        ("01/01/1993", date(1993, 1, 1)),
        ("12/31/1994 12:00:00 PM", date(1994, 12, 31)),
        ("1/1/1994 12:00:00", date(1994, 1, 1)),
        ("1994-07-04", date(1994, 7, 4)),
        ("/Date(773280000000+0000)/", date(1994, 7, 4)),
        ("1/1/1900", None),
        ("1/1/0001 12:00:00 AM", None),
        ("", None),
        (None, None),
        ("someday", None),
    ],
)
def test_birth_dates_in_every_spelling(raw: str | None, expected: date | None) -> None:
    assert mapper.parse_birth_date(raw) == expected


def test_net_dates_keep_their_offset() -> None:
    assert mapper.parse_net_date("/Date(1534759560943+0530)/") == datetime(2018, 8, 20, 10, 6, 0, 943000, tzinfo=UTC)
    assert mapper.parse_net_date("/Date(0-0100)/") == datetime(1969, 12, 31, 23, tzinfo=timezone(-timedelta(hours=1)))
    assert mapper.parse_net_date("/Date(0)/") == datetime(1970, 1, 1, tzinfo=UTC)
    assert mapper.parse_net_date("yesterday") is None


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        ("male", Gender.MALE),
        ("M", Gender.MALE),
        ("F", Gender.FEMALE),
        ("female", Gender.FEMALE),
        ("", None),
        ("?", None),
    ],
)
def test_genders(raw: str, gender: Gender | None) -> None:
    assert mapper.gender_from_wire(raw) is gender


def test_receive_offers_mapping() -> None:
    assert mapper.receive_offers_for([MARKETING_EMAIL_IN]) is True
    assert mapper.receive_offers_for([MARKETING_EMAIL_IN, MARKETING_SMS_OUT]) is False
    with pytest.raises(mapper.UnmappableSubscription):
        mapper.receive_offers_for([])


def test_mobile_usernames_are_mobiles_and_other_usernames_are_not() -> None:
    customer = wire.MartjackCustomer.model_validate(
        {"UserId": "x", "UserName": " 447400123456 ", "AlternateEmail": "A@B.example", "MobileNo": "91-"}
    )
    assert [(i.type, i.value) for i in mapper.identifiers(customer)] == [
        (IdentifierType.USERNAME, "447400123456"),
        (IdentifierType.EMAIL, "a@b.example"),
        (IdentifierType.MOBILE, "+447400123456"),
    ]
    named = wire.MartjackCustomer.model_validate({"UserId": "x", "UserName": "tom", "MobileNo": ""})
    assert [i.type for i in mapper.identifiers(named)] == [IdentifierType.USERNAME]
    assert mapper.search_keyword(IdentifierKey(IdentifierType.MOBILE, "+447400123456")) == "7400123456"


async def test_a_provider_outage_fills_every_lookup_slot_with_the_error(harness: Harness) -> None:
    # With a token in hand: a token endpoint answering 5xx is reported by the shared RefreshingTokenAuth as
    # an auth error, not an outage (see the report).
    await read(harness, harness.known_ids[0], PROFILE)
    await harness.fault(error_rate=1.0, error_status=503)
    keys = [key for key, _ in harness.lookups]
    slots = await harness.connector.find_by_identifiers(keys, PROFILE)
    assert len(slots) == len(keys) and all(isinstance(s, ProviderUnavailable) for s in slots)
