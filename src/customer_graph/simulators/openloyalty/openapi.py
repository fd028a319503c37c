"""The OpenAPI 3.1 document of exactly what the Open Loyalty simulator implements.

Descriptions cite openloyalty-customer-api.md ("doc: <section>") or providers/README.md ("README") for what
they follow; "simulator choice" marks behaviour neither document states.
"""

from __future__ import annotations

from typing import Any

from customer_graph.simulators.openloyalty.forms import (
    ADDRESS_FIELDS,
    COMPANY_FIELDS,
    EDIT_FIELDS,
    REGISTER_FIELDS,
)

DOC = "openloyalty-customer-api.md"
UUID = {"type": "string", "format": "uuid"}
DATE_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}$",
    "description": "Open Loyalty's date format, e.g. 2018-02-02T11:39:17+0100 (README).",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def _form_errors(children: tuple[str, ...]) -> dict[str, Any]:
    child_schemas = {name: _ref("FormChild") for name in children}
    return _obj(
        {
            "form": _obj({"children": _obj(child_schemas, list(children))}, ["children"]),
            "errors": {"type": "array", "items": {"type": "string"}},
        },
        ["form", "errors"],
    )


_CUSTOMER_FIELDS: dict[str, dict[str, Any]] = {
    "firstName": {"type": "string", "description": "First name (required on register)"},
    "lastName": {"type": "string", "description": "Last name (required on register)"},
    "gender": {"type": "string", "enum": ["male", "female", "not_disclosed", ""]},
    "email": {"type": "string", "description": "E-mail address, unique compared lower-cased (README)"},
    "phone": {"type": "string", "description": "Phone, unique with a leading + ignored (README)"},
    "birthDate": {"type": "string", "description": "Y-m-d (README); Y-m-d H:i also accepted (doc)"},
    "createdAt": {"type": "string", "description": "Y-m-d H:i:s, in the server's zone (doc)"},
    "loyaltyCardNumber": {"type": "string", "description": "Unique when non-empty (README)"},
    "labels": {"type": "string", "description": "key1:val1;key2:val2 (doc)"},
    "agreement1": {
        "type": "string",
        "enum": ["1", "0", "true", "false", ""],
        "description": "Terms; must be 1 on register (README)",
    },
    "agreement2": {
        "type": "string",
        "enum": ["1", "0", "true", "false", ""],
        "description": "E-mail marketing",
    },
    "agreement3": {"type": "string", "enum": ["1", "0", "true", "false", ""], "description": "SMS marketing"},
    "levelId": {"type": "string", "description": "Assign this level manually"},
    "posId": {"type": "string", "description": "Accepted and ignored (no POS in the simulator)"},
    "sellerId": {"type": "string", "description": "Accepted and ignored (no sellers in the simulator)"},
    "invitationToken": {"type": "string", "description": "Accepted and ignored (register only)"},
}


def _flat_form(allowed: tuple[str, ...]) -> dict[str, Any]:
    """The form-encoded body with PHP bracket names, as the document's curl examples send it."""
    properties: dict[str, Any] = {
        f"customer[{name}]": schema for name, schema in _CUSTOMER_FIELDS.items() if name in allowed
    }
    properties |= {f"customer[address][{part}]": {"type": "string"} for part in ADDRESS_FIELDS}
    properties |= {f"customer[company][{part}]": {"type": "string"} for part in COMPANY_FIELDS}
    return {"type": "object", "properties": properties}


def _json_form(allowed: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: schema for name, schema in _CUSTOMER_FIELDS.items() if name in allowed}
    fields["address"] = _obj({part: {"type": "string"} for part in ADDRESS_FIELDS})
    fields["company"] = _obj({part: {"type": "string"} for part in COMPANY_FIELDS})
    return {"type": "object", "properties": {"customer": {"type": "object", "properties": fields}}}


_REGISTER_ALLOWED = (*REGISTER_FIELDS, "labels", "invitationToken")


def _customer_body(allowed: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _flat_form(allowed)},
            "multipart/form-data": {"schema": _flat_form(allowed)},
            "application/json": {"schema": _json_form(allowed)},
        },
    }


