"""The OpenAPI 3.1 document of exactly what the TWC simulator serves (paths relative to its prefix)."""

from __future__ import annotations

from typing import Any

DOC = "twc-customer-api.md"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_BOOL = {"type": ["boolean", "null"]}

_ADDRESS_FIELDS = (
    "address1",
    "address2",
    "addressName",
    "city",
    "company",
    "country",
    "countryCode",
    "customerId",
    "email",
    "firstName",
    "id",
    "lastName",
    "phone",
    "postcode",
    "province",
    "provinceCode",
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _empty(description: str) -> dict[str, Any]:
    return {"description": description}


_ERROR = _ref("Error")
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before the next call.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'RFC 6750: `Bearer` or `Bearer error="invalid_token", ...`',
        "schema": {"type": "string"},
    }
}


def _guarded(responses: dict[str, Any]) -> dict[str, Any]:
    """Every customer endpoint: its own responses plus auth, the rate limit and injected errors."""
    return {
        **responses,
        "401": _json(_ERROR, f"{DOC}: 401 Unauthorised. Missing, unknown or expired Bearer token.", _WWW_AUTHENTICATE),
        "403": _json(_ERROR, f"{DOC}: 403 Forbidden. Missing or unknown `X-TWC-Tenant`, or a token of another tenant."),
        "429": _json(_ERROR, "Rate limit exceeded (simulator fault or configured limit).", _RETRY_AFTER),
        "default": _json(_ERROR, "Any other error status, in the same Spring error body."),
    }


