"""The Capillary v2 customer API over HTTP: auth, request parsing and validation, and Capillary's JSON.

Every endpoint answers either its documented body or Capillary's error envelope
``{"errors":[{"status":false,"code":8015,"message":"..."}],"warnings":[]}``. Sections cited in docstrings are
of ``capillary-v2-customer-api.md`` unless another file is named; "README" is ``providers/README.md``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from customer_graph.simulators.capillary.store import (
    IDENTIFIER_TYPES,
    MULTI_ACCOUNT_SOURCES,
    ORG_TZ,
    PRIMARY_IDENTIFIER_TYPES,
    PROGRAMS,
    SOURCES,
    CapillaryError,
    CapillaryStore,
    ChangeRequest,
    Customer,
    Enrollment,
    Identifier,
    Profile,
    Program,
    Subscription,
    not_in_source,
)
from customer_graph.simulators.control import SimulatorState

Handler = Callable[[Request], Awaitable[Response]]
Model = TypeVar("Model", bound=BaseModel)

DEFAULT_TOKEN_TTL_SECONDS = 300.0  # README: "Tokens live 5 minutes"
DEFAULT_RATE_LIMIT_PER_MINUTE = 600  # README: 100-600 a minute per region; the most generous region

# Tills authenticate with Basic base64(tillCode:md5(password)) (README). The read-only till lacks the
# "write access to customer group resource" that Register Customer lists as a prerequisite: writes get 403.
TILLS: dict[str, tuple[str, bool]] = {"demo.till": ("demo-password", True), "readonly.till": ("demo-password", False)}
# OAuth clients (key -> secret, till they act as) for POST /v3/oauth/token/generate (README).
OAUTH_CLIENTS: dict[str, tuple[str, str]] = {"demo-key": ("demo-secret", "demo.till")}

INVALID_INPUT = "Input is invalid. Please check request parameters or input xml/json"
# Capillary does not publish a 429 body; this one keeps its error envelope.
RATE_LIMITED = "Too many requests. The per-minute limit for this org is exhausted"
# The body of an injected status: documented codes where there is one (Error Codes, README), else the status.
INJECTED = {
    400: (400, INVALID_INPUT),
    401: (401, "Invalid credentials"),
    403: (403, "Access denied"),
    404: (8015, "Customer not found for the given identifiers"),
    429: (429, RATE_LIMITED),
    500: (500, "All requests failed due to errors."),
    521: (521, "Another action is running on the same customer"),
}
CHANGE_TYPES = (
    "EMAIL",
    "MOBILE",
    "EXTERNAL_ID",
    "MERGE",
    "ADDRESS",
    "MOBILE_REALLOC",
    "COUPON",
    "POINTS",
    "TIER",
    "RETRO",
)
SUBSCRIPTION_CHANNELS = ("EMAIL", "SMS", "WECHAT", "ANDROID", "IOS", "LINE")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TILL_ENTITY = {
    "id": 15091433,
    "code": "demo.till",
    "description": "",
    "name": "demo.till",
    "type": "TILL",
    "adminType": "GENERAL",
    "isActive": True,
    "isOuEnabled": False,
    "timeZoneId": 0,
    "currencyId": 0,
    "languageId": 0,
}
STORE_ENTITY = {
    "id": 15091431,
    "code": "demo.store",
    "description": "",
    "name": "DemoStore",
    "type": "STORE",
    "adminType": "GENERAL",
    "isActive": True,
    "isOuEnabled": False,
    "timeZoneId": 0,
    "currencyId": 23,
    "languageId": 148,
}


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": message}], "warnings": []}


def error_response(error: CapillaryError) -> Response:
    return JSONResponse(error_body(error.code, error.message), status_code=error.status)


class CapillaryDialect:
    """Injected errors and the 429 in Capillary's error envelope."""

    def error_response(self, status: int) -> Response:
        try:
            default = HTTPStatus(status).phrase
        except ValueError:
            default = "Error"
        code, message = INJECTED.get(status, (status, default))
        return JSONResponse(error_body(code, message), status_code=status)

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        return JSONResponse(
            error_body(429, RATE_LIMITED), status_code=429, headers={"Retry-After": str(retry_after_seconds)}
        )


