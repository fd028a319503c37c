"""The TWC (The Wishlist Co) customer service behind the unified model.

TWC is a plain REST service (twc-customer-api.md): ``/api/v2/customers`` with a Keycloak Bearer token and an
``X-TWC-Tenant`` header, Spring error bodies and plain HTTP statuses. What shapes this connector:

- **Reads.** The customer object carries the profile, addresses and the marketing subscription, so one GET
  by id answers PROFILE, ADDRESSES and SUBSCRIPTIONS; there is no batch read, so ``get_records`` runs one GET
  per distinct id concurrently (the policy bounds how many). Find by Id answers a missing customer with a
  404 and no body (the document: "returns a Blank"; a 200 with an empty body is read the same way).
- **Lookups.** Search AND-matches its parameters and takes one value per parameter, so each e-mail or mobile
  is its own call; ``customerRef`` has its own endpoint. Matches are checked here on the normalised value.
- **Search** has no pagination and no free text: a word is looked up as a first name and as a last name,
  two words as first and last name, an e-mail or a phone number as such; the union is ordered by name and
  id and paginated here.
- **Writes.** Update is a PUT of the *whole* customer (what is left out is cleared), so every change other
  than create, add-address and delete is read-modify-write on the JSON as read (see ``wire.CustomerDocument``).
  TWC has no version or ETag: a change made by someone else between our read and our write is lost. Writes
  are never retried (``idempotent=False``), even the PUTs.
- **Merge** (emulated): the survivor's empty fields are filled from the victim, then the victim is deleted.
  Unique values (mobile, phone, customerRef, alternateCustomerRef) stay taken by a deleted customer, so the
  victim is first written without the values that move, and restored if the survivor's write then fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from customer_graph.connectors.base import (
    Capabilities,
    LookupSlot,
    Operation,
    RecordSlot,
    Support,
    per_key,
    unsupported,
)
from customer_graph.connectors.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnsupported,
)
from customer_graph.connectors.http import CallObserver, Policy, ProviderHttp, RateLimiter, status_error
from customer_graph.connectors.twc import mapper, wire
from customer_graph.connectors.twc.auth import TOKEN_PATH, TwcAuth
from customer_graph.connectors.twc.mapper import Changes
from customer_graph.connectors.twc.wire import CustomerDocument, CustomerList, SpringError, TwcCustomer
from customer_graph.domain.models import (
    AddressInput,
    CustomerDraft,
    Facet,
    Identifier,
    IdentifierKey,
    IdentifierType,
    MergeResult,
    ProfilePatch,
    Provider,
    ProviderRecord,
    SearchPage,
    SubscriptionInput,
    WriteResult,
)
from customer_graph.domain.normalise import InvalidIdentifier, normalise_phone, try_normalise

PROVIDER = Provider.TWC
CUSTOMERS = "/api/v2/customers"
SEARCH = "/api/v2/customers/search"


@dataclass(frozen=True)
class TwcConfig:
    """One TWC tenant. ``token_url`` defaults to Keycloak's endpoint for the tenant's realm under ``base_url``."""

    base_url: str
    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str | None = None

    def resolved_token_url(self) -> str:
        if self.token_url:
            return self.token_url
        return self.base_url.rstrip("/") + TOKEN_PATH.format(tenant=quote(self.tenant, safe=""))


# -- error rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorRule:
    """A 4xx whose Spring ``message`` matches ``pattern`` is refused with ``code``."""

    status: int
    pattern: re.Pattern[str] | None
    code: str


def _rule(status: int, pattern: str | None, code: str) -> ErrorRule:
    return ErrorRule(status, re.compile(pattern, re.IGNORECASE) if pattern else None, code)


# 401/403/404/429/5xx are plain HTTP (``status_error``); these name TWC's business refusals. The codes are
# ours (TWC has none): fixed text, so a message never carries the provider's wording or a value.
ERROR_RULES: tuple[ErrorRule, ...] = (
    _rule(400, r"customer with this email already exists", "DUPLICATE_EMAIL"),
    _rule(400, r"customer with this mobile already exists", "DUPLICATE_MOBILE"),
    _rule(400, r"customer with this phone already exists", "DUPLICATE_PHONE"),
    _rule(400, r"customer with this customerRef already exists", "DUPLICATE_CUSTOMER_REF"),
    _rule(400, r"customer with this alternateCustomerRef already exists", "DUPLICATE_ALTERNATE_REF"),
    _rule(400, r"already exists", "DUPLICATE"),
    _rule(400, r"email is mandatory", "EMAIL_REQUIRED"),
    _rule(400, r"id or customerRef is required", "ID_REQUIRED"),
    _rule(400, r"parse error|invalid|must be", "INVALID_INPUT"),
    _rule(405, None, "INVALID_INPUT"),  # the document: "405 Invalid input"
)
_PLAIN_STATUSES = frozenset({401, 403, 404, 429})


def classify(response: httpx.Response, operation: str) -> ProviderError | None:
    status = response.status_code
    if status < 400:
        return None
    if status in _PLAIN_STATUSES or status >= 500:
        return status_error(PROVIDER, operation, response)
    message = _spring_message(response)
    for rule in ERROR_RULES:
        if rule.status == status and (rule.pattern is None or (message and rule.pattern.search(message))):
            return ProviderRejected(PROVIDER, operation, provider_code=rule.code, status=status)
    return status_error(PROVIDER, operation, response)


def _spring_message(response: httpx.Response) -> str | None:
    try:
        return SpringError.model_validate_json(response.content).message
    except ValidationError:
        return None


# -- the connector ----------------------------------------------------------------------------------

CAPABILITIES: Capabilities = MappingProxyType(
    {
        Operation.GET_RECORDS: Support.NATIVE,  # Find Customer by Id, one call per id
        Operation.FIND_BY_IDENTIFIER: Support.NATIVE,  # search by email / mobile, Find Customer by Ref
        Operation.SEARCH: Support.EMULATED,  # name look-ups, paginated here
        Operation.ADDRESSES: Support.NATIVE,  # with the customer
        Operation.SUBSCRIPTIONS: Support.NATIVE,  # accepts_marketing, with the customer
        Operation.LOYALTY: Support.UNSUPPORTED,
        Operation.CREATE: Support.NATIVE,  # POST /api/v2/customers
        Operation.UPDATE_PROFILE: Support.EMULATED,  # read, modify, PUT the whole object
        Operation.ADD_IDENTIFIER: Support.EMULATED,  # email / mobile via PUT
        Operation.REMOVE_IDENTIFIER: Support.EMULATED,
        Operation.UPSERT_ADDRESS: Support.EMULATED,  # POST .../address adds; a change is a PUT of the whole object
        Operation.REMOVE_ADDRESS: Support.EMULATED,  # PUT of the whole object
        Operation.SET_SUBSCRIPTIONS: Support.EMULATED,  # accepts_marketing / marketing_optin_level via PUT
        Operation.ENROLL_LOYALTY: Support.UNSUPPORTED,
        Operation.MERGE: Support.EMULATED,  # copy missing fields to the survivor, delete the victim
        Operation.SET_STATUS: Support.EMULATED,  # active via PUT
        Operation.ERASE: Support.NATIVE,  # DELETE /api/v2/customers/{id} (TWC marks the customer deleted)
    }
)
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{6,}")


class TwcConnector:
    """TWC customers in domain terms; see the module docstring for how each operation is done."""

    provider = PROVIDER
    capabilities: Capabilities = CAPABILITIES
    lookup_types = frozenset({IdentifierType.EMAIL, IdentifierType.MOBILE, IdentifierType.CUSTOMER_REF})
    record_facets = mapper.RECORD_FACETS
    create_requires: tuple[tuple[str, ...], ...] = (("email",),)

    def __init__(
        self,
        config: TwcConfig,
        policy: Policy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.auth = TwcAuth(config.resolved_token_url(), config.tenant, config.client_id, config.client_secret)
        self.http = ProviderHttp.create(
            PROVIDER,
            config.base_url,
            policy,
            auth=self.auth,
            transport=transport,
            classify=classify,
            observer=observer,
            limiter=limiter,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- reads ----------------------------------------------------------------------------------------

    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]:
        # Every facet TWC has comes with the customer: ``facets`` asks for nothing that needs another call.
        return await per_key(record_ids, self._record_slot)

    async def find_by_identifiers(self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]) -> list[LookupSlot]:
        return await per_key(keys, self._lookup_slot)

    async def search(self, text: str, offset: int, limit: int) -> SearchPage:
        offset, limit = max(0, offset), max(0, limit)
        criteria = _search_criteria(text)
        found: dict[str, TwcCustomer] = {}
        for customers in await asyncio.gather(*(self._search(Operation.SEARCH, c) for c in criteria)):
            for customer in customers:
                found.setdefault(customer.id, customer)
        ordered = sorted(found.values(), key=_name_order)
        records = tuple(self._record(c) for c in ordered[offset : offset + limit])
        return SearchPage(records=records, total=len(ordered), offset=offset, limit=limit)

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, draft: CustomerDraft) -> WriteResult:
        operation = Operation.CREATE
        try:
            body, ignored = mapper.draft_to_wire(draft)
        except InvalidIdentifier as exc:
            raise _invalid(operation, exc) from None
        except ValueError:
            raise ProviderRejected(PROVIDER, operation.value, provider_code="EMAIL_REQUIRED") from None
        response = await self.http.request(operation.value, "POST", CUSTOMERS, idempotent=False, json=body.body())
        created = self._document(response, operation)
        return WriteResult("createCustomer", self._record(created.customer), mapper.details(ignored))

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult:
        return await self._rewrite(
            Operation.UPDATE_PROFILE, record_id, lambda document: mapper.profile_changes(patch, document)
        )

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        operation = Operation.ADD_IDENTIFIER
        name = self._identifier_field(operation, identifier.type)
        try:
            value = mapper.identifier_value_to_wire(identifier)
        except InvalidIdentifier as exc:
            raise _invalid(operation, exc) from None

        def change(document: CustomerDocument) -> Changes:
            # TWC holds one value per type: adding one replaces what was there.
            if mapper.held_identifier(document.customer, identifier.type) == value:
                return Changes({})
            return Changes({name: value})

        return await self._rewrite(operation, record_id, change)

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        operation = Operation.REMOVE_IDENTIFIER
        name = self._identifier_field(operation, identifier.type)
        wanted = try_normalise(identifier.type, identifier.value) or identifier.value

        def change(document: CustomerDocument) -> Changes:
            # Only the value named is removed; a record holding another one (or none) is left as it is, so
            # that the second half of an e-mail change (add the new one, which replaces it here; remove
            # the old one) has nothing left to do at TWC.
            if mapper.held_identifier(document.customer, identifier.type) != wanted:
                return Changes({})
            if identifier.type is IdentifierType.EMAIL:  # TWC's one mandatory field cannot be emptied
                raise ProviderRejected(PROVIDER, operation.value, provider_code="EMAIL_REQUIRED")
            return Changes({name: None})

        return await self._rewrite(operation, record_id, change)

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult:
        operation = Operation.UPSERT_ADDRESS
        if address.id is None:
            body = mapper.address_input_to_wire(address).body()
            response = await self.http.request(
                operation.value, "POST", f"{_customer_path(record_id)}/address", idempotent=False, json=body
            )
            saved = self._document(response, operation)
            return WriteResult("addCustomerAddress", self._record(saved.customer))
        target = address.id
        write = mapper.address_input_to_wire(address)

        def change(document: CustomerDocument) -> Changes:
            addresses = document.raw_addresses()
            if all(wire.address_id(a) != target for a in addresses):
                raise ProviderNotFound(PROVIDER, operation.value, detail="no such address")
            fields: dict[str, Any] = {
                wire.ADDRESSES: [wire.address_with(a, write) if wire.address_id(a) == target else a for a in addresses],
            }
            default = document.raw_default_address()
            if default is not None and wire.address_id(default) == target:
                fields[wire.DEFAULT_ADDRESS] = wire.address_with(default, write)
            return Changes(fields)

        return await self._rewrite(operation, record_id, change)

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult:
        operation = Operation.REMOVE_ADDRESS

        def change(document: CustomerDocument) -> Changes:
            addresses = document.raw_addresses()
            kept = [a for a in addresses if wire.address_id(a) != address_id]
            if len(kept) == len(addresses):
                return Changes({})  # not there (already removed): nothing to do
            fields: dict[str, Any] = {wire.ADDRESSES: kept}
            default = document.raw_default_address()
            if default is not None and wire.address_id(default) == address_id:
                fields[wire.DEFAULT_ADDRESS] = None
            return Changes(fields)

        return await self._rewrite(operation, record_id, change)

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult:
        operation = Operation.SET_SUBSCRIPTIONS
        if not subscriptions:
            return WriteResult("unchanged", changed=False)
        if not any((s.channel, s.kind) == mapper.EMAIL_MARKETING for s in subscriptions):
            raise ProviderUnsupported(PROVIDER, operation.value, detail="TWC holds email marketing only")
        return await self._rewrite(
            operation, record_id, lambda document: mapper.subscription_changes(document.customer, subscriptions)
        )

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult:
        raise unsupported(PROVIDER, Operation.ENROLL_LOYALTY)

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult:
        operation = Operation.MERGE
        if survivor_id == victim_id:
            raise ProviderRejected(PROVIDER, operation.value, provider_code="SAME_RECORD")
        survivor, victim = await _all(self._read(survivor_id, operation), self._read(victim_id, operation))
        changes = mapper.merge_changes(survivor, victim)
        moved = [name for name in wire.MOVABLE_UNIQUE if name in changes.fields]
        if moved:
            await self._put(operation, victim.body(mapper.release_changes(moved).fields))
        if changes.fields:
            try:
                await self._put(operation, survivor.body(changes.fields))
            except ProviderError:
                if moved:
                    await self._restore(operation, victim)
                raise
        await self.http.request(operation.value, "DELETE", _customer_path(victim_id), idempotent=False)
        return MergeResult(
            survivor_id=survivor_id, victim_id=victim_id, operation="copy missing fields to survivor, delete victim"
        )

    async def set_status(self, record_id: str, active: bool) -> WriteResult:
        return await self._rewrite(Operation.SET_STATUS, record_id, lambda _: mapper.status_changes(active))

    async def erase(self, record_id: str) -> WriteResult:
        operation = Operation.ERASE
        if not record_id.strip():
            raise ProviderNotFound(PROVIDER, operation.value)
        # TWC answers 204 whether or not the customer existed, and only marks it deleted.
        await self.http.request(operation.value, "DELETE", _customer_path(record_id), idempotent=False)
        return WriteResult("deleteCustomer", None, {"effect": "customer marked deleted"})

    # -- internals --------------------------------------------------------------------------------------

    async def _record_slot(self, record_id: str) -> RecordSlot:
        try:
            document = await self._read(record_id, Operation.GET_RECORDS)
        except ProviderError as exc:
            return exc
        return self._record(document.customer)

    async def _lookup_slot(self, key: IdentifierKey) -> LookupSlot:
        if key.type not in self.lookup_types:
            return ProviderUnsupported(
                PROVIDER, Operation.FIND_BY_IDENTIFIER.value, detail=f"no lookup by {key.type.value}"
            )
        try:
            return await self._lookup(key)
        except ProviderError as exc:
            return exc

    async def _lookup(self, key: IdentifierKey) -> ProviderRecord | None:
        operation = Operation.FIND_BY_IDENTIFIER
        wanted = try_normalise(key.type, key.value) or key.value.strip()
        if not wanted:
            return None
        if key.type is IdentifierType.CUSTOMER_REF:
            try:
                response = await self.http.request(
                    operation.value, "GET", f"{_customer_path(wanted)}/ref", idempotent=True
                )
            except ProviderNotFound:
                return None
            candidates = [self._document(response, operation).customer]
        else:
            name = mapper.identifier_field(key.type)
            assert name is not None
            candidates = await self._search(operation, {name: wanted})
        # Trust only an exact match on the normalised value, whatever the provider's matching rules.
        match = next((c for c in candidates if mapper.held_identifier(c, key.type) == wanted), None)
        return self._record(match) if match is not None else None

    async def _search(self, operation: Operation, criteria: dict[str, str]) -> list[TwcCustomer]:
        response = await self.http.request(operation.value, "GET", SEARCH, idempotent=True, params=criteria)
        return self.http.parse(response, CustomerList, operation.value).root

    async def _read(self, record_id: str, operation: Operation) -> CustomerDocument:
        if not record_id.strip():
            raise ProviderNotFound(PROVIDER, operation.value)
        response = await self.http.request(operation.value, "GET", _customer_path(record_id), idempotent=True)
        if not response.content.strip():  # "If the customer does not exist, this method returns a Blank."
            raise ProviderNotFound(PROVIDER, operation.value, status=response.status_code)
        return self._document(response, operation)

    async def _put(self, operation: Operation, body: dict[str, Any]) -> CustomerDocument:
        response = await self.http.request(operation.value, "PUT", CUSTOMERS, idempotent=False, json=body)
        return self._document(response, operation)

    async def _rewrite(
        self, operation: Operation, record_id: str, change: Callable[[CustomerDocument], Changes]
    ) -> WriteResult:
        """Read the whole customer, apply ``change``, PUT it back (or nothing, when nothing changes)."""
        document = await self._read(record_id, operation)
        changes = change(document)
        if not mapper.changed(document, changes.fields):
            return WriteResult(
                "unchanged", self._record(document.customer), mapper.details(changes.ignored), changed=False
            )
        saved = await self._put(operation, document.body(changes.fields))
        return WriteResult("updateCustomer", self._record(saved.customer), mapper.details(changes.ignored))

    async def _restore(self, operation: Operation, document: CustomerDocument) -> None:
        """Put a customer back as it was read; best effort, the error that made us do it is the one raised."""
        with contextlib.suppress(ProviderError):
            await self._put(operation, document.body())

    def _document(self, response: httpx.Response, operation: Operation) -> CustomerDocument:
        payload = self.http.json(response, operation.value)
        try:
            return CustomerDocument.parse(payload)
        except ValidationError as exc:
            raise ProviderProtocolError(PROVIDER, operation.value, status=response.status_code) from exc

    def _record(self, customer: TwcCustomer) -> ProviderRecord:
        return mapper.customer_to_record(customer, fetched_at=datetime.now(UTC), tenant=self.config.tenant)

    def _identifier_field(self, operation: Operation, identifier_type: IdentifierType) -> str:
        name = mapper.identifier_field(identifier_type)
        if name is None:
            raise ProviderUnsupported(PROVIDER, operation.value, detail=f"no {identifier_type.value} at TWC")
        return name


def _customer_path(record_id: str) -> str:
    return f"{CUSTOMERS}/{quote(record_id.strip(), safe='')}"


def _invalid(operation: Operation, exc: InvalidIdentifier) -> ProviderRejected:
    return ProviderRejected(PROVIDER, operation.value, provider_code=f"INVALID_{exc.identifier_type.value}")


def _search_criteria(text: str) -> list[dict[str, str]]:
    """The look-ups that answer a search text (TWC AND-matches the parameters of one call)."""
    text = " ".join(text.split())
    if not text:
        return []
    if "@" in text:
        return [{wire.EMAIL: text.lower()}]
    if _PHONE_LIKE.fullmatch(text):
        try:
            number = normalise_phone(text)
        except InvalidIdentifier:
            number = text
        return [{wire.MOBILE: number}, {wire.PHONE: number}]
    first, _, rest = text.partition(" ")
    if rest:
        return [{wire.FIRST_NAME: first, wire.LAST_NAME: rest}]
    return [{wire.FIRST_NAME: text}, {wire.LAST_NAME: text}]


def _name_order(customer: TwcCustomer) -> tuple[str, str, str]:
    return ((customer.last_name or "").strip().lower(), (customer.first_name or "").strip().lower(), customer.id)


async def _all(*calls: Awaitable[CustomerDocument]) -> list[CustomerDocument]:
    """Run reads together; the first failure is raised once all have finished (none is left running)."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, CustomerDocument)]
