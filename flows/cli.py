"""The ``cardrecon`` command line (DESIGN.md, "Command line contract").

Exit codes: 0 ran (breaks or not), 1 the run failed or is incomplete, 2 bad usage or
configuration, 3 verdict ``breaks`` with ``--fail-on-breaks``, 130 / 143 interrupted by
SIGINT / SIGTERM. Errors are one clear line on stderr (what happened, what to do), never
a bare traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from flows.console import err, fail, out_console, whole_lines
from flows.failures import full_device_line, run_failed
from flows.preflight import parse_date, preflight
from flows.rebuild import rebuild_command

if TYPE_CHECKING:
    from flows.runner import Outcome
    from flows.settings import RunSettings

app = typer.Typer(
    name="cardrecon",
    help="Reconcile a cardepass customer's cards, fees and ledger.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

SANDBOX_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's documented, public default
SCENARIO_HELP = "A scenario of planted breaks (see `cardrecon sandbox --list-scenarios`)."
# The connection options `run` and `doctor` share (the same settings, the same help).
BaseUrlOption = Annotated[
    str | None, typer.Option(help="cardepass API base URL (CARDEPASS_BASE_URL).")
]
ClientIdOption = Annotated[str | None, typer.Option(help="OAuth client id (CARDEPASS_CLIENT_ID).")]
ClientSecretOption = Annotated[
    str | None, typer.Option(help="OAuth client secret (CARDEPASS_CLIENT_SECRET).")
]
LABEL_HELP = "Account label (CARDREC_LABEL): names the report folder; letters, digits, . _ -"
DIALECT_HELP = "auto, v2.0 or v1.4 (CARDREC_DIALECT, default auto)."
EXIT_BREAKS = 3  # --fail-on-breaks and the verdict is `breaks`


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"cardrecon {version('cardrecon')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Reconcile a cardepass customer's cards, fees and ledger."""
    whole_lines(out_console, err)


