"""Open Loyalty behind the :class:`~customer_graph.connectors.base.Connector` protocol.

Endpoints (openloyalty-customer-api.md), all under ``/api/{storeCode}`` with the admin JWT (``auth.py``):

    read      GET  customer/{id}                    PROFILE, ADDRESSES, SUBSCRIPTIONS come with the customer
              GET  admin/customer/{id}/status       LOYALTY: one more call per customer, only when asked
              GET  admin/customer?...&strict=1     lookups by email / phone / loyaltyCardNumber
              GET  admin/customer?page=&perPage=   search (substring filters, sorted by customerId)
    write     POST admin/customer/register          form-encoded ``customer[field]``
              PUT  customer/{id}                    partial: omitted fields untouched, empty ones erased;
                                                    the address is replaced whole (a change of some of
                                                    its parts reads the customer first)
              POST customer/{id}/level              manual level ("enrolment")
              POST admin/customer/{id}/activate | deactivate | anonymize

Open Loyalty has no batch read by ids: ``get_records`` runs single GETs concurrently (the policy bounds them).
The strict list filters AND-match, so lookups are one call per key, also concurrent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import ValidationError

from customer_graph.connectors.base import (
    Capabilities,
    LookupSlot,
    Operation,
    RecordSlot,
    Support,
    per_key,
)
from customer_graph.connectors.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnsupported,
)
from customer_graph.connectors.http import CallObserver, Policy, ProviderHttp, RateLimiter, status_error
from customer_graph.domain.models import (
    AddressInput,
    AddressPatch,
    CustomerDraft,
    Facet,
    Identifier,
    IdentifierKey,
    MergeResult,
    ProfilePatch,
    ProviderRecord,
    SearchPage,
    SubscriptionInput,
    WriteResult,
)

from . import mapper, wire
from .auth import OpenLoyaltyAuth
from .mapper import ADDRESS_ID, LOOKUP_TYPES, PROVIDER, RECORD_FACETS, MapSettings

T = TypeVar("T")

# design.md, "Write semantics per provider", Open Loyalty column.
CAPABILITIES: Capabilities = {
    Operation.GET_RECORDS: Support.NATIVE,
    Operation.FIND_BY_IDENTIFIER: Support.NATIVE,  # strict list filters: email, phone, loyaltyCardNumber
    Operation.SEARCH: Support.NATIVE,
    Operation.ADDRESSES: Support.NATIVE,  # with the customer
    Operation.SUBSCRIPTIONS: Support.NATIVE,  # agreement2 / agreement3, with the customer
    Operation.LOYALTY: Support.NATIVE,  # the status call
    Operation.CREATE: Support.NATIVE,
    Operation.UPDATE_PROFILE: Support.NATIVE,  # partial PUT
    # One slot per type, set or erased through the profile PUT; a removal reads first to erase only that value.
    Operation.ADD_IDENTIFIER: Support.EMULATED,
    Operation.REMOVE_IDENTIFIER: Support.EMULATED,
    # One address, a field of the customer replaced whole by the profile PUT: no address endpoint.
    Operation.UPSERT_ADDRESS: Support.EMULATED,
    Operation.REMOVE_ADDRESS: Support.EMULATED,
    Operation.SET_SUBSCRIPTIONS: Support.NATIVE,  # the consents are plain fields of the PUT
    # No enrolment: every customer is in the store's program; "enrol" assigns a level manually.
    Operation.ENROLL_LOYALTY: Support.EMULATED,
    Operation.MERGE: Support.EMULATED,  # no merge: the victim is deactivated
    Operation.SET_STATUS: Support.NATIVE,
    Operation.ERASE: Support.NATIVE,  # anonymize
}


@dataclass(frozen=True)
class OpenLoyaltyConfig:
    """One Open Loyalty store, reached with admin credentials (``login_check``)."""

    base_url: str
    username: str
    password: str = field(repr=False)
    store_code: str = "DEFAULT"
    program_name: str = "Open Loyalty"
    # Region for phones stored without a country code (e.g. "PL"); None reads bare digits as international.
    phone_region: str | None = None


def classify(response: httpx.Response, operation: str) -> ProviderError | None:
    """Open Loyalty's error rules: plain HTTP statuses (401/403 auth, 404, 429, 5xx), and a 400 that is a
    Symfony form (``provider_code`` names the fields in error and why, never their values)."""
    if response.status_code == 400:
        return ProviderRejected(PROVIDER, operation, provider_code=_bad_request_code(response), status=400)
    return status_error(PROVIDER, operation, response)


def _bad_request_code(response: httpx.Response) -> str:
    try:
        return mapper.form_error_code(wire.FormErrorBody.model_validate(orjson.loads(response.content)))
    except (orjson.JSONDecodeError, ValidationError):
        return "bad_request"


class OpenLoyaltyConnector:
    provider = PROVIDER
    capabilities: Capabilities = CAPABILITIES
    lookup_types = LOOKUP_TYPES
    record_facets = RECORD_FACETS
    create_requires: tuple[tuple[str, ...], ...] = (("first_name",), ("last_name",), ("email",))

    def __init__(
        self,
        config: OpenLoyaltyConfig,
        policy: Policy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.settings = MapSettings(config.store_code, config.program_name, config.phone_region)
        self.auth = OpenLoyaltyAuth(config.base_url, config.username, config.password)
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
        self._store = f"/api/{quote(config.store_code, safe='')}"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- paths -----------------------------------------------------------------------------------------

    def _customer_path(self, record_id: str) -> str:
        return f"{self._store}/customer/{quote(record_id, safe='')}"

    def _admin_path(self, record_id: str, action: str) -> str:
        return f"{self._store}/admin/customer/{quote(record_id, safe='')}/{action}"

    # -- reads -----------------------------------------------------------------------------------------

    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]:
        return await per_key(record_ids, lambda record_id: _slot(self._read(record_id, facets, Operation.GET_RECORDS)))

    async def find_by_identifiers(self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]) -> list[LookupSlot]:
        return await per_key(keys, lambda key: _slot(self._find(key, facets)))

    async def search(self, text: str, offset: int, limit: int) -> SearchPage:
        offset = max(0, offset)
        if limit <= 0:
            return SearchPage((), None, offset, limit)
        params = {**mapper.search_filters(text), "strict": "0", "sort": "customerId", "direction": "ASC"}
        window = mapper.page_window(offset, limit)
        if window is not None:
            page, size, skip = window
            listing = await self._list(Operation.SEARCH, params, page, size)
            customers, total = listing.customers[skip : skip + limit], listing.total
        else:
            first = offset // limit + 1
            pages = await asyncio.gather(
                *(self._list(Operation.SEARCH, params, page, limit) for page in (first, first + 1))
            )
            rows = [c for listing in pages for c in listing.customers]
            start = offset - (first - 1) * limit
            customers, total = rows[start : start + limit], pages[0].total
        fetched_at = datetime.now(UTC)
        records = tuple(mapper.record_from_customer(c, self.settings, fetched_at) for c in customers)
        return SearchPage(records, total, offset, limit)

    async def _read(self, record_id: str, facets: frozenset[Facet], operation: Operation) -> ProviderRecord:
        """One record with what ``facets`` needs: the customer, its status, or both at once."""
        if not record_id.strip():
            raise ProviderNotFound(PROVIDER, operation.value, detail="empty id")
        wants_customer = not facets or bool(facets & RECORD_FACETS)
        wants_loyalty = Facet.LOYALTY in facets
        if not wants_customer:
            status = await self._status(record_id)
            return mapper.record_from_status(record_id, status, self.settings, datetime.now(UTC))
        if not wants_loyalty:
            return await self._customer(record_id, operation)
        customer, status = await _both(self._customer(record_id, operation), self._status(record_id))
        return mapper.with_loyalty(customer, status, self.settings)

    async def _customer(self, record_id: str, operation: Operation) -> ProviderRecord:
        customer = await self._customer_wire(record_id, operation)
        return mapper.record_from_customer(customer, self.settings, datetime.now(UTC))

    async def _customer_wire(self, record_id: str, operation: Operation) -> wire.Customer:
        response = await self.http.request(operation.value, "GET", self._customer_path(record_id), idempotent=True)
        return self.http.parse(response, wire.Customer, operation.value)

    async def _status(self, record_id: str) -> wire.CustomerStatus:
        operation = Operation.LOYALTY.value
        response = await self.http.request(operation, "GET", self._admin_path(record_id, "status"), idempotent=True)
        return self.http.parse(response, wire.CustomerStatus, operation)

    async def _list(self, operation: Operation, params: dict[str, str], page: int, per_page: int) -> wire.CustomerList:
        response = await self.http.request(
            operation.value,
            "GET",
            f"{self._store}/admin/customer",
            idempotent=True,
            params={**params, "page": str(page), "perPage": str(per_page)},
        )
        return self.http.parse(response, wire.CustomerList, operation.value)

    async def _find(self, key: IdentifierKey, facets: frozenset[Facet]) -> ProviderRecord | None:
        filters = mapper.lookup_filter(key)
        if filters is None:
            return None  # Open Loyalty holds no identifier of this type: nobody has it here
        listing = await self._list(Operation.FIND_BY_IDENTIFIER, filters, 1, 10)
        fetched_at = datetime.now(UTC)
        records = (mapper.record_from_customer(c, self.settings, fetched_at) for c in listing.customers)
        found = next((record for record in records if mapper.matches(record, key)), None)
        if found is not None and Facet.LOYALTY in facets:
            found = mapper.with_loyalty(found, await self._status(found.record_id), self.settings)
        return found

    # -- writes ----------------------------------------------------------------------------------------

    async def create(self, draft: CustomerDraft) -> WriteResult:
        operation = Operation.CREATE.value
        response = await self.http.request(
            operation,
            "POST",
            f"{self._store}/admin/customer/register",
            idempotent=False,
            data=mapper.register_form(draft),
        )
        registered = self.http.parse(response, wire.Registered, operation)
        details = {"record_id": registered.customer_id}
        ignored = [name for name in ("external_id", "username", "password", "source") if getattr(draft, name)]
        if ignored:
            details["ignored"] = ",".join(ignored)
        if not_held := _not_held(draft.subscriptions):
            details["not_held"] = not_held
        return WriteResult("register", await self._read_back(registered.customer_id), details)

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult:
        operation = Operation.UPDATE_PROFILE
        form = mapper.profile_form(patch)
        if isinstance(patch.address, AddressPatch):
            # The address is replaced whole: a change of some parts is sent with the others as they are now.
            held = await self._customer_wire(record_id, operation)
            form |= mapper.address_patch_form(held.address, patch.address)
        if not form:
            return WriteResult("none", await self._read(record_id, RECORD_FACETS, operation), changed=False)
        await self._put(operation, record_id, form)
        return WriteResult("update customer", await self._read_back(record_id))

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        form = mapper.identifier_form(identifier.type, identifier.value)
        if form is None:
            raise ProviderUnsupported(
                PROVIDER, Operation.ADD_IDENTIFIER.value, detail=f"no {identifier.type.value} identifier"
            )
        # One slot per type: setting it replaces the value held before, if any.
        await self._put(Operation.ADD_IDENTIFIER, record_id, form)
        return WriteResult(f"set {identifier.type.value}", await self._read_back(record_id))

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        operation = Operation.REMOVE_IDENTIFIER
        form = mapper.identifier_form(identifier.type, None)
        if form is None:
            raise ProviderUnsupported(PROVIDER, operation.value, detail=f"no {identifier.type.value} identifier")
        # Read first: erasing the field blindly would erase whatever value it holds now.
        current = await self._read(record_id, RECORD_FACETS, operation)
        if mapper.identifier_of(current, identifier.type) != identifier.value:
            return WriteResult("none", current, changed=False)
        await self._put(operation, record_id, form)
        return WriteResult(f"erase {identifier.type.value}", await self._read_back(record_id))

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult:
        # The address is replaced whole, and the input is a whole address: one PUT, nothing to read first.
        await self._put(Operation.UPSERT_ADDRESS, record_id, mapper.address_form(address))
        return WriteResult("replace address", await self._read_back(record_id))

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult:
        operation = Operation.REMOVE_ADDRESS
        if address_id != ADDRESS_ID:
            raise ProviderNotFound(PROVIDER, operation.value, detail="no such address")
        await self._put(operation, record_id, mapper.address_form(None))
        return WriteResult("erase address", await self._read_back(record_id))

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult:
        operation = Operation.SET_SUBSCRIPTIONS
        form = mapper.agreements_form(subscriptions)
        not_held = _not_held(subscriptions)
        if not form:
            if not_held:
                raise ProviderUnsupported(PROVIDER, operation.value, detail="no such consent")
            return WriteResult("none", await self._read(record_id, RECORD_FACETS, operation), changed=False)
        await self._put(operation, record_id, form)
        return WriteResult(
            "update consents", await self._read_back(record_id), {"not_held": not_held} if not_held else {}
        )

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult:
        """Open Loyalty has one program per store, joined at registration, and no enrolment call.

        ``program_id`` is either that program (the store code: nothing to do, the record is read and
        returned) or a level id, to which the customer is assigned manually (``POST customer/{id}/level``).
        """
        operation = Operation.ENROLL_LOYALTY
        facets = RECORD_FACETS | {Facet.LOYALTY}
        if program_id == self.config.store_code:
            return WriteResult("none", await self._read(record_id, facets, operation), changed=False)
        await self.http.request(
            operation.value,
            "POST",
            f"{self._customer_path(record_id)}/level",
            idempotent=False,
            data={"levelId": program_id},
        )
        return WriteResult("assign level", await self._read_back(record_id, facets))

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult:
        """No merge in Open Loyalty: both records must exist, then the victim is deactivated (reversible,
        unlike anonymize, and its points and history stay for a person to move by hand)."""
        operation = Operation.MERGE
        if survivor_id == victim_id:
            raise ProviderRejected(PROVIDER, operation.value, detail="survivor and victim are the same record")
        for slot in await self.get_records([survivor_id, victim_id], RECORD_FACETS):
            if isinstance(slot, ProviderError):
                raise slot
        await self.http.request(operation.value, "POST", self._admin_path(victim_id, "deactivate"), idempotent=False)
        return MergeResult(survivor_id, victim_id, "deactivate victim")

    async def set_status(self, record_id: str, active: bool) -> WriteResult:
        action = "activate" if active else "deactivate"
        await self.http.request(
            Operation.SET_STATUS.value, "POST", self._admin_path(record_id, action), idempotent=False
        )
        return WriteResult(action, await self._read_back(record_id))

    async def erase(self, record_id: str) -> WriteResult:
        await self.http.request(
            Operation.ERASE.value, "POST", self._admin_path(record_id, "anonymize"), idempotent=False
        )
        return WriteResult("anonymize", await self._read_back(record_id))

    async def _put(self, operation: Operation, record_id: str, form: dict[str, str]) -> None:
        await self.http.request(operation.value, "PUT", self._customer_path(record_id), idempotent=False, data=form)

    async def _read_back(self, record_id: str, facets: frozenset[Facet] = RECORD_FACETS) -> ProviderRecord | None:
        """The record after a write (Open Loyalty's PUT answers only the id). The write has happened: a read
        that fails now must not turn it into a failure that a caller would retry, so it yields None."""
        try:
            return await self._read(record_id, facets, Operation.GET_RECORDS)
        except ProviderError:
            return None


def _not_held(subscriptions: Sequence[SubscriptionInput]) -> str:
    """The (channel, kind) pairs Open Loyalty has no consent for, as ``EMAIL:TRANSACTIONAL,...``."""
    pairs = (
        f"{s.channel.value}:{s.kind.value}" for s in subscriptions if mapper.agreement_field(s.channel, s.kind) is None
    )
    return ",".join(dict.fromkeys(pairs))


async def _slot(call: Awaitable[T]) -> T | ProviderError:
    """A batch slot: the result, or the provider error for this key alone."""
    try:
        return await call
    except ProviderError as exc:
        return exc


async def _both(
    customer: Awaitable[ProviderRecord], status: Awaitable[wire.CustomerStatus]
) -> tuple[ProviderRecord, wire.CustomerStatus]:
    """Both calls at once; the customer's error (a 404 first of all) wins over the status call's."""
    record, loyalty = await asyncio.gather(customer, status, return_exceptions=True)
    if isinstance(record, BaseException):
        raise record
    if isinstance(loyalty, BaseException):
        raise loyalty
    return record, loyalty
