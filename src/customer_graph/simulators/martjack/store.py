"""Martjack's customers of the one demo merchant, in memory, seeded from the dataset's Martjack views.

Lookups by UserId and by UserName are dict look-ups (the benchmarks depend on it); the UserName
*contains* search of ``Customer/{merchantId}/Search`` scans, as the provider's SQL ``LIKE`` would.
GUIDs are compared lower-cased because .NET parses them case-insensitively and prints them lower-case.
"""

from __future__ import annotations

import itertools
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime

from customer_graph.simulators.dataset import Address, Dataset, MartjackPart

# The customer's own string fields, by their wire names (martjack-customer-api.md, Get Customer Details).
# Update replaces every one of them (whole-object update), so they live together as data.
PROFILE_FIELDS = (
    "FirstName",
    "LastName",
    "PostalAddress",
    "AlternateEmail",
    "City",
    "Pin",
    "State",
    "Country",
    "PhoneNo",
    "Street",
    "MobileNo",
    "Gender",
    "Occupation",
    "Industry",
    "OtherArea",
    "CountryName",
    "StateName",
    "CityName",
    "AreaName",
    "OtherCity",
)

# Profile attributes (custom fields) the demo merchant has configured. 660 is the document's Get Customer
# Details example and 1058 its UpdateUserProfile example; Martjack refuses ids the merchant has not set up.
PROFILE_ATTRIBUTES = {660: "Favorite Game", 1058: "Favorite Sport", 1100: "Preferred Store"}

# Shipping address ids are merchant-wide integers (the document's examples are around 1.7 million).
FIRST_SHIPPING_ADDRESS_ID = 1_711_980

_COUNTRY_NAMES = {"GB": "United Kingdom", "IN": "India", "AU": "Australia", "PL": "Poland", "US": "United States"}
_STATE_CODES = {
    "Karnataka": "KA",
    "Maharashtra": "MH",
    "Tamil Nadu": "TN",
    "Greater London": "LND",
    "Greater Manchester": "MAN",
    "West Yorkshire": "WYK",
    "Bristol": "BST",
    "Mazowieckie": "MZ",
    "Małopolskie": "MA",
}


@dataclass
class ShippingAddress:
    id: int
    user_id: str
    first_name: str
    last_name: str
    address1: str
    address2: str = ""
    state: str = ""
    pin: str = ""
    country_code: str = ""
    city_code: str = ""
    phone_no: str = ""
    mobile_no: str = ""
    email: str = ""
    other_city: str = ""
    city_name: str = ""
    state_name: str = ""
    country_name: str = ""
    address_type: str = ""


@dataclass
class Customer:
    user_id: str
    user_info_id: str
    user_name: str
    password: str
    fields: dict[str, str]  # PROFILE_FIELDS by wire name
    birth_date: datetime | None  # Martjack keeps a DateTime; Create echoes its time
    receive_offers: bool
    active: bool = True
    communication_type: str = "nochannel"
    marketing_notification_type: str = "sms|email|push"
    attributes: dict[int, str] = field(default_factory=dict)  # profile attribute id -> value
    addresses: dict[int, ShippingAddress] = field(default_factory=dict)


