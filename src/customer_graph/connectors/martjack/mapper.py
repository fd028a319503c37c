"""Pure functions between Martjack's wire models and the unified domain model.

Martjack facts this relies on (martjack-customer-api.md; providers/README.md, Martjack):

- a customer is named by its ``UserId`` (a GUID, our record id) and logs in with its ``UserName``, which is
  "email, mobile, or any other identifier" and cannot change; ``MobileNo`` holds a mobile as international
  digits (``917000000000``, ``91-7411639213``); ``AlternateEmail`` holds an e-mail beside the UserName
  (the only e-mail a customer with a mobile-number UserName has). So a record's identifiers are USERNAME,
  EMAIL (the UserName when it is an e-mail, and AlternateEmail) and MOBILE (MobileNo, and the UserName when
  it is a phone number);
- ``BirthDate`` is US style, ``1/1/1994`` or ``1/1/1994 12:00:00 PM``; ``1/1/1900`` is what a customer
  without one shows; other dates are .NET JSON dates, ``/Date(1534759560943+0530)/`` (UTC milliseconds and
  the server's offset);
- ``Gender`` is written ``M``/``F`` in one sample and ``male`` in another: both are read, ``male``/``female``
  are written;
- ``IsReceiveOffers`` is Martjack's one consent flag: it subscribes "the customer's mobile number/email id"
  to offers. It is read as EMAIL and SMS MARKETING together (both OPT_IN or both OPT_OUT) and written from
  them: any opt-out among them clears the flag, otherwise an opt-in sets it (see
  :func:`receive_offers_for`). Martjack holds no transactional consent and nothing for other channels;
- Martjack keeps no account status or timestamps in the customer object, and has no loyalty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import phonenumbers

from customer_graph.connectors.martjack.wire import (
    CustomerCreate,
    MartjackCustomer,
    ShippingAddress,
    ShippingAddressWrite,
)
from customer_graph.domain.models import (
    UNSET,
    Address,
    AddressInput,
    AddressPatch,
    Channel,
    CustomerDraft,
    Facet,
    Gender,
    Identifier,
    IdentifierKey,
    IdentifierType,
    ProfilePatch,
    Provider,
    ProviderRecord,
    Subscription,
    SubscriptionInput,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.domain.normalise import InvalidIdentifier, normalise_email, normalise_phone, try_normalise

PROVIDER = Provider.MARTJACK
# What comes with the customer object itself (no extra call); addresses are a call of their own.
RECORD_FACETS = frozenset({Facet.PROFILE, Facet.SUBSCRIPTIONS})
# The subscriptions ``IsReceiveOffers`` stands for.
OFFER_CHANNELS = (Channel.EMAIL, Channel.SMS)

_NET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_BIRTH_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
)
# .NET's DateTime.MinValue and Martjack's 1/1/1900 mean "no birth date".
_LAST_UNSET_YEAR = 1900
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{6,}$")
_GENDERS_IN = {
    "m": Gender.MALE,
    "male": Gender.MALE,
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "o": Gender.NOT_DISCLOSED,
    "u": Gender.NOT_DISCLOSED,
    "other": Gender.NOT_DISCLOSED,
    "not_disclosed": Gender.NOT_DISCLOSED,
    "unspecified": Gender.NOT_DISCLOSED,
}
# Martjack has no value for "not disclosed": it is written as no gender.
_GENDERS_OUT = {Gender.MALE: "male", Gender.FEMALE: "female", Gender.NOT_DISCLOSED: ""}


class UnmappableSubscription(ValueError):
    """A subscription that ``IsReceiveOffers`` cannot hold (the message names no customer data)."""


# -- dates ------------------------------------------------------------------------------------------


def parse_net_date(value: str | None) -> datetime | None:
    """``/Date(1534759560943+0530)/`` as an aware datetime in the offset given (UTC when none)."""
    match = _NET_DATE.match((value or "").strip())
    if match is None:
        return None
    millis, offset = match.groups()
    zone: timezone = UTC
    if offset:
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return datetime.fromtimestamp(int(millis) / 1000, tz=zone)


def parse_birth_date(value: str | None) -> date | None:
    """A BirthDate in any of Martjack's spellings; ``None`` when unset (``1/1/1900``) or unreadable."""
    text = (value or "").strip()
    if not text:
        return None
    parsed: date | None = None
    net = parse_net_date(text)
    if net is not None:
        parsed = net.date()
    for fmt in _BIRTH_DATE_FORMATS if parsed is None else ():
        try:
            parsed = datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    if parsed is None or parsed.year <= _LAST_UNSET_YEAR:
        return None
    return parsed


