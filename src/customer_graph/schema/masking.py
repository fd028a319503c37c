"""Personal data that a client without the ``customers:pii`` scope does not see.

Two layers. The schema says, field by field, what is personal (``types.py`` attaches these extensions):

- ``Identifier.value`` of e-mail, mobile, username, WeChat and LINE identifiers (and of any identifier whose
  value is an e-mail address or an E.164 number) is masked: ``k***@e***.com``, ``+**********24``;
- ``Customer.birthDate`` and an address's lines, city, state and postcode are null (the country, the
  provider and the address id stay). These resolvers are not even called, so masking costs no provider call;
- the values of a ``birthDate`` conflict are masked.

Mutation payloads and federation entities return the same ``Customer`` type, so they are masked the same
way. Then, as a safety net over the whole response (data, error messages and extensions), ``redact_response``
replaces anything that still looks like an e-mail address or a phone number: whatever a future field,
provider message or error might carry, a client without the scope does not receive it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info

from customer_graph.domain.models import IdentifierType
from customer_graph.schema.access import can_see_pii

MASK = "***"
REDACTED = "[redacted]"
# Contact identifiers: what reaches a person. Usernames are e-mail addresses or phone numbers more often than not.
CONTACT_IDENTIFIERS = frozenset(
    {IdentifierType.EMAIL, IdentifierType.MOBILE, IdentifierType.USERNAME, IdentifierType.WECHAT, IdentifierType.LINE}
)
PERSONAL_CONFLICT_FIELDS = frozenset({"birthDate"})

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")  # not ': it quotes
_E164 = re.compile(r"\+\d{7,15}")
# In prose (error messages), any run of eight or more digits, however spaced, may be a phone number.
_DIGIT_RUN = re.compile(r"\+?\d(?:[\s().-]*\d){7,}")


def mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    return f"{local[:1]}{MASK}@{host[:1]}{MASK}{dot}{tld}" if host else f"{local[:1]}{MASK}@{MASK}"


def mask_phone(value: str) -> str:
    digits = [c for c in value if c.isdigit()]
    return ("+" if value.startswith("+") else "") + "*" * max(len(digits) - 2, 0) + "".join(digits[-2:])


def mask_identifier(identifier_type: IdentifierType, value: str) -> str:
    if identifier_type is IdentifierType.EMAIL or _EMAIL.fullmatch(value):
        return mask_email(value)
    if identifier_type is IdentifierType.MOBILE or _E164.fullmatch(value):
        return mask_phone(value)
    if identifier_type in CONTACT_IDENTIFIERS:
        return value[:1] + MASK
    return value


class MaskIdentifierValue(FieldExtension):
    """On ``Identifier.value``: the value, masked when the client may not see personal data."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        value = next_(source, info, **kwargs)
        if value is None or can_see_pii(info.context):
            return value
        return mask_identifier(source.type, value)


class NullWithoutPii(FieldExtension):
    """On a personal field: null, without calling its resolver, when the client may not see personal data."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs) if can_see_pii(info.context) else None

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        return await next_(source, info, **kwargs) if can_see_pii(info.context) else None


class MaskConflictValues(FieldExtension):
    """On ``Conflict.values``: the disagreeing values of a personal field are masked (who disagrees stays)."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        values = next_(source, info, **kwargs)
        if source.field not in PERSONAL_CONFLICT_FIELDS or can_see_pii(info.context):
            return values
        return [dataclasses.replace(value, value=MASK) for value in values]


# -- the safety net --------------------------------------------------------------------------------------


def redact_text(text: str, *, prose: bool = False) -> str:
    """E-mail addresses and E.164 numbers replaced; in ``prose`` (messages), any long run of digits too."""
    text = _EMAIL.sub(REDACTED, text)
    return _DIGIT_RUN.sub(REDACTED, text) if prose else _E164.sub(REDACTED, text)


def redact_response(value: Any, key: str | None = None) -> Any:
    """A copy of a JSON-shaped response with every string passed through ``redact_text`` (``message`` values as
    prose)."""
    if isinstance(value, str):
        return redact_text(value, prose=key == "message")
    if isinstance(value, dict):
        return {k: redact_response(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_response(v, key) for v in value]
    return value
