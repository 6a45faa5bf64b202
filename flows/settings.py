"""Settings, read once at the edge: flags, else the environment, else ``.env``.

Only this module reads the environment. The client secret is a ``SecretStr``: it never
appears in a repr, a log line, a flow parameter or anything written to disk.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from extract.auth import ClientCredentials
from extract.run import ExtractSettings
from extract.state import memory_size
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName

DEFAULT_DB = Path("data/cardrecon.duckdb")


class ConfigError(Exception):
    """Bad or missing configuration: the message says which setting and what to do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    cardepass_base_url: str | None = None
    cardepass_client_id: str | None = None
    cardepass_client_secret: SecretStr | None = None
    cardrec_db: Path = DEFAULT_DB
    cardrec_out: Path | None = None
    cardrec_dialect: str = "auto"
    cardrec_lookback_days: int = 7
    cardrec_concurrency: int = 8
    cardrec_timeout: float = 30.0
    cardrec_slice_days: int = 1
    cardrec_extract_memory: str = "256MB"


def load(**flags: Any) -> Settings:
    """Flags (None = not given) over the environment over ``.env``."""
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "a setting"
        raise ConfigError(f"{name}: {err['msg']}; fix the flag, the environment or .env") from None


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
