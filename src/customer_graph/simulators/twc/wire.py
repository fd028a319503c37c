"""TWC's customer JSON as it travels: the request models and the formats of dates.

Field names are the wire names of twc-customer-api.md (its samples are the wire: ``customer_state`` and
``defaultAddress``, not the ``customerState``/``default_address`` spellings of its field list). Unknown
fields are ignored and numbers are accepted where strings are expected, as Jackson's defaults in a Spring
service do.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

CustomerState = Literal["disabled", "invited", "enabled", "declined"]
OptinLevel = Literal["single_opt_in", "confirmed_opt_in", "unknown"]

_WIRE = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
_DOB = re.compile(r"\d{2}-\d{2}-\d{4}")


class Address(BaseModel):
    """twc-customer-api.md, Representations: Address (Common_Fields/address.md); every field optional."""

    model_config = _WIRE

    id: str | None = None
    customerId: str | None = None
    addressName: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    company: str | None = None
    country: str | None = None
    countryCode: str | None = None
    defaultAddress: bool | None = None
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    phone: str | None = None
    postcode: str | None = None
    province: str | None = None
    provinceCode: str | None = None


class CustomerIn(BaseModel):
    """The body of create, upload (one element), validate and update.

    ``createdDate``, ``lastModifiedDate`` and (on create) ``id`` appear in the document's sample requests but
    belong to the server: they are read and ignored.
    """

    model_config = _WIRE

    id: str | None = None
    email: str | None = None
    customerRef: str | None = None
    alternateCustomerRef: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    mobile: str | None = None
    phone: str | None = None
    dob: str | None = None
    accepts_marketing: bool | None = None
    active: bool | None = None
    addresses: list[Address] | None = None
    defaultAddress: Address | None = None
    attributeGroups: dict[str, Any] | None = None
    customer_state: CustomerState | None = None
    marketing_optin_level: OptinLevel | None = None
    marketing_preferences_updated_at: str | None = None
    taxExempt: bool | None = None
    taxExemptions: list[str] | None = None
    verified_email: bool | None = None

    @field_validator("dob")
    @classmethod
    def _dob(cls, value: str | None) -> str | None:
        return None if value is None else parse_dob(value)

    @field_validator("marketing_preferences_updated_at")
    @classmethod
    def _timestamp(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return timestamp(datetime.fromisoformat(value))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time") from None


def parse_dob(value: str) -> str:
    """``dd-mm-yyyy`` (providers/README.md, TWC), returned as is when it is a real date.

    The document's own sample requests send an ISO 8601 date-time (``2022-06-20T06:21:32.358Z``), the
    format the API had when the document was written; that is still accepted and kept as its UTC date, so
    that both the document's samples and today's clients work.
    """
    if _DOB.fullmatch(value):
        try:
            datetime.strptime(value, "%d-%m-%Y")
            return value
        except ValueError:
            raise ValueError("dob must be in dd-mm-yyyy format") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("dob must be in dd-mm-yyyy format") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return format_dob(moment.date())


def format_dob(value: date) -> str:
    return value.strftime("%d-%m-%Y")


def timestamp(value: datetime) -> str:
    """``2023-05-19T03:48:22.075Z``: UTC, milliseconds, a ``Z`` (providers/README.md, TWC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now() -> str:
    return timestamp(datetime.now(UTC))
