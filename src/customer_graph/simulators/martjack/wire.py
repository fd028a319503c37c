"""Martjack's wire format: the ``messageCode`` envelope, its dates, request bodies, and customer JSON.

Martjack is an ASP.NET application: JSON property names bind case-insensitively (``username`` and
``UserName`` are the same field), numbers bind to string properties, and dates print the .NET way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from customer_graph.simulators.martjack.store import (
    PROFILE_ATTRIBUTES,
    PROFILE_FIELDS,
    Customer,
    ShippingAddress,
)

SUCCESS = "1004"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"

# messageCode -> Message. 1000-1030 are the document's Success/Error Codes tables (spelled as there, typo
# included); 429 and 440 are README.md's; 1040-1042 are Martjack's published response codes for logins.
MESSAGES = {
    "1000": "Unhandled Exception",
    "1003": "Authentication Failed",
    "1004": "Successful",
    "1009": "No Record Found",
    "1016": "Invalid Input",
    "1017": "User doesn't exit",
    "1030": "Service is not Authorized",
    "1040": "Invalid password",
    "1041": "No user account exists with the provided details",
    "1042": "Your account has not been activated yet. Please try later",
    "429": "Rate limit exceeded",
    "440": "Session expired",
}
# Failures come back as HTTP 200 with the code in the envelope (README.md, Martjack), except where the
# web server itself refuses: authentication (401), authorization (403), the rate limit and crashes.
HTTP_STATUS = {"1003": 401, "1030": 403, "429": 429, "1000": 500}

# The offset Martjack's .NET serializer appends to /Date(...)/ values: its servers run on India time.
SERVER_UTC_OFFSET = "+0530"
UNSET_BIRTH_DATE = "1/1/1900"  # what a customer without a birth date shows (the document's Search example)
_BIRTH_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
)


class MartjackError(Exception):
    """A refusal in Martjack's envelope; raised anywhere in a call, rendered in one place."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES[code]
        self.status = HTTP_STATUS.get(code, 200)

    def body(self) -> dict[str, Any]:
        return envelope(self.code, self.message)


def envelope(code: str = SUCCESS, message: str | None = None, **payload: Any) -> dict[str, Any]:
    # A failure's ErrorCode repeats its messageCode: non-zero, and it tells the failures apart.
    return {
        "messageCode": code,
        "Message": message or MESSAGES[code],
        **payload,
        "ErrorCode": 0 if code == SUCCESS else int(code),
    }


def invalid(reason: str) -> MartjackError:
    return MartjackError("1016", f"Invalid Input: {reason}")


# -- dates --------------------------------------------------------------------------------------------


def net_date(epoch_seconds: float) -> str:
    """``/Date(1534759560943+0530)/``: UTC milliseconds, then the server's offset."""
    return f"/Date({int(epoch_seconds * 1000)}{SERVER_UTC_OFFSET})/"


