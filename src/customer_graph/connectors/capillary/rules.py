"""Capillary's error rules as data: HTTP status plus the codes of its ``errors[]`` envelope -> the error tree.

    {"errors":[{"status":false,"code":8015,"message":"Customer not found for the given identifiers"}],"warnings":[]}

- 401 and 403: credentials refused (403: the till lacks write access).
- 429: rate limited, honouring ``Retry-After`` (the body of a 429 is not published).
- 5xx: unavailable (500 "all requests failed", 521 "another action is running on the same customer").
- 8069: the customer was merged into another account (:class:`MergedAccount`, a not-found that the connector
  resolves to the survivor).
- 8015, 8065, 816, 1011, 1012, 8009: no such customer.
- any other code: rejected, with the code.
- 201: "one or more requests failed" (README). Every call we make carries one request, so a 201 is its failure:
  its codes decide, and without one it is a rejection.

The message of an error carries the code only, never Capillary's message text (it may quote input).
"""

from __future__ import annotations

import httpx
import orjson
from pydantic import ValidationError

from customer_graph.connectors.capillary.wire import ErrorEnvelope
from customer_graph.connectors.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from customer_graph.connectors.http import retry_after_seconds
from customer_graph.domain.models import Provider

PROVIDER = Provider.CAPILLARY
PARTIAL_FAILURE = 201
MERGED = 8069
NOT_FOUND = frozenset({8015, 8065, 816, 1011, 1012, 8009})


class MergedAccount(ProviderNotFound):
    """Capillary's 8069: the record asked for is a merge victim. Reads resolve it to the survivor."""

    reason = "record merged into another account"


def error_codes(response: httpx.Response) -> list[int]:
    """The codes of the ``errors`` array, or none when the body is not Capillary's envelope."""
    try:
        envelope = ErrorEnvelope.model_validate(orjson.loads(response.content))
    except (orjson.JSONDecodeError, ValidationError):
        return []
    return [e.code for e in envelope.errors or () if e.code is not None]


def classify(response: httpx.Response, operation: str) -> ProviderError | None:
    status = response.status_code
    if status < 400 and status != PARTIAL_FAILURE:
        return None
    if status in (401, 403):
        return ProviderAuthError(PROVIDER, operation, status=status)
    if status == 429:
        return ProviderRateLimited(PROVIDER, operation, retry_after=retry_after_seconds(response))
    if status >= 500:
        return ProviderUnavailable(PROVIDER, operation, status=status)
    codes = error_codes(response)
    if MERGED in codes:
        return MergedAccount(PROVIDER, operation, status=status, detail=f"code {MERGED}")
    missing = next((code for code in codes if code in NOT_FOUND), None)
    if missing is not None:
        return ProviderNotFound(PROVIDER, operation, status=status, detail=f"code {missing}")
    if codes:
        return ProviderRejected(PROVIDER, operation, provider_code=str(codes[0]), status=status)
    if status == 404:
        return ProviderNotFound(PROVIDER, operation, status=status)
    if status == PARTIAL_FAILURE:
        return ProviderRejected(PROVIDER, operation, status=status, detail="HTTP 201: the request failed")
    return ProviderRejected(PROVIDER, operation, status=status)
