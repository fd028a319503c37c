"""TWC's customers in memory: seeded from the dataset, indexed by every identifier, soft-deleted.

Uniqueness (twc-customer-api.md, Representations; providers/README.md, TWC): ``email`` (compared
trimmed and case-insensitively), ``customerRef`` and ``alternateCustomerRef`` when present, and
``mobile`` and ``phone``, which the document's field list also calls unique ("Attempting to assign the
same phone number to multiple customers returns an error"); phone numbers compare by their digits, so
``+44 7700 900123`` and ``447700900123`` are the same number.

Deletion only marks a customer deleted (Delete Customer by ID: "marks the customer as deleted"): the
record stays, so it is never found again, and its identifiers stay taken. A deleted customer's e-mail or
customerRef can not be given to another customer; the document says nothing of freeing them, and a
record that is only marked keeps its unique values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable

from customer_graph.simulators.dataset import Address as DatasetAddress
from customer_graph.simulators.dataset import Dataset, Person
from customer_graph.simulators.twc import wire
from customer_graph.simulators.twc.wire import Address, CustomerIn

# The fields that must be unique, in the order a conflict is reported.
UNIQUE_FIELDS = ("email", "customerRef", "alternateCustomerRef", "mobile", "phone")
SEARCH_FIELDS = ("email", "mobile", "phone", "firstName", "lastName")

_COUNTRY_NAMES = {
    "GB": "United Kingdom",
    "IN": "India",
    "AU": "Australia",
    "PL": "Poland",
    "US": "United States",
}
_NON_DIGITS = re.compile(r"\D")
_ADDRESS_IDS = uuid.UUID("6f1c2a52-7d1e-4c43-9a53-0c1f1d7a2b10")


class Customer(CustomerIn):
    """A stored customer: the last accepted body plus what the server owns."""

    id: str
    createdDate: str
    lastModifiedDate: str
    deleted: bool = False

    def wire(self) -> dict[str, object]:
        """The response JSON: nulls are left out, as in the document's samples; ``deleted`` is internal."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"deleted"})


def unique_key(field: str, value: str | None) -> str | None:
    """The value that uniqueness and look-ups compare, or None when the field is empty."""
    if value is None or not value.strip():
        return None
    if field == "email":
        return value.strip().lower()
    if field in ("mobile", "phone"):
        return _NON_DIGITS.sub("", value) or value.strip().lower()
    return value


