"""Open Loyalty's request bodies and the Symfony forms that validate them.

Bodies are form-encoded with PHP bracket names (``customer[address][city]=Wroclaw``); the real provider's
FOSRest body listener also decodes JSON (``{"customer": {"address": {"city": "Wroclaw"}}}``), so both are
read into the same nested dict of strings. Validation follows Symfony's rules: every text field is trimmed,
an empty value is ``None``, and an error belongs to the form child it concerns, rendered as the whole
children tree (``{"form": {"children": {...}}, "errors": [...]}``) with ``{}`` for children without errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import phonenumbers
from starlette.datastructures import UploadFile
from starlette.requests import Request

from customer_graph.simulators.openloyalty.store import LEVELS_BY_ID, OpenLoyaltyStore

# Open Loyalty's demo runs in Europe/Warsaw: every date it emits carries that offset (+0100 / +0200).
SERVER_TZ = ZoneInfo("Europe/Warsaw")

ADDRESS_FIELDS = ("street", "address1", "address2", "postal", "city", "province", "country")
COMPANY_FIELDS = ("name", "nip")
# The children of the register and edit forms, in the order the document's 400 examples list them (the
# edit form alone has ``labels`` as a child; register accepts ``labels`` and ``invitationToken`` anyway,
# as its parameter table says).
REGISTER_FIELDS = (
    "firstName",
    "lastName",
    "gender",
    "email",
    "phone",
    "birthDate",
    "createdAt",
    "address",
    "company",
    "loyaltyCardNumber",
    "agreement1",
    "agreement2",
    "agreement3",
    "levelId",
    "posId",
    "sellerId",
)
EDIT_FIELDS = (*REGISTER_FIELDS[:10], "labels", *REGISTER_FIELDS[10:])
_REGISTER_EXTRAS = ("labels", "invitationToken")
GENDERS = ("male", "female", "not_disclosed")

BLANK = "This value should not be blank."
INVALID = "This value is not valid."
EXTRA_FIELDS = "This form should not contain extra fields."
BAD_EMAIL = "This value is not a valid email address."
BAD_PHONE = "This value is not a valid phone number."
EMAIL_TAKEN = "Customer with such email already exists."
PHONE_TAKEN = "Customer with such phone already exists."
CARD_TAKEN = "Customer with such loyalty card number already exists."

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9]{6,20}")
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


class InvalidJson(ValueError):
    """A JSON body that does not parse: FOSRest's body listener answers 400 before any controller runs."""


class CompanyIncomplete(Exception):
    """Only one of company name and NIP: the provider fails building its Company value object (a 500)."""


# -- bodies ----------------------------------------------------------------------------------------


async def read_body(request: Request) -> dict[str, Any]:
    """The request body as nested dicts of strings, whether form-encoded, multipart or JSON."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise InvalidJson("Invalid json message received") from exc
        return _stringify(value) if isinstance(value, dict) else {}
    if "multipart/form-data" in content_type:
        form = await request.form()
        return nest((key, value) for key, value in form.multi_items() if not isinstance(value, UploadFile))
    # curl -d sends application/x-www-form-urlencoded; a body without a content type is read the same way.
    raw = await request.body()
    return nest(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's reading of bracket names: ``customer[address][city]=x`` -> ``{"customer": {"address": ...}}``."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        keys = [head, *_BRACKETS.findall("[" + rest)] if rest else [head]
        node = result
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = value
    return result


def _stringify(value: dict[str, Any]) -> dict[str, Any]:
    """JSON scalars as the strings a form would carry: booleans as 1/0, null as empty (erase)."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out[str(key)] = _stringify(item)
        elif isinstance(item, bool):
            out[str(key)] = "1" if item else "0"
        elif item is None:
            out[str(key)] = ""
        else:
            out[str(key)] = str(item)
    return out


# -- errors ----------------------------------------------------------------------------------------


@dataclass
class FormErrors:
    """Errors by form path: ``()`` is the form itself, ``("address", "city")`` a grandchild."""

    by_path: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    def add(self, path: tuple[str, ...], message: str) -> None:
        self.by_path.setdefault(path, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_path)

    def body(self, fields: Sequence[str]) -> dict[str, Any]:
        """Symfony's serialized form: every child present, ``{}`` when it has no error."""
        children: dict[str, Any] = {}
        for name in fields:
            node: dict[str, Any] = {}
            if errors := self.by_path.get((name,)):
                node["errors"] = errors
            compound = {"address": ADDRESS_FIELDS, "company": COMPANY_FIELDS}.get(name)
            if compound:
                node["children"] = {
                    sub: ({"errors": errs} if (errs := self.by_path.get((name, sub))) else {}) for sub in compound
                }
            children[name] = node
        return {"form": {"children": children}, "errors": self.by_path.get((), [])}


# -- the customer form -----------------------------------------------------------------------------


@dataclass
class CustomerForm:
    """The parsed fields of a submitted customer form: only the fields that were sent (``None`` erases)."""

    values: dict[str, Any]
    errors: FormErrors
    company_incomplete: bool = False


