"""The seeded demo dataset: persons who overlap across the four providers the way real data does.

A :class:`Person` is the truth; each provider holds its own *view* of some persons (:class:`ProviderView`
plus provider-specific parts), spelled and formatted the way that provider would hold it. Each simulator
turns these views into its own wire records; nothing here knows a provider's JSON.

How views link (the rules customer-graph's identity layer is expected to discover):

- the same e-mail in Capillary and TWC (case and surrounding spaces may differ);
- the same mobile in Open Loyalty and Martjack (formatted differently: ``+44 7700 900123`` vs ``447700900123``);
- a Capillary ``martjackId`` identifier holding the Martjack ``UserId``;
- a TWC ``customerRef`` equal to a Capillary ``externalId``.

Real-world mess on purpose: names spelled differently across providers, a stale address in one provider,
Capillary persons with several sources and two loyalty programs, Capillary accounts already merged
(victims that answer 8069), persons in only one provider, and two different persons with the same first and
last name and no identifier in common (:attr:`Dataset.namesakes`).

Everything derives from ``random.Random(seed)``: the same seed gives the same dataset.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import phonenumbers

PROVIDERS = ("capillary", "martjack", "openloyalty", "twc")
DEFAULT_SEED = 42
DEFAULT_CUSTOMERS = 200

_FIRST_NAMES = {
    "female": [
        "Katherine",
        "Jane",
        "Maria",
        "Aisha",
        "Olivia",
        "Priya",
        "Zofia",
        "Emma",
        "Sophie",
        "Chloe",
        "Hannah",
        "Grace",
        "Mei",
        "Yuki",
        "Ana",
        "Lucy",
        "Ella",
        "Isla",
        "Amelia",
        "Freya",
    ],
    "male": [
        "John",
        "Michael",
        "Stephen",
        "Rahul",
        "Tomasz",
        "Liam",
        "Noah",
        "Oliver",
        "James",
        "Arjun",
        "Mateusz",
        "Ethan",
        "Lucas",
        "Daniel",
        "Kenji",
        "Wei",
        "Leo",
        "Jacob",
        "Harry",
        "Samuel",
    ],
}
_LAST_NAMES = [
    "Smith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Patel",
    "Sharma",
    "Kowalski",
    "Nowak",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Martin",
    "Clarke",
    "Lewis",
    "Singh",
    "Tanaka",
    "Chen",
    "Wisniewski",
    "O'Brien",
    "MacDonald",
    "Lee",
    "Khan",
]
# How another system might spell the same name: nicknames, typos, transliterations.
_NAME_VARIANTS = {
    "Katherine": "Kathy",
    "Jane": "Jayne",
    "Maria": "Marie",
    "Aisha": "Ayesha",
    "Olivia": "Liv",
    "Zofia": "Sophia",
    "Sophie": "Sofie",
    "Hannah": "Hanna",
    "John": "Jon",
    "Michael": "Mike",
    "Stephen": "Steven",
    "Rahul": "Raul",
    "Tomasz": "Tom",
    "James": "Jim",
    "Daniel": "Dan",
    "Samuel": "Sam",
    "Smith": "Smyth",
    "Kowalski": "Kowalsky",
    "Wisniewski": "Wiśniewski",
    "O'Brien": "OBrien",
    "MacDonald": "McDonald",
    "Thompson": "Thomson",
    "Clarke": "Clark",
}
_EMAIL_DOMAINS = ["example.com", "example.org", "mail.example", "post.example.net"]

# Country, dialling region, and a few real places (city, state, postcode) to build addresses from.
_PLACES: dict[str, list[tuple[str, str, str]]] = {
    "GB": [
        ("London", "Greater London", "SW1A 1AA"),
        ("Manchester", "Greater Manchester", "M1 1AE"),
        ("Leeds", "West Yorkshire", "LS1 4DY"),
        ("Bristol", "Bristol", "BS1 4ST"),
    ],
    "IN": [
        ("Bengaluru", "Karnataka", "560001"),
        ("Mumbai", "Maharashtra", "400001"),
        ("Chennai", "Tamil Nadu", "600001"),
    ],
    "AU": [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"), ("Brisbane", "QLD", "4000")],
    "PL": [("Warszawa", "Mazowieckie", "00-001"), ("Kraków", "Małopolskie", "30-001")],
    "US": [("Seattle", "WA", "98101"), ("Austin", "TX", "73301"), ("Boston", "MA", "02108")],
}
_STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Market Street",
    "Mill Road",
    "King Street",
    "Queen's Road",
    "Victoria Street",
    "Main Street",
]
_CAPILLARY_SOURCES = ["INSTORE", "WECHAT", "MARTJACK", "LINE", "ECOMMERCE"]
_OL_LEVELS = [("level0", "0.00%"), ("level1", "5.00%"), ("level2", "10.00%"), ("level3", "15.00%")]
CAPILLARY_PROGRAMS = [
    (1016, "DemoProgram", ["Silver", "Gold", "Platinum"]),
    (1017, "PartnerProgram", ["Blue", "Black"]),
]


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class ProviderView:
    """What one provider holds about a person, spelled and formatted as that provider holds it."""

    first_name: str
    last_name: str
    email: str | None
    mobile: str | None  # in this provider's format; ``Person.mobile`` is the E.164 truth
    address: Address | None
    gender: str | None = None  # "male" | "female" | "not_disclosed"
    birth_date: date | None = None
    registered_at: datetime | None = None


@dataclass(frozen=True)
class LoyaltyBalance:
    program_id: int
    program_name: str
    points: int
    lifetime_points: int
    redeemed_points: int
    expired_points: int
    tier: str
    next_tier: str | None
    points_expiry: date | None


@dataclass(frozen=True)
class Consent:
    channel: str  # "EMAIL" | "SMS" | "WHATSAPP" | "PUSH"
    kind: str  # "TRANSACTIONAL" | "MARKETING"
    opted_in: bool


@dataclass(frozen=True)
class CapillaryVictim:
    """An older Capillary account already merged into the person's surviving account; it answers 8069."""

    customer_id: int
    source: str
    points: int  # already counted in the survivor's balance


