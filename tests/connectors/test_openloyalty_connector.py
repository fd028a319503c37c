"""The Open Loyalty connector against its simulator: every write, what the provider received (``/__sim/stats``)
and the state it ends in (read back); the auth refresh paths; and golden files for every mapper function."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from customer_graph.connectors.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnsupported,
)
from customer_graph.connectors.http import Policy
from customer_graph.connectors.openloyalty import OpenLoyaltyConfig, OpenLoyaltyConnector, mapper, wire
from customer_graph.connectors.openloyalty.mapper import ADDRESS_ID, MapSettings
from customer_graph.domain.models import (
    UNSET,
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
from customer_graph.simulators.dataset import Person
from customer_graph.simulators.openloyalty.store import LEVELS
from tests.connectors.golden import assert_golden, jsonable, load_fixture
from tests.connectors.harness_openloyalty import BASE_URL, SEARCH_TEXT, OpenLoyaltyHarness, build_harness

FAST = Policy(deadline=2.0, max_retries=2, backoff_base=0.01, backoff_max=0.05, breaker_failure_threshold=50)
RECORD = frozenset({Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS})
ALL = frozenset(Facet)
OL = Provider.OPEN_LOYALTY
SETTINGS = MapSettings("DEFAULT")
FETCHED = datetime(2024, 1, 1, tzinfo=UTC)

GET = "GET /api/{storeCode}/customer/{customer}"
PUT = "PUT /api/{storeCode}/customer/{customer}"
LIST = "GET /api/{storeCode}/admin/customer"
STATUS = "GET /api/{storeCode}/admin/customer/{customer}/status"
REGISTER = "POST /api/{storeCode}/admin/customer/register"
LEVEL = "POST /api/{storeCode}/customer/{customer}/level"
ACTIVATE = "POST /api/{storeCode}/admin/customer/{customer}/activate"
DEACTIVATE = "POST /api/{storeCode}/admin/customer/{customer}/deactivate"
ANONYMIZE = "POST /api/{storeCode}/admin/customer/{customer}/anonymize"
LOGIN = "POST /api/admin/login_check"
REFRESH = "POST /api/token/refresh"
EMAIL_MARKETING = (Channel.EMAIL, SubscriptionKind.MARKETING)
SMS_MARKETING = (Channel.SMS, SubscriptionKind.MARKETING)


@pytest.fixture
async def h() -> AsyncIterator[OpenLoyaltyHarness]:
    harness = await build_harness(FAST)
    await harness.connector.get_records(harness.known_ids[:1], RECORD)  # log in outside the counted calls
    await reset_counts(harness)
    yield harness
    await harness.close()


async def reset_counts(h: OpenLoyaltyHarness) -> None:
    (await h.control.post("/__sim/reset")).raise_for_status()  # counters only: data and tokens stay


async def calls(h: OpenLoyaltyHarness) -> dict[str, int]:
    counted: dict[str, int] = (await h.stats())["calls"]
    return counted


async def read(h: OpenLoyaltyHarness, record_id: str, facets: frozenset[Facet] = RECORD) -> ProviderRecord:
    [slot] = await h.connector.get_records([record_id], facets)
    assert isinstance(slot, ProviderRecord), slot
    return slot


def ids_of(record: ProviderRecord) -> dict[IdentifierType, str]:
    return {i.type: i.value for i in record.identifiers}


def subs_of(record: ProviderRecord) -> dict[tuple[Channel, SubscriptionKind], SubscriptionStatus]:
    return {(s.channel, s.kind): s.status for s in record.subscriptions or ()}


def golden(value: Any) -> Any:
    """``jsonable`` with sets as sorted lists (``golden.py`` does not know ``ProviderRecord.facets``)."""

    def sets(item: Any) -> Any:
        if isinstance(item, frozenset | set):
            return sorted(str(member) for member in item)
        if isinstance(item, dict):
            return {key: sets(member) for key, member in item.items()}
        if isinstance(item, list):
            return [sets(member) for member in item]
        return item

    return sets(jsonable(value))


def person(h: OpenLoyaltyHarness, index: int = 0) -> Person:
    return h.persons()[index]


# -- create ----------------------------------------------------------------------------------------


async def test_create_registers_every_field_and_reads_the_customer_back(h: OpenLoyaltyHarness) -> None:
    draft = CustomerDraft(
        first_name="Ada",
        last_name="Lovelace",
        email=" Ada.Lovelace@Example.test ",
        mobile="+447911123001",
        birth_date=date(1985, 12, 10),
        gender=Gender.FEMALE,
        card_number="990000000001",
        address=AddressInput(
            line1="12 Church Lane",
            line2="Flat 3",
            city="Leeds",
            state="West Yorkshire",
            postcode="LS1 4DY",
            country="GB",
        ),
        subscriptions=(SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),),
    )
    result = await h.connector.create(draft)
    assert await calls(h) == {REGISTER: 1, GET: 1}
    record = result.record
    assert record is not None and result.details["record_id"] == record.record_id
    assert (record.first_name, record.last_name, record.gender) == ("Ada", "Lovelace", Gender.FEMALE)
    assert record.birth_date == date(1985, 12, 10)
    assert record.status is CustomerStatus.ACTIVE
    assert ids_of(record) == {
        IdentifierType.EMAIL: "ada.lovelace@example.test",
        IdentifierType.MOBILE: "+447911123001",
        IdentifierType.CARD_NUMBER: "990000000001",
    }
    [address] = record.addresses or []
    assert (
        address.id,
        address.line1,
        address.line2,
        address.city,
        address.state,
        address.postcode,
        address.country,
    ) == (ADDRESS_ID, "12 Church Lane", "Flat 3", "Leeds", "West Yorkshire", "LS1 4DY", "GB")
    assert subs_of(record) == {EMAIL_MARKETING: SubscriptionStatus.OPT_IN, SMS_MARKETING: SubscriptionStatus.OPT_OUT}
    assert record.facets == RECORD and record.account == "DEFAULT"


async def test_create_reports_what_open_loyalty_cannot_hold(h: OpenLoyaltyHarness) -> None:
    draft = CustomerDraft(
        first_name="Ben",
        last_name="Held",
        email="ben.held@example.test",
        external_id="EXT1",
        subscriptions=(SubscriptionInput(Channel.EMAIL, SubscriptionKind.TRANSACTIONAL, SubscriptionStatus.OPT_IN),),
    )
    result = await h.connector.create(draft)
    assert result.details["ignored"] == "external_id"
    assert result.details["not_held"] == "EMAIL:TRANSACTIONAL"
    assert result.record is not None and result.record.last_name == "Held"


async def test_create_with_a_taken_email_is_rejected_with_a_data_free_code(h: OpenLoyaltyHarness) -> None:
    taken = next(p.email for p in h.persons() if p.openloyalty and p.openloyalty.view.email)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.create(CustomerDraft(first_name="A", last_name="B", email=taken.upper()))
    assert caught.value.provider_code == "email:duplicate"
    assert caught.value.status == 400
    assert taken not in str(caught.value).lower()
    assert await calls(h) == {REGISTER: 1}  # a create is never retried, and nothing is read back


async def test_create_without_required_fields_names_every_missing_field(h: OpenLoyaltyHarness) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.create(CustomerDraft(email="only.email@example.test"))
    assert caught.value.provider_code == "firstName:blank,lastName:blank"


# -- update profile --------------------------------------------------------------------------------


async def test_update_profile_sends_only_the_patch_and_leaves_the_rest(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    before = await read(h, record_id)
    await reset_counts(h)
    patch = ProfilePatch(first_name="Zed", birth_date=date(1970, 1, 2), gender=None)
    result = await h.connector.update_profile(record_id, patch)
    assert await calls(h) == {PUT: 1, GET: 1}
    after = result.record
    assert after is not None
    assert (after.first_name, after.birth_date, after.gender) == ("Zed", date(1970, 1, 2), None)
    assert after.last_name == before.last_name
    assert after.identifiers == before.identifiers and after.addresses == before.addresses
    assert after.subscriptions == before.subscriptions


async def test_an_address_patch_reads_the_address_and_sends_it_whole(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    before = await read(h, record_id)
    [held] = before.addresses or []
    await reset_counts(h)
    result = await h.connector.update_profile(record_id, ProfilePatch(address=AddressPatch(city="York", state=None)))
    assert await calls(h) == {GET: 2, PUT: 1}  # read, PUT the whole address, read back
    assert result.record is not None
    [address] = result.record.addresses or []
    assert (address.line1, address.line2, address.city, address.state, address.postcode, address.country) == (
        held.line1,
        held.line2,
        "York",
        None,
        held.postcode,
        held.country,
    )
    # A customer without an address gets one made of the parts given.
    created = await h.connector.create(
        CustomerDraft(first_name="No", last_name="Address", email="no.address@example.test")
    )
    assert created.record is not None and created.record.addresses == ()
    result = await h.connector.update_profile(
        created.record.record_id, ProfilePatch(address=AddressPatch(city="Leeds", country="GB"))
    )
    assert result.record is not None
    assert [(a.city, a.country, a.line1) for a in result.record.addresses or ()] == [("Leeds", "GB", None)]


async def test_an_empty_patch_writes_nothing(h: OpenLoyaltyHarness) -> None:
    result = await h.connector.update_profile(h.known_ids[0], ProfilePatch(first_name=UNSET))
    assert await calls(h) == {GET: 1}
    assert result.operation == "none" and result.record is not None


async def test_clearing_a_required_name_is_rejected(h: OpenLoyaltyHarness) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.update_profile(h.known_ids[0], ProfilePatch(last_name=None))
    assert caught.value.provider_code == "lastName:blank"


async def test_writes_to_a_missing_customer_are_not_found(h: OpenLoyaltyHarness) -> None:
    missing = h.missing_ids[0]
    with pytest.raises(ProviderNotFound):
        await h.connector.update_profile(missing, ProfilePatch(first_name="X"))
    with pytest.raises(ProviderNotFound):
        await h.connector.set_status(missing, False)
    with pytest.raises(ProviderNotFound):
        await h.connector.erase(missing)
    assert await calls(h) == {PUT: 1, DEACTIVATE: 1, ANONYMIZE: 1}


# -- identifiers -----------------------------------------------------------------------------------


async def test_add_identifier_sets_the_one_slot_of_each_type(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    for identifier_type, value in (
        (IdentifierType.EMAIL, "new.address@example.test"),
        (IdentifierType.MOBILE, "+447911123002"),
        (IdentifierType.CARD_NUMBER, "990000000002"),
    ):
        result = await h.connector.add_identifier(record_id, Identifier(identifier_type, value, OL))
        assert result.record is not None and ids_of(result.record)[identifier_type] == value
    assert await calls(h) == {PUT: 3, GET: 3}
    after = await read(h, record_id)
    assert ids_of(after) == {
        IdentifierType.EMAIL: "new.address@example.test",
        IdentifierType.MOBILE: "+447911123002",
        IdentifierType.CARD_NUMBER: "990000000002",
    }


async def test_an_identifier_type_open_loyalty_does_not_hold_is_refused_locally(h: OpenLoyaltyHarness) -> None:
    external = Identifier(IdentifierType.EXTERNAL_ID, "EXT1", OL)
    with pytest.raises(ProviderUnsupported):
        await h.connector.add_identifier(h.known_ids[0], external)
    with pytest.raises(ProviderUnsupported):
        await h.connector.remove_identifier(h.known_ids[0], external)
    assert await calls(h) == {}


async def test_adding_a_phone_held_by_another_customer_is_rejected(h: OpenLoyaltyHarness) -> None:
    other = person(h, 1)
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.add_identifier(h.known_ids[0], Identifier(IdentifierType.MOBILE, other.mobile, OL))
    assert caught.value.provider_code == "phone:duplicate"
    assert other.mobile not in str(caught.value)


async def test_remove_identifier_erases_only_the_value_asked_for(h: OpenLoyaltyHarness) -> None:
    target = person(h, 0)
    record_id = h.known_ids[0]
    stale = Identifier(IdentifierType.MOBILE, "+447911123003", OL)
    result = await h.connector.remove_identifier(record_id, stale)
    assert await calls(h) == {GET: 1}  # read, found another value: nothing erased
    assert not result.changed and result.details == {}
    assert ids_of(await read(h, record_id))[IdentifierType.MOBILE] == target.mobile

    await reset_counts(h)
    result = await h.connector.remove_identifier(record_id, Identifier(IdentifierType.MOBILE, target.mobile, OL))
    assert await calls(h) == {GET: 2, PUT: 1}
    assert result.record is not None and IdentifierType.MOBILE not in ids_of(result.record)
    assert IdentifierType.EMAIL in ids_of(result.record)  # untouched


# -- addresses -------------------------------------------------------------------------------------


async def test_upsert_address_replaces_the_one_address_whole(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[1]
    before = await read(h, record_id)
    assert before.addresses  # the seeded customer has one
    await reset_counts(h)
    result = await h.connector.upsert_address(record_id, AddressInput(line1="7 Mill Road", city="Kraków", country="PL"))
    assert await calls(h) == {PUT: 1, GET: 1}
    assert result.record is not None
    [address] = result.record.addresses or []
    # The parts not given are gone: the address is replaced, not merged.
    assert (address.line1, address.line2, address.city, address.state, address.postcode, address.country) == (
        "7 Mill Road",
        None,
        "Kraków",
        None,
        None,
        "PL",
    )
    assert result.record.identifiers == before.identifiers


async def test_remove_address_erases_it_and_refuses_an_unknown_id_locally(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[1]
    with pytest.raises(ProviderNotFound):
        await h.connector.remove_address(record_id, "42")
    assert await calls(h) == {}
    result = await h.connector.remove_address(record_id, ADDRESS_ID)
    assert await calls(h) == {PUT: 1, GET: 1}
    assert result.record is not None and result.record.addresses == ()
    assert (await read(h, record_id)).addresses == ()


# -- subscriptions ---------------------------------------------------------------------------------


async def test_set_subscriptions_writes_the_two_marketing_consents(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[2]
    for email, sms in (
        (SubscriptionStatus.OPT_IN, SubscriptionStatus.OPT_OUT),
        (SubscriptionStatus.OPT_OUT, SubscriptionStatus.OPT_IN),
    ):
        result = await h.connector.set_subscriptions(
            record_id,
            [
                SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, email),
                SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, sms),
            ],
        )
        assert result.record is not None
        assert subs_of(result.record) == {EMAIL_MARKETING: email, SMS_MARKETING: sms}
    assert await calls(h) == {PUT: 2, GET: 2}


async def test_set_subscriptions_reports_or_refuses_consents_open_loyalty_has_not(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[2]
    push = SubscriptionInput(Channel.PUSH, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)
    with pytest.raises(ProviderUnsupported):
        await h.connector.set_subscriptions(record_id, [push])
    assert await calls(h) == {}
    sms = SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)
    result = await h.connector.set_subscriptions(record_id, [push, sms])
    assert result.details == {"not_held": "PUSH:MARKETING"}
    assert result.record is not None and subs_of(result.record)[SMS_MARKETING] is SubscriptionStatus.OPT_IN


# -- loyalty ---------------------------------------------------------------------------------------


async def test_enrolment_assigns_a_level_and_the_store_program_needs_no_call(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    result = await h.connector.enroll_in_loyalty_program(record_id, "DEFAULT")
    assert await calls(h) == {GET: 1, STATUS: 1}
    assert not result.changed and result.details == {}

    await reset_counts(h)
    target = next(level for level in LEVELS if level.name != person(h, 0).openloyalty.level_name)  # type: ignore[union-attr]
    result = await h.connector.enroll_in_loyalty_program(record_id, target.level_id)
    assert await calls(h) == {LEVEL: 1, GET: 1, STATUS: 1}
    assert result.record is not None
    [program] = result.record.loyalty_programs or []
    assert (program.program_id, program.tier) == ("DEFAULT", target.name)
    assert Facet.LOYALTY in result.record.facets


async def test_enrolment_in_an_unknown_level_is_rejected(h: OpenLoyaltyHarness) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await h.connector.enroll_in_loyalty_program(h.known_ids[0], "no-such-level")
    assert caught.value.provider_code == "levelId:invalid"


async def test_loyalty_is_read_from_the_status_call(h: OpenLoyaltyHarness) -> None:
    part = person(h, 0).openloyalty
    assert part is not None
    record = await read(h, part.customer_id, ALL)
    [program] = record.loyalty_programs or []
    assert program.points == part.points and program.tier == part.level_name
    assert program.lifetime_points is not None and program.lifetime_points >= program.points
    assert program.next_tier == (None if part.level_name == "level3" else f"level{int(part.level_name[-1]) + 1}")


# -- merge, status, erase --------------------------------------------------------------------------


async def test_merge_deactivates_the_victim_and_leaves_the_survivor(h: OpenLoyaltyHarness) -> None:
    survivor, victim = h.known_ids[0], h.known_ids[1]
    result = await h.connector.merge(survivor, victim)
    assert (result.survivor_id, result.victim_id, result.operation) == (survivor, victim, "deactivate victim")
    assert await calls(h) == {GET: 2, DEACTIVATE: 1}
    assert (await read(h, victim)).status is CustomerStatus.INACTIVE
    assert (await read(h, survivor)).status is CustomerStatus.ACTIVE


async def test_merge_with_a_missing_survivor_deactivates_nobody(h: OpenLoyaltyHarness) -> None:
    with pytest.raises(ProviderNotFound):
        await h.connector.merge(h.missing_ids[0], h.known_ids[1])
    with pytest.raises(ProviderRejected):
        await h.connector.merge(h.known_ids[1], h.known_ids[1])
    assert await calls(h) == {GET: 2}
    assert (await read(h, h.known_ids[1])).status is CustomerStatus.ACTIVE


async def test_set_status_deactivates_and_activates(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    result = await h.connector.set_status(record_id, False)
    assert result.record is not None and result.record.status is CustomerStatus.INACTIVE
    result = await h.connector.set_status(record_id, True)
    assert result.record is not None and result.record.status is CustomerStatus.ACTIVE
    assert await calls(h) == {DEACTIVATE: 1, ACTIVATE: 1, GET: 2}


async def test_erase_anonymizes_the_customer(h: OpenLoyaltyHarness) -> None:
    record_id = h.known_ids[0]
    result = await h.connector.erase(record_id)
    assert await calls(h) == {ANONYMIZE: 1, GET: 1}
    record = result.record
    assert record is not None and record.record_id == record_id
    assert record.identifiers == () and record.addresses == () and record.birth_date is None
    [found] = await h.connector.find_by_identifiers([IdentifierKey(IdentifierType.MOBILE, person(h, 0).mobile)], RECORD)
    assert found is None


# -- reads -----------------------------------------------------------------------------------------


async def test_reads_fetch_only_what_the_facets_need(h: OpenLoyaltyHarness) -> None:
    ids = h.known_ids[:3]
    for facets, expected in ((frozenset({Facet.LOYALTY}), {STATUS: 3}), (RECORD, {GET: 3}), (ALL, {GET: 3, STATUS: 3})):
        await reset_counts(h)
        slots = await h.connector.get_records(ids, facets)
        assert await calls(h) == expected, facets
        for record_id, slot in zip(ids, slots, strict=True):
            assert isinstance(slot, ProviderRecord) and slot.record_id == record_id
            assert slot.facets == facets
    [loyalty_only] = await h.connector.get_records(ids[:1], frozenset({Facet.LOYALTY}))
    assert isinstance(loyalty_only, ProviderRecord)
    assert loyalty_only.identifiers == () and loyalty_only.first_name is None  # PROFILE not claimed, not filled


async def test_duplicate_and_empty_keys_cost_no_extra_call(h: OpenLoyaltyHarness) -> None:
    known = h.known_ids[0]
    slots = await h.connector.get_records([known, "", known], RECORD)
    assert await calls(h) == {GET: 1}
    assert isinstance(slots[0], ProviderRecord) and slots[2] is slots[0]
    assert isinstance(slots[1], ProviderNotFound)


async def test_lookups_match_exactly_whatever_the_stored_format(h: OpenLoyaltyHarness) -> None:
    target = person(h, 1)
    assert target.openloyalty is not None and " " in (target.openloyalty.view.mobile or "")  # "+61 412 348 148"
    key = IdentifierKey(IdentifierType.MOBILE, target.mobile)
    username = IdentifierKey(IdentifierType.USERNAME, "someone")
    slots = await h.connector.find_by_identifiers([key, username, key], ALL)
    assert await calls(h) == {LIST: 1, STATUS: 1}
    assert slots[1] is None  # nobody in Open Loyalty holds a username
    record = slots[0]
    assert isinstance(record, ProviderRecord) and slots[2] is record
    assert record.record_id == target.openloyalty.customer_id and record.facets == ALL
    # A partial value matches by "contains" at some providers; here it must find nobody.
    [partial] = await h.connector.find_by_identifiers([IdentifierKey(IdentifierType.EMAIL, "example.com")], RECORD)
    assert partial is None


async def test_search_maps_any_offset_onto_pages(h: OpenLoyaltyHarness) -> None:
    everything = await h.connector.search(SEARCH_TEXT, 0, 50)
    ids = [r.record_id for r in everything.records]
    assert everything.total == len(ids) == 18
    assert all(r.facets == RECORD for r in everything.records)
    assert all(
        any(i.type is IdentifierType.EMAIL and i.value.endswith("@example.com") for i in r.identifiers)
        for r in everything.records
    )
    for offset, limit, pages in ((5, 5, 1), (3, 5, 1), (11, 2, 2), (16, 5, 1)):
        await reset_counts(h)
        page = await h.connector.search(SEARCH_TEXT, offset, limit)
        assert [r.record_id for r in page.records] == ids[offset : offset + limit], (offset, limit)
        assert (page.total, page.offset, page.limit) == (18, offset, limit)
        assert await calls(h) == {LIST: pages}


async def test_search_by_name_and_by_phone(h: OpenLoyaltyHarness) -> None:
    target = person(h, 0)
    assert target.openloyalty is not None
    view = target.openloyalty.view
    by_name = await h.connector.search(f"{view.first_name} {view.last_name}", 0, 10)
    assert target.openloyalty.customer_id in [r.record_id for r in by_name.records]
    by_phone = await h.connector.search(target.mobile, 0, 10)
    assert [r.record_id for r in by_phone.records] == [target.openloyalty.customer_id]


# -- auth ------------------------------------------------------------------------------------------


async def test_a_rejected_token_403_logs_in_again_once(h: OpenLoyaltyHarness) -> None:
    (await h.control.post("/__sim/tokens/expire")).raise_for_status()
    record = await read(h, h.known_ids[0])
    assert record.record_id == h.known_ids[0]
    assert await calls(h) == {GET: 2, LOGIN: 1}  # 403 "Expired JWT Token", log in, the call again


async def test_a_token_near_its_expiry_is_refreshed_with_the_refresh_token(h: OpenLoyaltyHarness) -> None:
    connector = h.connector
    assert isinstance(connector, OpenLoyaltyConnector)
    (await h.control.post("/__sim/config", json={"token_ttl_seconds": 3})).raise_for_status()
    connector.auth.invalidate()
    await read(h, h.known_ids[0])  # logs in: the JWT says it lives 3 s, inside the refresh margin
    await reset_counts(h)
    await read(h, h.known_ids[0])
    assert await calls(h) == {REFRESH: 1, GET: 1}


async def test_a_403_that_is_not_about_the_token_is_an_auth_error_without_a_new_token(h: OpenLoyaltyHarness) -> None:
    issued = await h.tokens_issued()
    await h.fault(error_rate=1.0, error_status=403)
    [slot] = await h.connector.get_records(h.known_ids[:1], RECORD)
    assert isinstance(slot, ProviderAuthError)
    assert await h.tokens_issued() == issued
    assert await calls(h) == {GET: 1}


async def test_refused_credentials_are_an_auth_error(h: OpenLoyaltyHarness) -> None:
    wrong = OpenLoyaltyConnector(OpenLoyaltyConfig(BASE_URL, "admin", "wrong"), FAST, transport=h.transport)
    try:
        [slot] = await wrong.get_records(h.known_ids[:1], RECORD)
        assert isinstance(slot, ProviderAuthError)
        assert "wrong" not in str(slot) and "admin" not in str(slot)
        assert await calls(h) == {LOGIN: 1}
    finally:
        await wrong.aclose()


def test_the_config_never_shows_the_password() -> None:
    assert "s3cret" not in repr(OpenLoyaltyConfig(BASE_URL, "admin", "s3cret"))


# -- golden files: wire -> domain ------------------------------------------------------------------


def test_golden_customer_details() -> None:
    customer = wire.Customer.model_validate(load_fixture("openloyalty_customer"))
    assert_golden("openloyalty_customer", golden(mapper.record_from_customer(customer, SETTINGS, FETCHED)))


def test_golden_customer_edge_cases() -> None:
    # PHP's [] for an empty address, padded mixed-case e-mail, a spaced phone, blocked, midnight-local birth date.
    customer = wire.Customer.model_validate(load_fixture("openloyalty_customer_edge"))
    assert_golden("openloyalty_customer_edge", golden(mapper.record_from_customer(customer, SETTINGS, FETCHED)))


def test_golden_customer_list() -> None:
    listing = wire.CustomerList.model_validate(load_fixture("openloyalty_customer_list"))
    records = [mapper.record_from_customer(c, SETTINGS, FETCHED) for c in listing.customers]
    assert_golden("openloyalty_customer_list", golden({"total": listing.total, "records": records}))


def test_golden_national_phones_read_with_a_region() -> None:
    listing = wire.CustomerList.model_validate(load_fixture("openloyalty_customer_list"))
    polish = MapSettings("DEFAULT", phone_region="PL")
    assert [mapper.phone(c.phone, polish) for c in listing.customers] == [None, None]  # too short to be numbers
    assert mapper.phone("0665998332", SETTINGS) is None
    assert mapper.phone("512 345 678", polish) == "+48512345678"


def test_golden_status_admin() -> None:
    status = wire.CustomerStatus.model_validate(load_fixture("openloyalty_status_admin"))
    assert_golden("openloyalty_status_admin", mapper.loyalty_from_status(status, SETTINGS))


def test_golden_status_customer() -> None:
    status = wire.CustomerStatus.model_validate(load_fixture("openloyalty_status_customer"))
    record = mapper.record_from_status("00000000-0000-474c-b092-b0dd880c07e1", status, SETTINGS, FETCHED)
    assert_golden("openloyalty_status_customer", golden(record))


def test_golden_form_error() -> None:
    body = wire.FormErrorBody.model_validate(load_fixture("openloyalty_form_error"))
    assert mapper.form_error_code(body) == "phone:invalid_phone"


# -- golden files: domain -> wire ------------------------------------------------------------------


def test_golden_register_form_reproduces_the_documents_example() -> None:
    # openloyalty-customer-api.md, "Create a new customer", the second example (john3@example.com).
    draft = CustomerDraft(
        first_name="John",
        last_name="Kowalski",
        email="john3@example.com",
        mobile="000000004000",
        birth_date=date(1990, 1, 1),
        card_number="00000000000000002",
        address=AddressInput(line1="Street", city="Wroclaw", state="Dolnoslaskie", postcode="00-000", country="Poland"),
        subscriptions=(
            SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
            SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
        ),
    )
    form = mapper.register_form(draft)
    assert_golden("openloyalty_register_form", form)
    sent = {key: value for key, value in form.items() if value}
    assert sent == {
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
        "customer[loyaltyCardNumber]": "00000000000000002",
        "customer[agreement1]": "1",
        "customer[agreement2]": "1",
        "customer[agreement3]": "1",
    }


def test_golden_update_forms() -> None:
    forms = {
        "profile": mapper.profile_form(
            ProfilePatch(first_name="Jane", last_name=UNSET, birth_date=None, gender=Gender.NOT_DISCLOSED)
        ),
        "address": mapper.address_form(AddressInput(line1="12A Park Avenue", line2="Flat 2", city="Leeds")),
        "address_removed": mapper.address_form(None),
        "email": mapper.identifier_form(IdentifierType.EMAIL, "john4@example.com"),
        "phone_erased": mapper.identifier_form(IdentifierType.MOBILE, None),
        "consents": mapper.agreements_form(
            [
                SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT),
                SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),
            ]
        ),
        "lookup_card": mapper.lookup_filter(IdentifierKey(IdentifierType.CARD_NUMBER, "47834433524")),
    }
    assert_golden("openloyalty_update_forms", forms)


# -- mapper rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1990-09-11T02:00:00+0200", date(1990, 9, 11)),  # midnight UTC, shown in +0200 (the document)
        ("1990-09-11T00:00:00+0200", date(1990, 9, 11)),  # midnight in its own offset
        ("1990-09-10T19:00:00-0500", date(1990, 9, 11)),  # midnight UTC west of Greenwich
        ("1990-09-11T13:45:00+0200", date(1990, 9, 11)),  # neither: the date as written
    ],
)
def test_birth_dates(raw: str, expected: date) -> None:
    assert mapper.birth_date(datetime.fromisoformat(raw)) == expected


@pytest.mark.parametrize("raw", ["2018-02-02 11:39:17", "02/02/2018", "/Date(1534759560943+0530)/"])
def test_dates_in_another_format_are_refused_at_the_edge(raw: str) -> None:
    with pytest.raises(ValueError):
        wire.Customer.model_validate({"customerId": "x", "active": True, "createdAt": raw})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", {"email": "example.com"}),
        ("jane@", {"email": "jane@"}),
        ("+44 7700 900123", {"phone": "+447700900123"}),
        ("Kowalski", {"lastName": "Kowalski"}),
        ("Jane van Doe", {"firstName": "Jane", "lastName": "van Doe"}),
        ("  ", {}),
    ],
)
def test_search_filters(text: str, expected: dict[str, str]) -> None:
    assert mapper.search_filters(text) == expected


def test_page_window_always_covers_exactly_the_rows_asked_for() -> None:
    for limit in range(1, 9):
        for offset in range(0, 80):
            window = mapper.page_window(offset, limit)
            if window is None:
                continue
            page, size, skip = window
            first_row = (page - 1) * size
            assert first_row + skip == offset
            assert skip + limit <= size
            assert size <= 2 * limit
    assert mapper.page_window(10, 5) == (3, 5, 0)
    assert mapper.page_window(11, 2) is None


def test_error_codes_carry_no_submitted_value() -> None:
    body = wire.FormErrorBody.model_validate(
        {
            "form": {
                "children": {
                    "email": {"errors": ["Customer with such email already exists."]},
                    "address": {"children": {"city": {"errors": ["This value is not valid."]}}},
                }
            },
            "errors": ["This form should not contain extra fields."],
        }
    )
    code = mapper.form_error_code(body)
    assert code == "form:extra_fields,email:duplicate,address.city:invalid"
    assert re.fullmatch(r"[A-Za-z0-9_.:,]+", code)
