"""Settings, read once at the edge: flags, else the environment, else ``.env``.

Only this module reads the environment. The client secret is a ``SecretStr``: it never
appears in a repr, a log line, a flow parameter or anything written to disk. The DuckDB
file is checked here too (``check_database``), so a bad one is said before Prefect starts.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from extract.auth import ClientCredentials
from extract.run import ExtractSettings
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName
from transform.reconcile import DEFAULT_LABEL
from transform.state import memory_size

DEFAULT_DB = Path("data/cardrecon.duckdb")
DEFAULT_REPORTS = Path("data/reports")  # reports go to <this>/<label>/<run id>/ (cwd-relative)
LABEL_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


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
    cardrec_lookback_days: int = 7
    cardrec_concurrency: int = 8
    cardrec_timeout: float = 30.0
    cardrec_slice_days: int = 1
    cardrec_extract_memory: str = "256MB"

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
    try:
        extract_memory = memory_size(s.cardrec_extract_memory)
    except ValueError:
        raise ConfigError(
            f"CARDREC_EXTRACT_MEMORY {s.cardrec_extract_memory!r} is not a size; use e.g. 256MB"
        ) from None
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
        duckdb_memory_limit=extract_memory,
    )
