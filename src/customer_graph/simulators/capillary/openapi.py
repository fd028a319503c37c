"""The OpenAPI 3.1 document of exactly what the Capillary simulator implements.

Citations: "customer-api" is ``capillary-v2-customer-api.md``, "register" is
``capillary-v2-register-customer.md``, "README" is ``providers/README.md`` (Capillary v2).
"""

from __future__ import annotations

from typing import Any

from customer_graph.simulators.capillary.store import IDENTIFIER_TYPES, SOURCES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("ErrorResponse"), description)


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
DATE_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$",
    "description": "README: ISO-8601 with the org's offset, e.g. 2016-06-23T19:11:18+08:00.",
}
CHANNEL = {
    "type": "string",
    "enum": ["EMAIL", "SMS", "WECHAT", "ANDROID", "IOS", "LINE"],
    "description": "README: subscriptions written with channel MOBILE read back as SMS.",
}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
WARNINGS = _array(_ref("Message"))

COMMON_ERRORS: dict[str, Any] = {
    "401": _error("README: 401 auth failed (missing or wrong Basic credentials, unknown or expired OAuth token)."),
    "429": {
        **_error("README: 429 when the per-minute limit is exceeded (the body shape is not published)."),
        "headers": {"Retry-After": {"schema": INTEGER, "description": "Seconds until a call is allowed."}},
    },
    "default": _error("Any other status (500, 521, ...) in Capillary's error envelope (README, Error body)."),
}
WRITE_ERRORS = {
    "403": _error(
        "The till has no write access to the customer resource (register: Prerequisites, Access group resource)."
    ),
    **COMMON_ERRORS,
}

PARAMETERS: dict[str, Any] = {
    "CustomerId": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": INTEGER,
        "description": "Capillary's customer (user) id. Not a number: 400.",
    },
    "ReadSource": {
        "name": "source",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": [*SOURCES, "ALL"]},
        "description": "customer-api, Fetch Customer Details / Fetch Customer ID: mandatory; ALL reads "
        "every source. Missing or unknown: 400 with 8012.",
    },
    "WriteSource": {
        "name": "source",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "enum": list(SOURCES)},
        "description": "customer-api, Update Customer Details / Update Customer Identifiers: mandatory. "
        "Missing or unknown: 400 with 8012.",
    },
    "AccountId": {
        "name": "accountId",
        "in": "query",
        "required": False,
        "schema": STRING,
        "description": "Required for sources with several accounts (FACEBOOK, WEB_ENGAGE, WECHAT, "
        "MOBILE_APP, LINE): otherwise 400 with 8045.",
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "default": 10},
    },
    "Offset": {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    },
}


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


