"""Open Loyalty's JSON, in its own field names (openloyalty-customer-api.md).

Tolerant of fields we do not use (``extra="ignore"``), strict about the ones we rely on: a customer without a
``customerId`` or ``active`` flag, a list without ``customers``/``total``, or a status without ``points`` is
not Open Loyalty's answer and fails validation (``ProviderProtocolError`` at the edge).

Dates arrive as ``2018-02-02T11:39:17+0100`` and are parsed here, once, into timezone-aware datetimes.
PHP serialises an empty associative array as ``[]``, so compound fields (``address``, ``company``) accept an
empty list as "nothing".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

# ISO 8601 with the offset written without a colon, as Open Loyalty (PHP's DATE_ISO8601) writes it.
_OL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)$")


def parse_datetime(value: Any) -> Any:
    """``2018-02-02T11:39:17+0100`` -> an aware datetime; anything else is left for pydantic to refuse."""
    if isinstance(value, str) and _OL_DATETIME.match(value):
        return datetime.fromisoformat(value)
    if isinstance(value, str):
        raise ValueError("not an Open Loyalty date-time")
    return value


OlDateTime = Annotated[datetime, BeforeValidator(parse_datetime)]


def _empty_list_is_none(value: Any) -> Any:
    return None if value == [] else value


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# -- auth --------------------------------------------------------------------------------------------


class TokenResponse(Wire):
    """``POST /api/admin/login_check`` and ``POST /api/token/refresh``."""

    token: str = Field(min_length=1)
    refresh_token: str | None = None


class JwtPayload(Wire):
    """The part of a JWT's payload we read: its expiry (seconds since the epoch)."""

    exp: float | None = None


class ErrorBody(Wire):
    """FOSRest's ``{"error": {"code": 404, "message": "Not Found"}}`` or lexik's ``{"code", "message"}``."""

    class Inner(Wire):
        code: int | None = None
        message: str | None = None

    error: Inner | None = None
    code: int | None = None
    message: str | None = None

    @property
    def text(self) -> str:
        return (self.error.message if self.error else None) or self.message or ""


class FormChild(Wire):
    """One child of a Symfony form error tree: its own errors and, for compound fields, its children."""

    errors: list[str] = Field(default_factory=list)
    children: dict[str, FormChild] = Field(default_factory=dict)

    @field_validator("children", mode="before")
    @classmethod
    def _children(cls, value: Any) -> Any:
        return {} if value == [] else value


class FormErrorBody(Wire):
    """A 400: ``{"form": {"children": {"email": {"errors": ["..."]}, ...}}, "errors": []}``."""

    form: FormChild
    errors: list[str] = Field(default_factory=list)


# -- customers ---------------------------------------------------------------------------------------


class Address(Wire):
    street: str | None = None  # street name
    address1: str | None = None  # building number
    address2: str | None = None  # flat / unit
    postal: str | None = None
    city: str | None = None
    province: str | None = None
    country: str | None = None


class CustomerState(Wire):
    """``status``: ``type`` is new / active / blocked / deleted; ``state`` the card state."""

    type: str | None = None
    state: str | None = None


class LevelRef(Wire):
    name: str | None = None


class Customer(Wire):
    """A customer as ``GET .../customer/{id}`` and the list endpoints return it."""

    customer_id: str = Field(alias="customerId", min_length=1)
    active: bool
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    gender: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: OlDateTime | None = Field(default=None, alias="birthDate")
    address: Annotated[Address | None, BeforeValidator(_empty_list_is_none)] = None
    loyalty_card_number: str | None = Field(default=None, alias="loyaltyCardNumber")
    created_at: OlDateTime | None = Field(default=None, alias="createdAt")
    updated_at: OlDateTime | None = Field(default=None, alias="updatedAt")
    level_id: str | None = Field(default=None, alias="levelId")
    agreement1: bool | None = None  # terms and conditions
    agreement2: bool | None = None  # e-mail marketing
    agreement3: bool | None = None  # SMS marketing
    status: CustomerState | None = None
    level: LevelRef | None = None


class CustomerList(Wire):
    """``GET .../admin/customer``: one page and the number of matches."""

    customers: list[Customer]
    total: int = Field(ge=0)


class Registered(Wire):
    """``POST .../admin/customer/register``."""

    customer_id: str = Field(alias="customerId", min_length=1)
    email: str | None = None


class CustomerStatus(Wire):
    """``GET .../admin/customer/{id}/status``: points and the level ladder."""

    customer_id: str | None = Field(default=None, alias="customerId")
    points: float
    total_earned_points: float | None = Field(default=None, alias="totalEarnedPoints")
    used_points: float | None = Field(default=None, alias="usedPoints")
    expired_points: float | None = Field(default=None, alias="expiredPoints")
    locked_points: float | None = Field(default=None, alias="lockedPoints")
    level: str | None = None  # the level's reward, "15.00%"
    level_name: str | None = Field(default=None, alias="levelName")
    next_level: str | None = Field(default=None, alias="nextLevel")
    next_level_name: str | None = Field(default=None, alias="nextLevelName")
    points_expiring_next_month: float | None = Field(default=None, alias="pointsExpiringNextMonth")
    # Dates (Y-m-d) to the points expiring on them.
    points_expiring_breakdown: Annotated[dict[date, float] | None, BeforeValidator(_empty_list_is_none)] = Field(
        default=None, alias="pointsExpiringBreakdown"
    )
