"""A keep-alive HTTP/1.1 transport for httpx, with an O(1) connection pool: what every provider call rides on.

httpx's own transport (httpcore) re-examines every pooled connection, polling each idle socket, whenever it
queues a request or closes a response: O(connections x requests). A page of search results sends some eighty
calls to one provider at once, and on 64 connections that cost six times the CPU of a lone call (bench/README.md
has the figures). Here a request takes an idle connection off a stack or opens one, and gives it back when its
response has been read: nothing else is looked at.

What it does: HTTP/1.1 over TCP or TLS; one request at a time per connection; whole bodies (provider answers are
small documents); Content-Length, chunked and read-until-close bodies; idle connections expire after
``keepalive_expiry`` seconds. What it does not: HTTP/2, proxies, streamed uploads (a streamed body is read first).

Errors are httpx's: ``ConnectError``/``ConnectTimeout`` when no connection could be made, ``ReadTimeout``,
``RemoteProtocolError`` when the server closed the connection or sent something that is not HTTP/1.1. A request
cancelled mid-flight (a caller's deadline) closes its connection: it is never handed to the next request with
half an answer in it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import httpx

_NO_BODY_STATUSES = frozenset({204, 304})
_MAX_HEAD = 64 * 1024


class _Answer:
    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class _Connection(asyncio.Protocol):
    """One connection and the incremental parser of the answer to its one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._waiter: asyncio.Future[_Answer] | None = None
        self._head_only = False
        self._reset_parse()

    def _reset_parse(self) -> None:
        self._status = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._mode = ""  # "" (reading the head), "length", "chunked", "close"
        self._length = 0
        self._position = 0  # where the body (or the next chunk) starts in the buffer
        self._body = bytearray()
        self._keep_alive = True

    # -- asyncio.Protocol --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is no subclass)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None:
            self.close()  # bytes nobody asked for: the connection is out of step with the server
            return
        try:
            answer = self._parse()
        except httpx.RemoteProtocolError as exc:
            self._fail(exc)
            return
        if answer is not None:
            waiter, self._waiter = self._waiter, None
            if not waiter.done():
                waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None:
            return
        if self._mode == "close":  # the body was everything up to the close
            waiter, self._waiter = self._waiter, None
            body = bytes(self._buffer[self._position :])
            if not waiter.done():
                waiter.set_result(_Answer(self._status, self._reason, self._headers, body, False))
            return
        self._fail(httpx.RemoteProtocolError("server disconnected before the response was complete"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    # -- parsing -----------------------------------------------------------------------------------------

    def _parse(self) -> _Answer | None:
        buffer = self._buffer
        while not self._mode:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    raise httpx.RemoteProtocolError("response head too large")
                return None
            self._read_head(bytes(buffer[:end]))
            self._position = end + 4
            if 100 <= self._status < 200:  # an interim answer (100 Continue): the real one follows
                del buffer[: self._position]
                self._reset_parse()
        if self._mode == "length":
            if len(buffer) - self._position < self._length:
                return None
            body = bytes(buffer[self._position : self._position + self._length])
            if len(buffer) > self._position + self._length:
                self._keep_alive = False  # more bytes than the answer: do not trust this connection again
            return self._answer(body)
        if self._mode == "chunked":
            return self._read_chunks()
        return None  # "close": connection_lost completes it

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError("malformed status line")
        self._status = int(parts[1])
        self._reason = parts[2] if len(parts) > 2 else b""
        length: int | None = None
        chunked = False
        connection = b""
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError("malformed header line")
            value = value.strip()
            self._headers.append((name, value))
            lowered = name.lower()
            if lowered == b"content-length":
                if not value.isdigit():
                    raise httpx.RemoteProtocolError("malformed Content-Length")
                length = int(value)
            elif lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                connection = value.lower()
        if parts[0] == b"HTTP/1.0":
            self._keep_alive = b"keep-alive" in connection
        else:
            self._keep_alive = b"close" not in connection
        if self._head_only or self._status in _NO_BODY_STATUSES or 100 <= self._status < 200:
            self._mode, self._length = "length", 0
        elif chunked:
            self._mode = "chunked"
        elif length is not None:
            self._mode, self._length = "length", length
        else:
            self._mode, self._keep_alive = "close", False

    def _read_chunks(self) -> _Answer | None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n", self._position)
            if line_end < 0:
                return None
            size_text = bytes(buffer[self._position : line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError("malformed chunk size") from None
            if size == 0:  # the last chunk; then trailer lines, if any, and an empty line
                if buffer.find(b"\r\n\r\n", line_end) < 0:
                    return None
                return self._answer(bytes(self._body))
            start = line_end + 2
            if len(buffer) < start + size + 2:
                return None
            self._body += buffer[start : start + size]
            self._position = start + size + 2

    def _answer(self, body: bytes) -> _Answer:
        answer = _Answer(self._status, self._reason, self._headers, body, self._keep_alive)
        self._buffer.clear()
        self._reset_parse()
        return answer

    # -- one exchange --------------------------------------------------------------------------------------

    async def exchange(self, data: bytes, *, head_only: bool) -> _Answer:
        if self.closed or self.transport is None:
            raise httpx.RemoteProtocolError("connection closed")
        self._head_only = head_only
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Pool:
    """The connections to one origin: idle ones on a stack, at most ``size`` in all."""

    def __init__(self, size: int) -> None:
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(size)

    def take_idle(self, expiry: float) -> _Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed and now - connection.idle_since < expiry:
                return connection
            connection.close()
        return None

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()


class PooledTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=PooledTransport(max_connections=32))``: at most ``max_connections``
    connections per origin; a request beyond them waits for one to come free."""

    def __init__(
        self,
        *,
        max_connections: int = 32,
        connect_timeout: float | None = 5.0,
        keepalive_expiry: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be positive")
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._pools: dict[tuple[bytes, bytes, int], _Pool] = {}
        self._closed = False

    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        port = url.port or (443 if scheme == b"https" else 80)
        key = (scheme, url.raw_host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(self.max_connections)
        data = _encode(request, await request.aread())
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        async with pool.slots:
            connection = pool.take_idle(self.keepalive_expiry)
            if connection is None:
                connection = await self._connect(request, scheme, port, timeouts.get("connect", self.connect_timeout))
            answer = None
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    answer = await connection.exchange(data, head_only=request.method == "HEAD")
            except TimeoutError:
                raise httpx.ReadTimeout("no response within the read timeout", request=request) from None
            except httpx.RemoteProtocolError as exc:
                raise type(exc)(str(exc), request=request) from None
            finally:
                if answer is not None and answer.keep_alive and not connection.closed:
                    connection.idle_since = time.monotonic()
                    pool.idle.append(connection)
                else:  # an error, a cancellation (the answer may be half read) or the server's wish
                    connection.close()
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(answer.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            request=request,
        )

    async def _connect(self, request: httpx.Request, scheme: bytes, port: int, limit: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        host = request.url.host
        tls = self._ssl() if scheme == b"https" else None
        try:
            async with asyncio.timeout(limit):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("connect timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return connection

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _encode(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    has_host = False
    for name, value in request.headers.raw:
        lowered = name.lower()
        if lowered == b"transfer-encoding" or lowered == b"content-length":
            continue  # the body is in hand: its length is written below
        if lowered == b"host":
            has_host = True
        lines.append(name + b": " + value)
    if not has_host:
        lines.append(b"Host: " + request.url.netloc)
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