@contextmanager
def _interrupts_before_the_run() -> Iterator[None]:
    """Ctrl-C or SIGTERM before the flow starts: one line, exit 130/143, nothing written yet."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        err.print("interrupted before the run started; nothing was written", highlight=False)
        sys.stderr.flush()
        os._exit(128 + signum)

    previous = {s: signal.signal(s, leave) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


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
    shapes: Annotated[
        str,
        typer.Option(
            help="Reply shapes: 'documented' (the reference's tables) or 'live' (v1.4 only: as the "
            "live service's own examples show it - enum aliases, .NET times with offsets, "
            "integers, absent and unknown fields, the older page shape)."
        ),
    ] = "documented",
    clock_skew: Annotated[
        float | None,
        typer.Option(
            help="Run the service's clock on wall time, this many seconds apart from ours "
            "(negative: behind); its replies' Date header says it."
        ),
    ] = None,
    busy: Annotated[
        bool,
        typer.Option("--busy", help="Post an account entry every half second for the next hour."),
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
        shapes=shapes,
        clock_skew=clock_skew,
        busy=busy,
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


def _check_sandbox_options(*, dialect: str, size: str, scenario: str, shapes: str) -> None:
    """Exit 2 with one line for a sandbox option that names nothing the sandbox has."""
    from sandbox import scenarios as sc
    from sandbox.generate import SIZES
    from sandbox.render import DIALECTS

    if dialect not in DIALECTS:
        fail(f"unknown --dialect {dialect!r}; use v2.0 or v1.4")
    if size not in SIZES:
        fail(f"unknown --size {size!r}; use one of {', '.join(SIZES)}")
    if scenario not in sc.SCENARIOS:
        fail(f"unknown --scenario {scenario!r}; run `cardrecon sandbox --list-scenarios`")
    if shapes not in ("documented", "spec", "live"):
        fail(f"unknown --shapes {shapes!r}; use documented or live")
    if shapes == "live" and dialect != "v1.4":
        fail("--shapes live is the v1.4 service's own examples: use it with --dialect v1.4")


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
    shapes: str = "documented",
    clock_skew: float | None = None,
    busy: bool = False,
) -> tuple[Any, str]:
    """Build the sandbox app (world, scenario, faults) or exit 2 on a bad option."""
    from sandbox import scenarios as sc
    from sandbox.app import create_app
    from sandbox.faults import parse_faults
    from sandbox.world import World

    _check_sandbox_options(dialect=dialect, size=size, scenario=scenario, shapes=shapes)
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
    if busy:
        world.add_busy_entries(int(time.time() * 1000), 3600)
    try:
        app_ = create_app(
            world,
            dialect=dialect,
            client_id=client_id,
            client_secret=client_secret,
            token_ttl=token_ttl,
            faults=spec,
            manifest=man,
            shapes=shapes,
            live_clock=clock_skew is not None or busy,
            clock_skew_seconds=clock_skew or 0.0,
        )
    except ValueError as exc:
        fail(f"bad sandbox option: {exc}")
    info = ", ".join(
        [f"dialect {dialect}", f"size {size}", f"seed {seed}", f"scenario {scenario}"]
        + ([f"faults {faults}"] if spec is not None else [])
        + ([f"{shapes} shapes"] if shapes == "live" else [])
        + ([f"clock {clock_skew:+g} s"] if clock_skew else [])
        + (["busy"] if busy else [])
    )
    return app_, info


def _execute(
    console: Console,
    quiet: bool,
    verbose: bool,
    plan: RunSettings,
    *,
    fail_on_breaks: bool = False,
    demo: bool = False,
    **params: Any,
) -> NoReturn:
    """Run the flow with ``plan`` (resolved once, by ``preflight``); print the outcome; exit
    with the documented code.

    ``params`` are the flow's parameters as a deployment would record them (never a
    secret); the flow takes the resolved settings from ``RESOLVED`` instead of reading
    the environment again. 0 ran, 1 failed or incomplete, 2 config, 3 ``breaks`` with
    ``fail_on_breaks``, 128 + signal when interrupted (the run is supervised from here).
    """
    import contextvars

    from flows.runner import (
        prepare_environment,
        print_summary,
        progress_bars,
        quiet_line,
        run_interruptibly,
    )

    prepare_environment(verbose)
    from flows import pipeline
    from flows.settings import RESOLVED
    from flows.stopping import STOP

    params["run_id"] = plan.run_id
    RESOLVED.set(plan)
    with progress_bars(console, not quiet):
        context = contextvars.copy_context()  # the run's thread sees the plan and the bars
        flow: Any = pipeline.reconciliation_flow
        outcome = run_interruptibly(lambda: context.run(flow, **params), STOP)
    if outcome.signum is not None and (outcome.error is not None or not outcome.finished):
        _leave_interrupted(outcome, plan, demo)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the run is over: the usual
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # handlers again, until the command ends
    if outcome.error is not None:
        run_failed(outcome.error, plan)
    result: dict[str, Any] = outcome.result
    full = full_device_line(" ".join(result["failed"]), plan)
    if full is not None:
        fail(full, 1)
    if quiet:
        console.print(quiet_line(result), highlight=False, soft_wrap=True)
    else:
        print_summary(console, result)
        console.print(f"DuckDB: {result['db']}", highlight=False, soft_wrap=True)
        console.print(f"reports: {result['out']}", highlight=False, soft_wrap=True)
        for problem in result["failed"]:
            err.print(f"[yellow]incomplete:[/] {problem}", highlight=False, soft_wrap=True)
    if result["verdict"] == "incomplete":
        raise typer.Exit(1)
    raise typer.Exit(EXIT_BREAKS if fail_on_breaks and result["verdict"] == "breaks" else 0)


def _leave_interrupted(outcome: Outcome, plan: RunSettings, demo: bool) -> NoReturn:
    """One line saying where the next run starts, then exit 128 + the signal's number."""
    from flows.runner import leave
    from flows.stopping import resume_date

    assert outcome.signum is not None
    if demo:
        line = "interrupted; the next demo starts over"
    else:
        try:  # the run's connection is closed by now (or its streams are done)
            day = resume_date(plan.db_path, plan.extract)
        except Exception as exc:  # a database the run could not finish with, say
            line = f"interrupted; the next run resumes from its last commit ({exc})"
        else:
            line = (
                f"interrupted; the next run resumes from {day}"
                if day is not None
                else "interrupted; the next run has nothing left to fetch up to --to"
            )
    err.print(" ".join(line.split()), highlight=False, soft_wrap=True)
    leave(128 + outcome.signum)