_BAD_REQUEST = _json(
    _ERROR,
    f"{DOC}: 400 Bad request unable to create customer. Malformed JSON, a wrong type, a "
    "missing `email`, or (create/update) a taken unique value.",
)
_NOT_FOUND = _json(_ERROR, f"{DOC}, Find Customer by Ref: a ResourceNotFound error.")


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "security": [{"keycloak": []}],
        "parameters": [{"$ref": "#/components/parameters/Tenant"}, *(parameters or [])],
        "responses": _guarded(responses),
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _schemas() -> dict[str, Any]:
    address_properties: dict[str, Any] = {name: _NULLABLE_STRING for name in _ADDRESS_FIELDS}
    address_properties["defaultAddress"] = _NULLABLE_BOOL
    common: dict[str, Any] = {
        "email": {
            "type": ["string", "null"],
            "description": "Mandatory; unique, compared trimmed and case-insensitively. Kept exactly as sent.",
        },
        "customerRef": {"type": ["string", "null"], "description": "Unique when present."},
        "alternateCustomerRef": {"type": ["string", "null"], "description": "Unique when present."},
        "firstName": _NULLABLE_STRING,
        "lastName": _NULLABLE_STRING,
        "mobile": {"type": ["string", "null"], "description": "Unique (compared by its digits)."},
        "phone": {"type": ["string", "null"], "description": "Unique (compared by its digits)."},
        "accepts_marketing": _NULLABLE_BOOL,
        "active": _NULLABLE_BOOL,
        "attributeGroups": {"type": ["object", "null"], "additionalProperties": True},
        "customer_state": {"enum": ["disabled", "invited", "enabled", "declined", None]},
        "marketing_optin_level": {"enum": ["single_opt_in", "confirmed_opt_in", "unknown", None]},
        "taxExempt": _NULLABLE_BOOL,
        "taxExemptions": {"type": ["array", "null"], "items": {"type": "string"}},
        "verified_email": _NULLABLE_BOOL,
    }
    request_properties = {
        **common,
        "id": {
            "type": ["string", "null"],
            "description": "Update: names the customer (else `customerRef` does). Ignored on create.",
        },
        "dob": {
            "type": ["string", "null"],
            "description": "`dd-mm-yyyy`; an ISO 8601 date-time (the "
            "document's samples) is accepted and kept as its date.",
        },
        "addresses": {"type": ["array", "null"], "items": _ref("Address")},
        "defaultAddress": {"anyOf": [_ref("Address"), {"type": "null"}]},
        "marketing_preferences_updated_at": {"type": ["string", "null"], "format": "date-time"},
        "createdDate": {"description": "Ignored: owned by the server."},
        "lastModifiedDate": {"description": "Ignored: owned by the server."},
    }
    customer_properties = {
        **{
            name: {k: v for k, v in schema.items() if k != "description"} | _not_null(schema)
            for name, schema in common.items()
        },
        "id": {"type": "string"},
        "dob": {"type": "string", "pattern": r"^\d{2}-\d{2}-\d{4}$"},
        "addresses": {"type": "array", "items": _ref("AddressOut")},
        "defaultAddress": _ref("AddressOut"),
        "marketing_preferences_updated_at": {"type": "string", "pattern": TIMESTAMP},
        "createdDate": {"type": "string", "pattern": TIMESTAMP},
        "lastModifiedDate": {"type": "string", "pattern": TIMESTAMP},
    }
    address_out = {name: {"type": "string"} for name in _ADDRESS_FIELDS} | {"defaultAddress": {"type": "boolean"}}
    return {
        "Address": {
            "type": "object",
            "description": f"{DOC}, Representations: Address. Unknown fields are ignored.",
            "properties": address_properties,
        },
        "AddressOut": {
            "type": "object",
            "description": "An address as returned: TWC `id` and `customerId` set; null fields left out.",
            "required": ["id", "customerId"],
            "properties": address_out,
            "additionalProperties": False,
        },
        "CustomerRequest": {
            "type": "object",
            "description": f"{DOC}, Create a Customer (sample request). Only "
            "`email` is mandatory; unknown fields are ignored.",
            "properties": request_properties,
        },
        "Customer": {
            "type": "object",
            "description": f"{DOC}, Representations. Null fields are left out.",
            "required": [
                "id",
                "email",
                "addresses",
                "accepts_marketing",
                "active",
                "customer_state",
                "taxExempt",
                "taxExemptions",
                "verified_email",
                "createdDate",
                "lastModifiedDate",
            ],
            "properties": customer_properties,
            "additionalProperties": False,
        },
        "Error": {
            "type": "object",
            "description": "Spring Boot's default error body (the document lists statuses only).",
            "required": ["timestamp", "status", "error", "message"],
            "properties": {
                "timestamp": {"type": "string", "pattern": TIMESTAMP},
                "status": {"type": "integer"},
                "error": {"type": "string"},
                "message": {"type": "string"},
                "path": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "Token": {
            "type": "object",
            "description": "TWC authenticationsvcApi, Generate Token: Response - 200 (OK).",
            "required": [
                "access_token",
                "expires_in",
                "refresh_expires_in",
                "token_type",
                "not-before-policy",
                "scope",
            ],
            "properties": {
                "access_token": {"type": "string"},
                "expires_in": {"type": "integer"},
                "refresh_expires_in": {"type": "integer"},
                "token_type": {"const": "Bearer"},
                "not-before-policy": {"type": "integer"},
                "scope": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "OAuthError": {
            "type": "object",
            "description": "Keycloak's token endpoint error body.",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
            "additionalProperties": False,
        },
    }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The response form of a request property: the same values without null (nulls are left out)."""
    if "enum" in schema:
        return {"enum": [v for v in schema["enum"] if v is not None]}
    kinds = [k for k in schema["type"] if k != "null"]
    return {"type": kinds[0]}


def openapi(server_prefix: str) -> dict[str, Any]:
    customer = _ref("Customer")
    search_parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": description,
        }
        for name, description in (
            ("email", "Trimmed, case-insensitive."),
            ("mobile", "Compared by its digits."),
            ("phone", "Compared by its digits."),
            ("firstName", "Trimmed, case-insensitive."),
            ("lastName", "Trimmed, case-insensitive."),
        )
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TWC Customer API (simulator)",
            "version": "v2",
            "description": f"After /work/shared/providers/{DOC} and providers/README.md (TWC).",
        },
        "servers": [{"url": server_prefix, "description": "customer-graph simulate"}],
        "paths": {
            "/auth/realms/{tenant}/protocol/openid-connect/token": {
                "post": {
                    "operationId": "generateToken",
                    "summary": "Generate Token (Keycloak client credentials)",
                    "description": "TWC authenticationsvcApi, Generate Token. Lifetime 300 s by default.",
                    "parameters": [_path_param("tenant", "The tenant realm (the `X-TWC-Tenant` value).")],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["grant_type"],
                                    "properties": {
                                        "grant_type": {"const": "client_credentials"},
                                        "client_id": {"type": "string"},
                                        "client_secret": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(_ref("Token"), "A Bearer token."),
                        "400": _json(
                            _ref("OAuthError"),
                            "`invalid_request` (no grant_type), `invalid_client` "
                            "(no client_id) or `unsupported_grant_type`.",
                        ),
                        "401": _json(
                            _ref("OAuthError"),
                            "`invalid_client` (unknown client) or `unauthorized_client` (wrong secret).",
                        ),
                        "404": _json(_ref("OAuthError"), "`Realm does not exist`."),
                        "429": _json(_ERROR, "Rate limit exceeded.", _RETRY_AFTER),
                        "default": _json(_ERROR, "Injected error status."),
                    },
                },
            },
            "/api/v2/customers": {
                "post": _operation(
                    "createCustomer",
                    "Create a Customer",
                    f"{DOC}, Create a Customer.",
                    {"201": _json(customer, "The created customer."), "400": _BAD_REQUEST},
                    body=_ref("CustomerRequest"),
                ),
                "put": _operation(
                    "updateCustomer",
                    "Update a Customer",
                    f"{DOC}, Update a Customer. The body is the whole customer: fields not sent are cleared. "
                    "The customer is named by `id`, else by `customerRef`.",
                    {
                        "200": _json(customer, "The updated customer."),
                        "400": _BAD_REQUEST,
                        "404": _json(_ERROR, "No customer with that id or customerRef (ResourceNotFound)."),
                    },
                    body=_ref("CustomerRequest"),
                ),
            },
            "/api/v2/upload-customers": {
                "post": _operation(
                    "uploadCustomers",
                    "Upload Customers",
                    f"{DOC}, Upload Customers. Accepted for processing; elements whose unique values "
                    "are taken are skipped.",
                    {"202": _empty("Accepted; no body."), "400": _BAD_REQUEST},
                    body={"type": "array", "items": _ref("CustomerRequest")},
                ),
            },
            "/api/v2/customers/validate": {
                "post": _operation(
                    "validateCustomerRequest",
                    "Validate Customer Input",
                    f"{DOC}, Validate Customer Input (format and mandatory fields, not uniqueness).",
                    {"200": _empty("Valid; no body."), "400": _BAD_REQUEST},
                    body=_ref("CustomerRequest"),
                ),
            },
            "/api/v2/customers/search": {
                "get": _operation(
                    "lookupCustomer",
                    "Look up Customers by email/mobile/phone/firstName/lastName",
                    f"{DOC}, Look up Customers. Every given parameter must match (AND); none given finds nothing.",
                    {"200": _json({"type": "array", "items": customer}, "Matching customers (maybe none).")},
                    parameters=search_parameters,
                ),
            },
            "/api/v2/customers/{id}/address": {
                "post": _operation(
                    "addCustomerAddress",
                    "Add address to Existing Customer",
                    f"{DOC}, Add address to Existing Customer.",
                    {
                        "200": _json(customer, "The customer with the new address."),
                        "400": _BAD_REQUEST,
                        "404": _json(_ERROR, "No such customer (ResourceNotFound)."),
                    },
                    parameters=[_path_param("id", "Customer id.")],
                    body=_ref("Address"),
                ),
            },
            "/api/v2/customers/{id}": {
                "get": _operation(
                    "getCustomer",
                    "Find Customer by Id",
                    f"{DOC}, Find Customer by Id.",
                    {
                        "200": _json(customer, "The customer."),
                        "404": _empty(f"{DOC}: 'If the customer does not exist, this method returns a Blank.'"),
                    },
                    parameters=[_path_param("id", "Customer id.")],
                ),
                "delete": _operation(
                    "deleteCustomer",
                    "Delete Customer by ID",
                    f"{DOC}, Delete Customer by ID: marks the customer deleted.",
                    {"204": _empty("Deleted, or there was no such customer ('a empty response').")},
                    parameters=[_path_param("id", "Customer id.")],
                ),
            },
            "/api/v2/customers/{customerRef}/ref": {
                "get": _operation(
                    "getCustomerByRef",
                    "Find Customer by Ref",
                    f"{DOC}, Find Customer by Ref.",
                    {"200": _json(customer, "The customer."), "404": _NOT_FOUND},
                    parameters=[_path_param("customerRef", "Customer ref.")],
                ),
                "delete": _operation(
                    "deleteCustomerByRef",
                    "Delete Customer by Ref",
                    f"{DOC}, Delete Customer by Ref: marks the customer deleted.",
                    {"204": _empty("Deleted, or there was no such customer ('a empty response').")},
                    parameters=[_path_param("customerRef", "Customer ref.")],
                ),
            },
        },
        "components": {
            "schemas": _schemas(),
            "parameters": {
                "Tenant": {
                    "name": "X-TWC-Tenant",
                    "in": "header",
                    "required": True,
                    "description": "The tenant name.",
                    "schema": {"type": "string"},
                }
            },
            "securitySchemes": {
                "keycloak": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{server_prefix}/auth/realms/twc-demo/protocol/openid-connect/token",
                            "scopes": {},
                        }
                    },
                }
            },
        },
    }
