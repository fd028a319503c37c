"""The Martjack (Capillary Anywhere Commerce) connector: customers of one merchant.

Dialect (martjack-customer-api.md; providers/README.md, Martjack): the merchant id is in every path; calls
carry the merchant JWT (:mod:`.auth`); every answer is a ``messageCode``/``ErrorCode`` envelope and failures
often come with HTTP 200, so :func:`classify` reads the envelope. How each unified operation is done:

- ``get_records``: Get Customer Details, one call per id, concurrently (the policy bounds concurrency);
  ADDRESSES add Get Shipping Address per id (the customer object has none), in parallel with it.
- ``find_by_identifiers``: Search, which matches UserName by *contains* with no paging; results are kept only
  when they hold the exact normalised value. An EMAIL or MOBILE lookup therefore finds a customer only when
  that e-mail or mobile is (part of) the UserName; the e-mail or mobile of a customer whose UserName is
  something else (``AlternateEmail``, ``MobileNo``) cannot be searched for at Martjack.
- ``search``: the same Search; pages are cut client-side from one ordered answer and ``total`` is its size.
- writes: Create (password required); Update replaces the whole customer, so profile and subscription
  changes read the customer, change it and write it back (serialised per record within this process) with
  a guest session's ``accesstoken``; addresses through Add/Delete Shipping Address; status through
  (De)Activation. There is no merge or erasure at Martjack: both deactivate the record. UserName cannot
  change and Martjack has no loyalty: those are unsupported.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from customer_graph.connectors.http import (
    CallObserver,
    Policy,
    ProviderHttp,
    RateLimiter,
    retry_after_seconds,
    status_error,
)
from customer_graph.connectors.martjack import mapper, wire
from customer_graph.connectors.martjack.auth import CustomerSession, MerchantTokenAuth, SessionExpired
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
from customer_graph.domain.normalise import InvalidIdentifier

PROVIDER = Provider.MARTJACK

CAPABILITIES: Capabilities = {
    Operation.GET_RECORDS: Support.NATIVE,
    Operation.FIND_BY_IDENTIFIER: Support.EMULATED,  # Search (UserName contains) filtered client-side
    Operation.SEARCH: Support.NATIVE,  # paged client-side: Search has no paging
    Operation.ADDRESSES: Support.NATIVE,  # Get Shipping Address
    Operation.SUBSCRIPTIONS: Support.NATIVE,  # IsReceiveOffers
    Operation.LOYALTY: Support.UNSUPPORTED,
    Operation.CREATE: Support.NATIVE,
    Operation.UPDATE_PROFILE: Support.EMULATED,  # read, modify, write the whole object
    Operation.ADD_IDENTIFIER: Support.UNSUPPORTED,  # UserName cannot change
    Operation.REMOVE_IDENTIFIER: Support.UNSUPPORTED,
    Operation.UPSERT_ADDRESS: Support.NATIVE,  # AddShippingAddress, id 0 creates
    Operation.REMOVE_ADDRESS: Support.NATIVE,  # DeleteShippingAddress
    Operation.SET_SUBSCRIPTIONS: Support.EMULATED,  # IsReceiveOffers through a whole-object Update
    Operation.ENROLL_LOYALTY: Support.UNSUPPORTED,
    Operation.MERGE: Support.EMULATED,  # deactivate the victim
    Operation.SET_STATUS: Support.NATIVE,  # Customer/Activation, Customer/DeActivation
    Operation.ERASE: Support.EMULATED,  # deactivate: the data stays at Martjack
}

# What erasure leaves behind, reported with every erase.
ERASE_REMAINS = "profile, username, shipping addresses and custom fields remain; the account is deactivated"

# messageCode/ErrorCode -> error (README.md, Martjack, and the document's Success/Error Codes tables).
# Any other non-zero code (1016 invalid input, 1040-1042 login refusals, ...) is a ProviderRejected.
CODE_ERRORS: dict[str, type[ProviderError]] = {
    "1000": ProviderUnavailable,  # unhandled exception
    "1003": ProviderAuthError,  # authentication failed (the merchant JWT)
    "1030": ProviderAuthError,  # service not authorised for this app / merchant
    "1009": ProviderNotFound,  # no record found
    "1017": ProviderNotFound,  # user doesn't exist
    "429": ProviderRateLimited,
    "440": SessionExpired,  # the customer session (accesstoken)
}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Read-modify-write of one record is serialised in this process; stripes bound the locks' memory.
_LOCK_STRIPES = 64


def classify(response: httpx.Response, operation: str) -> ProviderError | None:
    """Martjack's error rules: HTTP 5xx and 429 first, then the envelope, whatever the status says."""
    status = response.status_code
    if status >= 500 or status == 429:
        return status_error(PROVIDER, operation, response)
    try:
        envelope = wire.Envelope.model_validate_json(response.content)
    except ValidationError:
        envelope = None  # not an envelope: the status decides, and parsing the payload will tell the rest
    if envelope is not None and envelope.failed:
        return code_error(envelope.code, operation, response)
    return status_error(PROVIDER, operation, response)


