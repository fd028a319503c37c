"""Journaled execution of a write across providers.

The rule: a write either lands where it should, or leaves a visible, resumable record of what is pending;
it is never applied twice and never half-applied in silence.

1. The plan (one step per provider) is recorded in the journal before the first provider call.
2. Each step is marked ``IN_FLIGHT`` just before its call and gets its outcome just after it:
   ``APPLIED``; ``PENDING`` with a next attempt time after a retryable failure; ``FAILED`` otherwise.
3. Whoever carries a write forward holds its lock in the journal (``lock_write``: across replicas when the
   journal is shared), so a write is never run by two processes at once; a resume that finds it locked
   leaves it alone.
4. ``resume`` finishes a write: steps left ``IN_FLIGHT`` by a crash are reconciled first (was a create
   applied before we died? look for it) and only resent when the provider does not have them; ``PENDING``
   steps that are due are tried again. A background task and ``customer-graph journal retry`` call it.
5. After each applied step, ``on_applied`` lets the caller record what the write means for the crosswalk
   (a created record joins its person), so a resumed write links what it creates too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from customer_graph.connectors.base import Connector, Operation
from customer_graph.connectors.errors import ProviderError, ProviderRejected, ProviderUnsupported
from customer_graph.domain.models import Provider
from customer_graph.store.base import JournalStep, JournalStore, JournalWrite, StepStatus, new_write_id
from customer_graph.writes.steps import Args, StepResult, forget_secrets, reconcile_step, run_step

log = logging.getLogger("customer_graph.writes")

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0

AppliedHook = Callable[[JournalWrite, JournalStep, StepResult], Awaitable[None]]


@dataclass(frozen=True)
class PlannedStep:
    provider: Provider
    operation: Operation
    args: Args


@dataclass(frozen=True)
class Outcome:
    """What happened at one provider (``status`` as the schema's ``OutcomeStatus``)."""

    provider: Provider
    status: str  # APPLIED | SKIPPED | UNSUPPORTED | FAILED | PENDING
    operation: str | None = None
    record_id: str | None = None
    error: ProviderError | None = None
    error_code: str | None = None  # from the journal, when the error object is gone (a replay, a resume)
    retryable: bool = False


def outcome_of(step: JournalStep) -> Outcome:
    result = step.result or {}
    status = {StepStatus.IN_FLIGHT: "PENDING"}.get(step.status, step.status.value)
    return Outcome(
        step.provider,
        status,
        result.get("operation") or step.operation,
        result.get("record_id"),
        error_code=step.error_code,
        retryable=step.status is StepStatus.PENDING,
    )


class WriteExecutor:
    def __init__(
        self,
        connectors: Mapping[Provider, Connector],
        journal: JournalStore,
        *,
        on_applied: AppliedHook | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.connectors = connectors
        self.journal = journal
        self.on_applied = on_applied
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._running: set[str] = set()  # writes this process is executing: never two executions at once

    async def execute(
        self, mutation: str, person_id: str | None, plan: Sequence[PlannedStep]
    ) -> tuple[JournalWrite, dict[int, Outcome]]:
        """Journal the plan, run every step once (concurrently: they touch different providers)."""
        steps = [JournalStep(seq, s.provider, s.operation.value, s.args) for seq, s in enumerate(plan)]
        # Locked before it is journaled, so that no resume (here or in another replica) can pick it up meanwhile.
        write_id = new_write_id()
        async with self.journal.lock_write(write_id) as held:
            write = await self.journal.begin(mutation, person_id, steps, write_id=write_id)
            if not held:  # the lock's key is taken (a hash collision): leave the plan to the journal worker
                return write, {step.seq: outcome_of(step) for step in write.steps}
            self._running.add(write.id)
            try:
                outcomes = await asyncio.gather(*(self._attempt(write, step) for step in write.steps))
                await self._finish_if_done(write)
            finally:
                self._running.discard(write.id)
        return write, {step.seq: outcome for step, outcome in zip(write.steps, outcomes, strict=True)}

    async def resume(self, write: JournalWrite, *, only_due: bool = True) -> list[Outcome]:
        """Carry an open write forward; returns every step's outcome as it now stands."""
        if write.id in self._running:
            return [outcome_of(step) for step in write.steps]
        async with self.journal.lock_write(write.id) as held:
            if not held:  # carried forward elsewhere (another replica, or a `journal retry`) right now
                return [outcome_of(step) for step in write.steps]
            return await self._resume_locked(write, only_due=only_due)

    async def _resume_locked(self, write: JournalWrite, *, only_due: bool) -> list[Outcome]:
        self._running.add(write.id)
        try:
            # Work from the journal as it stands now, not from a copy read before someone else moved it on.
            write = await self.journal.get(write.id) or write
            now = time.time()
            work = []
            for step in write.steps:
                if step.status is StepStatus.IN_FLIGHT:
                    work.append(self._recover(write, step))
                elif step.status is StepStatus.PENDING and (not only_due or step.next_attempt_at <= now):
                    work.append(self._attempt(write, step))
            await asyncio.gather(*work)
            await self._finish_if_done(write)
        finally:
            self._running.discard(write.id)
        return [outcome_of(step) for step in write.steps]

    async def resume_all(self, *, only_due: bool = True) -> int:
        """Resume every open write; returns how many there were."""
        writes = await self.journal.open_writes()
        for write in writes:
            await self.resume(write, only_due=only_due)
        return len(writes)

    async def _recover(self, write: JournalWrite, step: JournalStep) -> Outcome:
        connector = self.connectors[step.provider]
        try:
            found = await reconcile_step(connector, step.operation, step.args)
        except ProviderError as exc:
            return await self._failed(write, step, exc)
        if found is not None:
            return await self._applied(write, step, found)
        outcome = await self._attempt(write, step)
        if outcome.status == "FAILED" and isinstance(outcome.error, ProviderRejected):
            # The lost call may have landed after we looked (a slow provider): the resend then hits the
            # provider's uniqueness rule. Look once more before calling it a failure.
            with contextlib.suppress(ProviderError):
                found = await reconcile_step(connector, step.operation, step.args)
            if found is not None:
                return await self._applied(write, step, found)
        return outcome

    async def _attempt(self, write: JournalWrite, step: JournalStep) -> Outcome:
        connector = self.connectors.get(step.provider)
        if connector is None:
            step.status, step.error_code = StepStatus.FAILED, "PROVIDER_NOT_CONFIGURED"
            await self.journal.update_step(write.id, step)
            return outcome_of(step)
        step.status = StepStatus.IN_FLIGHT
        step.attempts += 1
        await self.journal.update_step(write.id, step)
        try:
            result = await run_step(connector, step.operation, step.args)
        except ProviderUnsupported as exc:
            step.status, step.error_code = StepStatus.UNSUPPORTED, exc.code
            await self.journal.update_step(write.id, step)
            return Outcome(step.provider, "UNSUPPORTED", step.operation, error=exc)
        except ProviderError as exc:
            return await self._failed(write, step, exc)
        return await self._applied(write, step, result)

    async def _applied(self, write: JournalWrite, step: JournalStep, result: StepResult) -> Outcome:
        status = StepStatus.APPLIED if result.changed else StepStatus.SKIPPED
        step.status, step.error_code, step.result = status, None, result.as_json()
        step.args = forget_secrets(step.args)
        await self.journal.update_step(write.id, step)
        if self.on_applied is not None and result.changed:
            await self.on_applied(write, step, result)
        return Outcome(step.provider, status.value, result.operation, result.record_id)

    async def _failed(self, write: JournalWrite, step: JournalStep, error: ProviderError) -> Outcome:
        step.error_code = error.code
        if error.retryable and step.attempts < self.max_attempts:
            step.status = StepStatus.PENDING
            wait = getattr(error, "retry_after", None) or min(
                self.backoff_max, self.backoff_base * 2 ** (step.attempts - 1)
            ) * random.uniform(0.5, 1.0)
            step.next_attempt_at = time.time() + wait
        else:
            step.status = StepStatus.FAILED
        await self.journal.update_step(write.id, step)
        log.warning(
            "write step %s",
            step.status.value,
            extra={
                "write_id": write.id,
                "provider": step.provider.name,
                "operation": step.operation,
                "code": error.code,
            },
        )
        return Outcome(
            step.provider,
            "PENDING" if step.status is StepStatus.PENDING else "FAILED",
            step.operation,
            error=error,
            retryable=step.status is StepStatus.PENDING,
        )

    async def _finish_if_done(self, write: JournalWrite) -> None:
        if all(s.status not in (StepStatus.PENDING, StepStatus.IN_FLIGHT) for s in write.steps):
            await self.journal.finish(write.id)


async def retry_forever(
    executor: WriteExecutor, interval: float = 1.0, *, first_round_everything: bool = False
) -> None:
    """The background retrier: carries open writes forward until cancelled (owned by the server lifespan).
    ``first_round_everything`` makes the first round take every open write, due or not: what a previous
    process left when it stopped."""
    only_due = not first_round_everything
    while True:
        try:
            await executor.resume_all(only_due=only_due)
            only_due = True
        except ProviderError:
            pass
        except Exception:  # the store failed (a database restart): log it and keep going, never die silently
            log.exception("journal round failed")
        await asyncio.sleep(interval)
