"""``python -m bench.profile --query q2``: where the gateway's CPU goes under load, sampled with py-spy.

Starts the simulators and the gateway as ``make bench`` does (one uvicorn worker pinned to core 0), runs the
query in a closed loop, and samples the gateway process with ``py-spy record`` (``pip install py-spy``; it is
in the dev extras). Writes the raw stacks (``bench/results/profile-<query>.folded``: open it in speedscope,
or feed it to flamegraph.pl) and prints the share of samples by layer and the hottest frames.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
from pathlib import Path

from bench import loadgen, queries
from bench.run import CONCURRENCY, HOST, RESULTS, simulators, uvicorn

# First match wins: a sample belongs to the innermost layer that any of its frames names.
LAYERS = (
    ("parse provider JSON (orjson + pydantic)", ("ProviderHttp.parse", "model_validate")),
    ("map provider records to the domain", ("mapper.py",)),
    ("provider call: policy, httpx client, transport", ("ProviderHttp.request", "transport.py")),
    ("identity and crosswalk store", ("identity/", "store/")),
    ("loaders", ("aiodataloader", "loaders.py")),
    ("other connector code", ("connectors/",)),
    ("resolvers", ("resolvers/",)),
    ("GraphQL execution (graphql-core, strawberry)", ("graphql/", "strawberry/")),
    ("HTTP server (uvicorn, starlette, middleware)", ("uvicorn/protocols", "starlette/", "customer_graph/server/")),
)


def summarise(folded: Path, top: int = 25) -> str:
    layers: collections.Counter[str] = collections.Counter()
    frames: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames[stack.rsplit(";", 1)[-1]] += samples
        layer = next((name for name, marks in LAYERS if any(m in stack for m in marks)), "asyncio and the rest")
        layers[layer] += samples
    lines = [f"{total} samples", "", "share by layer:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in layers.most_common()]
    lines += ["", "hottest frames (self time):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in frames.most_common(top)]
    return "\n".join(lines) + "\n"


async def profile(query: str, latency: int, seconds: float, rate: int) -> Path:
    from customer_graph.simulators.dataset import generate

    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    emails = queries.emails(generate(queries.SEED, queries.CUSTOMERS))
    bodies = {
        "q1_warm": [queries.body(queries.Q1, {"v": e}) for e in emails.warm],
        "q2": [queries.body(queries.Q2, {"s": queries.SEARCH_TERMS[0]})],
        "q3": [queries.body(queries.Q3)],
    }[query]
    out = RESULTS / f"profile-{query}.folded"
    RESULTS.mkdir(parents=True, exist_ok=True)
    async with (
        simulators(latency) as sims,
        uvicorn("bench.apps:gateway", workers=1, env={"BENCH_SIM_URL": sims.url}) as served,
    ):
        requests = [loadgen.graphql_post(f"{HOST}:{served.port}", b) for b in bodies]
        load = asyncio.create_task(
            loadgen.closed_loop(
                HOST,
                served.port,
                queries.cycle(requests),
                concurrency=CONCURRENCY[query],
                warmup=1.0,
                duration=seconds + 1.0,
            )
        )
        await asyncio.sleep(1.5)
        sampler = await asyncio.create_subprocess_exec(
            pyspy,
            "record",
            "--pid",
            str(served.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, err = await sampler.communicate()
        tally, measured = await load
        if sampler.returncode != 0:
            raise SystemExit(f"py-spy failed: {err.decode()[-500:]}")
        print(f"{query}: {tally.completed / measured:.1f} requests/s during the profile, {tally.errors} errors")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--query", choices=("q1_warm", "q2", "q3"), default="q2")
    parser.add_argument("--latency", type=int, default=0, help="added provider latency in ms (default 0)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="samples a second")
    parser.add_argument("--summarise", metavar="FOLDED", help="only summarise an existing .folded file")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(Path(args.summarise)), end="")
        return 0
    try:
        import uvloop

        folded = uvloop.run(profile(args.query, args.latency, args.seconds, args.rate))
    except ImportError:
        folded = asyncio.run(profile(args.query, args.latency, args.seconds, args.rate))
    summary = summarise(folded)
    folded.with_suffix(".txt").write_text(summary)
    print(summary, end="")
    print(f"\nstacks: {folded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