@app.command()
def run(
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Backfill start of a first run, YYYY-MM-DD (default: 90 days ago)."
        ),
    ] = None,
    to: Annotated[str | None, typer.Option(help="Last day, inclusive (default today).")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved state; start over.")] = False,
    dialect: Annotated[str | None, typer.Option(help=DIALECT_HELP)] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB file (CARDREC_DB).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report directory (default data/reports/<label>/<run id>)."),
    ] = None,
    label: Annotated[str | None, typer.Option(help=LABEL_HELP)] = None,
    fail_on_breaks: Annotated[
        bool, typer.Option(help="Exit 3 when the verdict is `breaks` (for scripts).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option(help="One line: verdict, open errors and warnings, reports (cron).")
    ] = False,
    verbose: Annotated[bool, typer.Option(help="Show the flow's log.")] = False,
) -> None:
    """Extract incrementally, reconcile and report against the cardepass API."""
    with _interrupts_before_the_run():
        start, end = parse_date(from_, "--from"), parse_date(to, "--to")
        today = datetime.now(UTC).date()
        if start and start > today:
            fail(f"--from {start} is in the future (today is {today}, UTC); nothing to reconcile")
        if start and end and end < start:
            fail(f"--to {end} is before --from {start}")
        if dialect not in (None, "auto", "v2.0", "v1.4"):
            fail(f"unknown --dialect {dialect!r}; use auto, v2.0 or v1.4")
        params: dict[str, Any] = {
            "date_from": start,
            "date_to": end,
            "full_refresh": full_refresh,
            "dialect": dialect,
            "db": None if db is None else str(db),
            "out": None if out is None else str(out),
            "base_url": base_url,
            "label": label,
        }
        plan = preflight(params, client_id, client_secret, ping=True)
        _execute(out_console, quiet, verbose, plan, fail_on_breaks=fail_on_breaks, **params)


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(help=SCENARIO_HELP)] = "clean",
    dialect: Annotated[str, typer.Option(help="API dialect the sandbox speaks.")] = "v2.0",
    db: Annotated[
        Path, typer.Option(help="DuckDB file, recreated on every demo (each demo is a new world).")
    ] = Path("data/demo.duckdb"),
    out: Annotated[
        Path | None,
        typer.Option(help="Directory for the reports (default data/reports/<label>/<run id>)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated customer.")] = 1,
    size: Annotated[str, typer.Option(help="tiny, demo or large.")] = "demo",
    label: Annotated[str | None, typer.Option(help=LABEL_HELP)] = None,
    fail_on_breaks: Annotated[
        bool, typer.Option(help="Exit 3 when the verdict is `breaks` (for scripts).")
    ] = False,
    quiet: Annotated[
        bool, typer.Option(help="One line: verdict, open errors and warnings, reports.")
    ] = False,
    verbose: Annotated[bool, typer.Option(help="Show the flow's log.")] = False,
) -> None:
    """Run the whole flow against the embedded sandbox on a free loopback port."""
    with _interrupts_before_the_run():
        _demo(scenario, dialect, db, out, seed, size, label, fail_on_breaks, quiet, verbose)


def _demo(
    scenario: str,
    dialect: str,
    db: Path,
    out: Path | None,
    seed: int,
    size: str,
    label: str | None,
    fail_on_breaks: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    from flows.settings import DEFAULT_REPORTS, ConfigError, DatabaseBusy, check_database, load
    from sandbox.server import serve_in_thread

    try:
        label = load(cardrec_label=label).cardrec_label
        check_database(db)
    except ConfigError as exc:
        fail(str(exc))
    except DatabaseBusy as exc:
        fail(str(exc), 1)
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
    out_dir = out or DEFAULT_REPORTS / label / run_id
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
            params: dict[str, Any] = {
                "date_from": start,
                "date_to": end,
                "full_refresh": True,
                "dialect": dialect,
                "db": str(db),
                "out": str(out_dir),
                "base_url": base_url,
                "run_id": run_id,
                "label": label,
            }
            plan = preflight(params, "sandbox", SANDBOX_SECRET)
            _execute(
                out_console, quiet, verbose, plan,
                fail_on_breaks=fail_on_breaks, demo=True, **params,
            )  # fmt: skip
        finally:
            if not quiet:
                planted = len(app_.state.sandbox.manifest["breaks"])
                out_console.print(
                    f"planted breaks ({planted}): {out_dir / 'manifest.json'}", highlight=False
                )


@app.command()
def doctor(
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    dialect: Annotated[str | None, typer.Option(help=DIALECT_HELP)] = None,
    db: Annotated[
        Path | None,
        typer.Option(help="Accepted as `run` takes it; doctor never opens, creates or changes it."),
    ] = None,
) -> None:
    """Check an account before the first run: token, ping, one page of each stream, one card.

    Writes nothing. Exit 0 a run would work, 1 the service answered something a run
    cannot read, 2 configuration.
    """
    from flows.doctor import check_account

    del db  # the same command line as `run`; nothing is written
    check_account(base_url, client_id, client_secret, dialect)


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to run (cron, UTC).")] = "0 6 * * *",
    name: Annotated[str, typer.Option(help="Deployment name.")] = "daily",
    base_url: Annotated[str | None, typer.Option(help="cardepass API base URL.")] = None,
    dialect: Annotated[str | None, typer.Option(help=DIALECT_HELP)] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB file (CARDREC_DB).")] = None,
    label: Annotated[str | None, typer.Option(help=LABEL_HELP)] = None,
    port: Annotated[int, typer.Option(help="Port for a local Prefect server.")] = 4200,
) -> None:
    """Serve the flow as a Prefect deployment on a cron schedule (until Ctrl-C).

    Prefect does not run schedules on its ephemeral server: this uses the server in
    PREFECT_API_URL, or starts a local one (SQLite, loopback) and says so.
    """
    from flows.runner import prepare_environment

    preflight({"base_url": base_url, "db": None if db is None else str(db), "label": label})
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
                "label": label,
            },
        )


app.command(name="rebuild")(rebuild_command)


def main() -> None:  # pragma: no cover - console entry for `python -m flows.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
