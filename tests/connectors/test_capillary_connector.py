"""The Capillary connector against its simulator: every write, the merge-victim read, auth, error rules, and the
mappers on golden files written from the documents' sample responses.

What the simulator received is asserted through ``/__sim/stats`` (and, where the wire matters, through a
transport that records the requests); the state a write leaves is asserted by reading it back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from customer_graph.connectors.base import Connector, Operation, Support
from customer_graph.connectors.capillary import (
    CapillaryConfig,
    CapillaryConnector,
    OAuthCredentials,
    TillCredentials,
    mapper,
)
from customer_graph.connectors.capillary.auth import CapillaryOAuth
from customer_graph.connectors.capillary.rules import MergedAccount, classify
from customer_graph.connectors.capillary.wire import (
    ChangeIdentifierResponse,
    CustomerWire,
    LoyaltyDetailsResponse,
    RegisterResponse,
    SearchResponse,
    SubscriptionsResponse,
)
from customer_graph.connectors.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from customer_graph.connectors.http import Policy
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
from customer_graph.simulators.dataset import CapillaryPart
from tests.connectors.golden import assert_golden, load_fixture
from tests.connectors.harness_capillary import BASE_URL, OAUTH, Simulated, new_customer, parts, simulate

POLICY = Policy(deadline=3.0, max_retries=1, backoff_base=0.01, backoff_max=0.02)
ALL = frozenset(Facet)
PROFILE = frozenset({Facet.PROFILE})
NOW = datetime(2024, 1, 1, tzinfo=UTC)
GET, RETRO = "GET /v2/customers/{id}", "GET /v2/customers/{id}/retroRequest"
PUT, CHANGE = "PUT /v2/customers/{id}", "POST /v2/customers/{id}/changeIdentifier"
REGISTER, SUBSCRIBE = "POST /v2/customers", "POST /v2/customers/{id}/subscriptions"
LOOKUP = "GET /v2/customers/lookup"


class Recording(httpx.AsyncBaseTransport):
    """Passes requests to the simulator and keeps them, so that tests can assert the wire."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def bodies(self, method: str, path_end: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.method == method and r.url.path.endswith(path_end)]


@pytest.fixture
async def sim() -> AsyncIterator[Simulated]:
    simulated = simulate()
    yield simulated
    await simulated.control.aclose()


@pytest.fixture
async def recording(sim: Simulated) -> Recording:
    return Recording(sim.transport)


@pytest.fixture
async def connector(sim: Simulated, recording: Recording) -> AsyncIterator[CapillaryConnector]:
    built = CapillaryConnector(
        CapillaryConfig(BASE_URL, OAUTH, program_names={"1016": "DemoProgram"}), POLICY, transport=recording
    )
    yield built
    await built.aclose()


async def calls(sim: Simulated) -> Counter[str]:
    stats = (await sim.control.get("/__sim/stats")).json()
    return Counter({k: v for k, v in stats["calls"].items() if "oauth" not in k})


async def read(connector: CapillaryConnector, record_id: str, facets: frozenset[Facet] = ALL) -> ProviderRecord:
    [slot] = await connector.get_records([record_id], facets)
    assert isinstance(slot, ProviderRecord), slot
    return slot


def instore_only(sim: Simulated) -> list[CapillaryPart]:
    return [
        p
        for p in parts(sim.dataset)
        if p.sources == ["INSTORE"] and not p.martjack_id and not p.victims and p.view.email and p.view.mobile
    ]


def by_age(sim: Simulated) -> tuple[CapillaryPart, CapillaryPart]:
    """Two INSTORE-only customers, the older registration first (Capillary keeps the older on a merge)."""
    a, b = instore_only(sim)[:2]
    assert a.view.registered_at and b.view.registered_at
    older, newer = sorted((a, b), key=lambda p: p.view.registered_at or NOW)
    return older, newer


def victim_and_survivor(sim: Simulated) -> tuple[str, str]:
    part = next(p for p in parts(sim.dataset) if p.victims)
    return str(part.victims[0].customer_id), str(part.customer_id)


# -- shape ------------------------------------------------------------------------------------------------