SCHEMAS: dict[str, Any] = {
    "Message": {
        **_object({"status": BOOLEAN, "code": INTEGER, "message": STRING}),
        "description": "One entry of `errors` or `warnings` (README, Error body).",
    },
    "ErrorResponse": _object({"errors": {**_array(_ref("Message")), "minItems": 1}, "warnings": WARNINGS}),
    "TokenRequest": _object({"key": STRING, "secret": STRING}, closed=False),
    "TokenResponse": _object(
        {
            "data": _object({"accessToken": STRING, "ttlSeconds": INTEGER}),
            "errors": {"type": "null"},
        }
    ),
    "TokenError": _object({"data": {"type": "null"}, "errors": {**_array(_ref("Message")), "minItems": 1}}),
    # -- request bodies (open: Capillary accepts fields it does not use, e.g. referralCode, statusLabel) --
    "IdentifierInput": {
        **_object(
            {
                "type": {"type": "string", "enum": list(IDENTIFIER_TYPES)},
                "value": {"type": ["string", "number"]},
                "seriesId": NUMBER,
                "statusLabel": STRING,
            },
            ["type", "value"],
            closed=False,
        ),
        "description": "register / customer-api: identifier types; mobile with country code.",
    },
    "CommChannelInput": _object(
        {
            "type": STRING,
            "value": {"type": ["string", "number"]},
            "primary": {"type": ["boolean", "string"]},
            "verified": {"type": ["boolean", "string"]},
            "meta": {"type": "object"},
        },
        ["type"],
        closed=False,
    ),
    "ProfileInput": _object(
        {
            "firstName": {"type": "string", "description": "Characters past 100 are ignored (register)."},
            "lastName": {"type": "string", "description": "Characters past 100 are ignored (register)."},
            "identifiers": _array(_ref("IdentifierInput")),
            "commChannels": _array(_ref("CommChannelInput")),
            "fields": {"type": "object", "description": "Custom fields."},
            "source": {"type": "string", "enum": list(SOURCES)},
            "accountId": {"type": ["string", "number"]},
        },
        [],
        closed=False,
    ),
    "EnrollmentInput": _object(
        {
            "programId": {**INTEGER, "description": "The demo org's programs: 1016 and 1017; others: 400 with 1023."},
            "tierNumber": {**INTEGER, "description": "1 for the lowest tier; past the highest, the highest."},
            "loyaltyPoints": {"type": "integer", "minimum": 0},
            "tierExpiryDate": {"type": "string", "format": "date-time"},
            "pointsExpiryDate": {"type": "string", "format": "date-time"},
        },
        ["programId"],
        closed=False,
    ),
    "CustomerInput": _object(
        {
            "loyaltyInfo": _object(
                {"loyaltyType": {"type": "string", "enum": ["loyalty", "non_loyalty"]}}, [], closed=False
            ),
            "associatedWith": STRING,
            "profiles": _array(_ref("ProfileInput")),
            "extendedFields": {"type": "object"},
            "loyaltyProgramEnrollments": _array(_ref("EnrollmentInput")),
            "referralCode": STRING,
            "statusLabel": STRING,
        },
        [],
        closed=False,
    ),
    "ChangeIdentifierInput": _object(
        {"add": _array(_ref("IdentifierInput")), "remove": _array(_ref("IdentifierInput"))}, [], closed=False
    ),
    "SubscriptionInput": _object(
        {"channel": STRING, "accountId": STRING, "priority": STRING, "type": STRING},
        ["channel", "priority", "type"],
        closed=False,
    ),
    "SubscriptionsInput": _object(
        {
            "communicationId": INTEGER,
            "campaignId": INTEGER,
            "reason": STRING,
            "scope": _object({"scope": STRING, "subScope": STRING}, [], closed=False),
            "subscriptions": {**_array(_ref("SubscriptionInput")), "minItems": 1},
        },
        ["subscriptions"],
        closed=False,
    ),
    # -- responses --
    "SideEffect": _object(
        {"entityType": STRING, "rawAwardedPoints": NUMBER, "awardedPoints": INTEGER, "type": {"const": "points"}}
    ),
    "RegisterResponse": _object(
        {"createdId": INTEGER, "warnings": WARNINGS, "sideEffects": _array(_ref("SideEffect"))}
    ),
    "UpdateResponse": _object({"createdId": INTEGER, "warnings": WARNINGS}),
    "ChangeIdentifierResponse": _object({"success": BOOLEAN, "warnings": WARNINGS}),
    "LookupResponse": _object({"entity": INTEGER, "warnings": WARNINGS}),
    "Actor": _object({"code": STRING, "description": STRING, "name": STRING, "type": STRING}),
    "Identifier": _object({"type": STRING, "value": STRING}),
    "CommChannel": _object(
        {"type": STRING, "value": STRING, "primary": BOOLEAN, "verified": BOOLEAN, "meta": {"type": "object"}}
    ),
    "Profile": _object(
        {
            "firstName": STRING,
            "lastName": STRING,
            "attribution": _object(
                {
                    "createDate": DATE_TIME,
                    "createdBy": _ref("Actor"),
                    "modifiedBy": _ref("Actor"),
                    "modifiedDate": DATE_TIME,
                }
            ),
            "fields": STRING_MAP,
            "identifiers": _array(_ref("Identifier")),
            "commChannels": _array(_ref("CommChannel")),
            "source": {"type": "string", "enum": list(SOURCES)},
            "accountId": {**STRING, "description": "Only for sources with several accounts."},
            "userId": INTEGER,
            "conflictingProfileList": {"type": "array", "maxItems": 0},
            "autoUpdateTime": DATE_TIME,
        },
        [
            "firstName",
            "lastName",
            "attribution",
            "fields",
            "identifiers",
            "commChannels",
            "source",
            "userId",
            "conflictingProfileList",
            "autoUpdateTime",
        ],
    ),
    "LoyaltyProgram": _object(
        {
            "redeemed": NUMBER,
            "expired": NUMBER,
            "returned": NUMBER,
            "adjusted": NUMBER,
            "lifetimePoints": NUMBER,
            "loyaltyPoints": NUMBER,
            "cumulativePurchases": NUMBER,
            "loyaltyId": INTEGER,
            "currentSlab": STRING,
            "nextSlab": {**STRING, "description": "Empty at the highest tier."},
            "nextSlabSerialNumber": {**INTEGER, "description": "-1 at the highest tier."},
            "nextSlabDescription": STRING,
            "slabSNo": INTEGER,
            "slabExpiryDate": DATE_TIME,
            "programId": INTEGER,
        }
    ),
    "PointsSummary": _object(
        {
            "redeemed": NUMBER,
            "expired": NUMBER,
            "returned": NUMBER,
            "adjusted": NUMBER,
            "lifetimePoints": NUMBER,
            "loyaltyPoints": NUMBER,
            "cumulativePurchases": NUMBER,
            "loyaltyId": INTEGER,
            "currentSlab": STRING,
            "nextSlab": STRING,
            "nextSlabSerialNumber": INTEGER,
            "nextSlabDescription": STRING,
            "slabSNo": INTEGER,
            "slabExpiryDate": DATE_TIME,
        }
    ),
    "Subscription": _object(
        {
            "channel": CHANNEL,
            "priority": {"type": "string", "enum": ["TRANS", "BULK"]},
            "type": {"type": "string", "enum": ["OPTIN", "OPTOUT"]},
        }
    ),
    "Customer": {
        **_object(
            {
                "id": INTEGER,
                "profiles": {**_array(_ref("Profile")), "minItems": 1},
                "loyaltyInfo": _object(
                    {
                        "loyaltyType": {"type": "string", "enum": ["loyalty", "non_loyalty"]},
                        "attributionV2": _object(
                            {
                                "createDate": DATE_TIME,
                                "createdBy": _object({"code": STRING, "name": STRING}),
                                "modifiedBy": _object({"code": STRING, "name": STRING}),
                                "modifiedDate": DATE_TIME,
                            }
                        ),
                        "lifetimePurchases": NUMBER,
                    }
                ),
                "segments": {"type": "object"},
                "extendedFields": STRING_MAP,
                "warnings": WARNINGS,
                "pointsSummary": {**_ref("PointsSummary"), "description": "embed=points, when enrolled in a program."},
                "subscriptionInfo": _object({"subscriptions": _array(_ref("Subscription"))}),
                "loyaltyProgramDetails": {**_array(_ref("LoyaltyProgram")), "description": "embed=mlp"},
            },
            ["id", "profiles", "loyaltyInfo", "segments", "extendedFields", "warnings"],
        ),
        "description": "customer-api, Fetch Customer Details, Sample Response and its embed variants.",
    },
    "Pagination": _object({"limit": INTEGER, "offset": INTEGER, "total": INTEGER}),
    "SearchResponse": _object(
        {
            "pagination": _ref("Pagination"),
            "data": _array(
                _object(
                    {
                        "userId": INTEGER,
                        "matchedIdentifiers": {
                            **_array(
                                _object({"idType": STRING, "idValue": STRING, "source": STRING, "accountId": STRING})
                            ),
                            "minItems": 1,
                        },
                        "profiles": _array(_object({"source": STRING, "firstName": STRING, "lastName": STRING})),
                    }
                )
            ),
            "warnings": WARNINGS,
            "errors": WARNINGS,
        }
    ),
    "LoyaltyDetailsResponse": _object(
        {"data": _array(_ref("LoyaltyProgram")), "warnings": WARNINGS, "errors": WARNINGS}
    ),
    "SubscriptionsResponse": _object(
        {
            "subscriptions": _array(_ref("Subscription")),
            "campaignId": INTEGER,
            "communicationId": INTEGER,
            "warnings": WARNINGS,
        }
    ),
    "SubscriptionsUpdateResponse": _object(
        {
            "scope": _object(
                {
                    "scopeId": INTEGER,
                    "scope": STRING,
                    "subScope": STRING,
                    "setCreatedOn": BOOLEAN,
                    "setPriority": BOOLEAN,
                    "setScopeId": BOOLEAN,
                    "setScope": BOOLEAN,
                    "setSubScope": BOOLEAN,
                }
            ),
            "subscriptions": _array(
                _object({"channel": CHANNEL, "accountId": STRING, "priority": STRING, "type": STRING})
            ),
            "campaignId": INTEGER,
            "communicationId": INTEGER,
            "reason": STRING,
            "warnings": WARNINGS,
        }
    ),
    "Entity": _object(
        {
            "id": INTEGER,
            "code": STRING,
            "description": STRING,
            "name": STRING,
            "type": STRING,
            "adminType": STRING,
            "isActive": BOOLEAN,
            "isOuEnabled": BOOLEAN,
            "timeZoneId": INTEGER,
            "currencyId": INTEGER,
            "languageId": INTEGER,
        }
    ),
    "ChangeRequest": {
        **_object(
            {
                "id": INTEGER,
                "status": {"type": "string", "enum": ["APPROVED", "PENDING", "REJECTED"]},
                "addedBy": _ref("Entity"),
                "addedByParent": _ref("Entity"),
                "updatedBy": _ref("Entity"),
                "addedOn": DATE_TIME,
                "updatedOn": DATE_TIME,
                "userId": {**INTEGER, "description": "For a MERGE item: the survivor's id."},
                "requestId": INTEGER,
                "baseType": {"type": "string", "enum": ["MERGE", "EMAIL", "MOBILE", "EXTERNAL_ID"]},
                "reason": STRING,
                "comments": STRING,
                "warnings": WARNINGS,
                "reqAdd": BOOLEAN,
                "oneStep": BOOLEAN,
            }
        ),
        "description": "customer-api, Get Change Requests, Sample Response (the sample's field names).",
    },
    "ChangeRequestsResponse": _object(
        {
            "pagination": _ref("Pagination"),
            "data": _array(_ref("ChangeRequest")),
            "warnings": WARNINGS,
            "errors": WARNINGS,
        }
    ),
}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


