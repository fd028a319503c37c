"""OpenAPI 3.1 description of exactly what the Martjack simulator serves (paths relative to ``/martjack``).

Martjack answers most refusals with HTTP 200 and the code in the envelope, so each operation's 200 is
``oneOf`` its success body and the ``Error`` envelope; ``messageCode`` tells them apart.
"""

from __future__ import annotations

from typing import Any

from customer_graph.simulators.martjack.wire import SHIPPING_ADDRESS_FIELDS

DOC = "martjack-customer-api.md"
README = "README.md (Martjack)"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _success(**payload: Any) -> dict[str, Any]:
    return _object(
        {"messageCode": {"const": "1004"}, "Message": {"type": "string"}, **payload, "ErrorCode": {"const": 0}}
    )


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_LOOSE_STRING = {"type": ["string", "number", "null"]}  # numbers bind to string properties
_GUID = {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}

_CUSTOMER_STRINGS = (
    "FirstName",
    "LastName",
    "PostalAddress",
    "AlternateEmail",
    "City",
    "Pin",
    "State",
    "Country",
    "PhoneNo",
    "Street",
    "MobileNo",
)
_CUSTOMER_STRINGS_AFTER_BIRTH = (
    "Gender",
    "Occupation",
    "Industry",
    "OtherArea",
    "CountryName",
    "StateName",
    "CityName",
    "AreaName",
    "OtherCity",
)

