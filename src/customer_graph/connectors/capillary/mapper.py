"""Pure functions between Capillary's wire models and the unified domain model.

Reading (wire -> domain):

- A Capillary customer holds one profile per source; the record's names and source come from the profile in
  the connector's own source when there is one, else from the first (the registration source). Identifiers
  are those of every profile, each with its source.
- Identifier types: ``email`` EMAIL, ``mobile`` MOBILE (Capillary keeps digits with the country code and no
  ``+``: read as E.164), ``externalId`` EXTERNAL_ID, ``wechat`` WECHAT, ``martjackId`` MARTJACK_ID (a Martjack
  UserId), ``line`` LINE, ``cardnumber`` CARD_NUMBER; other types (fbId, cuid, ...) have no unified type.
- Birth date: the ``dateofbirth`` custom field (``22-10-2000`` in the register sample) or the ``dob`` extended
  field (``1988/05/10``). Gender: the ``gender`` extended field (``Male``, ``MALE``), else a ``gender`` custom field.
- Status: the v2 customer read reports none (a merged account answers 8069 instead): ``None``.
- Address: Capillary has no address object. One address is held in the extended fields ``city``, ``state``,
  ``zip`` and ``country_of_residence`` and, where the org has one, a street custom field (the register sample's
  ``customer_address``); it has the fixed id :data:`ADDRESS_ID`.
- Subscriptions: ``EMAIL``; ``SMS`` (written as ``MOBILE``); ``ANDROID`` and ``IOS`` together as PUSH (opted in
  when either is); ``TRANS`` is TRANSACTIONAL and ``BULK`` MARKETING. WECHAT and LINE have no unified channel.
- Loyalty: each program of ``embed=mlp`` (or ``loyaltyDetails``); ``pointsSummary`` only when there is no
  per-program list. Capillary reports a tier (slab) expiry, not a points expiry: it is the expiry we have.

Writing (domain -> wire) builds the request bodies of Register, Update, Update Identifiers and Subscriptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from customer_graph.connectors.capillary.wire import (
    CustomerWire,
    IdentifierWire,
    Message,
    ProfileWire,
    ProgramWire,
    SearchHit,
    SubscriptionWire,
)
from customer_graph.domain.models import (
    Address,
    AddressInput,
    AddressPatch,
    Channel,
    CustomerDraft,
    Facet,
    Gender,
    Identifier,
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
from customer_graph.domain.normalise import try_normalise

PROVIDER = Provider.CAPILLARY
# Capillary holds at most one address per customer (in extended fields): this is its id.
ADDRESS_ID = "extendedFields"
# Extended fields that hold the address (register-customer.md, extendedFields).
CITY, STATE, ZIP, COUNTRY = "city", "state", "zip", "country_of_residence"

IDENTIFIER_TYPES: dict[str, IdentifierType] = {
    "email": IdentifierType.EMAIL,
    "mobile": IdentifierType.MOBILE,
    "externalId": IdentifierType.EXTERNAL_ID,
    "wechat": IdentifierType.WECHAT,
    "martjackId": IdentifierType.MARTJACK_ID,
    "line": IdentifierType.LINE,
    "cardnumber": IdentifierType.CARD_NUMBER,
}
# Types Update Customer Identifiers accepts (customer-api.md, "Identifiers": no cardnumber).
WRITABLE_IDENTIFIER_TYPES: dict[IdentifierType, str] = {
    IdentifierType.EMAIL: "email",
    IdentifierType.MOBILE: "mobile",
    IdentifierType.EXTERNAL_ID: "externalId",
    IdentifierType.WECHAT: "wechat",
    IdentifierType.MARTJACK_ID: "martjackId",
    IdentifierType.LINE: "line",
}
# Names of Fetch Customer ID's ``identifierName``.
LOOKUP_NAMES: dict[IdentifierType, str] = {
    IdentifierType.EMAIL: "email",
    IdentifierType.MOBILE: "mobile",
    IdentifierType.EXTERNAL_ID: "externalId",
    IdentifierType.WECHAT: "wechat",
    IdentifierType.MARTJACK_ID: "martjackId",
}

_READ_CHANNELS = {
    "EMAIL": Channel.EMAIL,
    "SMS": Channel.SMS,
    "MOBILE": Channel.SMS,
    "ANDROID": Channel.PUSH,
    "IOS": Channel.PUSH,
}
WRITE_CHANNELS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("EMAIL",),
    Channel.SMS: ("MOBILE",),
    Channel.PUSH: ("ANDROID", "IOS"),
}
_KINDS = {"TRANS": SubscriptionKind.TRANSACTIONAL, "BULK": SubscriptionKind.MARKETING}
_PRIORITIES = {kind: priority for priority, kind in _KINDS.items()}
_STATUSES = {"OPTIN": SubscriptionStatus.OPT_IN, "OPTOUT": SubscriptionStatus.OPT_OUT}
_TYPES = {status: type_ for type_, status in _STATUSES.items()}

_GENDERS = {
    "male": Gender.MALE,
    "m": Gender.MALE,
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
    "not_disclosed": Gender.NOT_DISCLOSED,
    "not disclosed": Gender.NOT_DISCLOSED,
    "undisclosed": Gender.NOT_DISCLOSED,
}
_WRITE_GENDERS = {Gender.MALE: "Male", Gender.FEMALE: "Female"}
# ``dd-mm-yyyy`` as the register sample writes ``dateofbirth``, ``yyyy/mm/dd`` as it writes ``dob``, and ISO.
_DATE_FORMATS = ("%d-%m-%Y", "%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")
BIRTH_DATE_FIELD = "dateofbirth"
# "Merging into the account with user id X", "already merged with user id X".
_USER_ID = re.compile(r"user id\s*(\d+)", re.IGNORECASE)
MERGE_WARNINGS = frozenset({8051, 8053, 8067})
COMBINED_WARNING = 8050


# -- reading --------------------------------------------------------------------------------------------


def record_from_wire(
    wire: CustomerWire,
    *,
    facets: frozenset[Facet],
    fetched_at: datetime,
    prefer_source: str | None = None,
    address_line_field: str | None = None,
    program_names: Mapping[str, str] | None = None,
) -> ProviderRecord:
    """A record from Fetch Customer Details. ``facets`` are those asked for: PROFILE and ADDRESSES come with
    every read; SUBSCRIPTIONS and LOYALTY only when their ``embed`` was asked and the answer holds them
    (``subscriptionInfo``; ``loyaltyProgramDetails`` or ``pointsSummary``, or a non-loyalty customer, who has
    no program)."""
    profile = preferred_profile(wire.profiles, prefer_source)
    held = {Facet.PROFILE, Facet.ADDRESSES}
    subscriptions = None
    if Facet.SUBSCRIPTIONS in facets and wire.subscription_info is not None:
        held.add(Facet.SUBSCRIPTIONS)
        subscriptions = subscriptions_from_wire(wire.subscription_info.subscriptions)
    loyalty = None
    non_loyalty = wire.loyalty_info is not None and wire.loyalty_info.loyalty_type == "non_loyalty"
    has_loyalty = wire.loyalty_program_details is not None or wire.points_summary is not None or non_loyalty
    if Facet.LOYALTY in facets and has_loyalty:
        held.add(Facet.LOYALTY)
        loyalty = loyalty_from_wire(wire, program_names)
    created = [d for d in _create_dates(wire) if d is not None]
    updated = [
        d
        for p in wire.profiles
        for d in (p.attribution.modified_date if p.attribution else None, p.auto_update_time)
        if d is not None
    ]
    return ProviderRecord(
        provider=PROVIDER,
        record_id=str(wire.id),
        fetched_at=fetched_at,
        facets=frozenset(held),
        first_name=_text(profile.first_name) if profile else None,
        last_name=_text(profile.last_name) if profile else None,
        birth_date=birth_date_from_wire(wire, profile),
        gender=gender_from_wire(wire, profile),
        status=None,
        identifiers=identifiers_from_wire(wire.profiles),
        source=profile.source if profile else None,
        account=(profile.account_id or None) if profile else None,
        created_at=min(created) if created else None,
        updated_at=max(updated) if updated else None,
        addresses=addresses_from_wire(wire, profile, address_line_field),
        subscriptions=subscriptions,
        loyalty_programs=loyalty,
    )


def search_hit_from_wire(hit: SearchHit, *, fetched_at: datetime, prefer_source: str | None = None) -> ProviderRecord:
    """A search hit carries names only: it holds no facet in full."""
    profile = next((p for p in hit.profiles if prefer_source and (p.source or "").upper() == prefer_source), None)
    profile = profile or (hit.profiles[0] if hit.profiles else None)
    return ProviderRecord(
        provider=PROVIDER,
        record_id=str(hit.user_id),
        fetched_at=fetched_at,
        facets=frozenset(),
        first_name=_text(profile.first_name) if profile else None,
        last_name=_text(profile.last_name) if profile else None,
        source=profile.source if profile else None,
    )


def preferred_profile(profiles: Sequence[ProfileWire], source: str | None) -> ProfileWire | None:
    if source:
        for profile in profiles:
            if profile.source.upper() == source.upper():
                return profile
    return profiles[0] if profiles else None


def identifiers_from_wire(profiles: Iterable[ProfileWire]) -> tuple[Identifier, ...]:
    found: list[Identifier] = []
    for profile in profiles:
        for raw in profile.identifiers:
            identifier = identifier_from_wire(raw, profile.source)
            if identifier is not None and identifier not in found:
                found.append(identifier)
    return tuple(found)


def identifier_from_wire(raw: IdentifierWire, source: str | None) -> Identifier | None:
    identifier_type = IDENTIFIER_TYPES.get(raw.type)
    if identifier_type is None:
        return None
    value = try_normalise(identifier_type, raw.value)
    if value is None:
        return None
    return Identifier(identifier_type, value, PROVIDER, source.upper() if source else None)


def birth_date_from_wire(wire: CustomerWire, profile: ProfileWire | None) -> date | None:
    ordered = [profile] if profile else []
    ordered += [p for p in wire.profiles if p is not profile]
    for candidate in ordered:
        parsed = parse_date(candidate.fields.get(BIRTH_DATE_FIELD))
        if parsed is not None:
            return parsed
    return parse_date(wire.extended_fields.get("dob"))


def gender_from_wire(wire: CustomerWire, profile: ProfileWire | None) -> Gender | None:
    raw = wire.extended_fields.get("gender")
    if not raw and profile is not None:
        raw = next((v for k, v in profile.fields.items() if k.lower() == "gender"), None)
    if not isinstance(raw, str):
        return None
    return _GENDERS.get(raw.strip().lower())


def addresses_from_wire(wire: CustomerWire, profile: ProfileWire | None, line_field: str | None) -> tuple[Address, ...]:
    fields = wire.extended_fields
    line1 = _text(profile.fields.get(line_field)) if profile is not None and line_field else None
    city, state, postcode = _text(fields.get(CITY)), _text(fields.get(STATE)), _text(fields.get(ZIP))
    country = _text(fields.get(COUNTRY))
    if not any((line1, city, state, postcode, country)):
        return ()
    # ``country_of_residence`` is free text ("Japan" in the register sample): only a two-letter code is ISO.
    iso = country.upper() if country and len(country) == 2 and country.isalpha() else None
    return (
        Address(
            provider=PROVIDER,
            id=ADDRESS_ID,
            line1=line1,
            city=city,
            state=state,
            postcode=postcode,
            country=iso,
            is_default=True,
        ),
    )


def subscriptions_from_wire(items: Iterable[SubscriptionWire]) -> tuple[Subscription, ...]:
    merged: dict[tuple[Channel, SubscriptionKind], SubscriptionStatus] = {}
    for item in items:
        channel = _READ_CHANNELS.get(item.channel.upper())
        kind = _KINDS.get(item.priority.upper())
        status = _STATUSES.get(item.type.upper())
        if channel is None or kind is None or status is None:
            continue
        # ANDROID and IOS are both PUSH: opted in when either is.
        if merged.get((channel, kind)) is not SubscriptionStatus.OPT_IN:
            merged[(channel, kind)] = status
    return tuple(Subscription(PROVIDER, channel, kind, status) for (channel, kind), status in merged.items())


def loyalty_from_wire(wire: CustomerWire, program_names: Mapping[str, str] | None = None) -> tuple[LoyaltyProgram, ...]:
    if wire.loyalty_program_details is not None:
        return programs_from_wire(wire.loyalty_program_details, program_names)
    if wire.points_summary is not None:
        return programs_from_wire([wire.points_summary], program_names)
    return ()


def programs_from_wire(
    programs: Iterable[ProgramWire], program_names: Mapping[str, str] | None = None
) -> tuple[LoyaltyProgram, ...]:
    names = program_names or {}
    result = []
    for program in programs:
        # ``pointsSummary`` names no program: it is the org's default one.
        program_id = str(program.program_id) if program.program_id is not None else "default"
        result.append(
            LoyaltyProgram(
                provider=PROVIDER,
                program_id=program_id,
                name=names.get(program_id, program_id),
                points=program.loyalty_points,
                lifetime_points=program.lifetime_points,
                redeemed_points=program.redeemed,
                expired_points=program.expired,
                tier=_text(program.current_slab),
                next_tier=_text(program.next_slab),
                points_expiry=program.slab_expiry_date.date() if program.slab_expiry_date else None,
            )
        )
    return tuple(result)


def parse_date(raw: object) -> date | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def warning_codes(warnings: Iterable[Message]) -> list[int]:
    return [w.code for w in warnings if w.code is not None]


def survivor_from_warnings(warnings: Iterable[Message]) -> str | None:
    """The survivor's user id that 8051 / 8053 / 8067 carry in their message (README, merge)."""
    for warning in warnings:
        if warning.code in MERGE_WARNINGS and warning.message:
            match = _USER_ID.search(warning.message)
            if match:
                return match.group(1)
    return None


