"""TWC's JSON in its own field names (twc-customer-api.md, Representations; providers/README.md, TWC).

Read models ignore fields we do not use and are strict about the ones we do (``id``, dates, booleans).
Updates are a PUT of the *whole* customer, where whatever is left out is cleared; so a customer that will be
written back is kept as :class:`CustomerDocument`, the parsed model plus the JSON exactly as TWC sent it, and a
write changes only the fields it means to change in that JSON. Fields we do not model (``attributeGroups``,
``taxExemptions``, unknown ones a newer TWC adds) travel back untouched instead of being erased.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, RootModel, field_validator

_READ = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)
_DOB = re.compile(r"\d{2}-\d{2}-\d{4}")

# Field names as they travel (kept here so that nothing outside wire/mapper spells them).
EMAIL = "email"
MOBILE = "mobile"
PHONE = "phone"
CUSTOMER_REF = "customerRef"
ALTERNATE_REF = "alternateCustomerRef"
FIRST_NAME = "firstName"
LAST_NAME = "lastName"
DOB = "dob"
ACTIVE = "active"
CUSTOMER_STATE = "customer_state"
ACCEPTS_MARKETING = "accepts_marketing"
OPTIN_LEVEL = "marketing_optin_level"
ADDRESSES = "addresses"
DEFAULT_ADDRESS = "defaultAddress"
# The unique fields a merge may move from the victim to the survivor.
MOVABLE_UNIQUE = (MOBILE, PHONE, CUSTOMER_REF, ALTERNATE_REF)


class TokenResponse(BaseModel):
    """Keycloak's client-credentials answer."""

    model_config = _READ

    access_token: str = Field(min_length=1)
    expires_in: float = Field(gt=0)
    token_type: str | None = None


class SpringError(BaseModel):
    """Spring Boot's default error body, ``{"timestamp","status","error","message","path"}``."""

    model_config = _READ

    status: int | None = None
    error: str | None = None
    message: str | None = None


class TwcAddress(BaseModel):
    """twc-customer-api.md, Address (Common_Fields/address.md): every field optional."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, coerce_numbers_to_str=True)

    id: str | None = None
    customer_id: str | None = Field(default=None, alias="customerId")
    address_name: str | None = Field(default=None, alias="addressName")
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    company: str | None = None
    country: str | None = None
    country_code: str | None = Field(default=None, alias="countryCode")
    default_address: bool | None = Field(default=None, alias="defaultAddress")
    email: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    phone: str | None = None
    postcode: str | None = None
    province: str | None = None
    province_code: str | None = Field(default=None, alias="provinceCode")


class TwcAddressWrite(BaseModel):
    """An address as we send it (add-address body, or an element of a PUT): only the fields we set."""

    model_config = ConfigDict(populate_by_name=True)

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    postcode: str | None = None
    country: str | None = None
    country_code: str | None = Field(default=None, alias="countryCode")
    default_address: bool | None = Field(default=None, alias="defaultAddress")

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def parse_dob(value: object) -> date | None:
    """``dd-mm-yyyy`` (providers/README.md); the document's samples send an ISO date-time, read as its UTC date."""
    if value is None or isinstance(value, date):
        return value if not isinstance(value, datetime) else value.astimezone(UTC).date()
    if not isinstance(value, str):
        raise ValueError("dob must be a string")
    text = value.strip()
    if not text:
        return None
    if _DOB.fullmatch(text):
        return datetime.strptime(text, "%d-%m-%Y").date()
    moment = datetime.fromisoformat(text)  # ValueError for anything else: a protocol error upstream
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def format_dob(value: date) -> str:
    return value.strftime("%d-%m-%Y")


