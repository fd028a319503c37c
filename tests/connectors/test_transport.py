"""The pooled HTTP/1.1 transport against a real socket server that answers exactly the bytes a test writes."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from customer_graph.connectors.http import Policy, ProviderHttp
from customer_graph.connectors.transport import PooledTransport
from customer_graph.domain.models import Provider

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


def ok(body: bytes = b'{"ok": true}', *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", "Content-Type: application/json", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Server:
    port: int
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return head + (await reader.readexactly(length) if length else b"")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Reply, tls: ssl.SSLContext | None = None) -> Server:
        state = Server(0, scheme="https" if tls else "http")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            try:
                while True:
                    request = await _read_request(reader)
                    state.requests.append(request)
                    await reply(request, writer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
        servers.append(server)
        state.port = server.sockets[0].getsockname()[1]
        return state

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def always_ok(request: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(ok())


async def test_requests_reuse_one_keep_alive_connection(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(always_ok)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        for _ in range(5):
            response = await client.get("/customers/1", params={"embed": "points"})
            assert response.status_code == 200
            assert response.json() == {"ok": True}
            assert response.headers["content-type"] == "application/json"
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /customers/1?embed=points HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in server.requests[0].lower()


async def test_concurrent_requests_never_open_more_than_the_pool_allows(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slow(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.01)
        writer.write(ok(request.split(b" ")[1]))

    server = await serve(slow)
    async with httpx.AsyncClient(transport=PooledTransport(max_connections=3), base_url=server.url) as client:
        responses = await asyncio.gather(*(client.get(f"/{n}") for n in range(20)))
    assert [r.content for r in responses] == [f"/{n}".encode() for n in range(20)]  # each its own answer
    assert server.connections == 3


async def test_a_body_sent_in_chunks_with_trailers_and_in_tiny_pieces_is_read_whole(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def chunked(request: bytes, writer: asyncio.StreamWriter) -> None:
        answer = (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        )
        for i in range(len(answer)):  # one byte at a time: every parser state meets a boundary
            writer.write(answer[i : i + 1])
            await writer.drain()

    server = await serve(chunked)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        assert (await client.get("/")).text == "hello, world"
        assert (await client.get("/")).text == "hello, world"
    assert server.connections == 1


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_no_body_answers_and_posted_bodies(serve: Callable[..., Awaitable[Server]]) -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        if request.startswith(b"HEAD"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")  # the length a GET would have
        elif request.startswith(b"DELETE"):
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            writer.write(ok(request.partition(b"\r\n\r\n")[2]))

    server = await serve(reply)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        assert (await client.head("/")).content == b""
        assert (await client.delete("/")).status_code == 204
        assert (await client.post("/", json={"a": 1})).json() == {"a": 1}
        assert (await client.post("/", data={"x": "y z"})).content == b"x=y+z"
        assert (await client.post("/", content=parts(b"str", b"eamed"))).content == b"streamed"
    assert server.connections == 1


async def test_a_gzipped_answer_is_decoded(serve: Callable[..., Awaitable[Server]]) -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(ok(gzip.compress(b'{"zipped": 1}'), "Content-Encoding: gzip"))

    server = await serve(reply)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        assert (await client.get("/")).json() == {"zipped": 1}


async def test_connection_close_and_read_until_close_answers_take_a_new_connection(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        if b"/close" in request:
            writer.write(ok(b"bye", "Connection: close"))
        else:  # HTTP/1.0 style: no length, the body ends when the connection does
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    server = await serve(reply)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        assert (await client.get("/close")).text == "bye"
        assert (await client.get("/eof")).text == "until the end"
        assert (await client.get("/close")).text == "bye"
    assert server.connections == 3


async def test_a_server_that_drops_the_connection_mid_answer_is_a_protocol_error_and_the_pool_recovers(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    calls = 0

    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            writer.transport.abort()
        else:
            writer.write(ok())

    server = await serve(reply)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")
        assert (await client.get("/")).json() == {"ok": True}
    assert server.connections == 2


async def test_garbage_instead_of_http_is_a_protocol_error(serve: Callable[..., Awaitable[Server]]) -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    server = await serve(reply)
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


async def test_nothing_listening_is_a_connect_error() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with httpx.AsyncClient(transport=PooledTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_late_answer_is_a_read_timeout_and_never_reaches_the_next_request(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def reply(request: bytes, writer: asyncio.StreamWriter) -> None:
        if b"/slow" in request:
            await asyncio.sleep(0.2)
            writer.write(ok(b'"slow"'))
        else:
            writer.write(ok(b'"fast"'))

    server = await serve(reply)
    async with httpx.AsyncClient(
        transport=PooledTransport(max_connections=1), base_url=server.url, timeout=httpx.Timeout(0.05)
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/slow")
        assert (await client.get("/fast")).json() == "fast"
        # Cancelled by a caller's deadline rather than the read timeout: the same.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await client.get("/slow", timeout=5)
        assert (await client.get("/fast")).json() == "fast"
    assert server.connections == 3


async def test_idle_connections_expire(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(always_ok)
    async with httpx.AsyncClient(transport=PooledTransport(keepalive_expiry=0.05), base_url=server.url) as client:
        await client.get("/")
        await asyncio.sleep(0.1)
        await client.get("/")
    assert server.connections == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
async def test_tls(serve: Callable[..., Awaitable[Server]], tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = await asyncio.create_subprocess_exec(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(cert),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await made.wait() == 0
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server = await serve(always_ok, tls=server_context)
    trusting = ssl.create_default_context(cafile=str(cert))
    async with httpx.AsyncClient(transport=PooledTransport(ssl_context=trusting), base_url=server.url) as client:
        assert (await client.get("/")).json() == {"ok": True}
        assert (await client.get("/")).json() == {"ok": True}
    assert server.connections == 1
    async with httpx.AsyncClient(transport=PooledTransport(), base_url=server.url) as client:
        with pytest.raises(httpx.ConnectError):  # the default context does not trust a self-signed certificate
            await client.get("/")


async def test_provider_http_pools_with_this_transport_sized_to_its_policy(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def slow(request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.01)
        writer.write(ok())

    server = await serve(slow)
    http = ProviderHttp.create(Provider.TWC, server.url, Policy(max_concurrency=4))
    try:
        await asyncio.gather(*(http.request("read", "GET", "/", idempotent=True) for _ in range(12)))
    finally:
        await http.aclose()
    assert server.connections == 4


class _RetryOnce(httpx.Auth):
    """Adds a token; on a 401 fetches another from an absolute URL and sends the call again."""

    def __init__(self) -> None:
        self.token = "old"

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:  # type: ignore[override]
        request.headers["X-Token"] = self.token
        response = yield request
        if response.status_code == 401:
            fetched = yield httpx.Request("POST", "http://auth.test/token")
            await fetched.aread()
            self.token = fetched.json()["token"]
            request.headers["X-Token"] = self.token
            yield request


@pytest.mark.parametrize("base", ["http://api.test", "http://api.test/", "http://api.test/v2", "http://api.test/v2/"])
async def test_provider_http_joins_urls_headers_and_auth_as_httpx_does(base: str) -> None:
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.test":
            return httpx.Response(200, json={"token": "new"})
        if request.headers["X-Token"] != "new":
            return httpx.Response(401)
        return httpx.Response(200, json={"path": request.url.path, "query": str(request.url.query, "ascii")})

    http = ProviderHttp.create(
        Provider.TWC,
        base,
        Policy(),
        auth=_RetryOnce(),
        transport=httpx.MockTransport(provider),
        headers={"X-Tenant": "t1"},
    )
    try:
        response = await http.request(
            "read", "GET", "/customers/a b", idempotent=True, params={"q": "x&y"}, headers={"X-Call": "1"}
        )
        posted = await http.request("write", "POST", "customers", idempotent=False, json={"a": 1})
    finally:
        await http.aclose()
    prefix = "/v2" if "v2" in base else ""
    assert response.json() == {"path": f"{prefix}/customers/a b", "query": "q=x%26y"}
    assert [r.url.host for r in seen[:3]] == ["api.test", "auth.test", "api.test"]  # refused, token, again
    assert seen[2].headers["X-Tenant"] == "t1" and seen[2].headers["X-Call"] == "1"
    assert "X-Call" not in seen[3].headers and seen[3].headers["X-Tenant"] == "t1"
    assert posted.request.url.path == f"{prefix}/customers" and seen[3].content == b'{"a":1}'
    assert response.request is seen[2]


def test_a_proxied_environment_gets_httpx_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    from customer_graph.connectors.http import Policy, ProviderHttp
    from customer_graph.connectors.transport import PooledTransport
    from customer_graph.domain.models import Provider

    direct = ProviderHttp.create(Provider.TWC, "https://api.example.com", Policy())
    assert isinstance(direct._transport, PooledTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    proxied = ProviderHttp.create(Provider.TWC, "https://api.example.com", Policy())
    assert proxied._transport is None  # httpx's transport, which honours the proxy variables
