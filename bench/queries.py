"""The benchmark's queries, the data they run on, and the fewest provider calls each can cost.

Dataset: ``customer-graph simulate --seed 42 --customers 1700``. At that size, a last-name search gives a
complete page of 46-48 persons (``hasNextPage: false``), so every search hit is on the page and the minimum
below is exact.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from customer_graph.simulators.dataset import Dataset, Person

SEED = 42
CUSTOMERS = 1700
SEARCH_TERMS = ("Thomas", "Williams", "Lee", "Hall")
PAGE = 50

EVERYTHING = """
  id firstName lastName displayName birthDate gender status
  identifiers { type value provider source }
  addresses { provider city postcode country }
  subscriptions { provider channel kind status }
  loyaltyPrograms { provider name points tier nextTier }
  records { provider recordId source fetchedAt }
  conflicts { field values { provider value } }
"""
Q1 = "query($v: String!) { customerByIdentifier(type: EMAIL, value: $v) { %s } }" % EVERYTHING
Q2 = (
    """query($s: String!) { customers(search: $s, first: %d) {
  totalCount pageInfo { hasNextPage }
  edges { node { id displayName
    identifiers { type value provider }
    addresses { provider line1 city postcode country }
    subscriptions { provider channel kind status }
    loyaltyPrograms { provider name points tier }
    records { provider recordId } } } } }"""
    % PAGE
)
Q3 = "{ providers { name } }"
Q4 = """mutation($id: ID!, $patch: CustomerPatch!, $key: String) {
  updateCustomer(id: $id, patch: $patch, idempotencyKey: $key) {
    customer { id firstName } outcomes { provider status } userErrors { code } } }"""
INTROSPECT_MUTATIONS = "{ __schema { mutationType { fields { name args { name } } } } }"

PROVIDERS = ("CAPILLARY", "MARTJACK", "OPEN_LOYALTY", "TWC")

# Q1 for a person in all four providers under one e-mail, looked up by that e-mail.
# Unknown to the crosswalk: each provider's lookup, then what that lookup's answer lacks (which needs its id).
Q1_COLD_MINIMUM = {
    "CAPILLARY": 2,  # GET /v2/customers/lookup (answers the id) + GET /v2/customers/{id}?embed=...
    "MARTJACK": 2,  # POST Customer/{m}/Search (answers whole customers) + GetShippingAddress/{m}/{UserId}
    "OPEN_LOYALTY": 2,  # GET admin/customer?email=&strict=1 (customer, address, consents) + .../{id}/status
    "TWC": 1,  # GET /api/v2/customers/search?email= (answers the whole customer)
}
# Known to the crosswalk: one read of each linked record, with the facets the query asks for.
Q1_WARM_MINIMUM = {
    "CAPILLARY": 1,  # GET /v2/customers/{id}?embed=...
    "MARTJACK": 2,  # GET Customer/{m}/{UserId} + GetShippingAddress (no endpoint answers both)
    "OPEN_LOYALTY": 2,  # GET customer/{id} + admin/customer/{id}/status
    "TWC": 1,  # GET /api/v2/customers/{id}
}
# Sequential provider round trips the providers' APIs force (each round's calls can all be in flight at once).
CRITICAL_ROUNDS = {"q1_cold": 2, "q1_warm": 1, "q2": 2}


def q2_minimum(hits: Counter[str]) -> dict[str, int]:
    """A search page with every facet (tests/graph/test_search_batching.py says why): Capillary, Martjack and
    Open Loyalty one search plus one read per hit; TWC one search by first name and one by last name."""
    return {
        "CAPILLARY": 1 + hits["CAPILLARY"],
        "MARTJACK": 1 + hits["MARTJACK"],
        "OPEN_LOYALTY": 1 + hits["OPEN_LOYALTY"],
        "TWC": 2,
    }


def first_round(provider: str, method: str, path: str) -> bool:
    """Calls that need only the query's input (lookups and searches): a record read after them needs an id
    they answer, so it belongs to the next round."""
    if provider == "capillary":
        return path.startswith("/capillary/v2/customers/lookup") or path.startswith("/capillary/v2/customers/search")
    if provider == "martjack":
        return method == "POST" and path.endswith("/Search")
    if provider == "openloyalty":
        return path.endswith("/admin/customer")
    return path.startswith("/twc/api/v2/customers/search")


def is_token_call(path: str) -> bool:
    return any(word in path for word in ("token", "Token", "login_check"))


def eligible(person: Person) -> bool:
    """In all four providers, each holding the person's e-mail (Martjack as the user name too), no merge
    victims: the Q1 minimum above is exact for these."""
    if len(person.providers) != 4 or person.capillary is None or person.capillary.victims:
        return False
    assert person.martjack and person.openloyalty and person.twc
    views = (person.capillary.view, person.martjack.view, person.openloyalty.view, person.twc.view)
    return (
        all(v.email is not None and v.email.strip().lower() == person.email for v in views)
        and person.martjack.user_name.strip().lower() == person.email
    )


@dataclass(frozen=True)
class Emails:
    probe: str  # the minimum-calls pass and the critical-path recording
    warm: tuple[str, ...]  # looked up again and again: known to the crosswalk after the first time
    cold_closed: tuple[str, ...]  # each looked up once per gateway process, in the closed loop
    cold_open: tuple[str, ...]  # and in the open loop


def emails(dataset: Dataset) -> Emails:
    pool = [p.email for p in dataset.persons if eligible(p)]
    random.Random(SEED).shuffle(pool)
    probe, warm, rest = pool[0], tuple(pool[1:17]), pool[17:]
    half = len(rest) // 2
    return Emails(probe, warm, tuple(rest[:half]), tuple(rest[half:]))


def body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"query": query, "variables": variables or {}})


def cycle(bodies: Sequence[bytes]) -> Iterator[bytes]:
    while True:
        yield from bodies