def format_birth_date(value: date | None) -> str:
    """US style, as Get Customer Details shows it (``1/1/1994``); empty for none."""
    return f"{value.month}/{value.day}/{value.year}" if value else ""


# -- wire -> domain ---------------------------------------------------------------------------------


def gender_from_wire(value: str | None) -> Gender | None:
    return _GENDERS_IN.get((value or "").strip().lower())


def identifiers(customer: MartjackCustomer) -> tuple[Identifier, ...]:
    """USERNAME as stored (trimmed); EMAIL and MOBILE normalised, from UserName, AlternateEmail, MobileNo."""
    found: list[Identifier] = []

    def add(identifier_type: IdentifierType, raw: str | None) -> None:
        value = try_normalise(identifier_type, raw)
        if value is not None and not any(i.type is identifier_type and i.value == value for i in found):
            found.append(Identifier(identifier_type, value, PROVIDER))

    user_name = customer.user_name.strip()
    add(IdentifierType.USERNAME, user_name)
    if "@" in user_name:
        add(IdentifierType.EMAIL, user_name)
    add(IdentifierType.EMAIL, customer.alternate_email)
    add(IdentifierType.MOBILE, customer.mobile_no)
    if _PHONE_LIKE.match(user_name):
        add(IdentifierType.MOBILE, user_name)
    return tuple(found)


def subscriptions_from_wire(receive_offers: bool | None) -> tuple[Subscription, ...] | None:
    """``IsReceiveOffers`` as EMAIL and SMS MARKETING; ``None`` when the customer object does not say."""
    if receive_offers is None:
        return None
    status = SubscriptionStatus.OPT_IN if receive_offers else SubscriptionStatus.OPT_OUT
    return tuple(Subscription(PROVIDER, channel, SubscriptionKind.MARKETING, status) for channel in OFFER_CHANNELS)


def address_from_wire(address: ShippingAddress) -> Address:
    """A shipping address. ``citycode`` is Martjack's internal city number, so the city is its name."""
    return Address(
        provider=PROVIDER,
        id=str(address.shipping_address_id),
        line1=_text(address.address1),
        line2=_text(address.address2),
        city=_text(address.city_name) or _text(address.other_city),
        state=_text(address.state_name) or _text(address.state),
        postcode=_text(address.pin),
        country=(_text(address.country_code) or "").upper() or None,
    )


def record_from_wire(
    customer: MartjackCustomer, *, fetched_at: datetime, addresses: Sequence[ShippingAddress] | None = None
) -> ProviderRecord:
    """A customer as a record holding PROFILE and SUBSCRIPTIONS, and ADDRESSES when they were fetched.

    Martjack's customer object has no status: ``status`` stays unknown (``None``).
    """
    subscriptions = subscriptions_from_wire(customer.is_receive_offers)
    facets = {Facet.PROFILE}
    if subscriptions is not None:
        facets.add(Facet.SUBSCRIPTIONS)
    if addresses is not None:
        facets.add(Facet.ADDRESSES)
    return ProviderRecord(
        provider=PROVIDER,
        record_id=customer.user_id.strip().lower(),
        fetched_at=fetched_at,
        facets=frozenset(facets),
        first_name=_text(customer.first_name),
        last_name=_text(customer.last_name),
        birth_date=parse_birth_date(customer.birth_date),
        gender=gender_from_wire(customer.gender),
        identifiers=identifiers(customer),
        account=(_text(customer.merchant_id) or "").lower() or None,
        subscriptions=subscriptions,
        addresses=None if addresses is None else tuple(address_from_wire(a) for a in addresses),
    )


def addresses_record(user_id: str, addresses: Sequence[ShippingAddress], *, fetched_at: datetime) -> ProviderRecord:
    """A record holding only the ADDRESSES facet."""
    return ProviderRecord(
        provider=PROVIDER,
        record_id=user_id.strip().lower(),
        fetched_at=fetched_at,
        facets=frozenset({Facet.ADDRESSES}),
        addresses=tuple(address_from_wire(a) for a in addresses),
    )


