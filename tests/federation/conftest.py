"""Fixtures of the federation tests: real processes on loopback ports, each stopped when its fixture ends.

- ``customer_graph``: ``customer-graph demo`` (the gateway and the four provider simulators on one port);
- ``node_gateway``: the pinned npm packages of ``package.json``, installed with ``npm ci`` when
  ``node_modules`` is missing or was installed from another lock file. Node.js and npm are required: without
  them the tests fail (they are never skipped), saying what to install.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE_MAJOR = 20
STAMP = HERE / "node_modules" / ".customer-graph-lock.sha256"
SIM_PREFIXES = ("capillary", "martjack", "openloyalty", "twc")
# The demo's API key with every scope, given to it rather than minted, so that the tests and the gateway can send it.
API_KEY = "cg_federation_tests_key_with_every_scope"
AUTH = {"X-API-Key": API_KEY}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A process started by a test, with its output in ``log``."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    base_url: str

    def output(self, last: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-last:] if self.log.exists() else ""

    def wait_until_ready(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with status {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{self.name} was not ready at {self.base_url}{path} after {timeout:.0f}s:\n{self.output()}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


@contextmanager
def running(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    ready: str,
    logs: Path,
    timeout: float = 90,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> Iterator[Service]:
    """Starts ``argv``, waits until ``GET ready`` answers 200, and always stops the process afterwards."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(argv),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
    service = Service(name, process, log, f"http://127.0.0.1:{port}")
    try:
        service.wait_until_ready(ready, timeout)
        yield service
    finally:
        service.stop()


# -- customer-graph ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def customer_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "customer_graph.cli",
        "demo",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        API_KEY,
    ]
    with running(
        "customer-graph", argv, port=port, ready="/readyz", logs=tmp_path_factory.mktemp("customer-graph")
    ) as service:
        yield service


# -- node and the pinned npm packages ----------------------------------------------------------------------


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(
            f"the federation tests need Node.js {NODE_MAJOR}+ and npm on PATH to run @apollo/gateway, "
            f"and `{tool}` was not found: install Node.js {NODE_MAJOR} (https://nodejs.org), then rerun"
        )
    return path


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the pinned packages installed in ``tests/federation/node_modules``."""
    node = _require("node")
    npm = _require("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < NODE_MAJOR:
        pytest.fail(f"the federation tests need Node.js {NODE_MAJOR}+ (@apollo/server 5), found {version}")
    digest = _lock_digest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=600, check=False
        )
        if result.returncode != 0:
            pytest.fail(
                f"`npm ci` in {HERE} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        STAMP.write_text(digest + "\n")
    return node
