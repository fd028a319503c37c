"""Two gateway replicas (``customer-graph serve``, real processes) on the local PostgreSQL and Redis, in front of
one simulators process: they share one provider quota, one idempotency key space and one write journal."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from customer_graph.settings import Settings
from customer_graph.simulators.capillary.app import TILLS
from customer_graph.simulators.dataset import generate
from customer_graph.simulators.martjack.app import DEMO_APP
from customer_graph.simulators.openloyalty.app import ADMIN_PASSWORD, ADMIN_USERNAME
from customer_graph.simulators.openloyalty.store import STORE_CODE
from customer_graph.simulators.twc.app import DEMO_CLIENT
from tests.services import POSTGRES, REDIS, drop_schema, require
from tests.test_cli import free_port
from tests.test_write_recovery import ROOT, wait_until

SEED, CUSTOMERS = 7, 200
LIMIT = 60  # Capillary's per-minute limit, in the simulator and in the gateways' policy
BURST = 40  # the bucket's burst: two local buckets together would spend 80 at once, over the limit

CREATE = """mutation($key: String, $email: String!, $mobile: String!) { createCustomer(idempotencyKey: $key, input: {
  firstName: "Ada", lastName: "Lovelace", email: $email, mobile: $mobile, password: "Engine-1843"}) {
  writeId customer { id } outcomes { provider status } userErrors { code } } }"""
BY_RECORD = "query($id: ID!) { customerByRecord(provider: CAPILLARY, recordId: $id) { firstName } }"


def toml(tables: dict[str, dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    return "\n".join(
        f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items()) for name, table in tables.items()
    )


def mobile() -> str:
    """A UK mobile number nobody else in the test has."""
    return f"+44 7911 1{secrets.randbelow(100000):05d}"


def without_client_auth() -> dict[str, dict[str, Any]]:
    """What lets these tests' clients in without credentials, where the settings know client authentication."""
    return {"auth": {"required": False}} if "auth" in Settings.model_fields else {}


@dataclass
class Replicas:
    sims: str
    gateways: list[str]

    def post(self, replica: int, query: str, variables: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        response = httpx.post(
            f"{self.gateways[replica]}/graphql", json={"query": query, "variables": variables}, timeout=timeout
        )
        body: dict[str, Any] = response.json()
        return body

    def sim_calls(self, prefix: str) -> dict[str, int]:
        calls: dict[str, int] = httpx.get(f"{self.sims}/{prefix}/__sim/stats", timeout=5).json()["calls"]
        return calls

    def metric(self, name: str, **labels: str) -> float:
        """A metric summed over both replicas."""
        total = 0.0
        for gateway in self.gateways:
            text = httpx.get(f"{gateway}/metrics", timeout=5).text
            for family in text_string_to_metric_families(text):
                total += sum(
                    s.value
                    for s in family.samples
                    if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
                )
        return total


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "customer_graph.cli", *command], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Replicas]:
    """Simulators and two gateways on one PostgreSQL schema; with ``shared_limits`` also one Redis prefix."""
    shared_limits: bool = getattr(request, "param", True)
    require("postgres")
    require("redis")
    schema, prefix = f"test_{secrets.token_hex(6)}", f"test-{secrets.token_hex(6)}"
    sim_port = free_port()
    processes = [
        start(
            [
                "simulate",
                "--port",
                str(sim_port),
                "--capillary-rpm",
                "0",
                "--seed",
                str(SEED),
                "--customers",
                str(CUSTOMERS),
            ],
            tmp_path / "sims.log",
        )
    ]
    sims = f"http://127.0.0.1:{sim_port}"
    till, (till_password, _) = next((t, c) for t, c in TILLS.items() if c[1])
    tables: dict[str, dict[str, Any]] = {
        **without_client_auth(),
        "store": {"url": POSTGRES, "postgres_schema": schema},
        "observability": {"log_level": "WARNING"},
        "providers.capillary": {
            "base_url": f"{sims}/capillary",
            "auth": "basic",
            "till_code": till,
            "till_password": till_password,
        },
        # A short deadline: calls that wait for the quota longer than that give up instead of piling up.
        "providers.capillary.policy": {"rate_limit_per_minute": LIMIT, "rate_limit_burst": BURST, "deadline": 3.0},
        "providers.martjack": {
            "base_url": f"{sims}/martjack",
            "merchant_id": DEMO_APP.merchant_id,
            "public_key": DEMO_APP.public_key,
            "secret": DEMO_APP.secret,
        },
        "providers.openloyalty": {
            "base_url": f"{sims}/openloyalty",
            "store_code": STORE_CODE,
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
        },
        "providers.twc": {
            "base_url": f"{sims}/twc",
            "tenant": DEMO_CLIENT.tenant,
            "client_id": DEMO_CLIENT.client_id,
            "client_secret": DEMO_CLIENT.client_secret,
        },
    }
    if shared_limits:
        tables["redis"] = {"url": REDIS, "key_prefix": prefix}
    config = tmp_path / "gateway.toml"
    config.write_text(toml(tables))
    ports = [free_port(), free_port()]
    try:
        wait_until(f"{sims}/twc/openapi.json")
        for index, port in enumerate(ports):
            processes.append(
                start(["serve", "--config", str(config), "--port", str(port)], tmp_path / f"gateway-{index}.log")
            )
        for port in ports:
            wait_until(f"http://127.0.0.1:{port}/readyz")
        yield Replicas(sims, [f"http://127.0.0.1:{port}" for port in ports])
    finally:
        stop(processes)
        drop_schema(schema)
        with redis.Redis.from_url(REDIS) as client:
            client.delete(*client.keys(f"{prefix}:*") or ["-"])