def _create_dates(wire: CustomerWire) -> list[datetime | None]:
    dates: list[datetime | None] = [p.attribution.create_date if p.attribution else None for p in wire.profiles]
    if wire.loyalty_info is not None and wire.loyalty_info.attribution_v2 is not None:
        dates.append(wire.loyalty_info.attribution_v2.create_date)
    return dates


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# -- writing --------------------------------------------------------------------------------------------


def identifier_to_wire(identifier_type: IdentifierType, value: str) -> dict[str, str] | None:
    """``{"type", "value"}`` for Update Customer Identifiers; ``None`` for a type Capillary does not take.
    Mobiles go as digits with the country code and no ``+``, as Capillary stores them."""
    name = WRITABLE_IDENTIFIER_TYPES.get(identifier_type)
    if name is None:
        return None
    return {"type": name, "value": wire_value(identifier_type, value)}


def wire_value(identifier_type: IdentifierType, value: str) -> str:
    value = value.strip()
    if identifier_type is IdentifierType.MOBILE:
        return "".join(ch for ch in value if ch.isdigit())
    if identifier_type is IdentifierType.EMAIL:
        return value.lower()
    return value


def change_identifier_body(
    *, add: Sequence[dict[str, str]] = (), remove: Sequence[dict[str, str]] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if add:
        body["add"] = list(add)
    if remove:
        body["remove"] = list(remove)
    return body


def register_body(
    draft: CustomerDraft, *, source: str, account_id: str | None, loyalty_type: str, address_line_field: str | None
) -> dict[str, Any]:
    """Register Customer's body: one profile in ``source`` with the draft's identifiers and comm channels."""
    identifiers: list[dict[str, str]] = []
    channels: list[dict[str, Any]] = []
    for identifier_type, raw in (
        (IdentifierType.MOBILE, draft.mobile),
        (IdentifierType.EMAIL, draft.email),
        (IdentifierType.EXTERNAL_ID, draft.external_id),
    ):
        if raw:
            value = wire_value(identifier_type, raw)
            identifiers.append({"type": WRITABLE_IDENTIFIER_TYPES[identifier_type], "value": value})
            if identifier_type is not IdentifierType.EXTERNAL_ID:
                channels.append(
                    {
                        "type": WRITABLE_IDENTIFIER_TYPES[identifier_type],
                        "value": value,
                        "primary": True,
                        "verified": False,
                        "meta": {"residence": True},
                    }
                )
    fields: dict[str, str] = {}
    if draft.birth_date is not None:
        fields[BIRTH_DATE_FIELD] = draft.birth_date.strftime("%d-%m-%Y")
    extended: dict[str, str] = {}
    if draft.gender in _WRITE_GENDERS:
        extended["gender"] = _WRITE_GENDERS[draft.gender]
    if draft.address is not None:
        address_fields, address_extended = _address_parts(draft.address, address_line_field)
        fields.update(address_fields)
        extended.update(address_extended)
    profile: dict[str, Any] = {
        "firstName": draft.first_name or "",
        "lastName": draft.last_name or "",
        "identifiers": identifiers,
        "commChannels": channels,
        "fields": fields,
        "source": source,
    }
    if account_id:
        profile["accountId"] = account_id
    return {"loyaltyInfo": {"loyaltyType": loyalty_type}, "profiles": [profile], "extendedFields": extended}


def update_body(
    patch: ProfilePatch, *, source: str, account_id: str | None, line_field: str | None = None
) -> dict[str, Any]:
    """Update Customer Details' body for a profile patch: no identifiers (they cannot change here) and no
    ``loyaltyInfo`` (loyalty cannot be turned off). An explicit ``None`` clears with an empty string.

    Address parts go to their own extended fields, only those the patch changes (Capillary updates extended
    fields one by one). The street is one custom field (``line_field``): a patch of either line rewrites it
    from the lines the patch gives."""
    changed = patch.changed()
    profile = _profile_stub(source, account_id)
    fields: dict[str, str] = {}
    extended: dict[str, str] = {}
    if "first_name" in changed:
        profile["firstName"] = _str_or_empty(changed["first_name"])
    if "last_name" in changed:
        profile["lastName"] = _str_or_empty(changed["last_name"])
    if "birth_date" in changed:
        birth = changed["birth_date"]
        fields[BIRTH_DATE_FIELD] = birth.strftime("%d-%m-%Y") if isinstance(birth, date) else ""
    if "gender" in changed:
        gender = changed["gender"]
        extended["gender"] = _WRITE_GENDERS.get(gender, "") if isinstance(gender, Gender) else ""
    if isinstance(patch.address, AddressPatch):
        parts = patch.address.changed()
        for name, field in (("city", CITY), ("state", STATE), ("postcode", ZIP), ("country", COUNTRY)):
            if name in parts:
                extended[field] = parts[name] or ""
        if line_field and ("line1" in parts or "line2" in parts):
            fields[line_field] = ", ".join(
                p.strip() for p in (parts.get("line1"), parts.get("line2")) if p and p.strip()
            )
    if fields:
        profile["fields"] = fields
    body: dict[str, Any] = {"profiles": [profile]}
    if extended:
        body["extendedFields"] = extended
    return body


def address_body(
    address: AddressInput | None, *, source: str, account_id: str | None, line_field: str | None
) -> dict[str, Any]:
    """Update Customer Details' body that sets (or, with ``None``, blanks) the one address."""
    fields, extended = _address_parts(address or AddressInput(), line_field, blank=True)
    profile = _profile_stub(source, account_id)
    if fields:
        profile["fields"] = fields
    return {"profiles": [profile], "extendedFields": extended}


def enrollment_body(program_id: int, *, source: str, account_id: str | None) -> dict[str, Any]:
    """Update Customer Details' body that enrols in a program (and turns a non-loyalty customer into a loyalty
    one, the only loyalty change Capillary allows): lowest tier, no points credited."""
    return {
        "profiles": [_profile_stub(source, account_id)],
        "loyaltyInfo": {"loyaltyType": "loyalty"},
        "loyaltyProgramEnrollments": [{"programId": program_id, "tierNumber": 1, "loyaltyPoints": 0}],
    }


def subscriptions_body(inputs: Sequence[SubscriptionInput], reason: str) -> dict[str, Any]:
    """Update Subscription Details' body. Raises ``KeyError`` for a channel Capillary has not (WHATSAPP):
    the connector checks ``WRITE_CHANNELS`` first."""
    items = [
        {"channel": channel, "accountId": "", "priority": _PRIORITIES[given.kind], "type": _TYPES[given.status]}
        for given in inputs
        for channel in WRITE_CHANNELS[given.channel]
    ]
    return {
        "communicationId": -1,
        "campaignId": -1,
        "reason": reason,
        "scope": {"scope": "USER", "subScope": "NONE"},
        "subscriptions": items,
    }


def merge_plan(
    survivor: CustomerWire, victim: CustomerWire, fallback: tuple[str, str]
) -> tuple[str, str, dict[str, str]] | None:
    """Which of the victim's identifiers to add to the survivor, and in which (source, account), so that
    Capillary merges them: the identifier must not be the victim's in that same source (8008: "already exists
    in the same source"). Prefers a source where the survivor has no identifier of that type yet, then
    ``fallback`` (a source the survivor may not have: the profile is created there)."""
    held: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for profile in victim.profiles:
        key = (profile.source.upper(), profile.account_id or "")
        held.setdefault(key, set()).update((i.type, i.value) for i in profile.identifiers)
    types = {(p.source.upper(), p.account_id or ""): {i.type for i in p.identifiers} for p in survivor.profiles}
    targets = [*types, fallback]
    order = ["email", "mobile", "externalId"]
    candidates = sorted(
        {
            (i.type, i.value)
            for p in victim.profiles
            for i in p.identifiers
            if i.type in WRITABLE_IDENTIFIER_TYPES.values()
        },
        key=lambda c: (order.index(c[0]) if c[0] in order else len(order), c),
    )
    for strict in (True, False):
        for identifier_type, value in candidates:
            for target in targets:
                if (identifier_type, value) in held.get(target, set()):
                    continue
                if strict and identifier_type in types.get(target, set()):
                    continue
                return target[0], target[1], {"type": identifier_type, "value": value}
    return None


def _profile_stub(source: str, account_id: str | None) -> dict[str, Any]:
    profile: dict[str, Any] = {"source": source}
    if account_id:
        profile["accountId"] = account_id
    return profile


def _address_parts(
    address: AddressInput, line_field: str | None, *, blank: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """(custom fields, extended fields) holding one address; with ``blank`` every part is sent (empty when
    absent), so that an upsert replaces the whole address."""
    extended = {CITY: address.city, STATE: address.state, ZIP: address.postcode, COUNTRY: address.country}
    extended_out = {k: v or "" for k, v in extended.items() if blank or v}
    fields: dict[str, str] = {}
    street = ", ".join(part.strip() for part in (address.line1, address.line2) if part and part.strip())
    if line_field and (street or blank):
        fields[line_field] = street
    return fields, extended_out


def _str_or_empty(value: object) -> str:
    return value if isinstance(value, str) else ""
