"""The one error tree of the provider boundary.

Every way a provider call can fail becomes one of these, raised (or returned in a batch slot) by a
connector; nothing above the connectors sees an ``httpx`` exception or a provider's error body.

    ProviderError
     ├── ProviderUnavailable       5xx, connection refused or reset, retries exhausted   retryable
     │    └── CircuitOpen          failed fast: the provider's circuit is open             retryable
     ├── ProviderTimeout           the call's deadline passed                               retryable
     ├── ProviderRateLimited       429; ``retry_after`` seconds when the provider said      retryable
     ├── ProviderAuthError         our credentials were refused                             not retryable
     ├── ProviderNotFound          no such record                                           not retryable
     ├── ProviderRejected          a business rule refused the request; ``provider_code``  not retryable
     ├── ProviderProtocolError     the response does not match the provider's wire model   not retryable
     └── ProviderUnsupported       the provider has no way to do this operation            not retryable

Messages are built here from the provider, operation and a fixed reason, never from a URL, a body or any
value sent, so that no secret or customer data can reach a log or a client through an error.
"""

from __future__ import annotations

from typing import ClassVar

from customer_graph.domain.models import Provider


class ProviderError(Exception):
    code: ClassVar[str] = "PROVIDER_ERROR"
    retryable: ClassVar[bool] = False
    reason: ClassVar[str] = "provider error"

    def __init__(
        self, provider: Provider, operation: str, *, status: int | None = None, detail: str | None = None
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.status = status
        # ``detail`` is for fixed, data-free text chosen by our code (e.g. "HTTP 503", "code 8015").
        self.detail = detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        suffix = f" ({self.detail})" if self.detail else (f" (HTTP {self.status})" if self.status else "")
        return f"{self.provider.value} {self.operation}: {self.reason}{suffix}"


class ProviderUnavailable(ProviderError):
    code = "PROVIDER_UNAVAILABLE"
    retryable = True
    reason = "provider unavailable"


class CircuitOpen(ProviderUnavailable):
    code = "PROVIDER_UNAVAILABLE"
    reason = "circuit open, failing fast"


class ProviderTimeout(ProviderError):
    code = "PROVIDER_TIMEOUT"
    retryable = True
    reason = "deadline exceeded"


class ProviderRateLimited(ProviderError):
    code = "RATE_LIMITED"
    retryable = True
    reason = "rate limited"

    def __init__(
        self,
        provider: Provider,
        operation: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        detail: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            provider,
            operation,
            status=status,
            detail=detail or (f"retry after {retry_after:g}s" if retry_after is not None else None),
        )


class ProviderAuthError(ProviderError):
    code = "PROVIDER_AUTH"
    reason = "credentials refused"


class ProviderNotFound(ProviderError):
    code = "NOT_FOUND"
    reason = "not found"


class ProviderRejected(ProviderError):
    code = "PROVIDER_REJECTED"
    reason = "request rejected"

    def __init__(
        self,
        provider: Provider,
        operation: str,
        *,
        provider_code: str | None = None,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.provider_code = provider_code
        super().__init__(
            provider, operation, status=status, detail=detail or (f"code {provider_code}" if provider_code else None)
        )


class ProviderProtocolError(ProviderError):
    code = "PROVIDER_PROTOCOL_ERROR"
    reason = "response does not match the provider's wire model"


class ProviderUnsupported(ProviderError):
    code = "UNSUPPORTED"
    reason = "operation not supported by this provider"