class TwcStore:
    def __init__(self, dataset: Dataset, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self._dataset = dataset
        self._new_id = new_id
        self.customers: dict[str, Customer] = {}
        self._index: dict[str, dict[str, str]] = {}
        self.reseed()

    def reseed(self) -> None:
        self.customers = {}
        self._index = {field: {} for field in UNIQUE_FIELDS}
        for person in self._dataset.in_provider("twc"):
            self._put(_seeded(person))

    # -- reads ------------------------------------------------------------------------------------

    def get(self, customer_id: str) -> Customer | None:
        customer = self.customers.get(customer_id)
        return None if customer is None or customer.deleted else customer

    def get_by_ref(self, customer_ref: str) -> Customer | None:
        return self._lookup("customerRef", customer_ref)

    def search(self, criteria: dict[str, str]) -> list[Customer]:
        """Customers matching every given criterion (AND); no criterion finds nothing.

        email, mobile and phone compare as uniqueness does and are answered from the index; first and last
        names compare trimmed and case-insensitively (the document does not say; a lookup that missed
        ``SMITH`` for ``Smith`` would be the surprising choice) and are scanned for.
        """
        if not criteria:
            return []
        indexed = [field for field in ("email", "mobile", "phone") if field in criteria]
        candidates: Iterable[Customer]
        if indexed:
            found = self._lookup(indexed[0], criteria[indexed[0]])
            candidates = [found] if found else []
        else:
            candidates = self.customers.values()
        return [c for c in candidates if not c.deleted and all(_matches(c, f, v) for f, v in criteria.items())]

    def conflict(self, data: CustomerIn, *, exclude_id: str | None = None) -> str | None:
        """The first unique field whose value another customer (deleted ones included) already holds."""
        for field in UNIQUE_FIELDS:
            key = unique_key(field, getattr(data, field))
            holder = self._index[field].get(key) if key else None
            if holder is not None and holder != exclude_id:
                return field
        return None

    # -- writes (callers validate first: these assume a valid, conflict-free body) -----------------

    def create(self, data: CustomerIn) -> Customer:
        return self._put(self._build(data, customer_id=self._new_id(), previous=None))

    def replace(self, previous: Customer, data: CustomerIn) -> Customer:
        """PUT semantics: the body is the whole customer; whatever it leaves out is cleared."""
        return self._put(self._build(data, customer_id=previous.id, previous=previous))

    def add_address(self, customer: Customer, address: Address) -> Customer:
        added = address.model_copy(update={"id": self._new_id(), "customerId": customer.id})
        addresses = list(customer.addresses or [])
        default = customer.defaultAddress
        if added.defaultAddress:
            addresses = [a.model_copy(update={"defaultAddress": False}) if a.defaultAddress else a for a in addresses]
            default = added
        updated = customer.model_copy(
            update={
                "addresses": [*addresses, added],
                "defaultAddress": default,
                "lastModifiedDate": wire.now(),
            }
        )
        return self._put(updated)

    def delete(self, customer: Customer) -> None:
        self.customers[customer.id] = customer.model_copy(update={"deleted": True, "lastModifiedDate": wire.now()})

    # -- internals --------------------------------------------------------------------------------

    def _lookup(self, field: str, value: str) -> Customer | None:
        key = unique_key(field, value)
        customer_id = self._index[field].get(key) if key else None
        return self.get(customer_id) if customer_id else None

    def _put(self, customer: Customer) -> Customer:
        previous = self.customers.get(customer.id)
        for field in UNIQUE_FIELDS:
            index = self._index[field]
            old_key = unique_key(field, getattr(previous, field)) if previous else None
            if old_key and index.get(old_key) == customer.id:
                del index[old_key]
            new_key = unique_key(field, getattr(customer, field))
            if new_key:
                index[new_key] = customer.id
        self.customers[customer.id] = customer
        return customer

    def _build(self, data: CustomerIn, *, customer_id: str, previous: Customer | None) -> Customer:
        addresses, default = self._addresses(data, customer_id, previous)
        accepts = bool(data.accepts_marketing)
        # "If the customer does not accept email marketing, then this property will be set to null."
        level = data.marketing_optin_level if accepts else None
        if previous is None:
            preferences_changed = data.accepts_marketing is not None or level is not None
        else:
            preferences_changed = (accepts, level) != (
                previous.accepts_marketing,
                previous.marketing_optin_level,
            )
        stamp = wire.now()
        preferences_at = data.marketing_preferences_updated_at or (
            stamp if preferences_changed else previous.marketing_preferences_updated_at if previous else None
        )
        active = True if data.active is None else data.active
        fields = data.model_dump(exclude={"id", "addresses", "defaultAddress"})
        fields.update(
            id=customer_id,
            addresses=addresses,
            defaultAddress=default,
            accepts_marketing=accepts,
            marketing_optin_level=level,
            marketing_preferences_updated_at=preferences_at,
            active=active,
            customer_state=data.customer_state or ("enabled" if active else "disabled"),
            taxExempt=bool(data.taxExempt),
            taxExemptions=data.taxExemptions or [],
            verified_email=bool(data.verified_email),
            createdDate=previous.createdDate if previous else stamp,
            lastModifiedDate=stamp,
        )
        return Customer.model_validate(fields)

    def _addresses(
        self, data: CustomerIn, customer_id: str, previous: Customer | None
    ) -> tuple[list[Address], Address | None]:
        """Addresses get TWC ids: an id this customer already has is kept (so read-modify-write keeps them);
        any other id a client sends (the samples send ``"string"``) is replaced by a new one."""
        known = {a.id for a in (previous.addresses or [])} if previous else set()
        assigned: dict[str | None, str] = {}
        result: list[Address] = []
        for address in data.addresses or []:
            address_id = address.id if address.id in known and address.id not in assigned.values() else None
            address_id = address_id or self._new_id()
            assigned.setdefault(address.id, address_id)
            result.append(address.model_copy(update={"id": address_id, "customerId": customer_id}))
        default: Address | None
        if data.defaultAddress is not None:
            default_id = assigned.get(data.defaultAddress.id) or self._new_id()
            default = data.defaultAddress.model_copy(update={"id": default_id, "customerId": customer_id})
        else:
            default = next((a for a in result if a.defaultAddress), None)
        return result, default


def _matches(customer: Customer, field: str, value: str) -> bool:
    held = getattr(customer, field)
    if field in ("firstName", "lastName"):
        return held is not None and held.strip().lower() == value.strip().lower()
    key = unique_key(field, value)
    return key is not None and unique_key(field, held) == key


def _seeded(person: Person) -> Customer:
    """One person's TWC view as TWC holds it: the e-mail exactly as seeded (odd case, stray spaces)."""
    part = person.twc
    assert part is not None
    view = part.view
    registered = wire.timestamp(view.registered_at) if view.registered_at else "2016-01-01T00:00:00.000Z"
    addresses = [
        _seeded_address(part.customer_id, index, address, view.first_name, view.last_name)
        for index, address in enumerate(part.addresses)
    ]
    return Customer(
        id=part.customer_id,
        customerRef=part.customer_ref,
        email=view.email,
        firstName=view.first_name,
        lastName=view.last_name,
        mobile=view.mobile,
        dob=wire.format_dob(view.birth_date) if view.birth_date else None,
        addresses=addresses,
        defaultAddress=addresses[0] if addresses else None,
        accepts_marketing=part.accepts_marketing,
        marketing_optin_level=part.marketing_optin_level if part.accepts_marketing else None,
        marketing_preferences_updated_at=registered if part.accepts_marketing else None,
        active=part.active,
        customer_state="enabled" if part.active else "disabled",
        taxExempt=False,
        taxExemptions=[],
        verified_email=False,
        createdDate=registered,
        lastModifiedDate=registered,
    )


def _seeded_address(customer_id: str, index: int, address: DatasetAddress, first: str, last: str) -> Address:
    return Address(
        id=str(uuid.uuid5(_ADDRESS_IDS, f"{customer_id}/{index}")),
        customerId=customer_id,
        address1=address.line1,
        address2=address.line2 or None,
        city=address.city,
        province=address.state,
        postcode=address.postcode,
        country=_COUNTRY_NAMES.get(address.country, address.country),
        countryCode=address.country,
        firstName=first,
        lastName=last,
        defaultAddress=index == 0,
    )
