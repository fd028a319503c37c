"""Targets as ratios within one run, and the markdown table of a result."""

from __future__ import annotations

from typing import Any

LATENCY_TARGET = 1.15  # p50 at 20 ms provider latency / the providers' critical path
CPU_TARGET = 1.5  # gateway CPU per Q2 / the bare Strawberry floor's
Q3_TARGET = 1000.0  # requests/s per worker
LABELS = {
    "q1_cold": "Q1 unknown e-mail",
    "q1_warm": "Q1 known e-mail",
    "q2": "Q2 page of 50",
    "q3": "Q3 providers",
    "q4": "Q4 updateCustomer",
    "floor": "floor (bare Strawberry, Q2 from memory)",
}


def _phase(result: dict[str, Any], latency: int, workers: int, query: str, mode: str) -> dict[str, Any] | None:
    for run in result["runs"]:
        if run["latency_ms"] == latency and run["workers"] == workers:
            for phase in run["phases"]:
                if phase["query"] == query and phase["mode"] == mode:
                    found: dict[str, Any] = phase
                    return found
    return None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for run in result["runs"]:
        for entry in run.get("provider_calls", []):
            if entry["query"].startswith(("q1", "q2")) and "minimum" in entry:
                found.append(
                    {
                        "target": f"provider calls = minimum: {entry['query']} at {run['latency_ms']} ms",
                        "measured": entry["total"],
                        "limit": entry["minimum_total"],
                        "ratio": _ratio(entry["total"], entry["minimum_total"]),
                        "holds": entry["at_minimum"],
                    }
                )
    paths = result["critical_path"].get("20", {})
    for query in ("q1_cold", "q1_warm", "q2"):
        phase = _phase(result, 20, 1, query, "open")
        path = paths.get(query)
        if phase is None or path is None:
            continue
        ratio = _ratio(phase["p50_ms"], path["p50_ms"])
        found.append(
            {
                "target": f"{query} p50 at 20 ms <= {LATENCY_TARGET} x providers' critical path",
                "measured": phase["p50_ms"],
                "limit": path["p50_ms"],
                "nominal_ms": 20 * path["minimum_rounds"],
                "ratio": ratio,
                "holds": ratio is not None and ratio <= LATENCY_TARGET,
            }
        )
    floor = result.get("floor")
    for mode in ("closed", "open"):
        gateway = _phase(result, 0, 1, "q2", mode)
        base = next((p for p in floor["phases"] if p["mode"] == mode), None) if floor else None
        if gateway and base:
            ratio = _ratio(gateway["cpu_ms_per_request"], base["cpu_ms_per_request"])
            found.append(
                {
                    "target": f"gateway CPU per Q2 <= {CPU_TARGET} x floor ({mode} loop, 0 ms)",
                    "measured": gateway["cpu_ms_per_request"],
                    "limit": base["cpu_ms_per_request"],
                    "ratio": ratio,
                    "holds": ratio is not None and ratio <= CPU_TARGET,
                }
            )
    for run in result["runs"]:
        phase = _phase(result, run["latency_ms"], run["workers"], "q3", "closed")
        if phase and run["workers"] == 1:  # a worker with a core of its own
            found.append(
                {
                    "target": f"Q3 >= {Q3_TARGET:g} req/s per worker (1 worker pinned, {run['latency_ms']} ms)",
                    "measured": phase["rps"],
                    "limit": Q3_TARGET,
                    "ratio": _ratio(phase["rps"], Q3_TARGET),
                    "holds": phase["rps"] >= Q3_TARGET,
                }
            )
    return found


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(result: dict[str, Any]) -> str:
    v = result["versions"]
    p = v["packages"]
    lines = [
        f"# customer-graph benchmark ({'quick' if result['quick'] else 'full'} run, {result['started_at']})",
        "",
        f"Python {v['python']}, strawberry-graphql {p['strawberry-graphql']}, graphql-core {p['graphql-core']}, "
        f"starlette {p['starlette']}, uvicorn {p['uvicorn']} (uvloop {p['uvloop']}, httptools {p['httptools']}), "
        f"httpx {p['httpx']}, httpcore {p['httpcore']}, pydantic {p['pydantic']}, orjson {p['orjson']}; commit "
        f"`{(v['git_commit'] or '?')[:12]}`{' (with uncommitted changes)' if v['git_dirty'] else ''}; "
        f"{v['machine']['cpus']} x {v['machine']['cpu_model']}, Linux {v['machine']['kernel']}.",
        "",
        f"Dataset seed {result['setup']['seed']}, {result['setup']['customers']} persons; Q2 searches "
        f"{result['setup']['search_term']!r} (first: {result['setup']['page']}). Took {result['seconds']} s.",
        "",
        "## Targets",
        "",
        "| target | measured | against | ratio | holds |",
        "|---|---|---|---|---|",
    ]
    for t in result["targets"]:
        lines.append(
            f"| {t['target']} | {_fmt(t['measured'], 2)} | {_fmt(t['limit'], 2)} | "
            f"{_fmt(t.get('ratio'), 2)} | {'yes' if t['holds'] else '**no**'} |"
        )
    lines += [
        "",
        "## Throughput, latency, cost",
        "",
        "Closed loop: rate at saturation (connections in parentheses). Open loop: p50/p99 at a fixed rate "
        "(half the closed-loop rate; Q4 at a fixed low rate). CPU: gateway CPU ms per request "
        "(closed loop / open loop). Util: CPU use of the gateway / the simulators / this load generator during "
        "the closed loop (1.0 = one core; the simulators and the load generator share core 1). Other: CPU that "
        "anything else on the machine used meanwhile (a busy machine skews rates and latencies; CPU per "
        "request much less).",
        "",
        "| provider latency | workers | query | req/s (conc.) | open rate | p50 ms | p99 ms | CPU ms/req "
        "| util gw/sim/load | other | calls/req | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for query in dict.fromkeys(ph["query"] for ph in run["phases"]):
            closed = _phase(result, run["latency_ms"], run["workers"], query, "closed") or {}
            opened = _phase(result, run["latency_ms"], run["workers"], query, "open") or {}
            errors = (closed.get("errors") or 0) + (opened.get("errors") or 0)
            lines.append(
                f"| {run['latency_ms']} ms | {run['workers']} | {LABELS[query]} | {_fmt(closed.get('rps'))} "
                f"({closed.get('concurrency')}) | {_fmt(opened.get('rate'))}/s | {_fmt(opened.get('p50_ms'))} | "
                f"{_fmt(opened.get('p99_ms'))} | {_fmt(closed.get('cpu_ms_per_request'), 2)} / "
                f"{_fmt(opened.get('cpu_ms_per_request'), 2)} | {_fmt(closed.get('gateway_cpu_utilisation'), 2)} / "
                f"{_fmt(closed.get('simulator_cpu_utilisation'), 2)} / "
                f"{_fmt(closed.get('load_generator_cpu_utilisation'), 2)} | "
                f"{_fmt(closed.get('other_cpu_utilisation'), 2)} / {_fmt(opened.get('other_cpu_utilisation'), 2)} | "
                f"{_fmt(closed.get('provider_calls_per_request'), 2)} | {errors} |"
            )
        if not run["q4"].get("available", False):
            lines.append(
                f"| {run['latency_ms']} ms | {run['workers']} | {LABELS['q4']} | not available: "
                f"{run['q4'].get('reason')} | | | | | | | | |"
            )
    floor = result.get("floor")
    if floor:
        closed, opened = floor["phases"]
        lines.append(
            f"| - | 1 | {LABELS['floor']} | {_fmt(closed['rps'])} ({closed['concurrency']}) | "
            f"{_fmt(opened['rate'])}/s | {_fmt(opened['p50_ms'])} | {_fmt(opened['p99_ms'])} | "
            f"{_fmt(closed['cpu_ms_per_request'], 2)} / {_fmt(opened['cpu_ms_per_request'], 2)} | "
            f"{_fmt(closed['gateway_cpu_utilisation'], 2)} / - / "
            f"{_fmt(closed['load_generator_cpu_utilisation'], 2)} | "
            f"{_fmt(closed['other_cpu_utilisation'], 2)} / {_fmt(opened['other_cpu_utilisation'], 2)} | 0 | "
            f"{closed['errors'] + opened['errors']} |"
        )
    lines += [
        "",
        "Peak RSS (MiB, per process; a two-worker run lists the supervisor first): "
        + "; ".join(
            f"{r['latency_ms']} ms x {r['workers']}: {', '.join(_fmt(x) for x in r['peak_rss_mib'])}"
            for r in result["runs"]
        )
        + (f"; floor: {', '.join(_fmt(x) for x in floor['peak_rss_mib'])}" if floor else "")
        + ".",
    ]
    lines += [
        "",
        "## Providers' critical path",
        "",
        "Each query's provider calls, recorded once and replayed round by round straight at the simulators "
        "(every call of a round at once, on open connections): what the providers themselves take.",
        "",
        "| provider latency | query | rounds (minimum) | calls per round | replay p50 ms | nominal ms |",
        "|---|---|---|---|---|---|",
    ]
    for latency, paths in result["critical_path"].items():
        for query, path in paths.items():
            lines.append(
                f"| {latency} ms | {LABELS[query]} | {path['rounds']} ({path['minimum_rounds']}) | "
                f"{' + '.join(str(c) for c in path['calls'])} | {_fmt(path['p50_ms'])} | "
                f"{int(latency) * path['minimum_rounds']} |"
            )
    lines += [
        "",
        "## Provider calls per query (one query at a time, from the simulators' /__sim/stats)",
        "",
        "| provider latency | query | Capillary | Martjack | Open Loyalty | TWC | total | minimum | at minimum |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for entry in run.get("provider_calls", []):
            c = entry["calls"]
            m = entry.get("minimum")
            cells = [
                f"{c.get(p, 0)}" + (f" ({m[p]})" if m else "") for p in ("CAPILLARY", "MARTJACK", "OPEN_LOYALTY", "TWC")
            ]
            lines.append(
                f"| {run['latency_ms']} ms | {entry['query']} | {' | '.join(cells)} | {entry['total']} | "
                f"{_fmt(entry.get('minimum_total'))} | "
                f"{'-' if m is None else ('yes' if entry['at_minimum'] else '**no**')} |"
            )
    return "\n".join(lines) + "\n"