class TwcCustomer(BaseModel):
    """A customer as TWC answers it (create, get by id or ref, update, add address, search)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, coerce_numbers_to_str=True)

    id: str = Field(min_length=1)
    email: str | None = None
    customer_ref: str | None = Field(default=None, alias="customerRef")
    alternate_customer_ref: str | None = Field(default=None, alias="alternateCustomerRef")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    mobile: str | None = None
    phone: str | None = None
    dob: date | None = None
    active: bool | None = None
    # The samples spell it ``customer_state``; the field list says ``customerState``.
    customer_state: str | None = Field(default=None, validation_alias=AliasChoices("customer_state", "customerState"))
    accepts_marketing: bool | None = None
    marketing_optin_level: str | None = None
    marketing_preferences_updated_at: datetime | None = None
    addresses: list[TwcAddress] = Field(default_factory=list)
    default_address: TwcAddress | None = Field(
        default=None, validation_alias=AliasChoices("defaultAddress", "default_address")
    )
    created_date: datetime | None = Field(default=None, alias="createdDate")
    last_modified_date: datetime | None = Field(default=None, alias="lastModifiedDate")

    @field_validator("dob", mode="before")
    @classmethod
    def _dob(cls, value: object) -> date | None:
        return parse_dob(value)

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses(cls, value: object) -> object:
        return [] if value is None else value


class CustomerList(RootModel[list[TwcCustomer]]):
    """Look up Customers answers a bare array."""


class CustomerDraftWire(BaseModel):
    """The body of Create a Customer: only the fields we set."""

    model_config = ConfigDict(populate_by_name=True)

    email: str
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    mobile: str | None = None
    dob: str | None = None
    customer_ref: str | None = Field(default=None, alias="customerRef")
    active: bool = True
    accepts_marketing: bool | None = None
    marketing_optin_level: str | None = None
    addresses: list[TwcAddressWrite] | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class CustomerDocument:
    """A customer read for a read-modify-write: the parsed model and the JSON verbatim."""

    __slots__ = ("_raw", "customer")

    def __init__(self, raw: dict[str, Any], customer: TwcCustomer) -> None:
        self._raw = raw
        self.customer = customer

    @classmethod
    def parse(cls, payload: object) -> CustomerDocument:
        """Raises ``pydantic.ValidationError`` when the payload is not a customer."""
        customer = TwcCustomer.model_validate(payload)
        assert isinstance(payload, dict)  # a model validated from JSON was an object
        return cls(payload, customer)

    @property
    def id(self) -> str:
        return self.customer.id

    def get(self, field: str) -> Any:
        return self._raw.get(field)

    def body(self, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The whole customer for a PUT: as read, with ``changes`` (wire field names) applied."""
        body = copy.deepcopy(self._raw)
        body.update(copy.deepcopy(dict(changes or {})))
        return body

    def raw_addresses(self) -> list[dict[str, Any]]:
        """The address objects as read (every field kept), for a PUT that changes or drops one."""
        addresses = self._raw.get(ADDRESSES) or []
        return [copy.deepcopy(a) for a in addresses if isinstance(a, dict)]

    def raw_default_address(self) -> dict[str, Any] | None:
        default = self._raw.get(DEFAULT_ADDRESS)
        return copy.deepcopy(default) if isinstance(default, dict) else None


def address_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id")
    return None if value is None else str(value)


def address_with(raw: Mapping[str, Any], write: TwcAddressWrite) -> dict[str, Any]:
    """An address object with the fields of ``write`` replaced (the line fields as a unit, so that an emptied
    ``address2`` is cleared rather than kept from before); its id and other fields stay."""
    updated = dict(raw)
    for name in ("address1", "address2", "city", "province", "provinceCode", "postcode", "country", "countryCode"):
        updated[name] = None
    updated.update(write.body())
    return updated


def address_as_default(raw: Mapping[str, Any], is_default: bool) -> dict[str, Any]:
    updated = dict(raw)
    updated[DEFAULT_ADDRESS] = is_default
    return updated


def address_content(raw: Mapping[str, Any]) -> tuple[object, ...]:
    """What makes two addresses the same place (ids and owners aside), for de-duplicating on merge."""
    return tuple(
        (str(v).strip().lower() if isinstance(v, str) else v)
        for v in (raw.get(k) for k in ("address1", "address2", "city", "province", "postcode", "countryCode"))
    )


def without_identity(raw: Mapping[str, Any]) -> dict[str, Any]:
    """An address copied to another customer: TWC gives it a new id and owner."""
    return {k: v for k, v in raw.items() if k not in ("id", "customerId", DEFAULT_ADDRESS)}
