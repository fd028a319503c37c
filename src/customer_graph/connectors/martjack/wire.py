"""Martjack's JSON in its own field names (martjack-customer-api.md; providers/README.md, Martjack).

Every answer is an envelope: ``messageCode`` (a string, ``"1004"`` is success), ``Message`` and, on most
endpoints, ``ErrorCode`` (0 on success, non-zero on failure, often with HTTP 200). The payload sits beside
them under an endpoint-specific name (``Customer``, ``Customers``, ``Token``, ``ShippingAddresses``).

Martjack is an ASP.NET application: numbers appear where the document promises strings (``City``), so
string fields accept numbers. Models ignore what they do not name, except :class:`MartjackCustomer`, which
keeps unknown members: Update replaces the whole customer, so a read-modify-write must send back every
member it read, including any this model does not know.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SUCCESS = "1004"


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)


class Envelope(WireModel):
    message_code: str = Field(alias="messageCode")
    message: str | None = Field(default=None, alias="Message")
    # Get Customer Count and Delete Shipping Address answer without it (the document's samples).
    error_code: int = Field(default=0, alias="ErrorCode")

    @property
    def failed(self) -> bool:
        return self.error_code != 0 or self.message_code != SUCCESS

    @property
    def code(self) -> str:
        """The failure's code: ``ErrorCode`` when set, else ``messageCode``."""
        return str(self.error_code) if self.error_code else self.message_code


# -- customers --------------------------------------------------------------------------------------


class UserProfileAttribute(WireModel):
    """A custom field (Get Customer Details, ``UserProfiles``)."""

    profile_attribute_id: int | str | None = Field(default=None, alias="ProfileAttributeId")
    profile_attribute_name: str | None = Field(default=None, alias="ProfileAttributeName")
    profile_attribute_value: str | None = Field(default=None, alias="ProfileAttributeValue")


