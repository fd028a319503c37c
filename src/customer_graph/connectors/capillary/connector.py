"""The Capillary v2 connector: customers, identifiers, subscriptions and loyalty over ``/v2/customers``.

What it does with Capillary's semantics (design.md, "Write semantics per provider"):

- Reads: ``GET /v2/customers/{id}?source=ALL&embed=...`` per record, concurrently (Capillary has no batch get);
  ``embed`` holds ``subscriptions`` and ``points,mlp`` only when SUBSCRIPTIONS or LOYALTY are asked. A merge
  victim answers 8069: its survivor is the ``userId`` of its APPROVED MERGE change request
  (``GET /v2/customers/{id}/retroRequest?changeType=MERGE``), and the survivor is returned with
  ``requested_id`` set to the victim.
- Lookups: ``GET /v2/customers/lookup?source=ALL&identifierName=&identifierValue=`` per key, then one read per
  customer found; a match is kept only if the record holds the exact normalised identifier.
- Create: ``POST /v2/customers?source=``. When an identifier already belongs to a customer of another source
  Capillary adds the new profile to that customer (warning 8050): the result is that existing customer, and
  ``details`` says so.
- Update profile: ``PUT /v2/customers/{id}?source=`` (identifiers cannot change there; loyalty cannot be
  turned off, and we never try); address parts in the patch go to their extended fields, only those changed.
- Identifiers: ``POST /v2/customers/{id}/changeIdentifier`` ``{add}`` / ``{remove}``; an added identifier that
  another customer holds in another source merges the two (8051 names the survivor; ``details`` reports it).
- Addresses (EMULATED): Capillary has no address object. One address lives in the extended fields ``city``,
  ``state``, ``zip``, ``country_of_residence`` and, when ``address_line_field`` names one, a street custom field;
  an upsert replaces it whole through Update Customer Details, a removal blanks it.
- Subscriptions: ``POST /v2/customers/{id}/subscriptions`` OPTIN/OPTOUT x TRANS/BULK x channel (SMS is written
  ``MOBILE``, PUSH as ``ANDROID`` and ``IOS``); WhatsApp is not a Capillary channel.
- Loyalty enrolment: ``loyaltyProgramEnrollments`` in an Update Customer Details body.
- Merge (NATIVE): one of the victim's identifiers is added to the survivor with changeIdentifier, in a source
  where the victim does not hold it. Capillary, not the caller, decides which account survives (the older
  one): the :class:`MergeResult` reports the accounts as Capillary merged them.
- Status (UNSUPPORTED): Capillary's only status is a ``statusLabel`` that Register accepts, whose meaning is
  org configuration; no v2 customer endpoint changes it on an existing customer or reads it back, so
  "deactivate" can neither be done nor verified.
- Erase (UNSUPPORTED): Capillary offers no GDPR erasure through this API.

Writes are sent once (``idempotent=False``) and then read back, so that a ``WriteResult`` holds the record as
it stands; a read-back that fails leaves the write applied, with ``details["readBack"]`` saying so.
Updates go to the configured ``source`` (and ``account_id``): a customer without a profile there answers 8065.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import httpx

from customer_graph.connectors.base import (
    Capabilities,
    LookupSlot,
    Operation,
    RecordSlot,
    Support,
    per_key,
    unsupported,
)
from customer_graph.connectors.capillary import mapper
from customer_graph.connectors.capillary.auth import Credentials, build_auth
from customer_graph.connectors.capillary.rules import MergedAccount, classify
from customer_graph.connectors.capillary.wire import (
    ChangeIdentifierResponse,
    ChangeRequestsResponse,
    CustomerWire,
    LookupResponse,
    Message,
    RegisterResponse,
    SearchResponse,
    SubscriptionsResponse,
    UpdateResponse,
)
from customer_graph.connectors.errors import (
    ProviderError,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnsupported,
)
from customer_graph.connectors.http import CallObserver, Policy, ProviderHttp, RateLimiter
from customer_graph.domain.models import (
    AddressInput,
    CustomerDraft,
    Facet,
    Identifier,
    IdentifierKey,
    MergeResult,
    ProfilePatch,
    Provider,
    ProviderRecord,
    SearchPage,
    SubscriptionInput,
    WriteResult,
)
from customer_graph.domain.normalise import try_normalise

# How many merges a read follows (a survivor may itself have been merged since).
MAX_MERGE_HOPS = 3

CAPABILITIES: Capabilities = MappingProxyType(
    {
        Operation.GET_RECORDS: Support.NATIVE,
        Operation.FIND_BY_IDENTIFIER: Support.NATIVE,
        Operation.SEARCH: Support.NATIVE,
        Operation.ADDRESSES: Support.EMULATED,
        Operation.SUBSCRIPTIONS: Support.NATIVE,
        Operation.LOYALTY: Support.NATIVE,
        Operation.CREATE: Support.NATIVE,
        Operation.UPDATE_PROFILE: Support.NATIVE,
        Operation.ADD_IDENTIFIER: Support.NATIVE,
        Operation.REMOVE_IDENTIFIER: Support.NATIVE,
        Operation.UPSERT_ADDRESS: Support.EMULATED,
        Operation.REMOVE_ADDRESS: Support.EMULATED,
        Operation.SET_SUBSCRIPTIONS: Support.NATIVE,
        Operation.ENROLL_LOYALTY: Support.NATIVE,
        Operation.MERGE: Support.NATIVE,
        Operation.SET_STATUS: Support.UNSUPPORTED,
        Operation.ERASE: Support.UNSUPPORTED,
    }
)


@dataclass(frozen=True)
class CapillaryConfig:
    """How to reach one Capillary org. ``credentials`` chooses the auth: a till (Basic) or an OAuth client."""

    base_url: str
    credentials: Credentials
    # The source (and account, for multi-account sources) that creates and updates write to.
    source: str = "INSTORE"
    account_id: str | None = None
    # Where a merge adds the victim's identifier when no source of the survivor will do.
    merge_source: str = "WEBSITE"
    merge_account_id: str | None = None
    loyalty_type: str = "loyalty"  # of new customers: "loyalty" or "non_loyalty"
    # The custom field that holds the street lines of the address, where the org has one (None: not kept).
    address_line_field: str | None = "customer_address"
    # Capillary returns program ids only: display names by program id.
    program_names: Mapping[str, str] = field(default_factory=dict)
    subscription_reason: str = "customer-graph"


class CapillaryConnector:
    """The Capillary v2 customer API as a :class:`~customer_graph.connectors.base.Connector`."""

    provider = Provider.CAPILLARY
    capabilities: Capabilities = CAPABILITIES
    lookup_types = frozenset(mapper.LOOKUP_NAMES)
    record_facets = frozenset({Facet.PROFILE, Facet.ADDRESSES})
    create_requires: tuple[tuple[str, ...], ...] = (("email", "mobile", "external_id"),)

    def __init__(
        self,
        config: CapillaryConfig,
        policy: Policy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.source = config.source.upper()
        self.auth = build_auth(config.base_url, config.credentials)
        self.http = ProviderHttp.create(
            self.provider,
            config.base_url,
            policy,
            auth=self.auth,
            transport=transport,
            classify=classify,
            observer=observer,
            limiter=limiter,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- reads ----------------------------------------------------------------------------------------

    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]:
        return await per_key(record_ids, lambda record_id: self._slot(record_id, facets))

    async def find_by_identifiers(self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]) -> list[LookupSlot]:
        unique = list(dict.fromkeys(keys))
        found = await asyncio.gather(*(self._lookup(key) for key in unique))
        ids = list(dict.fromkeys(f for f in found if isinstance(f, str)))
        # The identifiers are needed to check each match; they come with every read.
        records = dict(zip(ids, await self.get_records(ids, facets | {Facet.PROFILE}), strict=True))
        slots: dict[IdentifierKey, LookupSlot] = {}
        for key, result in zip(unique, found, strict=True):
            if not isinstance(result, str):
                slots[key] = result
                continue
            record = records[result]
            if isinstance(record, ProviderNotFound):
                slots[key] = None  # gone between the lookup and the read
            elif isinstance(record, ProviderError):
                slots[key] = record
            else:
                slots[key] = record if _holds(record, key) else None
        return [slots[key] for key in keys]

    async def search(self, text: str, offset: int, limit: int) -> SearchPage:
        query = text.strip()
        if not query or limit <= 0:
            return SearchPage(records=(), total=0 if not query else None, offset=offset, limit=limit)
        response = await self.http.request(
            "search",
            "GET",
            "/v2/customers/search",
            idempotent=True,
            params={"q": query, "limit": limit, "offset": offset},
        )
        parsed = self.http.parse(response, SearchResponse, "search")
        now = _now()
        records = tuple(
            mapper.search_hit_from_wire(hit, fetched_at=now, prefer_source=self.source) for hit in parsed.data
        )
        total = parsed.pagination.total if parsed.pagination else None
        return SearchPage(records=records, total=total, offset=offset, limit=limit)

    # -- writes ---------------------------------------------------------------------------------------

    async def create(self, draft: CustomerDraft) -> WriteResult:
        operation = Operation.CREATE.value
        source = (draft.source or self.source).upper()
        account = self._account(source)
        self._check_subscriptions(draft.subscriptions, operation)
        body = mapper.register_body(
            draft,
            source=source,
            account_id=account,
            loyalty_type=self.config.loyalty_type,
            address_line_field=self.config.address_line_field,
        )
        response = await self.http.request(
            operation, "POST", "/v2/customers", idempotent=False, params=_params(source, account), json=body
        )
        parsed = self.http.parse(response, RegisterResponse, operation)
        record_id = str(parsed.created_id)
        details = _warning_details(parsed.warnings)
        if mapper.COMBINED_WARNING in mapper.warning_codes(parsed.warnings):
            # The identifiers belonged to a customer of another source: this profile was added to that one.
            details["combinedWithExisting"] = record_id
        ignored = [name for name, value in (("card_number", draft.card_number), ("username", draft.username)) if value]
        if ignored:
            details["ignored"] = ",".join(ignored)
        facets = {Facet.PROFILE, Facet.ADDRESSES}
        if draft.subscriptions:
            facets.add(Facet.SUBSCRIPTIONS)
            try:
                await self._post_subscriptions(record_id, draft.subscriptions, operation)
            except ProviderError as exc:
                # The customer exists now: report the part that failed rather than hide the creation.
                details["subscriptions"] = f"failed: {exc.code}"
        return await self._result("register", record_id, details, frozenset(facets))

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult:
        operation = Operation.UPDATE_PROFILE.value
        _check_id(record_id, operation)
        if not patch.changed():
            return await self._result("none: empty patch", record_id, {}, self.record_facets, changed=False)
        account = self._account(self.source)
        body = mapper.update_body(
            patch, source=self.source, account_id=account, line_field=self.config.address_line_field
        )
        details = await self._put(record_id, body, operation)
        return await self._result("update", record_id, details, self.record_facets)

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        operation = Operation.ADD_IDENTIFIER.value
        _check_id(record_id, operation)
        item = self._identifier_item(identifier, operation)
        source = (identifier.source or self.source).upper()
        account = self._account(source)
        response = await self.http.request(
            operation,
            "POST",
            f"/v2/customers/{record_id}/changeIdentifier",
            idempotent=False,
            params=_params(source, account),
            json=mapper.change_identifier_body(add=[item]),
        )
        parsed = self.http.parse(response, ChangeIdentifierResponse, operation)
        details = _warning_details(parsed.warnings)
        survivor = mapper.survivor_from_warnings(parsed.warnings)
        if survivor is not None:
            details["mergedInto"] = survivor
        return await self._result("changeIdentifier add", record_id, details, self.record_facets)

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        """Removes the identifier from every source profile that holds it (or only from ``identifier.source``
        when it names one): one read to find them, one changeIdentifier per profile."""
        operation = Operation.REMOVE_IDENTIFIER.value
        _check_id(record_id, operation)
        self._identifier_item(identifier, operation)
        wire = await self._fetch(record_id, "", operation)
        wanted = identifier.source.upper() if identifier.source else None
        targets = []
        for profile in wire.profiles:
            if wanted is not None and profile.source.upper() != wanted:
                continue
            for raw in profile.identifiers:
                held = mapper.identifier_from_wire(raw, profile.source)
                if held is not None and (held.type, held.value) == (identifier.type, identifier.value):
                    targets.append((profile.source.upper(), profile.account_id or None, raw.type, raw.value))
        details: dict[str, str] = {"removedFrom": ",".join(t[0] for t in targets)}
        for source, account, raw_type, raw_value in targets:
            response = await self.http.request(
                operation,
                "POST",
                f"/v2/customers/{record_id}/changeIdentifier",
                idempotent=False,
                params=_params(source, account),
                json=mapper.change_identifier_body(remove=[{"type": raw_type, "value": raw_value}]),
            )
            details.update(_warning_details(self.http.parse(response, ChangeIdentifierResponse, operation).warnings))
        return await self._result(
            "changeIdentifier remove" if targets else "none: identifier not held",
            record_id,
            details,
            self.record_facets,
            changed=bool(targets),
        )

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult:
        operation = Operation.UPSERT_ADDRESS.value
        _check_id(record_id, operation)
        if address.id not in (None, mapper.ADDRESS_ID):
            raise ProviderNotFound(self.provider, operation, detail="Capillary holds one address")
        body = mapper.address_body(
            address,
            source=self.source,
            account_id=self._account(self.source),
            line_field=self.config.address_line_field,
        )
        details = await self._put(record_id, body, operation)
        if not self.config.address_line_field and (address.line1 or address.line2):
            details["ignored"] = "line1,line2"
        return await self._result("update extendedFields", record_id, details, self.record_facets)

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult:
        operation = Operation.REMOVE_ADDRESS.value
        _check_id(record_id, operation)
        if address_id != mapper.ADDRESS_ID:
            raise ProviderNotFound(self.provider, operation, detail="Capillary holds one address")
        body = mapper.address_body(
            None, source=self.source, account_id=self._account(self.source), line_field=self.config.address_line_field
        )
        details = await self._put(record_id, body, operation)
        return await self._result("update extendedFields (blanked)", record_id, details, self.record_facets)

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult:
        operation = Operation.SET_SUBSCRIPTIONS.value
        _check_id(record_id, operation)
        self._check_subscriptions(subscriptions, operation)
        facets = self.record_facets | {Facet.SUBSCRIPTIONS}
        if not subscriptions:
            return await self._result("none: no subscriptions", record_id, {}, facets, changed=False)
        details = await self._post_subscriptions(record_id, subscriptions, operation)
        return await self._result("subscriptions", record_id, details, facets)

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult:
        operation = Operation.ENROLL_LOYALTY.value
        _check_id(record_id, operation)
        if not program_id.strip().isdigit():
            raise ProviderRejected(self.provider, operation, detail="Capillary program ids are numbers")
        body = mapper.enrollment_body(int(program_id), source=self.source, account_id=self._account(self.source))
        details = await self._put(record_id, body, operation)
        return await self._result("loyaltyProgramEnrollments", record_id, details, self.record_facets | {Facet.LOYALTY})

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult:
        operation = Operation.MERGE.value
        _check_id(survivor_id, operation)
        _check_id(victim_id, operation)
        if survivor_id == victim_id:
            raise ProviderRejected(self.provider, operation, detail="survivor and victim are the same record")
        try:
            victim, survivor = await asyncio.gather(
                self._fetch(victim_id, "", operation), self._fetch(survivor_id, "", operation)
            )
        except MergedAccount:
            # Asked again after it happened (a resumed journal): done if the victim went where it should.
            if await self._survivor_of(victim_id, operation) == survivor_id:
                return MergeResult(survivor_id, victim_id, "already merged")
            raise
        plan = mapper.merge_plan(
            survivor, victim, (self.config.merge_source.upper(), self.config.merge_account_id or "")
        )
        if plan is None:
            raise ProviderRejected(self.provider, operation, detail="the victim holds no identifier to add")
        source, account, item = plan
        response = await self.http.request(
            operation,
            "POST",
            f"/v2/customers/{survivor_id}/changeIdentifier",
            idempotent=False,
            params=_params(source, account or None),
            json=mapper.change_identifier_body(add=[item]),
        )
        parsed = self.http.parse(response, ChangeIdentifierResponse, operation)
        winner = mapper.survivor_from_warnings(parsed.warnings)
        if winner is None:
            # No 8051 in the answer: the victim's change requests say whether and where it went.
            winner = await self._survivor_of(victim_id, operation)
        if winner not in (survivor_id, victim_id):
            raise ProviderRejected(self.provider, operation, detail="merged into an unexpected account")
        # Capillary keeps the older account, whichever one the identifier was added to.
        loser = victim_id if winner == survivor_id else survivor_id
        return MergeResult(winner, loser, "changeIdentifier")

    async def set_status(self, record_id: str, active: bool) -> WriteResult:
        raise unsupported(self.provider, Operation.SET_STATUS)

    async def erase(self, record_id: str) -> WriteResult:
        raise unsupported(self.provider, Operation.ERASE)

    # -- internals ------------------------------------------------------------------------------------

    async def _slot(self, record_id: str, facets: frozenset[Facet]) -> RecordSlot:
        try:
            return await self._read(record_id, facets, Operation.GET_RECORDS.value)
        except ProviderError as exc:
            return exc

    async def _read(self, record_id: str, facets: frozenset[Facet], operation: str) -> ProviderRecord:
        """One record; a merge victim resolves to its survivor (``requested_id`` = the id asked for)."""
        _check_id(record_id, operation)
        current = record_id
        for _ in range(MAX_MERGE_HOPS + 1):
            try:
                wire = await self._fetch(current, _embed(facets), operation)
            except MergedAccount:
                current = await self._survivor_of(current, operation)
                continue
            record = mapper.record_from_wire(
                wire,
                facets=facets,
                fetched_at=_now(),
                prefer_source=self.source,
                address_line_field=self.config.address_line_field,
                program_names=self.config.program_names,
            )
            return record if current == record_id else dataclasses.replace(record, requested_id=record_id)
        raise ProviderNotFound(self.provider, operation, detail="too many merges to follow")

    async def _fetch(self, record_id: str, embed: str, operation: str) -> CustomerWire:
        params: dict[str, str] = {"source": "ALL"}
        if embed:
            params["embed"] = embed
        response = await self.http.request(
            operation, "GET", f"/v2/customers/{record_id}", idempotent=True, params=params
        )
        return self.http.parse(response, CustomerWire, operation)

    async def _survivor_of(self, victim_id: str, operation: str) -> str:
        """The account a victim was merged into: the ``userId`` of its latest APPROVED MERGE change request."""
        response = await self.http.request(
            operation, "GET", f"/v2/customers/{victim_id}/retroRequest", idempotent=True, params={"changeType": "MERGE"}
        )
        parsed = self.http.parse(response, ChangeRequestsResponse, operation)
        merges = [
            item
            for item in parsed.data
            if item.status.upper() == "APPROVED"
            and (item.base_type or "MERGE").upper() == "MERGE"
            and str(item.user_id) != victim_id
        ]
        if not merges:
            raise ProviderNotFound(self.provider, operation, detail="code 8069, no survivor found")
        return str(max(merges, key=lambda item: item.id).user_id)

    async def _lookup(self, key: IdentifierKey) -> str | ProviderError | None:
        operation = Operation.FIND_BY_IDENTIFIER.value
        name = mapper.LOOKUP_NAMES.get(key.type)
        if name is None:
            return unsupported(self.provider, Operation.FIND_BY_IDENTIFIER)
        value = mapper.wire_value(key.type, key.value)
        if not value:
            return None
        try:
            response = await self.http.request(
                operation,
                "GET",
                "/v2/customers/lookup",
                idempotent=True,
                params={"source": "ALL", "identifierName": name, "identifierValue": value},
            )
            return str(self.http.parse(response, LookupResponse, operation).entity)
        except ProviderNotFound:
            return None
        except ProviderRejected as exc:
            # 8013: "Customer identifier is invalid": a value Capillary cannot hold belongs to nobody.
            if exc.provider_code == "8013":
                return None
            return exc
        except ProviderError as exc:
            return exc

    async def _put(self, record_id: str, body: dict[str, Any], operation: str) -> dict[str, str]:
        account = self._account(self.source)
        response = await self.http.request(
            operation,
            "PUT",
            f"/v2/customers/{record_id}",
            idempotent=False,
            params=_params(self.source, account),
            json=body,
        )
        return _warning_details(self.http.parse(response, UpdateResponse, operation).warnings)

    async def _post_subscriptions(
        self, record_id: str, subscriptions: Sequence[SubscriptionInput], operation: str
    ) -> dict[str, str]:
        body = mapper.subscriptions_body(subscriptions, self.config.subscription_reason)
        response = await self.http.request(
            operation, "POST", f"/v2/customers/{record_id}/subscriptions", idempotent=False, json=body
        )
        return _warning_details(self.http.parse(response, SubscriptionsResponse, operation).warnings)

    async def _result(
        self,
        performed: str,
        record_id: str,
        details: dict[str, str],
        facets: frozenset[Facet] | set[Facet],
        *,
        changed: bool = True,
    ) -> WriteResult:
        """The write's result with the record read back; a failed read-back does not undo the write."""
        try:
            record: ProviderRecord | None = await self._read(record_id, frozenset(facets), "readBack")
        except ProviderError as exc:
            record = None
            details = {**details, "readBack": f"failed: {exc.code}"}
        return WriteResult(operation=performed, record=record, details=details, changed=changed)

    def _account(self, source: str) -> str | None:
        if source == self.source and self.config.account_id:
            return self.config.account_id
        if source == self.config.merge_source.upper() and self.config.merge_account_id:
            return self.config.merge_account_id
        return None

    def _identifier_item(self, identifier: Identifier, operation: str) -> dict[str, str]:
        item = mapper.identifier_to_wire(identifier.type, identifier.value)
        if item is None or not item["value"]:
            raise ProviderUnsupported(self.provider, operation, detail=f"identifier type {identifier.type.value}")
        return item

    def _check_subscriptions(self, subscriptions: Sequence[SubscriptionInput], operation: str) -> None:
        for given in subscriptions:
            if given.channel not in mapper.WRITE_CHANNELS:
                raise ProviderUnsupported(self.provider, operation, detail=f"channel {given.channel.value}")


def _embed(facets: frozenset[Facet]) -> str:
    parts = []
    if Facet.LOYALTY in facets:
        parts += ["points", "mlp"]
    if Facet.SUBSCRIPTIONS in facets:
        parts.append("subscriptions")
    return ",".join(parts)


def _params(source: str, account: str | None) -> dict[str, str]:
    params = {"source": source}
    if account:
        params["accountId"] = account
    return params


def _check_id(record_id: str, operation: str) -> None:
    """Capillary ids are numbers: anything else names no customer (and is not sent)."""
    if not record_id.isdigit():
        raise ProviderNotFound(Provider.CAPILLARY, operation, detail="not a Capillary customer id")


def _holds(record: ProviderRecord, key: IdentifierKey) -> bool:
    wanted = try_normalise(key.type, key.value) or key.value
    return any(i.type is key.type and i.value == wanted for i in record.identifiers)


def _warning_details(warnings: Sequence[Message]) -> dict[str, str]:
    codes = mapper.warning_codes(warnings)
    return {"warnings": ",".join(str(code) for code in codes)} if codes else {}


def _now() -> datetime:
    return datetime.now(UTC)
