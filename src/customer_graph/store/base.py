"""The crosswalk store's contract: which provider records belong to which person.

The store is deliberately dumb: it keeps links and an identifier index and answers set lookups. Deciding
*what* to link (match rules, merges) is the identity layer's job.

- A **person** has an opaque id (``cus_…``). A person merged into another keeps resolving to the survivor.
- A **link** ties one provider record ``(provider, record_id)`` to exactly one person.
- The **identifier index** remembers which record carried which normalised identifier, so that a lookup the
  crosswalk has seen before needs no provider fan-out.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from customer_graph.domain.models import IdentifierKey, Provider


@dataclass(frozen=True, slots=True, order=True)
class RecordKey:
    provider: Provider
    record_id: str


class CrosswalkStore(Protocol):
    async def links(self, records: Sequence[RecordKey]) -> dict[RecordKey, str]:
        """The person of each record that is linked (unlinked records are absent)."""

    async def records_of(self, person_id: str) -> list[RecordKey]:
        """Every record linked to this person (after following merges), in a stable order."""

    async def resolve(self, person_id: str) -> str | None:
        """The live person id for this id (following merges), or None when unknown."""

    async def find_identifiers(self, keys: Sequence[IdentifierKey]) -> dict[IdentifierKey, list[RecordKey]]:
        """Records known to carry each identifier."""

    async def link(
        self,
        person_id: str | None,
        records: Sequence[RecordKey],
        identifiers: Sequence[tuple[IdentifierKey, RecordKey]],
    ) -> str:
        """Link records (not yet linked elsewhere) to ``person_id``, creating a person when None; index the
        identifiers. Returns the person id."""

    async def merge_persons(self, survivor_id: str, victim_id: str) -> None:
        """Move the victim's records to the survivor; the victim's id resolves to the survivor from now on."""

    async def replace_record(self, old: RecordKey, new: RecordKey) -> None:
        """A provider merged ``old`` into ``new`` (e.g. a Capillary victim): the person now holds ``new``."""

    async def unindex(self, key: IdentifierKey, record: RecordKey) -> None:
        """The record no longer carries this identifier."""

    async def unlink(self, record: RecordKey) -> None:
        """Forget a record (erased at its provider): its link and every identifier indexed for it."""

    async def close(self) -> None: ...


# -- the write journal -------------------------------------------------------------------------------------


class StepStatus(StrEnum):
    PENDING = "PENDING"  # planned, or failed with a retryable error: to be (re)tried
    IN_FLIGHT = "IN_FLIGHT"  # sent, outcome not yet recorded: after a crash, reconcile before resending
    APPLIED = "APPLIED"
    FAILED = "FAILED"  # failed for good (not retryable)
    SKIPPED = "SKIPPED"  # nothing to do at this provider
    UNSUPPORTED = "UNSUPPORTED"


class WriteStatus(StrEnum):
    OPEN = "OPEN"  # some step is PENDING or IN_FLIGHT
    DONE = "DONE"  # every step ended (applied, failed, skipped or unsupported)


@dataclass
class JournalStep:
    seq: int
    provider: Provider
    operation: str
    args: dict[str, Any]
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    error_code: str | None = None
    result: dict[str, Any] | None = None
    next_attempt_at: float = 0.0  # unix time


@dataclass
class JournalWrite:
    id: str
    mutation: str
    person_id: str | None
    status: WriteStatus
    created_at: float
    steps: list[JournalStep] = field(default_factory=list)


def new_write_id() -> str:
    return f"wr_{secrets.token_hex(10)}"


class JournalStore(Protocol):
    """Multi-provider writes: the plan is recorded before the first provider call, each step's outcome after.

    ``lock_write`` is what keeps a write from running twice: whoever carries a write forward (the request
    that began it, a resume) holds its lock meanwhile. It yields False, at once, when someone else holds it
    (this process or, for a store shared by replicas, another one); it is not re-entrant.
    """

    async def begin(
        self, mutation: str, person_id: str | None, steps: Sequence[JournalStep], *, write_id: str | None = None
    ) -> JournalWrite:
        """Record the plan; ``write_id`` (default: a new one) lets a caller lock the write before it exists."""

    def lock_write(self, write_id: str) -> AbstractAsyncContextManager[bool]: ...

    async def update_step(self, write_id: str, step: JournalStep) -> None: ...

    async def set_person(self, write_id: str, person_id: str) -> None: ...

    async def finish(self, write_id: str) -> None: ...

    async def get(self, write_id: str) -> JournalWrite | None: ...

    async def open_writes(self) -> list[JournalWrite]: ...


# -- idempotency keys --------------------------------------------------------------------------------------


class ClaimState(StrEnum):
    NEW = "NEW"  # the caller owns the key now and must complete or release it
    DONE = "DONE"  # a stored response for the same request
    IN_PROGRESS = "IN_PROGRESS"  # another request with this key is executing
    MISMATCH = "MISMATCH"  # the key was used with a different request


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    response: dict[str, Any] | None = None


class IdempotencyStore(Protocol):
    async def claim(self, key: str, request_hash: str, ttl_seconds: float) -> Claim: ...

    async def complete(self, key: str, response: dict[str, Any]) -> None: ...

    async def release(self, key: str) -> None: ...


# -- the audit log -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which persons, and how it went: ids and statuses only, never customer data."""

    action: str
    actor: str
    subjects: tuple[str, ...]
    write_id: str | None = None
    outcome: str = ""
    at: float = 0.0  # unix time; set by the store when 0


class AuditLog(Protocol):
    async def audit(self, event: AuditEvent) -> None: ...

    async def audit_events(self, limit: int = 100) -> list[AuditEvent]: ...


class Store(CrosswalkStore, JournalStore, IdempotencyStore, AuditLog, Protocol):
    """Everything the gateway keeps: one backend provides all three (SQLite, PostgreSQL)."""
