"""Capillary's customer records in memory, seeded from the dataset, with the provider's identity rules.

One :class:`Customer` is one Capillary user id holding one :class:`Profile` per source (and account, for
sources with several accounts). Identifiers are unique across the org: registering or adding an identifier
that a customer holds in *another* source merges the two accounts (the newer is the victim, the older the
survivor), while one held in the *same* source is refused. The rules follow
``capillary-v2-customer-api.md`` (Register Customer, Update Customer Identifiers) and the merge facts of
``providers/README.md``.

Every mutating method checks everything before it changes anything, so a refused request changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone

from customer_graph.simulators.dataset import CAPILLARY_PROGRAMS, CapillaryPart, Dataset

# The demo org's time zone: Capillary emits every date with the org's offset (the documents' samples use
# +05:30, the org being in India).
ORG_TZ = timezone(timedelta(hours=5, minutes=30))

SOURCES = (
    "FACEBOOK",
    "WEB_ENGAGE",
    "WECHAT",
    "INSTORE",
    "MARTJACK",
    "TMALL",
    "TAOBAO",
    "JD",
    "ECOMMERCE",
    "WEBSITE",
    "LINE",
    "MOBILE_APP",
)
# Sources that hold several accounts need an ``accountId`` (customer-api.md, Register/Update Customer).
MULTI_ACCOUNT_SOURCES = frozenset({"FACEBOOK", "WEB_ENGAGE", "WECHAT", "MOBILE_APP", "LINE"})
# The accounts the seeded profiles live in (the ids of the documents' own samples).
SEED_ACCOUNTS = {"WECHAT": "22232", "LINE": "2001914141242"}

# Identifier types of Register Customer / Update Customer Identifiers, plus the two the register samples use.
IDENTIFIER_TYPES = (
    "mobile",
    "email",
    "externalId",
    "wechat",
    "martjackId",
    "fbId",
    "tmall_uname",
    "cuid",
    "ali_uname",
    "jd_uname",
    "vip_uname",
    "mobilePush",
    "line",
    "unionId",
    "cardnumber",
)
PRIMARY_IDENTIFIER_TYPES = ("mobile", "email", "externalId")

# The demo org's loyalty programs: id -> (name, tier names from the lowest).
PROGRAMS: dict[int, tuple[str, list[str]]] = {pid: (name, tiers) for pid, name, tiers in CAPILLARY_PROGRAMS}
DEFAULT_PROGRAM_ID = CAPILLARY_PROGRAMS[0][0]

# New customers get ids above the seeded range (the dataset counts from 300_000_001 in steps of 7).
FIRST_NEW_ID = 400_000_001


class CapillaryError(Exception):
    """A refusal in Capillary's terms: the HTTP status and one ``errors[]`` entry (code and message)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found() -> CapillaryError:
    return CapillaryError(404, 8015, "Customer not found for the given identifiers")


def not_in_source() -> CapillaryError:
    return CapillaryError(404, 8065, "No customer found in the given source with the given identifier.")


@dataclass(frozen=True)
class Identifier:
    type: str
    value: str

    @staticmethod
    def of(type_: str, value: str) -> Identifier:
        """The identifier as Capillary keeps it: mobiles as digits (no ``+``), e-mails lower-cased."""
        value = value.strip()
        if type_ == "mobile":
            value = "".join(ch for ch in value if ch.isdigit())
        elif type_ == "email":
            value = value.lower()
        return Identifier(type_, value)


@dataclass
class Profile:
    """A customer's account in one source (and account id, for sources with several accounts)."""

    source: str
    account_id: str  # "" for single-account sources
    first_name: str
    last_name: str
    identifiers: list[Identifier]
    comm_channels: list[dict[str, object]]
    fields: dict[str, str]
    created_at: datetime
    modified_at: datetime

    def holds(self, identifier: Identifier) -> bool:
        return identifier in self.identifiers