def test_capabilities_follow_the_design_table(connector: CapillaryConnector) -> None:
    assert isinstance(connector, Connector)
    caps = connector.capabilities
    native = {
        Operation.GET_RECORDS,
        Operation.FIND_BY_IDENTIFIER,
        Operation.SEARCH,
        Operation.SUBSCRIPTIONS,
        Operation.LOYALTY,
        Operation.CREATE,
        Operation.UPDATE_PROFILE,
        Operation.ADD_IDENTIFIER,
        Operation.REMOVE_IDENTIFIER,
        Operation.SET_SUBSCRIPTIONS,
        Operation.ENROLL_LOYALTY,
        Operation.MERGE,
    }
    assert {op for op, s in caps.items() if s is Support.NATIVE} == native
    assert {op for op, s in caps.items() if s is Support.EMULATED} == {
        Operation.ADDRESSES,
        Operation.UPSERT_ADDRESS,
        Operation.REMOVE_ADDRESS,
    }
    assert {op for op, s in caps.items() if s is Support.UNSUPPORTED} == {Operation.SET_STATUS, Operation.ERASE}
    assert connector.lookup_types == {
        IdentifierType.EMAIL,
        IdentifierType.MOBILE,
        IdentifierType.EXTERNAL_ID,
        IdentifierType.WECHAT,
        IdentifierType.MARTJACK_ID,
    }
    assert connector.record_facets == {Facet.PROFILE, Facet.ADDRESSES}


# -- reads ------------------------------------------------------------------------------------------------