# -- request bodies: Capillary's own field names, lenient where its samples are ("primary": "true") ---------


class Wire(BaseModel):
    # The Update sample sends a mobile as a JSON number: numbers become strings where a string is expected.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class IdentifierIn(Wire):
    type: str
    value: str


class CommChannelIn(Wire):
    type: str
    value: str = ""
    primary: bool = False
    verified: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)


class ProfileIn(Wire):
    first_name: str | None = Field(None, alias="firstName")
    last_name: str | None = Field(None, alias="lastName")
    identifiers: list[IdentifierIn] = Field(default_factory=list)
    comm_channels: list[CommChannelIn] = Field(default_factory=list, alias="commChannels")
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="fields")
    source: str | None = None
    account_id: str | None = Field(None, alias="accountId")


class LoyaltyInfoIn(Wire):
    loyalty_type: Literal["loyalty", "non_loyalty"] | None = Field(None, alias="loyaltyType")


class EnrollmentIn(Wire):
    program_id: int = Field(alias="programId")
    tier_number: int = Field(1, alias="tierNumber")
    loyalty_points: int = Field(0, ge=0, alias="loyaltyPoints")
    tier_expiry_date: datetime | None = Field(None, alias="tierExpiryDate")
    points_expiry_date: datetime | None = Field(None, alias="pointsExpiryDate")


class CustomerIn(Wire):
    loyalty_info: LoyaltyInfoIn | None = Field(None, alias="loyaltyInfo")
    profiles: list[ProfileIn] = Field(default_factory=list)
    extended_fields: dict[str, Any] = Field(default_factory=dict, alias="extendedFields")
    enrollments: list[EnrollmentIn] = Field(default_factory=list, alias="loyaltyProgramEnrollments")


class ChangeIdentifierIn(Wire):
    add: list[IdentifierIn] = Field(default_factory=list)
    remove: list[IdentifierIn] = Field(default_factory=list)


class SubscriptionIn(Wire):
    channel: str
    priority: str
    type: str
    account_id: str = Field("", alias="accountId")


class ScopeIn(Wire):
    scope: str = "USER"
    sub_scope: str = Field("NONE", alias="subScope")


class SubscriptionsIn(Wire):
    communication_id: int = Field(-1, alias="communicationId")
    campaign_id: int = Field(-1, alias="campaignId")
    reason: str = ""
    scope: ScopeIn = Field(default_factory=ScopeIn)
    subscriptions: list[SubscriptionIn] = Field(min_length=1)


class TokenIn(Wire):
    key: str = Field(min_length=1)
    secret: str = Field(min_length=1)