class CustomerStore:
    """The demo merchant's customers; ``reseed`` rebuilds them from the dataset."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self.by_user_id: dict[str, Customer] = {}
        # Lower-cased: SQL Server's default collation ignores case.
        self.by_user_name: dict[str, Customer] = {}
        self._address_ids = itertools.count(FIRST_SHIPPING_ADDRESS_ID)
        self.reseed()

    def reseed(self) -> None:
        self.by_user_id.clear()
        self.by_user_name.clear()
        self._address_ids = itertools.count(FIRST_SHIPPING_ADDRESS_ID)
        for person in self._dataset.in_provider("martjack"):
            assert person.martjack is not None
            self.add(self._seeded(person.martjack))

    # -- reads ------------------------------------------------------------------------------------

    def get(self, user_id: str) -> Customer | None:
        return self.by_user_id.get(user_id.lower())

    def by_name(self, user_name: str) -> Customer | None:
        return self.by_user_name.get(user_name.strip().lower())

    def search(self, keyword: str) -> list[Customer]:
        needle = keyword.lower()
        return [c for c in self.by_user_id.values() if needle in c.user_name.lower()]

    def count(self) -> int:
        return len(self.by_user_id)

    # -- writes -----------------------------------------------------------------------------------

    def add(self, customer: Customer) -> Customer:
        self.by_user_id[customer.user_id] = customer
        self.by_user_name[customer.user_name.lower()] = customer
        return customer

    def new_address_id(self) -> int:
        return next(self._address_ids)

    # -- seeding ----------------------------------------------------------------------------------

    def _seeded(self, part: MartjackPart) -> Customer:
        view = part.view
        home = view.address
        email = view.email or ""
        fields = dict.fromkeys(PROFILE_FIELDS, "")
        fields.update(
            FirstName=view.first_name,
            LastName=view.last_name,
            MobileNo=view.mobile or "",
            Gender=_GENDERS.get(view.gender or "", ""),
            # Martjack has no e-mail field besides UserName: a mobile-number user keeps it here.
            AlternateEmail="" if part.user_name == email else email,
        )
        if home is not None:
            fields.update(
                PostalAddress=", ".join(p for p in (home.line1, home.line2) if p),
                Street=home.line1,
                AreaName=home.line2,
                City=city_code(home.city),
                CityName=home.city,
                Pin=home.postcode,
                State=state_code(home.state),
                StateName=home.state,
                Country=home.country,
                CountryName=country_name(home.country),
            )
        customer = Customer(
            user_id=part.user_id.lower(),
            user_info_id=part.user_info_id.lower(),
            user_name=part.user_name,
            password=part.password,
            fields=fields,
            birth_date=_midnight(view.birth_date),
            receive_offers=part.receive_offers,
            active=part.active,
        )
        for address in part.addresses:
            shipping = seeded_address(self.new_address_id(), customer, address)
            customer.addresses[shipping.id] = shipping
        return customer


_GENDERS = {"male": "male", "female": "female"}  # the document's Get Customer Details spells "male"


def seeded_address(address_id: int, customer: Customer, address: Address) -> ShippingAddress:
    f = customer.fields
    return ShippingAddress(
        id=address_id,
        user_id=customer.user_id,
        first_name=f["FirstName"],
        last_name=f["LastName"],
        address1=address.line1,
        address2=address.line2,
        state=state_code(address.state),
        pin=address.postcode,
        country_code=address.country,
        city_code=city_code(address.city),
        mobile_no=f["MobileNo"],
        email=f["AlternateEmail"] or (customer.user_name if "@" in customer.user_name else ""),
        other_city=address.city,
        city_name=address.city,
        state_name=address.state,
        country_name=country_name(address.country),
        address_type="1",  # what the document's Get Customer's Shipping Address shows for a home address
    )


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day) if day else None


def city_code(city: str) -> str:
    """Martjack's numeric city code; the dataset has none, so derive a stable one from the name."""
    return str(zlib.crc32(city.encode()) % 9000 + 100)


def state_code(state: str) -> str:
    """The state's postal abbreviation (``KA`` for Karnataka), as Martjack's ``State`` holds it."""
    if len(state) <= 3:
        return state.upper()
    return _STATE_CODES.get(state, state[:2].upper())


def state_name(code: str) -> str:
    """The full name behind a postal abbreviation, where the demo merchant's state list has it."""
    return next((name for name, short in _STATE_CODES.items() if short == code.upper()), "")


def country_name(code: str) -> str:
    return _COUNTRY_NAMES.get(code, code)


def new_guid() -> str:
    return str(uuid.uuid4())
