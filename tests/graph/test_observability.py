"""Observability in-process: /metrics after traffic and failures, request ids, the JSON log lines and what they
refuse to carry, spans per request and per provider call."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from customer_graph.domain.models import Provider
from customer_graph.server import tracing
from customer_graph.server.logs import GraphQLErrorFilter, JsonFormatter, scrub
from customer_graph.server.metrics import label
from tests.graph.conftest import Graph
from tests.graph.test_customer_queries import BY_EMAIL, everywhere


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels`` (0 when there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


async def metrics(graph: Graph) -> str:
    response = await graph.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the test, as the server writes it (JSON lines through the GraphQL error filter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(GraphQLErrorFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_metrics_count_requests_provider_calls_by_outcome_errors_by_code_and_circuits(graph: Graph) -> None:
    person = everywhere(graph.dataset)
    before = await metrics(graph)
    ok = await graph.query(BY_EMAIL, {"v": person.email})
    assert ok["data"]["customerByIdentifier"] and "errors" not in ok
    await graph.fault(Provider.TWC, error_rate=1.0, error_status=503)
    partial = await graph.query(
        "query($id: ID!) { customer(id: $id) { firstName records { provider } } }",
        {"id": ok["data"]["customerByIdentifier"]["id"]},
    )
    assert {e["extensions"]["code"] for e in partial["errors"]} == {"PROVIDER_UNAVAILABLE"}
    after = await metrics(graph)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("customer_graph_http_requests_total", method="POST", route="/graphql", status="200") == 2
    assert grew("customer_graph_graphql_errors_total", code="PROVIDER_UNAVAILABLE") == len(partial["errors"])
    assert grew("customer_graph_provider_call_duration_seconds_count", provider="CAPILLARY", outcome="OK") >= 1
    assert (
        grew("customer_graph_provider_call_duration_seconds_count", provider="TWC", outcome="PROVIDER_UNAVAILABLE") >= 1
    )
    for provider in Provider:
        assert sample(after, "customer_graph_provider_circuit_state", provider=provider.name) == 1
    assert "customer_graph_rate_limit_wait_seconds" in after
    assert "process_cpu_seconds_total" in after
    assert person.email not in after and person.mobile not in after


async def test_a_request_id_is_echoed_or_minted_and_carried_by_the_log_lines(
    graph: Graph, log_lines: io.StringIO
) -> None:
    given = await graph.client.get("/healthz", headers={"X-Request-Id": "req-1234.abc"})
    assert given.headers["X-Request-Id"] == "req-1234.abc"
    minted = await graph.client.get("/healthz")
    assert len(minted.headers["X-Request-Id"]) == 24
    # Not a token: a client cannot put an e-mail (or a line break) into our logs through the request id.
    refused = await graph.client.get("/healthz", headers={"X-Request-Id": "jane.doe@example.com"})
    assert refused.headers["X-Request-Id"] != "jane.doe@example.com"
    lines = [orjson.loads(line) for line in log_lines.getvalue().splitlines()]
    requests = [line for line in lines if line["msg"] == "request"]
    assert [line["request_id"] for line in requests] == [
        "req-1234.abc",
        minted.headers["X-Request-Id"],
        refused.headers["X-Request-Id"],
    ]
    assert requests[0] | {"duration_ms": 0} == {
        "ts": requests[0]["ts"],
        "level": "DEBUG",
        "logger": "customer_graph.server",
        "msg": "request",
        "request_id": "req-1234.abc",
        "method": "GET",
        "route": "/healthz",
        "status": 200,
        "duration_ms": 0,
    }
    assert "jane.doe" not in log_lines.getvalue()


async def test_graphql_errors_are_logged_by_code_and_path_without_the_values_they_quote(
    graph: Graph, log_lines: io.StringIO
) -> None:
    canary = "canary.quoted@example.org"
    body = await graph.query(
        'query($t: IdentifierType!) { customerByIdentifier(type: $t, value: "x") { id } }', {"t": canary}
    )
    assert body["errors"]
    logged = [orjson.loads(line) for line in log_lines.getvalue().splitlines()]
    [error] = [line for line in logged if line["logger"] == "strawberry.execution"]
    assert (error["msg"], error["code"], error["level"]) == ("GraphQL error", "UNCLASSIFIED", "ERROR")
    assert error["request_id"] == next(line["request_id"] for line in logged if line["msg"] == "request")
    assert canary not in log_lines.getvalue()


def test_the_formatter_writes_allowed_fields_only_and_no_exception_message() -> None:
    record = logging.LogRecord("customer_graph.writes", logging.ERROR, __file__, 1, "write step %s", ("FAILED",), None)
    record.provider, record.email, record.write_id = "TWC", "jane@example.com", "wr_0123456789abcdef0123"
    try:
        raise KeyError("jane@example.com")
    except KeyError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    line = orjson.loads(JsonFormatter().format(record))
    assert line["msg"] == "write step FAILED" and line["provider"] == "TWC"
    assert line["write_id"] == "wr_0123456789abcdef0123"  # our own id: its digits are not a phone number
    assert "email" not in line
    assert line["exception"]["type"] == "KeyError" and line["exception"]["stack"]
    assert "jane" not in orjson.dumps(line).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lookup for jane.doe+x@example.co.uk failed", "lookup for [redacted-email] failed"),
        ("sms to +44 7911 123457 and 07911-123457", "sms to [redacted-number] and [redacted-number]"),
        ("GET /v2/customers/lookup?identifierValue=abc HTTP/1.1", "GET /v2/customers/lookup?[redacted-query] HTTP/1.1"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Authorization: Bearer [redacted]"),
        ("Uvicorn running on http://127.0.0.1:8000 (pid 4242)", "Uvicorn running on http://127.0.0.1:8000 (pid 4242)"),
    ],
)
def test_scrubbing_is_the_last_line_of_defence(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("getRecords", "getRecords"),
        ("PROVIDER_TIMEOUT", "PROVIDER_TIMEOUT"),
        ("jane@example.com", "other"),
        ("+447911123457", "other"),
        ("300000001", "other"),
        ("a b", "other"),
        ("x" * 65, "other"),
    ],
)
def test_metric_labels_are_names_or_other(value: str, expected: str) -> None:
    assert label(value) == expected


async def test_a_span_per_request_with_a_child_span_per_provider_call(graph: Graph) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer(provider.get_tracer("test"))
    person = everywhere(graph.dataset)
    try:
        await graph.fault(Provider.TWC, error_rate=1.0, error_status=503)
        await graph.query(BY_EMAIL, {"v": person.email})
    finally:
        tracing.use_tracer(None)
    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.name == "POST /graphql"]
    calls = [s for s in spans if s.name != "POST /graphql"]
    assert {s.attributes["customer_graph.provider"] for s in calls if s.attributes} == {p.name for p in Provider}
    assert all(s.parent is not None and s.parent.span_id == server.context.span_id for s in calls)
    failed = [s for s in calls if s.attributes and s.attributes["customer_graph.outcome"] == "PROVIDER_UNAVAILABLE"]
    assert failed and all(s.attributes and s.attributes["customer_graph.provider"] == "TWC" for s in failed)
    assert all(s.start_time is not None and s.end_time is not None and s.start_time <= s.end_time for s in calls)
    exported = "".join(s.to_json() for s in spans)
    assert person.email not in exported and person.mobile not in exported
