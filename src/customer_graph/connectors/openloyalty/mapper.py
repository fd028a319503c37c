"""Pure functions between Open Loyalty's wire models and the unified domain.

wire -> domain: a customer becomes a :class:`ProviderRecord` holding PROFILE, ADDRESSES and SUBSCRIPTIONS
(they all come with the customer); the status call becomes a :class:`LoyaltyProgram`.

domain -> wire: the form fields Open Loyalty reads, PHP bracket names (``customer[address][city]``), values
as strings; an empty string erases a field on update.

Choices where the documents are silent:

- ``agreement1`` is the terms-and-conditions consent, not a subscription; ``agreement2`` is e-mail marketing
  and ``agreement3`` SMS marketing. Both are always known (booleans), so both are emitted, as OPT_IN/OPT_OUT.
- The one address has no id of its own: it is given the fixed id :data:`ADDRESS_ID`.
  Open Loyalty keeps the building number (``address1``) apart from the street; the domain's ``line1`` is
  "<number> <street>", and a ``line1`` whose first word holds a digit is split back the same way.
- Open Loyalty runs one loyalty program per store, which every customer belongs to: the program id is the
  store code; the tier is the level's name.
- Birth dates come as date-times (``1990-09-11T02:00:00+0200``): the day is the one at whose midnight the
  value sits, in the given offset or else in UTC (the document's example is midnight UTC shown in +0200).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from customer_graph.domain.models import (
    Address,
    AddressInput,
    AddressPatch,
    Channel,
    CustomerDraft,
    CustomerStatus,
    Facet,
    Gender,
    Identifier,
    IdentifierKey,
    IdentifierType,
    LoyaltyProgram,
    ProfilePatch,
    Provider,
    ProviderRecord,
    Subscription,
    SubscriptionInput,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.domain.normalise import InvalidIdentifier, normalise_phone, try_normalise

from . import wire

PROVIDER = Provider.OPEN_LOYALTY
ADDRESS_ID = "address"  # the one address a customer has
# Facets that come with the customer itself: no extra call.
RECORD_FACETS = frozenset({Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS})
LOOKUP_TYPES = frozenset({IdentifierType.EMAIL, IdentifierType.MOBILE, IdentifierType.CARD_NUMBER})

# The list endpoint's strict filter, and the customer form field, for each identifier type it holds.
_IDENTIFIER_FIELDS: dict[IdentifierType, str] = {
    IdentifierType.EMAIL: "email",
    IdentifierType.MOBILE: "phone",
    IdentifierType.CARD_NUMBER: "loyaltyCardNumber",
}
# Consents by (channel, kind).
_AGREEMENTS: dict[tuple[Channel, SubscriptionKind], str] = {
    (Channel.EMAIL, SubscriptionKind.MARKETING): "agreement2",
    (Channel.SMS, SubscriptionKind.MARKETING): "agreement3",
}
_GENDERS = {"male": Gender.MALE, "female": Gender.FEMALE, "not_disclosed": Gender.NOT_DISCLOSED}
_GENDER_VALUES = {value: key for key, value in _GENDERS.items()}
_ADDRESS_PARTS = ("street", "address1", "address2", "postal", "city", "province", "country")


@dataclass(frozen=True)
class MapSettings:
    """What mapping needs to know about the account: its store, the program's name, and how to read a
    phone written without a country code (``None``: as international digits, the domain's default)."""

    store_code: str
    program_name: str = "Open Loyalty"
    phone_region: str | None = None


# -- wire -> domain --------------------------------------------------------------------------------


def record_from_customer(customer: wire.Customer, settings: MapSettings, fetched_at: datetime) -> ProviderRecord:
    """A customer as a record holding PROFILE, ADDRESSES and SUBSCRIPTIONS in full."""
    address = address_from_wire(customer.address)
    return ProviderRecord(
        provider=PROVIDER,
        record_id=customer.customer_id,
        fetched_at=fetched_at,
        facets=RECORD_FACETS,
        first_name=_text(customer.first_name),
        last_name=_text(customer.last_name),
        birth_date=birth_date(customer.birth_date),
        gender=_GENDERS.get((customer.gender or "").strip().lower()),
        status=customer_status(customer),
        identifiers=identifiers(customer, settings),
        account=settings.store_code,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        addresses=(address,) if address else (),
        subscriptions=subscriptions(customer),
    )


def record_from_status(
    record_id: str, status: wire.CustomerStatus, settings: MapSettings, fetched_at: datetime
) -> ProviderRecord:
    """A record holding only LOYALTY: what a read that asked for nothing else gets."""
    return ProviderRecord(
        provider=PROVIDER,
        record_id=record_id,
        fetched_at=fetched_at,
        facets=frozenset({Facet.LOYALTY}),
        account=settings.store_code,
        loyalty_programs=(loyalty_from_status(status, settings),),
    )


def with_loyalty(record: ProviderRecord, status: wire.CustomerStatus, settings: MapSettings) -> ProviderRecord:
    return replace(
        record, facets=record.facets | {Facet.LOYALTY}, loyalty_programs=(loyalty_from_status(status, settings),)
    )


def loyalty_from_status(status: wire.CustomerStatus, settings: MapSettings) -> LoyaltyProgram:
    expiring = sorted(day for day, points in (status.points_expiring_breakdown or {}).items() if points > 0)
    return LoyaltyProgram(
        provider=PROVIDER,
        program_id=settings.store_code,
        name=settings.program_name,
        points=status.points,
        lifetime_points=status.total_earned_points,
        redeemed_points=status.used_points,
        expired_points=status.expired_points,
        tier=_text(status.level_name),
        next_tier=_text(status.next_level_name),
        points_expiry=expiring[0] if expiring else None,
    )


def identifiers(customer: wire.Customer, settings: MapSettings) -> tuple[Identifier, ...]:
    """EMAIL, MOBILE and CARD_NUMBER, normalised; a value that does not normalise is left out."""
    found: list[Identifier] = []
    if email := try_normalise(IdentifierType.EMAIL, customer.email):
        found.append(Identifier(IdentifierType.EMAIL, email, PROVIDER))
    if mobile := phone(customer.phone, settings):
        found.append(Identifier(IdentifierType.MOBILE, mobile, PROVIDER))
    if card := try_normalise(IdentifierType.CARD_NUMBER, customer.loyalty_card_number):
        found.append(Identifier(IdentifierType.CARD_NUMBER, card, PROVIDER))
    return tuple(found)


def phone(raw: str | None, settings: MapSettings) -> str | None:
    """E.164, or None. Open Loyalty keeps what it was given: ``+44 7700 900123``, ``48456456000``, ..."""
    if raw is None or not raw.strip():
        return None
    try:
        return normalise_phone(raw, settings.phone_region)
    except InvalidIdentifier:
        return None


def address_from_wire(address: wire.Address | None) -> Address | None:
    if address is None:
        return None
    street, number = _text(address.street), _text(address.address1)
    line1 = " ".join(part for part in (number, street) if part) or None
    result = Address(
        provider=PROVIDER,
        id=ADDRESS_ID,
        line1=line1,
        line2=_text(address.address2),
        city=_text(address.city),
        state=_text(address.province),
        postcode=_text(address.postal),
        country=_country(address.country),
        is_default=True,
    )
    parts = (result.line1, result.line2, result.city, result.state, result.postcode, result.country)
    return result if any(parts) else None


def subscriptions(customer: wire.Customer) -> tuple[Subscription, ...]:
    flags = {"agreement2": customer.agreement2, "agreement3": customer.agreement3}
    return tuple(
        Subscription(PROVIDER, channel, kind, SubscriptionStatus.OPT_IN if flag else SubscriptionStatus.OPT_OUT)
        for (channel, kind), name in _AGREEMENTS.items()
        if (flag := flags[name]) is not None
    )


def customer_status(customer: wire.Customer) -> CustomerStatus:
    if customer.status is not None and customer.status.type == "deleted":
        return CustomerStatus.DELETED
    return CustomerStatus.ACTIVE if customer.active else CustomerStatus.INACTIVE


def birth_date(value: datetime | None) -> date | None:
    if value is None:
        return None
    if value.timetz().replace(tzinfo=None) == time(0):
        return value.date()
    in_utc = value.astimezone(UTC) if value.tzinfo else value
    if in_utc.time() == time(0):
        return in_utc.date()
    return value.date()


def identifier_of(record: ProviderRecord, identifier_type: IdentifierType) -> str | None:
    return next((i.value for i in record.identifiers if i.type is identifier_type), None)


# -- domain -> wire --------------------------------------------------------------------------------


def lookup_filter(key: IdentifierKey) -> dict[str, str] | None:
    """The strict list filter that finds this identifier, or None when Open Loyalty holds no such type."""
    name = _IDENTIFIER_FIELDS.get(key.type)
    return {name: key.value, "strict": "1"} if name else None


def matches(record: ProviderRecord, key: IdentifierKey) -> bool:
    """Whether the record holds exactly this (normalised) identifier: the provider's match is not trusted."""
    return any(i.type is key.type and i.value == key.value for i in record.identifiers)


def search_filters(text: str) -> dict[str, str]:
    """The list endpoint has no free-text query: pick the filter that the text looks like.

    An e-mail (or part of one: ``@`` or a dot without spaces) searches e-mail, digits search phone, one word
    the last name, several words first name (the first word) and last name (the rest). All are substring
    (``strict=0``) matches.
    """
    text = text.strip()
    if not text:
        return {}
    if "@" in text or ("." in text and " " not in text):
        return {"email": text}
    compact = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?\d{3,}", compact):
        return {"phone": compact}
    words = text.split()
    if len(words) == 1:
        return {"lastName": text}
    return {"firstName": words[0], "lastName": " ".join(words[1:])}


def register_form(draft: CustomerDraft) -> dict[str, str]:
    """``customer[...]`` fields of ``POST .../admin/customer/register``.

    ``agreement1`` (terms) is required by Open Loyalty and sent as accepted: registering through the gateway
    is the business registering a customer who accepted its terms. Marketing consents come from the draft's
    subscriptions (see :func:`agreements_form`), otherwise they are off.
    """
    values: dict[str, str | None] = {
        "firstName": draft.first_name,
        "lastName": draft.last_name,
        "email": draft.email,
        "phone": draft.mobile,
        "birthDate": draft.birth_date.isoformat() if draft.birth_date else None,
        "gender": _GENDER_VALUES[draft.gender] if draft.gender else None,
        "loyaltyCardNumber": draft.card_number,
    }
    form = {f"customer[{name}]": value for name, value in values.items() if value is not None}
    if draft.address is not None:
        form |= address_form(draft.address)
    form |= {"customer[agreement1]": "1", "customer[agreement2]": "0", "customer[agreement3]": "0"}
    form |= agreements_form(draft.subscriptions)
    return form


def profile_form(patch: ProfilePatch) -> dict[str, str]:
    """The changed fields only (omitted ones stay untouched); a cleared field is sent empty, which erases it."""
    form: dict[str, str] = {}
    for name, value in patch.changed().items():
        if name == "first_name":
            form["customer[firstName]"] = value if isinstance(value, str) else ""
        elif name == "last_name":
            form["customer[lastName]"] = value if isinstance(value, str) else ""
        elif name == "birth_date":
            form["customer[birthDate]"] = value.isoformat() if isinstance(value, date) else ""
        elif name == "gender":
            form["customer[gender]"] = _GENDER_VALUES[value] if isinstance(value, Gender) else ""
    return form


def identifier_form(identifier_type: IdentifierType, value: str | None) -> dict[str, str] | None:
    """Set (or, with None, erase) the one field holding this identifier type; None when there is none."""
    name = _IDENTIFIER_FIELDS.get(identifier_type)
    return {f"customer[{name}]": value or ""} if name else None


def address_form(address: AddressInput | None) -> dict[str, str]:
    """The whole address (Open Loyalty replaces it whole); None sends every part empty, which removes it."""
    parts = dict.fromkeys(_ADDRESS_PARTS, "")
    if address is not None:
        street, number = _split_line1(address.line1)
        parts |= {
            "street": street or "",
            "address1": number or "",
            "address2": address.line2 or "",
            "postal": address.postcode or "",
            "city": address.city or "",
            "province": address.state or "",
            "country": address.country or "",
        }
    return {f"customer[address][{name}]": value.strip() for name, value in parts.items()}


def address_patch_form(held: wire.Address | None, patch: AddressPatch) -> dict[str, str]:
    """The whole address for a PUT (Open Loyalty replaces it whole): every part as held, the patched ones
    replaced (``line1`` is split back into building number and street, as :func:`address_form` does)."""
    parts = {name: (getattr(held, name) or "") if held is not None else "" for name in _ADDRESS_PARTS}
    changed = patch.changed()
    if "line1" in changed:
        street, number = _split_line1(changed["line1"])
        parts |= {"street": street or "", "address1": number or ""}
    for name, part in (
        ("line2", "address2"),
        ("city", "city"),
        ("state", "province"),
        ("postcode", "postal"),
        ("country", "country"),
    ):
        if name in changed:
            parts[part] = changed[name] or ""
    return {f"customer[address][{name}]": value.strip() for name, value in parts.items()}


def agreement_field(channel: Channel, kind: SubscriptionKind) -> str | None:
    """The consent that holds this subscription, or None when Open Loyalty has none for it."""
    return _AGREEMENTS.get((channel, kind))


def agreements_form(subscriptions: Iterable[SubscriptionInput]) -> dict[str, str]:
    """Consents for the subscriptions Open Loyalty holds; the caller refuses the others first."""
    form: dict[str, str] = {}
    for subscription in subscriptions:
        name = agreement_field(subscription.channel, subscription.kind)
        if name is not None:
            form[f"customer[{name}]"] = "1" if subscription.status is SubscriptionStatus.OPT_IN else "0"
    return form


def page_window(offset: int, limit: int) -> tuple[int, int, int] | None:
    """``(page, perPage, skip)`` of the one page that holds rows ``offset .. offset+limit-1``.

    Pages start at 1 and are ``perPage`` rows long, so an offset that is a multiple of the limit is one page
    of ``limit`` rows; otherwise a slightly larger page (at most twice the limit) that holds the whole window
    is used. None when there is no such page: the caller then reads the two ``limit``-row pages around it.
    """
    if offset % limit == 0:
        return offset // limit + 1, limit, 0
    last = offset + limit - 1
    for size in range(limit + 1, 2 * limit + 1):
        if offset // size == last // size:
            return offset // size + 1, size, offset % size
    return None


def form_error_code(body: wire.FormErrorBody) -> str:
    """A data-free code for a Symfony form error: ``<field path>:<kind>`` for every field in error.

    Kinds: ``duplicate`` (already exists), ``blank``, ``invalid_email``, ``invalid_phone``, ``extra_fields``,
    ``invalid``. No message text and no submitted value is repeated.
    """
    found = [f"form:{_error_kind(message)}" for message in (*body.errors, *body.form.errors)]

    def walk(path: str, child: wire.FormChild) -> None:
        found.extend(f"{path}:{_error_kind(message)}" for message in child.errors)
        for name, grandchild in child.children.items():
            walk(f"{path}.{name}", grandchild)

    for name, child in body.form.children.items():
        walk(name, child)
    return ",".join(dict.fromkeys(found)) or "form"


# -- helpers ---------------------------------------------------------------------------------------


def _error_kind(message: str) -> str:
    text = message.lower()
    if "already exists" in text:
        return "duplicate"
    if "should not be blank" in text:
        return "blank"
    if "valid email" in text:
        return "invalid_email"
    if "valid phone" in text:
        return "invalid_phone"
    if "extra fields" in text:
        return "extra_fields"
    return "invalid"


def _split_line1(line1: str | None) -> tuple[str | None, str | None]:
    """``"56 Park Avenue"`` -> ``("Park Avenue", "56")``; a line without a leading number is all street."""
    if not line1 or not line1.strip():
        return None, None
    first, _, rest = line1.strip().partition(" ")
    if rest.strip() and any(ch.isdigit() for ch in first):
        return rest.strip(), first
    return line1.strip(), None


def _country(value: str | None) -> str | None:
    text = _text(value)
    if text and len(text) == 2 and text.isalpha():
        return text.upper()
    return text


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None
