"""The TWC customer service simulator: Keycloak tokens, ``X-TWC-Tenant``, ``/api/v2/customers``.

Error bodies. twc-customer-api.md lists plain HTTP statuses ("400 Bad request unable to create
customer", "401 Unauthorised", "403 Forbidden", "404 Not Found") and no error JSON. TWC is a Spring
service (its document is springfox output: ``additionalProp1``, ``value_type: INTEGER``), so errors use
Spring Boot's default error body, ``{"timestamp","status","error","message","path"}``, with the reason
phrase in ``error``. Two not-found cases differ as the document says: Find Customer by Id "returns a
Blank" (a 404 with no body) while Find Customer by Ref "returns a ResourceNotFound error" (a 404 with the
error body). Deletes of an unknown customer "return a empty response": 204, as for one that exists.

Auth (providers/README.md, TWC; TWC's authenticationsvcApi: ``auth/realms/{tenentid}/protocol/
openid-connect/token``): Keycloak client credentials per tenant realm; calls send ``Authorization:
Bearer`` and ``X-TWC-Tenant``. A missing, unknown or expired token is a 401 (with an RFC 6750
``WWW-Authenticate``, as Spring's resource server sends); a token of another tenant, or a missing or
unknown tenant header, is a 403.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from customer_graph.simulators.control import Endpoint, SimulatorState
from customer_graph.simulators.twc import wire
from customer_graph.simulators.twc.store import SEARCH_FIELDS, TwcStore
from customer_graph.simulators.twc.wire import Address, CustomerIn

DEFAULT_TOKEN_TTL_SECONDS = 300.0  # Keycloak's default access token lifespan
TENANT_HEADER = "X-TWC-Tenant"
TOKEN_PATH = "/auth/realms/{tenant}/protocol/openid-connect/token"


@dataclass(frozen=True)
class Client:
    """A confidential Keycloak client of one tenant realm."""

    tenant: str
    client_id: str
    client_secret: str


DEMO_CLIENT = Client(tenant="twc-demo", client_id="customer-graph", client_secret="twc-demo-secret")
CLIENTS = {DEMO_CLIENT.tenant: {DEMO_CLIENT.client_id: DEMO_CLIENT}}


def error_body(status: int, message: str, path: str | None = None) -> dict[str, Any]:
    """Spring Boot's default error attributes (``path`` is absent when no endpoint answered)."""
    body: dict[str, Any] = {
        "timestamp": wire.now(),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if path is not None:
        body["path"] = path
    return body


class TwcDialect:
    """Errors the simulator injects, in the same Spring body as the endpoints' own errors."""

    def error_response(self, status: int) -> Response:
        return JSONResponse(error_body(status, HTTPStatus(status).phrase), status_code=status)

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        # TWC publishes no rate limit; a Spring gateway that throttles answers 429 in its usual error body.
        return JSONResponse(
            error_body(429, "Rate limit exceeded"),
            status_code=429,
            headers={"Retry-After": str(retry_after_seconds)},
        )


class Rejected(Exception):
    """A request refused with a Spring error body (raised while checking it, answered in one place)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def build_routes(state: SimulatorState, store: TwcStore) -> list[BaseRoute]:
    """Every TWC route, each counted and subject to faults through ``state.route``."""

    def authenticate(request: Request) -> None:
        """Raise the 401/403 the resource server would answer; return when the caller may proceed."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Rejected(
                401, "Full authentication is required to access this resource", {"WWW-Authenticate": "Bearer"}
            )
        token = state.tokens.lookup(value.strip())
        if token is None:
            reason = "Jwt expired" if state.tokens.known(value.strip()) else "Malformed token"
            challenge = f'Bearer error="invalid_token", error_description="{reason}"'
            raise Rejected(401, "Unauthorized", {"WWW-Authenticate": challenge})
        tenant = request.headers.get(TENANT_HEADER)
        if not tenant or tenant not in CLIENTS or tenant != token.subject:
            raise Rejected(403, "Access Denied")

    def customer_api(endpoint: Endpoint) -> Endpoint:
        """Tenant authentication (every customer endpoint's "OAuth 2.0 Scopes"), then the endpoint; a
        ``Rejected`` raised on the way becomes its Spring error body."""

        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            try:
                authenticate(request)
                return await endpoint(request)
            except Rejected as exc:
                body = error_body(exc.status, exc.message, _route_path(request))
                return JSONResponse(body, status_code=exc.status, headers=exc.headers)

        return guarded

    def valid_customer(data: CustomerIn) -> CustomerIn:
        # providers/README.md, TWC: "email is the only mandatory field".
        if data.email is None or not data.email.strip():
            raise Rejected(400, "email is mandatory")
        return data

    def unique(data: CustomerIn, exclude_id: str | None = None) -> None:
        field = store.conflict(data, exclude_id=exclude_id)
        if field is not None:
            raise Rejected(400, f"A customer with this {field} already exists")

    def not_found() -> Rejected:
        return Rejected(404, "ResourceNotFound: customer not found")

    async def issue_token(request: Request) -> Response:
        """TWC authenticationsvcApi, Generate Token (Keycloak's token endpoint and its error bodies)."""
        tenant = request.path_params["tenant"]
        if tenant not in CLIENTS:
            return _oauth_error(404, "Realm does not exist")
        form = await request.form()
        grant_type = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:  # Keycloak also takes client_secret_basic
            client_id, client_secret = basic
        if not isinstance(grant_type, str) or not grant_type:
            return _oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
        if not isinstance(client_id, str) or not client_id:
            return _oauth_error(400, "invalid_client", "Missing client_id parameter")
        client = CLIENTS[tenant].get(client_id)
        if client is None:
            return _oauth_error(401, "invalid_client", "Invalid client credentials")
        if client_secret != client.client_secret:
            return _oauth_error(401, "unauthorized_client", "Invalid client secret")
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
        token = state.tokens.issue(tenant)
        return JSONResponse(
            {
                "access_token": token.value,
                "expires_in": math.ceil(state.tokens.ttl_seconds),
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "email profile",
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @customer_api
    async def create_customer(request: Request) -> Response:
        """twc-customer-api.md, Create a Customer: 201 with the full customer."""
        data = valid_customer(_customer(await _json(request)))
        unique(data)
        return JSONResponse(store.create(data).wire(), status_code=201)

    @customer_api
    async def upload_customers(request: Request) -> Response:
        """twc-customer-api.md, Upload Customers: 202 with no body (providers/README.md, TWC).

        The upload is accepted and processed after the answer, so only what can be seen without the data
        is refused with a 400 (a body that is not an array, a malformed element, a missing e-mail), and
        nothing is created then. An element whose unique values are already taken, by a stored customer or
        an earlier element, is skipped; TWC reports such failures as events, not in this response.
        """
        body = await _json(request)
        if not isinstance(body, list):
            raise Rejected(400, "JSON parse error: expected an array of customers")
        batch: list[CustomerIn] = []
        for index, element in enumerate(body):
            try:
                batch.append(valid_customer(_customer(element)))
            except Rejected as exc:
                raise Rejected(400, f"[{index}] {exc.message}") from None
        for data in batch:
            if store.conflict(data) is None:
                store.create(data)
        return Response(status_code=202)

    @customer_api
    async def validate_customer(request: Request) -> Response:
        """twc-customer-api.md, Validate Customer Input: 200 with no body when the input is valid.

        It validates the payload (format and mandatory fields); whether the email is free is not part of it.
        """
        valid_customer(_customer(await _json(request)))
        return Response(status_code=200)

    @customer_api
    async def update_customer(request: Request) -> Response:
        """twc-customer-api.md, Update a Customer: PUT the whole customer; what is not sent is cleared.

        The body names the customer by ``id`` or, without one, by ``customerRef`` (TWC's current customer API
        page: "Update a customer using the TWC customer identifier, or using the retailer's customerRef").
        """
        data = valid_customer(_customer(await _json(request)))
        if data.id:
            existing = store.get(data.id)
        elif data.customerRef:
            existing = store.get_by_ref(data.customerRef)
        else:
            raise Rejected(400, "id or customerRef is required")
        if existing is None:
            raise not_found()
        unique(data, exclude_id=existing.id)
        return JSONResponse(store.replace(existing, data).wire())

    @customer_api
    async def add_address(request: Request) -> Response:
        """twc-customer-api.md, Add address to Existing Customer: 200 with the full customer."""
        body = await _json(request)
        if not isinstance(body, dict):
            raise Rejected(400, "JSON parse error: expected an address object")
        try:
            address = Address.model_validate(body)
        except ValidationError as exc:
            raise _parse_error(exc) from None
        customer = store.get(request.path_params["id"])
        if customer is None:
            raise not_found()
        return JSONResponse(store.add_address(customer, address).wire())

    @customer_api
    async def get_customer(request: Request) -> Response:
        """twc-customer-api.md, Find Customer by Id: "If the customer does not exist, this method returns a
        Blank" (a 404 with no body)."""
        customer = store.get(request.path_params["id"])
        if customer is None:
            return Response(status_code=404)
        return JSONResponse(customer.wire())

    @customer_api
    async def get_customer_by_ref(request: Request) -> Response:
        """twc-customer-api.md, Find Customer by Ref: a ResourceNotFound error when there is none."""
        customer = store.get_by_ref(request.path_params["customerRef"])
        if customer is None:
            raise not_found()
        return JSONResponse(customer.wire())

    @customer_api
    async def lookup_customers(request: Request) -> Response:
        """twc-customer-api.md, Look up Customers: a bare array; every given parameter must match (AND);
        "If the customers does not exist, this method returns a empty list"."""
        criteria = {f: v for f in SEARCH_FIELDS if (v := request.query_params.get(f)) is not None and v.strip()}
        return JSONResponse([customer.wire() for customer in store.search(criteria)])

    @customer_api
    async def delete_customer(request: Request) -> Response:
        """twc-customer-api.md, Delete Customer by ID: marks the customer deleted; 204, also when unknown."""
        customer = store.get(request.path_params["id"])
        if customer is not None:
            store.delete(customer)
        return Response(status_code=204)

    @customer_api
    async def delete_customer_by_ref(request: Request) -> Response:
        """twc-customer-api.md, Delete Customer by Ref: marks the customer deleted; 204, also when unknown."""
        customer = store.get_by_ref(request.path_params["customerRef"])
        if customer is not None:
            store.delete(customer)
        return Response(status_code=204)

    # Literal paths before ``{id}``: Starlette takes the first route that matches.
    return [
        state.route(TOKEN_PATH, issue_token, ["POST"]),
        state.route("/api/v2/customers", create_customer, ["POST"]),
        state.route("/api/v2/customers", update_customer, ["PUT"]),
        state.route("/api/v2/upload-customers", upload_customers, ["POST"]),
        state.route("/api/v2/customers/validate", validate_customer, ["POST"]),
        state.route("/api/v2/customers/search", lookup_customers, ["GET"]),
        state.route("/api/v2/customers/{customerRef}/ref", get_customer_by_ref, ["GET"]),
        state.route("/api/v2/customers/{customerRef}/ref", delete_customer_by_ref, ["DELETE"]),
        state.route("/api/v2/customers/{id}/address", add_address, ["POST"]),
        state.route("/api/v2/customers/{id}", get_customer, ["GET"]),
        state.route("/api/v2/customers/{id}", delete_customer, ["DELETE"]),
    ]


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "JSON parse error: malformed request body") from None


def _customer(body: Any) -> CustomerIn:
    if not isinstance(body, dict):
        raise Rejected(400, "JSON parse error: expected a customer object")
    try:
        return CustomerIn.model_validate(body)
    except ValidationError as exc:
        raise _parse_error(exc) from None


def _parse_error(exc: ValidationError) -> Rejected:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return Rejected(400, f"JSON parse error: {field}: {first['msg'].removeprefix('Value error, ')}")


def _route_path(request: Request) -> str:
    """The path as the service sees it, without the simulator's mount prefix."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _oauth_error(status: int, error: str, description: str | None = None) -> Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status)
