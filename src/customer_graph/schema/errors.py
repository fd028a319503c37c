"""How a provider failure appears in a GraphQL response.

A failed provider makes only its own part of the answer null, with an error at that path whose
``extensions`` say ``code`` (``PROVIDER_UNAVAILABLE``, ``PROVIDER_TIMEOUT``, ``RATE_LIMITED``, ...),
``provider`` (the ``Provider`` enum name) and ``retryable``. Messages come from the provider error tree,
which builds them without URLs, bodies or customer data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from customer_graph.connectors.errors import ProviderError


class ProviderFieldError(Exception):
    """A provider's failure placed on a field (raised) or on a list item (returned in its slot)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.extensions: dict[str, Any] = extensions_of(error)


def extensions_of(error: ProviderError) -> dict[str, Any]:
    extensions: dict[str, Any] = {"code": error.code, "provider": error.provider.name, "retryable": error.retryable}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        extensions["retryAfter"] = retry_after
    return extensions


class PartialErrors(SchemaExtension):
    """Adds the provider failures that resolvers recorded on the context to the response's ``errors``."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        recorded = getattr(context, "root_errors", None)
        if not recorded or result is None:
            return
        extra = [GraphQLError(error.message, path=[path], extensions=extensions_of(error)) for path, error in recorded]
        result.errors = [*(result.errors or []), *extra]