async def test_a_read_of_a_capillary_merge_victim_resolves_to_the_survivor_8069_handled_not_an_error(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    victim, survivor = victim_and_survivor(sim)
    record = await read(connector, victim, PROFILE)
    assert record.record_id == survivor
    assert record.requested_id == victim
    assert record.identifiers, "the survivor's record, not an empty victim"
    # The victim's GET (8069), its MERGE change requests, then the survivor's GET.
    assert await calls(sim) == Counter({GET: 2, RETRO: 1})


async def test_reads_embed_only_what_the_facets_need(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    record_id = str(parts(sim.dataset)[0].customer_id)
    profile = await read(connector, record_id, PROFILE)
    loyalty = await read(connector, record_id, frozenset({Facet.LOYALTY}))
    subscriptions = await read(connector, record_id, frozenset({Facet.SUBSCRIPTIONS}))
    embeds = [r.url.params.get("embed") for r in recording.requests if r.url.path.endswith(record_id)]
    assert embeds == [None, "points,mlp", "subscriptions"]
    assert all(r.url.params["source"] == "ALL" for r in recording.requests if r.url.path.endswith(record_id))
    assert profile.facets == {Facet.PROFILE, Facet.ADDRESSES}
    assert profile.subscriptions is None and profile.loyalty_programs is None
    assert loyalty.facets == {Facet.PROFILE, Facet.ADDRESSES, Facet.LOYALTY} and loyalty.loyalty_programs
    assert subscriptions.facets == {Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS}


async def test_a_read_maps_the_seeded_customer(sim: Simulated, connector: CapillaryConnector) -> None:
    person = next(
        p
        for p in sim.dataset.persons
        if p.capillary and p.capillary.view.mobile and p.capillary.martjack_id and p.gender in ("male", "female")
    )
    part = person.capillary
    assert part is not None and part.martjack_id
    record = await read(connector, str(part.customer_id))
    values = {(i.type, i.value) for i in record.identifiers}
    assert {
        (IdentifierType.EMAIL, person.email),
        (IdentifierType.MOBILE, person.mobile),
        (IdentifierType.EXTERNAL_ID, part.external_id),
        (IdentifierType.MARTJACK_ID, part.martjack_id),
    } <= values
    assert (record.first_name, record.last_name) == (part.view.first_name, part.view.last_name)
    assert record.birth_date == person.birth_date
    assert record.gender is Gender(person.gender.upper())
    assert record.source == "INSTORE"
    assert record.addresses is not None
    [address] = record.addresses
    assert (address.city, address.state, address.postcode, address.country) == (
        person.address.city,
        person.address.state,
        person.address.postcode,
        person.address.country,
    )
    assert {p.program_id for p in record.loyalty_programs or ()} == {str(b.program_id) for b in part.programs}
    balance = part.programs[0]
    [program] = [p for p in record.loyalty_programs or () if p.program_id == str(balance.program_id)]
    assert (program.points, program.tier, program.points_expiry) == (
        balance.points,
        balance.tier,
        balance.points_expiry,
    )
    assert program.name == "DemoProgram"


async def test_lookups_send_mobiles_without_plus_dedupe_and_verify(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    part = next(p for p in parts(sim.dataset) if p.view.mobile and p.view.email)
    assert part.view.mobile and part.view.email
    mobile = IdentifierKey(IdentifierType.MOBILE, "+" + part.view.mobile)
    email = IdentifierKey(IdentifierType.EMAIL, part.view.email)
    card = IdentifierKey(IdentifierType.CARD_NUMBER, "12345678")
    slots = await connector.find_by_identifiers([mobile, email, mobile, card], PROFILE)
    assert [s.record_id if isinstance(s, ProviderRecord) else s for s in slots[:3]] == [str(part.customer_id)] * 3
    assert isinstance(slots[3], ProviderUnsupported)
    lookups = [r.url.params for r in recording.requests if r.url.path.endswith("/lookup")]
    assert sorted((p["identifierName"], p["identifierValue"], p["source"]) for p in lookups) == sorted(
        [("mobile", part.view.mobile, "ALL"), ("email", part.view.email, "ALL")]
    )
    # Two keys, one customer: one read.
    assert (await calls(sim))[GET] == 1


async def test_search_hits_carry_names_only(sim: Simulated, connector: CapillaryConnector) -> None:
    part = parts(sim.dataset)[0]
    page = await connector.search(part.external_id, 0, 10)
    assert [r.record_id for r in page.records] == [str(part.customer_id)]
    assert page.total == 1
    [hit] = page.records
    assert hit.facets == frozenset() and hit.first_name == part.view.first_name and not hit.identifiers


# -- writes -----------------------------------------------------------------------------------------------


async def test_create_registers_in_the_configured_source_and_reads_back(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    draft = CustomerDraft(
        first_name="Ada",
        last_name="Lovelace",
        email=" Ada.Lovelace@Example.com ",
        mobile="+919804542631",
        external_id="EXT-ADA",
        birth_date=date(1990, 12, 10),
        gender=Gender.FEMALE,
        address=AddressInput(
            line1="1 Main Street", city="Bengaluru", state="Karnataka", postcode="560001", country="IN"
        ),
    )
    result = await connector.create(draft)
    assert await calls(sim) == Counter({REGISTER: 1, GET: 1})
    [register] = [r for r in recording.requests if r.method == "POST" and r.url.path.endswith("/v2/customers")]
    assert register.url.params["source"] == "INSTORE"
    body = json.loads(register.content)
    assert {"type": "mobile", "value": "919804542631"} in body["profiles"][0]["identifiers"]
    record = result.record
    assert record is not None and record.record_id.isdigit()
    assert result.details == {}
    assert {(i.type, i.value) for i in record.identifiers} >= {
        (IdentifierType.EMAIL, "ada.lovelace@example.com"),
        (IdentifierType.MOBILE, "+919804542631"),
        (IdentifierType.EXTERNAL_ID, "EXT-ADA"),
    }
    assert (record.first_name, record.birth_date, record.gender) == ("Ada", date(1990, 12, 10), Gender.FEMALE)
    assert record.addresses and record.addresses[0].city == "Bengaluru" and record.addresses[0].country == "IN"
    assert record.addresses[0].line1 == "1 Main Street"


async def test_create_that_auto_merges_reports_8050_and_returns_the_existing_customer(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    existing = instore_only(sim)[0]
    draft = CustomerDraft(first_name="Web", last_name="Profile", email=existing.view.email, source="WEBSITE")
    result = await connector.create(draft)
    assert result.details["warnings"] == "8050"
    assert result.details["combinedWithExisting"] == str(existing.customer_id)
    assert result.record is not None and result.record.record_id == str(existing.customer_id)
    assert any(i.source == "WEBSITE" for i in result.record.identifiers)


async def test_create_with_subscriptions_writes_them_after_registering(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    draft = CustomerDraft(
        first_name="Sub",
        last_name="Scriber",
        email="sub.scriber@example.com",
        subscriptions=(SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN),),
    )
    result = await connector.create(draft)
    assert await calls(sim) == Counter({REGISTER: 1, SUBSCRIBE: 1, GET: 1})
    assert result.record is not None and result.record.subscriptions is not None
    assert [(s.channel, s.kind, s.status) for s in result.record.subscriptions] == [
        (Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)
    ]


async def test_a_refused_create_is_rejected_with_the_code_and_no_customer_data(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    existing = instore_only(sim)[0]
    assert existing.view.email
    with pytest.raises(ProviderRejected) as caught:
        await connector.create(CustomerDraft(first_name="Dup", email=existing.view.email))
    assert caught.value.provider_code == "8006"  # "Customer already exists for same source."
    assert existing.view.email not in str(caught.value)
    assert (await calls(sim))[REGISTER] == 1


async def test_update_profile_puts_the_changed_fields_in_the_source(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    part = instore_only(sim)[0]
    record_id = str(part.customer_id)
    patch = ProfilePatch(first_name="Renamed", birth_date=date(1985, 5, 17), gender=Gender.FEMALE)
    result = await connector.update_profile(record_id, patch)
    assert await calls(sim) == Counter({PUT: 1, GET: 1})
    [body] = recording.bodies("PUT", record_id)
    assert "identifiers" not in body["profiles"][0] and "loyaltyInfo" not in body
    assert result.record is not None
    assert (result.record.first_name, result.record.last_name) == ("Renamed", part.view.last_name)
    assert (result.record.birth_date, result.record.gender) == (date(1985, 5, 17), Gender.FEMALE)


async def test_an_empty_patch_sends_nothing_but_the_read(sim: Simulated, connector: CapillaryConnector) -> None:
    await connector.update_profile(str(instore_only(sim)[0].customer_id), ProfilePatch())
    assert await calls(sim) == Counter({GET: 1})


async def test_add_and_remove_an_identifier(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    part = next(p for p in instore_only(sim))
    record_id = str(part.customer_id)
    wechat = Identifier(IdentifierType.WECHAT, "wx_new_one", Provider.CAPILLARY)
    added = await connector.add_identifier(record_id, wechat)
    assert added.record is not None
    assert (IdentifierType.WECHAT, "wx_new_one") in {(i.type, i.value) for i in added.record.identifiers}
    external = Identifier(IdentifierType.EXTERNAL_ID, part.external_id, Provider.CAPILLARY)
    removed = await connector.remove_identifier(record_id, external)
    assert removed.details["removedFrom"] == "INSTORE"
    assert removed.record is not None
    assert IdentifierType.EXTERNAL_ID not in {i.type for i in removed.record.identifiers}
    assert recording.bodies("POST", "changeIdentifier") == [
        {"add": [{"type": "wechat", "value": "wx_new_one"}]},
        {"remove": [{"type": "externalId", "value": part.external_id}]},
    ]
    assert (await calls(sim))[CHANGE] == 2


async def test_an_identifier_type_capillary_has_not_is_refused_locally(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    with pytest.raises(ProviderUnsupported):
        await connector.add_identifier(
            str(instore_only(sim)[0].customer_id), Identifier(IdentifierType.USERNAME, "ada", Provider.CAPILLARY)
        )
    assert await calls(sim) == Counter()


async def test_adding_another_customers_identifier_merges_and_says_so(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    older, newer = by_age(sim)
    assert newer.view.email
    email = Identifier(IdentifierType.EMAIL, newer.view.email, Provider.CAPILLARY, source="WEBSITE")
    result = await connector.add_identifier(str(older.customer_id), email)
    assert result.details == {"warnings": "8051", "mergedInto": str(older.customer_id)}
    victim = await read(connector, str(newer.customer_id), PROFILE)
    assert (victim.record_id, victim.requested_id) == (str(older.customer_id), str(newer.customer_id))


async def test_upsert_and_remove_the_address_in_extended_fields(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    record_id = str(instore_only(sim)[0].customer_id)
    result = await connector.upsert_address(
        record_id,
        AddressInput(line1="5 Park Avenue", line2="Flat 2", city="Austin", state="TX", postcode="73301", country="US"),
    )
    assert result.record is not None and result.record.addresses is not None
    [address] = result.record.addresses
    assert (address.id, address.line1, address.city, address.state, address.postcode, address.country) == (
        mapper.ADDRESS_ID,
        "5 Park Avenue, Flat 2",
        "Austin",
        "TX",
        "73301",
        "US",
    )
    removed = await connector.remove_address(record_id, address.id or "")
    assert removed.record is not None and removed.record.addresses == ()
    upsert, blank = recording.bodies("PUT", record_id)
    assert upsert["extendedFields"] == {"city": "Austin", "state": "TX", "zip": "73301", "country_of_residence": "US"}
    assert blank["extendedFields"] == {"city": "", "state": "", "zip": "", "country_of_residence": ""}
    assert await calls(sim) == Counter({PUT: 2, GET: 2})
    with pytest.raises(ProviderNotFound):
        await connector.remove_address(record_id, "another")


async def test_subscriptions_are_written_as_mobile_and_read_back_as_sms(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    record_id = str(instore_only(sim)[0].customer_id)
    wanted = [
        SubscriptionInput(Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT),
        SubscriptionInput(Channel.PUSH, SubscriptionKind.TRANSACTIONAL, SubscriptionStatus.OPT_IN),
        SubscriptionInput(Channel.EMAIL, SubscriptionKind.TRANSACTIONAL, SubscriptionStatus.OPT_IN),
    ]
    result = await connector.set_subscriptions(record_id, wanted)
    [body] = recording.bodies("POST", "/subscriptions")
    assert [(s["channel"], s["priority"], s["type"]) for s in body["subscriptions"]] == [
        ("MOBILE", "BULK", "OPTOUT"),
        ("ANDROID", "TRANS", "OPTIN"),
        ("IOS", "TRANS", "OPTIN"),
        ("EMAIL", "TRANS", "OPTIN"),
    ]
    assert result.record is not None and result.record.subscriptions is not None
    held = {(s.channel, s.kind): s.status for s in result.record.subscriptions}
    assert held[(Channel.SMS, SubscriptionKind.MARKETING)] is SubscriptionStatus.OPT_OUT
    assert held[(Channel.PUSH, SubscriptionKind.TRANSACTIONAL)] is SubscriptionStatus.OPT_IN
    assert held[(Channel.EMAIL, SubscriptionKind.TRANSACTIONAL)] is SubscriptionStatus.OPT_IN
    assert await calls(sim) == Counter({SUBSCRIBE: 1, GET: 1})


async def test_whatsapp_is_not_a_capillary_channel(sim: Simulated, connector: CapillaryConnector) -> None:
    with pytest.raises(ProviderUnsupported):
        await connector.set_subscriptions(
            str(instore_only(sim)[0].customer_id),
            [SubscriptionInput(Channel.WHATSAPP, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_IN)],
        )
    assert await calls(sim) == Counter()


async def test_enrolment_goes_in_an_update_body(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    part = next(p for p in instore_only(sim) if {b.program_id for b in p.programs} == {1016})
    record_id = str(part.customer_id)
    result = await connector.enroll_in_loyalty_program(record_id, "1017")
    [body] = recording.bodies("PUT", record_id)
    assert body["loyaltyProgramEnrollments"] == [{"programId": 1017, "tierNumber": 1, "loyaltyPoints": 0}]
    assert body["loyaltyInfo"] == {"loyaltyType": "loyalty"}
    assert result.record is not None and result.record.loyalty_programs is not None
    assert {p.program_id for p in result.record.loyalty_programs} == {"1016", "1017"}
    with pytest.raises(ProviderRejected) as caught:
        await connector.enroll_in_loyalty_program(record_id, "4242")
    assert caught.value.provider_code == "1023"
    with pytest.raises(ProviderRejected):
        await connector.enroll_in_loyalty_program(record_id, "not-a-number")
    assert await calls(sim) == Counter({PUT: 2, GET: 1})


async def test_merge_adds_the_victims_identifier_to_the_survivor(
    sim: Simulated, connector: CapillaryConnector, recording: Recording
) -> None:
    survivor, victim = by_age(sim)
    result = await connector.merge(str(survivor.customer_id), str(victim.customer_id))
    assert (result.survivor_id, result.victim_id, result.operation) == (
        str(survivor.customer_id),
        str(victim.customer_id),
        "changeIdentifier",
    )
    [change] = [r for r in recording.requests if r.url.path.endswith("changeIdentifier")]
    assert change.url.path.endswith(f"/{survivor.customer_id}/changeIdentifier")
    # Both are INSTORE customers: the victim's e-mail goes into another source of the survivor.
    assert change.url.params["source"] == "WEBSITE"
    assert json.loads(change.content) == {"add": [{"type": "email", "value": victim.view.email}]}
    record = await read(connector, str(victim.customer_id), PROFILE)
    assert (record.record_id, record.requested_id) == (str(survivor.customer_id), str(victim.customer_id))
    emails = {i.value for i in record.identifiers if i.type is IdentifierType.EMAIL}
    assert {survivor.view.email, victim.view.email} <= emails


async def test_capillary_keeps_the_older_account_and_the_merge_result_says_so(
    sim: Simulated, connector: CapillaryConnector
) -> None:
    older, newer = by_age(sim)
    result = await connector.merge(str(newer.customer_id), str(older.customer_id))
    assert (result.survivor_id, result.victim_id) == (str(older.customer_id), str(newer.customer_id))


async def test_merging_an_already_merged_victim_again_is_done(sim: Simulated, connector: CapillaryConnector) -> None:
    victim, survivor = victim_and_survivor(sim)
    result = await connector.merge(survivor, victim)
    assert (result.survivor_id, result.victim_id, result.operation) == (survivor, victim, "already merged")
    assert (await calls(sim))[CHANGE] == 0


async def test_status_and_erase_are_unsupported_without_a_call(sim: Simulated, connector: CapillaryConnector) -> None:
    record_id = str(instore_only(sim)[0].customer_id)
    with pytest.raises(ProviderUnsupported):
        await connector.set_status(record_id, False)
    with pytest.raises(ProviderUnsupported):
        await connector.erase(record_id)
    assert await calls(sim) == Counter()


# -- auth -------------------------------------------------------------------------------------------------


async def test_basic_auth_with_a_till_and_md5_password(sim: Simulated) -> None:
    connector = sim.connector(POLICY, TillCredentials("demo.till", "demo-password"))
    try:
        record = await read(connector, str(parts(sim.dataset)[0].customer_id), PROFILE)
        assert record.record_id
        assert (await sim.control.get("/__sim/stats")).json()["tokens_issued"] == {}
    finally:
        await connector.aclose()
    wrong = sim.connector(POLICY, TillCredentials("demo.till", "wrong"))
    readonly = sim.connector(POLICY, TillCredentials("readonly.till", "demo-password"))
    try:
        [slot] = await wrong.get_records([str(parts(sim.dataset)[0].customer_id)], PROFILE)
        assert isinstance(slot, ProviderAuthError)
        with pytest.raises(ProviderAuthError):  # 403: the till has no write access
            await readonly.create(new_customer())
    finally:
        await wrong.aclose()
        await readonly.aclose()


async def test_oauth_refreshes_before_expiry_without_a_refused_call(sim: Simulated) -> None:
    now = [1000.0]
    auth = CapillaryOAuth(BASE_URL, OAUTH, clock=lambda: now[0])
    record_id = str(parts(sim.dataset)[0].customer_id)
    async with httpx.AsyncClient(transport=sim.transport, base_url=BASE_URL, auth=auth) as client:
        assert (await client.get(f"/v2/customers/{record_id}", params={"source": "ALL"})).status_code == 200
        now[0] += 290  # inside the refresh margin of the 300 s token
        assert (await client.get(f"/v2/customers/{record_id}", params={"source": "ALL"})).status_code == 200
    stats = (await sim.control.get("/__sim/stats")).json()
    assert stats["tokens_issued"]["access"] == 2
    assert stats["calls"][GET] == 2  # no call was refused and replayed


async def test_wrong_oauth_secret_is_an_auth_error(sim: Simulated) -> None:
    connector = sim.connector(POLICY, OAuthCredentials("demo-key", "nope"))
    try:
        [slot] = await connector.get_records([str(parts(sim.dataset)[0].customer_id)], PROFILE)
        assert isinstance(slot, ProviderAuthError)
    finally:
        await connector.aclose()


# -- error rules ------------------------------------------------------------------------------------------


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def _errors(code: int) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": "text that must not leak"}], "warnings": []}


def test_classifier_reads_capillarys_error_codes() -> None:
    op = "op"
    assert classify(_response(200, {"id": 1}), op) is None
    assert isinstance(classify(_response(404, _errors(8069)), op), MergedAccount)
    for code in (8015, 8065):
        error = classify(_response(404, _errors(code)), op)
        assert isinstance(error, ProviderNotFound) and not isinstance(error, MergedAccount)
    rejected = classify(_response(400, _errors(1046)), op)
    assert isinstance(rejected, ProviderRejected) and rejected.provider_code == "1046"
    assert "leak" not in str(rejected)
    assert isinstance(classify(_response(401, _errors(401)), op), ProviderAuthError)
    assert isinstance(classify(_response(403, _errors(403)), op), ProviderAuthError)
    limited = classify(_response(429, _errors(429), {"Retry-After": "17"}), op)
    assert isinstance(limited, ProviderRateLimited) and limited.retry_after == 17
    for status in (500, 521):
        assert isinstance(classify(_response(status, _errors(status)), op), ProviderUnavailable)
    assert isinstance(classify(httpx.Response(404, content=b"<html>"), op), ProviderNotFound)


def test_http_201_means_the_request_failed() -> None:
    with_code = classify(_response(201, _errors(1024)), "create")
    assert isinstance(with_code, ProviderRejected) and with_code.provider_code == "1024"
    bare = classify(_response(201, {"createdId": 5, "warnings": []}), "create")
    assert isinstance(bare, ProviderRejected) and bare.status == 201
    assert isinstance(classify(_response(201, _errors(8015)), "update"), ProviderNotFound)


async def test_a_201_create_raises_and_is_not_retried() -> None:
    seen: list[str] = []

    async def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return _response(201, _errors(10001))

    connector = CapillaryConnector(
        CapillaryConfig("http://capillary.test", TillCredentials("t", "p")),
        POLICY,
        transport=httpx.MockTransport(provider),
    )
    try:
        with pytest.raises(ProviderRejected) as caught:
            await connector.create(new_customer())
        assert caught.value.provider_code == "10001"
        assert seen == ["/v2/customers"]
    finally:
        await connector.aclose()


# -- mappers: golden files from the documents' samples -----------------------------------------------------


def test_golden_customer_with_every_embed() -> None:
    wire = CustomerWire.model_validate(load_fixture("capillary_customer"))
    assert_golden("capillary_customer", mapper.record_from_wire(wire, facets=ALL, fetched_at=NOW))


def test_golden_customer_with_several_sources() -> None:
    wire = CustomerWire.model_validate(load_fixture("capillary_customer_multi_source"))
    record = mapper.record_from_wire(
        wire,
        facets=ALL,
        fetched_at=NOW,
        prefer_source="INSTORE",
        address_line_field="customer_address",
        program_names={"default": "Main"},
    )
    assert_golden("capillary_customer_multi_source", record)


def test_golden_search_hits() -> None:
    wire = SearchResponse.model_validate(load_fixture("capillary_search"))
    assert_golden("capillary_search", [mapper.search_hit_from_wire(h, fetched_at=NOW) for h in wire.data])


def test_golden_loyalty_details() -> None:
    wire = LoyaltyDetailsResponse.model_validate(load_fixture("capillary_loyalty_details"))
    assert_golden("capillary_loyalty_details", mapper.programs_from_wire(wire.data, {"1219": "Gold Club"}))


def test_golden_subscriptions() -> None:
    wire = SubscriptionsResponse.model_validate(load_fixture("capillary_subscriptions_update"))
    assert_golden("capillary_subscriptions_update", mapper.subscriptions_from_wire(wire.subscriptions))


def test_golden_merge_and_combine_warnings() -> None:
    change = ChangeIdentifierResponse.model_validate(load_fixture("capillary_change_identifier_merge"))
    register = RegisterResponse.model_validate(load_fixture("capillary_register_combined"))
    assert_golden(
        "capillary_change_identifier_merge",
        {"survivor": mapper.survivor_from_warnings(change.warnings), "codes": mapper.warning_codes(change.warnings)},
    )
    assert_golden(
        "capillary_register_combined",
        {
            "createdId": register.created_id,
            "codes": mapper.warning_codes(register.warnings),
            "survivor": mapper.survivor_from_warnings(register.warnings),
        },
    )


def test_golden_outgoing_bodies() -> None:
    draft = CustomerDraft(
        first_name="Tom",
        last_name="Sawyer",
        email="Tom.Sawyer@example.com",
        mobile="+919804542631",
        external_id="879577211225",
        birth_date=date(2000, 10, 22),
        gender=Gender.MALE,
        address=AddressInput(line1="abc123", city="Bangalore", state="KA", postcode="560001", country="IN"),
    )
    subscriptions = [
        SubscriptionInput(Channel.EMAIL, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT),
        SubscriptionInput(Channel.SMS, SubscriptionKind.TRANSACTIONAL, SubscriptionStatus.OPT_IN),
    ]
    assert_golden(
        "capillary_out_bodies",
        {
            "register": mapper.register_body(
                draft,
                source="WECHAT",
                account_id="22232",
                loyalty_type="loyalty",
                address_line_field="customer_address",
            ),
            "update": mapper.update_body(
                ProfilePatch(first_name="Tom", last_name=None, gender=Gender.MALE), source="INSTORE", account_id=None
            ),
            "address": mapper.address_body(
                AddressInput(city="Bangalore"), source="INSTORE", account_id=None, line_field=None
            ),
            "enrol": mapper.enrollment_body(1016, source="INSTORE", account_id=None),
            "subscriptions": mapper.subscriptions_body(subscriptions, "customer-graph"),
            "changeIdentifier": mapper.change_identifier_body(
                add=[mapper.identifier_to_wire(IdentifierType.MOBILE, "+919111111111") or {}],
                remove=[mapper.identifier_to_wire(IdentifierType.EMAIL, "tom.sawyer@example.com") or {}],
            ),
        },
    )


def test_merge_plan_avoids_the_victims_own_source() -> None:
    def customer(cid: int, *profiles: tuple[str, list[tuple[str, str]]]) -> CustomerWire:
        return CustomerWire.model_validate(
            {
                "id": cid,
                "profiles": [
                    {"source": source, "identifiers": [{"type": t, "value": v} for t, v in ids]}
                    for source, ids in profiles
                ],
            }
        )

    survivor = customer(1, ("INSTORE", [("email", "a@example.com")]), ("WECHAT", [("wechat", "wx_a")]))
    victim = customer(
        2, ("INSTORE", [("email", "b@example.com"), ("mobile", "919804542631")]), ("WECHAT", [("wechat", "wx_b")])
    )
    # The survivor's WECHAT profile has no e-mail yet and the victim's e-mail is not in WECHAT.
    assert mapper.merge_plan(survivor, victim, ("WEBSITE", "")) == (
        "WECHAT",
        "",
        {"type": "email", "value": "b@example.com"},
    )
    only_instore = customer(3, ("INSTORE", [("email", "a@example.com"), ("mobile", "919111111111")]))
    assert mapper.merge_plan(only_instore, victim, ("WEBSITE", "")) == (
        "WEBSITE",
        "",
        {"type": "email", "value": "b@example.com"},
    )
    assert mapper.merge_plan(only_instore, customer(4), ("WEBSITE", "")) is None
