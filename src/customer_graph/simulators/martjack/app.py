"""The Martjack (Capillary Anywhere Commerce) developer API's customer routes, for one demo merchant.

Every call runs the same gate before its handler (``MartjackApi._endpoint``): the merchant app's
authentication (1003, HTTP 401), the merchant id in the path (1030, HTTP 403: an app only reaches its own
merchant), then the body, JSON or ``InputFormat=application/json&InputData={...}`` (1016). Handlers raise
:class:`MartjackError` to refuse; it is rendered as Martjack's envelope in that one place.

Routes match case-insensitively, as IIS does: the document itself writes ``/developerapi/`` and
``/DeveloperAPI/``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from customer_graph.simulators.control import Endpoint, SimulatorState, Token
from customer_graph.simulators.martjack.auth import GUEST_PREFIX, App, CustomerSessions, MerchantAuth
from customer_graph.simulators.martjack.store import (
    PROFILE_ATTRIBUTES,
    Customer,
    CustomerStore,
    ShippingAddress,
    country_name,
    new_guid,
    state_name,
)
from customer_graph.simulators.martjack.wire import (
    SUCCESS,
    CustomerIn,
    CustomerSearchIn,
    LoginIn,
    MartjackError,
    ShippingAddressIn,
    UserProfileIn,
    address_json,
    customer_json,
    envelope,
    invalid,
    net_date,
    parse,
    parse_birth_date,
    saved_address_json,
    section,
    token_json,
)

DEMO_MERCHANT_ID = "7c3f9a2e-5b1d-4e8a-9f60-2d4b8c1e7a35"
DEMO_APP = App(merchant_id=DEMO_MERCHANT_ID, public_key="CGDEMOPK", secret="CGDEMO7SECRETK3YV4LU3S1M")
DEFAULT_TOKEN_TTL_SECONDS = 3600.0


class MartjackDialect:
    """Martjack's envelope for answers the simulator, not an endpoint, gives."""

    _CODES = {401: "1003", 403: "1030", 404: "1009", 429: "429", 440: "440"}

    def error_response(self, status: int) -> Response:
        code = self._CODES.get(status, "1000" if status >= 500 else "1016")
        return JSONResponse(envelope(code), status_code=status)

    def rate_limited_response(self, retry_after_seconds: int) -> Response:
        return JSONResponse(envelope("429"), status_code=429, headers={"Retry-After": str(retry_after_seconds)})


@dataclass
class Call:
    """One authenticated call: the request, the merchant it acts for, and its parsed body."""

    request: Request
    merchant_id: str
    payload: dict[str, Any]

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])


Handler = Callable[[Call], dict[str, Any]]