SCHEMAS: dict[str, Any] = {
    "Error": {
        **_object(
            {
                "messageCode": {
                    "enum": ["1000", "1003", "1009", "1016", "1017", "1030", "1040", "1041", "1042", "429", "440"]
                },
                "Message": _STRING,
                "ErrorCode": {"type": "integer", "minimum": 1},
            }
        ),
        "description": "Martjack's failure envelope (README.md: failures carry a non-zero ErrorCode, "
        "often with HTTP 200). 1000 unhandled exception, 1003 authentication failed "
        "(HTTP 401), 1009 no record found, 1016 invalid input (also a duplicate UserName on "
        "Create), 1017 user doesn't exist, 1030 not authorized (HTTP 403), 1040 invalid "
        "password, 1041 no such login, 1042 account not activated, 429 rate limit exceeded "
        "(HTTP 429), 440 session expired. ErrorCode repeats messageCode.",
    },
    "Ok": _success(),
    "NetDate": {
        "type": "string",
        "pattern": r"^/Date\(\d+[+-]\d{4}\)/$",
        "description": ".NET JSON date: UTC milliseconds and the server's offset (README.md).",
    },
    "BirthDate": {
        "type": "string",
        "pattern": r"^\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2}:\d{2} (AM|PM))?$",
        "description": "US style; Get and Search show the date only, Create echoes it with its "
        "time; 1/1/1900 when unset (martjack-customer-api.md examples).",
    },
    "UserProfile": _object(
        {
            "UserId": _GUID,
            "ProfileAttributeId": {"type": "integer"},
            "ProfileAttributeValueId": {"type": "integer"},
            "ProfileAttributeName": _STRING,
            "ProfileAttributeValue": _STRING,
        }
    ),
    "Customer": {
        **_object(
            {
                "UserProfiles": {"type": ["array", "null"], "items": _ref("UserProfile")},
                "UserInfoId": _GUID,
                "UserId": _GUID,
                "MerchantId": _GUID,
                "UserName": _STRING,
                **dict.fromkeys(_CUSTOMER_STRINGS, _STRING),
                "BirthDate": _ref("BirthDate"),
                **dict.fromkeys(_CUSTOMER_STRINGS_AFTER_BIRTH, _STRING),
                "IsReceiveOffers": {"type": "boolean"},
                "Password": {"type": "null"},
                "ConfirmPassword": {"type": "null"},
                "Countries": {"type": "null"},
                "States": {"type": "null"},
                "CommunicationType": _STRING,
                "MarketingNotificationType": _STRING,
            },
            optional=("PhoneNo",),
        ),
        "description": f"{DOC}, Get Customer Details. Create's echo has UserProfiles null, a zero "
        "UserInfoId and no PhoneNo, as in the document's Create example.",
    },
    "SessionToken": _object(
        {
            "AccessToken": {"type": "string", "pattern": "^[a-z0-5]{24}$"},
            "issued_at": _ref("NetDate"),
            "UserId": _GUID,
            "MerchantId": _GUID,
        }
    ),
    "MerchantToken": _object(
        {
            "AccessToken": {"type": "string", "pattern": r"^[\w-]+\.[\w-]+\.[\w-]+$"},
            "issued_at": _ref("NetDate"),
            "MerchantId": _GUID,
        }
    ),
    "ShippingAddress": _object(
        {
            "shippingaddressid": {"type": "integer"},
            "userId": _GUID,
            **dict.fromkeys((*SHIPPING_ADDRESS_FIELDS, "CityName", "StateName", "CountryName", "AddressType"), _STRING),
        }
    ),
    "SavedShippingAddress": {
        **_object(
            {
                "shippingaddressid": {"type": "integer"},
                "userId": _GUID,
                **dict.fromkeys(SHIPPING_ADDRESS_FIELDS, _NULLABLE_STRING),
            }
        ),
        "description": f"{DOC}, Add/Update Shipping Address: only the id is filled in, userId is all zeros.",
    },
    "CustomerResponse": _success(Customer=_ref("Customer")),
    "CustomersResponse": _success(Customers={"type": "array", "items": _ref("Customer"), "minItems": 1}),
    "SessionTokenResponse": _success(Token=_ref("SessionToken")),
    "MerchantTokenResponse": _success(Token=_ref("MerchantToken")),
    "ValidateTokenResponse": _success(SessionValid={"const": "true"}),
    "ShippingAddressesResponse": _success(
        ShippingAddresses={"type": "array", "items": _ref("ShippingAddress"), "minItems": 1}
    ),
    "SavedShippingAddressResponse": _success(
        ShippingAddresses={"type": "array", "minItems": 1, "maxItems": 1, "items": _ref("SavedShippingAddress")}
    ),
    "CountResponse": {
        **_object(
            {
                "Count": {"type": "integer", "minimum": 1},
                "Message": {"const": "Successful"},
                "messageCode": {"const": "1004"},
            }
        ),
        "description": f"{DOC}, Get Customer Count: this body has no ErrorCode.",
    },
    "DeletedResponse": {
        **_object({"Message": {"const": "Success"}, "messageCode": {"const": "1004"}}),
        "description": f"{DOC}, Delete Customer's Shipping Address: this body has no ErrorCode.",
    },
    # Request bodies. Property names bind case-insensitively (ASP.NET); numbers bind to strings.
    "CustomerInput": {
        "type": "object",
        "properties": {
            "UserId": _STRING,
            "UserInfoId": _STRING,
            "UserName": _STRING,
            "Password": _STRING,
            "merchantId": _STRING,
            "BirthDate": {"type": ["string", "null"]},
            "IsReceiveOffers": {"type": ["boolean", "string", "null"]},
            "CommunicationType": _NULLABLE_STRING,
            **dict.fromkeys(_CUSTOMER_STRINGS + _CUSTOMER_STRINGS_AFTER_BIRTH, _LOOSE_STRING),
        },
    },
    "CreateRequest": {
        "type": "object",
        "required": ["customer"],
        "properties": {"customer": {**_ref("CustomerInput"), "required": ["UserName", "Password"]}},
    },
    "UpdateRequest": {
        "type": "object",
        "required": ["customer"],
        "properties": {"customer": {**_ref("CustomerInput"), "required": ["UserId"]}},
    },
    "LoginRequest": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": _STRING, "password": _STRING},
    },
    "SearchRequest": {
        "type": "object",
        "required": ["customerSearch"],
        "properties": {
            "customerSearch": {"type": "object", "required": ["UserName"], "properties": {"UserName": _STRING}}
        },
    },
    "ProfileAttribute": {
        "type": "object",
        "required": ["ProfileAttributeId"],
        "properties": {"ProfileAttributeId": {"type": ["string", "integer"]}, "ProfileAttributeValue": _STRING},
    },
    "UpdateUserProfileRequest": {
        "type": "object",
        "required": ["UserProfile"],
        "properties": {
            "UserProfile": {
                "type": "object",
                "required": ["UserId", "ProfileAttributes"],
                "properties": {
                    "UserId": _STRING,
                    "ProfileAttributes": {
                        "type": "object",
                        "required": ["ProfileAttribute"],
                        "properties": {
                            "ProfileAttribute": {
                                "oneOf": [
                                    _ref("ProfileAttribute"),
                                    {"type": "array", "items": _ref("ProfileAttribute")},
                                ]
                            }
                        },
                    },
                },
            }
        },
        "description": f"{DOC}, Update Profile Attributes. Attribute ids configured for the demo merchant: "
        "660 (Favorite Game), 1058 (Favorite Sport), 1100 (Preferred Store); an empty value "
        "clears.",
    },
    "ShippingAddressRequest": {
        "type": "object",
        "required": ["shippingaddress"],
        "properties": {
            "shippingaddress": {
                "type": "object",
                "required": ["shippingaddressid", "userId", "firstname", "lastname", "address1"],
                "properties": {
                    "shippingaddressid": {"type": ["string", "integer"], "description": "0 creates a new address"},
                    **dict.fromkeys(
                        (
                            "userId",
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
                            "AddressType",
                        ),
                        _STRING,
                    ),
                },
            }
        },
    },
    "FormEncoded": {
        "type": "object",
        "required": ["InputData"],
        "properties": {
            "InputFormat": {"const": "application/json"},
            "InputData": {"type": "string", "description": "The JSON body, as a string"},
        },
        "description": f"{README}: POST bodies may be form-encoded "
        "InputFormat=application/json&InputData={...}; a form-encoded body is covered by the "
        "OAuth 1.0 signature.",
    },
}