_STORE = {
    "name": "storeCode",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Code of the store; the simulator has one store, DEFAULT (doc examples). Any other code: 404.",
}
_CUSTOMER = {
    "name": "customer",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Customer's UUID (doc).",
}

_GUARD_RESPONSES: dict[str, Any] = {
    "401": _json(_ref("AuthenticationRequired"), "No Bearer token (README)."),
    "403": _json(
        _ref("Error"),
        "Token rejected: expired ('Expired JWT Token') or unknown ('Invalid JWT "
        "Token') (README: 403; messages: simulator choice after lexik's).",
    ),
    "429": {
        "description": "Rate limited (only when a limit is injected: Open Loyalty has none, README).",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "default": _json(_ref("Error"), "An injected error status, in FOSRest's error shape."),
}
_NOT_FOUND = {"404": _json(_ref("Error"), "Unknown store code or customer (README: 404 body).")}
_BAD_JSON = _json(_ref("Error"), "A JSON body that does not parse: 'Invalid json message received'.")


def _guarded(
    summary: str,
    section: str,
    responses: dict[str, Any],
    *,
    params: list[dict[str, Any]],
    body: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f'{DOC}, "{section}". {description}'.strip(),
        "security": [{"bearerAuth": []}],
        "parameters": params,
        "responses": {**responses, **_NOT_FOUND, **_GUARD_RESPONSES},
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


_LIST_PARAMS: list[dict[str, Any]] = [
    _STORE,
    *(
        {
            "name": name,
            "in": "query",
            "schema": {"type": "string"},
            "description": f"(optional) {text}; substring unless strict=1 (doc).",
        }
        for name, text in (
            ("firstName", "First name"),
            ("lastName", "Last name"),
            ("email", "E-mail, compared lower-cased"),
            ("phone", "Phone, compared by its digits (simulator choice)"),
            ("loyaltyCardNumber", "Loyalty card number"),
        )
    ),
    *(
        {
            "name": name,
            "in": "query",
            "schema": {"type": "number"},
            "description": "(optional) inclusive bound (doc).",
        }
        for name in (
            "transactionsAmountFrom",
            "transactionsAmountTo",
            "averageTransactionAmountFrom",
            "averageTransactionAmountTo",
            "transactionsCountFrom",
            "transactionsCountTo",
        )
    ),
    {
        "name": "strict",
        "in": "query",
        "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
        "description": "1: exact match, else a like match; default 0 (doc).",
    },
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1},
        "description": "From 1 (doc).",
    },
    {
        "name": "perPage",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1},
        "description": "Default 10 (doc).",
    },
    {
        "name": "sort",
        "in": "query",
        "schema": {
            "type": "string",
            "enum": [
                "customerId",
                "firstName",
                "lastName",
                "email",
                "phone",
                "loyaltyCardNumber",
                "createdAt",
                "updatedAt",
                "active",
                "levelId",
                "transactionsCount",
                "transactionsAmount",
                "averageTransactionAmount",
                "lastTransactionDate",
            ],
        },
        "description": "Column name (doc); without it, newest first (simulator choice, as in the doc's examples).",
    },
    {
        "name": "direction",
        "in": "query",
        "schema": {"type": "string", "enum": ["ASC", "DESC", "asc", "desc"]},
        "description": "Default ASC when sort is given (doc).",
    },
    {"name": "_locale", "in": "query", "schema": {"type": "string"}, "description": "Accepted and ignored."},
]
_LIST_BODY = {
    "description": "The document's curl examples send the list parameters as a form body (-d); the simulator "
    "reads them from there too (the query string wins).",
    "required": False,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {p["name"]: p["schema"] for p in _LIST_PARAMS if p["in"] == "query"},
            }
        }
    },
}


def _list(section: str) -> dict[str, Any]:
    return _guarded(
        "List customers",
        section,
        {"200": _json(_ref("CustomerList"), "A page of customers and the total (doc)."), "400": _BAD_JSON},
        params=_LIST_PARAMS,
        body=_LIST_BODY,
    )