@dataclass
class Program:
    """A customer's balance and tier in one loyalty program."""

    program_id: int
    loyalty_points: int
    lifetime_points: int
    redeemed: int
    expired: int
    slab_number: int  # 1 for the lowest tier
    slab_expiry: datetime
    returned: int = 0
    adjusted: int = 0

    @property
    def tiers(self) -> list[str]:
        return PROGRAMS[self.program_id][1]


@dataclass
class Subscription:
    channel: str  # as read back: SMS, EMAIL, WECHAT, ANDROID, IOS, LINE
    priority: str  # TRANS | BULK
    type: str  # OPTIN | OPTOUT
    account_id: str = ""


@dataclass
class ChangeRequest:
    """One item of Get Change Requests (``retroRequest``): an identifier change or an account merge."""

    id: int
    change_type: str  # MERGE | EMAIL | MOBILE | EXTERNAL_ID
    user_id: int  # for a MERGE, the survivor
    added_on: datetime


@dataclass
class Customer:
    id: int
    registered_at: datetime
    loyalty_type: str  # loyalty | non_loyalty
    loyalty_id: int
    profiles: list[Profile]
    extended_fields: dict[str, str]
    programs: list[Program]
    subscriptions: dict[tuple[str, str], Subscription]
    change_requests: list[ChangeRequest] = field(default_factory=list)
    merged_into: int | None = None  # set on a merge victim

    def profile(self, source: str, account_id: str) -> Profile | None:
        return next((p for p in self.profiles if (p.source, p.account_id) == (source, account_id)), None)

    def program(self, program_id: int) -> Program | None:
        return next((p for p in self.programs if p.program_id == program_id), None)

    def identifiers(self) -> set[Identifier]:
        return {i for p in self.profiles for i in p.identifiers}

    def holds_elsewhere(self, identifier: Identifier, profile: Profile) -> bool:
        return any(p is not profile and p.holds(identifier) for p in self.profiles)

    @property
    def primary(self) -> Profile:
        return self.profiles[0]


@dataclass(frozen=True)
class Enrollment:
    program_id: int
    tier_number: int
    loyalty_points: int
    tier_expiry: datetime | None


@dataclass(frozen=True)
class SearchMatch:
    id_type: str  # firstName | lastName | an identifier type
    id_value: str
    source: str
    account_id: str


