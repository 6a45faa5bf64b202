"""Settings, read once at the edge: flags, else the environment, else ``.env``.

Only this module reads the environment. The client secret is a ``SecretStr``: it never
appears in a repr, a log line, a flow parameter or anything written to disk. The DuckDB
file is checked here too (``check_database``), so a bad one is said before Prefect starts.
"""

from __future__ import annotations

import dataclasses
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from extract.auth import ClientCredentials
from extract.session import ExtractSettings
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName
from transform.reconcile import DEFAULT_LABEL, ReconSettings
from transform.state import memory_size

DEFAULT_DB = Path("data/cardrecon.duckdb")
DEFAULT_REPORTS = Path("data/reports")  # reports go to <this>/<label>/<run id>/ (cwd-relative)
LABEL_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


# The defaults of the extraction's settings are ExtractSettings' own (declared once, there).
_EXTRACT: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(ExtractSettings)}


@dataclass(frozen=True)
class RunSettings:
    """Everything a run needs, resolved once at the edge (``resolve``), passed as one object."""

    run_id: str
    extract: ExtractSettings
    db_path: Path
    out_dir: Path | None  # None: no report files (tests that only read the tables)
    recon: ReconSettings = field(default_factory=ReconSettings)
    label: str = DEFAULT_LABEL
    # DuckDB's memory limit while streams are extracted: its cache of table blocks would
    # otherwise grow with the database (up to 80% of RAM by default); B1 measured the
    # peak RSS of a 60-day extraction at 950 MiB without it, 690 MiB with 150 MB.
    duckdb_memory_limit: str | None = "256MB"
    batch_items: int = 5_000  # slices are committed (loaded, watermark moved) in batches


_RUN_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(RunSettings)}

# The settings the command line resolved for the run it starts in this context: the flow
# uses them instead of resolving again (a served deployment's run has none: it resolves).
RESOLVED: ContextVar[RunSettings | None] = ContextVar("cardrecon_resolved", default=None)


def resolved() -> RunSettings | None:
    """The settings the command line resolved for this context's run, if it did.

    (A function, not the variable: a served deployment pickles the flow with what it
    refers to, and a ContextVar cannot be pickled.)"""
    return RESOLVED.get()


class ConfigError(Exception):
    """Bad or missing configuration: the message says which setting and what to do."""


class DatabaseBusy(Exception):
    """Another process holds the DuckDB file (one writer per file): wait, or use another."""


def database_error(path: Path, exc: duckdb.Error) -> str:
    """One line for a DuckDB file that cannot be opened: held by another run, or not one.

    DuckDB names the holder's PID and a page about concurrency; both are kept whole.
    """
    first = str(exc).splitlines()[0]
    if "lock" not in first.lower():
        return f"cannot open {path}: {first}"
    holder = re.search(r"\(PID (\d+)\)", first)
    link = re.search(r"https?://\S+", first)
    about = [f"PID {holder.group(1)}"] if holder else []
    about += [f"see {link.group(0).rstrip('.,;')}"] if link else []
    held = f" ({'; '.join(about)})" if about else ""
    return (
        f"{path} is in use by another cardrecon run{held}; "
        "wait for it to finish, or use another --db"
    )


def check_database(path: Path) -> None:
    """ConfigError for a directory, DatabaseBusy for a file another process holds.

    An existing file is opened read-only and closed again (nothing is written or created);
    another writer's lock refuses even a reader, so a held file is found here.
    """
    if path.is_dir():
        raise ConfigError(
            f"--db {path} is a directory; name a DuckDB file, e.g. {path / 'cardrecon.duckdb'}"
        )
    if not path.exists():
        return
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        message = database_error(path, exc)
        if "in use" in message:
            raise DatabaseBusy(message) from None
        raise ConfigError(f"{message}; is --db a DuckDB file?") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    cardepass_base_url: str | None = None
    cardepass_client_id: str | None = None
    cardepass_client_secret: SecretStr | None = None
    cardrec_db: Path = DEFAULT_DB
    cardrec_out: Path | None = None
    cardrec_label: str = DEFAULT_LABEL
    cardrec_dialect: str = "auto"
    cardrec_lookback_days: int = _EXTRACT["lookback_days"]
    cardrec_concurrency: int = _EXTRACT["concurrency"]
    cardrec_timeout: float = _EXTRACT["timeout"]
    cardrec_slice_days: int = _EXTRACT["slice_days"]
    cardrec_extract_memory: str = str(_RUN_DEFAULTS["duckdb_memory_limit"])

    @field_validator("cardrec_label")
    @classmethod
    def _label_is_a_folder_name(cls, value: str) -> str:
        # the label names the report folder: nothing that could climb out of it or nest
        if not LABEL_PATTERN.fullmatch(value) or set(value) == {"."}:
            raise ValueError(
                f"{value!r} cannot be a folder name (--label); "
                "use letters, digits, '.', '_' and '-', e.g. acme-eu"
            )
        return value

    def report_dir(self, run_id: str) -> Path:
        """Where a run's reports go: ``--out``/``CARDREC_OUT``, else per label and run."""
        return self.cardrec_out or DEFAULT_REPORTS / self.cardrec_label / run_id