def parse_birth_date(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    for fmt in _BIRTH_DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    raise invalid("BirthDate")


def format_birth_date(value: datetime | None, *, with_time: bool) -> str:
    """US style: ``1/1/1994`` as Get and Search show it, ``1/1/1994 12:00:00 PM`` as Create echoes it."""
    if value is None:
        return UNSET_BIRTH_DATE + (" 12:00:00 AM" if with_time else "")
    day = f"{value.month}/{value.day}/{value.year}"
    if not with_time:
        return day
    hour = value.hour % 12 or 12
    return f"{day} {hour}:{value.minute:02d}:{value.second:02d} {'PM' if value.hour >= 12 else 'AM'}"


# -- request bodies -------------------------------------------------------------------------------------


class WireBody(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class CustomerIn(WireBody):
    """``customer`` of Create and Update (martjack-customer-api.md, Create Customer Account / Update)."""

    UserId: str | None = None
    UserInfoId: str | None = None
    UserName: str | None = None
    Password: str | None = None
    BirthDate: str | None = None
    IsReceiveOffers: bool | None = None
    CommunicationType: str | None = None
    FirstName: str | None = None
    LastName: str | None = None
    PostalAddress: str | None = None
    AlternateEmail: str | None = None
    City: str | None = None
    Pin: str | None = None
    State: str | None = None
    Country: str | None = None
    PhoneNo: str | None = None
    Street: str | None = None
    MobileNo: str | None = None
    Gender: str | None = None
    Occupation: str | None = None
    Industry: str | None = None
    OtherArea: str | None = None
    CountryName: str | None = None
    StateName: str | None = None
    CityName: str | None = None
    AreaName: str | None = None
    OtherCity: str | None = None

    def profile_fields(self) -> dict[str, str]:
        values = self.model_dump()
        return {name: values[name] or "" for name in PROFILE_FIELDS}


class LoginIn(WireBody):
    username: str | None = None
    password: str | None = None


class CustomerSearchIn(WireBody):
    UserName: str | None = None


class ProfileAttributeIn(WireBody):
    ProfileAttributeId: str | None = None
    ProfileAttributeValue: str | None = None


class UserProfileIn(WireBody):
    UserId: str | None = None
    ProfileAttributes: dict[str, Any] | None = None

    def attributes(self) -> list[ProfileAttributeIn]:
        """``ProfileAttributes.ProfileAttribute`` is one object in the document, a list when several."""
        if not self.ProfileAttributes:
            raise invalid("ProfileAttributes")
        items = section(self.ProfileAttributes, "ProfileAttribute", many=True)
        return [parse(ProfileAttributeIn, item) for item in items]


class ShippingAddressIn(WireBody):
    shippingaddressid: str | None = None
    userId: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    address1: str | None = None
    address2: str | None = None
    state: str | None = None
    pin: str | None = None
    countrycode: str | None = None
    citycode: str | None = None
    phoneno: str | None = None
    mobileno: str | None = None
    email: str | None = None
    othercity: str | None = None
    AddressType: str | None = None


Model = TypeVar("Model", bound=WireBody)


def section(payload: dict[str, Any], name: str, *, many: bool = False) -> Any:
    """The member ``name`` of a body, matched case-insensitively; missing or not an object is 1016."""
    value = next((v for k, v in payload.items() if k.lower() == name.lower()), None)
    if many and isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    if not isinstance(value, dict):
        raise invalid(name)
    return [value] if many else value


def parse(model: type[Model], value: Any) -> Model:
    if not isinstance(value, dict):
        raise invalid(model.__name__.removesuffix("In"))
    names = {name.lower(): name for name in model.model_fields}
    try:
        return model.model_validate({names.get(k.lower(), k): v for k, v in value.items()})
    except ValidationError as exc:
        raise invalid(str(exc.errors()[0]["loc"][0])) from exc


# -- responses ----------------------------------------------------------------------------------------


def customer_json(customer: Customer, merchant_id: str, *, created: bool = False) -> dict[str, Any]:
    """A customer as Get Customer Details and Search show it; ``created`` as Create echoes it (the document's
    Create example: no UserInfoId yet, UserProfiles null, no PhoneNo, BirthDate with its time)."""
    f = customer.fields
    body: dict[str, Any] = {
        "UserProfiles": None if created else profiles_json(customer),
        "UserInfoId": ZERO_GUID if created else customer.user_info_id,
        "UserId": customer.user_id,
        "MerchantId": merchant_id,
        "UserName": customer.user_name,
    }
    for name in PROFILE_FIELDS:
        if name == "Gender":  # BirthDate sits between MobileNo and Gender on the wire
            body["BirthDate"] = format_birth_date(customer.birth_date, with_time=created)
        if not (created and name == "PhoneNo"):
            body[name] = f[name]
    body.update(
        IsReceiveOffers=customer.receive_offers,
        Password=None,
        ConfirmPassword=None,
        Countries=None,
        States=None,
        CommunicationType=customer.communication_type,
        MarketingNotificationType=customer.marketing_notification_type,
    )
    return body


def profiles_json(customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "UserId": customer.user_id,
            "ProfileAttributeId": attribute_id,
            "ProfileAttributeValueId": 0,
            "ProfileAttributeName": PROFILE_ATTRIBUTES[attribute_id],
            "ProfileAttributeValue": value,
        }
        for attribute_id, value in sorted(customer.attributes.items())
    ]


def address_json(address: ShippingAddress) -> dict[str, Any]:
    return {
        "shippingaddressid": address.id,
        "userId": address.user_id,
        "firstname": address.first_name,
        "lastname": address.last_name,
        "address1": address.address1,
        "address2": address.address2,
        "state": address.state,
        "pin": address.pin,
        "countrycode": address.country_code,
        "citycode": address.city_code,
        "phoneno": address.phone_no,
        "mobileno": address.mobile_no,
        "email": address.email,
        "othercity": address.other_city,
        "CityName": address.city_name,
        "StateName": address.state_name,
        "CountryName": address.country_name,
        "AddressType": address.address_type,
    }


# The fields of a shipping address (Get / Add Shipping Address); the saved answer carries exactly these.
SHIPPING_ADDRESS_FIELDS = (
    "firstname",
    "lastname",
    "address1",
    "address2",
    "state",
    "pin",
    "countrycode",
    "citycode",
    "phoneno",
    "mobileno",
    "email",
    "othercity",
)


def saved_address_json(address_id: int) -> dict[str, Any]:
    """What AddShippingAddress answers: only the id is filled in (the document's example, zero userId too)."""
    empty = dict.fromkeys(SHIPPING_ADDRESS_FIELDS)
    return {"shippingaddressid": address_id, "userId": ZERO_GUID, **empty}


def token_json(session_id: str, user_id: str, merchant_id: str, issued_at: float) -> dict[str, Any]:
    return {"AccessToken": session_id, "issued_at": net_date(issued_at), "UserId": user_id, "MerchantId": merchant_id}