class CapillaryStore:
    """The org's customers, with O(1) indexes by user id and by identifier (type, value)."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self.customers: dict[int, Customer] = {}
        self.by_identifier: dict[Identifier, int] = {}
        self.reseed()

    def reseed(self) -> None:
        self.customers = {}
        self.by_identifier = {}
        self._new_ids = itertools.count(FIRST_NEW_ID)
        self._request_ids = itertools.count(1)
        for person in self._dataset.in_provider("capillary"):
            assert person.capillary is not None
            self._seed(person.capillary)

    # -- reads ------------------------------------------------------------------------------------

    def get(self, customer_id: int) -> Customer:
        """A live customer; 8015 for an unknown id, 8069 for a merge victim."""
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found()
        if customer.merged_into is not None:
            raise CapillaryError(404, 8069, "The customer is merged into another account")
        return customer

    def get_any(self, customer_id: int) -> Customer:
        """A customer, live or merged (change requests are readable on a victim: that is how one finds its
        survivor)."""
        customer = self.customers.get(customer_id)
        if customer is None:
            raise not_found()
        return customer

    def owner(self, identifier: Identifier) -> Customer | None:
        customer_id = self.by_identifier.get(identifier)
        return None if customer_id is None else self.customers[customer_id]

    def search(self, query: str) -> Iterator[tuple[Customer, list[SearchMatch]]]:
        """Live customers whose first name, last name or an identifier starts with ``query`` (a scan)."""
        q = query.strip().lower()
        digits = q.lstrip("+")
        for customer in sorted(self.customers.values(), key=lambda c: c.id):
            if customer.merged_into is not None:
                continue
            matches: list[SearchMatch] = []
            for profile in customer.profiles:
                candidates = [("firstName", profile.first_name), ("lastName", profile.last_name)]
                candidates += [(i.type, i.value) for i in profile.identifiers]
                for id_type, value in candidates:
                    needle = digits if id_type == "mobile" else q
                    match = SearchMatch(id_type, value, profile.source, profile.account_id)
                    if value and value.lower().startswith(needle) and match not in matches:
                        matches.append(match)
            if matches:
                yield customer, matches

    # -- writes -----------------------------------------------------------------------------------

    def register(
        self,
        profiles: list[Profile],
        loyalty_type: str,
        extended_fields: dict[str, str],
        enrollments: list[Enrollment],
        at: datetime,
    ) -> tuple[Customer, bool]:
        """Register Customer: a new customer, or new source profiles added to the customer who already holds
        one of the identifiers in another source (returns that customer and True: warning 8050)."""
        wanted = [i for p in profiles for i in p.identifiers]
        owners = {i: o for i in wanted if (o := self.owner(i)) is not None}
        for profile in profiles:
            for identifier in profile.identifiers:
                owner = owners.get(identifier)
                held = owner.profile(profile.source, profile.account_id) if owner else None
                if owner is not None and held is not None and held.holds(identifier):
                    if all(owners.get(i) is owner for i in wanted):
                        raise CapillaryError(400, 8006, "Customer already exists for same source.")
                    raise _duplicate_in_source(identifier)
        existing = {o.id: o for o in owners.values()}
        if len(existing) > 1:
            raise CapillaryError(
                400,
                8053,
                "Each identifier is registered with a different customer in other source. Unable to merge accounts.",
            )
        for enrollment in enrollments:
            _check_program(enrollment.program_id)
        if existing:
            (customer,) = existing.values()
            if any(customer.profile(p.source, p.account_id) for p in profiles):
                raise CapillaryError(400, 8006, "Customer already exists for same source.")
            customer.profiles.extend(profiles)
            _fill(customer.extended_fields, extended_fields)
            if loyalty_type == "loyalty":
                customer.loyalty_type = "loyalty"
        else:
            customer_id = next(self._new_ids)
            customer = Customer(
                id=customer_id,
                registered_at=at,
                loyalty_type=loyalty_type,
                loyalty_id=_loyalty_id(customer_id),
                profiles=list(profiles),
                extended_fields=dict(extended_fields),
                programs=[],
                subscriptions={},
            )
            self.customers[customer.id] = customer
        for enrollment in enrollments:
            self._enroll(customer, enrollment, at, add_points=True)
        if customer.loyalty_type == "loyalty" and not customer.programs:
            self._enroll(customer, Enrollment(DEFAULT_PROGRAM_ID, 1, 0, None), at, add_points=True)
        self._index(customer)
        return customer, bool(existing)

    def update(
        self,
        customer: Customer,
        profile: Profile,
        *,
        first_name: str | None,
        last_name: str | None,
        fields: dict[str, str],
        comm_channels: list[dict[str, object]],
        extended_fields: dict[str, str],
        loyalty_type: str | None,
        enrollments: list[Enrollment],
        at: datetime,
    ) -> None:
        """Update Customer Details: profile, channels, custom and extended fields, non-loyalty to loyalty."""
        if loyalty_type == "non_loyalty" and customer.loyalty_type == "loyalty":
            raise CapillaryError(400, 1046, "Conversion of loyalty customer to non-loyalty is not allowed.")
        for enrollment in enrollments:
            _check_program(enrollment.program_id)
        if first_name is not None:
            profile.first_name = first_name
        if last_name is not None:
            profile.last_name = last_name
        profile.fields.update(fields)
        given = {channel["type"] for channel in comm_channels}
        profile.comm_channels = [c for c in profile.comm_channels if c["type"] not in given] + comm_channels
        profile.modified_at = at
        customer.extended_fields.update(extended_fields)
        if loyalty_type == "loyalty":
            customer.loyalty_type = "loyalty"
        for enrollment in enrollments:
            # "You cannot update details if the customer is already enrolled in the loyalty program."
            if customer.program(enrollment.program_id) is None:
                self._enroll(customer, enrollment, at, add_points=True)
        if customer.loyalty_type == "loyalty" and not customer.programs:
            self._enroll(customer, Enrollment(DEFAULT_PROGRAM_ID, 1, 0, None), at, add_points=True)

    def change_identifiers(
        self,
        customer: Customer,
        source: str,
        account_id: str,
        add: list[Identifier],
        remove: list[Identifier],
        at: datetime,
    ) -> Customer | None:
        """Update Customer Identifiers. Returns the survivor when an added identifier merged two accounts."""
        profile = customer.profile(source, account_id)
        for identifier in remove:
            if profile is None or not profile.holds(identifier):
                raise CapillaryError(400, 1104, "Invalid identifier or no identifier passed.")
        others: dict[int, Customer] = {}
        for identifier in add:
            if profile is not None and profile.holds(identifier) and identifier not in remove:
                raise CapillaryError(
                    400, 8007, "Unable to update. The identifier is already registered in the same source."
                )
            owner = self.owner(identifier)
            if owner is None or owner is customer:
                continue
            held = owner.profile(source, account_id)
            if held is not None and held.holds(identifier):
                raise CapillaryError(400, 8008, "The new identifier already exists in the same source.")
            others[owner.id] = owner
        if len(others) > 1:
            raise CapillaryError(
                400,
                8053,
                "Each identifier is registered with a different customer in other source. Unable to merge accounts.",
            )
        if profile is None:
            profile = Profile(
                source, account_id, customer.primary.first_name, customer.primary.last_name, [], [], {}, at, at
            )
            customer.profiles.append(profile)
        for identifier in remove:
            profile.identifiers.remove(identifier)
            if not customer.holds_elsewhere(identifier, profile):
                self.by_identifier.pop(identifier, None)
            self._record_change(customer, identifier, at)
        for identifier in add:
            if not profile.holds(identifier):
                profile.identifiers.append(identifier)
            self.by_identifier[identifier] = customer.id
            self._record_change(customer, identifier, at)
        profile.modified_at = at
        if not others:
            return None
        (other,) = others.values()
        survivor, victim = sorted((customer, other), key=lambda c: (c.registered_at, c.id))
        self.merge(survivor, victim, at)
        return survivor

    def set_subscriptions(self, customer: Customer, subscriptions: Iterable[Subscription]) -> None:
        for subscription in subscriptions:
            customer.subscriptions[(subscription.channel, subscription.priority)] = subscription

    def merge(self, survivor: Customer, victim: Customer, at: datetime) -> None:
        """Merge ``victim`` into ``survivor`` with the README's rules: points move, the earlier registration and
        the higher tier win, the survivor's identifiers and fields win and its empty ones are filled from the
        victim, the survivor's subscriptions stay."""
        for theirs in victim.profiles:
            ours = survivor.profile(theirs.source, theirs.account_id)
            if ours is None:
                survivor.profiles.append(theirs)
            else:
                _fill_profile(ours, theirs)
        for program in victim.programs:
            kept = survivor.program(program.program_id)
            if kept is None:
                survivor.programs.append(program)
                continue
            kept.loyalty_points += program.loyalty_points
            kept.lifetime_points += program.lifetime_points
            kept.redeemed += program.redeemed
            kept.expired += program.expired
            kept.returned += program.returned
            kept.adjusted += program.adjusted
            if program.slab_number > kept.slab_number:
                kept.slab_number, kept.slab_expiry = program.slab_number, program.slab_expiry
        _fill(survivor.extended_fields, victim.extended_fields)
        survivor.registered_at = min(survivor.registered_at, victim.registered_at)
        if victim.loyalty_type == "loyalty":
            survivor.loyalty_type = "loyalty"
        for identifier in victim.identifiers():
            self.by_identifier.pop(identifier, None)
        victim.profiles, victim.programs, victim.merged_into = [], [], survivor.id
        self._index(survivor)
        request = ChangeRequest(next(self._request_ids), "MERGE", survivor.id, at)
        survivor.change_requests.append(request)
        victim.change_requests.append(request)

    # -- internals --------------------------------------------------------------------------------

    def _index(self, customer: Customer) -> None:
        for identifier in customer.identifiers():
            self.by_identifier[identifier] = customer.id

    def _enroll(self, customer: Customer, enrollment: Enrollment, at: datetime, *, add_points: bool) -> None:
        tiers = PROGRAMS[enrollment.program_id][1]
        # The documents' own sample asks for tier 234 of a three-tier program: take the nearest real tier.
        slab = min(max(enrollment.tier_number, 1), len(tiers))
        program = customer.program(enrollment.program_id)
        if program is None:
            expiry = enrollment.tier_expiry or datetime.combine(
                (at + timedelta(days=365)).date(), time(23, 59, 59), ORG_TZ
            )
            customer.programs.append(
                Program(enrollment.program_id, enrollment.loyalty_points, enrollment.loyalty_points, 0, 0, slab, expiry)
            )
        elif add_points:
            program.loyalty_points += enrollment.loyalty_points
            program.lifetime_points += enrollment.loyalty_points
            program.slab_number = max(program.slab_number, slab)

    def _record_change(self, customer: Customer, identifier: Identifier, at: datetime) -> None:
        change_type = {"email": "EMAIL", "mobile": "MOBILE", "externalId": "EXTERNAL_ID"}.get(identifier.type)
        if change_type is not None:
            customer.change_requests.append(ChangeRequest(next(self._request_ids), change_type, customer.id, at))

    def _seed(self, part: CapillaryPart) -> None:
        view = part.view
        registered = view.registered_at or datetime(2016, 1, 1, tzinfo=UTC)
        instore = [Identifier.of("mobile", view.mobile)] if view.mobile else []
        instore += [Identifier.of("email", view.email)] if view.email else []
        instore.append(Identifier("externalId", part.external_id))
        sources = list(part.sources)
        if part.martjack_id and "MARTJACK" not in sources:
            # The Martjack integration registers the customer in the MARTJACK source with the martjackId.
            sources.append("MARTJACK")
        profiles = []
        for index, source in enumerate(sources):
            if source == "INSTORE":
                identifiers = instore
            elif source == "WECHAT":
                identifiers = [Identifier("wechat", part.wechat_id or f"wx_{part.customer_id}")]
            elif source == "MARTJACK" and part.martjack_id:
                identifiers = [Identifier("martjackId", part.martjack_id)]
            else:
                identifiers = [i for i in instore if i.type == "email"]
            created = registered + timedelta(days=17 * index)
            fields = _seed_fields(part) if source == "INSTORE" else {}
            profiles.append(
                Profile(
                    source,
                    SEED_ACCOUNTS.get(source, ""),
                    view.first_name,
                    view.last_name,
                    identifiers,
                    _seed_channels(identifiers),
                    fields,
                    created,
                    created,
                )
            )
        extended: dict[str, str] = {}
        if view.gender in ("male", "female"):
            extended["gender"] = view.gender.capitalize()
        if view.address is not None:
            extended.update(
                city=view.address.city,
                state=view.address.state,
                zip=view.address.postcode,
                country_of_residence=view.address.country,
            )
        programs = [
            Program(
                b.program_id,
                b.points,
                b.lifetime_points,
                b.redeemed_points,
                b.expired_points,
                PROGRAMS[b.program_id][1].index(b.tier) + 1,
                datetime.combine(
                    b.points_expiry or (registered + timedelta(days=365)).date(), time(23, 59, 59), ORG_TZ
                ),
            )
            for b in part.programs
        ]
        priorities = {"TRANSACTIONAL": "TRANS", "MARKETING": "BULK"}
        subscriptions = {
            (c.channel, priorities[c.kind]): Subscription(
                c.channel, priorities[c.kind], "OPTIN" if c.opted_in else "OPTOUT"
            )
            for c in part.consents
        }
        customer = Customer(
            id=part.customer_id,
            registered_at=registered,
            loyalty_type="loyalty",
            loyalty_id=_loyalty_id(part.customer_id),
            profiles=profiles,
            extended_fields=extended,
            programs=programs,
            subscriptions=subscriptions,
        )
        self.customers[customer.id] = customer
        self._index(customer)
        for victim in part.victims:
            # Already merged: its points are in the survivor's balance and it holds nothing any more.
            merged_at = registered + timedelta(days=30 + victim.customer_id % 200)
            request = ChangeRequest(next(self._request_ids), "MERGE", customer.id, merged_at)
            self.customers[victim.customer_id] = Customer(
                id=victim.customer_id,
                registered_at=registered,
                loyalty_type="loyalty",
                loyalty_id=_loyalty_id(victim.customer_id),
                profiles=[],
                extended_fields={},
                programs=[],
                subscriptions={},
                change_requests=[request],
                merged_into=customer.id,
            )
            customer.change_requests.append(request)