def load(**flags: Any) -> Settings:
    """Flags (None = not given) over the environment over ``.env``."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "a setting"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {msg}; fix the flag, the environment or .env") from None


def extract_settings(
    s: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    full_refresh: bool = False,
    streams: tuple[StreamName, ...] = STREAM_NAMES,
) -> ExtractSettings:
    """The extraction settings, or a ConfigError naming what is missing."""
    missing = [
        name
        for name, value in (
            ("CARDEPASS_BASE_URL (--base-url)", s.cardepass_base_url),
            ("CARDEPASS_CLIENT_ID (--client-id)", s.cardepass_client_id),
            ("CARDEPASS_CLIENT_SECRET (--client-secret)", s.cardepass_client_secret),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"missing {', '.join(missing)}: set it as a flag, in the environment "
            "or in .env (see .env.example)"
        )
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--to {end} is before --from {start}")
    dialect: DialectName | None = None
    if s.cardrec_dialect != "auto":
        if s.cardrec_dialect not in DIALECTS:
            raise ConfigError(f"unknown dialect {s.cardrec_dialect!r}; use auto, v2.0 or v1.4")
        dialect = s.cardrec_dialect  # type: ignore[assignment]
    assert s.cardepass_base_url and s.cardepass_client_id and s.cardepass_client_secret
    from extract.client import validate_base_url

    try:
        validate_base_url(s.cardepass_base_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        credentials = ClientCredentials(
            s.cardepass_client_id, s.cardepass_client_secret.get_secret_value()
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    extract_memory(s)
    if not 1 <= s.cardrec_slice_days <= 90:
        raise ConfigError("CARDREC_SLICE_DAYS must be 1..90 (the service refuses > 3 months)")
    return ExtractSettings(
        base_url=s.cardepass_base_url,
        credentials=credentials,
        dialect=dialect,
        start=start,
        end=end,
        full_refresh=full_refresh,
        lookback_days=s.cardrec_lookback_days,
        slice_days=s.cardrec_slice_days,
        concurrency=s.cardrec_concurrency,
        timeout=s.cardrec_timeout,
        streams=streams,
    )


def extract_memory(s: Settings) -> str:
    try:
        return memory_size(s.cardrec_extract_memory)
    except ValueError:
        raise ConfigError(
            f"CARDREC_EXTRACT_MEMORY {s.cardrec_extract_memory!r} is not a size; use e.g. 256MB"
        ) from None


def resolve(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    full_refresh: bool = False,
    dialect: str | None = None,
    streams: list[str] | None = None,
    db: str | None = None,
    out: str | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    label: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> RunSettings:
    """A run's settings (flags over environment over ``.env``), or a ConfigError saying what
    is wrong. The reports go to ``--out``, else ``data/reports/<label>/<run id>/``."""
    settings = load(
        cardepass_base_url=base_url,
        cardepass_client_id=client_id,
        cardepass_client_secret=client_secret,
        cardrec_dialect=dialect,
        cardrec_db=db,
        cardrec_out=out,
        cardrec_label=label,
    )
    unknown = [x for x in streams or () if x not in STREAM_NAMES]
    if unknown:
        raise ConfigError(f"unknown stream(s) {', '.join(unknown)}; use {', '.join(STREAM_NAMES)}")
    chosen = tuple(s for s in STREAM_NAMES if not streams or s in streams)
    extract = extract_settings(
        settings, start=date_from, end=date_to, full_refresh=full_refresh, streams=chosen
    )
    run_id = run_id or datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ")
    return RunSettings(
        run_id,
        extract,
        settings.cardrec_db,
        settings.report_dir(run_id),
        label=settings.cardrec_label,
        duckdb_memory_limit=extract_memory(settings),
    )