_ERROR = _json(_ref("Error"))
_COMMON_ERRORS: dict[str, Any] = {
    "401": {"description": "1003 Authentication Failed: no, wrong or expired merchant credentials", "content": _ERROR},
    "403": {"description": "1030 Service is not Authorized: a merchant id other than the app's", "content": _ERROR},
    "429": {
        "description": "429 Rate limit exceeded",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
        "content": _ERROR,
    },
    "default": {"description": "An injected fault, in Martjack's envelope", "content": _ERROR},
}


def _param(name: str, where: str = "path", description: str = "", required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": _STRING, "description": description}


_MERCHANT = _param("merchantId", description="The merchant's GUID; only the demo merchant's is accepted")
_USER = _param("UserId", description="The customer's GUID")
_ACCESS_TOKEN = _param("accesstoken", "header", "Customer session from login or GetAccessToken")


def _operation(
    summary: str, cites: str, success: str, *, codes: str, parameters: list[dict[str, Any]], body: str | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"{cites}. Refusals in the 200 envelope: {codes}.",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "Success, or a refusal in the envelope",
                "content": _json({"oneOf": [_ref(success), _ref("Error")]}),
            },
            **_COMMON_ERRORS,
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _ref(body)},
                "application/x-www-form-urlencoded": {"schema": _ref("FormEncoded")},
            },
        }
    return operation


_C = "/developerapi/Customer"