class CapillaryApi:
    """The routes of one Capillary simulator over its store."""

    def __init__(self, state: SimulatorState, store: CapillaryStore) -> None:
        self.state = state
        self.store = store

    def routes(self) -> list[BaseRoute]:
        route, guard = self.state.route, self._guarded
        # Literal paths before /v2/customers/{id}, so that "lookup" and "search" are not taken for ids.
        return [
            route("/v3/oauth/token/generate", self.generate_token, ["POST"]),
            route("/v2/customers/lookup", guard(self.lookup, write=False), ["GET"]),
            route("/v2/customers/search", guard(self.search, write=False), ["GET"]),
            route("/v2/customers", guard(self.register, write=True), ["POST"]),
            route("/v2/customers/{id}", guard(self.get_customer, write=False), ["GET"]),
            route("/v2/customers/{id}", guard(self.update_customer, write=True), ["PUT"]),
            route("/v2/customers/{id}/changeIdentifier", guard(self.change_identifier, write=True), ["POST"]),
            route("/v2/customers/{id}/loyaltyDetails", guard(self.loyalty_details, write=False), ["GET"]),
            route("/v2/customers/{id}/subscriptions", guard(self.get_subscriptions, write=False), ["GET"]),
            route("/v2/customers/{id}/subscriptions", guard(self.update_subscriptions, write=True), ["POST"]),
            route("/v2/customers/{id}/retroRequest", guard(self.change_requests, write=False), ["GET"]),
        ]

    # -- auth -------------------------------------------------------------------------------------

    def _guarded(self, handler: Handler, *, write: bool) -> Handler:
        """The handler behind Capillary's auth, with its refusals rendered as Capillary's error body."""

        async def endpoint(request: Request) -> Response:
            try:
                self._authenticate(request, write=write)
                return await handler(request)
            except CapillaryError as error:
                return error_response(error)

        endpoint.__name__ = handler.__name__
        return endpoint

    def _authenticate(self, request: Request, *, write: bool) -> None:
        """README, Capillary v2 auth: an OAuth token in ``X-CAP-API-OAUTH-TOKEN`` (it wins when both are sent)
        or ``Authorization: Basic base64(tillCode:md5(password))``."""
        token_value = request.headers.get("X-CAP-API-OAUTH-TOKEN")
        if token_value is not None:
            token = self.state.tokens.lookup(token_value)
            if token is None:
                raise CapillaryError(401, 401, "Invalid or expired OAuth token")
            till = token.subject
        else:
            till = _basic_till(request.headers.get("Authorization", ""))
        if write and not TILLS[till][1]:
            raise CapillaryError(403, 403, "Access denied: no write access to the customer resource")

    async def generate_token(self, request: Request) -> Response:
        """README, Capillary v2 auth: ``POST /v3/oauth/token/generate`` with ``{"key","secret"}`` returns
        ``{"data":{"accessToken","ttlSeconds":300},"errors":null}``."""
        try:
            body = TokenIn.model_validate(await _json(request))
        except (ValidationError, ValueError):
            return JSONResponse({"data": None, **_token_error(400, "key and secret are required")}, status_code=400)
        client = OAUTH_CLIENTS.get(body.key)
        if client is None or not hmac.compare_digest(client[0], body.secret):
            return JSONResponse({"data": None, **_token_error(401, "Invalid key or secret")}, status_code=401)
        token = self.state.tokens.issue(client[1])
        ttl = max(1, math.ceil(self.state.tokens.ttl_seconds))
        return JSONResponse({"data": {"accessToken": token.value, "ttlSeconds": ttl}, "errors": None})

    # -- customers --------------------------------------------------------------------------------

    async def register(self, request: Request) -> Response:
        """Register Customer (``POST /v2/customers?source=&accountId=``; capillary-v2-register-customer.md).
        An identifier already held in another source adds this profile to that customer: warning 8050."""
        query_source = request.query_params.get("source")
        query_account = request.query_params.get("accountId", "")
        if query_source is not None and query_source.upper() not in SOURCES:
            raise CapillaryError(400, 3217, "Source is invalid.")
        body = await _model(request, CustomerIn)
        now = datetime.now(ORG_TZ).replace(microsecond=0)
        profiles = [self._new_profile(raw, query_source, query_account, now) for raw in body.profiles]
        if not profiles:
            raise _no_identifier()
        if len({(p.source, p.account_id) for p in profiles}) != len(profiles):
            raise CapillaryError(400, 400, INVALID_INPUT)
        loyalty_type = (body.loyalty_info.loyalty_type if body.loyalty_info else None) or "loyalty"
        enrollments = [_enrollment(e) for e in body.enrollments]
        customer, combined = self.store.register(
            profiles, loyalty_type, _strings(body.extended_fields), enrollments, now
        )
        warnings = [_warning(8050, "Same Customer found in other sources,Combining")] if combined else []
        awarded = sum(e.loyalty_points for e in enrollments)
        side_effects = (
            [{"entityType": "USER", "rawAwardedPoints": float(awarded), "awardedPoints": awarded, "type": "points"}]
            if awarded
            else []
        )
        return JSONResponse({"createdId": customer.id, "warnings": warnings, "sideEffects": side_effects})

    def _new_profile(self, raw: ProfileIn, query_source: str | None, query_account: str, now: datetime) -> Profile:
        source = (raw.source or query_source or "").upper()
        if source not in SOURCES:
            raise CapillaryError(400, 3217, "Source is invalid.")
        account = _account(source, raw.account_id or query_account)
        identifiers: list[Identifier] = []
        for given in raw.identifiers:
            identifier = _identifier(given, _REGISTER_INVALID)
            if identifier not in identifiers:
                identifiers.append(identifier)
        if not identifiers or (
            source == "INSTORE" and not any(i.type in PRIMARY_IDENTIFIER_TYPES for i in identifiers)
        ):
            raise _no_identifier()
        # "The character limit for first names is 100. Characters exceeding this limit is ignored."
        return Profile(
            source,
            account,
            (raw.first_name or "")[:100],
            (raw.last_name or "")[:100],
            identifiers,
            [_channel(c) for c in raw.comm_channels],
            _strings(raw.custom_fields),
            now,
            now,
        )

    async def get_customer(self, request: Request) -> Response:
        """Fetch Customer Details (``GET /v2/customers/{id}?source=&accountId=&embed=``): 8012, 8045, 8015,
        8065, 8069; ``embed`` takes ``points``, ``subscriptions``, ``mlp``."""
        customer_id = _customer_id(request)
        source, account = _read_source(request)
        embeds = {e.strip().strip('"”“').lower() for e in request.query_params.get("embed", "").split(",")}
        customer = self.store.get(customer_id)
        profiles = [p for p in customer.profiles if source == "ALL" or (p.source, p.account_id) == (source, account)]
        if not profiles:
            raise not_in_source()
        return JSONResponse(_customer_json(customer, profiles, embeds))

    async def update_customer(self, request: Request) -> Response:
        """Update Customer Details (``PUT /v2/customers/{id}?source=&accountId=``). Limits enforced: identifiers
        cannot change (91006), the source cannot change (91006), loyalty cannot become non-loyalty (1046)."""
        customer_id = _customer_id(request)
        source, account = _write_source(request)
        body = await _model(request, CustomerIn)
        for raw in body.profiles:
            if raw.source is not None and raw.source.upper() != source:
                raise CapillaryError(400, 91006, "source update is not allowed.")
        customer = self.store.get(customer_id)
        profile = customer.profile(source, account)
        if profile is None:
            raise not_in_source()
        # The Update sample's body names another accountId than its URL: the URL's account is the one updated.
        given = body.profiles[0] if body.profiles else ProfileIn()
        for raw_identifier in given.identifiers:
            identifier = Identifier.of(raw_identifier.type, raw_identifier.value)
            if not profile.holds(identifier):
                raise CapillaryError(400, 91006, f"{raw_identifier.type} update is not allowed.")
        self.store.update(
            customer,
            profile,
            first_name=_name(given.first_name),
            last_name=_name(given.last_name),
            fields=_strings(given.custom_fields),
            comm_channels=[_channel(c) for c in given.comm_channels],
            extended_fields=_strings(body.extended_fields),
            loyalty_type=body.loyalty_info.loyalty_type if body.loyalty_info else None,
            enrollments=[_enrollment(e) for e in body.enrollments],
            at=datetime.now(ORG_TZ).replace(microsecond=0),
        )
        return JSONResponse({"createdId": customer.id, "warnings": []})

    async def change_identifier(self, request: Request) -> Response:
        """Update Customer Identifiers (``POST /v2/customers/{id}/changeIdentifier?source=&accountId=``). Adding
        an identifier held in another source merges the accounts (warning 8051 names the survivor)."""
        customer_id = _customer_id(request)
        source, account = _write_source(request)
        body = await _model(request, ChangeIdentifierIn)
        if not body.add and not body.remove:
            raise CapillaryError(400, 1104, "Invalid identifier or no identifier passed.")
        add = [_identifier(i, _CHANGE_INVALID) for i in body.add]
        remove = [_identifier(i, _CHANGE_INVALID) for i in body.remove]
        if customer_id not in self.store.customers:
            raise CapillaryError(404, 8009, "Unable to identify the customer. Customer id is invalid.")
        customer = self.store.get(customer_id)
        survivor = self.store.change_identifiers(
            customer, source, account, add, remove, datetime.now(ORG_TZ).replace(microsecond=0)
        )
        warnings = (
            []
            if survivor is None
            else [
                _warning(
                    8051, f"Same identifier found in other source. Merging into the account with user id {survivor.id}."
                )
            ]
        )
        return JSONResponse({"success": True, "warnings": warnings})

    async def lookup(self, request: Request) -> Response:
        """Fetch Customer ID (``GET /v2/customers/lookup?source=&accountId=&identifierName=&identifierValue=``):
        8012, 8013, 8045, 8015, 8065."""
        source, account = _read_source(request)
        name = request.query_params.get("identifierName", "")
        value = request.query_params.get("identifierValue", "")
        if name not in IDENTIFIER_TYPES or not value.strip():
            raise CapillaryError(
                400,
                8013,
                "Customer identifier is invalid. Also check if the parameter identifierName is passed correctly.",
            )
        identifier = Identifier.of(name, value)
        customer = self.store.owner(identifier)
        if customer is None:
            raise CapillaryError(404, 8015, "Customer not found for the given identifiers")
        if source != "ALL":
            profile = customer.profile(source, account)
            if profile is None or not profile.holds(identifier):
                raise not_in_source()
        return JSONResponse({"entity": customer.id, "warnings": []})

    async def search(self, request: Request) -> Response:
        """Fetch Customers (Advanced Customer Search) (``GET /v2/customers/search?q=&limit=&offset=``): prefix
        match on first name, last name and identifiers, across all sources."""
        query = request.query_params.get("q", "").strip()
        if not query:
            raise CapillaryError(400, 400, INVALID_INPUT)
        limit, offset = _paging(request)
        found = list(self.store.search(query))
        data = [
            {
                "userId": customer.id,
                "matchedIdentifiers": [
                    {"idType": m.id_type, "idValue": m.id_value, "source": m.source, "accountId": m.account_id}
                    for m in matches
                ],
                "profiles": [
                    {"source": p.source, "firstName": p.first_name, "lastName": p.last_name} for p in customer.profiles
                ],
            }
            for customer, matches in found[offset : offset + limit]
        ]
        return JSONResponse(
            {
                "pagination": {"limit": limit, "offset": offset, "total": len(found)},
                "data": data,
                "warnings": [],
                "errors": [],
            }
        )

    async def loyalty_details(self, request: Request) -> Response:
        """Fetch Customer Loyalty Details (``GET /v2/customers/{id}/loyaltyDetails?programId=``)."""
        customer_id = _customer_id(request)
        program_id = _optional_int(request, "programId")
        customer = self.store.get(customer_id)
        programs = [p for p in customer.programs if program_id is None or p.program_id == program_id]
        return JSONResponse({"data": [_program_json(customer, p) for p in programs], "warnings": [], "errors": []})

    async def get_subscriptions(self, request: Request) -> Response:
        """Retrieve Subscription Details (``GET /v2/customers/{id}/subscriptions``): channels read back as SMS."""
        customer = self.store.get(_customer_id(request))
        return JSONResponse(
            {"subscriptions": _subscriptions_json(customer), "campaignId": 0, "communicationId": 0, "warnings": []}
        )

    async def update_subscriptions(self, request: Request) -> Response:
        """Update Subscription Details (``POST /v2/customers/{id}/subscriptions``): 1101, 1102, 1103, 1106.
        README: written with channel ``MOBILE``, read back as ``SMS``."""
        customer_id = _customer_id(request)
        body = await _model(request, SubscriptionsIn)
        if body.scope.scope.upper() != "USER":
            raise CapillaryError(400, 1103, "Invalid scope.")
        subscriptions = [_subscription(s) for s in body.subscriptions]
        customer = self.store.get(customer_id)
        self.store.set_subscriptions(customer, subscriptions)
        return JSONResponse(
            {
                "scope": {
                    "scopeId": 0,
                    "scope": body.scope.scope.upper(),
                    "subScope": body.scope.sub_scope,
                    "setCreatedOn": False,
                    "setPriority": False,
                    "setScopeId": False,
                    "setScope": True,
                    "setSubScope": True,
                },
                "subscriptions": [
                    {"channel": s.channel, "accountId": s.account_id, "priority": s.priority, "type": s.type}
                    for s in subscriptions
                ],
                "campaignId": body.campaign_id,
                "communicationId": body.communication_id,
                "reason": body.reason,
                "warnings": [],
            }
        )

    async def change_requests(self, request: Request) -> Response:
        """Get Change Requests (``GET /v2/customers/{id}/retroRequest?changeType=&startDate=&endDate=&startId=
        &endId=&offset=&limit=``). Readable on a merge victim: its MERGE item's ``userId`` is the survivor."""
        customer_id = _customer_id(request)
        change_type = request.query_params.get("changeType")
        if change_type is not None and change_type not in CHANGE_TYPES:
            raise CapillaryError(400, 400, INVALID_INPUT)
        start_date, end_date = _optional_date(request, "startDate"), _optional_date(request, "endDate")
        start_id, end_id = _optional_int(request, "startId"), _optional_int(request, "endId")
        limit, offset = _paging(request)
        customer = self.store.get_any(customer_id)
        items = [
            r
            for r in sorted(customer.change_requests, key=lambda r: r.id, reverse=True)
            if (change_type is None or r.change_type == change_type)
            and (start_date is None or _local(r.added_on).date() >= start_date)
            and (end_date is None or _local(r.added_on).date() <= end_date)
            and (start_id is None or r.id >= start_id)
            and (end_id is None or r.id <= end_id)
        ]
        return JSONResponse(
            {
                "pagination": {"limit": limit, "offset": offset, "total": len(items)},
                "data": [_change_request_json(r) for r in items[offset : offset + limit]],
                "warnings": [],
                "errors": [],
            }
        )


