"""Capillary v2's JSON in its own field names (``capillary-v2-customer-api.md``,
``capillary-v2-register-customer.md``, the Capillary facts of ``providers/README.md``).

Tolerant of fields we do not read (``extra="ignore"``), strict about those we rely on: a customer without an
``id``, a lookup without an ``entity`` or a register answer without ``createdId`` is a protocol error. Capillary
sends some numbers where strings are expected (the Update sample's mobile ``919111111111``, account ids):
numbers become strings there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True, frozen=True)


# -- envelope -------------------------------------------------------------------------------------------


class Message(Wire):
    """One entry of ``errors`` or ``warnings``: ``{"status": false, "code": 8015, "message": "..."}``."""

    code: int | None = None
    message: str | None = None
    status: bool | None = None


class ErrorEnvelope(Wire):
    errors: list[Message] | None = None
    warnings: list[Message] | None = None


# -- auth -----------------------------------------------------------------------------------------------


class TokenData(Wire):
    access_token: str = Field(alias="accessToken", min_length=1)
    ttl_seconds: float = Field(alias="ttlSeconds", gt=0)


class TokenResponse(Wire):
    """``POST /v3/oauth/token/generate``: ``{"data":{"accessToken","ttlSeconds":300},"errors":null}``."""

    data: TokenData | None = None
    errors: list[Message] | None = None


# -- customer (Fetch Customer Details) ------------------------------------------------------------------


class IdentifierWire(Wire):
    type: str
    value: str


class Attribution(Wire):
    create_date: datetime | None = Field(None, alias="createDate")
    modified_date: datetime | None = Field(None, alias="modifiedDate")


class ProfileWire(Wire):
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    attribution: Attribution | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    identifiers: list[IdentifierWire] = Field(default_factory=list)
    source: str
    account_id: str | None = Field(None, alias="accountId")
    user_id: int | None = Field(None, alias="userId")
    auto_update_time: datetime | None = Field(None, alias="autoUpdateTime")


class LoyaltyInfoWire(Wire):
    loyalty_type: str | None = Field(None, alias="loyaltyType")
    attribution_v2: Attribution | None = Field(None, alias="attributionV2")


class ProgramWire(Wire):
    """One program of ``embed=mlp`` / ``loyaltyDetails``; ``pointsSummary`` has the same fields minus
    ``programId``."""

    program_id: int | None = Field(None, alias="programId")
    loyalty_points: float = Field(alias="loyaltyPoints")
    lifetime_points: float | None = Field(None, alias="lifetimePoints")
    redeemed: float | None = None
    expired: float | None = None
    current_slab: str | None = Field(None, alias="currentSlab")
    next_slab: str | None = Field(None, alias="nextSlab")
    slab_expiry_date: datetime | None = Field(None, alias="slabExpiryDate")
    loyalty_id: int | None = Field(None, alias="loyaltyId")


class SubscriptionWire(Wire):
    channel: str
    priority: str
    type: str
    account_id: str | None = Field(None, alias="accountId")


class SubscriptionInfoWire(Wire):
    subscriptions: list[SubscriptionWire] = Field(default_factory=list)


class CustomerWire(Wire):
    id: int
    profiles: list[ProfileWire] = Field(default_factory=list)
    loyalty_info: LoyaltyInfoWire | None = Field(None, alias="loyaltyInfo")
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    # Present only with the matching ``embed``.
    points_summary: ProgramWire | None = Field(None, alias="pointsSummary")
    subscription_info: SubscriptionInfoWire | None = Field(None, alias="subscriptionInfo")
    loyalty_program_details: list[ProgramWire] | None = Field(None, alias="loyaltyProgramDetails")
    warnings: list[Message] = Field(default_factory=list)


# -- other answers --------------------------------------------------------------------------------------


class LookupResponse(Wire):
    """Fetch Customer ID: ``{"entity": 306, "warnings": []}``."""

    entity: int
    warnings: list[Message] = Field(default_factory=list)


class Pagination(Wire):
    limit: int | None = None
    offset: int | None = None
    total: int | None = None


class SearchProfile(Wire):
    source: str | None = None
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")


class SearchHit(Wire):
    user_id: int = Field(alias="userId")
    profiles: list[SearchProfile] = Field(default_factory=list)


class SearchResponse(Wire):
    pagination: Pagination | None = None
    data: list[SearchHit] = Field(default_factory=list)


class LoyaltyDetailsResponse(Wire):
    data: list[ProgramWire] = Field(default_factory=list)


class ChangeRequest(Wire):
    """One item of Get Change Requests (``retroRequest``); for a MERGE, ``userId`` is the survivor."""

    id: int
    status: str
    user_id: int = Field(alias="userId")
    base_type: str | None = Field(None, alias="baseType")
    added_on: datetime | None = Field(None, alias="addedOn")


class ChangeRequestsResponse(Wire):
    pagination: Pagination | None = None
    data: list[ChangeRequest] = Field(default_factory=list)


class RegisterResponse(Wire):
    """Register Customer: ``createdId`` (the existing customer's id when warning 8050 combined them)."""

    created_id: int = Field(alias="createdId")
    warnings: list[Message] = Field(default_factory=list)
    side_effects: list[dict[str, Any]] = Field(default_factory=list, alias="sideEffects")


class UpdateResponse(Wire):
    """Update Customer Details: ``{"createdId": 329, "warnings": []}``."""

    created_id: int | None = Field(None, alias="createdId")
    warnings: list[Message] = Field(default_factory=list)


class ChangeIdentifierResponse(Wire):
    """Update Customer Identifiers: ``{"success": true, "warnings": []}`` (8051 names the survivor)."""

    success: bool
    warnings: list[Message] = Field(default_factory=list)


class SubscriptionsResponse(Wire):
    subscriptions: list[SubscriptionWire] = Field(default_factory=list)
    warnings: list[Message] = Field(default_factory=list)
