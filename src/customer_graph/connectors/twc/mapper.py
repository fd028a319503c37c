"""Pure functions between TWC's wire models and the unified domain model.

TWC facts this relies on (twc-customer-api.md; providers/README.md, TWC):

- a customer holds one ``email`` (mandatory, unique), one ``mobile`` (E.164 by the document, but stored as
  sent), ``customerRef`` and ``alternateCustomerRef`` (unique when present); ``phone`` is a second number
  that we do not treat as an identifier: the identity layer links persons on *mobile* numbers;
- ``dob`` is ``dd-mm-yyyy`` (the document's samples send an ISO date-time: both are read);
- email marketing is the only subscription TWC holds: ``accepts_marketing`` plus ``marketing_optin_level``,
  which TWC sets to null when marketing is not accepted; TWC has no gender and no loyalty;
- ``active`` says whether the customer is enabled; ``customer_state`` is the state of the customer's
  *account* (``invited``, ``declined`` ...) and is only read when ``active`` is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from customer_graph.connectors.twc import wire
from customer_graph.connectors.twc.wire import (
    CustomerDocument,
    CustomerDraftWire,
    TwcAddress,
    TwcAddressWrite,
    TwcCustomer,
)
from customer_graph.domain.models import (
    UNSET,
    Address,
    AddressInput,
    AddressPatch,
    Channel,
    CustomerDraft,
    CustomerStatus,
    Facet,
    Identifier,
    IdentifierType,
    ProfilePatch,
    Provider,
    ProviderRecord,
    Subscription,
    SubscriptionInput,
    SubscriptionKind,
    SubscriptionStatus,
)
from customer_graph.domain.normalise import normalise_email, normalise_phone, try_normalise

PROVIDER = Provider.TWC
# Everything a customer object carries: a record read from TWC holds these facets in full.
RECORD_FACETS = frozenset({Facet.PROFILE, Facet.ADDRESSES, Facet.SUBSCRIPTIONS})
# The one subscription TWC can hold.
EMAIL_MARKETING = (Channel.EMAIL, SubscriptionKind.MARKETING)
# The opt-in level we write when a customer opts in through us: consent given once, not confirmed by TWC.
DEFAULT_OPTIN_LEVEL = "single_opt_in"

_IDENTIFIER_FIELDS: dict[IdentifierType, str] = {
    IdentifierType.EMAIL: wire.EMAIL,
    IdentifierType.MOBILE: wire.MOBILE,
    IdentifierType.CUSTOMER_REF: wire.CUSTOMER_REF,
    IdentifierType.ALTERNATE_REF: wire.ALTERNATE_REF,
}
_ACTIVE_STATES = {"enabled": True, "invited": True, "disabled": False, "declined": False}


# -- wire -> domain -------------------------------------------------------------------------------


def customer_to_record(customer: TwcCustomer, *, fetched_at: datetime, tenant: str | None = None) -> ProviderRecord:
    """A TWC customer as a record holding PROFILE, ADDRESSES and SUBSCRIPTIONS (all come with the object)."""
    return ProviderRecord(
        provider=PROVIDER,
        record_id=customer.id,
        fetched_at=fetched_at,
        facets=RECORD_FACETS,
        first_name=_text(customer.first_name),
        last_name=_text(customer.last_name),
        birth_date=customer.dob,
        gender=None,
        status=status_to_domain(customer),
        identifiers=identifiers_to_domain(customer),
        account=tenant,
        created_at=customer.created_date,
        updated_at=customer.last_modified_date,
        addresses=addresses_to_domain(customer),
        subscriptions=subscriptions_to_domain(customer),
        loyalty_programs=None,
    )


def identifiers_to_domain(customer: TwcCustomer) -> tuple[Identifier, ...]:
    """EMAIL, MOBILE, CUSTOMER_REF, ALTERNATE_REF, normalised; a value that does not normalise is dropped."""
    raw = (
        (IdentifierType.EMAIL, customer.email),
        (IdentifierType.MOBILE, customer.mobile),
        (IdentifierType.CUSTOMER_REF, customer.customer_ref),
        (IdentifierType.ALTERNATE_REF, customer.alternate_customer_ref),
    )
    return tuple(
        Identifier(kind, value, PROVIDER) for kind, held in raw if (value := try_normalise(kind, held)) is not None
    )


def status_to_domain(customer: TwcCustomer) -> CustomerStatus | None:
    active = customer.active
    if active is None and customer.customer_state is not None:
        active = _ACTIVE_STATES.get(customer.customer_state.strip().lower())
    if active is None:
        return None
    return CustomerStatus.ACTIVE if active else CustomerStatus.INACTIVE


def address_to_domain(address: TwcAddress, *, default_id: str | None = None) -> Address:
    code = _text(address.country_code)
    return Address(
        provider=PROVIDER,
        id=address.id,
        line1=_text(address.address1),
        line2=_text(address.address2),
        city=_text(address.city),
        state=_text(address.province) or _text(address.province_code),
        postcode=_text(address.postcode),
        country=code.upper() if code else _text(address.country),
        is_default=bool(address.default_address) or (default_id is not None and address.id == default_id),
    )


def addresses_to_domain(customer: TwcCustomer) -> tuple[Address, ...]:
    """``addresses`` in order; ``defaultAddress`` marks its twin, or is added when it has none in the list."""
    default = customer.default_address
    default_id = default.id if default is not None else None
    result = [address_to_domain(a, default_id=default_id) for a in customer.addresses]
    orphan = default is not None and (default_id is None or all(a.id != default_id for a in customer.addresses))
    if default is not None and orphan and not any(a.is_default for a in result):
        result.insert(0, address_to_domain(default.model_copy(update={"default_address": True})))
    return tuple(result)


def subscriptions_to_domain(customer: TwcCustomer) -> tuple[Subscription, ...]:
    if customer.accepts_marketing is None:
        return ()
    status = SubscriptionStatus.OPT_IN if customer.accepts_marketing else SubscriptionStatus.OPT_OUT
    return (Subscription(PROVIDER, Channel.EMAIL, SubscriptionKind.MARKETING, status),)


# -- domain -> wire -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """Fields to change in a customer (wire names) and the inputs TWC has no place for."""

    fields: dict[str, Any]
    ignored: tuple[str, ...] = ()


def draft_to_wire(draft: CustomerDraft) -> tuple[CustomerDraftWire, tuple[str, ...]]:
    """The create body and the draft fields TWC has no place for. Raises ``InvalidIdentifier`` for a
    malformed e-mail or mobile and ``ValueError`` without an e-mail (TWC's only mandatory field)."""
    if draft.email is None or not draft.email.strip():
        raise ValueError("email is mandatory")
    accepts, level, ignored_subscriptions = _marketing(draft.subscriptions, current_level=None)
    body = CustomerDraftWire(
        email=normalise_email(draft.email),
        first_name=_text(draft.first_name),
        last_name=_text(draft.last_name),
        mobile=normalise_phone(draft.mobile) if draft.mobile and draft.mobile.strip() else None,
        dob=wire.format_dob(draft.birth_date) if draft.birth_date else None,
        customer_ref=_text(draft.external_id),
        accepts_marketing=accepts,
        marketing_optin_level=level,
        addresses=[address_input_to_wire(draft.address, default=True)] if draft.address else None,
    )
    ignored = [
        name
        for name in ("gender", "card_number", "username", "password", "source")
        if getattr(draft, name) not in (None, "")
    ]
    return body, (*ignored, *ignored_subscriptions)


def address_input_to_wire(address: AddressInput, *, default: bool | None = None) -> TwcAddressWrite:
    # ``AddressInput.country`` is ISO alpha-2 where the caller has one: then it is TWC's ``countryCode`` too.
    country = _text(address.country)
    code = country.upper() if country and len(country) == 2 and country.isalpha() else None
    return TwcAddressWrite(
        address1=_text(address.line1),
        address2=_text(address.line2),
        city=_text(address.city),
        province=_text(address.state),
        postcode=_text(address.postcode),
        country=code or country,
        country_code=code,
        default_address=default,
    )


def profile_changes(patch: ProfilePatch, document: CustomerDocument | None = None) -> Changes:
    """Names, birth date and the customer's own address (read from ``document``, which an address patch
    needs); ``None`` clears a field. TWC holds no gender: a gender change is ignored."""
    fields: dict[str, Any] = {}
    if patch.first_name is not UNSET:
        fields[wire.FIRST_NAME] = _text(patch.first_name) if isinstance(patch.first_name, str) else None
    if patch.last_name is not UNSET:
        fields[wire.LAST_NAME] = _text(patch.last_name) if isinstance(patch.last_name, str) else None
    if patch.birth_date is not UNSET:
        fields[wire.DOB] = wire.format_dob(patch.birth_date) if isinstance(patch.birth_date, date) else None
    if isinstance(patch.address, AddressPatch):
        if document is None:
            raise ValueError("an address patch applies to the customer as read")
        fields |= own_address_changes(document, patch.address)
    ignored = ("gender",) if patch.gender is not UNSET else ()
    return Changes(fields, ignored)


def own_address_changes(document: CustomerDocument, patch: AddressPatch) -> dict[str, Any]:
    """``addresses`` and ``defaultAddress`` with ``patch`` applied to the customer's own address: the default
    one, else the first; a new default address when the customer has none. Only the parts patched change:
    the rest of each address object is sent back as read."""
    addresses = document.raw_addresses()
    default = document.raw_default_address()
    target = wire.address_id(default) if default is not None else next(map(wire.address_id, addresses), None)
    changes = _address_part_changes(patch)
    if default is None and not addresses:
        added = {**changes, wire.DEFAULT_ADDRESS: True}
        return {wire.ADDRESSES: [added], wire.DEFAULT_ADDRESS: added}

    def patched(address: dict[str, Any]) -> dict[str, Any]:
        return {**address, **changes} if target is not None and wire.address_id(address) == target else address

    fields: dict[str, Any] = {wire.ADDRESSES: [patched(a) for a in addresses]}
    if default is not None:
        fields[wire.DEFAULT_ADDRESS] = {**default, **changes}
    return fields


def _address_part_changes(patch: AddressPatch) -> dict[str, Any]:
    """The address fields (wire names) an address patch sets; a province's code goes with its name."""
    changed = patch.changed()
    fields: dict[str, Any] = {}
    for name, field in (
        ("line1", "address1"),
        ("line2", "address2"),
        ("city", "city"),
        ("state", "province"),
        ("postcode", "postcode"),
    ):
        if name in changed:
            fields[field] = _text(changed[name])
    if "state" in changed:
        fields["provinceCode"] = None
    if "country" in changed:
        country = _text(changed["country"])
        code = country.upper() if country and len(country) == 2 and country.isalpha() else None
        fields |= {"country": code or country, "countryCode": code}
    return fields


def identifier_field(identifier_type: IdentifierType) -> str | None:
    """The customer field that holds an identifier type, or None when TWC has none for it."""
    return _IDENTIFIER_FIELDS.get(identifier_type)


def held_identifier(customer: TwcCustomer, identifier_type: IdentifierType) -> str | None:
    """The normalised value the customer holds for a type (None when empty or not a TWC identifier)."""
    return next((i.value for i in identifiers_to_domain(customer) if i.type is identifier_type), None)


def identifier_value_to_wire(identifier: Identifier) -> str:
    """The value as TWC stores it: e-mail and mobile normalised (the document asks for E.164), others as given."""
    if identifier.type is IdentifierType.EMAIL:
        return normalise_email(identifier.value)
    if identifier.type is IdentifierType.MOBILE:
        return normalise_phone(identifier.value)
    return identifier.value.strip()


def subscription_changes(customer: TwcCustomer, subscriptions: Sequence[SubscriptionInput]) -> Changes:
    """``accepts_marketing`` and ``marketing_optin_level`` from the EMAIL MARKETING entries (the last one
    wins); other channels and kinds are reported as ignored. No EMAIL MARKETING entry: no fields."""
    accepts, level, ignored = _marketing(subscriptions, current_level=customer.marketing_optin_level)
    if accepts is None:
        return Changes({}, ignored)
    return Changes({wire.ACCEPTS_MARKETING: accepts, wire.OPTIN_LEVEL: level}, ignored)


def status_changes(active: bool) -> Changes:
    return Changes({wire.ACTIVE: active})


def merge_changes(survivor: CustomerDocument, victim: CustomerDocument) -> Changes:
    """The survivor's empty fields filled from the victim, and the victim's addresses it does not have.

    The survivor's own values always win (its e-mail, the only mandatory field, never changes) and its
    subscription stays as it is, as in the provider that merges natively (Capillary).
    """
    fields: dict[str, Any] = {}
    for name in (wire.FIRST_NAME, wire.LAST_NAME, wire.DOB, *wire.MOVABLE_UNIQUE):
        if _empty(survivor.get(name)) and not _empty(victim.get(name)):
            fields[name] = victim.get(name)
    held = {wire.address_content(a) for a in survivor.raw_addresses()}
    extra = [wire.without_identity(a) for a in victim.raw_addresses() if wire.address_content(a) not in held]
    extra = list({wire.address_content(a): a for a in extra}.values())
    if extra:
        fields[wire.ADDRESSES] = [*survivor.raw_addresses(), *extra]
    return Changes(fields)


def release_changes(moved: Iterable[str]) -> Changes:
    """The victim without the unique values moving to the survivor (TWC refuses a value two customers hold,
    and a deleted customer still holds its values)."""
    return Changes({name: None for name in moved if name in wire.MOVABLE_UNIQUE})


# -- helpers --------------------------------------------------------------------------------------


def _marketing(
    subscriptions: Sequence[SubscriptionInput], *, current_level: str | None
) -> tuple[bool | None, str | None, tuple[str, ...]]:
    accepts: bool | None = None
    ignored: list[str] = []
    for subscription in subscriptions:
        if (subscription.channel, subscription.kind) == EMAIL_MARKETING:
            accepts = subscription.status is SubscriptionStatus.OPT_IN
        else:
            ignored.append(f"subscription {subscription.channel.value} {subscription.kind.value}")
    level = (current_level or DEFAULT_OPTIN_LEVEL) if accepts else None
    return accepts, level, tuple(ignored)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    return text or None


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def details(ignored: Iterable[str], **extra: str) -> dict[str, str]:
    """A ``WriteResult.details`` map: fixed text only (field names, never values)."""
    result = dict(extra)
    names = list(ignored)
    if names:
        result["ignored"] = ", ".join(names)
    return result


def changed(document: CustomerDocument, changes: Mapping[str, Any]) -> bool:
    """Whether applying ``changes`` would alter the customer (so that a no-op write is not sent)."""
    return any(document.get(name) != value for name, value in changes.items())
