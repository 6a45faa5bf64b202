"""The ``cardrecon`` command line (DESIGN.md, "Command line contract").

Exit codes: 0 ran, 1 the run failed, 2 bad usage or configuration. Errors are one
clear line on stderr (what happened, what to do), never a bare traceback.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")


def _execute(
    console: Console, quiet: bool, verbose: bool, env: dict[str, str | None], **params: Any
) -> None:
    """Run the flow with ``params``; print the summary; exit 0 ran, 1 failed, 2 config."""
    from flows.runner import environment, prepare_environment, print_summary, progress_bars

    prepare_environment(verbose)
    from extract.errors import AuthError, CardepassError
    from flows.pipeline import PipelineError, reconciliation_flow
    from flows.settings import ConfigError
    from reports.data import ReportError

    try:
        with environment(**env), progress_bars(console, not quiet):
            result = reconciliation_flow(**params)
    except ConfigError as exc:
        fail(str(exc), 2)
    except AuthError as exc:
        fail(f"the service refused the credentials: {exc}", 2)
    except (PipelineError, CardepassError, ReportError) as exc:
        fail(str(exc), 1)
    except OSError as exc:
        fail(f"{exc.strerror or exc} ({exc.filename or 'I/O'}); check the disk and paths", 1)
    except Exception as exc:  # the last line of defence: one line, and where to look
        fail(
            f"the run failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (rerun with --verbose for the flow's log)",
            1,
        )
    if not quiet:
        print_summary(console, result)
        console.print(f"DuckDB: {result['db']}", highlight=False)
        console.print(f"reports: {result['out']}", highlight=False)
    for problem in result["failed"]:
        err.print(f"[yellow]incomplete:[/] {problem}", highlight=False)
    raise typer.Exit(1 if result["verdict"] == "incomplete" else 0)


def _preflight(
    base_url: str | None,
    client_id: str | None,
    client_secret: str | None,
    start: date | None,
    end: date | None,
    db: Path | None,
    out: Path | None,
    *,
    check_service: bool = False,
) -> None:
    """Check the configuration before Prefect starts: a bad one costs one line, exit 2.

    ``check_service``: also ask the service for a token and a ping, so that a wrong
    secret or an unreachable URL is said in a second, not after Prefect's start-up.
    """
    from flows.settings import ConfigError, extract_settings, load

    try:
        settings = load(
            cardepass_base_url=base_url,
            cardepass_client_id=client_id,
            cardepass_client_secret=client_secret,
            cardrec_db=db,
            cardrec_out=out,
        )
        extract = extract_settings(settings, start=start, end=end)
    except ConfigError as exc:
        fail(str(exc))
    for path in (settings.cardrec_db.parent, settings.cardrec_out):
        if path is None:
            continue
        probe = path / ".cardrecon-write-test"
        try:  # the run would create it anyway; a failure here costs no Prefect start
            path.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            fail(f"{path} is not writable ({exc.strerror}); choose another --db/--out")
    if check_service:
        _check_service(extract)


def _check_service(extract: Any) -> None:
    """One token and one ping; exit 2 for refused credentials, 1 for an unusable service."""
    import asyncio
    from dataclasses import replace

    from extract.errors import AuthError, CardepassError
    from extract.run import Session

    async def ping() -> None:
        async with Session(replace(extract, retry_attempts=2)) as session:
            await session.client.get_json("/v1/ping", envelope=False)

    try:
        asyncio.run(ping())
    except AuthError as exc:
        fail(f"the service refused the credentials: {exc}", 2)
    except CardepassError as exc:
        fail(f"the service cannot be used: {exc}", 1)


@app.command()
def run(
    base_url: Annotated[
        str | None, typer.Option(help="cardepass API base URL (CARDEPASS_BASE_URL).")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="OAuth client id (CARDEPASS_CLIENT_ID).")
    ] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="OAuth client secret (CARDEPASS_CLIENT_SECRET).")
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Backfill start of a first run, YYYY-MM-DD (default: 90 days ago)."
        ),
    ] = None,
    to: Annotated[str | None, typer.Option(help="Last day, inclusive (default today).")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved state; start over.")] = False,
    dialect: Annotated[str, typer.Option(help="auto, v2.0 or v1.4.")] = "auto",
    db: Annotated[Path | None, typer.Option(help="DuckDB file (CARDREC_DB).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report directory (default data/reports/<run id>).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress or summary (for cron).")] = False,
    verbose: Annotated[bool, typer.Option(help="Show the flow's log.")] = False,
) -> None:
    """Extract incrementally, reconcile and report against the cardepass API."""
    start, end = _date(from_, "--from"), _date(to, "--to")
    if start and end and end < start:
        fail(f"--to {end} is before --from {start}")
    if dialect not in ("auto", "v2.0", "v1.4"):
        fail(f"unknown --dialect {dialect!r}; use auto, v2.0 or v1.4")
    _preflight(base_url, client_id, client_secret, start, end, db, out, check_service=True)
    _execute(
        out_console,
        quiet,
        verbose,
        {"CARDEPASS_CLIENT_ID": client_id, "CARDEPASS_CLIENT_SECRET": client_secret},
        date_from=start,
        date_to=end,
        full_refresh=full_refresh,
        dialect=dialect,
        db=None if db is None else str(db),
        out=None if out is None else str(out),
        base_url=base_url,
    )


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "clean",
    dialect: Annotated[str, typer.Option(help="API dialect the sandbox speaks.")] = "v2.0",
    db: Annotated[
        Path, typer.Option(help="DuckDB file, recreated on every demo (each demo is a new world).")
    ] = Path("data/demo.duckdb"),
    out: Annotated[
        Path | None, typer.Option(help="Directory for the reports (default data/reports/<run>).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated customer.")] = 1,
    size: Annotated[str, typer.Option(help="tiny, demo or large.")] = "demo",
    quiet: Annotated[bool, typer.Option(help="No progress or summary.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show the flow's log.")] = False,
) -> None:
    """Run the whole flow against the embedded sandbox on a free loopback port."""
    from sandbox.server import serve_in_thread

    app_, info = _start_sandbox(
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
    world = app_.state.sandbox.world
    start = datetime.fromtimestamp(world.start_ms / 1000, UTC).date()
    end = datetime.fromtimestamp(world.end_ms / 1000, UTC).date()
    run_id = datetime.now(UTC).strftime("demo-%Y%m%dT%H%M%SZ")
    out_dir = out or Path("data/reports") / run_id
    for stale in (db, db.with_name(db.name + ".wal")):
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            fail(f"cannot replace {stale} ({exc.strerror}); is another demo using it?", 1)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "manifest.json").write_bytes(
            orjson.dumps(app_.state.sandbox.manifest, option=orjson.OPT_INDENT_2)
        )
    except OSError as exc:
        fail(f"cannot write to {out_dir} ({exc.strerror}); choose another --out")
    with serve_in_thread(app_) as base_url:
        if not quiet:
            out_console.print(
                f"sandbox: {base_url} ({info}); starting Prefect and the flow...", highlight=False
            )
        try:
            _execute(
                out_console,
                quiet,
                verbose,
                {"CARDEPASS_CLIENT_ID": "sandbox", "CARDEPASS_CLIENT_SECRET": SANDBOX_SECRET},
                date_from=start,
                date_to=end,
                full_refresh=True,
                dialect=dialect,
                db=str(db),
                out=str(out_dir),
                base_url=base_url,
                run_id=run_id,
            )
        finally:
            if not quiet:
                planted = len(app_.state.sandbox.manifest["breaks"])
                out_console.print(
                    f"planted breaks ({planted}): {out_dir / 'manifest.json'}", highlight=False
                )


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to run (cron, UTC).")] = "0 6 * * *",
    name: Annotated[str, typer.Option(help="Deployment name.")] = "daily",
    base_url: Annotated[str | None, typer.Option(help="cardepass API base URL.")] = None,
    dialect: Annotated[str, typer.Option(help="auto, v2.0 or v1.4.")] = "auto",
    db: Annotated[Path | None, typer.Option(help="DuckDB file (CARDREC_DB).")] = None,
    port: Annotated[int, typer.Option(help="Port for a local Prefect server.")] = 4200,
) -> None:
    """Serve the flow as a Prefect deployment on a cron schedule (until Ctrl-C).

    Prefect does not run schedules on its ephemeral server: this uses the server in
    PREFECT_API_URL, or starts a local one (SQLite, loopback) and says so.
    """
    from flows.runner import prepare_environment

    _preflight(base_url, None, None, None, None, db, None)
    prepare_environment(verbose=True)
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron, timezone="UTC")
    except ValueError:
        fail(f"--cron {cron!r} is not a cron expression (e.g. '0 6 * * *' = 06:00 UTC daily)")
    from flows.serving import ensure_server

    with ensure_server(port, out_console):
        from flows.pipeline import reconciliation_flow

        out_console.print(
            f"serving deployment {name!r} of cardepass-reconciliation, cron "
            f"{cron!r} (UTC); stop with Ctrl-C",
            highlight=False,
        )
        reconciliation_flow.serve(
            name=name,
            cron=cron,
            pause_on_shutdown=False,
            parameters={
                "base_url": base_url,
                "dialect": dialect,
                "db": None if db is None else str(db),
            },
        )


def main() -> None:  # pragma: no cover - console entry for `python -m flows.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
