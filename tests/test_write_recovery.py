"""Writes survive what real processes suffer: a client that gives up mid-request, a gateway killed with -9
between two providers. Real processes (the simulators and the gateway under uvicorn) on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from customer_graph.domain.models import Provider
from customer_graph.server.demo import demo_settings
from customer_graph.server.wiring import build_connector
from tests.test_cli import free_port

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "grace.hopper@example.org"
CREATE = (
    """mutation($key: String) { createCustomer(idempotencyKey: $key, input: {
  firstName: "Grace", lastName: "Hopper", email: "%s", mobile: "+44 7911 123457", password: "C0bol-rules"}) {
  writeId customer { id records { provider } } outcomes { provider status } userErrors { code } } }"""
    % EMAIL
)


def wait_until(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up"
        time.sleep(0.1)


@pytest.fixture
def simulators() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "customer_graph.cli",
            "simulate",
            "--port",
            str(port),
            "--capillary-rpm",
            "0",
            "--customers",
            "40",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{base}/twc/openapi.json")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def write_config(tmp_path: Path, sims: str) -> Path:
    settings = demo_settings(sims, store_url=f"sqlite:///{tmp_path / 'store.sqlite3'}")
    lines = [f'[store]\nurl = "{settings.store.url}"\n', "[auth]\nrequired = false  # no client authentication here\n"]
    for name, section in settings.providers.model_dump(mode="json").items():
        lines.append(f"[providers.{name}]")
        for key, value in section.items():
            if key in ("policy", "enabled") or value in (None, [], {}):
                continue
            if key in ("oauth_secret", "secret", "password", "client_secret"):
                value = getattr(getattr(settings.providers, name), key).get_secret_value()
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    config = tmp_path / "gateway.toml"
    config.write_text("\n".join(lines))
    return config


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    return str(value)


def start_gateway(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "customer_graph.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(f"http://127.0.0.1:{port}/readyz")
    return process


async def customers_with_email(sims: str) -> dict[Provider, int]:
    """How many customers each provider holds with the e-mail, asked of the providers themselves."""
    settings = demo_settings(sims)
    counts = {}
    for provider, section in settings.enabled_providers().items():
        connector = build_connector(provider, section)
        try:
            page = await connector.search(EMAIL, 0, 10)
            counts[provider] = (
                sum(1 for r in page.records if not r.identifiers or any(i.value == EMAIL for i in r.identifiers))
                if page.total is None
                else page.total
            )
        finally:
            await connector.aclose()
    return counts


def sim_calls(sims: str, prefix: str, key: str) -> int:
    calls: dict[str, int] = httpx.get(f"{sims}/{prefix}/__sim/stats", timeout=5).json()["calls"]
    return calls.get(key, 0)


def test_a_client_retry_after_a_dropped_connection_creates_one_customer_per_provider(
    simulators: str, tmp_path: Path
) -> None:
    port = free_port()
    gateway = start_gateway(write_config(tmp_path, simulators), port)
    try:
        httpx.post(f"{simulators}/twc/__sim/faults", json={"latency_ms": 1500}).raise_for_status()
        url = f"http://127.0.0.1:{port}/graphql"
        with pytest.raises(httpx.ReadTimeout):  # the client gives up while TWC is still working
            httpx.post(url, json={"query": CREATE, "variables": {"key": "grace-1"}}, timeout=0.5)
        retried = httpx.post(url, json={"query": CREATE, "variables": {"key": "grace-1"}}, timeout=30).json()
        payload = retried["data"]["createCustomer"]
        assert [o["status"] for o in payload["outcomes"]] == ["APPLIED"] * 4
        assert len(payload["customer"]["records"]) == 4
        assert asyncio.run(customers_with_email(simulators)) == dict.fromkeys(Provider, 1)
        assert sim_calls(simulators, "twc", "POST /api/v2/customers") == 1
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def test_a_gateway_killed_between_providers_finishes_the_write_on_restart(simulators: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, simulators)
    port = free_port()
    gateway = start_gateway(config, port)
    httpx.post(f"{simulators}/twc/__sim/faults", json={"latency_ms": 2000}).raise_for_status()
    client = httpx.Client(timeout=30)
    try:
        with pytest.raises(httpx.TransportError):
            # Kill -9 as soon as TWC has the create in hand and the fast providers have answered.
            import threading

            def kill_when_in_flight() -> None:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if sim_calls(simulators, "twc", "POST /api/v2/customers") == 1 and sim_calls(
                        simulators, "openloyalty", "POST /api/{storeCode}/admin/customer/register"
                    ):
                        break
                    time.sleep(0.02)
                time.sleep(0.2)
                os.kill(gateway.pid, signal.SIGKILL)

            killer = threading.Thread(target=kill_when_in_flight)
            killer.start()
            client.post(f"http://127.0.0.1:{port}/graphql", json={"query": CREATE, "variables": {"key": "grace-2"}})
        killer.join()
        gateway.wait(timeout=10)
        assert gateway.returncode == -signal.SIGKILL
        # Restart at once, while TWC is still finishing the create it received: the journal must notice it.
        gateway = start_gateway(config, port)
        deadline = time.monotonic() + 20
        while True:
            answer = client.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": '{ customerByIdentifier(type: EMAIL, value: "%s") { records { provider } } }' % EMAIL},
            ).json()
            records = (answer["data"]["customerByIdentifier"] or {}).get("records") or []
            if len(records) == 4:
                break
            assert time.monotonic() < deadline, answer
            time.sleep(0.25)
        assert asyncio.run(customers_with_email(simulators)) == dict.fromkeys(Provider, 1)
        for prefix, key in (
            ("capillary", "POST /v2/customers"),
            ("martjack", "POST /developerapi/Customer/{merchantId}/Create"),
            ("openloyalty", "POST /api/{storeCode}/admin/customer/register"),
        ):
            assert sim_calls(simulators, prefix, key) == 1, prefix  # nothing applied twice
    finally:
        client.close()
        gateway.terminate()
        gateway.wait(timeout=10)


def test_journal_list_shows_pending_writes_and_retry_finishes_them(simulators: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, simulators)
    port = free_port()
    gateway = start_gateway(config, port)
    try:
        httpx.post(f"{simulators}/twc/__sim/faults", json={"error_rate": 1.0, "error_status": 503}).raise_for_status()
        payload = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": CREATE}, timeout=30).json()
        statuses = {o["provider"]: o["status"] for o in payload["data"]["createCustomer"]["outcomes"]}
        assert statuses["TWC"] == "PENDING"
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)

    def journal(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "customer_graph.cli", "journal", action, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )

    listed = journal("list")
    assert listed.returncode == 1
    assert "createCustomer" in listed.stdout and "PENDING" in listed.stdout and "PROVIDER_UNAVAILABLE" in listed.stdout
    assert EMAIL not in listed.stdout and "Hopper" not in listed.stdout  # no customer data
    httpx.delete(f"{simulators}/twc/__sim/faults").raise_for_status()
    retried = journal("retry")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "no open writes" in retried.stdout
    assert asyncio.run(customers_with_email(simulators)) == dict.fromkeys(Provider, 1)