# -- request parsing ---------------------------------------------------------------------------------

# Identifier format errors: Register Customer answers 100x codes, Update Customer Identifiers 80xx codes.
_REGISTER_INVALID = {
    "mobile": (1001, "Unable to register. Invalid mobile number."),
    "email": (1002, "Unable to register. Invalid email id."),
    "externalId": (1003, "Unable to register. Invalid external id."),
}
_CHANGE_INVALID = {
    "mobile": (8056, "Invalid mobile number."),
    "email": (8055, "Invalid email id."),
    "externalId": (8064, "External id validation failed."),
}


def _identifier(given: IdentifierIn, invalid: dict[str, tuple[int, str]]) -> Identifier:
    if given.type not in IDENTIFIER_TYPES:
        raise CapillaryError(400, 1104, "Invalid identifier or no identifier passed.")
    identifier = Identifier.of(given.type, given.value)
    raw = given.value.strip()
    if given.type == "mobile":
        # Mobiles are digits with an optional country code (the samples hold 7 to 12 digits).
        valid = bool(re.fullmatch(r"\+?[\d\s()-]+", raw)) and 7 <= len(identifier.value) <= 15
    elif given.type == "email":
        valid = bool(EMAIL.fullmatch(identifier.value)) and len(identifier.value) <= 255
    else:
        valid = bool(identifier.value)
    if valid:
        return identifier
    code, message = invalid.get(given.type, (1104, "Invalid identifier or no identifier passed."))
    raise CapillaryError(400, code, message)


