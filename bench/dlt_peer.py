"""Benchmark B1's peer: dlt's ``rest_api`` source reading cardepass (v2.0) into DuckDB.

:func:`run_dlt` loads the three date-windowed streams — ``transactions``,
``card_account_logs``, ``account_logs`` — for ``first..last`` with dlt's own machinery
and returns the rows that landed per stream, counted in dlt's DuckDB file.

How our extractor's work maps onto dlt
---------------------------------------
* **Slices.** Our extractor cuts the window into one-day slices per stream and walks
  each slice's pages. Here an unselected parent resource ``days`` yields one record per
  day (``{"day": "YYYY-MM-DD"}``, all days in one page), and each stream is a *child*
  resource whose ``TransactionDateFrom``/``TransactionDateTo`` are both resolved from
  ``{resources.days.day}``. So dlt makes the same requests: one walk per (stream, day).
* **Concurrency.** The children are ``parallelized``: for each day, dlt's
  ``rest_api`` then yields a deferred call that walks that day's pages in full, and
  dlt's extract pipe runs those calls in one thread pool shared by all three streams,
  ``EXTRACT__WORKERS = concurrency`` threads wide (``EXTRACT__MAX_PARALLEL_ITEMS`` is
  raised to ``concurrency`` only if that exceeds dlt's default of 20). That is our model:
  at most ``concurrency`` (stream, day) walks in flight, across streams, and the pages
  of one walk fetched one after another. Differences that remain: dlt uses threads and
  blocking ``requests`` (a shared ``requests.Session``) where we use asyncio + httpx;
  dlt's pool is fixed where our limiter adapts to 429s; and a day's rows reach dlt's
  writer only once the whole day has been walked (that is what ``parallelized`` does).
* **Paginators** (dlt's classes from ``dlt.sources.helpers.rest_client.paginators``):
  ``JSONResponseCursorPaginator`` (``PageCursor`` ← ``pagination.nextCursor``, stopping
  on ``pagination.hasMore``) for transactions; ``PageNumberPaginator`` (``PageNumber``
  from 1, ``pagination.totalPages``) for card account logs; ``OffsetPaginator``
  (``Limit``/``Offset``, ``pagination.totalCount``) for account logs. ``PageSize`` (or
  ``Limit``) is ``page_size``. Items are at ``data``.
* **Auth.** dlt's ``OAuth2ClientCredentials`` against ``{base_url}/connect/token`` (form
  ``grant_type``/``client_id``/``client_secret``), one instance shared by the three
  resources. It is not locked, so the first concurrent calls may each fetch a token.
* **The rest is dlt's defaults:** ``pipeline.run`` with its normal extract → normalize →
  load steps, ``append`` disposition, dlt's schema inference and nesting (list fields
  become child tables; only the top-level tables are counted), dlt's retrying HTTP
  client. Normalize and load workers are set to ``concurrency`` too
  (``NORMALIZE__WORKERS``, ``LOAD__WORKERS``); with more than one worker dlt normalizes
  in a process pool. dlt's data-writer settings (buffer and file sizes) are left at
  their defaults, and so is the loader file format — for DuckDB that is
  ``insert_values`` (SQL ``INSERT`` files), which dominates dlt's time on larger
  windows; ``loader_file_format="parquet"`` is dlt's own faster option, for a tuned
  variant of the peer.

Everything dlt keeps — the pipeline's working directory and the DuckDB file — lives
under ``workdir``; nothing goes to ``~/.dlt``. dlt's configuration is passed as
environment variables (``RUNTIME__DLTHUB_TELEMETRY=false``: there is no internet), set
only while :func:`run_dlt` runs and restored afterwards (dlt starts telemetry once per
process, at the first ``dlt.pipeline``, so this holds when that is ours). Importing
this module (which imports dlt, so needs the ``bench`` dependency group) starts nothing
and writes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.common.destination import TLoaderFileFormat
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    JSONResponseCursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
)
from dlt.sources.rest_api import rest_api_source
from dlt.sources.rest_api.typing import EndpointResource, RESTAPIConfig

__all__ = ["DATASET", "PIPELINE_NAME", "STREAMS", "dlt_env", "run_dlt"]

PIPELINE_NAME = "cardrecon_dlt_peer"
DATASET = "cardepass"
STREAMS = ("transactions", "card_account_logs", "account_logs")
_DLT_DEFAULT_MAX_PARALLEL_ITEMS = 20  # PipeIterator.PipeIteratorConfiguration's default


@contextlib.contextmanager
def dlt_env(concurrency: int) -> Iterator[None]:
    """Set dlt's worker counts (and switch its telemetry off) while the block runs."""
    settings = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "EXTRACT__WORKERS": str(concurrency),
        "NORMALIZE__WORKERS": str(concurrency),
        "LOAD__WORKERS": str(concurrency),
    }
    if concurrency > _DLT_DEFAULT_MAX_PARALLEL_ITEMS:
        settings["EXTRACT__MAX_PARALLEL_ITEMS"] = str(concurrency)
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _days(first: date, last: date) -> list[dict[str, str]]:
    count = (last - first).days + 1
    return [{"day": (first + timedelta(days=i)).isoformat()} for i in range(count)]