@dataclass
class CapillaryPart:
    view: ProviderView
    customer_id: int
    external_id: str
    sources: list[str]  # first is where the customer registered
    wechat_id: str | None
    martjack_id: str | None  # the Martjack UserId, held as a ``martjackId`` identifier
    programs: list[LoyaltyBalance]
    consents: list[Consent]
    victims: list[CapillaryVictim] = field(default_factory=list)


@dataclass
class MartjackPart:
    view: ProviderView
    user_id: str  # GUID
    user_info_id: str  # GUID
    user_name: str  # e-mail or mobile
    password: str
    addresses: list[Address]
    receive_offers: bool
    active: bool = True


@dataclass
class OpenLoyaltyPart:
    view: ProviderView
    customer_id: str  # UUID
    loyalty_card_number: str | None
    points: float
    level_name: str
    level_percent: str
    marketing_email: bool  # agreement2
    marketing_sms: bool  # agreement3
    active: bool = True


@dataclass
class TwcPart:
    view: ProviderView
    customer_id: str
    customer_ref: str | None
    addresses: list[Address]
    accepts_marketing: bool
    marketing_optin_level: str | None
    active: bool = True


@dataclass
class Person:
    key: str
    first_name: str
    last_name: str
    gender: str
    birth_date: date
    email: str  # canonical: lower-case, trimmed
    mobile: str  # E.164
    country: str
    address: Address
    previous_address: Address
    capillary: CapillaryPart | None = None
    martjack: MartjackPart | None = None
    openloyalty: OpenLoyaltyPart | None = None
    twc: TwcPart | None = None

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(p for p in PROVIDERS if getattr(self, p) is not None)