def drive(replicas: Replicas, requests_per_replica: int) -> list[dict[str, Any]]:
    """Many reads at once through both replicas, each needing Capillary (a different record each)."""
    dataset = generate(SEED, CUSTOMERS)
    ids = [str(p.capillary.customer_id) for p in dataset.persons if p.capillary]

    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

            async def one(n: int) -> dict[str, Any]:
                gateway = replicas.gateways[n % 2]
                response = await client.post(
                    f"{gateway}/graphql", json={"query": BY_RECORD, "variables": {"id": ids[n % len(ids)]}}
                )
                body: dict[str, Any] = response.json()
                return body

            return await asyncio.gather(*(one(n) for n in range(2 * requests_per_replica)))

    return asyncio.run(run())


def limit_capillary(replicas: Replicas) -> None:
    httpx.post(f"{replicas.sims}/capillary/__sim/reset", timeout=5).raise_for_status()
    httpx.post(
        f"{replicas.sims}/capillary/__sim/config", json={"rate_limit_per_minute": LIMIT}, timeout=5
    ).raise_for_status()


def test_two_replicas_share_one_provider_quota(replicas: Replicas) -> None:
    limit_capillary(replicas)
    started = time.monotonic()
    answers = drive(replicas, 60)
    elapsed = time.monotonic() - started
    calls = sum(replicas.sim_calls("capillary").values())
    # One bucket for both: its burst, then (LIMIT - BURST) a minute, never more than LIMIT in a minute.
    assert BURST <= calls <= BURST + (LIMIT - BURST) * elapsed / 60 + 1 <= LIMIT, (calls, elapsed)
    # Never refused: every call the simulator saw was within its limit (it counts the ones it refuses too),
    # and no replica met a 429 (which it would have reported as RATE_LIMITED).
    assert (
        replicas.metric(
            "customer_graph_provider_call_duration_seconds_count", provider="CAPILLARY", outcome="RATE_LIMITED"
        )
        == 0
    )
    served = [a for a in answers if (a.get("data") or {}).get("customerByRecord")]
    assert len(served) >= BURST - 2  # (a merge victim costs two calls)
    assert replicas.metric("customer_graph_rate_limit_wait_seconds_count", provider="CAPILLARY") > 0
    for gateway in replicas.gateways:  # both replicas drew from the bucket
        text = httpx.get(f"{gateway}/metrics", timeout=5).text
        assert 'provider="CAPILLARY"' in text and 'outcome="OK"' in text


@pytest.mark.parametrize("replicas", [False], indirect=True, ids=["local-buckets"])
def test_without_redis_each_replica_spends_the_quota_on_its_own(replicas: Replicas) -> None:
    """The control: the same load with a local bucket per replica goes over the provider's limit."""
    limit_capillary(replicas)
    drive(replicas, 60)
    assert sum(replicas.sim_calls("capillary").values()) > LIMIT
    assert (
        replicas.metric(
            "customer_graph_provider_call_duration_seconds_count", provider="CAPILLARY", outcome="RATE_LIMITED"
        )
        > 0
    )


def test_two_replicas_share_one_idempotency_key_space_and_one_journal(replicas: Replicas) -> None:
    email, phone = f"ada.{secrets.token_hex(3)}@example.org", mobile()

    async def both() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def send(gateway: str) -> dict[str, Any]:
                response = await client.post(
                    f"{gateway}/graphql",
                    json={"query": CREATE, "variables": {"key": f"same-{email}", "email": email, "mobile": phone}},
                )
                body: dict[str, Any] = response.json()
                return body

            return await asyncio.gather(*(send(g) for g in replicas.gateways))

    first, second = asyncio.run(both())
    assert first["data"]["createCustomer"]["customer"]["id"] == second["data"]["createCustomer"]["customer"]["id"]
    assert first["data"]["createCustomer"]["writeId"] == second["data"]["createCustomer"]["writeId"]
    created = {
        "capillary": "POST /v2/customers",
        "martjack": "POST /developerapi/Customer/{merchantId}/Create",
        "openloyalty": "POST /api/{storeCode}/admin/customer/register",
        "twc": "POST /api/v2/customers",
    }
    for prefix, key in created.items():
        assert replicas.sim_calls(prefix).get(key) == 1, prefix  # one customer, whichever replica answered

    # A write left pending by one replica is finished once, by one of them, when the provider is back.
    other = f"grace.{secrets.token_hex(3)}@example.org"
    httpx.post(
        f"{replicas.sims}/twc/__sim/faults", json={"error_rate": 1.0, "error_status": 503}, timeout=5
    ).raise_for_status()
    variables = {"key": f"k-{other}", "email": other, "mobile": mobile()}
    pending = replicas.post(0, CREATE, variables)["data"]["createCustomer"]
    # The refused attempt reached TWC's create (503) or, on a replica that had no TWC token yet, only its token
    # endpoint (503 too): either way TWC holds no Grace until the journal retries.
    refused = replicas.sim_calls("twc").get("POST /api/v2/customers", 0) - 1
    httpx.delete(f"{replicas.sims}/twc/__sim/faults", timeout=5).raise_for_status()
    assert {o["provider"]: o["status"] for o in pending["outcomes"]}["TWC"] == "PENDING"
    assert refused in (0, 1)
    deadline = time.monotonic() + 20
    while replicas.sim_calls("twc").get("POST /api/v2/customers", 0) < 2 + refused:
        assert time.monotonic() < deadline, "the journal never retried the TWC create"
        time.sleep(0.2)
    time.sleep(3)  # both replicas' journal workers have polled several times meanwhile
    assert replicas.sim_calls("twc")["POST /api/v2/customers"] == 2 + refused  # Ada, Grace's retry: once
    replay = replicas.post(1, CREATE, variables)["data"]["createCustomer"]
    assert replay["writeId"] == pending["writeId"]
