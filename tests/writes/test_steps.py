"""Journal arguments of a profile patch: what the plan records must come back as the same patch after a
restart, an address patch included (parts left out stay left out; a part cleared stays cleared)."""

from __future__ import annotations

from datetime import date

import orjson

from customer_graph.domain.models import UNSET, AddressPatch, Gender, ProfilePatch
from customer_graph.writes.steps import decode_patch, encode_patch


def through_the_journal(patch: ProfilePatch) -> ProfilePatch:
    return decode_patch(orjson.loads(orjson.dumps(encode_patch(patch))))


def test_a_patch_survives_the_journal() -> None:
    patch = ProfilePatch(first_name="Kate", birth_date=None, gender=Gender.FEMALE)
    assert through_the_journal(patch) == patch
    assert through_the_journal(ProfilePatch(birth_date=date(1990, 12, 10))).birth_date == date(1990, 12, 10)


def test_an_address_patch_survives_the_journal_with_only_its_parts() -> None:
    patch = ProfilePatch(last_name="Lovelace", address=AddressPatch(city="Leeds", postcode=None))
    encoded = encode_patch(patch)
    assert encoded == {"last_name": "Lovelace", "address": {"city": "Leeds", "postcode": None}}
    again = through_the_journal(patch)
    assert again == patch
    assert isinstance(again.address, AddressPatch) and again.address.line1 is UNSET
    assert again.address.changed() == {"city": "Leeds", "postcode": None}
