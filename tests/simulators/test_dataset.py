"""The seeded dataset: deterministic, overlapping the way the identity layer expects, with its traps."""

from __future__ import annotations

import phonenumbers
import pytest

from customer_graph.simulators.dataset import PROVIDERS, generate


def test_the_same_seed_gives_the_same_dataset_and_another_seed_another() -> None:
    assert generate(7, 50) == generate(7, 50)
    assert generate(7, 50).persons != generate(8, 50).persons


def test_persons_spread_over_one_to_four_providers() -> None:
    stats = generate(42, 200).stats()
    assert stats["persons"] == 200
    assert set(stats["by_provider_count"]) == {1, 2, 3, 4}
    assert all(count > 0 for count in stats["per_provider"].values())
    for trap in (
        "capillary_merge_victims",
        "capillary_multi_source",
        "capillary_two_programs",
        "name_variants",
        "stale_addresses",
    ):
        assert stats[trap] > 0, trap


def test_links_follow_the_documented_cross_ids() -> None:
    dataset = generate(42, 200)
    for person in dataset.persons:
        if person.capillary and person.martjack:
            assert person.capillary.martjack_id == person.martjack.user_id
        if person.twc and person.twc.customer_ref and person.capillary:
            assert person.twc.customer_ref == person.capillary.external_id
        if person.twc:
            assert person.twc.view.email and person.twc.view.email.strip().lower() == person.email
        if person.openloyalty and person.martjack:
            ol = phonenumbers.parse(person.openloyalty.view.mobile)
            mj = phonenumbers.parse("+" + (person.martjack.view.mobile or ""))
            assert ol == mj
    assert any(p.twc and p.twc.customer_ref for p in dataset.persons)


def test_identifiers_are_unique_and_mobiles_valid() -> None:
    dataset = generate(3, 300)
    assert len({p.email for p in dataset.persons}) == 300
    assert len({p.mobile for p in dataset.persons}) == 300
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p.mobile)) for p in dataset.persons)


def test_the_namesakes_share_a_name_and_nothing_else() -> None:
    dataset = generate(42, 200)
    a, b = (dataset.person(key) for key in dataset.namesakes)
    assert (a.first_name, a.last_name) == (b.first_name, b.last_name)
    assert a.email != b.email and a.mobile != b.mobile
    assert not set(a.providers) & set(b.providers)
    for person in (a, b):
        for provider in person.providers:
            view = getattr(person, provider).view
            assert (view.first_name, view.last_name) == (a.first_name, a.last_name)


def test_every_provider_holds_someone_alone() -> None:
    dataset = generate(42, 200)
    assert {p.providers[0] for p in dataset.persons if len(p.providers) == 1} == set(PROVIDERS)


def test_too_small_a_dataset_is_refused() -> None:
    with pytest.raises(ValueError):
        generate(1, 3)
