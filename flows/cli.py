"""The ``cardrecon`` command line (DESIGN.md, "Command line contract").

Exit codes: 0 ran, 1 the run failed, 2 bad usage or configuration. Errors are one
clear line on stderr (what happened, what to do), never a bare traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

app = typer.Typer(
    name="cardrecon",
    help="Reconcile a cardepass customer's cards, fees and ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err = Console(stderr=True)

SANDBOX_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's documented, public default
SCENARIO_HELP = "A scenario of planted breaks (see `cardrecon sandbox --list-scenarios`)."


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, then exit (2: usage/config, 1: the run failed)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8799,
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "clean",
    dialect: Annotated[str, typer.Option(help="API dialect to serve: v2.0 or v1.4.")] = "v2.0",
    faults: Annotated[
        str | None,
        typer.Option(help="Faults to inject, e.g. '500=0.1,429=0.05,seed=7' or 'seed=7'."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated customer.")] = 1,
    size: Annotated[str, typer.Option(help="tiny, demo or large.")] = "demo",
    client_id: Annotated[str, typer.Option(help="Accepted OAuth client id.")] = "sandbox",
    client_secret: Annotated[
        str, typer.Option(help="Accepted OAuth client secret.")
    ] = SANDBOX_SECRET,
    token_ttl: Annotated[float, typer.Option(help="Access token lifetime, seconds.")] = 3600,
    manifest: Annotated[
        Path | None, typer.Option(help="Write the scenario's manifest of planted breaks here.")
    ] = None,
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List the scenarios and exit.")
    ] = False,
) -> None:
    """Serve a cardepass-compatible API with generated data at http://HOST:PORT/openapi."""
    from sandbox import scenarios as sc

    if list_scenarios:
        for name, plants in sc.SCENARIOS.items():
            first = (plants[0].__doc__ or "").strip().splitlines()[0] if plants else ""
            desc = "every fault at once" if name == "broken_books" else first or "no faults"
            out_console.print(f"{name:<26} {desc}", highlight=False)
        return
    started = _start_sandbox(
        scenario=scenario,
        dialect=dialect,
        faults=faults,
        seed=seed,
        size=size,
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=token_ttl,
        manifest=manifest,
    )
    app_, info = started
    from sandbox.server import run

    out_console.print(
        f"cardepass sandbox ({info}) on http://{host}:{port}/openapi", highlight=False
    )
    out_console.print(f"client id [bold]{client_id}[/]; stop with Ctrl-C", highlight=False)
    try:
        run(app_, host=host, port=port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port")


def _start_sandbox(
    *,
    scenario: str,
    dialect: str,
    faults: str | None,
    seed: int,
    size: str,
    client_id: str,
    client_secret: str,
    token_ttl: float,
    manifest: Path | None,
) -> tuple[Any, str]:
    """Build the sandbox app (world, scenario, faults) or exit 2 on a bad option."""
    from sandbox import scenarios as sc
    from sandbox.app import create_app
    from sandbox.faults import parse_faults
    from sandbox.generate import SIZES
    from sandbox.render import DIALECTS
    from sandbox.world import World

    if dialect not in DIALECTS:
        fail(f"unknown --dialect {dialect!r}; use v2.0 or v1.4")
    if size not in SIZES:
        fail(f"unknown --size {size!r}; use one of {', '.join(SIZES)}")
    if scenario not in sc.SCENARIOS:
        fail(f"unknown --scenario {scenario!r}; run `cardrecon sandbox --list-scenarios`")
    try:
        spec = parse_faults(faults) if faults else None
    except ValueError as exc:
        fail(f"bad --faults: {exc}")
    world = World.create(seed=seed, size=size)
    try:
        built = sc.build(scenario, world)
    except sc.ScenarioError as exc:
        fail(f"cannot plant scenario {scenario!r} in a {size} world: {exc}")
    man = built.manifest(dialect)
    if manifest is not None:
        try:
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_bytes(orjson.dumps(man, option=orjson.OPT_INDENT_2))
        except OSError as exc:
            fail(f"cannot write the manifest to {manifest} ({exc.strerror})")
    app_ = create_app(
        world,
        dialect=dialect,
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=token_ttl,
        faults=spec,
        manifest=man,
    )
    info = f"dialect {dialect}, size {size}, seed {seed}, scenario {scenario}"
    if spec is not None:
        info += f", faults {faults}"
    return app_, info


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "clean",
    dialect: Annotated[str, typer.Option(help="API dialect the sandbox speaks.")] = "v2.0",
    db: Annotated[Path, typer.Option(help="DuckDB file to write.")] = Path("data/demo.duckdb"),
    out: Annotated[
        Path | None, typer.Option(help="Directory for the outputs (default data/reports/<run>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated customer.")] = 1,
    size: Annotated[str, typer.Option(help="tiny, demo or large.")] = "demo",
) -> None:
    """Run the pipeline against the embedded sandbox on a free loopback port."""
    from flows.demo import run_demo

    app_, _info = _start_sandbox(
        scenario=scenario,
        dialect=dialect,
        faults=None,
        seed=seed,
        size=size,
        client_id="sandbox",
        client_secret=SANDBOX_SECRET,
        token_ttl=3600,
        manifest=None,
    )
    code = run_demo(app=app_, dialect=dialect, db=db, out=out, console=out_console, fail=fail)
    raise typer.Exit(code)


def main() -> None:  # pragma: no cover - console entry for `python -m flows.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
