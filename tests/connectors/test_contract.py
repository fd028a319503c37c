"""The contract every connector must pass against its simulator, counting traffic with ``/__sim/stats``."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator

import pytest

from customer_graph.connectors.base import Connector, Operation, Support
from customer_graph.connectors.errors import (
    CircuitOpen,
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnsupported,
)
from customer_graph.connectors.http import CircuitState, Policy
from customer_graph.domain.models import Facet, ProviderRecord
from tests.connectors.contract import Harness

PROVIDERS = ["capillary", "martjack", "openloyalty", "twc"]
ALL_FACETS = frozenset(Facet)
PROFILE = frozenset({Facet.PROFILE})
FAST = Policy(deadline=2.0, max_retries=2, backoff_base=0.01, backoff_max=0.05, breaker_failure_threshold=50)


async def open_harness(provider: str, policy: Policy) -> Harness:
    module = importlib.import_module(f"tests.connectors.harness_{provider}")
    harness: Harness = await module.build_harness(policy)
    return harness


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def harness(provider: str) -> AsyncIterator[Harness]:
    h = await open_harness(provider, FAST)
    yield h
    await h.close()


async def test_connector_satisfies_the_protocol_and_declares_every_operation(harness: Harness) -> None:
    connector = harness.connector
    assert isinstance(connector, Connector)
    assert set(connector.capabilities) == set(Operation)
    assert set(connector.capabilities.values()) <= set(Support)


async def test_unsupported_operations_raise_unsupported(harness: Harness) -> None:
    connector = harness.connector
    record_id = harness.known_ids[0]
    calls = {
        Operation.REMOVE_ADDRESS: lambda: connector.remove_address(record_id, "1"),
        Operation.ENROLL_LOYALTY: lambda: connector.enroll_in_loyalty_program(record_id, "1"),
        Operation.ERASE: lambda: connector.erase(record_id),
        Operation.MERGE: lambda: connector.merge(record_id, harness.known_ids[1]),
    }
    before = await harness.calls()
    for operation, call in calls.items():
        if connector.capabilities[operation] is Support.UNSUPPORTED:
            with pytest.raises(ProviderUnsupported):
                await call()
    assert await harness.calls() == before  # refused locally: the provider saw nothing


async def test_batch_get_matches_found_and_missing_keys_by_value(harness: Harness) -> None:
    known, missing = harness.known_ids[:3], harness.missing_ids[:2]
    keys = [known[2], missing[0], known[0], missing[1], known[1], known[0]]
    slots = await harness.connector.get_records(keys, ALL_FACETS)
    assert len(slots) == len(keys)
    for key, slot in zip(keys, slots, strict=True):
        if key in missing:
            assert isinstance(slot, ProviderNotFound), (key, slot)
        else:
            assert isinstance(slot, ProviderRecord), (key, slot)
            assert key in (slot.record_id, slot.requested_id)
            assert slot.provider is harness.connector.provider


async def test_lookup_by_every_supported_identifier_type(harness: Harness) -> None:
    connector = harness.connector
    assert {key.type for key, _ in harness.lookups} == set(connector.lookup_types)
    keys = [key for key, _ in harness.lookups]
    slots = await connector.find_by_identifiers(keys, PROFILE)
    for (key, expected), slot in zip(harness.lookups, slots, strict=True):
        assert isinstance(slot, ProviderRecord), (key, slot)
        assert slot.record_id == expected, key
        assert any(i.type is key.type and i.value == key.value for i in slot.identifiers), key
    nobody = [type(k)(k.type, "zz-nobody-" + k.value) for k in keys[:1]]
    assert await connector.find_by_identifiers(nobody, PROFILE) == [None]


async def test_search_paginates_over_three_pages(harness: Harness) -> None:
    size = harness.search_page_size
    pages = [await harness.connector.search(harness.search_text, offset, size) for offset in (0, size, 2 * size)]
    ids = [record.record_id for page in pages for record in page.records]
    assert len(pages[0].records) == len(pages[1].records) == size
    assert len(pages[2].records) >= 1
    assert len(ids) == len(set(ids)), "pages overlap"
    totals = {page.total for page in pages}
    assert len(totals) == 1
    total = totals.pop()
    assert total is None or total >= 2 * size + len(pages[2].records)


async def test_expired_token_under_fifty_concurrent_calls_is_refreshed_exactly_once(harness: Harness) -> None:
    key = harness.known_ids[0]
    await harness.connector.get_records([key], PROFILE)  # holds a token now
    issued = await harness.tokens_issued()
    (await harness.control.post("/__sim/tokens/expire")).raise_for_status()
    results = await asyncio.gather(*(harness.connector.get_records([key], PROFILE) for _ in range(50)))
    assert all(isinstance(slots[0], ProviderRecord) for slots in results)
    assert await harness.tokens_issued() == issued + 1


async def test_429_becomes_rate_limited_with_retry_after(provider: str) -> None:
    harness = await open_harness(provider, Policy(deadline=1.0, max_retries=2))
    try:
        await harness.connector.get_records(harness.known_ids[:1], PROFILE)  # warm the token
        await harness.fault(rate_limit_per_minute=1)
        await harness.connector.get_records(harness.known_ids[:1], PROFILE)
        started = time.perf_counter()
        [slot] = await harness.connector.get_records(harness.known_ids[:1], PROFILE)
        assert isinstance(slot, ProviderRateLimited)
        assert slot.retry_after is not None and slot.retry_after >= 1
        # Retry-After (about a minute) lies past the 1 s deadline: fail at once rather than wait it out.
        assert time.perf_counter() - started < 0.5
    finally:
        await harness.close()


async def test_the_limiter_never_lets_the_provider_see_more_than_its_limit(provider: str) -> None:
    limit = 6
    harness = await open_harness(provider, Policy(deadline=1.5, max_retries=0, rate_limit_per_minute=limit))
    try:
        (await harness.control.post("/__sim/config", json={"rate_limit_per_minute": limit})).raise_for_status()
        # Tokens first, outside the measured window; the limiter's bucket is shared by what follows.
        results = await asyncio.gather(
            *(harness.connector.get_records(harness.known_ids[:1], PROFILE) for _ in range(3 * limit))
        )
        slots = [slots[0] for slots in results]
        assert not any(isinstance(s, ProviderRateLimited) for s in slots), "the provider had to refuse us"
        assert any(isinstance(s, ProviderRecord) for s in slots)
        assert all(isinstance(s, ProviderRecord | ProviderTimeout) for s in slots)
        assert (await harness.stats())["total"] <= limit
    finally:
        await harness.close()


async def test_5xx_reads_are_retried_then_unavailable_and_creates_are_not_retried(harness: Harness) -> None:
    await harness.connector.get_records(harness.known_ids[:1], PROFILE)
    await harness.clear()
    await harness.fault(error_rate=1.0, error_status=503)
    [slot] = await harness.connector.get_records(harness.known_ids[:1], PROFILE)
    assert isinstance(slot, ProviderUnavailable)
    reads = await harness.calls()
    assert reads == FAST.max_retries + 1
    with pytest.raises(ProviderError) as caught:
        await harness.connector.create(harness.new_customer())
    assert isinstance(caught.value, ProviderUnavailable)
    assert await harness.calls() == reads + 1


async def test_a_hanging_provider_times_out_within_the_deadline(provider: str) -> None:
    deadline = 0.5
    harness = await open_harness(provider, Policy(deadline=deadline, max_retries=2))
    try:
        await harness.connector.get_records(harness.known_ids[:1], PROFILE)
        await harness.fault(hang=True)
        started = time.perf_counter()
        [slot] = await harness.connector.get_records(harness.known_ids[:1], PROFILE)
        elapsed = time.perf_counter() - started
        assert isinstance(slot, ProviderTimeout)
        assert elapsed < deadline + 0.2
    finally:
        await harness.close()


async def test_a_malformed_body_is_a_protocol_error(harness: Harness) -> None:
    await harness.connector.get_records(harness.known_ids[:1], PROFILE)
    await harness.fault(malformed=True)
    [slot] = await harness.connector.get_records(harness.known_ids[:1], PROFILE)
    assert isinstance(slot, ProviderProtocolError)


async def test_the_circuit_opens_fails_fast_and_recovers(provider: str) -> None:
    policy = Policy(deadline=1.0, max_retries=0, breaker_failure_threshold=3, breaker_open_seconds=0.3)
    harness = await open_harness(provider, policy)
    try:
        key = harness.known_ids[:1]
        await harness.connector.get_records(key, PROFILE)
        await harness.fault(error_rate=1.0, error_status=500)
        for _ in range(3):
            [slot] = await harness.connector.get_records(key, PROFILE)
            assert isinstance(slot, ProviderUnavailable) and not isinstance(slot, CircuitOpen)
        seen = (await harness.stats())["total"]
        [slot] = await harness.connector.get_records(key, PROFILE)
        assert isinstance(slot, CircuitOpen)
        assert (await harness.stats())["total"] == seen  # failed fast, nothing sent
        await harness.control.delete("/__sim/faults")
        await asyncio.sleep(0.35)
        [slot] = await harness.connector.get_records(key, PROFILE)
        assert isinstance(slot, ProviderRecord)
        assert harness.connector.http.breaker.state is CircuitState.CLOSED  # type: ignore[attr-defined]
    finally:
        await harness.close()