def customer_form(body: dict[str, Any], store: OpenLoyaltyStore, *, current_id: str | None) -> CustomerForm:
    """Validate ``body["customer"]``: a registration when ``current_id`` is None, else an edit of that one.

    Registration requires firstName, lastName, email and agreement1; an edit touches only what was sent.
    Uniqueness of email, phone and loyalty card number is checked against every other customer.
    """
    editing = current_id is not None
    data = body.get("customer")
    errors = FormErrors()
    values: dict[str, Any] = {}
    if not isinstance(data, dict):
        data = {}
    allowed = EDIT_FIELDS if editing else (*REGISTER_FIELDS, *_REGISTER_EXTRAS)
    if any(key not in allowed for key in data):
        errors.add((), EXTRA_FIELDS)

    def text(name: str) -> str | None:
        raw = data.get(name)
        if isinstance(raw, dict):
            errors.add((name,), INVALID)
            return None
        return (raw.strip() or None) if isinstance(raw, str) else None

    def sent(name: str) -> bool:
        return name in data

    required = {"firstName", "lastName", "email"} if not editing else {"firstName", "lastName"}
    for name in ("firstName", "lastName", "email", "phone", "loyaltyCardNumber", "gender"):
        if not editing or sent(name):
            value = text(name)
            if value is None and name in required and (name,) not in errors.by_path:
                errors.add((name,), BLANK)
            values[name] = value

    gender = values.get("gender")
    if gender is not None and gender not in GENDERS:
        errors.add(("gender",), INVALID)
    email = values.get("email")
    if email is not None:
        if not _EMAIL.fullmatch(email):
            errors.add(("email",), BAD_EMAIL)
        elif store.id_by_email(email) not in (None, current_id):
            errors.add(("email",), EMAIL_TAKEN)
    phone = values.get("phone")
    if phone is not None:
        if not valid_phone(phone):
            errors.add(("phone",), BAD_PHONE)
        elif store.id_by_phone(phone) not in (None, current_id):
            errors.add(("phone",), PHONE_TAKEN)
    card = values.get("loyaltyCardNumber")
    if card is not None and store.id_by_card(card) not in (None, current_id):
        errors.add(("loyaltyCardNumber",), CARD_TAKEN)

    if sent("birthDate"):
        born = _parse(text("birthDate"), ("%Y-%m-%d", "%Y-%m-%d %H:%M"), ("birthDate",), errors)
        values["birthDate"] = born.date() if born else None
    if sent("createdAt"):
        created = _parse(text("createdAt"), ("%Y-%m-%d %H:%M:%S",), ("createdAt",), errors)
        values["createdAt"] = created.replace(tzinfo=SERVER_TZ) if created else None

    for name in ("agreement1", "agreement2", "agreement3"):
        if sent(name) or not editing:
            raw = text(name)
            if raw is not None and raw.lower() not in _TRUE | _FALSE:
                errors.add((name,), INVALID)
                continue
            flag = raw is not None and raw.lower() in _TRUE
            # Symfony's NotBlank counts false as blank: registration needs the first agreement accepted.
            if name == "agreement1" and not editing and not flag:
                errors.add((name,), BLANK)
            values[name] = flag

    if sent("address"):
        values["address"] = _compound(data["address"], "address", ADDRESS_FIELDS, errors)
    elif not editing:
        values["address"] = {}
    company_incomplete = False
    if sent("company"):
        company = _compound(data["company"], "company", COMPANY_FIELDS, errors)
        company_incomplete = len(company) == 1
        values["company"] = company or None

    if sent("labels"):
        values["labels"] = _labels(text("labels"), errors)
    if sent("levelId"):
        level_id = text("levelId")
        if level_id is not None and level_id not in LEVELS_BY_ID:
            errors.add(("levelId",), INVALID)
        values["levelId"] = level_id
    return CustomerForm(values, errors, company_incomplete)


def valid_phone(phone: str) -> bool:
    """Digits with an optional leading ``+`` (spaces and dashes allowed); an international number must exist.

    The document accepts "0665998332" and "000000005000" but refuses "+440000000" as "not a valid phone
    number": a national number is only checked for shape, an international one against the numbering plan.
    """
    compact = "".join(ch for ch in phone if ch not in " -().")
    if not _PHONE.fullmatch(compact):
        return False
    if not compact.startswith("+"):
        return True
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(compact)))
    except phonenumbers.NumberParseException:
        return False


def _parse(raw: str | None, formats: Sequence[str], path: tuple[str, ...], errors: FormErrors) -> datetime | None:
    if raw is None:
        return None
    for fmt in formats:
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            continue
    errors.add(path, INVALID)
    return None


def _compound(raw: Any, name: str, fields: Sequence[str], errors: FormErrors) -> dict[str, str]:
    """A compound child is replaced whole: the parts not sent are gone."""
    if not isinstance(raw, dict):
        if isinstance(raw, str) and not raw.strip():
            return {}
        errors.add((name,), INVALID)
        return {}
    if any(key not in fields for key in raw):
        errors.add((name,), EXTRA_FIELDS)
    parts: dict[str, str] = {}
    for key in fields:
        value = raw.get(key)
        if isinstance(value, dict):
            errors.add((name, key), INVALID)
        elif isinstance(value, str) and value.strip():
            parts[key] = value.strip()
    return parts


def _labels(raw: str | None, errors: FormErrors) -> list[dict[str, str]]:
    """``key1:val1;key2:val2`` as ``[{"key": "key1", "value": "val1"}, ...]``."""
    labels: list[dict[str, str]] = []
    for pair in (raw or "").split(";"):
        if not pair.strip():
            continue
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            errors.add(("labels",), INVALID)
            return []
        labels.append({"key": key.strip(), "value": value.strip()})
    return labels


def level_form(body: dict[str, Any]) -> tuple[str | None, FormErrors]:
    """The manual level assignment form: one top-level ``levelId`` that must name a level."""
    errors = FormErrors()
    raw = body.get("levelId")
    level_id = raw.strip() if isinstance(raw, str) else None
    if not level_id:
        errors.add(("levelId",), BLANK)
    elif level_id not in LEVELS_BY_ID:
        errors.add(("levelId",), INVALID)
    return (level_id if not errors else None), errors
