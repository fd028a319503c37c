"""Open Loyalty's customers and levels, in memory, seeded from the dataset's ``OpenLoyaltyPart`` records.

Every lookup key has its own index (id, lower-cased e-mail, phone key, loyalty card number) so that a lookup
is O(1) however many customers are seeded; only a text search scans. Records are replaced whole by
:meth:`OpenLoyaltyStore.put`, which keeps the indexes in step, so that a refused write never leaves a
half-changed record behind.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from customer_graph.simulators.dataset import Address, Dataset, OpenLoyaltyPart

STORE_CODE = "DEFAULT"


@dataclass(frozen=True)
class Level:
    """A loyalty level; customers climb by transactions amount (Open Loyalty's default tier assignment)."""

    level_id: str
    name: str
    percent: str  # the reward, as Open Loyalty spells it: "5.00%"
    condition_value: float  # transactions amount needed to reach the level
    polish_name: str


# The ids follow the document's examples (level0 is e82c96cf-...-4df343e50000, and "Assign a customer to a
# level" sends e82c96cf-...-4df343e52222), so the document's sample requests work as written.
LEVELS: tuple[Level, ...] = (
    Level("e82c96cf-32a3-43bd-9034-4df343e50000", "level0", "0.00%", 0, "poziom0"),
    Level("e82c96cf-32a3-43bd-9034-4df343e51111", "level1", "5.00%", 20, "poziom1"),
    Level("e82c96cf-32a3-43bd-9034-4df343e52222", "level2", "10.00%", 200, "poziom2"),
    Level("e82c96cf-32a3-43bd-9034-4df343e53333", "level3", "15.00%", 1000, "poziom3"),
)
LEVELS_BY_ID = {level.level_id: level for level in LEVELS}
LEVELS_BY_NAME = {level.name: level for level in LEVELS}


def level_for_amount(amount: float) -> Level:
    """The highest level whose condition the transactions amount meets."""
    return [level for level in LEVELS if level.condition_value <= amount][-1]


def next_level(level: Level) -> Level | None:
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


@dataclass
class Customer:
    """One customer as Open Loyalty holds it; ``None`` means the field is absent from the JSON."""

    customer_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    gender: str | None
    birth_date: date | None
    address: dict[str, str] | None  # Open Loyalty's own keys: street, address1, address2, postal, ...
    company: dict[str, str] | None  # name, nip
    loyalty_card_number: str | None
    agreement1: bool
    agreement2: bool
    agreement3: bool
    active: bool
    created_at: datetime
    updated_at: datetime
    level_id: str
    manually_assigned_level: bool = False
    labels: list[dict[str, str]] = field(default_factory=list)
    points: float = 0.0
    used_points: float = 0.0
    expired_points: float = 0.0
    transactions_count: int = 0
    transactions_amount: float = 0.0
    last_transaction_at: datetime | None = None
    version: int = 1

    @property
    def level(self) -> Level:
        return LEVELS_BY_ID[self.level_id]


def email_key(email: str | None) -> str | None:
    """E-mail addresses are unique compared lower-cased."""
    return email.strip().lower() if email else None


def phone_key(phone: str | None) -> str | None:
    """Phones are unique with the leading ``+`` ignored; spaces and dashes are formatting, not digits."""
    if not phone:
        return None
    return "".join(ch for ch in phone if ch not in " -().").lstrip("+") or None


class OpenLoyaltyStore:
    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self.customers: dict[str, Customer] = {}
        self._by_email: dict[str, str] = {}
        self._by_phone: dict[str, str] = {}
        self._by_card: dict[str, str] = {}
        self.reseed()

    def reseed(self) -> None:
        self.customers.clear()
        self._by_email.clear()
        self._by_phone.clear()
        self._by_card.clear()
        for person in self._dataset.in_provider("openloyalty"):
            assert person.openloyalty is not None
            self.put(_seeded_customer(person.openloyalty))

    # -- lookups (O(1)) ----------------------------------------------------------------------------

    def get(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    def id_by_email(self, email: str | None) -> str | None:
        key = email_key(email)
        return self._by_email.get(key) if key else None

    def id_by_phone(self, phone: str | None) -> str | None:
        key = phone_key(phone)
        return self._by_phone.get(key) if key else None

    def id_by_card(self, card: str | None) -> str | None:
        return self._by_card.get(card) if card else None

    # -- search (a scan, unless a strict filter names an indexed key) ------------------------------

    def search(
        self, text: dict[str, str], ranges: dict[str, tuple[float | None, float | None]], *, strict: bool
    ) -> list[Customer]:
        """Customers matching every filter, in insertion order.

        ``text`` maps a filter name (firstName, lastName, email, phone, loyaltyCardNumber) to a value matched
        exactly when ``strict``, else as a case-insensitive substring; e-mail compares lower-cased and phone
        by its digits (a phone search must find ``+44 7700 900123`` from ``+447700900123``). ``ranges`` maps
        transactionsAmount / averageTransactionAmount / transactionsCount to inclusive bounds.
        """
        candidates: list[Customer] | None = None
        if strict:
            for name, lookup in (
                ("email", self.id_by_email),
                ("phone", self.id_by_phone),
                ("loyaltyCardNumber", self.id_by_card),
            ):
                if name in text:
                    found = self.get(lookup(text[name]) or "")
                    candidates = [found] if found else []
                    break
        pool = self.customers.values() if candidates is None else candidates
        return [
            c
            for c in pool
            if all(_text_matches(name, value, c, strict) for name, value in text.items())
            and all(_in_range(_RANGE_VALUES[name](c), low, high) for name, (low, high) in ranges.items())
        ]

    # -- writes ------------------------------------------------------------------------------------

    def put(self, customer: Customer) -> None:
        """Insert or replace a customer (uniqueness is the caller's check: it owns the error messages)."""
        self.remove(customer.customer_id)
        self.customers[customer.customer_id] = customer
        if key := email_key(customer.email):
            self._by_email[key] = customer.customer_id
        if key := phone_key(customer.phone):
            self._by_phone[key] = customer.customer_id
        if customer.loyalty_card_number:
            self._by_card[customer.loyalty_card_number] = customer.customer_id

    def remove(self, customer_id: str) -> bool:
        old = self.customers.pop(customer_id, None)
        if old is None:
            return False
        for index, key in (
            (self._by_email, email_key(old.email)),
            (self._by_phone, phone_key(old.phone)),
            (self._by_card, old.loyalty_card_number),
        ):
            if key and index.get(key) == customer_id:
                del index[key]
        return True


def ol_address(address: Address) -> dict[str, str]:
    """The dataset's ``line1`` is "<number> <street>": Open Loyalty keeps the building number apart."""
    number, _, street = address.line1.partition(" ")
    fields = {
        "street": street,
        "address1": number,
        "address2": address.line2,
        "postal": address.postcode,
        "city": address.city,
        "province": address.state,
        "country": address.country,
    }
    return {key: value for key, value in fields.items() if value}


def _seeded_customer(part: OpenLoyaltyPart) -> Customer:
    view = part.view
    level = LEVELS_BY_NAME[part.level_name]
    upper = next_level(level)
    # Transactions are not in the dataset; derive them from the customer id (itself seeded) so that they are
    # stable per seed and consistent with the level: the amount lies within the level's band.
    rng = random.Random(f"openloyalty:{part.customer_id}")
    ceiling = upper.condition_value if upper else level.condition_value * 3
    amount = round(rng.uniform(level.condition_value, ceiling - 0.01), 2)
    count = rng.randint(1, 12) if amount else 0
    created = view.registered_at or datetime(2018, 1, 1, tzinfo=UTC)
    last_transaction = created + timedelta(days=rng.randrange(1, 900)) if count else None
    used = float(rng.randrange(0, 400)) if part.points else 0.0
    expired = float(rng.randrange(0, 100)) if part.points else 0.0
    return Customer(
        customer_id=part.customer_id,
        first_name=view.first_name,
        last_name=view.last_name,
        email=view.email,
        phone=view.mobile,
        gender=view.gender,
        birth_date=view.birth_date,
        address=ol_address(view.address) if view.address else None,
        company=None,
        loyalty_card_number=part.loyalty_card_number,
        agreement1=True,
        agreement2=part.marketing_email,
        agreement3=part.marketing_sms,
        active=part.active,
        created_at=created,
        updated_at=max(created, last_transaction or created),
        level_id=level.level_id,
        points=part.points,
        used_points=used,
        expired_points=expired,
        transactions_count=count,
        transactions_amount=amount,
        last_transaction_at=last_transaction,
    )


_TEXT_VALUES: dict[str, Callable[[Customer], str | None]] = {
    "firstName": lambda c: c.first_name,
    "lastName": lambda c: c.last_name,
    "email": lambda c: c.email,
    "phone": lambda c: c.phone,
    "loyaltyCardNumber": lambda c: c.loyalty_card_number,
}
_RANGE_VALUES: dict[str, Callable[[Customer], float]] = {
    "transactionsAmount": lambda c: c.transactions_amount,
    "averageTransactionAmount": lambda c: average_transaction_amount(c),  # defined below
    "transactionsCount": lambda c: float(c.transactions_count),
}
TEXT_FILTERS = tuple(_TEXT_VALUES)
RANGE_FILTERS = tuple(_RANGE_VALUES)


def average_transaction_amount(customer: Customer) -> float:
    if not customer.transactions_count:
        return 0.0
    return round(customer.transactions_amount / customer.transactions_count, 2)


def _text_matches(name: str, needle: str, customer: Customer, strict: bool) -> bool:
    value: str | None = _TEXT_VALUES[name](customer)
    if value is None:
        return False
    if name == "phone":
        have, want = phone_key(value) or "", phone_key(needle) or ""
        return have == want if strict else want in have
    if name == "email":
        return (email_key(value) == email_key(needle)) if strict else needle.strip().lower() in value.lower()
    return value == needle if strict else needle.lower() in value.lower()


def _in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)