_OAUTH_TOKEN: dict[str, Any] = {
    "summary": "Issue a merchant JWT",
    "description": f"{README}: a JWT from /OAuth/Token/{{PublicKey}}, issued for the app's public key; sent "
    "as 'Authorization: Bearer' or Martjack's 'AuthToken' header. Lifetime 3600 s unless "
    "configured. Response shape not published: it follows the customer Token's.",
    "security": [],
    "parameters": [_param("PublicKey", description="The app's consumer (public) key")],
    "responses": {
        "200": {"description": "The token", "content": _json(_ref("MerchantTokenResponse"))},
        "401": {"description": "1003: unknown public key", "content": _ERROR},
        "429": _COMMON_ERRORS["429"],
        "default": _COMMON_ERRORS["default"],
    },
}

PATHS: dict[str, Any] = {
    "/developerapi/OAuth/Token/{PublicKey}": {"get": _OAUTH_TOKEN, "post": _OAUTH_TOKEN},
    f"{_C}/{{merchantId}}/Create": {
        "post": _operation(
            "Create customer account",
            f"{DOC}, Create Customer Account",
            "CustomerResponse",
            codes="1016 (UserName or Password missing, UserName already exists, bad BirthDate)",
            parameters=[_MERCHANT],
            body="CreateRequest",
        )
    },
    f"{_C}/{{merchantId}}/{{UserId}}": {
        "get": _operation(
            "Get customer details",
            f"{DOC}, Get Customer Details",
            "CustomerResponse",
            codes="1009",
            parameters=[_MERCHANT, _USER],
        )
    },
    f"{_C}/{{merchantId}}/Update": {
        "post": _operation(
            "Update customer details (whole object)",
            f"{DOC}, Update Customer Details",
            "Ok",
            codes="440 (no, expired or logged-out accesstoken), 1016, 1017, 1030 (a login session of another "
            "customer; HTTP 403)",
            parameters=[_MERCHANT, _ACCESS_TOKEN],
            body="UpdateRequest",
        )
    },
    f"{_C}/{{merchantId}}/UpdateUserProfile": {
        "post": _operation(
            "Update profile attributes",
            f"{DOC}, Update Profile Attributes (Custom Fields)",
            "Ok",
            codes="440, 1016 (unknown ProfileAttributeId), 1017, 1030 (HTTP 403)",
            parameters=[_MERCHANT, _ACCESS_TOKEN],
            body="UpdateUserProfileRequest",
        )
    },
    f"{_C}/{{merchantId}}/Search": {
        "post": _operation(
            "Search customers by UserName (contains, no pagination)",
            f"{DOC}, Fetch Customers (Search)",
            "CustomersResponse",
            codes="1009 (nothing matches), 1016",
            parameters=[_MERCHANT],
            body="SearchRequest",
        )
    },
    f"{_C}/{{merchantId}}/Count": {
        "get": _operation(
            "Count customers", f"{DOC}, Get Customer Count", "CountResponse", codes="1009", parameters=[_MERCHANT]
        )
    },
    f"{_C}/{{merchantId}}/login": {
        "post": _operation(
            "Customer login with credentials",
            f"{DOC}, Customer Login (with Credentials)",
            "SessionTokenResponse",
            codes="1016, 1040 (wrong password), 1041 (no such user), 1042 (deactivated)",
            parameters=[_MERCHANT],
            body="LoginRequest",
        )
    },
    f"{_C}/GetAccessToken/{{merchantId}}": {
        "post": _operation(
            "Guest access token",
            f"{DOC}, Get Access Token",
            "SessionTokenResponse",
            codes="none",
            parameters=[_MERCHANT],
        )
    },
    f"{_C}/{{merchantId}}/{{accesstoken}}/ValidateToken": dict.fromkeys(
        ("get", "post"),
        _operation(
            "Validate a customer access token",
            f"{DOC}, Validate Access Token",
            "ValidateTokenResponse",
            codes="440 (expired, logged out or unknown)",
            parameters=[_MERCHANT, _param("accesstoken")],
        ),
    ),
    f"{_C}/{{merchantId}}/Logout": {
        "post": _operation(
            "Customer logout", f"{DOC}, Customer Logout", "Ok", codes="440", parameters=[_MERCHANT, _ACCESS_TOKEN]
        )
    },
    f"{_C}/{{merchantId}}/{{UserId}}/ChangePassword={{NewPassword}}": {
        "post": _operation(
            "Reset password",
            f"{DOC}, Reset Password",
            "Ok",
            codes="1016, 1017",
            parameters=[_MERCHANT, _USER, _param("NewPassword")],
        )
    },
    f"{_C}/AddShippingAddress/{{merchantId}}": {
        "post": _operation(
            "Add (id 0) or replace a shipping address",
            f"{DOC}, Add/Update Shipping Address",
            "SavedShippingAddressResponse",
            codes="1009 (no such address of this customer), 1016, 1017",
            parameters=[_MERCHANT],
            body="ShippingAddressRequest",
        )
    },
    f"{_C}/GetShippingAddress/{{merchantId}}/{{UserId}}": {
        "get": _operation(
            "Get shipping addresses",
            f"{DOC}, Get Customer's Shipping Address",
            "ShippingAddressesResponse",
            codes="1009 (no customer or no address)",
            parameters=[
                _MERCHANT,
                _USER,
                _param("apiversion", "header", "4 in the document; not checked", required=False),
            ],
        )
    },
    f"{_C}/DeleteShippingAddress/{{merchantId}}/{{UserId}}/{{ShippingAddressId}}": {
        "get": _operation(
            "Delete a shipping address",
            f"{DOC}, Delete Customer's Shipping Address",
            "DeletedResponse",
            codes="1009, 1016 (id not a number)",
            parameters=[_MERCHANT, _USER, _param("ShippingAddressId")],
        )
    },
    f"{_C}/Activation/{{merchantId}}/{{UserId}}": {
        "get": _operation(
            "Activate a customer",
            f"{README}: GET /Customer/Activation/{{merchantId}}/{{UserId}}",
            "Ok",
            codes="1017",
            parameters=[_MERCHANT, _USER],
        )
    },
    f"{_C}/DeActivation/{{merchantId}}/{{UserId}}": {
        "get": _operation(
            "Deactivate a customer (login then answers 1042)",
            f"{README}: GET /Customer/DeActivation/{{merchantId}}/{{UserId}}",
            "Ok",
            codes="1017",
            parameters=[_MERCHANT, _USER],
        )
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Martjack (Capillary Anywhere Commerce) customer API simulator",
        "version": "1.0.0",
        "description": f"The customer routes of {DOC}, with {README} where the document is silent. Paths are "
        "matched case-insensitively, as IIS does.",
    },
    "servers": [{"url": "/martjack"}],
    "security": [
        {"oauth1Query": []},
        {"oauth1Header": []},
        {"oauth1Authorization": []},
        {"bearerJwt": []},
        {"authToken": []},
    ],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "oauth1Query": {
                "type": "apiKey",
                "in": "query",
                "name": "oauth_signature",
                "description": "OAuth 1.0 one-legged HMAC-SHA1 (RFC 5849) with oauth_consumer_key, "
                "oauth_nonce, oauth_signature_method, oauth_timestamp (within 300 s), "
                "oauth_version in the query; nonces may not repeat.",
            },
            "oauth1Header": {
                "type": "apiKey",
                "in": "header",
                "name": "oauth_signature",
                "description": "The same OAuth 1.0 parameters, each as a header of its name.",
            },
            "oauth1Authorization": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "The OAuth 1.0 parameters in 'Authorization: OAuth ...'.",
            },
            "bearerJwt": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A token from /developerapi/OAuth/Token/{PublicKey}.",
            },
            "authToken": {
                "type": "apiKey",
                "in": "header",
                "name": "AuthToken",
                "description": "Martjack's JWT headers: AuthToken, with PublicKey and MerchantId.",
            },
        },
    },
}
