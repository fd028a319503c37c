"""Domain values survive a trip through JSON (the journal and stored responses depend on it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson

from customer_graph.domain.codec import decode, encode
from customer_graph.domain.models import (
    Address,
    Channel,
    CustomerStatus,
    Facet,
    Gender,
    Identifier,
    IdentifierType,
    LoyaltyProgram,
    Provider,
    ProviderRecord,
    Subscription,
    SubscriptionKind,
    SubscriptionStatus,
)


def test_a_full_record_round_trips_through_json() -> None:
    record = ProviderRecord(
        provider=Provider.CAPILLARY,
        record_id="300000001",
        fetched_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        facets=frozenset({Facet.PROFILE, Facet.LOYALTY}),
        first_name="Jane",
        last_name=None,
        birth_date=date(1990, 5, 6),
        gender=Gender.FEMALE,
        status=CustomerStatus.ACTIVE,
        identifiers=(Identifier(IdentifierType.EMAIL, "jane@example.com", Provider.CAPILLARY, "INSTORE"),),
        addresses=(Address(Provider.CAPILLARY, None, city="Leeds"),),
        subscriptions=(
            Subscription(Provider.CAPILLARY, Channel.SMS, SubscriptionKind.MARKETING, SubscriptionStatus.OPT_OUT),
        ),
        loyalty_programs=(
            LoyaltyProgram(
                Provider.CAPILLARY, "1016", "DemoProgram", 10.5, tier="Gold", points_expiry=date(2027, 1, 1)
            ),
        ),
    )
    text = orjson.dumps(encode(record))
    assert decode(ProviderRecord, orjson.loads(text)) == record


def test_absent_facets_stay_absent() -> None:
    record = ProviderRecord(Provider.TWC, "a", datetime(2026, 1, 1, tzinfo=UTC))
    assert decode(ProviderRecord, encode(record)) == record
    assert decode(ProviderRecord, encode(record)).addresses is None
