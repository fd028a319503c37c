"""The Open Loyalty routes (openloyalty-customer-api.md), its JWT auth, and its error bodies.

Auth is the provider's: ``POST /api/admin/login_check`` with ``_username``/``_password`` returns a JWT and a
refresh token; ``POST /api/token/refresh`` trades the refresh token for a new JWT; every ``/api/{storeCode}``
call sends ``Authorization: Bearer <jwt>``. Tokens are JWT-shaped (header.payload.signature, payload with
``exp``) but the simulator trusts only its own :class:`TokenStore`, so expiry is controlled by the
``/__sim`` surface and ``token_ttl_seconds``.

Errors (providers/README.md, "Open Loyalty"): missing token 401 ``{"message":"Authentication Required"}``;
a rejected (invalid or expired) token 403; form errors 400 in Symfony's form shape; anything else in
FOSRest's shape ``{"error":{"code":404,"message":"Not Found"}}``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from customer_graph.simulators import SimulatorOptions
from customer_graph.simulators.control import Endpoint, SimulatorState, simulator_app
from customer_graph.simulators.dataset import Dataset
from customer_graph.simulators.openloyalty.forms import (
    EDIT_FIELDS,
    REGISTER_FIELDS,
    SERVER_TZ,
    CustomerForm,
    FormErrors,
    InvalidJson,
    customer_form,
    level_form,
    read_body,
)
from customer_graph.simulators.openloyalty.openapi import OPENAPI
from customer_graph.simulators.openloyalty.store import (
    LEVELS,
    RANGE_FILTERS,
    STORE_CODE,
    TEXT_FILTERS,
    Customer,
    OpenLoyaltyStore,
    average_transaction_amount,
    level_for_amount,
    next_level,
)

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "open"  # the Open Loyalty demo's admin password
DEFAULT_TOKEN_TTL_SECONDS = 86400.0  # lexik_jwt_authentication.token_ttl in Open Loyalty's configuration
# gesdinet_jwt_refresh_token's default lifetime: a month, so that an expired JWT can still be refreshed.
REFRESH_TOKEN_TTL_SECONDS = 2_592_000.0
DEFAULT_PER_PAGE = 10


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    if message is None:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Error"
    return {"error": {"code": status, "message": message}}


def error(status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status)


class OpenLoyaltyDialect:
    """FOSRest's exception body for injected errors.

    Open Loyalty does no rate limiting of its own (providers/README.md); a 429 would come from a proxy or
    gateway in front of it, and is given the same FOSRest shape so that clients need one error parser.
    """

    def error_response(self, status: int) -> Response:
        return error(status)

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        return JSONResponse(error_body(429), status_code=429, headers={"Retry-After": str(retry_after_seconds)})


def create_app(dataset: Dataset, options: SimulatorOptions) -> Starlette:
    store = OpenLoyaltyStore(dataset)
    state = SimulatorState(
        name="openloyalty",
        dialect=OpenLoyaltyDialect(),
        reseed=store.reseed,
        token_ttl_seconds=options.token_ttl_seconds or DEFAULT_TOKEN_TTL_SECONDS,
        seed=options.seed,
    )
    return simulator_app(state, OpenLoyaltyApi(store, state).routes(), OPENAPI)


class OpenLoyaltyApi:
    """The provider's endpoints over one store; every ``/api/{storeCode}`` route passes ``_guarded``."""

    def __init__(self, store: OpenLoyaltyStore, state: SimulatorState) -> None:
        self.store = store
        self.state = state

    def routes(self) -> list[BaseRoute]:
        route, guarded = self.state.route, self._guarded
        store = "/api/{storeCode}"
        one = store + "/customer/{customer}"
        admin_one = store + "/admin/customer/{customer}"
        # Literal paths before the {customer} parameter that would otherwise swallow them.
        return [
            route("/api/admin/login_check", self.login_check, ["POST"]),
            route("/api/token/refresh", self.refresh_token, ["POST"]),
            route(store + "/admin/customer/register", guarded(self.register), ["POST"]),
            route(store + "/customer/register", guarded(self.register), ["POST"]),
            route(store + "/admin/customer", guarded(self.list_customers), ["GET"]),
            route(store + "/customer", guarded(self.list_customers), ["GET"]),
            route(store + "/customer/check", guarded(self.check), ["GET"]),
            route(one, guarded(self.get_customer), ["GET"]),
            route(one, guarded(self.update_customer), ["PUT"]),
            route(one, guarded(self.remove_customer), ["DELETE"]),
            route(one + "/level", guarded(self.assign_level), ["POST"]),
            route(one + "/remove-manually-level", guarded(self.remove_manual_level), ["POST"]),
            route(admin_one + "/activate", guarded(self.activate), ["POST"]),
            route(admin_one + "/deactivate", guarded(self.deactivate), ["POST"]),
            route(admin_one + "/status", guarded(self.status), ["GET"]),
            route(admin_one + "/anonymize", guarded(self.anonymize), ["POST"]),
        ]

    # -- auth ----------------------------------------------------------------------------------------

    async def login_check(self, request: Request) -> Response:
        """providers/README.md, Open Loyalty: ``POST /api/admin/login_check``, ``_username``/``_password``."""
        body = await _body_or_empty(request)
        if body.get("_username") != ADMIN_USERNAME or body.get("_password") != ADMIN_PASSWORD:
            # lexik_jwt_authentication's failure response.
            return JSONResponse({"code": 401, "message": "Bad credentials"}, status_code=401)
        refresh = self.state.tokens.issue(ADMIN_USERNAME, kind="refresh", ttl_seconds=REFRESH_TOKEN_TTL_SECONDS)
        return JSONResponse({"token": self._issue_jwt(ADMIN_USERNAME), "refresh_token": refresh.value})

    async def refresh_token(self, request: Request) -> Response:
        """providers/README.md, Open Loyalty: ``POST /api/token/refresh`` with ``refresh_token``.

        gesdinet_jwt_refresh_token answers with a new JWT and the same refresh token (it is not single-use).
        """
        body = await _body_or_empty(request)
        raw = body.get("refresh_token")
        refresh = self.state.tokens.lookup(raw if isinstance(raw, str) else None, kind="refresh")
        if refresh is None:
            return JSONResponse({"code": 401, "message": "Bad credentials"}, status_code=401)
        return JSONResponse({"token": self._issue_jwt(refresh.subject), "refresh_token": refresh.value})

    def _issue_jwt(self, username: str) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256"}
        payload = {
            "roles": ["ROLE_ADMIN"],
            "username": username,
            "iat": now,
            "exp": now + int(self.state.tokens.ttl_seconds),
        }
        # The store's random part becomes the signature, so the value is header.payload.signature.
        prefix = f"{_b64url(header)}.{_b64url(payload)}."
        return self.state.tokens.issue(username, prefix=prefix).value

    def _guarded(self, endpoint: Endpoint) -> Endpoint:
        """The firewall first (401 without a token, 403 with a rejected one), then the store code."""

        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return JSONResponse({"message": "Authentication Required"}, status_code=401)
            value = value.strip()
            if self.state.tokens.lookup(value) is None:
                # The README says a rejected token is a 403; the message tells expired from forged, as
                # lexik's does, so that a client can see why it must log in or refresh.
                tokens = self.state.tokens
                expired = tokens.known(value) and tokens.lookup(value, kind="refresh") is None
                return error(403, "Expired JWT Token" if expired else "Invalid JWT Token")
            if request.path_params.get("storeCode") != STORE_CODE:
                return error(404)
            try:
                return await endpoint(request)
            except InvalidJson as exc:
                # FOSRest's body listener refuses a JSON body that does not parse, before any controller.
                return error(400, str(exc))

        return guarded

    # -- customers -----------------------------------------------------------------------------------

    async def register(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Register a new customer as an admin" and "Create a new customer".

        Without a ``customer`` form the form is not submitted: 400 with every child and no message (the
        document's third example).
        """
        body = await read_body(request)
        if not isinstance(body.get("customer"), dict):
            return _form_error(FormErrors(), REGISTER_FIELDS)
        form = customer_form(body, self.store, current_id=None)
        if form.errors:
            return _form_error(form.errors, REGISTER_FIELDS)
        if form.company_incomplete:
            return error(500)
        values = form.values
        now = datetime.now(UTC)
        level_id = values.get("levelId")
        customer = Customer(
            customer_id=str(uuid.uuid4()),
            first_name=values["firstName"],
            last_name=values["lastName"],
            email=values["email"],
            phone=values["phone"],
            gender=values["gender"],
            birth_date=values.get("birthDate"),
            address=values["address"],
            company=values.get("company"),
            loyalty_card_number=values["loyaltyCardNumber"],
            agreement1=values["agreement1"],
            agreement2=values["agreement2"],
            agreement3=values["agreement3"],
            active=True,
            created_at=values.get("createdAt") or now,
            updated_at=now,
            level_id=level_id or LEVELS[0].level_id,
            manually_assigned_level=level_id is not None,
            labels=values.get("labels", []),
        )
        self.store.put(customer)
        return JSONResponse({"customerId": customer.customer_id, "email": customer.email})

    async def get_customer(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Get customer details"."""
        customer = self._customer(request)
        if customer is None:
            return error(404)
        return JSONResponse(customer_json(customer, detail=True))

    async def update_customer(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Update a customer".

        Omitted fields are untouched, empty ones erased; address and company are replaced whole, and a
        company with only one of name and NIP fails with a 500.
        """
        customer = self._customer(request)
        if customer is None:
            return error(404)
        body = await read_body(request)
        if not isinstance(body.get("customer"), dict):
            return _form_error(FormErrors(), EDIT_FIELDS)  # not submitted: Symfony lists no message
        form = customer_form(body, self.store, current_id=customer.customer_id)
        if form.errors:
            return _form_error(form.errors, EDIT_FIELDS)
        if form.company_incomplete:
            return error(500)
        self._save(customer, **_edits(form))
        return JSONResponse({"customerId": customer.customer_id})

    async def list_customers(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Get customers" and "Get a customer list as an admin".

        Parameters come from the query string or, as in the document's curl examples, a form body.
        """
        params = {k: v for k, v in (await read_body(request)).items() if isinstance(v, str)}
        params.update(request.query_params)
        strict = params.get("strict", "0").strip().lower() in {"1", "true"}
        text = {name: params[name] for name in TEXT_FILTERS if params.get(name, "").strip()}
        ranges = {
            name: (_number(params.get(name + "From")), _number(params.get(name + "To"))) for name in RANGE_FILTERS
        }
        ranges = {name: bounds for name, bounds in ranges.items() if bounds != (None, None)}
        found = self.store.search(text, ranges, strict=strict)
        sort = params.get("sort", "")
        descending = params.get("direction", "").upper() == "DESC"
        if sort not in SORT_KEYS:
            # Unsorted lists come newest first, as the document's examples do.
            sort, descending = "createdAt", True
        key = SORT_KEYS[sort]
        present = sorted((c for c in found if key(c) is not None), key=key, reverse=descending)
        ordered = present + [c for c in found if key(c) is None]
        page = max(1, _integer(params.get("page")) or 1)
        per_page = _integer(params.get("perPage")) or DEFAULT_PER_PAGE
        if per_page < 1:
            per_page = DEFAULT_PER_PAGE
        window = ordered[(page - 1) * per_page : page * per_page]
        return JSONResponse({"customers": [customer_json(c) for c in window], "total": len(found)})

    async def check(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Check if customer with given phone number or email exists"."""
        value = request.query_params.get("emailOrPhone", "").strip()
        matches = {self.store.id_by_email(value), self.store.id_by_phone(value)} - {None}
        return JSONResponse({"total": len(matches)})

    async def remove_customer(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Remove customer"."""
        if not self.store.remove(request.path_params["customer"]):
            return error(404)
        return Response(status_code=204)

    async def activate(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Activate a customer"."""
        return self._set_active(request, active=True)

    async def deactivate(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Deactivate a customer"."""
        return self._set_active(request, active=False)

    def _set_active(self, request: Request, *, active: bool) -> Response:
        customer = self._customer(request)
        if customer is None:
            return error(404)
        self._save(customer, active=active)
        return Response(status_code=200)

    async def status(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Get customer status"."""
        customer = self._customer(request)
        if customer is None:
            return error(404)
        return JSONResponse(status_json(customer))

    async def anonymize(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Anonymize customer".

        The document does not say what is kept: personal data goes (names become "Anonymous", the rest is
        erased), while the id, points, level and transactions stay, as they are the program's own records.
        """
        customer = self._customer(request)
        if customer is None:
            return error(404)
        self._save(
            customer,
            first_name="Anonymous",
            last_name="Anonymous",
            email=None,
            phone=None,
            gender=None,
            birth_date=None,
            address={},
            company=None,
            loyalty_card_number=None,
            labels=[],
            agreement2=False,
            agreement3=False,
        )
        return Response(status_code=204)

    async def assign_level(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Assign a customer to a level" (form field ``levelId``)."""
        customer = self._customer(request)
        if customer is None:
            return error(404)
        level_id, errors = level_form(await read_body(request))
        if level_id is None:
            return JSONResponse(errors.body(("levelId",)), status_code=400)
        self._save(customer, level_id=level_id, manually_assigned_level=True)
        return JSONResponse([])

    async def remove_manual_level(self, request: Request) -> Response:
        """openloyalty-customer-api.md, "Remove a customer from a manually assigned level".

        The level is recalculated from the transactions amount.
        """
        customer = self._customer(request)
        if customer is None:
            return error(404)
        level = level_for_amount(customer.transactions_amount)
        self._save(customer, level_id=level.level_id, manually_assigned_level=False)
        return Response(status_code=204)

    # -- shared --------------------------------------------------------------------------------------

    def _customer(self, request: Request) -> Customer | None:
        return self.store.get(request.path_params["customer"])

    def _save(self, customer: Customer, **changes: Any) -> None:
        self.store.put(
            dataclasses.replace(customer, **changes, updated_at=datetime.now(UTC), version=customer.version + 1)
        )


# -- wire ------------------------------------------------------------------------------------------


def ol_datetime(value: datetime) -> str:
    """Open Loyalty's dates: ``2018-02-02T11:39:17+0100`` in the server's zone."""
    return value.astimezone(SERVER_TZ).strftime("%Y-%m-%dT%H:%M:%S%z")


def ol_birth_date(value: date) -> str:
    # Birth dates are stored as midnight UTC and shown in the server's zone: "1990-09-11T02:00:00+0200".
    return ol_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))


def customer_json(customer: Customer, *, detail: bool = False) -> dict[str, Any]:
    """A customer as the list and details endpoints return it; absent (null) fields are left out."""
    level = customer.level
    body: dict[str, Any] = {
        "customerId": customer.customer_id,
        "active": customer.active,
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "gender": customer.gender,
        "email": customer.email,
        "phone": customer.phone,
        "birthDate": ol_birth_date(customer.birth_date) if customer.birth_date else None,
        "address": customer.address,
        "company": customer.company,
        "loyaltyCardNumber": customer.loyalty_card_number,
        "createdAt": ol_datetime(customer.created_at),
        # The document's details example repeats the level id as "id".
        "id": level.level_id if detail else None,
        "levelId": level.level_id,
        "agreement1": customer.agreement1,
        "agreement2": customer.agreement2,
        "agreement3": customer.agreement3,
        "status": {
            "availableTypes": ["new", "active", "blocked", "deleted"],
            "availableStates": ["no-card", "card-sent", "with-card"],
            "type": "active" if customer.active else "blocked",
            "state": "with-card" if customer.loyalty_card_number else "no-card",
        },
        "updatedAt": ol_datetime(customer.updated_at),
        "campaignPurchases": [],
        "transactionsCount": customer.transactions_count,
        "transactionsAmount": customer.transactions_amount,
        "transactionsAmountWithoutDeliveryCosts": customer.transactions_amount,
        "amountExcludedForLevel": 0,
        "averageTransactionAmount": average_transaction_amount(customer),
        "lastTransactionDate": ol_datetime(customer.last_transaction_at) if customer.last_transaction_at else None,
        "labels": customer.labels,
        "level": {
            "levelId": {"id": level.level_id, "levelId": level.level_id},
            "name": level.name,
            "translations": {"en": {"name": level.name}, "pl": {"name": level.polish_name}},
        },
        "version": customer.version if detail else None,
        "currency": "eur",
        "segments": [] if detail else None,
        "levelPercent": level.percent,
    }
    return {key: value for key, value in body.items() if value is not None}


def status_json(customer: Customer) -> dict[str, Any]:
    """The admin status: points and the level ladder (levels are reached by transactions amount)."""
    level, upper = customer.level, next_level(customer.level)
    body: dict[str, Any] = {
        "firstName": customer.first_name,
        "lastName": customer.last_name,
        "customerId": customer.customer_id,
        "points": customer.points,
        "p2pPoints": 0,
        "totalEarnedPoints": round(customer.points + customer.used_points + customer.expired_points, 2),
        "usedPoints": customer.used_points,
        "expiredPoints": customer.expired_points,
        "lockedPoints": 0,
        "level": level.percent,
        "levelName": level.name,
        "levelConditionValue": level.condition_value,
    }
    if upper is not None:
        body |= {
            "nextLevel": upper.percent,
            "nextLevelName": upper.name,
            "nextLevelConditionValue": upper.condition_value,
            "transactionsAmountToNextLevel": round(max(0.0, upper.condition_value - customer.transactions_amount), 2),
        }
    body |= {
        "transactionsAmountWithoutDeliveryCosts": customer.transactions_amount,
        "averageTransactionsAmount": f"{average_transaction_amount(customer):.2f}",
        "transactionsCount": customer.transactions_count,
        "transactionsAmount": customer.transactions_amount,
        "currency": "eur",
        "pointsExpiringNextMonth": 0,
    }
    return {key: value for key, value in body.items() if value is not None}


SORT_KEYS: dict[str, Callable[[Customer], Any]] = {
    "customerId": lambda c: c.customer_id,
    "firstName": lambda c: c.first_name,
    "lastName": lambda c: c.last_name,
    "email": lambda c: c.email.lower() if c.email else None,
    "phone": lambda c: c.phone,
    "loyaltyCardNumber": lambda c: c.loyalty_card_number,
    "createdAt": lambda c: c.created_at,
    "updatedAt": lambda c: c.updated_at,
    "active": lambda c: c.active,
    "levelId": lambda c: c.level_id,
    "transactionsCount": lambda c: c.transactions_count,
    "transactionsAmount": lambda c: c.transactions_amount,
    "averageTransactionAmount": average_transaction_amount,
    "lastTransactionDate": lambda c: c.last_transaction_at,
}


def _edits(form: CustomerForm) -> dict[str, Any]:
    """The customer attributes an edit form changes (only the fields that were sent)."""
    names = {
        "firstName": "first_name",
        "lastName": "last_name",
        "email": "email",
        "phone": "phone",
        "gender": "gender",
        "birthDate": "birth_date",
        "createdAt": "created_at",
        "address": "address",
        "company": "company",
        "loyaltyCardNumber": "loyalty_card_number",
        "labels": "labels",
        "agreement1": "agreement1",
        "agreement2": "agreement2",
        "agreement3": "agreement3",
    }
    changes = {names[key]: value for key, value in form.values.items() if key in names}
    if changes.get("created_at", True) is None:
        del changes["created_at"]  # the creation date can be moved, not erased
    if level_id := form.values.get("levelId"):
        changes |= {"level_id": level_id, "manually_assigned_level": True}
    return changes


def _form_error(errors: FormErrors, fields: tuple[str, ...]) -> Response:
    return JSONResponse(errors.body(fields), status_code=400)


async def _body_or_empty(request: Request) -> dict[str, Any]:
    try:
        return await read_body(request)
    except InvalidJson:
        return {}


def _b64url(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _integer(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None
