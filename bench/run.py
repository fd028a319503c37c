"""``python -m bench [--quick]``: the whole benchmark, written to ``bench/results/latest.{json,md}``.

Layout on a two-core machine: the gateway on core 0 (one uvicorn worker, pinned), the simulators and this
load generator on core 1; then the gateway as two workers, unpinned. Simulators run with a fixed added latency
per provider call (0 ms, then 20 ms). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import critical, loadgen, queries, report
from bench.apps import BENCH_POLICY
from bench.procstat import TreeCpu, machine_busy_seconds, tree

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
GATEWAY_CORE, LOAD_CORE = 0, 1
PREFIXES = {"CAPILLARY": "capillary", "MARTJACK": "martjack", "OPEN_LOYALTY": "openloyalty", "TWC": "twc"}
POLICIES = {name: dict(BENCH_POLICY) for name in PREFIXES.values()}
OPEN_LOOP_FRACTION = 0.5  # open-loop rate as a fraction of the same query's closed-loop rate
Q4_RATE = 5.0  # updates a second: "a low rate"
CONCURRENCY = {"q1_warm": 32, "q1_cold": 16, "q2": 8, "q3": 32, "q4": 2, "floor": 16}
MIN_COMPLETED = 20  # a closed-loop window stretches (up to 4x) until this many requests are in


@dataclass(frozen=True)
class Timing:
    warmup: float
    closed: float
    open: float
    replays: int
    two_worker_latencies: tuple[int, ...]


FULL = Timing(warmup=2.0, closed=10.0, open=10.0, replays=40, two_worker_latencies=(0, 20))
QUICK = Timing(warmup=0.3, closed=1.2, open=1.5, replays=12, two_worker_latencies=(0,))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def pinned(core: int | None) -> Callable[[], None] | None:
    """Pin a child to one core, or (None) free it of the affinity this process set for itself."""
    if (os.cpu_count() or 1) < 2:
        return None
    cores = {core} if core is not None else set(range(os.cpu_count() or 1))
    return lambda: os.sched_setaffinity(0, cores)


@contextlib.contextmanager
def process(
    args: list[str], *, core: int | None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        preexec_fn=pinned(core),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def wait_until(ready: Callable[[], Any], proc: subprocess.Popen[bytes], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if await ready():
                return
        except (httpx.HTTPError, OSError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {within}s")


class Simulators:
    def __init__(self, port: int, client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.client = client
        self.cpu = TreeCpu([proc.pid])
        self.url = f"http://{HOST}:{port}"

    async def set_latency(self, ms: int) -> None:
        for prefix in PREFIXES.values():
            (await self.client.post(f"{self.url}/{prefix}/__sim/faults", json={"latency_ms": ms})).raise_for_status()

    async def calls(self) -> dict[str, dict[str, int]]:
        """Provider calls so far, per provider and endpoint, token requests left out."""
        result = {}
        for provider, prefix in PREFIXES.items():
            stats = (await self.client.get(f"{self.url}/{prefix}/__sim/stats")).json()["calls"]
            result[provider] = {k: v for k, v in stats.items() if not queries.is_token_call(k)}
        return result


@contextlib.asynccontextmanager
async def simulators(latency_ms: int) -> AsyncIterator[Simulators]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "customer_graph.cli",
        "simulate",
        "--host",
        HOST,
        "--port",
        str(port),
        "--seed",
        str(queries.SEED),
        "--customers",
        str(queries.CUSTOMERS),
        "--capillary-rpm",
        "0",
    ]
    with process(args, core=LOAD_CORE) as proc:
        async with httpx.AsyncClient(timeout=30) as client:

            async def ready() -> bool:
                return (await client.get(f"http://{HOST}:{port}/twc/__sim/stats")).status_code == 200

            await wait_until(ready, proc, "simulators")
            sims = Simulators(port, client, proc)
            await sims.set_latency(latency_ms)
            yield sims


@dataclass
class Served:
    port: int
    cpu: TreeCpu
    pid: int


@contextlib.asynccontextmanager
async def uvicorn(factory: str, *, workers: int, env: dict[str, str]) -> AsyncIterator[Served]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if workers > 1:
        args += ["--workers", str(workers)]
    with process(args, core=GATEWAY_CORE if workers == 1 else None, env=env) as proc:
        probe = queries.body("{ __typename }")
        request = loadgen.graphql_post(f"{HOST}:{port}", probe)

        async def ready() -> bool:
            connection = await loadgen.Connection.open(HOST, port)
            try:
                status, _ = await connection.send(request)
            finally:
                connection.close()
            return status == 200 and (workers == 1 or len(tree(proc.pid)) > workers)

        await wait_until(ready, proc, factory)
        if workers > 1:  # every worker answers once it is up: give the later one a moment
            await asyncio.sleep(1.0)
        yield Served(port, TreeCpu(tree(proc.pid)), proc.pid)


# -- one phase --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    query: str
    mode: str  # closed | open
    concurrency: int | None
    rate: float | None
    seconds: float
    completed: int
    rps: float
    errors: int
    error_reasons: dict[str, int]
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    cpu_ms_per_request: float | None
    gateway_cpu_utilisation: float
    simulator_cpu_utilisation: float | None
    load_generator_cpu_utilisation: float
    other_cpu_utilisation: float  # everything else on the machine: other users' work skews a run
    provider_calls_per_request: float | None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def phase(
    name: str,
    mode: str,
    served: Served,
    sims: Simulators | None,
    requests: Iterator[bytes],
    *,
    timing: Timing,
    concurrency: int = 0,
    rate: float = 0.0,
    check: loadgen.Check = loadgen.default_check,
    finite: bool = False,
) -> Phase:
    marks: dict[str, Any] = {}

    async def snapshot(key: str) -> None:
        calls = await sims.calls() if sims else None
        own = os.times()
        marks[key] = (
            time.perf_counter(),
            served.cpu.read(),
            sims.cpu.read() if sims else 0.0,
            calls,
            own.user + own.system,
            machine_busy_seconds(),
        )

    async def start() -> None:
        await snapshot("start")

    async def stop() -> None:
        await snapshot("stop")

    if mode == "closed":
        tally, _ = await loadgen.closed_loop(
            HOST,
            served.port,
            requests,
            concurrency=concurrency,
            warmup=0.0 if finite else timing.warmup,
            duration=timing.closed,
            min_completed=MIN_COMPLETED,
            check=check,
            on_start=start,
            on_stop=stop,
        )
    else:
        tally, _ = await loadgen.open_loop(
            HOST, served.port, requests, rate=rate, duration=timing.open, check=check, on_start=start, on_stop=stop
        )
    (t0, cpu0, sim0, calls0, own0, busy0), (t1, cpu1, sim1, calls1, own1, busy1) = marks["start"], marks["stop"]
    wall = t1 - t0
    calls = None
    if calls0 is not None and tally.completed:
        total = sum(n for provider in calls1.values() for n in provider.values())
        total -= sum(n for provider in calls0.values() for n in provider.values())
        calls = round(total / tally.completed, 2)
    lat = tally.latencies
    return Phase(
        query=name,
        mode=mode,
        concurrency=concurrency if mode == "closed" else None,
        rate=round(rate, 1) if mode == "open" else None,
        seconds=round(wall, 2),
        completed=tally.completed,
        rps=round(tally.completed / wall, 1) if wall > 0 else 0.0,
        errors=tally.errors,
        error_reasons=tally.reasons,
        p50_ms=_ms(loadgen.percentile(lat, 0.5)),
        p90_ms=_ms(loadgen.percentile(lat, 0.9)),
        p99_ms=_ms(loadgen.percentile(lat, 0.99)),
        max_ms=_ms(max(lat) if lat else None),
        cpu_ms_per_request=round(1000 * (cpu1 - cpu0) / tally.completed, 3) if tally.completed else None,
        gateway_cpu_utilisation=round((cpu1 - cpu0) / wall, 2) if wall > 0 else 0.0,
        simulator_cpu_utilisation=round((sim1 - sim0) / wall, 2) if sims and wall > 0 else None,
        load_generator_cpu_utilisation=round((own1 - own0) / wall, 2) if wall > 0 else 0.0,
        other_cpu_utilisation=round(max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - (sim1 - sim0) - (own1 - own0)) / wall, 2)
        if wall > 0
        else 0.0,
        provider_calls_per_request=calls,
    )


# -- checks of answers -------------------------------------------------------------------------------------


def check_found(status: int, body: bytes) -> str | None:
    problem = loadgen.default_check(status, body)
    if problem is None and b'"customerByIdentifier":null' in body:
        return "not found"
    return problem


def check_update(status: int, body: bytes) -> str | None:
    problem = loadgen.default_check(status, body)
    if problem is not None:
        return problem
    payload = orjson.loads(body)["data"]["updateCustomer"]
    if payload["userErrors"]:
        return "userError " + payload["userErrors"][0]["code"]
    failed = [o["status"] for o in payload["outcomes"] if o["status"] not in ("APPLIED", "SKIPPED")]
    return f"outcome {failed[0]}" if failed else None


# -- the minimum-calls pass ----------------------------------------------------------------------------------


def _diff(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    result = {}
    for provider, calls in after.items():
        delta = {k: n - before.get(provider, {}).get(k, 0) for k, n in calls.items()}
        result[provider] = {k: n for k, n in delta.items() if n}
    return result


async def one(port: int, body: bytes) -> dict[str, Any]:
    connection = await loadgen.Connection.open(HOST, port)
    try:
        status, answer = await connection.send(loadgen.graphql_post(f"{HOST}:{port}", body))
    finally:
        connection.close()
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
    result: dict[str, Any] = orjson.loads(answer)
    return result


async def counted(port: int, sims: Simulators, body: bytes) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    before = await sims.calls()
    answer = await one(port, body)
    return answer, _diff(before, await sims.calls())


def _verdict(
    name: str, calls: dict[str, dict[str, int]], minimum: dict[str, int] | None, errors: Any
) -> dict[str, Any]:
    per_provider = {p: sum(c.values()) for p, c in calls.items()}
    entry: dict[str, Any] = {
        "query": name,
        "calls": per_provider,
        "total": sum(per_provider.values()),
        "endpoints": calls,
        "errors": errors,
    }
    if minimum is not None:
        entry["minimum"] = minimum
        entry["minimum_total"] = sum(minimum.values())
        entry["at_minimum"] = per_provider == minimum and not errors
    return entry


async def minimum_pass(
    port: int, sims: Simulators, emails: queries.Emails, mutation: dict[str, Any]
) -> list[dict[str, Any]]:
    results = []
    for name, minimum in (("q1_cold", queries.Q1_COLD_MINIMUM), ("q1_warm", queries.Q1_WARM_MINIMUM)):
        answer, calls = await counted(port, sims, queries.body(queries.Q1, {"v": emails.probe}))
        results.append(_verdict(name, calls, minimum, answer.get("errors")))
    for term in queries.SEARCH_TERMS:
        answer, calls = await counted(port, sims, queries.body(queries.Q2, {"s": term}))
        page = answer["data"]["customers"]
        hits = Counter(r["provider"] for e in page["edges"] for r in e["node"]["records"])
        complete = not page["pageInfo"]["hasNextPage"]
        entry = _verdict(f"q2 {term!r}", calls, queries.q2_minimum(hits) if complete else None, answer.get("errors"))
        entry["persons"] = len(page["edges"])
        results.append(entry)
    answer, calls = await counted(port, sims, queries.body(queries.Q3))
    results.append(_verdict("q3", calls, {p: 0 for p in PREFIXES}, answer.get("errors")))
    if mutation["available"] and mutation.get("person_ids"):
        body = q4_body(mutation["person_ids"][0], 0)
        answer, calls = await counted(port, sims, body)
        results.append(_verdict("q4", calls, None, answer.get("errors")))
    return results


# -- Q4 ----------------------------------------------------------------------------------------------------


async def mutation_support(port: int) -> dict[str, Any]:
    answer = await one(port, queries.body(queries.INTROSPECT_MUTATIONS))
    mutation_type = answer["data"]["__schema"]["mutationType"]
    fields = {f["name"]: {a["name"] for a in f["args"]} for f in (mutation_type or {}).get("fields", [])}
    if "updateCustomer" not in fields:
        return {"available": False, "reason": "updateCustomer is not in the schema"}
    if not {"id", "patch", "idempotencyKey"} <= fields["updateCustomer"]:
        return {
            "available": False,
            "reason": f"updateCustomer takes {sorted(fields['updateCustomer'])}, not id/patch/idempotencyKey",
        }
    return {"available": True}


FIRST_NAMES = ("Avery", "Blake", "Casey", "Devon")


def q4_body(person_id: str, index: int) -> bytes:
    return queries.body(
        queries.Q4,
        {
            "id": person_id,
            "patch": {"firstName": FIRST_NAMES[index % len(FIRST_NAMES)]},
            "key": f"bench-{uuid.uuid4().hex}",
        },
    )


def q4_requests(person_ids: list[str]) -> Iterator[bytes]:
    for index in range(10**9):
        yield q4_body(person_ids[index % len(person_ids)], index)


# -- one gateway configuration -----------------------------------------------------------------------------


async def gateway_run(
    sims: Simulators, latency: int, workers: int, timing: Timing, emails: queries.Emails, with_minimum: bool
) -> dict[str, Any]:
    env = {"BENCH_SIM_URL": sims.url}
    phases: list[Phase] = []
    result: dict[str, Any] = {
        "latency_ms": latency,
        "workers": workers,
        "pinned": f"core {GATEWAY_CORE}" if workers == 1 else "no",
    }
    async with uvicorn("bench.apps:gateway", workers=workers, env=env) as served:
        host = f"{HOST}:{served.port}"

        def post(body: bytes) -> bytes:
            return loadgen.graphql_post(host, body)

        async def pair(
            name: str, bodies: Callable[[], Iterator[bytes]], check: loadgen.Check, fixed_rate: float | None = None
        ) -> None:
            closed = await phase(
                name, "closed", served, sims, bodies(), timing=timing, concurrency=CONCURRENCY[name], check=check
            )
            phases.append(closed)
            rate = fixed_rate or max(1.0, round(OPEN_LOOP_FRACTION * closed.rps, 1))
            phases.append(await phase(name, "open", served, sims, bodies(), timing=timing, rate=rate, check=check))

        mutation = await mutation_support(served.port)
        warm_ids = []
        for email in emails.warm:
            answer = await one(served.port, queries.body(queries.Q1, {"v": email}))
            warm_ids.append(answer["data"]["customerByIdentifier"]["id"])
        if mutation["available"]:
            mutation["person_ids"] = warm_ids[:8]
        if with_minimum:
            result["provider_calls"] = await minimum_pass(served.port, sims, emails, mutation)

        q3 = [post(queries.body(queries.Q3))]
        await pair("q3", lambda: queries.cycle(q3), loadgen.default_check)
        warm = [post(queries.body(queries.Q1, {"v": e})) for e in emails.warm]
        await pair("q1_warm", lambda: queries.cycle(warm), check_found)
        cold_closed = [post(queries.body(queries.Q1, {"v": e})) for e in emails.cold_closed]
        cold_open = [post(queries.body(queries.Q1, {"v": e})) for e in emails.cold_open]
        phases.append(
            await phase(
                "q1_cold",
                "closed",
                served,
                sims,
                iter(cold_closed),
                timing=timing,
                concurrency=CONCURRENCY["q1_cold"],
                check=check_found,
                finite=True,
            )
        )
        rate = max(1.0, round(OPEN_LOOP_FRACTION * phases[-1].rps, 1))
        phases.append(
            await phase("q1_cold", "open", served, sims, iter(cold_open), timing=timing, rate=rate, check=check_found)
        )
        q2 = [post(queries.body(queries.Q2, {"s": queries.SEARCH_TERMS[0]}))]
        await pair("q2", lambda: queries.cycle(q2), loadgen.default_check)
        if mutation["available"]:
            ids = mutation["person_ids"]
            await pair("q4", lambda: (post(b) for b in q4_requests(ids)), check_update, fixed_rate=Q4_RATE)
        result["q4"] = {k: v for k, v in mutation.items() if k != "person_ids"}
        result["peak_rss_mib"] = [round(v, 1) for v in served.cpu.peak_rss()]
        result["processes"] = len(served.cpu.pids)
    result["phases"] = [asdict(p) for p in phases]
    return result


async def floor_run(page: dict[str, Any], timing: Timing, rate: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
        f.write(orjson.dumps(page))
        data_path = f.name
    try:
        async with uvicorn("bench.apps:floor", workers=1, env={"BENCH_FLOOR_DATA": data_path}) as served:
            request = [
                loadgen.graphql_post(f"{HOST}:{served.port}", queries.body(queries.Q2, {"s": queries.SEARCH_TERMS[0]}))
            ]
            closed = await phase(
                "floor", "closed", served, None, queries.cycle(request), timing=timing, concurrency=CONCURRENCY["floor"]
            )
            opened = await phase("floor", "open", served, None, queries.cycle(request), timing=timing, rate=rate)
            rss = served.cpu.peak_rss()
    finally:
        os.unlink(data_path)
    return {
        "phases": [asdict(closed), asdict(opened)],
        "peak_rss_mib": [round(v, 1) for v in rss],
        "persons": len(page["edges"]),
    }


async def critical_paths(sims: Simulators, emails: queries.Emails, timing: Timing) -> tuple[dict[str, Any], Any]:
    """Record each query's provider calls with an in-process gateway, then replay them as the critical path.
    Runs on the gateway's core while no gateway is up."""
    previous = os.sched_getaffinity(0)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {GATEWAY_CORE})
    try:
        async with critical.recorder(sims.url, POLICIES) as rec:
            await rec.client.post("/graphql", json={"query": queries.Q3})  # tokens are fetched before recording
            await rec.client.post("/graphql", json={"query": queries.Q2, "variables": {"s": "zz"}})
            await rec.record("q1_cold", queries.body(queries.Q1, {"v": emails.probe}))
            await rec.record("q1_warm", queries.body(queries.Q1, {"v": emails.probe}))
            page = await rec.record("q2", queries.body(queries.Q2, {"s": queries.SEARCH_TERMS[0]}))
        paths = {}
        for name, rounds in rec.rounds.items():
            replayed = await critical.replay(HOST, sims.port, rounds, timing.replays)
            paths[name] = {**asdict(replayed), "minimum_rounds": queries.CRITICAL_ROUNDS[name]}
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, previous)
    return paths, page["data"]["customers"]


