"""Who is asking, and what they may ask: the authenticated principal and the scopes each operation needs.

Scopes are checked for the whole operation before anything runs (``schema.limits.OperationGuard``), so an
operation that asks for one field the client may not have is refused as a whole, with no provider call:

=================== ==========================================================================================
``customers:read``   every query field (``customer``, ``customers``, ``providers``, federation ``_entities``, ...)
``customers:write``  every mutation, except the two below
``customers:admin``  ``mergeCustomers`` and ``eraseCustomer``
``customers:pii``    not needed to ask anything; without it e-mail and mobile identifiers, birth dates and
                     addresses come back masked or null (``schema.masking``)
=================== ==========================================================================================

Introspection (``__schema``, ``__type``) and ``__typename`` need authentication but no scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

READ = "customers:read"
WRITE = "customers:write"
PII = "customers:pii"
ADMIN = "customers:admin"
SCOPES = (READ, WRITE, PII, ADMIN)
ALL_SCOPES = frozenset(SCOPES)

# Mutations that act on people as a whole (who is who; erasure): not for every writer.
ADMIN_MUTATIONS = frozenset({"mergeCustomers", "eraseCustomer"})
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client: its id (for audit and rate limits; never a credential) and its scopes."""

    client_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def can_see_pii(context: Any) -> bool:
    """Whether the request's principal holds ``customers:pii``. No principal (a context built by hand) sees none."""
    principal = getattr(context, "principal", None)
    return principal is not None and principal.has(PII)


def required_scopes(operation: str, root_fields: Iterable[str]) -> frozenset[str]:
    """The scopes an operation (``query``/``mutation``/``subscription``) needs for these root fields."""
    needed: set[str] = set()
    for name in root_fields:
        if name in INTROSPECTION_FIELDS:
            continue
        if operation == "mutation":
            needed.add(ADMIN if name in ADMIN_MUTATIONS else WRITE)
        else:
            needed.add(READ)
    return frozenset(needed)


def forbidden(missing: Iterable[str]) -> GraphQLError:
    names = sorted(missing)
    return GraphQLError(
        f"this operation needs the scope{'s' if len(names) > 1 else ''} {', '.join(names)}",
        extensions={"code": "FORBIDDEN", "missingScopes": names},
    )