@dataclass
class Dataset:
    seed: int
    persons: list[Person]
    namesakes: tuple[str, str]  # keys of two strangers who share first and last name

    def in_provider(self, provider: str) -> list[Person]:
        return [p for p in self.persons if getattr(p, provider) is not None]

    def person(self, key: str) -> Person:
        return next(p for p in self.persons if p.key == key)

    def stats(self) -> dict[str, object]:
        """Overlap statistics: how many persons each provider holds and how many sit in 1..4 providers."""
        combos = Counter("+".join(p.providers) for p in self.persons)
        return {
            "seed": self.seed,
            "persons": len(self.persons),
            "per_provider": {prov: len(self.in_provider(prov)) for prov in PROVIDERS},
            "by_provider_count": dict(sorted(Counter(len(p.providers) for p in self.persons).items())),
            "combinations": dict(combos.most_common()),
            "capillary_merge_victims": sum(len(p.capillary.victims) for p in self.persons if p.capillary),
            "capillary_multi_source": sum(1 for p in self.persons if p.capillary and len(p.capillary.sources) > 1),
            "capillary_two_programs": sum(1 for p in self.persons if p.capillary and len(p.capillary.programs) > 1),
            "name_variants": sum(1 for p in self.persons if _has_name_variant(p)),
            "stale_addresses": sum(1 for p in self.persons if _has_stale_address(p)),
            "namesakes": list(self.namesakes),
        }