def _no_identifier() -> CapillaryError:
    return CapillaryError(
        400,
        1007,
        "Unable to register customer. No valid primary identifier mobile number, email ID, or external ID passed.",
    )


def _account(source: str, account_id: str | None) -> str:
    if source not in MULTI_ACCOUNT_SOURCES:
        return ""
    if not account_id:
        raise CapillaryError(400, 8045, "Account id is not passed.")
    return account_id


def _read_source(request: Request) -> tuple[str, str]:
    """``source`` (mandatory; ``ALL`` reads every source) and ``accountId`` of the reads."""
    source = request.query_params.get("source", "").upper()
    if source == "ALL":
        return source, ""
    if source not in SOURCES:
        raise CapillaryError(400, 8012, "Invalid source passed.")
    return source, _account(source, request.query_params.get("accountId"))


def _write_source(request: Request) -> tuple[str, str]:
    source, account = _read_source(request)
    if source == "ALL":
        raise CapillaryError(400, 8012, "Invalid source passed.")
    return source, account


def _customer_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit():
        raise CapillaryError(400, 400, INVALID_INPUT)
    return int(raw)


def _optional_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise CapillaryError(400, 400, INVALID_INPUT)
    return int(raw)


def _optional_date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CapillaryError(400, 400, INVALID_INPUT) from None


