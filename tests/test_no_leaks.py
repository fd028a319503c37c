"""No customer data or secret in logs, traces, metrics or errors.

A real gateway process (``serve``, JSON logs at DEBUG, spans printed by the console exporter) in front of the
simulators is given canaries: a customer's e-mail, phone, name and password created through a mutation and then
looked up in every way a client can (variables, inline in the query, a GET query string), an idempotency key,
client tokens in headers, a request id that is an e-mail, and a provider secret that the provider refuses.
Providers fail meanwhile (5xx, malformed bodies, timeouts). Everything the process wrote, everything
``/metrics`` served and every error a response carried is then searched for the canaries.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from customer_graph.simulators.capillary.app import OAUTH_CLIENTS
from customer_graph.simulators.martjack.app import DEMO_APP
from customer_graph.simulators.openloyalty.app import ADMIN_USERNAME
from customer_graph.simulators.openloyalty.store import STORE_CODE
from customer_graph.simulators.twc.app import DEMO_CLIENT
from tests.test_cli import free_port
from tests.test_replicas import start, stop, toml, without_client_auth
from tests.test_write_recovery import wait_until

SUFFIX = secrets.token_hex(3)
EMAIL = f"zed.canary{SUFFIX}@example.net"
DIGITS = f"79111{int(SUFFIX, 16) % 100000:05d}"  # a UK mobile: +44 7911 1xxxxx
PHONE = f"+44 {DIGITS[:4]} {DIGITS[4:]}"
E164 = f"+44{DIGITS}"
LAST_NAME = f"Quux{SUFFIX}canary"
PASSWORD = f"Canary-pass-{SUFFIX}"
IDEMPOTENCY_KEY = f"canary-key-{SUFFIX}"
BEARER = f"canary-bearer-{secrets.token_hex(8)}"
API_KEY = f"canary-apikey-{secrets.token_hex(8)}"
OL_PASSWORD = f"canary-secret-{secrets.token_hex(8)}"  # Open Loyalty refuses it: auth failures all along

CREATE = """mutation($key: String, $input: CreateCustomerInput!) { createCustomer(idempotencyKey: $key, input: $input) {
  customer { id } outcomes { provider status } userErrors { code } } }"""
BY_IDENTIFIER = """query($type: IdentifierType!, $value: String!) { customerByIdentifier(type: $type, value: $value) {
  id firstName lastName identifiers { type value } addresses { city } loyaltyPrograms { points } } }"""


def test_no_canary_in_logs_traces_metrics_or_errors(tmp_path: Path) -> None:
    sim_port, port = free_port(), free_port()
    processes = [
        start(["simulate", "--port", str(sim_port), "--capillary-rpm", "0", "--customers", "40"], tmp_path / "sims.log")
    ]
    sims = f"http://127.0.0.1:{sim_port}"
    oauth_key, (oauth_secret, _) = next(iter(OAUTH_CLIENTS.items()))
    config = tmp_path / "gateway.toml"
    config.write_text(
        toml(
            {
                **without_client_auth(),
                "store": {"url": f"sqlite:///{tmp_path / 'store.sqlite3'}"},
                "observability": {"log_level": "DEBUG", "log_format": "json"},
                "observability.tracing": {"enabled": True, "exporter": "console"},
                "providers.capillary": {
                    "base_url": f"{sims}/capillary",
                    "oauth_key": oauth_key,
                    "oauth_secret": oauth_secret,
                },
                "providers.martjack": {
                    "base_url": f"{sims}/martjack",
                    "merchant_id": DEMO_APP.merchant_id,
                    "public_key": DEMO_APP.public_key,
                    "secret": DEMO_APP.secret,
                },
                "providers.martjack.policy": {"deadline": 1.0},
                "providers.openloyalty": {
                    "base_url": f"{sims}/openloyalty",
                    "store_code": STORE_CODE,
                    "username": ADMIN_USERNAME,
                },
                "providers.twc": {
                    "base_url": f"{sims}/twc",
                    "tenant": DEMO_CLIENT.tenant,
                    "client_id": DEMO_CLIENT.client_id,
                    "client_secret": DEMO_CLIENT.client_secret,
                },
            }
        )
        + '[providers.openloyalty.password]\nenv = "CANARY_OL_PASSWORD"\n'
    )
    stdout, stderr = tmp_path / "gateway.out", tmp_path / "gateway.err"
    responses: list[dict[str, Any]] = []
    try:
        wait_until(f"{sims}/twc/openapi.json")
        with stdout.open("wb") as out, stderr.open("wb") as err:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "customer_graph.cli", "serve", "--config", str(config), "--port", str(port)],
                    stdout=out,
                    stderr=err,
                    env={**os.environ, "CANARY_OL_PASSWORD": OL_PASSWORD},
                    cwd=Path(__file__).resolve().parents[1],
                )
            )
        gateway = f"http://127.0.0.1:{port}"
        wait_until(f"{gateway}/readyz")
        client = httpx.Client(
            base_url=gateway,
            timeout=30,
            headers={"Authorization": f"Bearer {BEARER}", "X-Api-Key": API_KEY, "X-Request-Id": EMAIL},
        )

        def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/graphql", json={"query": query, "variables": variables})
            assert response.headers["X-Request-Id"] != EMAIL
            body: dict[str, Any] = response.json()
            responses.append(body)
            return body

        created = post(
            CREATE,
            {
                "key": IDEMPOTENCY_KEY,
                "input": {
                    "firstName": "Zed",
                    "lastName": LAST_NAME,
                    "email": EMAIL,
                    "mobile": PHONE,
                    "password": PASSWORD,
                },
            },
        )
        statuses = {o["provider"]: o["status"] for o in created["data"]["createCustomer"]["outcomes"]}
        assert statuses["CAPILLARY"] == "APPLIED" and statuses["OPEN_LOYALTY"] != "APPLIED"
        found = post(BY_IDENTIFIER, {"type": "EMAIL", "value": EMAIL.upper()})
        assert found["data"]["customerByIdentifier"]["lastName"] == LAST_NAME
        post(BY_IDENTIFIER, {"type": "MOBILE", "value": PHONE})
        for prefix, faults in (
            ("twc", {"error_rate": 1.0, "error_status": 503}),
            ("capillary", {"malformed": True}),
            ("martjack", {"latency_ms": 1500}),
        ):
            httpx.post(f"{sims}/{prefix}/__sim/faults", json=faults, timeout=5).raise_for_status()
        failing = post(BY_IDENTIFIER, {"type": "MOBILE", "value": E164})
        codes = {e["extensions"]["code"] for e in failing["errors"]}
        assert {"PROVIDER_UNAVAILABLE", "PROVIDER_PROTOCOL_ERROR"} <= codes
        post('{ customerByIdentifier(type: EMAIL, value: "%s") { id lastName } }' % EMAIL, {})
        client.get(
            "/graphql",
            params={"query": BY_IDENTIFIER, "variables": orjson.dumps({"type": "EMAIL", "value": EMAIL}).decode()},
            headers={"Accept": "application/json"},
        )
        post(
            CREATE,
            {
                "key": IDEMPOTENCY_KEY,
                "input": {
                    "firstName": "Zed",
                    "lastName": LAST_NAME,
                    "email": EMAIL,
                    "mobile": PHONE,
                    "password": PASSWORD,
                },
            },
        )
        # A variable the schema refuses is quoted in the error the client gets (its own input, masked by the
        # server's error policy, not here) and must not reach the log.
        client.post("/graphql", json={"query": BY_IDENTIFIER, "variables": {"type": EMAIL, "value": PHONE}})
        metrics = client.get("/metrics").text
        client.close()
    finally:
        stop(processes)

    logs, spans = stderr.read_text(), stdout.read_text()
    lines = [orjson.loads(line) for line in logs.splitlines()]
    assert {line["level"] for line in lines} >= {"INFO", "WARNING", "ERROR"}
    assert any(line["msg"] == "request" and line["route"] == "/graphql" for line in lines)
    assert any(line["logger"] == "strawberry.execution" for line in lines)
    assert '"customer_graph.provider": "TWC"' in spans and '"PROVIDER_UNAVAILABLE"' in spans
    assert 'outcome="PROVIDER_AUTH"' in metrics and 'code="PROVIDER_UNAVAILABLE"' in metrics
    errors = orjson.dumps([r.get("errors") for r in responses]).decode()
    assert "PROVIDER_TIMEOUT" in errors

    canaries = [
        EMAIL,
        EMAIL.upper(),
        EMAIL.split("@")[0],
        E164,
        DIGITS,
        PHONE,
        LAST_NAME,
        PASSWORD,
        IDEMPOTENCY_KEY,
        BEARER,
        API_KEY,
        OL_PASSWORD,
        oauth_secret,
        DEMO_APP.secret,
        DEMO_CLIENT.client_secret,
    ]
    for where, text in (("logs", logs), ("traces", spans), ("metrics", metrics), ("errors", errors)):
        leaked = [canary for canary in canaries if canary in text]
        assert not leaked, f"{where} carry {leaked}"