def code_error(code: str, operation: str, response: httpx.Response) -> ProviderError:
    rule = CODE_ERRORS.get(code)
    status = response.status_code
    if rule is None:
        return ProviderRejected(PROVIDER, operation, provider_code=code, status=status)
    if rule is ProviderRateLimited:
        return ProviderRateLimited(PROVIDER, operation, retry_after=retry_after_seconds(response), status=status)
    return rule(PROVIDER, operation, status=status, detail=f"code {code}")


@dataclass(frozen=True)
class MartjackConfig:
    base_url: str  # the host, e.g. "https://www.martjack.com" (``/developerapi`` is added unless given)
    merchant_id: str  # GUID
    public_key: str  # the merchant app's consumer key
    secret: str = field(repr=False)  # the app's consumer secret
    # Guest sessions are replaced at this age even if Martjack has not refused them yet (an ASP.NET session
    # lives 20 minutes idle by default); a 440 replaces one at any age.
    session_max_age_seconds: float = 900.0


class MartjackConnector:
    provider = PROVIDER
    capabilities = CAPABILITIES
    lookup_types = frozenset({IdentifierType.USERNAME, IdentifierType.EMAIL, IdentifierType.MOBILE})
    record_facets = mapper.RECORD_FACETS
    create_requires: tuple[tuple[str, ...], ...] = (("password",), ("username", "email", "mobile"))

    def __init__(
        self,
        config: MartjackConfig,
        policy: Policy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: CallObserver | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self._merchant = config.merchant_id.strip().lower()
        base_url = api_root(config.base_url)
        self.auth = MerchantTokenAuth(base_url, config.public_key, config.secret)
        self.http = ProviderHttp.create(
            PROVIDER,
            base_url,
            policy,
            auth=self.auth,
            transport=transport,
            classify=classify,
            observer=observer,
            limiter=limiter,
        )
        self.session = CustomerSession(self._open_session, config.session_max_age_seconds)
        self._locks = [asyncio.Lock() for _ in range(_LOCK_STRIPES)]

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- reads --------------------------------------------------------------------------------------

    async def get_records(self, record_ids: Sequence[str], facets: frozenset[Facet]) -> list[RecordSlot]:
        return await per_key(record_ids, lambda record_id: self._record_slot(record_id, facets))

    async def find_by_identifiers(self, keys: Sequence[IdentifierKey], facets: frozenset[Facet]) -> list[LookupSlot]:
        # One Search per distinct keyword (an e-mail asked as EMAIL and as USERNAME is one search).
        keywords = {key: mapper.search_keyword(key) for key in keys if key.type in self.lookup_types}
        distinct = [k for k in dict.fromkeys(keywords.values()) if k is not None]
        answers = await asyncio.gather(*(self._search_slot(keyword) for keyword in distinct))
        found = dict(zip(distinct, answers, strict=True))
        return await per_key(keys, lambda key: self._lookup_slot(key, keywords.get(key), found, facets))

    async def search(self, text: str, offset: int, limit: int) -> SearchPage:
        keyword = text.strip()
        offset, limit = max(0, offset), max(0, limit)
        if not keyword:  # Martjack refuses an empty keyword (1016): say so without asking
            raise ProviderRejected(PROVIDER, Operation.SEARCH.value, detail="search text required")
        customers = await self._search(keyword)
        # One stable order, so that pages cut from separate answers neither overlap nor skip.
        customers.sort(key=lambda c: (c.user_name.strip().casefold(), c.user_id.lower()))
        now = _now()
        page = tuple(mapper.record_from_wire(c, fetched_at=now) for c in customers[offset : offset + limit])
        return SearchPage(records=page, total=len(customers), offset=offset, limit=limit)

    async def _record_slot(self, record_id: str, facets: frozenset[Facet]) -> RecordSlot:
        try:
            return await self._read(self._user_id(record_id, Operation.GET_RECORDS), facets)
        except ProviderError as exc:
            return exc

    async def _search_slot(self, keyword: str) -> list[wire.MartjackCustomer] | ProviderError:
        try:
            return await self._search(keyword)
        except ProviderError as exc:
            return exc

    async def _lookup_slot(
        self,
        key: IdentifierKey,
        keyword: str | None,
        found: dict[str, list[wire.MartjackCustomer] | ProviderError],
        facets: frozenset[Facet],
    ) -> LookupSlot:
        if key.type not in self.lookup_types:
            return unsupported(PROVIDER, Operation.FIND_BY_IDENTIFIER)
        if keyword is None:  # a value nobody can hold (an e-mail that is not one, ...)
            return None
        answer = found[keyword]
        if isinstance(answer, ProviderError):
            return answer
        customer = mapper.best_match(answer, key)
        if customer is None:
            return None
        try:
            addresses = await self._addresses(customer.user_id) if Facet.ADDRESSES in facets else None
        except ProviderError as exc:
            return exc
        return mapper.record_from_wire(customer, fetched_at=_now(), addresses=addresses)

    async def _read(self, user_id: str, facets: frozenset[Facet]) -> ProviderRecord:
        """The customer (it holds PROFILE and SUBSCRIPTIONS), and its addresses when asked, in parallel; only the
        addresses when they are all that is asked (a caller completing a search hit that has the rest)."""
        if facets == {Facet.ADDRESSES}:
            return mapper.addresses_record(user_id, await self._addresses(user_id), fetched_at=_now())
        if Facet.ADDRESSES not in facets:
            customer = await self._get_customer(user_id)
            return mapper.record_from_wire(customer, fetched_at=_now())
        customer_result, addresses_result = await asyncio.gather(
            self._get_customer(user_id), self._addresses(user_id), return_exceptions=True
        )
        for result in (customer_result, addresses_result):
            if isinstance(result, BaseException):
                raise result
        assert isinstance(customer_result, wire.MartjackCustomer)
        assert isinstance(addresses_result, list)
        return mapper.record_from_wire(customer_result, fetched_at=_now(), addresses=addresses_result)

    async def _get_customer(self, user_id: str) -> wire.MartjackCustomer:
        operation = "getCustomer"
        response = await self.http.request(operation, "GET", f"Customer/{self._merchant}/{user_id}", idempotent=True)
        return self.http.parse(response, wire.CustomerResponse, operation).customer

    async def _addresses(self, user_id: str) -> list[wire.ShippingAddress]:
        """The customer's shipping addresses; Martjack answers "no record" (1009) for none."""
        operation = "getShippingAddress"
        try:
            response = await self.http.request(
                operation,
                "GET",
                f"Customer/GetShippingAddress/{self._merchant}/{user_id}",
                idempotent=True,
                headers={"apiversion": "4"},
            )
        except ProviderNotFound:
            return []
        return self.http.parse(response, wire.ShippingAddressesResponse, operation).shipping_addresses

    async def _search(self, keyword: str) -> list[wire.MartjackCustomer]:
        """Every customer whose UserName contains ``keyword``; Martjack answers "no record" (1009) for none."""
        operation = "searchCustomers"
        try:
            response = await self.http.request(
                operation, "POST", f"Customer/{self._merchant}/Search", idempotent=True, json=wire.search_body(keyword)
            )
        except ProviderNotFound:
            return []
        return self.http.parse(response, wire.CustomersResponse, operation).customers

    # -- writes -------------------------------------------------------------------------------------

    async def create(self, draft: CustomerDraft) -> WriteResult:
        operation = Operation.CREATE.value
        if not draft.password:
            raise ProviderRejected(PROVIDER, operation, detail="a password is required")
        try:
            body = mapper.create_from_draft(draft, draft.password)
        except (InvalidIdentifier, mapper.UnmappableSubscription) as exc:
            raise ProviderRejected(PROVIDER, operation, detail=str(exc)) from None
        response = await self.http.request(
            "createCustomer",
            "POST",
            f"Customer/{self._merchant}/Create",
            idempotent=False,
            json=body.body(self._merchant),
        )
        customer = self.http.parse(response, wire.CustomerResponse, "createCustomer").customer
        record = mapper.record_from_wire(customer, fetched_at=_now())
        details: dict[str, str] = {}
        if draft.address is not None:
            # Addresses are read from the shipping addresses; the draft's one is saved there as well. The
            # customer exists whatever happens to this second call: its failure is reported, not raised.
            try:
                address_id = await self._save_address(draft.address, customer)
            except (ProviderError, ValueError) as exc:
                details["address"] = f"not saved: {exc.code if isinstance(exc, ProviderError) else 'invalid'}"
            else:
                details["address_id"] = address_id
        return WriteResult(operation="Customer/Create", record=record, details=details)

    async def update_profile(self, record_id: str, patch: ProfilePatch) -> WriteResult:
        user_id = self._user_id(record_id, Operation.UPDATE_PROFILE)
        if not patch.changed():
            return WriteResult(operation="none", changed=False)
        async with self._lock(user_id):
            customer = mapper.apply_patch(await self._get_customer(user_id), patch)
            await self._update(customer)
        return WriteResult(operation="Customer/Update", record=mapper.record_from_wire(customer, fetched_at=_now()))

    async def add_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        raise unsupported(PROVIDER, Operation.ADD_IDENTIFIER)

    async def remove_identifier(self, record_id: str, identifier: Identifier) -> WriteResult:
        raise unsupported(PROVIDER, Operation.REMOVE_IDENTIFIER)

    async def upsert_address(self, record_id: str, address: AddressInput) -> WriteResult:
        operation = Operation.UPSERT_ADDRESS
        user_id = self._user_id(record_id, operation)
        if address.id is not None and not address.id.strip().isdigit():
            raise ProviderNotFound(PROVIDER, operation.value, detail="not a Martjack shipping address id")
        if not (address.line1 or "").strip():
            raise ProviderRejected(PROVIDER, operation.value, detail="address line 1 is required")
        customer = await self._get_customer(user_id)  # the recipient's names are mandatory
        address_id = await self._save_address(address, customer)
        return WriteResult(operation="Customer/AddShippingAddress", details={"address_id": address_id})

    async def remove_address(self, record_id: str, address_id: str) -> WriteResult:
        operation = Operation.REMOVE_ADDRESS
        user_id = self._user_id(record_id, operation)
        if not address_id.strip().isdigit():
            raise ProviderNotFound(PROVIDER, operation.value, detail="not a Martjack shipping address id")
        path = f"Customer/DeleteShippingAddress/{self._merchant}/{user_id}/{address_id.strip()}"
        response = await self.http.request("deleteShippingAddress", "GET", path, idempotent=False)
        self.http.parse(response, wire.Envelope, "deleteShippingAddress")
        return WriteResult(operation="Customer/DeleteShippingAddress", details={"address_id": address_id.strip()})

    async def set_subscriptions(self, record_id: str, subscriptions: Sequence[SubscriptionInput]) -> WriteResult:
        operation = Operation.SET_SUBSCRIPTIONS
        user_id = self._user_id(record_id, operation)
        try:
            receive_offers = mapper.receive_offers_for(subscriptions)
        except mapper.UnmappableSubscription as exc:
            raise ProviderRejected(PROVIDER, operation.value, detail=str(exc)) from None
        details = {"receive_offers": str(receive_offers).lower()}
        async with self._lock(user_id):
            customer = await self._get_customer(user_id)
            if customer.is_receive_offers is receive_offers:
                return WriteResult(
                    operation="none",
                    record=mapper.record_from_wire(customer, fetched_at=_now()),
                    details=details,
                    changed=False,
                )
            customer = mapper.with_receive_offers(customer, receive_offers)
            await self._update(customer)
        return WriteResult(
            operation="Customer/Update", record=mapper.record_from_wire(customer, fetched_at=_now()), details=details
        )

    async def enroll_in_loyalty_program(self, record_id: str, program_id: str) -> WriteResult:
        raise unsupported(PROVIDER, Operation.ENROLL_LOYALTY)

    async def merge(self, survivor_id: str, victim_id: str) -> MergeResult:
        survivor = self._user_id(survivor_id, Operation.MERGE)
        victim = self._user_id(victim_id, Operation.MERGE)
        if survivor == victim:
            raise ProviderRejected(PROVIDER, Operation.MERGE.value, detail="survivor and victim are one record")
        await self._get_customer(survivor)  # never switch the victim off in favour of nobody
        await self._set_active(victim, active=False)
        return MergeResult(survivor_id=survivor, victim_id=victim, operation="deactivate victim")

    async def set_status(self, record_id: str, active: bool) -> WriteResult:
        user_id = self._user_id(record_id, Operation.SET_STATUS)
        return WriteResult(operation=await self._set_active(user_id, active=active))

    async def erase(self, record_id: str) -> WriteResult:
        user_id = self._user_id(record_id, Operation.ERASE)
        return WriteResult(operation=await self._set_active(user_id, active=False), details={"remains": ERASE_REMAINS})

    # -- write plumbing -------------------------------------------------------------------------------

    async def _update(self, customer: wire.MartjackCustomer) -> None:
        """Update Customer Details with the guest session; a session refused as expired is renewed once."""
        body = wire.update_body(customer, self._merchant)
        for attempt in range(2):
            token = await self.session.token()
            try:
                response = await self.http.request(
                    "updateCustomer",
                    "POST",
                    f"Customer/{self._merchant}/Update",
                    idempotent=False,
                    json=body,
                    headers={"accesstoken": token},
                )
            except SessionExpired:
                # Refused before anything was written, so sending it again is safe.
                self.session.invalidate(token)
                if attempt:
                    raise
                continue
            self.http.parse(response, wire.Envelope, "updateCustomer")
            return

    async def _open_session(self) -> str:
        operation = "getAccessToken"
        response = await self.http.request(
            operation, "POST", f"Customer/GetAccessToken/{self._merchant}", idempotent=True
        )
        return self.http.parse(response, wire.TokenResponse, operation).token.access_token

    async def _save_address(self, address: AddressInput, customer: wire.MartjackCustomer) -> str:
        """AddShippingAddress; returns the address id Martjack gave (or kept)."""
        operation = "addShippingAddress"
        body = mapper.address_to_wire(address, customer).body()
        response = await self.http.request(
            operation, "POST", f"Customer/AddShippingAddress/{self._merchant}", idempotent=False, json=body
        )
        saved = self.http.parse(response, wire.ShippingAddressesResponse, operation).shipping_addresses
        if not saved:
            return address.id or ""
        return str(saved[0].shipping_address_id)

    async def _set_active(self, user_id: str, *, active: bool) -> str:
        # Setting a flag to a fixed value is idempotent, so these GETs may be retried.
        endpoint = "Activation" if active else "DeActivation"
        operation = "activateCustomer" if active else "deactivateCustomer"
        response = await self.http.request(
            operation, "GET", f"Customer/{endpoint}/{self._merchant}/{user_id}", idempotent=True
        )
        self.http.parse(response, wire.Envelope, operation)
        return f"Customer/{endpoint}"

    def _user_id(self, record_id: str, operation: Operation) -> str:
        """A record id as a path segment: only a GUID is anyone's UserId (nothing else reaches the URL)."""
        user_id = record_id.strip()
        if not _GUID.match(user_id):
            raise ProviderNotFound(PROVIDER, operation.value, detail="not a Martjack UserId")
        return user_id.lower()

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._locks[zlib.crc32(user_id.encode()) % _LOCK_STRIPES]


def api_root(base_url: str) -> str:
    """The developer API's root under a host (``https://www.martjack.com`` -> ``.../developerapi/``)."""
    root = base_url.rstrip("/")
    if not root.lower().endswith("/developerapi"):
        root += "/developerapi"
    return root + "/"


def _now() -> datetime:
    return datetime.now(UTC)