class MartjackApi:
    def __init__(self, store: CustomerStore, state: SimulatorState) -> None:
        self.store = store
        self.auth = MerchantAuth([DEMO_APP], state.tokens)
        self.sessions = CustomerSessions(state.tokens)
        self._state = state

    def routes(self) -> list[BaseRoute]:
        # Literal segments first: Starlette takes the first route that matches.
        c = "/developerapi/Customer"
        table: list[tuple[str, Endpoint, list[str]]] = [
            ("/developerapi/OAuth/Token/{PublicKey}", self.oauth_token, ["GET", "POST"]),
            (f"{c}/GetAccessToken/{{merchantId}}", self._endpoint(self.get_access_token), ["POST"]),
            (f"{c}/AddShippingAddress/{{merchantId}}", self._endpoint(self.add_shipping_address), ["POST"]),
            (f"{c}/GetShippingAddress/{{merchantId}}/{{UserId}}", self._endpoint(self.get_shipping_address), ["GET"]),
            (
                f"{c}/DeleteShippingAddress/{{merchantId}}/{{UserId}}/{{ShippingAddressId}}",
                self._endpoint(self.delete_shipping_address),
                ["GET"],
            ),
            (f"{c}/Activation/{{merchantId}}/{{UserId}}", self._endpoint(self.activation), ["GET"]),
            (f"{c}/DeActivation/{{merchantId}}/{{UserId}}", self._endpoint(self.deactivation), ["GET"]),
            (f"{c}/{{merchantId}}/Create", self._endpoint(self.create), ["POST"]),
            (f"{c}/{{merchantId}}/login", self._endpoint(self.login), ["POST"]),
            (f"{c}/{{merchantId}}/Logout", self._endpoint(self.logout), ["POST"]),
            (f"{c}/{{merchantId}}/Search", self._endpoint(self.search), ["POST"]),
            (f"{c}/{{merchantId}}/Update", self._endpoint(self.update), ["POST"]),
            (f"{c}/{{merchantId}}/UpdateUserProfile", self._endpoint(self.update_user_profile), ["POST"]),
            (f"{c}/{{merchantId}}/Count", self._endpoint(self.count), ["GET"]),
            (f"{c}/{{merchantId}}/{{accesstoken}}/ValidateToken", self._endpoint(self.validate_token), ["GET", "POST"]),
            (
                f"{c}/{{merchantId}}/{{UserId}}/ChangePassword={{NewPassword}}",
                self._endpoint(self.change_password),
                ["POST"],
            ),
            (f"{c}/{{merchantId}}/{{UserId}}", self._endpoint(self.get_customer), ["GET"]),
        ]
        routes: list[BaseRoute] = []
        for path, endpoint, methods in table:
            route = self._state.route(path, endpoint, methods)
            route.path_regex = re.compile(route.path_regex.pattern, re.IGNORECASE)
            routes.append(route)
        return routes

    # -- the gate every customer call passes ------------------------------------------------------

    def _endpoint(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                body = await request.body()
                app = self.auth.authenticate(request, body)
                if app is None:
                    raise MartjackError("1003")
                if request.path_params["merchantId"].lower() != app.merchant_id:
                    raise MartjackError("1030")
                payload = _parse_body(request, body) if request.method == "POST" else {}
                return JSONResponse(handler(Call(request, app.merchant_id, payload)))
            except MartjackError as refusal:
                return JSONResponse(refusal.body(), status_code=refusal.status)

        endpoint.__name__ = handler.__name__
        return endpoint

    def _session(self, call: Call) -> Token:
        """The customer session named by the ``accesstoken`` header; none, expired or logged out is 440."""
        token = self.sessions.lookup(call.request.headers.get("accesstoken"))
        if token is None:
            raise MartjackError("440")
        return token

    def _customer(self, user_id: str | None, missing: str) -> Customer:
        customer = self.store.get(user_id or "")
        if customer is None:
            raise MartjackError(missing)
        return customer

    @staticmethod
    def _acting_for(session: Token, customer: Customer) -> None:
        # A guest session (GetAccessToken) is how a merchant back end acts for any customer; a login
        # session acts for its own customer only.
        if not session.subject.startswith(GUEST_PREFIX) and session.subject != customer.user_id:
            raise MartjackError("1030")

    # -- merchant authentication --------------------------------------------------------------------

    async def oauth_token(self, request: Request) -> Response:
        """README.md, Martjack: "a JWT from /OAuth/Token/{PublicKey}". Martjack's Introduction issues it for
        the app's public key alone; the response shape is not published, so it takes the customer Token's."""
        app = self.auth.apps.get(request.path_params["PublicKey"])
        if app is None:
            refusal = MartjackError("1003")
            return JSONResponse(refusal.body(), status_code=refusal.status)
        token = self.auth.issue_jwt(app)
        return JSONResponse(
            envelope(
                Token={"AccessToken": token.value, "issued_at": net_date(time.time()), "MerchantId": app.merchant_id}
            )
        )

    # -- customer accounts ------------------------------------------------------------------------------

    def create(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Create Customer Account: UserName and Password are mandatory, UserName
        is unique."""
        data = parse(CustomerIn, section(call.payload, "customer"))
        user_name = (data.UserName or "").strip()
        if not user_name:
            raise invalid("UserName is required")
        if not data.Password:
            raise invalid("Password is required")
        birth_date = parse_birth_date(data.BirthDate)
        if self.store.by_name(user_name) is not None:
            # Not in the document; worded like Martjack's "Voucher already exists" (1014).
            raise MartjackError("1016", "User already exists")
        customer = self.store.add(
            Customer(
                user_id=new_guid(),
                user_info_id=new_guid(),
                user_name=user_name,
                password=data.Password,
                fields=data.profile_fields(),
                birth_date=birth_date,
                receive_offers=bool(data.IsReceiveOffers),
                communication_type=data.CommunicationType or "nochannel",
            )
        )
        return envelope(Customer=customer_json(customer, call.merchant_id, created=True))

    def get_customer(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Get Customer Details: 1009 when there is no such UserId."""
        customer = self._customer(call.path("UserId"), "1009")
        return envelope(Customer=customer_json(customer, call.merchant_id))

    def update(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Update Customer Details: needs the ``accesstoken`` header; the customer
        object is written whole (design.md, write semantics), except UserName, which cannot change, and
        CommunicationType, which Update does not list."""
        session = self._session(call)
        data = parse(CustomerIn, section(call.payload, "customer"))
        if not data.UserId:
            raise invalid("UserId is required")
        customer = self._customer(data.UserId, "1017")
        self._acting_for(session, customer)
        birth_date = parse_birth_date(data.BirthDate)
        customer.fields = data.profile_fields()
        customer.birth_date = birth_date
        # A .NET bool property that the body leaves out binds as false: whole-object semantics.
        customer.receive_offers = bool(data.IsReceiveOffers)
        if data.CommunicationType:
            customer.communication_type = data.CommunicationType
        return envelope()

    def update_user_profile(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Update Profile Attributes (Custom Fields): needs ``accesstoken``; an
        attribute the merchant has not configured is invalid input; an empty value clears the attribute."""
        session = self._session(call)
        data = parse(UserProfileIn, section(call.payload, "UserProfile"))
        if not data.UserId:
            raise invalid("UserId is required")
        customer = self._customer(data.UserId, "1017")
        self._acting_for(session, customer)
        updates: dict[int, str] = {}
        for attribute in data.attributes():
            attribute_id = _int(attribute.ProfileAttributeId, "ProfileAttributeId")
            if attribute_id not in PROFILE_ATTRIBUTES:
                raise invalid("ProfileAttributeId")
            updates[attribute_id] = attribute.ProfileAttributeValue or ""
        for attribute_id, value in updates.items():
            if value:
                customer.attributes[attribute_id] = value
            else:
                customer.attributes.pop(attribute_id, None)
        return envelope(message="Updated Successfully")

    def search(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Fetch Customers (Search): UserName *contains* the keyword, no paging."""
        data = parse(CustomerSearchIn, section(call.payload, "customerSearch"))
        if not (data.UserName or "").strip():
            raise invalid("UserName is required")
        found = self.store.search(data.UserName or "")
        if not found:
            raise MartjackError("1009")
        return envelope(Customers=[customer_json(c, call.merchant_id) for c in found])

    def count(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Get Customer Count (no ErrorCode in its success body)."""
        total = self.store.count()
        if total == 0:
            raise MartjackError("1009")
        return {"Count": total, "Message": "Successful", "messageCode": SUCCESS}

    def change_password(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Reset Password: the new password is in the path."""
        customer = self._customer(call.path("UserId"), "1017")
        if not call.path("NewPassword").strip():
            raise invalid("newPassword is required")
        customer.password = call.path("NewPassword")
        return envelope(message="Your Password changed Successfully")

    def activation(self, call: Call) -> dict[str, Any]:
        """README.md, Martjack: GET /Customer/Activation/{merchantId}/{UserId} (not in the document; the
        success body is the plain envelope)."""
        self._customer(call.path("UserId"), "1017").active = True
        return envelope()

    def deactivation(self, call: Call) -> dict[str, Any]:
        """README.md, Martjack: GET /Customer/DeActivation/{merchantId}/{UserId}. A deactivated customer can
        no longer log in (1042) but is still found by Get and Search."""
        self._customer(call.path("UserId"), "1017").active = False
        return envelope()

    # -- customer sessions ------------------------------------------------------------------------------

    def login(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Customer Login (with Credentials). Wrong password (1040), unknown user
        (1041) and a deactivated account (1042) use Martjack's published response codes."""
        data = parse(LoginIn, call.payload)
        if not (data.username or "").strip():
            raise invalid("username is required")
        if not data.password:
            raise invalid("password is required")
        customer = self.store.by_name(data.username or "")
        if customer is None:
            raise MartjackError("1041")
        if customer.password != data.password:
            raise MartjackError("1040")
        if not customer.active:
            raise MartjackError("1042")
        session_id = self.sessions.open(customer.user_id)
        return envelope(
            message="Logged In successfully",
            Token=token_json(session_id, customer.user_id, call.merchant_id, time.time()),
        )

    def get_access_token(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Get Access Token: a session for a guest who did not log in."""
        guest_id = new_guid()
        session_id = self.sessions.open(GUEST_PREFIX + guest_id)
        return envelope(
            message="Logged In successfully", Token=token_json(session_id, guest_id, call.merchant_id, time.time())
        )

    def validate_token(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Validate Access Token: an expired, logged-out or unknown token is 440."""
        if self.sessions.lookup(call.path("accesstoken")) is None:
            raise MartjackError("440")
        return envelope(SessionValid="true")

    def logout(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Customer Logout: ends the session named by the ``accesstoken`` header."""
        self._session(call)
        self.sessions.close(call.request.headers["accesstoken"])
        return envelope(message="Logout Successfully")

    # -- shipping addresses -------------------------------------------------------------------------------

    def add_shipping_address(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Add/Update Shipping Address: id 0 creates, another id replaces that
        address whole; shippingaddressid, userId, firstname, lastname and address1 are mandatory."""
        data = parse(ShippingAddressIn, section(call.payload, "shippingaddress"))
        for name in ("shippingaddressid", "userId", "firstname", "lastname", "address1"):
            if not (getattr(data, name) or "").strip():
                raise invalid(f"{name} is required")
        address_id = _int(data.shippingaddressid, "shippingaddressid")
        customer = self._customer(data.userId, "1017")
        if address_id == 0:
            address_id = self.store.new_address_id()
        elif address_id not in customer.addresses:
            raise MartjackError("1009")
        customer.addresses[address_id] = ShippingAddress(
            id=address_id,
            user_id=customer.user_id,
            first_name=data.firstname or "",
            last_name=data.lastname or "",
            address1=data.address1 or "",
            address2=data.address2 or "",
            state=data.state or "",
            pin=data.pin or "",
            country_code=data.countrycode or "",
            city_code=data.citycode or "",
            phone_no=data.phoneno or "",
            mobile_no=data.mobileno or "",
            email=data.email or "",
            other_city=data.othercity or "",
            city_name=data.othercity or "",
            state_name=state_name(data.state or ""),
            country_name=country_name(data.countrycode or ""),
            address_type=data.AddressType or "",
        )
        return envelope(ShippingAddresses=[saved_address_json(address_id)])

    def get_shipping_address(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Get Customer's Shipping Address: 1009 for no customer or no address."""
        customer = self._customer(call.path("UserId"), "1009")
        if not customer.addresses:
            raise MartjackError("1009")
        return envelope(ShippingAddresses=[address_json(a) for _, a in sorted(customer.addresses.items())])

    def delete_shipping_address(self, call: Call) -> dict[str, Any]:
        """martjack-customer-api.md, Delete Customer's Shipping Address (no ErrorCode in its success body)."""
        customer = self._customer(call.path("UserId"), "1009")
        address_id = _int(call.path("ShippingAddressId"), "ShippingAddressId")
        if customer.addresses.pop(address_id, None) is None:
            raise MartjackError("1009")
        return {"Message": "Success", "messageCode": SUCCESS}


def _parse_body(request: Request, body: bytes) -> dict[str, Any]:
    """A POST body: JSON, or form-encoded ``InputFormat=application/json&InputData={...}`` (Martjack's own
    way, README.md), or plain form fields."""
    if not body.strip():
        return {}
    try:
        text = body.decode()
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = {k.lower(): v for k, v in parse_qsl(text, keep_blank_values=True)}
            if "inputdata" not in form:
                return form
            if form.get("inputformat", "application/json").lower() != "application/json":
                raise invalid("InputFormat")
            text = form["inputdata"]
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise invalid("the body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise invalid("the body is not a JSON object")
    return value


def _int(value: str | None, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise invalid(name) from exc