def _seed_fields(part: CapillaryPart) -> dict[str, str]:
    view = part.view
    fields: dict[str, str] = {}
    if view.birth_date is not None:
        fields["dateofbirth"] = view.birth_date.strftime("%d-%m-%Y")  # as the register sample writes it
    if view.address is not None:
        fields["customer_address"] = ", ".join(x for x in (view.address.line1, view.address.line2) if x)
    return fields


def _seed_channels(identifiers: list[Identifier]) -> list[dict[str, object]]:
    kinds = {"mobile": "mobile", "email": "email", "wechat": "wechat"}
    return [
        {
            "type": kinds[i.type],
            "value": i.value,
            "primary": True,
            "verified": True,
            "meta": {"residence": True, "office": False},
        }
        for i in identifiers
        if i.type in kinds
    ]


def _loyalty_id(customer_id: int) -> int:
    # Capillary's loyaltyId is a second internal number per customer; derived so that seeds stay stable.
    return customer_id - 250_000_000


def _check_program(program_id: int) -> None:
    if program_id not in PROGRAMS:
        raise CapillaryError(400, 1023, "Unable to register customer to loyalty program.")


def _duplicate_in_source(identifier: Identifier) -> CapillaryError:
    if identifier.type == "mobile":
        return CapillaryError(400, 1032, "A customer already exists with the same mobile number.")
    if identifier.type == "email":
        return CapillaryError(400, 1016, "Unable to register. Email provided already exists for some other user.")
    if identifier.type == "externalId":
        return CapillaryError(400, 1033, "A customer already exists with the same external id.")
    return CapillaryError(400, 8008, "The new identifier already exists in the same source.")


def _fill(ours: dict[str, str], theirs: dict[str, str]) -> None:
    """The survivor's values win; its empty ones are filled from the victim."""
    for key, value in theirs.items():
        if ours.get(key) in (None, ""):
            ours[key] = value


def _fill_profile(ours: Profile, theirs: Profile) -> None:
    ours.first_name = ours.first_name or theirs.first_name
    ours.last_name = ours.last_name or theirs.last_name
    for key, value in theirs.fields.items():
        if not ours.fields.get(key):
            ours.fields[key] = value
    held_types = {i.type for i in ours.identifiers}
    ours.identifiers += [i for i in theirs.identifiers if i.type not in held_types]
    channel_types = {c["type"] for c in ours.comm_channels}
    ours.comm_channels += [c for c in theirs.comm_channels if c["type"] not in channel_types]
