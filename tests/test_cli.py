"""The command line, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "customer_graph.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_the_committed_schema_matches_the_code() -> None:
    result = run("schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schema.graphql").read_text(), (
        "schema.graphql is stale: run `customer-graph schema > schema.graphql` and review the API change"
    )


def test_simulate_stats_prints_the_overlap_of_the_seeded_dataset() -> None:
    result = run("simulate", "--stats", "--seed", "7", "--customers", "50")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["seed"] == 7 and stats["persons"] == 50
    assert sum(stats["by_provider_count"].values()) == 50
    assert run("simulate", "--stats", "--seed", "7", "--customers", "50").stdout == result.stdout


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_simulate_serves_all_four_providers_on_one_loopback_port() -> None:
    import time

    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "customer_graph.cli", "simulate", "--port", str(port), "--customers", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/twc/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulators did not start"
                time.sleep(0.2)
        for prefix, title in [
            ("/capillary", "Capillary"),
            ("/martjack", "Martjack"),
            ("/openloyalty", "Open Loyalty"),
            ("/twc", "TWC"),
        ]:
            document = httpx.get(f"{base}{prefix}/openapi.json", timeout=5).json()
            assert document["openapi"].startswith("3.1")
            assert title.lower() in document["info"]["title"].lower()
            assert httpx.get(f"{base}{prefix}/__sim/stats", timeout=5).json()["total"] == 0
        # A real provider call, refused for want of credentials, the way TWC refuses it.
        assert httpx.get(f"{base}/twc/api/v2/customers/search?email=x@example.com", timeout=5).status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    for prefix in ("/capillary", "/martjack", "/openloyalty", "/twc"):
        assert f"{base}{prefix}" in output


def test_demo_serves_graphiql_the_gateway_and_the_simulators_on_one_port() -> None:
    import time

    import httpx

    port = free_port()
    key = "cg_demo_test_key_with_every_scope"
    process = subprocess.Popen(
        [sys.executable, "-m", "customer_graph.cli", "demo", "--port", str(port), "--api-key", key],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo did not become ready"
            time.sleep(0.2)
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        query = {"query": "{ providers { name health } }"}
        assert httpx.post(f"{base}/graphql", json=query, timeout=10).status_code == 401
        answer = httpx.post(f"{base}/graphql", json=query, headers={"X-API-Key": key}, timeout=10).json()
        assert answer == {
            "data": {
                "providers": [{"name": p, "health": "UP"} for p in ("CAPILLARY", "MARTJACK", "OPEN_LOYALTY", "TWC")]
            }
        }
        assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/sim/openloyalty/__sim/stats", timeout=5).status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert f"{base}/graphql" in output
    assert f"API key:     {key}" in output
    assert output.count("# ") >= 3  # three example queries