class MartjackCustomer(WireModel):
    """A customer as Get Customer Details, Search and Create show it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    user_id: str = Field(alias="UserId")
    user_name: str = Field(alias="UserName")
    user_info_id: str | None = Field(default=None, alias="UserInfoId")
    merchant_id: str | None = Field(default=None, alias="MerchantId")
    user_profiles: list[UserProfileAttribute] | None = Field(default=None, alias="UserProfiles")
    first_name: str | None = Field(default=None, alias="FirstName")
    last_name: str | None = Field(default=None, alias="LastName")
    postal_address: str | None = Field(default=None, alias="PostalAddress")
    alternate_email: str | None = Field(default=None, alias="AlternateEmail")
    city: str | None = Field(default=None, alias="City")
    pin: str | None = Field(default=None, alias="Pin")
    state: str | None = Field(default=None, alias="State")
    country: str | None = Field(default=None, alias="Country")
    phone_no: str | None = Field(default=None, alias="PhoneNo")
    street: str | None = Field(default=None, alias="Street")
    mobile_no: str | None = Field(default=None, alias="MobileNo")
    birth_date: str | None = Field(default=None, alias="BirthDate")
    gender: str | None = Field(default=None, alias="Gender")
    occupation: str | None = Field(default=None, alias="Occupation")
    industry: str | None = Field(default=None, alias="Industry")
    other_area: str | None = Field(default=None, alias="OtherArea")
    country_name: str | None = Field(default=None, alias="CountryName")
    state_name: str | None = Field(default=None, alias="StateName")
    city_name: str | None = Field(default=None, alias="CityName")
    area_name: str | None = Field(default=None, alias="AreaName")
    other_city: str | None = Field(default=None, alias="OtherCity")
    is_receive_offers: bool | None = Field(default=None, alias="IsReceiveOffers")
    password: str | None = Field(default=None, alias="Password")
    confirm_password: str | None = Field(default=None, alias="ConfirmPassword")
    countries: Any = Field(default=None, alias="Countries")
    states: Any = Field(default=None, alias="States")
    communication_type: str | None = Field(default=None, alias="CommunicationType")
    marketing_notification_type: str | None = Field(default=None, alias="MarketingNotificationType")


# Members of a read customer that Update does not take: secrets, lookup lists, custom fields (written by
# UpdateUserProfile) and what Martjack derives itself.
READ_ONLY_MEMBERS = frozenset(
    {"UserProfiles", "Password", "ConfirmPassword", "Countries", "States", "MarketingNotificationType", "MerchantId"}
)


class CustomerResponse(Envelope):
    customer: MartjackCustomer = Field(alias="Customer")


class CustomersResponse(Envelope):
    customers: list[MartjackCustomer] = Field(alias="Customers")


# -- tokens -----------------------------------------------------------------------------------------


class MartjackToken(WireModel):
    access_token: str = Field(alias="AccessToken", min_length=1)
    issued_at: str | None = None
    user_id: str | None = Field(default=None, alias="UserId")
    merchant_id: str | None = Field(default=None, alias="MerchantId")


class TokenResponse(Envelope):
    """``OAuth/Token/{PublicKey}`` (the merchant JWT) and ``Customer/GetAccessToken`` (a guest session)."""

    token: MartjackToken = Field(alias="Token")


# -- shipping addresses -----------------------------------------------------------------------------


class ShippingAddress(WireModel):
    shipping_address_id: int = Field(alias="shippingaddressid")
    user_id: str | None = Field(default=None, alias="userId")
    first_name: str | None = Field(default=None, alias="firstname")
    last_name: str | None = Field(default=None, alias="lastname")
    address1: str | None = None
    address2: str | None = None
    state: str | None = None
    pin: str | None = None
    country_code: str | None = Field(default=None, alias="countrycode")
    city_code: str | None = Field(default=None, alias="citycode")
    phone_no: str | None = Field(default=None, alias="phoneno")
    mobile_no: str | None = Field(default=None, alias="mobileno")
    email: str | None = None
    other_city: str | None = Field(default=None, alias="othercity")
    city_name: str | None = Field(default=None, alias="CityName")
    state_name: str | None = Field(default=None, alias="StateName")
    country_name: str | None = Field(default=None, alias="CountryName")
    address_type: str | None = Field(default=None, alias="AddressType")


class ShippingAddressesResponse(Envelope):
    shipping_addresses: list[ShippingAddress] = Field(alias="ShippingAddresses")


class ShippingAddressWrite(WireModel):
    """The ``shippingaddress`` of Add/Update Shipping Address: ``shippingaddressid`` 0 creates."""

    shipping_address_id: str = Field(alias="shippingaddressid")
    user_id: str = Field(alias="userId")
    first_name: str = Field(alias="firstname")
    last_name: str = Field(alias="lastname")
    address1: str
    address2: str = ""
    state: str = ""
    pin: str = ""
    country_code: str = Field(default="", alias="countrycode")
    city_code: str = Field(default="", alias="citycode")
    other_city: str = Field(default="", alias="othercity")
    mobile_no: str = Field(default="", alias="mobileno")
    email: str = ""

    def body(self) -> dict[str, Any]:
        return {"shippingaddress": self.model_dump(by_alias=True)}


def search_body(user_name: str) -> dict[str, Any]:
    """Fetch Customers (Search): customers whose UserName *contains* ``user_name``."""
    return {"customerSearch": {"UserName": user_name}}


class CustomerCreate(WireModel):
    """The ``customer`` of Create Customer Account; UserName and Password are mandatory."""

    user_name: str = Field(alias="UserName", min_length=1)
    password: str = Field(alias="Password", min_length=1)
    first_name: str | None = Field(default=None, alias="FirstName")
    last_name: str | None = Field(default=None, alias="LastName")
    mobile_no: str | None = Field(default=None, alias="MobileNo")
    alternate_email: str | None = Field(default=None, alias="AlternateEmail")
    birth_date: str | None = Field(default=None, alias="BirthDate")
    gender: str | None = Field(default=None, alias="Gender")
    is_receive_offers: bool = Field(default=False, alias="IsReceiveOffers")
    postal_address: str | None = Field(default=None, alias="PostalAddress")
    street: str | None = Field(default=None, alias="Street")
    area_name: str | None = Field(default=None, alias="AreaName")
    city_name: str | None = Field(default=None, alias="CityName")
    other_city: str | None = Field(default=None, alias="OtherCity")
    pin: str | None = Field(default=None, alias="Pin")
    state: str | None = Field(default=None, alias="State")
    country: str | None = Field(default=None, alias="Country")

    def body(self, merchant_id: str) -> dict[str, Any]:
        return {"customer": {**self.model_dump(by_alias=True, exclude_none=True), "merchantId": merchant_id}}


def update_body(customer: MartjackCustomer, merchant_id: str) -> dict[str, Any]:
    """Update Customer Details: the whole customer as read (and modified), less what Update does not take."""
    members = {k: v for k, v in customer.model_dump(by_alias=True).items() if k not in READ_ONLY_MEMBERS}
    return {"customer": {**members, "merchantId": merchant_id}}