def _register(section: str) -> dict[str, Any]:
    return _guarded(
        "Register a customer",
        section,
        {
            "200": _json(_ref("Registered"), "The new customer's id and e-mail (doc)."),
            "400": _json(
                {"oneOf": [_ref("RegisterFormErrors"), _ref("Error")]},
                "Form errors: every child listed, messages on the failing ones (doc, README); without a "
                "customer form, no messages at all (doc).",
            ),
            "500": _json(_ref("Error"), "A company with only one of name and NIP (README)."),
        },
        params=[_STORE],
        body=_customer_body(_REGISTER_ALLOWED, "customer[...] fields (doc)."),
        description="firstName, lastName, email and agreement1 are required; email, phone and loyalty card "
        "number are unique (README).",
    )


_TOKEN_RESPONSE = _json(
    _obj(
        {
            "token": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
                "description": "A JWT (RS256 header; payload with username, roles, iat, exp).",
            },
            "refresh_token": {"type": "string"},
        },
        ["token", "refresh_token"],
    ),
    "A JWT and a refresh token (README).",
)
_BAD_CREDENTIALS = _json(
    _ref("LexikError"),
    'Wrong credentials or refresh token: {"code":401,"message":"Bad credentials"} (simulator choice after lexik).',
)


def _credentials_body(fields: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields, "required": list(fields)}
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        },
    }