PATHS: dict[str, Any] = {
    "/v3/oauth/token/generate": {
        "post": {
            "operationId": "generateToken",
            "security": [],
            "summary": "OAuth access token",
            "description": "README, Capillary v2 auth: {key, secret} returns an access token living ttlSeconds "
            "(300 by default); calls send it in X-CAP-API-OAUTH-TOKEN.",
            "requestBody": _body("TokenRequest"),
            "responses": {
                "200": _json(_ref("TokenResponse"), "The token."),
                "400": _json({"anyOf": [_ref("TokenError"), _ref("ErrorResponse")]}, "key or secret missing."),
                "401": _json({"anyOf": [_ref("TokenError"), _ref("ErrorResponse")]}, "Unknown key or wrong secret."),
                "429": COMMON_ERRORS["429"],
                "default": COMMON_ERRORS["default"],
            },
        }
    },
    "/v2/customers": {
        "post": {
            "operationId": "registerCustomer",
            "summary": "Register Customer",
            "description": "customer-api, Register Customer; register. The source comes from the profile or the "
            "query. An identifier held by a customer in another source adds the profile to that "
            "customer (createdId is that customer, warning 8050). Errors: 3217 source, 8045 account, "
            "1007 no identifier, 1001/1002/1003 invalid mobile/email/externalId, 1104 unknown "
            "identifier type, 8006 the customer exists in this source, 1032/1016/1033/8008 identifier "
            "held by another customer in this source, 8053 identifiers of different customers, "
            "1023 unknown program.",
            "parameters": [
                {
                    "name": "source",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(SOURCES)},
                },
                _param("AccountId"),
            ],
            "requestBody": _body("CustomerInput"),
            "responses": {
                "200": _json(_ref("RegisterResponse"), "Registered (or combined: warning 8050)."),
                "400": _error("Invalid request (codes above)."),
                **WRITE_ERRORS,
            },
        }
    },
    "/v2/customers/lookup": {
        "get": {
            "operationId": "lookupCustomer",
            "summary": "Fetch Customer ID",
            "description": "customer-api, Fetch Customer ID. Errors: 8012 source, 8045 account, 8013 identifier "
            "name or value, 8015 no customer (404), 8065 not in this source (404).",
            "parameters": [
                _param("ReadSource"),
                _param("AccountId"),
                {
                    "name": "identifierName",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": list(IDENTIFIER_TYPES)},
                },
                {"name": "identifierValue", "in": "query", "required": True, "schema": STRING},
            ],
            "responses": {
                "200": _json(_ref("LookupResponse"), "The customer's id in `entity`."),
                "400": _error("8012, 8045 or 8013."),
                "404": _error("8015 or 8065."),
                **COMMON_ERRORS,
            },
        }
    },
    "/v2/customers/search": {
        "get": {
            "operationId": "searchCustomers",
            "summary": "Fetch Customers (Advanced Customer Search)",
            "description": "customer-api, Fetch Customers: customers whose first name, last name or an identifier "
            "starts with q (case-insensitive), across all sources, ordered by id. README: pagination.",
            "parameters": [
                {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
                _param("Limit"),
                _param("Offset"),
            ],
            "responses": {
                "200": _json(_ref("SearchResponse"), "Matches."),
                "400": _error("q missing, or limit/offset not a number (code 400)."),
                **COMMON_ERRORS,
            },
        }
    },
    "/v2/customers/{id}": {
        "get": {
            "operationId": "getCustomer",
            "summary": "Fetch Customer Details",
            "description": "customer-api, Fetch Customer Details. embed: comma-separated points, subscriptions, "
            "mlp. Errors: 8012 source, 8045 account, 8015 unknown (404), 8065 no profile in the "
            "source (404), 8069 merged into another account (404).",
            "parameters": [
                _param("CustomerId"),
                _param("ReadSource"),
                _param("AccountId"),
                {"name": "embed", "in": "query", "required": False, "schema": STRING},
            ],
            "responses": {
                "200": _json(_ref("Customer"), "The customer."),
                "400": _error("8012, 8045, or an id that is not a number (400)."),
                "404": _error("8015, 8065 or 8069."),
                **COMMON_ERRORS,
            },
        },
        "put": {
            "operationId": "updateCustomer",
            "summary": "Update Customer Details",
            "description": "customer-api, Update Customer Details. Limitations enforced: an identifier not held "
            "by the profile (91006 '<type> update is not allowed.'), another source in the body "
            "(91006), loyalty to non-loyalty (1046); enrolment in a program already enrolled is "
            "skipped. Errors: 8012, 8045, 1023, 8015/8065/8069 (404).",
            "parameters": [_param("CustomerId"), _param("WriteSource"), _param("AccountId")],
            "requestBody": _body("CustomerInput"),
            "responses": {
                "200": _json(_ref("UpdateResponse"), "Updated."),
                "400": _error("Refused (codes above)."),
                "404": _error("8015, 8065 or 8069."),
                **WRITE_ERRORS,
            },
        },
    },
    "/v2/customers/{id}/changeIdentifier": {
        "post": {
            "operationId": "changeIdentifier",
            "summary": "Update Customer Identifiers",
            "description": "customer-api, Update Customer Identifiers. Adding an identifier that another customer "
            "holds in another source/account merges the two: the newer account is the victim, the "
            "older the survivor (warning 8051 names it); the victim then answers 8069. Errors: 8012, "
            "8045, 1104 nothing to change or an identifier not held, 8055/8056/8064 invalid "
            "email/mobile/externalId, 8007 already held in this source, 8008 held by another "
            "customer in this source, 8053 held by different customers, 8009 unknown id (404), "
            "8069 merged (404).",
            "parameters": [_param("CustomerId"), _param("WriteSource"), _param("AccountId")],
            "requestBody": _body("ChangeIdentifierInput"),
            "responses": {
                "200": _json(_ref("ChangeIdentifierResponse"), "Changed (and perhaps merged: 8051)."),
                "400": _error("Refused (codes above)."),
                "404": _error("8009 or 8069."),
                **WRITE_ERRORS,
            },
        }
    },
    "/v2/customers/{id}/loyaltyDetails": {
        "get": {
            "operationId": "getLoyaltyDetails",
            "summary": "Fetch Customer Loyalty Details",
            "description": "customer-api, Fetch Customer Loyalty Details: every program, or programId's.",
            "parameters": [
                _param("CustomerId"),
                {"name": "programId", "in": "query", "required": False, "schema": INTEGER},
            ],
            "responses": {
                "200": _json(_ref("LoyaltyDetailsResponse"), "Programs."),
                "400": _error("Not a number (400)."),
                "404": _error("8015 or 8069."),
                **COMMON_ERRORS,
            },
        }
    },
    "/v2/customers/{id}/subscriptions": {
        "get": {
            "operationId": "getSubscriptions",
            "summary": "Retrieve Subscription Details",
            "description": "customer-api, Retrieve Subscription Details. README: MOBILE reads back as SMS.",
            "parameters": [_param("CustomerId")],
            "responses": {
                "200": _json(_ref("SubscriptionsResponse"), "Subscriptions."),
                "400": _error("Not a number (400)."),
                "404": _error("8015 or 8069."),
                **COMMON_ERRORS,
            },
        },
        "post": {
            "operationId": "updateSubscriptions",
            "summary": "Update Subscription Details",
            "description": "customer-api, Update Subscription Details. channel MOBILE is stored and echoed as SMS "
            "(README). Errors: 1101 channel, 1102 priority, 1106 type, 1103 scope, 400 body.",
            "parameters": [_param("CustomerId")],
            "requestBody": _body("SubscriptionsInput"),
            "responses": {
                "200": _json(_ref("SubscriptionsUpdateResponse"), "Updated."),
                "400": _error("Refused (codes above)."),
                "404": _error("8015 or 8069."),
                **WRITE_ERRORS,
            },
        },
    },
    "/v2/customers/{id}/retroRequest": {
        "get": {
            "operationId": "getChangeRequests",
            "summary": "Get Change Requests",
            "description": "customer-api, Get Change Requests: identifier changes (EMAIL, MOBILE, EXTERNAL_ID) and "
            "merges (MERGE), newest first. Readable on a merge victim: its MERGE item's userId is the "
            "survivor. Unknown id: 8015 (404).",
            "parameters": [
                _param("CustomerId"),
                {
                    "name": "changeType",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "string",
                        "enum": [
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
                        ],
                    },
                },
                {"name": "startDate", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
                {"name": "endDate", "in": "query", "required": False, "schema": {"type": "string", "format": "date"}},
                {"name": "startId", "in": "query", "required": False, "schema": INTEGER},
                {"name": "endId", "in": "query", "required": False, "schema": INTEGER},
                _param("Offset"),
                _param("Limit"),
            ],
            "responses": {
                "200": _json(_ref("ChangeRequestsResponse"), "Change requests."),
                "400": _error("A parameter is invalid (400)."),
                "404": _error("8015."),
                **COMMON_ERRORS,
            },
        }
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Capillary v2 customer API (simulator)",
        "version": "2",
        "description": "What the customer-graph simulator implements of capillary-v2-customer-api.md and "
        "capillary-v2-register-customer.md, with the README's Capillary facts. Every error is "
        '{"errors":[{"status":false,"code":N,"message":"..."}],"warnings":[]}.',
    },
    "servers": [{"url": "/capillary"}],
    "security": [{"basicAuth": []}, {"oauthToken": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "basicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "README: Basic base64(tillCode:md5(password)).",
            },
            "oauthToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CAP-API-OAUTH-TOKEN",
                "description": "README: a token from POST /v3/oauth/token/generate.",
            },
        },
        "parameters": PARAMETERS,
        "schemas": SCHEMAS,
    },
}