def _paging(request: Request) -> tuple[int, int]:
    """README: lists take ``limit``/``offset`` (10 and 0 by default, as the samples' pagination shows)."""
    limit = _optional_int(request, "limit")
    offset = _optional_int(request, "offset")
    return (10 if limit is None else limit), (offset or 0)


def _basic_till(header: str) -> str:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            till, _, digest = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            till, digest = "", ""
        known = TILLS.get(till)
        if known is not None:
            expected = hashlib.md5(known[0].encode()).hexdigest()
            if hmac.compare_digest(expected, digest.lower()):
                return till
    raise CapillaryError(401, 401, "Invalid credentials")


async def _json(request: Request) -> Any:
    body = await request.body()
    return json.loads(body) if body else None


async def _model(request: Request, model: type[Model]) -> Model:
    try:
        return model.model_validate(await _json(request))
    except (ValidationError, ValueError):
        raise CapillaryError(400, 400, INVALID_INPUT) from None


def _enrollment(given: EnrollmentIn) -> Enrollment:
    return Enrollment(given.program_id, given.tier_number, given.loyalty_points, given.tier_expiry_date)


def _channel(given: CommChannelIn) -> dict[str, object]:
    channel: dict[str, object] = {
        "type": given.type,
        "value": given.value,
        "primary": given.primary,
        "verified": given.verified,
        "meta": given.meta,
    }
    return channel


