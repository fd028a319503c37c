"""What every mutation does around its own planning: validation first, idempotency, the journaled execution,
the crosswalk, and a payload that can be replayed without calling any provider.

    validate ──▶ (userErrors: nothing called, nothing journaled)
        │
    claim the idempotency key ──▶ same key, same input, done: the stored payload; different input: an error;
        │                          still running: wait for it
    plan: one step per provider, or an outcome decided locally (SKIPPED: no record there; UNSUPPORTED)
        │
    execute (writes.executor: journal first, then the calls) ──▶ outcomes
        │
    the customer: with a key, read back once with every facet through fresh loaders and stored with the
    payload (a replay calls no provider); without one, read only if the client selects it (an operation a
    provider cannot do then costs that provider no call at all)
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import strawberry

from customer_graph.connectors.base import Operation, Support
from customer_graph.domain import codec
from customer_graph.domain.models import Facet, IdentifierType, Provider, ProviderRecord
from customer_graph.domain.normalise import InvalidIdentifier, normalise_identifier
from customer_graph.schema.context import Info
from customer_graph.schema.errors import extensions_of
from customer_graph.schema.mutation_types import OutcomeStatus, ProviderOutcome, ProviderOutcomeError
from customer_graph.schema.types import Customer
from customer_graph.store.base import ClaimState, RecordKey
from customer_graph.writes.executor import Outcome, PlannedStep

ALL_FACETS = frozenset(Facet)
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IN_PROGRESS_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class UserError:
    field: str | None
    code: str
    message: str


@dataclass
class Plan:
    person_id: str | None
    steps: list[PlannedStep] = field(default_factory=list)
    local: list[Outcome] = field(default_factory=list)  # decided without a provider call
    errors: list[UserError] = field(default_factory=list)


@dataclass(frozen=True)
class MutationKind:
    name: str
    payload: Any  # the strawberry payload type
    error: Any  # its error type
    codes: Any  # its error code enum


@dataclass
class Result:
    person_id: str | None
    outcomes: list[Outcome]
    write_id: str | None
    errors: list[UserError]


Planner = Callable[[], Awaitable[Plan]]
AfterHook = Callable[[Result], Awaitable[str | None]]


def key_of(info: Info, argument: str | None) -> str | None:
    """The idempotency key: the mutation's argument, else the request's ``Idempotency-Key`` header; kept per
    client, so that one client's key can neither collide with nor replay another's answer."""
    request = info.context.request
    key = argument or (request.headers.get("idempotency-key") if request is not None else None)
    if not key:
        return None
    principal = info.context.principal
    return f"{principal.client_id if principal is not None else '-'}:{key}"


async def run_mutation(
    info: Info,
    kind: MutationKind,
    *,
    key: str | None,
    request: Mapping[str, Any],
    validate: Callable[[], list[UserError]],
    plan: Planner,
    after: AfterHook | None = None,
) -> Any:
    errors = validate()
    if errors:
        return _payload(kind, None, [], None, errors)
    gateway = info.context.gateway
    if key:
        request_hash = fingerprint(kind.name, request)
        claim = await gateway.store.claim(key, request_hash, IDEMPOTENCY_TTL_SECONDS)
        deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
        while claim.state is ClaimState.IN_PROGRESS and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            claim = await gateway.store.claim(key, request_hash, IDEMPOTENCY_TTL_SECONDS)
        if claim.state is ClaimState.MISMATCH:
            return _payload(
                kind,
                None,
                [],
                None,
                [UserError("idempotencyKey", "IDEMPOTENCY_KEY_REUSED", "this key was used with a different input")],
            )
        if claim.state is ClaimState.IN_PROGRESS:
            return _payload(
                kind,
                None,
                [],
                None,
                [UserError("idempotencyKey", "IDEMPOTENCY_KEY_IN_USE", "a request with this key is still running")],
            )
        if claim.state is ClaimState.DONE:
            assert claim.response is not None
            return replay(info, kind, claim.response)
    try:
        result = await _execute(info, kind, plan, after)
        records = await _read_back(info, result.person_id) if key else None
    except BaseException:
        if key:
            await gateway.store.release(key)
        raise
    if key:
        await gateway.store.complete(key, _snapshot(result, records))
        known = records is not None
    else:
        # Fresh loaders: the request's own may hold what was true before the write.
        info.context.loaders = gateway.loaders()
        known = result.person_id is not None and await gateway.store.resolve(result.person_id) is not None
    customer = Customer.of(result.person_id, ALL_FACETS) if result.person_id and known else None
    return _payload(kind, customer, result.outcomes, result.write_id, result.errors)


async def _execute(info: Info, kind: MutationKind, plan: Planner, after: AfterHook | None) -> Result:
    planned = await plan()
    if planned.errors:
        return Result(None, [], None, planned.errors)
    outcomes = list(planned.local)
    write_id = None
    if planned.steps:
        write, by_seq = await info.context.gateway.executor.execute(kind.name, planned.person_id, planned.steps)
        write_id = write.id
        outcomes.extend(by_seq[seq] for seq in sorted(by_seq))
        person_id = write.person_id or planned.person_id
    else:
        person_id = planned.person_id
    result = Result(person_id, sorted(outcomes, key=lambda o: list(Provider).index(o.provider)), write_id, [])
    if after is not None:
        result.person_id = await after(result)
    return result


async def _read_back(info: Info, person_id: str | None) -> list[ProviderRecord] | None:
    """The customer as it now stands, read once with every facet through fresh loaders (the request's own
    may hold what was true before the write): stored for replays, and the payload's fields are served from
    them."""
    if person_id is None:
        return None
    gateway = info.context.gateway
    info.context.loaders = gateway.loaders()
    found = await gateway.identity.records(info.context.loaders, person_id, ALL_FACETS)
    return found.records if found is not None else None


def _snapshot(result: Result, records: list[ProviderRecord] | None) -> dict[str, Any]:
    return {
        "person_id": result.person_id,
        "write_id": result.write_id,
        "errors": [dataclasses.asdict(e) for e in result.errors],
        "outcomes": [
            {
                "provider": o.provider.value,
                "status": o.status,
                "operation": o.operation,
                "record_id": o.record_id,
                "error_code": o.error.code if o.error else o.error_code,
                "retryable": o.error.retryable if o.error else o.retryable,
                "message": o.error.message if o.error else None,
            }
            for o in result.outcomes
        ],
        "records": None if records is None else [codec.encode(r) for r in records],
    }


def replay(info: Info, kind: MutationKind, stored: Mapping[str, Any]) -> Any:
    """The stored payload of an idempotent retry: no provider is called (the records come from the store)."""
    gateway = info.context.gateway
    info.context.loaders = loaders = gateway.loaders()
    records = [codec.decode(ProviderRecord, r) for r in stored["records"]] if stored["records"] is not None else None
    for record in records or ():
        loaders.prime(record, ALL_FACETS, force=True)
    outcomes = [
        Outcome(
            Provider(o["provider"]),
            o["status"],
            o["operation"],
            o["record_id"],
            error_code=o["error_code"],
            retryable=o["retryable"],
        )
        for o in stored["outcomes"]
    ]
    messages = {o["provider"]: o["message"] for o in stored["outcomes"]}
    errors = [UserError(**e) for e in stored["errors"]]
    person_id = stored["person_id"]
    customer = Customer.of(person_id, ALL_FACETS) if person_id and records is not None else None
    return _payload(kind, customer, outcomes, stored["write_id"], errors, messages)


def _payload(
    kind: MutationKind,
    customer: Customer | None,
    outcomes: Sequence[Outcome],
    write_id: str | None,
    errors: Iterable[UserError],
    messages: Mapping[str, str | None] | None = None,
) -> Any:
    return kind.payload(
        customer=customer,
        outcomes=[_outcome(o, (messages or {}).get(o.provider.value)) for o in outcomes],
        user_errors=[kind.error(field=e.field, code=kind.codes[e.code], message=e.message) for e in errors],
        write_id=strawberry.ID(write_id) if write_id else None,
    )


def _outcome(outcome: Outcome, stored_message: str | None = None) -> ProviderOutcome:
    error = None
    if outcome.error is not None:
        ext = extensions_of(outcome.error)
        error = ProviderOutcomeError(code=ext["code"], retryable=ext["retryable"], message=outcome.error.message)
    elif outcome.error_code:
        error = ProviderOutcomeError(
            code=outcome.error_code, retryable=outcome.retryable, message=stored_message or outcome.error_code
        )
    return ProviderOutcome(
        provider=outcome.provider,
        status=OutcomeStatus(outcome.status),
        operation=outcome.operation,
        record_id=strawberry.ID(outcome.record_id) if outcome.record_id else None,
        error=error,
    )


def fingerprint(name: str, request: Mapping[str, Any]) -> str:
    """Same mutation, same input ⇒ same hash (UNSET fields are left out, so ``{}`` and unset agree)."""
    return hashlib.sha256(
        orjson.dumps({"mutation": name, "input": _plain(request)}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not strawberry.UNSET}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return codec.encode(value)


# -- planning helpers ------------------------------------------------------------------------------------


async def person_or_error(info: Info, person_id: str, field: str = "id") -> tuple[str | None, list[UserError]]:
    live = await info.context.gateway.store.resolve(person_id)
    if live is None:
        return None, [UserError(field, "NOT_FOUND", "no customer has this id")]
    return live, []


def target_providers(info: Info, requested: list[Provider] | None) -> tuple[list[Provider], list[UserError]]:
    configured = list(info.context.gateway.connectors)
    if requested is None:
        return configured, []
    missing = [p for p in requested if p not in configured]
    if missing:
        return [], [
            UserError(
                "providers", "PROVIDER_NOT_CONFIGURED", f"not configured here: {', '.join(p.name for p in missing)}"
            )
        ]
    return list(dict.fromkeys(requested)), []


async def plan_per_record(
    info: Info,
    person_id: str,
    providers: Sequence[Provider],
    operation: Operation,
    args: Callable[[RecordKey], dict[str, Any] | None],
) -> Plan:
    """One step per provider holding a record of the person; SKIPPED where it holds none; UNSUPPORTED where
    the provider cannot do the operation. ``args`` may return None to skip a record (nothing to do there)."""
    gateway = info.context.gateway
    records = {key.provider: key for key in await gateway.store.records_of(person_id)}
    plan = Plan(person_id)
    for provider in providers:
        connector = gateway.connectors[provider]
        if connector.capabilities.get(operation, Support.UNSUPPORTED) is Support.UNSUPPORTED:
            plan.local.append(Outcome(provider, "UNSUPPORTED", operation.value))
            continue
        record = records.get(provider)
        step_args = args(record) if record is not None else None
        if record is None or step_args is None:
            plan.local.append(
                Outcome(provider, "SKIPPED", operation.value, record.record_id if record is not None else None)
            )
            continue
        plan.steps.append(PlannedStep(provider, operation, {"record_id": record.record_id, **step_args}))
    return plan


_COUNTRY = re.compile(r"^[A-Z]{2}$")


def check_country(field: str, country: str | None) -> list[UserError]:
    """A country, where one is given, is an ISO 3166-1 alpha-2 code (what every connector maps)."""
    if country and country.strip() and not _COUNTRY.match(country.strip()):
        return [UserError(field, "INVALID", "use an ISO 3166-1 alpha-2 code, e.g. GB")]
    return []


def check_identifier(field: str, identifier_type: IdentifierType, value: str) -> tuple[str | None, list[UserError]]:
    try:
        return normalise_identifier(identifier_type, value), []
    except InvalidIdentifier as exc:
        code = {IdentifierType.EMAIL: "INVALID_EMAIL", IdentifierType.MOBILE: "INVALID_MOBILE"}.get(
            identifier_type, "INVALID"
        )
        return None, [UserError(field, code, str(exc))]
