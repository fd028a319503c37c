"""The ``customer-graph`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from customer_graph.simulators.dataset import DEFAULT_CUSTOMERS, DEFAULT_SEED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customer-graph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="serve simulators of the four providers on one port")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9000)
    simulate.add_argument("--seed", type=int, default=DEFAULT_SEED)
    simulate.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    simulate.add_argument(
        "--token-ttl",
        type=float,
        default=None,
        help="token lifetime in seconds for every provider (default: each provider's own)",
    )
    simulate.add_argument(
        "--capillary-rpm", type=int, default=None, help="Capillary requests-per-minute limit (0 disables; default 600)"
    )
    simulate.add_argument("--stats", action="store_true", help="print the dataset's overlap statistics and exit")
    simulate.set_defaults(handler=_simulate)

    demo = commands.add_parser("demo", help="the gateway and simulators of all four providers, on one port")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    demo.add_argument("--api-key", default=None, help="the API key with every scope (default: a new random one)")
    demo.set_defaults(handler=_demo)

    serve = commands.add_parser("serve", help="serve the gateway with a configuration file")
    serve.add_argument("--config", required=True, help="TOML configuration file (see config/example.toml)")
    serve.add_argument("--host", default=None, help="overrides server.host")
    serve.add_argument("--port", type=int, default=None, help="overrides server.port")
    serve.set_defaults(handler=_serve)

    check = commands.add_parser("check-config", help="validate a configuration file and explain every error")
    check.add_argument("file")
    check.set_defaults(handler=_check_config)

    journal = commands.add_parser("journal", help="writes that are not finished: list them, or retry them now")
    journal.add_argument("action", choices=["list", "retry"])
    journal.add_argument("--config", required=True, help="the gateway's TOML configuration file")
    journal.set_defaults(handler=_journal)

    api_key = commands.add_parser("api-key", help="make a new client API key and the [[auth.api_keys]] entry for it")
    api_key.add_argument("client_id")
    api_key.add_argument(
        "--scopes",
        default="customers:read",
        help="comma-separated: customers:read, customers:write, customers:pii, customers:admin",
    )
    api_key.set_defaults(handler=_api_key)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(handler=_schema)

    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


def _demo(args: argparse.Namespace) -> int:
    import uvicorn

    from customer_graph.server.demo import DemoKeys, create_demo_app, examples, graphiql_url
    from customer_graph.simulators.dataset import generate

    dataset = generate(args.seed, args.customers)
    keys = DemoKeys.new(args.api_key)
    app = create_demo_app(dataset, args.host, args.port, keys)
    base = f"http://{args.host}:{args.port}"
    print(f"customer-graph demo: {len(dataset.persons)} persons across four simulated providers (seed {args.seed})")
    print(f"\n  GraphiQL:    {graphiql_url(base, keys.every_scope)}")
    print(f"               (opens with the API key in its Headers tab; or open {base}/graphql and add it there)")
    print(f"  API key:     {keys.every_scope}   (every scope; send it as the X-API-Key header)")
    print(
        f"               {keys.without_pii}   (without customers:pii: e-mail, phone, birth date and addresses masked)"
    )
    print(
        f"  simulators:  {base}/sim/capillary, /sim/martjack, /sim/openloyalty, /sim/twc  (stats: <prefix>/__sim/stats)"
    )
    for number, example in enumerate(examples(dataset), start=1):
        print(f"\n# {number}. {example.title}\n{example.query}")
    print(flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from customer_graph.server.app import create_app
    from customer_graph.server.security import build_security
    from customer_graph.server.wiring import build_gateway
    from customer_graph.settings import SettingsError, load

    try:
        settings = load(args.config)
        if settings.security_problems():
            raise SettingsError(settings.security_problems())
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def gateway():  # type: ignore[no-untyped-def]
        return build_gateway(settings)

    from customer_graph.server.observability import configure_process

    logging_options = configure_process(settings.observability)  # JSON logs without customer data; tracing
    app = create_app(
        gateway,
        graphiql=settings.server.graphiql,
        metrics=settings.observability.metrics,
        security=build_security(settings),
    )
    uvicorn.run(app, host=args.host or settings.server.host, port=args.port or settings.server.port, **logging_options)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from customer_graph.settings import SettingsError, load

    try:
        settings = load(args.file)
        if settings.security_problems():
            raise SettingsError(settings.security_problems())
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    providers = ", ".join(p.name for p in settings.enabled_providers()) or "none"
    print(f"{args.file}: valid (providers: {providers})")
    return 0


def _journal(args: argparse.Namespace) -> int:
    import asyncio
    import datetime

    from customer_graph.server.wiring import build_gateway
    from customer_graph.settings import SettingsError, load

    try:
        settings = load(args.config)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def run() -> int:
        gateway = build_gateway(settings)
        try:
            if args.action == "retry":
                count = await gateway.executor.resume_all(only_due=False)
                print(f"retried {count} open write(s)")
            writes = await gateway.store.open_writes()
            for write in writes:
                at = datetime.datetime.fromtimestamp(write.created_at, datetime.UTC).isoformat(timespec="seconds")
                print(f"{write.id}  {write.mutation}  since {at}  person {write.person_id or '-'}")
                for step in write.steps:  # ids, operations and statuses only: the journal's arguments hold data
                    retry = ""
                    if step.next_attempt_at:
                        retry = "  next " + datetime.datetime.fromtimestamp(
                            step.next_attempt_at, datetime.UTC
                        ).isoformat(timespec="seconds")
                    print(
                        f"    {step.provider.name:<13} {step.operation:<24} {step.status.value:<11} "
                        f"attempts {step.attempts}  {step.error_code or ''}{retry}"
                    )
            if not writes:
                print("no open writes")
            return 0 if not writes else 1
        finally:
            await gateway.aclose()

    return asyncio.run(run())


def _api_key(args: argparse.Namespace) -> int:
    import secrets

    from customer_graph.schema.access import SCOPES
    from customer_graph.server.auth import key_digest

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        print(f"unknown scopes {unknown}; known: {', '.join(SCOPES)}", file=sys.stderr)
        return 2
    key = f"cg_{secrets.token_urlsafe(32)}"
    print(f"# the key, for {args.client_id} only (it is not stored anywhere): {key}")
    print("[[auth.api_keys]]")
    print(f'client_id = "{args.client_id}"')
    print(f"scopes = {json.dumps(scopes)}")
    print(f'key_sha256 = "{key_digest(key)}"')
    return 0


def _schema(args: argparse.Namespace) -> int:
    from customer_graph.schema import sdl

    sys.stdout.write(sdl())
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import uvicorn

    from customer_graph.simulators import SimulatorOptions, create_simulators_app, provider_modules
    from customer_graph.simulators.dataset import generate

    dataset = generate(args.seed, args.customers)
    if args.stats:
        print(json.dumps(dataset.stats(), indent=2, ensure_ascii=False))
        return 0
    options = SimulatorOptions(
        token_ttl_seconds=args.token_ttl, capillary_rate_limit_per_minute=args.capillary_rpm, seed=args.seed
    )
    app = create_simulators_app(dataset, options)
    base = f"http://{args.host}:{args.port}"
    print(f"customer-graph simulators: {len(dataset.persons)} persons, seed {args.seed}")
    for name, module in provider_modules().items():
        print(f"\n  {name:<12} {base}{module.PREFIX}")
        for key, value in module.credentials().items():
            print(f"    {key}: {value}")
    print(f"\n  control: {base}<prefix>/__sim/stats  (faults, reset, config: see the README)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
