"""Normalisation of identifiers, so that the same person's e-mail or phone compares equal across providers.

- e-mail: trimmed and lower-cased (providers differ in case and stray spaces; the local part is treated as
  case-insensitive, as every provider here does when enforcing uniqueness);
- phone: E.164 via ``phonenumbers``. Providers store ``+44 7700 900123``, ``447700900123`` or
  ``+447700900123``; digits without a ``+`` are read as international (country code first), which is how
  Capillary and Martjack store them, unless a default region is given for national formats.
"""

from __future__ import annotations

import re

import phonenumbers

from customer_graph.domain.models import IdentifierType

# Deliberately loose: one @, something on each side, a dot in the domain. Deliverability is not ours to judge.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class InvalidIdentifier(ValueError):
    """An identifier value that cannot be normalised; the message never repeats the value."""

    def __init__(self, identifier_type: IdentifierType, reason: str) -> None:
        super().__init__(f"invalid {identifier_type.value.lower()}: {reason}")
        self.identifier_type = identifier_type
        self.reason = reason


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidIdentifier(IdentifierType.EMAIL, "not an e-mail address")
    return email


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    text = raw.strip()
    digits = re.sub(r"[\s().-]", "", text)
    if not digits:
        raise InvalidIdentifier(IdentifierType.MOBILE, "empty")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+") and default_region is None:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, None if digits.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(IdentifierType.MOBILE, "not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(IdentifierType.MOBILE, "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_identifier(identifier_type: IdentifierType, raw: str) -> str:
    """The comparable form of an identifier value: e-mail and phone as above, others trimmed."""
    if identifier_type is IdentifierType.EMAIL:
        return normalise_email(raw)
    if identifier_type is IdentifierType.MOBILE:
        return normalise_phone(raw)
    value = raw.strip()
    if not value:
        raise InvalidIdentifier(identifier_type, "empty")
    return value


def try_normalise(identifier_type: IdentifierType, raw: str | None) -> str | None:
    """For data read from a provider: a value that does not normalise is dropped, not fatal."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_identifier(identifier_type, raw)
    except InvalidIdentifier:
        return None