_CUSTOMER_SCHEMA = _obj(
    {
        "customerId": UUID,
        "active": {"type": "boolean"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "gender": {"type": "string", "enum": ["male", "female", "not_disclosed"]},
        "email": {"type": "string"},
        "phone": {"type": "string"},
        "birthDate": DATE_TIME,
        "address": _ref("Address"),
        "company": _ref("Company"),
        "loyaltyCardNumber": {"type": "string"},
        "createdAt": DATE_TIME,
        "id": {**UUID, "description": "Details only: the level id again, as in the doc's example."},
        "levelId": UUID,
        "agreement1": {"type": "boolean"},
        "agreement2": {"type": "boolean", "description": "E-mail marketing consent"},
        "agreement3": {"type": "boolean", "description": "SMS marketing consent"},
        "status": _obj(
            {
                "availableTypes": {"type": "array", "items": {"type": "string"}},
                "availableStates": {"type": "array", "items": {"type": "string"}},
                "type": {"type": "string", "enum": ["new", "active", "blocked", "deleted"]},
                "state": {"type": "string", "enum": ["no-card", "card-sent", "with-card"]},
            },
            ["availableTypes", "availableStates", "type", "state"],
        ),
        "updatedAt": DATE_TIME,
        "campaignPurchases": {"type": "array", "maxItems": 0},
        "transactionsCount": {"type": "integer", "minimum": 0},
        "transactionsAmount": {"type": "number"},
        "transactionsAmountWithoutDeliveryCosts": {"type": "number"},
        "amountExcludedForLevel": {"type": "number"},
        "averageTransactionAmount": {"type": "number"},
        "lastTransactionDate": DATE_TIME,
        "labels": {
            "type": "array",
            "items": _obj({"key": {"type": "string"}, "value": {"type": "string"}}, ["key", "value"]),
        },
        "level": _obj(
            {
                "levelId": _obj({"id": UUID, "levelId": UUID}, ["id", "levelId"]),
                "name": {"type": "string"},
                "translations": {
                    "type": "object",
                    "additionalProperties": _obj({"name": {"type": "string"}}, ["name"]),
                },
            },
            ["levelId", "name", "translations"],
        ),
        "version": {"type": "integer", "description": "Details only."},
        "currency": {"type": "string", "const": "eur"},
        "segments": {"type": "array", "maxItems": 0, "description": "Details only."},
        "levelPercent": {"type": "string", "pattern": r"^\d+\.\d{2}%$"},
    },
    [
        "customerId",
        "active",
        "firstName",
        "lastName",
        "createdAt",
        "levelId",
        "agreement1",
        "agreement2",
        "agreement3",
        "status",
        "updatedAt",
        "campaignPurchases",
        "transactionsCount",
        "transactionsAmount",
        "transactionsAmountWithoutDeliveryCosts",
        "amountExcludedForLevel",
        "averageTransactionAmount",
        "labels",
        "level",
        "currency",
        "levelPercent",
    ],
)

_STATUS_SCHEMA = _obj(
    {
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "customerId": UUID,
        "points": {"type": "number"},
        "p2pPoints": {"type": "number"},
        "totalEarnedPoints": {"type": "number"},
        "usedPoints": {"type": "number"},
        "expiredPoints": {"type": "number"},
        "lockedPoints": {"type": "number"},
        "level": {"type": "string", "description": "The level's reward percent, e.g. 5.00%"},
        "levelName": {"type": "string"},
        "levelConditionValue": {"type": "number"},
        "nextLevel": {"type": "string", "description": "Absent on the top level"},
        "nextLevelName": {"type": "string"},
        "nextLevelConditionValue": {"type": "number"},
        "transactionsAmountToNextLevel": {"type": "number"},
        "transactionsAmountWithoutDeliveryCosts": {"type": "number"},
        "averageTransactionsAmount": {"type": "string", "pattern": r"^\d+\.\d{2}$"},
        "transactionsCount": {"type": "integer"},
        "transactionsAmount": {"type": "number"},
        "currency": {"type": "string"},
        "pointsExpiringNextMonth": {"type": "number"},
    },
    [
        "firstName",
        "lastName",
        "customerId",
        "points",
        "totalEarnedPoints",
        "usedPoints",
        "expiredPoints",
        "lockedPoints",
        "level",
        "levelName",
        "levelConditionValue",
        "transactionsAmountWithoutDeliveryCosts",
        "averageTransactionsAmount",
        "transactionsCount",
        "transactionsAmount",
        "currency",
    ],
)

_NO_CONTENT_200 = {"200": {"description": "No content (doc)."}}
_NO_CONTENT_204 = {"204": {"description": "No content (doc)."}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Open Loyalty customer API (simulator)",
        "version": "1.0.0",
        "description": f"What the customer-graph simulator implements of {DOC} and the Open Loyalty "
        "section of providers/README.md.",
    },
    "servers": [{"url": "/openloyalty"}],
    "paths": {
        "/api/admin/login_check": {
            "post": {
                "summary": "Admin login",
                "description": "README: _username/_password -> token, refresh_token.",
                "security": [],
                "requestBody": _credentials_body({"_username": {"type": "string"}, "_password": {"type": "string"}}),
                "responses": {
                    "200": _TOKEN_RESPONSE,
                    "401": _BAD_CREDENTIALS,
                    "429": _GUARD_RESPONSES["429"],
                    "default": _GUARD_RESPONSES["default"],
                },
            }
        },
        "/api/token/refresh": {
            "post": {
                "summary": "Refresh the JWT",
                "description": "README: refresh_token -> a new token.",
                "security": [],
                "requestBody": _credentials_body({"refresh_token": {"type": "string"}}),
                "responses": {
                    "200": _TOKEN_RESPONSE,
                    "401": _BAD_CREDENTIALS,
                    "429": _GUARD_RESPONSES["429"],
                    "default": _GUARD_RESPONSES["default"],
                },
            }
        },
        "/api/{storeCode}/admin/customer/register": {"post": _register("Register a new customer as an admin")},
        "/api/{storeCode}/customer/register": {"post": _register("Create a new customer")},
        "/api/{storeCode}/admin/customer": {"get": _list("Get a customer list as an admin")},
        "/api/{storeCode}/customer": {"get": _list("Get customers")},
        "/api/{storeCode}/customer/check": {
            "get": _guarded(
                "Check whether an e-mail or phone is taken",
                "Check if customer with given phone number or email exists",
                {
                    "200": _json(
                        _obj({"total": {"type": "integer", "minimum": 0}}, ["total"]),
                        "How many customers hold it (doc).",
                    )
                },
                params=[
                    _STORE,
                    {
                        "name": "emailOrPhone",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "E-mail (lower-cased) or phone (by digits) (doc).",
                    },
                ],
            )
        },
        "/api/{storeCode}/customer/{customer}": {
            "get": _guarded(
                "Get a customer",
                "Get customer details",
                {"200": _json(_ref("Customer"), "The customer (doc).")},
                params=[_STORE, _CUSTOMER],
            ),
            "put": _guarded(
                "Update a customer",
                "Update a customer",
                {
                    "200": _json(_obj({"customerId": UUID}, ["customerId"]), "The customer's id (doc)."),
                    "400": _json({"oneOf": [_ref("EditFormErrors"), _ref("Error")]}, "Form errors (doc)."),
                    "500": _json(_ref("Error"), "A company with only one of name and NIP (doc)."),
                },
                params=[_STORE, _CUSTOMER],
                body=_customer_body(EDIT_FIELDS, "customer[...] fields (doc)."),
                description="Omitted fields are untouched, empty ones erased; address and company are "
                "replaced whole (doc).",
            ),
            "delete": _guarded("Remove a customer", "Remove customer", _NO_CONTENT_204, params=[_STORE, _CUSTOMER]),
        },
        "/api/{storeCode}/customer/{customer}/level": {
            "post": _guarded(
                "Assign a level manually",
                "Assign a customer to a level",
                {
                    "200": _json({"type": "array", "maxItems": 0}, "[] (doc)."),
                    "400": _json(
                        {"oneOf": [_ref("LevelFormErrors"), _ref("Error")]},
                        "levelId blank or not a level (simulator choice: Symfony's messages).",
                    ),
                },
                params=[_STORE, _CUSTOMER],
                body={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": _obj({"levelId": UUID}, ["levelId"])},
                        "application/json": {"schema": _obj({"levelId": UUID}, ["levelId"])},
                    },
                },
            )
        },
        "/api/{storeCode}/customer/{customer}/remove-manually-level": {
            "post": _guarded(
                "Remove a manually assigned level",
                "Remove a customer from a manually assigned level",
                _NO_CONTENT_204,
                params=[_STORE, _CUSTOMER],
                description="The level is recalculated from the transactions amount.",
            )
        },
        "/api/{storeCode}/admin/customer/{customer}/activate": {
            "post": _guarded("Activate a customer", "Activate a customer", _NO_CONTENT_200, params=[_STORE, _CUSTOMER])
        },
        "/api/{storeCode}/admin/customer/{customer}/deactivate": {
            "post": _guarded(
                "Deactivate a customer", "Deactivate a customer", _NO_CONTENT_200, params=[_STORE, _CUSTOMER]
            )
        },
        "/api/{storeCode}/admin/customer/{customer}/status": {
            "get": _guarded(
                "Customer status",
                "Get customer status",
                {"200": _json(_ref("CustomerStatus"), "Points and levels (doc).")},
                params=[_STORE, _CUSTOMER],
            )
        },
        "/api/{storeCode}/admin/customer/{customer}/anonymize": {
            "post": _guarded(
                "Anonymize a customer",
                "Anonymize customer",
                _NO_CONTENT_204,
                params=[_STORE, _CUSTOMER],
                description="Simulator choice: names become 'Anonymous', other personal data is erased; "
                "points, level and transactions stay.",
            )
        },
    },
    "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": _obj(
                {"error": _obj({"code": {"type": "integer"}, "message": {"type": "string"}}, ["code", "message"])},
                ["error"],
            ),
            "AuthenticationRequired": _obj({"message": {"const": "Authentication Required"}}, ["message"]),
            "LexikError": _obj({"code": {"type": "integer"}, "message": {"type": "string"}}, ["code", "message"]),
            "FormChild": _obj(
                {
                    "errors": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "children": {"type": "object", "additionalProperties": _ref("FormChild")},
                }
            ),
            "RegisterFormErrors": _form_errors(REGISTER_FIELDS),
            "EditFormErrors": _form_errors(EDIT_FIELDS),
            "LevelFormErrors": _form_errors(("levelId",)),
            "Address": _obj({part: {"type": "string"} for part in ADDRESS_FIELDS}),
            "Company": _obj({part: {"type": "string"} for part in COMPANY_FIELDS}, list(COMPANY_FIELDS)),
            "Customer": _CUSTOMER_SCHEMA,
            "CustomerList": _obj(
                {
                    "customers": {"type": "array", "items": _ref("Customer")},
                    "total": {"type": "integer", "minimum": 0},
                },
                ["customers", "total"],
            ),
            "CustomerStatus": _STATUS_SCHEMA,
            "Registered": _obj({"customerId": UUID, "email": {"type": "string"}}, ["customerId", "email"]),
        },
    },
}