# -- lookups ----------------------------------------------------------------------------------------


def search_keyword(key: IdentifierKey) -> str | None:
    """What to give Search (UserName *contains*) to find a customer whose UserName is ``key``.

    A mobile is searched by its national significant number, which is contained in every spelling of it
    that carries the country code (``447700900123``, ``+447700900123``, ``44-7700900123``). ``None`` when the
    value cannot be anyone's (then there is nothing to ask).
    """
    if key.type is IdentifierType.MOBILE:
        try:
            number = phonenumbers.parse(normalise_phone(key.value))
        except (InvalidIdentifier, phonenumbers.NumberParseException):
            return None
        return str(phonenumbers.national_significant_number(number))
    if key.type is IdentifierType.EMAIL:
        try:
            return normalise_email(key.value)
        except InvalidIdentifier:
            return None
    return key.value.strip() or None


def matches(customer: MartjackCustomer, key: IdentifierKey) -> bool:
    """Whether ``customer`` holds exactly ``key`` (Search's *contains* matching is never trusted)."""
    if key.type is IdentifierType.USERNAME:
        return customer.user_name.strip().casefold() == key.value.strip().casefold()
    wanted = try_normalise(key.type, key.value)
    return wanted is not None and any(i.type is key.type and i.value == wanted for i in identifiers(customer))


def best_match(customers: Iterable[MartjackCustomer], key: IdentifierKey) -> MartjackCustomer | None:
    """The customer holding ``key``; one whose UserName is the value wins over one holding it elsewhere."""
    found = sorted(
        (c for c in customers if matches(c, key)),
        key=lambda c: (c.user_name.strip().casefold() != key.value.strip().casefold(), c.user_id.lower()),
    )
    return found[0] if found else None


# -- domain -> wire ---------------------------------------------------------------------------------


def gender_to_wire(value: Gender | None) -> str:
    return _GENDERS_OUT[value] if value is not None else ""


def mobile_to_wire(mobile: str) -> str:
    """A mobile as Martjack stores it: international digits without the plus (``447700900123``)."""
    return normalise_phone(mobile).lstrip("+")


def user_name_for(draft: CustomerDraft) -> str | None:
    """The UserName of a new customer: the draft's username, else its e-mail, else its mobile."""
    if draft.username and draft.username.strip():
        return draft.username.strip()
    if draft.email:
        return normalise_email(draft.email)
    if draft.mobile:
        return mobile_to_wire(draft.mobile)
    return None


def receive_offers_for(subscriptions: Sequence[SubscriptionInput]) -> bool:
    """The ``IsReceiveOffers`` that ``subscriptions`` ask for.

    Only EMAIL and SMS MARKETING can be held, and only together: an opt-out of either clears the flag (a
    customer is never left subscribed on a channel they left), otherwise an opt-in of either sets it (and so
    subscribes both). Anything else raises :class:`UnmappableSubscription`.
    """
    if not subscriptions:
        raise UnmappableSubscription("no subscription given")
    for subscription in subscriptions:
        if subscription.kind is not SubscriptionKind.MARKETING or subscription.channel not in OFFER_CHANNELS:
            raise UnmappableSubscription("Martjack holds EMAIL and SMS MARKETING only, as one flag")
    return all(s.status is SubscriptionStatus.OPT_IN for s in subscriptions)


def create_from_draft(draft: CustomerDraft, password: str) -> CustomerCreate:
    """Create Customer Account's ``customer``. Raises ``InvalidIdentifier``/``UnmappableSubscription``.

    The draft's address becomes the customer's own postal address (the connector also saves it as a
    shipping address, which is where addresses are read from).
    """
    user_name = user_name_for(draft)
    if user_name is None:
        raise InvalidIdentifier(IdentifierType.USERNAME, "a username, e-mail or mobile is required")
    email = normalise_email(draft.email) if draft.email else None
    address = draft.address
    return CustomerCreate(
        user_name=user_name,
        password=password,
        first_name=draft.first_name,
        last_name=draft.last_name,
        mobile_no=mobile_to_wire(draft.mobile) if draft.mobile else None,
        alternate_email=email if email is not None and email != user_name.lower() else None,
        birth_date=format_birth_date(draft.birth_date) or None,
        gender=gender_to_wire(draft.gender) or None,
        is_receive_offers=receive_offers_for(draft.subscriptions) if draft.subscriptions else False,
        postal_address=(", ".join(p for p in (address.line1, address.line2) if p) or None) if address else None,
        street=address.line1 if address else None,
        area_name=address.line2 if address else None,
        city_name=address.city if address else None,
        other_city=address.city if address else None,
        pin=address.postcode if address else None,
        state=address.state if address else None,
        country=address.country.upper() if address and address.country else None,
    )


