"""A small HTTP/1.1 load generator on raw asyncio sockets: keep-alive connections, pre-encoded requests.

Why not httpx: the load generator shares a core with the simulators, and an httpx request costs the client
several times what it costs uvicorn to parse it; a request here is one ``write`` and a header scan.

- :func:`closed_loop`: ``concurrency`` connections, each sending its next request as soon as the previous one
  is answered: the rate at saturation.
- :func:`open_loop`: requests sent on a fixed schedule whatever happens to earlier ones; latency is measured
  from the scheduled send time, so a stall counts against every request that waited behind it (no
  coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

# A request body, and a check of its answer: ``None`` when good, else a short reason (counted as an error).
Check = Callable[[int, bytes], str | None]
Snapshot = Callable[[], Awaitable[None]]


def encode_request(
    method: str, target: str, host: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def graphql_post(host: str, body: bytes) -> bytes:
    return encode_request("POST", "/graphql", host, body, [("content-type", "application/json")])


class ConnectionClosed(Exception):
    pass


class _Protocol(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time; answers must carry Content-Length or be
    chunked."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionClosed(str(exc) if exc else "closed by peer"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        answer = _parse(self.buffer)
        if answer is not None:
            status, body, used = answer
            del self.buffer[:used]
            self.waiter.set_result((status, body))


def _parse(buffer: bytearray) -> tuple[int, bytes, int] | None:
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    start = end + 4
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        stop = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : stop if stop >= 0 else len(head)])
        if len(buffer) < start + length:
            return None
        return status, bytes(buffer[start : start + length]), start + length
    if b"transfer-encoding: chunked" not in head:
        return status, b"", start  # no body (204, 304)
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        chunk_start = line_end + 2
        if len(buffer) < chunk_start + size + 2:
            return None
        if size == 0:
            return status, bytes(body), chunk_start + 2
        body += buffer[chunk_start : chunk_start + size]
        position = chunk_start + size + 2


class Connection:
    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, host, port)
        return cls(protocol)

    @property
    def closed(self) -> bool:
        return self._protocol.closed

    async def send(self, request: bytes) -> tuple[int, bytes]:
        protocol = self._protocol
        if protocol.closed or protocol.transport is None:
            raise ConnectionClosed("closed")
        protocol.waiter = asyncio.get_running_loop().create_future()
        protocol.transport.write(request)
        return await protocol.waiter

    def close(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()


@dataclass
class Tally:
    """What one phase saw, counted from the moment :meth:`start` is called."""

    completed: int = 0
    errors: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    counting: bool = False

    def start(self) -> None:
        self.completed, self.errors, self.reasons, self.latencies = 0, 0, {}, []
        self.counting = True

    def add(self, seconds: float, problem: str | None) -> None:
        if not self.counting:
            return
        self.completed += 1
        self.latencies.append(seconds)
        if problem is not None:
            self.errors += 1
            self.reasons[problem] = self.reasons.get(problem, 0) + 1


def default_check(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    if b'"errors"' in body:
        return "graphql errors"
    return None


async def closed_loop(
    host: str,
    port: int,
    requests: Iterator[bytes],
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    min_completed: int = 0,
    check: Check = default_check,
    on_start: Snapshot | None = None,
    on_stop: Snapshot | None = None,
) -> tuple[Tally, float]:
    """Run ``concurrency`` connections flat out; count only what completes in the window that opens after
    ``warmup`` and lasts ``duration`` (longer, up to four times, until ``min_completed`` requests are in).
    ``requests`` is shared: a finite iterator ends the window once every request has been answered. Returns
    the tally and the seconds measured."""
    tally = Tally()
    stop = asyncio.Event()

    async def worker() -> None:
        connection = await Connection.open(host, port)
        try:
            while not stop.is_set():
                request = next(requests, None)
                if request is None:
                    return
                started = time.perf_counter()
                try:
                    status, body = await connection.send(request)
                    problem = check(status, body)
                except ConnectionClosed:
                    problem = "connection closed"
                    connection = await Connection.open(host, port)
                tally.add(time.perf_counter() - started, problem)
        finally:
            connection.close()

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        if warmup > 0:
            await asyncio.wait(tasks, timeout=warmup)
        if on_start is not None:
            await on_start()
        tally.start()
        started = time.perf_counter()
        await asyncio.wait(tasks, timeout=duration)
        while (
            tally.completed < min_completed
            and time.perf_counter() - started < 4 * duration
            and not all(task.done() for task in tasks)
        ):
            await asyncio.wait(tasks, timeout=0.1)
        tally.counting = False
        measured = time.perf_counter() - started
        if on_stop is not None:
            await on_stop()
        stop.set()
        await asyncio.wait(tasks, timeout=30)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return tally, measured


async def open_loop(
    host: str,
    port: int,
    requests: Iterator[bytes],
    *,
    rate: float,
    duration: float,
    check: Check = default_check,
    connections: int = 16,
    patience: float = 30.0,
    on_start: Snapshot | None = None,
    on_stop: Snapshot | None = None,
) -> tuple[Tally, float]:
    """Send ``rate`` requests a second for ``duration`` seconds on a schedule, on a pool of keep-alive
    connections (more are opened if every one is busy). A finite ``requests`` ends the phase early."""
    tally = Tally()
    idle: list[Connection] = [await Connection.open(host, port) for _ in range(connections)]
    pending: set[asyncio.Task[None]] = set()

    async def one(request: bytes, due: float) -> None:
        while idle and idle[-1].closed:  # the server closed it while it sat idle (its keep-alive timeout)
            idle.pop()
        reused = bool(idle)
        connection = idle.pop() if idle else await Connection.open(host, port)
        try:
            try:
                status, body = await asyncio.wait_for(connection.send(request), patience)
            except ConnectionClosed:
                if not reused:
                    raise
                # Closed by the server's keep-alive timeout as the request went out: a client's race, not an
                # error of the server's; HTTP clients resend on a new connection, and so does this one.
                connection.close()
                connection = await Connection.open(host, port)
                status, body = await asyncio.wait_for(connection.send(request), patience)
            problem = check(status, body)
        except (ConnectionClosed, TimeoutError) as exc:
            problem = type(exc).__name__
            connection.close()
        tally.add(time.perf_counter() - due, problem)
        if not connection.closed:
            idle.append(connection)

    if on_start is not None:
        await on_start()
    tally.start()
    started = time.perf_counter()
    interval = 1.0 / rate
    for index in itertools.count():
        due = started + index * interval
        if due - started >= duration:
            break
        request = next(requests, None)
        if request is None:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(request, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=patience + 1)
    measured = time.perf_counter() - started
    tally.counting = False
    if on_stop is not None:
        await on_stop()
    for connection in idle:
        connection.close()
    return tally, measured


def percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
