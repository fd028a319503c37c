"""The unified, provider-free model of a customer.

Connectors map each provider's wire format into these types and back; the identity layer merges the
records of one person; the schema exposes them. Nothing here knows a provider's field names or a GraphQL
type. Values are immutable and already normalised (e-mail lower-cased, phones in E.164, dates as dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum


class Provider(StrEnum):
    CAPILLARY = "capillary"
    MARTJACK = "martjack"
    OPEN_LOYALTY = "openloyalty"
    TWC = "twc"


class IdentifierType(StrEnum):
    EMAIL = "EMAIL"
    MOBILE = "MOBILE"
    EXTERNAL_ID = "EXTERNAL_ID"
    CARD_NUMBER = "CARD_NUMBER"
    USERNAME = "USERNAME"
    CUSTOMER_REF = "CUSTOMER_REF"
    ALTERNATE_REF = "ALTERNATE_REF"
    WECHAT = "WECHAT"
    LINE = "LINE"
    MARTJACK_ID = "MARTJACK_ID"  # Capillary's ``martjackId`` identifier: names a Martjack UserId


class Gender(StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"
    NOT_DISCLOSED = "NOT_DISCLOSED"


class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    MERGED = "MERGED"
    DELETED = "DELETED"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    PUSH = "PUSH"


class SubscriptionKind(StrEnum):
    TRANSACTIONAL = "TRANSACTIONAL"
    MARKETING = "MARKETING"


class SubscriptionStatus(StrEnum):
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"


class Facet(StrEnum):
    """Parts of a record that a read may ask for; some providers need a separate call for some of them."""

    PROFILE = "PROFILE"  # names, birth date, gender, status and identifiers
    ADDRESSES = "ADDRESSES"
    SUBSCRIPTIONS = "SUBSCRIPTIONS"
    LOYALTY = "LOYALTY"


@dataclass(frozen=True, slots=True)
class Identifier:
    type: IdentifierType
    value: str  # normalised: see ``domain.normalise``
    provider: Provider
    source: str | None = None  # a Capillary source (INSTORE, WECHAT, ...) where it applies


@dataclass(frozen=True, slots=True)
class IdentifierKey:
    """What a lookup asks for: an identifier type and its normalised value."""

    type: IdentifierType
    value: str


@dataclass(frozen=True, slots=True)
class Address:
    provider: Provider
    id: str | None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 where the provider says so
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class Subscription:
    provider: Provider
    channel: Channel
    kind: SubscriptionKind
    status: SubscriptionStatus


@dataclass(frozen=True, slots=True)
class LoyaltyProgram:
    provider: Provider
    program_id: str
    name: str
    points: float
    lifetime_points: float | None = None
    redeemed_points: float | None = None
    expired_points: float | None = None
    tier: str | None = None
    next_tier: str | None = None
    points_expiry: date | None = None


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """One provider's record of a person.

    ``facets`` says which facets this record holds in full: a search hit may carry only names, a record
    read with ``{PROFILE, LOYALTY}`` holds those two. Facet fields not held are ``None`` (or empty).
    """

    provider: Provider
    record_id: str
    fetched_at: datetime
    facets: frozenset[Facet] = frozenset()
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    gender: Gender | None = None
    status: CustomerStatus | None = None
    identifiers: tuple[Identifier, ...] = ()
    source: str | None = None  # Capillary: the source profile read; elsewhere None
    account: str | None = None  # a tenant, store or account id where the provider has one
    created_at: datetime | None = None
    updated_at: datetime | None = None
    addresses: tuple[Address, ...] | None = None
    subscriptions: tuple[Subscription, ...] | None = None
    loyalty_programs: tuple[LoyaltyProgram, ...] | None = None
    # Set when the id asked for was a merge victim and this is its survivor.
    requested_id: str | None = None

    def completed_by(self, other: ProviderRecord) -> ProviderRecord:
        """This record with the facets ``other`` (a read of the same record) holds and this one lacks."""
        changes: dict[str, object] = {"facets": self.facets | other.facets}
        for facet, names in _FACET_FIELDS.items():
            if facet in other.facets and facet not in self.facets:
                changes.update({name: getattr(other, name) for name in names})
        return replace(self, **changes)  # type: ignore[arg-type]


_FACET_FIELDS = {
    Facet.PROFILE: (
        "first_name",
        "last_name",
        "birth_date",
        "gender",
        "status",
        "identifiers",
        "source",
        "account",
        "created_at",
        "updated_at",
    ),
    Facet.ADDRESSES: ("addresses",),
    Facet.SUBSCRIPTIONS: ("subscriptions",),
    Facet.LOYALTY: ("loyalty_programs",),
}


@dataclass(frozen=True, slots=True)
class SearchPage:
    records: tuple[ProviderRecord, ...]
    total: int | None  # None where the provider does not say
    offset: int
    limit: int


# -- write inputs ---------------------------------------------------------------------------------


class _Unset:
    """The value of a patch field that was left out (``None`` means: clear it)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = _Unset()


@dataclass(frozen=True, slots=True)
class AddressInput:
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    id: str | None = None  # the provider's address id when replacing one


@dataclass(frozen=True, slots=True)
class SubscriptionInput:
    channel: Channel
    kind: SubscriptionKind
    status: SubscriptionStatus


@dataclass(frozen=True, slots=True)
class CustomerDraft:
    """A new customer. Which fields a provider requires is that connector's to check."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    birth_date: date | None = None
    gender: Gender | None = None
    external_id: str | None = None
    card_number: str | None = None
    username: str | None = None
    password: str | None = None  # Martjack requires one; never logged
    address: AddressInput | None = None
    subscriptions: tuple[SubscriptionInput, ...] = ()
    source: str | None = None  # Capillary source to register in


ADDRESS_PARTS = ("line1", "line2", "city", "state", "postcode", "country")


@dataclass(frozen=True, slots=True)
class AddressPatch:
    """Parts of the customer's own address to change (a profile update): a part left ``UNSET`` is unchanged,
    an explicit ``None`` clears it. Which address is the customer's own is each provider's to say."""

    line1: str | _Unset | None = UNSET
    line2: str | _Unset | None = UNSET
    city: str | _Unset | None = UNSET
    state: str | _Unset | None = UNSET
    postcode: str | _Unset | None = UNSET
    country: str | _Unset | None = UNSET  # ISO 3166-1 alpha-2

    def changed(self) -> dict[str, str | None]:
        return {name: value for name in ADDRESS_PARTS if not isinstance(value := getattr(self, name), _Unset)}


@dataclass(frozen=True, slots=True)
class ProfilePatch:
    """A partial update: a field left ``UNSET`` is unchanged, an explicit ``None`` clears it. ``address``
    changes parts of the customer's own address (the others stay)."""

    first_name: str | _Unset | None = UNSET
    last_name: str | _Unset | None = UNSET
    birth_date: date | _Unset | None = UNSET
    gender: Gender | _Unset | None = UNSET
    address: AddressPatch | _Unset = UNSET

    def changed(self) -> dict[str, object]:
        return {
            name: value
            for name in ("first_name", "last_name", "birth_date", "gender", "address")
            if (value := getattr(self, name)) is not UNSET
        }


@dataclass(frozen=True, slots=True)
class MergeResult:
    survivor_id: str
    victim_id: str
    operation: str  # what the provider did, e.g. "changeIdentifier", "deactivate victim"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write did at one provider: the operation performed and the record as it stands after it."""

    operation: str
    record: ProviderRecord | None = None
    details: dict[str, str] = field(default_factory=dict)
    # False when the provider already stood as asked and nothing was written (the outcome is SKIPPED).
    changed: bool = True
