"""``python -m bench.instructions --query q2``: what one query costs the gateway, in CPU instructions.

Rates and CPU seconds move with whatever else the machine is doing; an instruction count does not. The gateway
runs in-process over the providers' answers recorded once (from the in-process simulators), so that only the
gateway's own work is counted: GraphQL, identity, the call policy, httpx, parsing and mapping (not the
uvicorn server, not the transport's sockets). Under valgrind's callgrind, instrumentation is switched on for
the measured queries only. ``--src`` runs another tree's ``customer_graph`` (``git archive <commit> src``) for
a before/after comparison on the same recordings; ``--cpu`` times instead (min of batches), without valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Any

QUERIES = ("q1_warm", "q2", "q3")


def _body(query: str) -> dict[str, Any]:
    from bench import queries
    from customer_graph.simulators.dataset import generate

    if query == "q2":
        return {"query": queries.Q2, "variables": {"s": queries.SEARCH_TERMS[0]}}
    if query == "q1_warm":
        email = queries.emails(generate(queries.SEED, queries.CUSTOMERS)).probe
        return {"query": queries.Q1, "variables": {"v": email}}
    return {"query": queries.Q3}


async def _measure(query: str, count: int, cpu: bool) -> None:
    import httpx

    from bench.apps import BENCH_POLICY
    from bench.queries import CUSTOMERS, SEED
    from customer_graph.domain.models import Provider
    from customer_graph.gateway import Gateway
    from customer_graph.server.app import create_app
    from customer_graph.server.demo import demo_settings
    from customer_graph.server.wiring import build_gateway
    from customer_graph.simulators import SimulatorOptions, create_simulators_app
    from customer_graph.simulators.dataset import generate

    answers: dict[tuple[str, str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]] = {}
    simulators = httpx.ASGITransport(
        app=create_simulators_app(
            generate(SEED, CUSTOMERS), SimulatorOptions(seed=SEED, capillary_rate_limit_per_minute=0)
        )
    )

    class Recorded(httpx.AsyncBaseTransport):
        """The simulators' answer the first time a request is seen, the same answer after that."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = await request.aread()
            key = (request.method, str(request.url), b"" if b"token" in request.url.raw_path else body)
            if key not in answers:
                response = await simulators.handle_async_request(request)
                answers[key] = (response.status_code, list(response.headers.raw), await response.aread())
            status, headers, content = answers[key]
            return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

    transport = Recorded()
    settings = demo_settings(
        "http://sim", policies={name: dict(BENCH_POLICY) for name in ("capillary", "martjack", "openloyalty", "twc")}
    )
    gateway = build_gateway(settings, transports=dict.fromkeys(Provider, transport))

    async def factory() -> Gateway:
        return gateway

    app = create_app(factory, graphiql=False)
    body = _body(query)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        for _ in range(3):  # tokens, crosswalk links and caches: what every later query finds in place
            answer = (await client.post("/graphql", json=body)).json()
            if "errors" in answer:
                raise SystemExit(f"{query} answered errors: {answer['errors']}")
        if cpu:
            batches = []
            for _ in range(5):
                started = time.process_time()
                for _ in range(count):
                    await client.post("/graphql", json=body)
                batches.append(1000 * (time.process_time() - started) / count)
            print(f"{query}: {min(batches):.2f} ms CPU per query (min of 5 batches of {count})")
            return
        # Blocking on purpose: nothing else may run while instrumentation is being switched.
        control = shutil.which("callgrind_control") or "callgrind_control"
        subprocess.run([control, "-i", "on", str(os.getpid())], check=True, capture_output=True)  # noqa: ASYNC221
        for _ in range(count):
            await client.post("/graphql", json=body)
        subprocess.run([control, "-i", "off", str(os.getpid())], check=True, capture_output=True)  # noqa: ASYNC221


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--query", choices=QUERIES, default="q2")
    parser.add_argument("--count", type=int, default=3, help="queries measured (default 3)")
    parser.add_argument("--src", help="a tree whose customer_graph to run (default: this one)")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of instructions (no valgrind)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.src:
        sys.path.insert(0, os.path.abspath(args.src))
    if args.cpu or args.inside:
        _run(_measure(args.query, args.count, args.cpu))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind); --cpu times instead", file=sys.stderr)
        return 2
    command = [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--inside",
        "--query",
        args.query,
        "--count",
        str(args.count),
        *(["--src", args.src] if args.src else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stdout, done.stderr[-3000:], sep="\n", file=sys.stderr)
        return 1
    total = int(found.group(1))
    print(
        f"{args.query}: {total / args.count / 1e6:.1f} M instructions per query "
        f"({total:,} for {args.count}; {args.src or 'this tree'})"
    )
    return 0


def _run(coroutine: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


if __name__ == "__main__":
    sys.exit(main())