def _config(
    base_url: str, client_id: str, client_secret: str, days: Any, page_size: int
) -> RESTAPIConfig:
    """The ``rest_api`` configuration: the ``days`` parent and the three streams."""
    base = base_url.rstrip("/")
    window = {
        "TransactionDateFrom": "{resources.days.day}",
        "TransactionDateTo": "{resources.days.day}",
    }
    endpoints: dict[str, tuple[str, dict[str, Any], BasePaginator]] = {
        "transactions": (
            "v1/transactions",
            {"PageSize": page_size},
            JSONResponseCursorPaginator(
                cursor_path="pagination.nextCursor",
                cursor_param="PageCursor",
                has_more_path="pagination.hasMore",
            ),
        ),
        "card_account_logs": (
            "v1/accounts/cardAccountLogs",
            {"PageSize": page_size},
            PageNumberPaginator(
                base_page=1, page_param="PageNumber", total_path="pagination.totalPages"
            ),
        ),
        "account_logs": (
            "v1/accounts/accountLogs",
            {},
            OffsetPaginator(
                limit=page_size,
                offset_param="Offset",
                limit_param="Limit",
                total_path="pagination.totalCount",
            ),
        ),
    }
    resources: list[str | EndpointResource | Any] = [days]  # Any: the DltResource
    for name, (path, params, paginator) in endpoints.items():
        resource: EndpointResource = {
            "name": name,
            "parallelized": True,
            "endpoint": {
                "path": path,
                "params": {**window, **params},
                "paginator": paginator,
                "data_selector": "data",
            },
        }
        resources.append(resource)
    return {
        "client": {
            "base_url": base + "/",
            "auth": OAuth2ClientCredentials(
                access_token_url=base + "/connect/token",
                client_id=client_id,
                client_secret=client_secret,
            ),
        },
        "resources": resources,
    }


def run_dlt(
    base_url: str,
    client_id: str,
    client_secret: str,
    first: date,
    last: date,
    *,
    workdir: Path,
    concurrency: int = 8,
    page_size: int = 100,
    loader_file_format: TLoaderFileFormat | None = None,
) -> dict[str, int]:
    """Load ``first..last`` (inclusive) with dlt; return the rows loaded per stream.

    ``loader_file_format`` is dlt's own knob (``None``: dlt's default for DuckDB,
    ``insert_values``; ``"parquet"`` or ``"jsonl"`` for a tuned variant of the peer).

    The counts are read back from dlt's DuckDB file (``workdir / "dlt_peer.duckdb"``),
    restricted to this run's load packages, so running twice in one ``workdir`` does not
    double them.
    """
    if last < first:
        raise ValueError(f"last ({last}) is before first ({first})")
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if not 1 <= page_size <= 100:
        raise ValueError("page_size must be between 1 and 100")
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "dlt_peer.duckdb"
    with dlt_env(concurrency):
        days = dlt.resource(
            [_days(first, last)],  # one page holding every day: one parent item per day
            name="days",
            selected=False,
        )
        source = rest_api_source(
            _config(base_url, client_id, client_secret, days, page_size), name="cardepass"
        )
        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            pipelines_dir=str(workdir / "pipelines"),
            destination=dlt.destinations.duckdb(str(db_path)),
            dataset_name=DATASET,
        )
        if loader_file_format is None:  # dlt's default for the destination
            info = pipeline.run(source)
        else:
            info = pipeline.run(source, loader_file_format=loader_file_format)
        load_ids = list(info.loads_ids)
    return _count_rows(db_path, load_ids)


def _count_rows(db_path: Path, load_ids: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(STREAMS, 0)
    if not load_ids:
        return counts
    marks = ", ".join("?" for _ in load_ids)
    with duckdb.connect(str(db_path), read_only=True) as con:
        present = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [DATASET],
            ).fetchall()
        }
        for stream in STREAMS:
            if stream not in present:
                continue
            row = con.execute(
                f'SELECT count(*) FROM "{DATASET}"."{stream}" '  # noqa: S608 - fixed names
                f"WHERE _dlt_load_id IN ({marks})",
                load_ids,
            ).fetchone()
            counts[stream] = int(row[0]) if row else 0
    return counts