def generate(seed: int = DEFAULT_SEED, customers: int = DEFAULT_CUSTOMERS) -> Dataset:
    """A deterministic dataset of ``customers`` persons (at least 4, so that every trap fits)."""
    if customers < 4:
        raise ValueError("the dataset needs at least 4 persons")
    return _Generator(seed).dataset(customers)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.used_emails: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.capillary_ids = iter(range(300_000_001, 400_000_000, 7))
        self.exact_names = False

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def dataset(self, count: int) -> Dataset:
        persons = [self.person(i) for i in range(count)]
        # Two strangers with the same name and nothing else in common: the last two persons, each in one
        # provider that the other is not in, so that only careless name matching would join them.
        a, b = persons[-2], persons[-1]
        b.first_name, b.last_name = a.first_name, a.last_name
        self.exact_names = True
        self.place_in(a, {"capillary", "twc"})
        self.place_in(b, {"openloyalty", "martjack"})
        self.exact_names = False
        return Dataset(seed=self.seed, persons=persons, namesakes=(a.key, b.key))

    def person(self, index: int) -> Person:
        rng = self.rng
        gender = rng.choice(["female", "male", "female", "male", "not_disclosed"])
        first = rng.choice(_FIRST_NAMES["female" if gender == "not_disclosed" else gender])
        last = rng.choice(_LAST_NAMES)
        country = rng.choice(list(_PLACES))
        person = Person(
            key=f"P{index + 1:04d}",
            first_name=first,
            last_name=last,
            gender=gender,
            birth_date=date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55)),
            email=self.email(first, last),
            mobile=self.mobile(country),
            country=country,
            address=self.address(country),
            previous_address=self.address(country),
        )
        self.place_in(person, self.providers_for(index))
        return person

    def providers_for(self, index: int) -> set[str]:
        # A guaranteed spread for small datasets, then random membership.
        fixed = [set(PROVIDERS), {"capillary", "twc"}, {"openloyalty", "martjack"}, {"capillary", "martjack"}]
        if index < len(fixed):
            return fixed[index]
        size = self.rng.choices([1, 2, 3, 4], weights=[30, 30, 20, 20])[0]
        return set(self.rng.sample(PROVIDERS, size))

    def place_in(self, person: Person, providers: set[str]) -> None:
        person.capillary = self.capillary(person) if "capillary" in providers else None
        person.martjack = self.martjack(person) if "martjack" in providers else None
        person.openloyalty = self.openloyalty(person) if "openloyalty" in providers else None
        person.twc = self.twc(person) if "twc" in providers else None
        if person.capillary and person.martjack:
            person.capillary.martjack_id = person.martjack.user_id
        if person.capillary and person.twc and self.rng.random() < 0.8:
            person.twc.customer_ref = person.capillary.external_id
        # A stale address: the system that was not told about the move keeps the old one.
        stale = [p for p in (person.twc, person.martjack) if p is not None]
        if len(person.providers) > 1 and stale and self.rng.random() < 0.2:
            part = self.rng.choice(stale)
            part.view = _replace_address(part.view, person.previous_address)
            if part.addresses:
                part.addresses[0] = person.previous_address

    # -- identifiers ------------------------------------------------------------------------------

    def email(self, first: str, last: str) -> str:
        base = f"{_ascii(first)}.{_ascii(last)}".lower()
        while True:
            email = f"{base}{self.rng.randrange(1, 999)}@{self.rng.choice(_EMAIL_DOMAINS)}"
            if email not in self.used_emails:
                self.used_emails.add(email)
                return email

    def mobile(self, country: str) -> str:
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None, country
        national = str(example.national_number)
        while True:
            tail = "".join(str(self.rng.randrange(10)) for _ in range(4))
            candidate = phonenumbers.PhoneNumber(
                country_code=example.country_code, national_number=int(national[:-4] + tail)
            )
            e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_valid_number(candidate) and e164 not in self.used_mobiles:
                self.used_mobiles.add(e164)
                return e164

    def address(self, country: str) -> Address:
        city, state, postcode = self.rng.choice(_PLACES[country])
        line2 = self.rng.choice(["", "", f"Flat {self.rng.randrange(1, 40)}"])
        return Address(
            f"{self.rng.randrange(1, 250)} {self.rng.choice(_STREETS)}", line2, city, state, postcode, country
        )

    def view(
        self, person: Person, *, email: str | None, mobile: str | None, address: Address | None, vary_names: bool
    ) -> ProviderView:
        first, last = person.first_name, person.last_name
        if vary_names and not self.exact_names and self.rng.random() < 0.15:
            if first in _NAME_VARIANTS and self.rng.random() < 0.6:
                first = _NAME_VARIANTS[first]
            elif last in _NAME_VARIANTS:
                last = _NAME_VARIANTS[last]
            else:
                last = last.upper()
        registered = datetime(2016, 1, 1, tzinfo=UTC) + timedelta(minutes=self.rng.randrange(0, 60 * 24 * 3000))
        return ProviderView(first, last, email, mobile, address, person.gender, person.birth_date, registered)

    def messy_email(self, email: str) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return email.title()
        if roll < 0.25:
            return f" {email} "
        return email

    # -- per provider -----------------------------------------------------------------------------

    def capillary(self, person: Person) -> CapillaryPart:
        rng = self.rng
        mobile = person.mobile.lstrip("+") if rng.random() < 0.9 else None  # Capillary keeps no plus sign
        view = self.view(person, email=person.email, mobile=mobile, address=person.address, vary_names=False)
        sources = ["INSTORE"]
        if rng.random() < 0.3:
            sources += rng.sample(_CAPILLARY_SOURCES[1:], rng.randrange(1, 3))
        programs = [self.capillary_program(*CAPILLARY_PROGRAMS[0])]
        if rng.random() < 0.25:
            programs.append(self.capillary_program(*CAPILLARY_PROGRAMS[1]))
        consents = [
            Consent(channel, kind, rng.random() < 0.7)
            for channel in ("SMS", "EMAIL")
            for kind in ("TRANSACTIONAL", "MARKETING")
            if rng.random() < 0.8
        ]
        part = CapillaryPart(
            view=view,
            customer_id=next(self.capillary_ids),
            external_id=f"EXT{rng.randrange(10**7, 10**8)}",
            sources=sources,
            wechat_id=f"wx_{rng.getrandbits(48):012x}" if "WECHAT" in sources else None,
            martjack_id=None,
            programs=programs,
            consents=consents,
        )
        if rng.random() < 0.1:
            points = rng.randrange(10, 500)
            part.victims.append(CapillaryVictim(next(self.capillary_ids), rng.choice(_CAPILLARY_SOURCES[1:]), points))
        return part

    def capillary_program(self, program_id: int, name: str, tiers: list[str]) -> LoyaltyBalance:
        rng = self.rng
        lifetime = rng.randrange(0, 20_000)
        redeemed = rng.randrange(0, lifetime + 1) // 2
        expired = rng.randrange(0, max(1, (lifetime - redeemed) // 4))
        tier_index = min(len(tiers) - 1, lifetime // 7_000)
        return LoyaltyBalance(
            program_id=program_id,
            program_name=name,
            points=lifetime - redeemed - expired,
            lifetime_points=lifetime,
            redeemed_points=redeemed,
            expired_points=expired,
            tier=tiers[tier_index],
            next_tier=tiers[tier_index + 1] if tier_index + 1 < len(tiers) else None,
            points_expiry=date(2027, 1, 1) + timedelta(days=rng.randrange(0, 700)),
        )

    def martjack(self, person: Person) -> MartjackPart:
        rng = self.rng
        user_name = person.email if rng.random() < 0.7 else person.mobile.lstrip("+")
        view = self.view(
            person, email=person.email, mobile=person.mobile.lstrip("+"), address=person.address, vary_names=True
        )
        return MartjackPart(
            view=view,
            user_id=self.uuid(),
            user_info_id=self.uuid(),
            user_name=user_name,
            password=f"Demo-{rng.randrange(10**5, 10**6)}",
            addresses=[person.address],
            receive_offers=rng.random() < 0.5,
        )

    def openloyalty(self, person: Person) -> OpenLoyaltyPart:
        rng = self.rng
        number = phonenumbers.parse(person.mobile)
        spaced = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        view = self.view(
            person,
            email=person.email if rng.random() < 0.9 else None,
            mobile=spaced,
            address=person.address,
            vary_names=True,
        )
        level, percent = rng.choice(_OL_LEVELS)
        card = f"{rng.randrange(10**11, 10**12)}" if rng.random() < 0.7 else None
        return OpenLoyaltyPart(
            view=view,
            customer_id=self.uuid(),
            loyalty_card_number=card,
            points=round(rng.uniform(0, 5_000), 2),
            level_name=level,
            level_percent=percent,
            marketing_email=rng.random() < 0.5,
            marketing_sms=rng.random() < 0.4,
        )

    def twc(self, person: Person) -> TwcPart:
        rng = self.rng
        mobile = person.mobile if rng.random() < 0.6 else None
        view = self.view(
            person, email=self.messy_email(person.email), mobile=mobile, address=person.address, vary_names=True
        )
        opted_in = rng.random() < 0.5
        return TwcPart(
            view=view,
            customer_id=self.uuid(),
            customer_ref=None,
            addresses=[person.address],
            accepts_marketing=opted_in,
            marketing_optin_level=rng.choice(["single_opt_in", "confirmed_opt_in"]) if opted_in else None,
        )


def _replace_address(view: ProviderView, address: Address) -> ProviderView:
    return replace(view, address=address)


def _has_name_variant(person: Person) -> bool:
    views = [getattr(person, p).view for p in person.providers]
    return any((v.first_name, v.last_name) != (person.first_name, person.last_name) for v in views)


def _has_stale_address(person: Person) -> bool:
    views = [getattr(person, p).view for p in person.providers]
    return any(v.address == person.previous_address for v in views)


def _ascii(name: str) -> str:
    table = str.maketrans("śńółęążźćŚŃÓŁĘĄŻŹĆ", "snolzazzcSNOLEAZZC")
    return "".join(ch for ch in name.translate(table) if ch.isalnum())