def apply_patch(customer: MartjackCustomer, patch: ProfilePatch) -> MartjackCustomer:
    """The whole customer with ``patch`` applied, ready for Update (which replaces every member).

    A BirthDate that only says "unset" (``1/1/1900``) is sent back empty, so that Update does not store it.
    """
    update: dict[str, object] = {}
    if patch.first_name is not UNSET:
        update["first_name"] = patch.first_name or ""
    if patch.last_name is not UNSET:
        update["last_name"] = patch.last_name or ""
    if patch.gender is not UNSET:
        update["gender"] = gender_to_wire(patch.gender if isinstance(patch.gender, Gender) else None)
    if patch.birth_date is not UNSET:
        update["birth_date"] = format_birth_date(patch.birth_date if isinstance(patch.birth_date, date) else None)
    elif _is_unset_birth_date(customer.birth_date):
        update["birth_date"] = ""
    if isinstance(patch.address, AddressPatch):
        update.update(_address_members(customer, patch.address))
    return customer.model_copy(update=update)


def _address_members(customer: MartjackCustomer, patch: AddressPatch) -> dict[str, object]:
    """The customer's own address members (not a shipping address) that ``patch`` changes, spelled as Create
    spells a draft's address. A code Martjack derives from a name we change (``City``, ``StateName``,
    ``CountryName``) is emptied rather than left naming the old place."""
    parts = patch.changed()
    members: dict[str, object] = {}
    if "line1" in parts:
        members["street"] = parts["line1"] or ""
    if "line2" in parts:
        members["area_name"] = parts["line2"] or ""
    if "line1" in parts or "line2" in parts:
        lines = (members.get("street", customer.street), members.get("area_name", customer.area_name))
        members["postal_address"] = ", ".join(str(p) for p in lines if p)
    if "city" in parts:
        members |= {"city_name": parts["city"] or "", "other_city": parts["city"] or "", "city": ""}
    if "state" in parts:
        members |= {"state": parts["state"] or "", "state_name": ""}
    if "postcode" in parts:
        members["pin"] = parts["postcode"] or ""
    if "country" in parts:
        members |= {"country": (parts["country"] or "").upper(), "country_name": ""}
    return members


def with_receive_offers(customer: MartjackCustomer, receive_offers: bool) -> MartjackCustomer:
    """The whole customer with ``IsReceiveOffers`` set, ready for Update."""
    return apply_patch(customer, ProfilePatch()).model_copy(update={"is_receive_offers": receive_offers})


def address_to_wire(address: AddressInput, customer: MartjackCustomer) -> ShippingAddressWrite:
    """Add/Update Shipping Address's ``shippingaddress``: id 0 creates, an existing id replaces that address.

    Martjack wants the recipient's names (taken from the customer) and its own numeric ``citycode``, which
    we do not know: the city goes by name in ``othercity``. Raises ``ValueError`` when line 1 is missing.
    """
    if not (address.line1 or "").strip():
        raise ValueError("address line 1 is required")
    email = next((i.value for i in identifiers(customer) if i.type is IdentifierType.EMAIL), "")
    return ShippingAddressWrite(
        shipping_address_id=address.id or "0",
        user_id=customer.user_id,
        first_name=customer.first_name or "",
        last_name=customer.last_name or "",
        address1=address.line1 or "",
        address2=address.line2 or "",
        state=address.state or "",
        pin=address.postcode or "",
        country_code=(address.country or "").upper(),
        other_city=address.city or "",
        mobile_no=customer.mobile_no or "",
        email=email,
    )


def _is_unset_birth_date(value: str | None) -> bool:
    return bool((value or "").strip()) and parse_birth_date(value) is None and _looks_like_a_date(value or "")


def _looks_like_a_date(value: str) -> bool:
    text = value.strip()
    if parse_net_date(text) is not None:
        return True
    for fmt in _BIRTH_DATE_FORMATS:
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None