def _subscription(given: SubscriptionIn) -> Subscription:
    channel = given.channel.upper()
    channel = "SMS" if channel == "MOBILE" else channel  # README: written as MOBILE, read back as SMS
    if channel not in SUBSCRIPTION_CHANNELS:
        raise CapillaryError(400, 1101, "Invalid channel type.")
    if given.priority.upper() not in ("TRANS", "BULK"):
        raise CapillaryError(400, 1102, "Invalid priority type.")
    if given.type.upper() not in ("OPTIN", "OPTOUT"):
        raise CapillaryError(400, 1106, "Invalid subscription status passed.")
    return Subscription(channel, given.priority.upper(), given.type.upper(), given.account_id)


def _name(value: str | None) -> str | None:
    return None if value is None else value[:100]


def _strings(values: dict[str, Any]) -> dict[str, str]:
    """Custom and extended field values as Capillary keeps them: strings (``true`` for a JSON true)."""
    return {k: json.dumps(v) if isinstance(v, bool) else ("" if v is None else str(v)) for k, v in values.items()}


def _warning(code: int, message: str) -> dict[str, Any]:
    return {"status": False, "code": code, "message": message}


def _token_error(code: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": False, "code": code, "message": message}]}


# -- Capillary's JSON ----------------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ORG_TZ)


def _date(moment: datetime) -> str:
    """README: ISO-8601 with the org's offset, ``2016-06-23T19:11:18+08:00``."""
    return _local(moment).isoformat(timespec="seconds")


def _by_till() -> dict[str, str]:
    return {"code": "demo.till", "description": "", "name": "demo.till", "type": "TILL"}


def _customer_json(customer: Customer, profiles: list[Profile], embeds: set[str]) -> dict[str, Any]:
    """Fetch Customer Details, Sample Response (and its ``embed`` variants)."""
    modified = max(p.modified_at for p in customer.profiles)
    body: dict[str, Any] = {
        "id": customer.id,
        "profiles": [_profile_json(customer, p) for p in profiles],
        "loyaltyInfo": {
            "loyaltyType": customer.loyalty_type,
            "attributionV2": {
                "createDate": _date(customer.registered_at),
                "createdBy": {"code": "demo.till", "name": "demo.till"},
                "modifiedBy": {"code": "demo.till", "name": "demo.till"},
                "modifiedDate": _date(modified),
            },
            # Not in the dataset: purchases follow the points earned (one point per 10 spent).
            "lifetimePurchases": sum(p.lifetime_points for p in customer.programs) * 10,
        },
        "segments": {},
        "extendedFields": dict(customer.extended_fields),
        "warnings": [],
    }
    if "points" in embeds and customer.programs:
        summary = _program_json(customer, customer.programs[0])
        del summary["programId"]
        body["pointsSummary"] = summary
    if "subscriptions" in embeds:
        body["subscriptionInfo"] = {"subscriptions": _subscriptions_json(customer)}
    if "mlp" in embeds:
        body["loyaltyProgramDetails"] = [_program_json(customer, p) for p in customer.programs]
    return body


def _profile_json(customer: Customer, profile: Profile) -> dict[str, Any]:
    body: dict[str, Any] = {
        "firstName": profile.first_name,
        "lastName": profile.last_name,
        "attribution": {
            "createDate": _date(profile.created_at),
            "createdBy": _by_till(),
            "modifiedBy": _by_till(),
            "modifiedDate": _date(profile.modified_at),
        },
        "fields": dict(profile.fields),
        "identifiers": [{"type": i.type, "value": i.value} for i in profile.identifiers],
        "commChannels": list(profile.comm_channels),
        "source": profile.source,
    }
    if profile.account_id:
        body["accountId"] = profile.account_id
    body.update(userId=customer.id, conflictingProfileList=[], autoUpdateTime=_date(profile.modified_at))
    return body


def _program_json(customer: Customer, program: Program) -> dict[str, Any]:
    """One program as Fetch Customer Loyalty Details and ``embed=mlp`` show it."""
    tiers = PROGRAMS[program.program_id][1]
    has_next = program.slab_number < len(tiers)
    return {
        "redeemed": program.redeemed,
        "expired": program.expired,
        "returned": program.returned,
        "adjusted": program.adjusted,
        "lifetimePoints": program.lifetime_points,
        "loyaltyPoints": program.loyalty_points,
        "cumulativePurchases": program.lifetime_points * 10,
        "loyaltyId": customer.loyalty_id,
        "currentSlab": tiers[program.slab_number - 1],
        "nextSlab": tiers[program.slab_number] if has_next else "",
        "nextSlabSerialNumber": program.slab_number + 1 if has_next else -1,
        "nextSlabDescription": f"{tiers[program.slab_number]} tier" if has_next else "",
        "slabSNo": program.slab_number,
        "slabExpiryDate": _date(program.slab_expiry),
        "programId": program.program_id,
    }


def _subscriptions_json(customer: Customer) -> list[dict[str, str]]:
    # The samples list TRANS before BULK, EMAIL before SMS.
    order = {p: i for i, p in enumerate(("TRANS", "BULK"))} | {c: i for i, c in enumerate(SUBSCRIPTION_CHANNELS)}
    ordered = sorted(customer.subscriptions.values(), key=lambda s: (order[s.priority], order[s.channel]))
    return [{"channel": s.channel, "priority": s.priority, "type": s.type} for s in ordered]


def _change_request_json(request: ChangeRequest) -> dict[str, Any]:
    """One item of Get Change Requests, with the sample's field names."""
    return {
        "id": request.id,
        "status": "APPROVED",
        "addedBy": TILL_ENTITY,
        "addedByParent": STORE_ENTITY,
        "updatedBy": TILL_ENTITY,
        "addedOn": _date(request.added_on),
        "updatedOn": _date(request.added_on),
        "userId": request.user_id,
        "requestId": 116_000 + request.id,
        "baseType": request.change_type,
        "reason": "",
        "comments": "",
        "warnings": [],
        "reqAdd": True,
        "oneStep": True,
    }