# -- the whole run ---------------------------------------------------------------------------------------------


def versions() -> dict[str, Any]:
    packages = [
        "customer-graph",
        "strawberry-graphql",
        "graphql-core",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "httpx",
        "httpcore",
        "pydantic",
        "orjson",
        "aiodataloader",
    ]
    found = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": found,
        "git_commit": commit or None,
        "git_dirty": bool(dirty),
        "machine": {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release()},
    }


async def run(timing: Timing, quick: bool, latencies: tuple[int, ...]) -> dict[str, Any]:
    from customer_graph.simulators.dataset import generate

    emails = queries.emails(generate(queries.SEED, queries.CUSTOMERS))
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {LOAD_CORE})
    started = time.time()
    result: dict[str, Any] = {
        "quick": quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "versions": versions(),
        "setup": {
            "seed": queries.SEED,
            "customers": queries.CUSTOMERS,
            "search_term": queries.SEARCH_TERMS[0],
            "page": queries.PAGE,
            "policy": BENCH_POLICY,
            "open_loop_fraction": OPEN_LOOP_FRACTION,
            "q4_rate": Q4_RATE,
            "concurrency": CONCURRENCY,
            "timing": asdict(timing),
            "eligible_q1_persons": 1 + len(emails.warm) + len(emails.cold_closed) + len(emails.cold_open),
        },
        "runs": [],
        "critical_path": {},
        "floor": None,
    }
    for latency in latencies:
        async with simulators(latency) as sims:
            paths, page = await critical_paths(sims, emails, timing)
            result["critical_path"][str(latency)] = paths
            print(
                f"[{time.time() - started:5.0f}s] {latency} ms: critical path "
                + ", ".join(f"{k} {v['p50_ms']:.1f} ms" for k, v in paths.items()),
                flush=True,
            )
            for workers in (1, 2):
                if workers == 2 and latency not in timing.two_worker_latencies:
                    continue
                run_result = await gateway_run(sims, latency, workers, timing, emails, with_minimum=workers == 1)
                result["runs"].append(run_result)
                print(
                    f"[{time.time() - started:5.0f}s] {latency} ms, {workers} worker(s): "
                    + ", ".join(f"{p['query']}/{p['mode']} {p['rps']}/s" for p in run_result["phases"]),
                    flush=True,
                )
            if result["floor"] is None:
                gateway_q2 = next(
                    p
                    for r in result["runs"]
                    for p in r["phases"]
                    if r["workers"] == 1 and p["query"] == "q2" and p["mode"] == "open"
                )
                result["floor"] = await floor_run(page, timing, gateway_q2["rate"])
                print(
                    f"[{time.time() - started:5.0f}s] floor: "
                    + ", ".join(f"{p['mode']} {p['rps']}/s" for p in result["floor"]["phases"]),
                    flush=True,
                )
    result["seconds"] = round(time.time() - started, 1)
    result["targets"] = report.targets(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases, one two-worker run: under two minutes")
    parser.add_argument("--latencies", default="0,20", help="added provider latencies in ms (default 0,20)")
    parser.add_argument("--out", default=str(RESULTS), help="directory for latest.json and latest.md")
    args = parser.parse_args(argv)
    timing = QUICK if args.quick else FULL
    latencies = tuple(int(x) for x in args.latencies.split(","))
    try:
        import uvloop

        result = uvloop.run(run(timing, args.quick, latencies))
    except ImportError:
        result = asyncio.run(run(timing, args.quick, latencies))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    (out / "latest.md").write_text(report.markdown(result))
    print(report.markdown(result))
    return 0
