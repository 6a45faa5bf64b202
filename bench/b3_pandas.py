"""B3's peer: the sixteen reconciliation checks, written plainly in pandas.

``transform/reconcile.py`` runs each check as one SQL file in DuckDB. This module is what
an analyst would write in a notebook instead: read the tables into pandas once
(:func:`load_frames`), then merge, group and shift (:func:`run_checks`). It reads the same
inputs the SQL reads - ``core.*`` (``core.quarantine`` too), the money model ``recon.*``,
``recon.params``, and the extraction coverage from ``raw.pages`` / ``meta.state`` - and for
every check returns ``(entities_checked, breaks, out_of_window, blocked_by_quarantine)``,
the counts ``recon.check_runs`` holds.

A quarantined record that no later valid fetch replaced is untrusted
(:func:`quarantined_records`): it is a ``quarantined_record`` break, and a comparison that
includes it is counted as blocked, never as a break (``transform.reconcile.BLOCKED_SQL``).
A snapshot's time is the service's clock (``service_at``, the reply's Date header), else ours.

Money is integer cents (``int64``, or the nullable ``Int64`` where the column may be null),
never floats; times are UTC-aware pandas datetimes. SQL's NULL is pandas' NA: a comparison
with a missing amount is not a break, as in SQL, and a missing join key matches nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

__all__ = ["CHECK_FUNCTIONS", "load_frames", "quarantined_records", "run_checks"]

Frames = dict[str, pd.DataFrame]
Counts = tuple[int, int, int, int]  # entities checked, breaks, out of window, blocked

DAY = pd.Timedelta(days=1)
SECOND = pd.Timedelta(seconds=1)  # the resolution of the service's Date header
NO_MARGIN = pd.Timedelta(0)

# table -> (columns as they are, money columns read as integer cents)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "transactions": (
        "core.transactions",
        ("transaction_id", "transaction_type", "card_id", "status", "funds_direction",
         "currency", "auth_at", "settled_at", "is_topup_mirror", "fetched_at"),
        ("auth_amount", "settled_amount"),
    ),
    "card_account_logs": (
        "core.card_account_logs",
        ("account_log_id", "order_no", "log_type", "card_id", "funds_direction", "currency",
         "status", "trans_at", "completed_at", "fetched_at"),
        ("trans_amount", "total_fee", "total_amount"),
    ),
    "card_fee_items": ("core.card_fee_items", ("account_log_id", "item_no"), ("amount",)),
    "account_logs": (
        "core.account_logs",
        ("account_log_id", "trans_type", "currency", "order_no", "card_id", "trans_at",
         "fetched_at"),
        ("trans_amount", "available_balance", "blocked_balance"),
    ),
    "card_snapshots": (
        "core.card_snapshots",
        ("card_id", "fetched_at", "service_at", "card_model", "currency", "created_at"),
        ("balance", "used_credit_amount", "max_credit_amount"),
    ),
    "account_snapshots": (
        "core.account_snapshots",
        ("currency", "fetched_at", "service_at"),
        ("available_balance", "frozen_balance"),
    ),
    "orders": (
        "core.orders",
        ("order_no", "order_type", "card_model", "card_id", "currency", "fetched_at"),
        ("principal_amount", "fee_amount"),
    ),
    "transaction_effects_model": (
        "recon.transaction_effects_model", ("status", "funds_direction", "sign", "amount"), ()
    ),
    "card_log_effects": (
        "recon.card_log_effects",
        ("log_type", "funds_direction", "balance_sign", "balance_amount", "account_sign",
         "account_amount"),
        (),
    ),
    "account_log_types": (
        "recon.account_log_types", ("trans_type", "category", "moves_blocked"), ()
    ),
    "transaction_types": (
        "recon.transaction_types", ("transaction_type", "moves_money", "can_hold"), ()
    ),
    "order_amounts": (
        "recon.order_amounts",
        ("card_model", "order_type", "moved_amount", "fee_compared_with_card_log"),
        (),
    ),
    # the records that failed validation, as sent (the JSON text; quarantined_records)
    "quarantine": (
        "core.quarantine", ("stream", "item_key", "raw_item", "quarantined_at", "fetched_at"), ()
    ),
    # the inputs of recon.coverage: the first slice per stream and the watermarks
    "pages": ("raw.pages", ("stream", "slice_from"), ()),
    "state": ("meta.state", ("stream", "watermark"), ()),
}  # fmt: skip


def load_frames(con: duckdb.DuckDBPyConnection) -> Frames:
    """Read the reconciliation's inputs out of a reconciled database into pandas frames."""
    frames: Frames = {}
    for name, (table, plain, money) in TABLES.items():
        cents = [f"cast(round({c} * 100) as bigint) as {c}" for c in money]
        cols = [f'"{c}"' for c in plain] + cents
        frame = con.execute(f"select {', '.join(cols)} from {table}").df()  # noqa: S608
        for c in money:
            frame[c] = frame[c].astype("Int64")  # int64 cents, NA where the amount is null
        for c in frame.columns:
            if isinstance(frame[c].dtype, pd.DatetimeTZDtype):
                frame[c] = frame[c].dt.tz_convert("UTC")
        frames[name] = frame
    # the parameters, exact: tolerance in cents, variance in 1/10000 of a percent
    frames["params"] = con.execute(
        "select as_of, cast(round(tolerance * 100) as bigint) as tolerance, stale_days, "
        "cast(round(variance_pct * 10000) as bigint) as variance_pct_e4 from recon.params"
    ).df()
    frames["params"]["as_of"] = frames["params"]["as_of"].dt.tz_convert("UTC")
    return frames


# -- staging: what several checks share ------------------------------------------------
def _param(f: Frames, name: str) -> Any:
    return f["params"][name].iloc[0]


def _coverage(f: Frames) -> pd.DataFrame:
    """Per stream: from the first slice ever fetched to the end of the watermark day (UTC)."""
    pages = f["pages"].dropna(subset=["slice_from"])
    first = pages.groupby("stream", as_index=False)["slice_from"].min()
    cov = first.merge(f["state"], on="stream", how="inner")
    cov["covered_from"] = pd.to_datetime(cov["slice_from"]).dt.tz_localize("UTC")
    cov["covered_until"] = pd.to_datetime(cov["watermark"]).dt.tz_localize("UTC") + DAY
    return cov.set_index("stream")[["covered_from", "covered_until"]]


def _window(f: Frames, stream: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    cov = f["coverage"]
    if stream not in cov.index:
        return None
    return cov.at[stream, "covered_from"], cov.at[stream, "covered_until"]


def _outside(f: Frames, stream: str, at: pd.Series, start_margin: pd.Timedelta = NO_MARGIN) -> Any:
    """Is ``at`` outside ``stream``'s coverage? True when unknown (no coverage, no time)."""
    window = _window(f, stream)
    if window is None:
        return pd.Series(True, index=at.index)
    start, until = window
    return at.isna() | (at < start + start_margin) | (at >= until)


def _taken_at(snapshots: pd.DataFrame) -> Any:
    """A snapshot's time: the service's clock (its reply's Date header), else ours."""
    return snapshots["service_at"].fillna(snapshots["fetched_at"])


def _cards(f: Frames) -> pd.DataFrame:
    """One row per card: its latest snapshot, plus the earliest one and how many there are
    (latest and earliest by our clock; their times are the service's, else ours)."""
    snaps = f["card_snapshots"].sort_values(["card_id", "fetched_at"])
    snaps = snaps.assign(taken_at=_taken_at(snaps))
    by_card = snaps.groupby("card_id")
    latest = by_card.tail(1).rename(columns={"taken_at": "snapshot_at"})
    latest = latest.drop(columns=["fetched_at", "service_at"])
    first = by_card.head(1)[["card_id", "taken_at", "balance", "used_credit_amount"]]
    first = first.rename(
        columns={
            "taken_at": "first_snapshot_at",
            "balance": "first_balance",
            "used_credit_amount": "first_used_credit_amount",
        }
    )
    cards = latest.merge(first, on="card_id").merge(
        by_card.size().rename("snapshots").reset_index(), on="card_id"
    )
    return cards.reset_index(drop=True)


def _effect_at(t: pd.DataFrame, at: str) -> Any:
    """A transaction's effect on its card as of the time in column ``at``."""
    zero = pd.Series(0, index=t.index, dtype="Int64")
    effect = zero.mask(t["funds_direction"] == "Expenditure", -t["auth_amount"])  # open hold
    settled_by_then = (t["status"] == "settled") & (t["settled_at"].fillna(t["auth_at"]) <= t[at])
    effect = effect.mask(settled_by_then, t["sign"] * t["settled_amount"])
    effect = effect.mask(t["status"] == "failed", zero)
    effect = effect.mask(t[at].isna() | (t["auth_at"] > t[at]), zero)  # not authorised yet
    return effect.mask(~t["moves_money"], zero)  # AuthQuery: no effect, whatever its amount


def _with_types(txns: pd.DataFrame, f: Frames) -> pd.DataFrame:
    """Transactions with their type's row of the money model; a type it does not list moves
    money and can hold."""
    t = txns.merge(f["transaction_types"], on="transaction_type", how="left")
    for flag in ("moves_money", "can_hold"):
        t[flag] = t[flag].astype("boolean").fillna(True).astype(bool)
    return t


def _transaction_effects(f: Frames) -> pd.DataFrame:
    """One row per (non-mirror) transaction: its effect at its card's latest and first
    snapshots (nothing before authorisation, the settled effect once settled, else the hold;
    nothing for a type that moves no money)."""
    txns = f["transactions"][~f["transactions"]["is_topup_mirror"]]
    cards = f["cards"][["card_id", "card_model", "first_snapshot_at", "snapshot_at"]]
    t = _with_types(txns.merge(cards, on="card_id", how="left"), f)
    t = t.merge(f["transaction_effects_model"], on=["status", "funds_direction"], how="inner")
    t["effect_at_snapshot"] = _effect_at(t, "snapshot_at")
    t["effect_at_first_snapshot"] = _effect_at(t, "first_snapshot_at")
    return t


def _card_transaction_effects(f: Frames) -> pd.DataFrame:
    """Per card: the sum of its transactions' effects at its latest and first snapshots."""
    return (
        f["txn_effects"]
        .groupby("card_id")[["effect_at_snapshot", "effect_at_first_snapshot"]]
        .sum()
        .rename(columns={"effect_at_snapshot": "txn_to_snapshot",
                         "effect_at_first_snapshot": "txn_to_first_snapshot"})
        .reset_index()
    )  # fmt: skip


def _logs_of(f: Frames, *categories: str) -> pd.DataFrame:
    """Account logs whose type is in one of ``categories`` of the money model."""
    types = f["account_log_types"]
    kinds = types.loc[types["category"].isin(categories), "trans_type"]
    logs = f["account_logs"]
    return logs[logs["trans_type"].isin(kinds)]


def _completed_card_logs(f: Frames) -> pd.DataFrame:
    """Completed card logs with their money-model row (what they do to card and account)."""
    logs = f["card_account_logs"]
    logs = logs[logs["status"] == "Completed"]
    return logs.merge(f["card_log_effects"], on=["log_type", "funds_direction"], how="inner")


def _found_in(keys: pd.Series, values: pd.Series) -> Any:
    """Does each key occur among ``values``? A missing key never does. (A left join with an
    indicator: ``Series.isin`` is slow on pandas 3 strings when ``values`` is long.)"""
    present = pd.DataFrame({"key": values.dropna().drop_duplicates()})
    joined = pd.DataFrame({"key": keys}).merge(present, on="key", how="left", indicator=True)
    return pd.Series((joined["_merge"] == "both").to_numpy(), index=keys.index)


def _counts(
    is_break: pd.Series, out_of_window: Any = False, info: Any = False, blocked: Any = False
) -> Counts:
    """(entities compared, breaks inside the window, breaks outside it, comparisons blocked
    by quarantine inside the window); NA is no break.

    A break marked ``info`` is reported at a severity below the check's (insufficient
    history): not counted among the check's breaks, though out of the window it is counted
    there like any other. A ``blocked`` comparison includes an untrusted record: never a
    break (outside the window it is counted there, if it breaks, and not as blocked)."""
    brk = is_break.astype("boolean").fillna(False).astype(bool)
    oow = pd.Series(out_of_window, index=is_break.index, dtype=bool)
    below = pd.Series(info, index=is_break.index, dtype=bool)
    held = pd.Series(blocked, index=is_break.index, dtype=bool)
    return (
        len(brk),
        int((brk & ~oow & ~below & ~held).sum()),
        int((brk & oow).sum()),
        int((held & ~oow).sum()),
    )


# -- records that cannot be trusted ------------------------------------------------------
# stream -> (the record kind, the core table and key a valid fetch of it is loaded into)
QUARANTINE_KINDS = {
    "transactions": ("transaction", "transactions", "transaction_id"),
    "card_account_logs": ("card_account_log", "card_account_logs", "account_log_id"),
    "account_logs": ("account_log", "account_logs", "account_log_id"),
    "orders": ("order", "orders", "order_no"),
    "cards": ("card", "card_snapshots", "card_id"),
    "accounts": ("account", "account_snapshots", "currency"),
}
# what a record names, read from the raw item as sent: the first path present wins
CARD_PATHS = (("cardInfo", "cardId"), ("cardId",))
CURRENCY_PATHS = (
    ("currency",), ("cardCurrency",), ("cardInfo", "cardCurrency"), ("authAmount", "currency"),
    ("transAmount", "currency"),
)  # fmt: skip
REF_PATHS = {"account_logs": ("orderNo",), "card_account_logs": ("cardOrderNo",)}


def _json_text(item: Any, path: tuple[str, ...]) -> str | None:
    """The value at ``path`` of a parsed JSON object as text (``json_extract_string``): a
    string as it is, anything else as compact JSON; None when absent or null."""
    for name in path:
        if not isinstance(item, dict) or name not in item:
            return None
        item = item[name]
    if item is None:
        return None
    if isinstance(item, str):
        return item
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def _first_text(item: Any, paths: tuple[tuple[str, ...], ...]) -> str | None:
    for path in paths:
        text = _json_text(item, path)
        if text is not None:
            return text
    return None


def quarantined_records(f: Frames) -> pd.DataFrame:
    """One row per quarantined record (``recon.quarantined_records``): stream, entity_type,
    entity_id (its key, else ``raw:`` + the first 16 hex of the SHA-256 of its JSON), the card,
    currency and order/transaction (``ref``) its latest quarantined copy names, and whether a
    valid fetch of the same key was loaded at or after its last quarantined fetch."""
    q = f["quarantine"]
    q = q[q["stream"].isin(list(QUARANTINE_KINDS))].copy()
    q["entity_type"] = q["stream"].map({s: k[0] for s, k in QUARANTINE_KINDS.items()})
    digests = [
        "raw:" + hashlib.sha256(str(raw).encode("utf-8")).hexdigest()[:16] for raw in q["raw_item"]
    ]
    q["entity_id"] = q["item_key"].where(q["item_key"].notna(), pd.Series(digests, index=q.index))
    q["fetched"] = q["fetched_at"].fillna(q["quarantined_at"])
    keys = ["stream", "entity_type", "entity_id"]
    by_record = q.sort_values("quarantined_at").groupby(keys, sort=False)
    records = by_record.tail(1)[[*keys, "raw_item"]].merge(  # the latest quarantined copy
        by_record.agg(item_key=("item_key", "first"), last_fetched=("fetched", "max")),
        on=keys,
    )
    # what it names is text (ids, currencies); amounts are never read from the raw item
    items = [json.loads(str(raw)) for raw in records["raw_item"]]
    streams = records["stream"].tolist()
    records["card_id"] = pd.Series(
        [_first_text(i, CARD_PATHS) for i in items], index=records.index, dtype="str"
    )
    records["currency"] = pd.Series(
        [_first_text(i, CURRENCY_PATHS) for i in items], index=records.index, dtype="str"
    )
    refs = [
        _json_text(i, REF_PATHS[s]) if s in REF_PATHS else None
        for i, s in zip(items, streams, strict=True)
    ]
    records["ref"] = pd.Series(refs, index=records.index, dtype="str")
    # the valid fetches of the quarantined keys (none to look for: none read)
    valid = pd.concat(
        [
            f[table]
            .loc[_found_in(f[table][key], records.loc[records["stream"] == stream, "item_key"]),
                 [key, "fetched_at"]]
            .rename(columns={key: "item_key", "fetched_at": "valid_fetched"})
            .assign(stream=stream)
            for stream, (_, table, key) in QUARANTINE_KINDS.items()
            if (records["stream"] == stream).any()
        ]
        or [pd.DataFrame(columns=["item_key", "valid_fetched", "stream"])]
    )  # fmt: skip
    valid = valid.groupby(["stream", "item_key"], as_index=False)["valid_fetched"].max()
    records = records.merge(valid, on=["stream", "item_key"], how="left")
    replaced = records["valid_fetched"] >= records["last_fetched"]
    records["replaced"] = replaced.astype("boolean").fillna(False).astype(bool)
    return records.drop(columns=["raw_item", "valid_fetched"])


def _blocked(
    f: Frames,
    check: str,
    entity_type: str,
    entity_id: pd.Series,
    currency: pd.Series | None = None,
    points_to: pd.Series | None = None,
) -> Any:
    """Does each comparison include an untrusted record (``BLOCKED_SQL``)? When the record is
    the entity compared or points to it (a ledger entry's orderNo, a card log's cardOrderNo);
    is a transaction or card log of a card whose balance or credit is rolled forward; is a
    ledger entry (or the account itself) of the currency whose balance or chain is compared
    (a record naming no currency: any); or is the transaction a ledger entry ``points_to``."""
    u = f["untrusted"]
    blocked = pd.Series(False, index=entity_id.index)
    if u.empty:
        return blocked
    blocked |= _found_in(entity_id, u.loc[u["entity_type"] == entity_type, "entity_id"])
    blocked |= _found_in(entity_id, u["ref"])
    if entity_type == "card" and check in ("card_balance", "card_credit_usage"):
        spending = u["entity_type"].isin(["transaction", "card_account_log"])
        blocked |= _found_in(entity_id, u.loc[spending, "card_id"])
    kinds = {"account_balance": ["account_log", "account"], "account_ledger_chain": ["account_log"]}
    for kind in kinds.get(check, []):
        named = u.loc[u["entity_type"] == kind, "currency"]
        if named.empty:
            continue
        assert currency is not None
        if named.isna().any():  # a record naming no currency blocks every currency
            return pd.Series(True, index=entity_id.index)
        blocked |= currency.isna() | _found_in(currency, named)
    if points_to is not None:
        blocked |= _found_in(points_to, u.loc[u["entity_type"] == "transaction", "entity_id"])
    return blocked


def _snapshot_beyond(f: Frames, snapshot_at: pd.Series, *streams: str) -> Any:
    """Was the snapshot taken after one of ``streams``' coverage ends (or is a stream not
    covered at all)? Its balance then holds activity never extracted."""
    beyond = pd.Series(False, index=snapshot_at.index)
    for stream in streams:
        window = _window(f, stream)
        if window is None:
            return pd.Series(True, index=snapshot_at.index)
        beyond |= (window[1] < snapshot_at).fillna(True)
    return beyond


def _off(a: pd.Series, b: pd.Series, tolerance: int) -> Any:
    """|a - b| > tolerance; NA (not a break) when either side is missing."""
    return (a - b).abs() > tolerance


# -- the checks ----------------------------------------------------------------------
def _last_entries(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per currency, the balances after the last of ``pairs``' entries (by time, then id)."""
    last = pairs.sort_values(["trans_at", "account_log_id"]).groupby("currency").tail(1)
    return last[["currency", "ledger_available", "ledger_blocked"]]


def quarantined_record(f: Frames) -> Counts:
    """Every quarantined record is compared; one that no later valid fetch replaced breaks."""
    return _counts(~f["quarantined"]["replaced"])


def account_balance(f: Frames) -> Counts:
    """The latest account snapshot equals the balances after the last log at or before it;
    on the service's clock it also ties with the balances after any entry within a second of
    its stamp, or those just before them."""
    snaps = f["account_snapshots"].sort_values("fetched_at").groupby("currency").tail(1)
    snaps = snaps.assign(snapshot_at=_taken_at(snaps))
    logs = f["account_logs"][["currency", "trans_at", "account_log_id", "available_balance",
                              "blocked_balance"]]  # fmt: skip
    logs = logs.rename(columns={"available_balance": "ledger_available",
                                "blocked_balance": "ledger_blocked"})  # fmt: skip
    pairs = snaps.merge(logs, on="currency", how="inner")
    last = _last_entries(pairs[pairs["trans_at"] <= pairs["snapshot_at"]]).assign(has_entry=True)
    # every snapshot; one with no entry at or before it is compared with an empty ledger
    last = snaps.merge(last, on="currency", how="left")
    has_entry = last["has_entry"].astype("boolean").fillna(False).astype(bool)
    last[["ledger_available", "ledger_blocked"]] = last[
        ["ledger_available", "ledger_blocked"]
    ].fillna(0)
    tol = _param(f, "tolerance")
    # stamped by the service (to the second): the balances it may show within that second
    clocked = pairs[pairs["service_at"].notna()]
    after = clocked["trans_at"] > clocked["snapshot_at"] - SECOND
    near = clocked[after & (clocked["trans_at"] <= clocked["snapshot_at"] + SECOND)]
    near = near[["currency", "ledger_available", "ledger_blocked"]]
    candidates = pd.concat([near, _last_entries(clocked[~after])]).merge(
        snaps[["currency", "available_balance", "frozen_balance"]], on="currency"
    )
    available_ties = ~_off(candidates["available_balance"], candidates["ledger_available"], tol)
    frozen_ties = ~_off(candidates["frozen_balance"], candidates["ledger_blocked"], tol)
    candidates["ties"] = available_ties.fillna(False) & frozen_ties.fillna(True)
    tied = candidates.loc[candidates["ties"].astype(bool), "currency"]
    is_break = (
        _off(last["available_balance"], last["ledger_available"], tol).fillna(False)
        | _off(last["frozen_balance"], last["ledger_blocked"], tol).fillna(False)
    ) & ~_found_in(last["currency"], tied)
    # made outside the extracted ledger: no entry by the snapshot, or the ledger extracted
    # only up to a day before it
    oow = ~has_entry | _snapshot_beyond(f, last["snapshot_at"], "account_logs")
    blocked = _blocked(f, "account_balance", "account", last["currency"], last["currency"])
    return _counts(is_break, oow, blocked=blocked)


def account_ledger_chain(f: Frames) -> Counts:
    """Each account log = the previous one (per currency) moved by its amount."""
    types = f["account_log_types"][["trans_type", "moves_blocked"]]
    logs = f["account_logs"].merge(types, on="trans_type", how="left")
    logs["moves_blocked"] = logs["moves_blocked"].astype("boolean").fillna(False).astype(bool)
    logs = logs.sort_values(["currency", "trans_at", "account_log_id"])
    prev = logs.groupby("currency")[["account_log_id", "available_balance", "blocked_balance"]]
    prev = prev.shift(1)
    logs = logs[prev["account_log_id"].notna()]
    prev = prev.loc[logs.index]
    expected_available = prev["available_balance"] + logs["trans_amount"]
    held = logs["trans_amount"].where(logs["moves_blocked"], 0)
    expected_blocked = prev["blocked_balance"] - held
    tol = _param(f, "tolerance")
    is_break = _off(logs["available_balance"], expected_available, tol).fillna(False) | (
        _off(logs["blocked_balance"], expected_blocked, tol).fillna(False)
    )
    blocked = _blocked(
        f, "account_ledger_chain", "account_log", logs["account_log_id"], logs["currency"]
    )
    return _counts(is_break, blocked=blocked)


def card_balance(f: Frames) -> Counts:
    """A Standard card's balance = opening + its Completed card logs + effect(t), to its snapshot;
    a card with neither an ApplyCard log nor two snapshots cannot be computed (an info break);
    a snapshot more than a day after the history ends is out of the window."""
    cards = f["cards"][f["cards"]["card_model"] == "Standard"]
    logs = _completed_card_logs(f).merge(
        cards[["card_id", "snapshot_at", "first_snapshot_at"]], on="card_id", how="inner"
    )
    amount = logs["total_amount"].where(
        logs["balance_amount"] == "total_amount", logs["trans_amount"]
    )
    logs["moves"] = logs["balance_sign"] * amount
    logs["to_snapshot"] = logs["moves"].where(logs["completed_at"] <= logs["snapshot_at"], 0)
    logs["to_first"] = logs["moves"].where(logs["completed_at"] <= logs["first_snapshot_at"], 0)
    logs["is_opening"] = logs["log_type"] == "ApplyCard"
    per_card = logs.groupby("card_id", as_index=False).agg(
        log_to_snapshot=("to_snapshot", "sum"),
        log_to_first_snapshot=("to_first", "sum"),
        has_opening=("is_opening", "any"),
    )
    c = cards.merge(per_card, on="card_id", how="left").merge(
        f["card_txn_effects"], on="card_id", how="left"
    )
    sums = ["log_to_snapshot", "log_to_first_snapshot", "txn_to_snapshot", "txn_to_first_snapshot"]
    c[sums] = c[sums].fillna(0)
    has_opening = c["has_opening"].astype("boolean").fillna(False).astype(bool)
    from_opening = c["log_to_snapshot"] + c["txn_to_snapshot"]
    rolled = (
        c["first_balance"]
        + c["log_to_snapshot"] - c["log_to_first_snapshot"]
        + c["txn_to_snapshot"] - c["txn_to_first_snapshot"]
    )  # fmt: skip
    expected = pd.Series(pd.NA, index=c.index, dtype="Int64")
    expected = expected.mask(c["snapshots"] > 1, rolled).mask(has_opening, from_opening)
    is_break = expected.isna() | _off(c["balance"], expected, _param(f, "tolerance"))
    oow = _snapshot_beyond(f, c["snapshot_at"], "card_account_logs", "transactions")
    blocked = _blocked(f, "card_balance", "card", c["card_id"])
    return _counts(is_break, oow, info=expected.isna(), blocked=blocked)  # info: insufficient


def card_credit_usage(f: Frames) -> Counts:
    """A ShareBalance card's usedCreditAmount = -sum of effect(t) of its transactions."""
    cards = f["cards"]
    cards = cards[(cards["card_model"] == "ShareBalance") & cards["used_credit_amount"].notna()]
    c = cards.merge(f["card_txn_effects"], on="card_id", how="left")
    c[["txn_to_snapshot", "txn_to_first_snapshot"]] = c[
        ["txn_to_snapshot", "txn_to_first_snapshot"]
    ].fillna(0)
    window = _window(f, "transactions")
    if window is None:
        complete = pd.Series(False, index=c.index)
    else:  # created inside the extracted history: all its transactions are in it
        complete = (c["created_at"] >= window[0]).fillna(False)
    rolled = c["first_used_credit_amount"] - (c["txn_to_snapshot"] - c["txn_to_first_snapshot"])
    expected = pd.Series(pd.NA, index=c.index, dtype="Int64")
    expected = expected.mask(
        (c["snapshots"] > 1) & c["first_used_credit_amount"].notna(), rolled
    ).mask(complete, -c["txn_to_snapshot"])
    is_break = expected.isna() | _off(c["used_credit_amount"], expected, _param(f, "tolerance"))
    oow = _snapshot_beyond(f, c["snapshot_at"], "transactions")
    blocked = _blocked(f, "card_credit_usage", "card", c["card_id"])
    return _counts(is_break, oow, info=expected.isna(), blocked=blocked)  # info: insufficient


def funding_mismatch(f: Frames) -> Counts:
    """A Completed card log's funding account entry moves what the money model says."""
    logs = _completed_card_logs(f)
    amount = logs["total_amount"].where(
        logs["account_amount"] == "total_amount", logs["trans_amount"]
    )
    logs["expected"] = logs["account_sign"] * amount
    funding = _logs_of(f, "funding")[["order_no", "trans_amount"]].dropna(subset=["order_no"])
    funding = funding.rename(columns={"trans_amount": "actual"})
    pairs = logs.merge(funding, on="order_no", how="inner")
    blocked = _blocked(f, "funding_mismatch", "order", pairs["order_no"])
    return _counts(
        _off(pairs["actual"], pairs["expected"], _param(f, "tolerance")), blocked=blocked
    )


def missing_account_entry(f: Frames) -> Counts:
    """A Completed card log has an account entry with its order number."""
    logs = _completed_card_logs(f)
    funded = _logs_of(f, "funding")["order_no"]
    is_break = ~_found_in(logs["order_no"], funded)
    # the entry is posted at completion: outside the extracted ledger it cannot be seen
    oow = _outside(f, "account_logs", logs["completed_at"])
    return _counts(
        is_break, oow, blocked=_blocked(f, "missing_account_entry", "order", logs["order_no"])
    )


def missing_card_entry(f: Frames) -> Counts:
    """A funding account entry of a Standard card has a card log with its order number."""
    standard = f["cards"].loc[f["cards"]["card_model"] == "Standard", ["card_id"]]
    funding = _logs_of(f, "funding").dropna(subset=["card_id"])
    funding = funding.merge(standard, on="card_id", how="inner")
    logged = f["card_account_logs"]["order_no"]
    is_break = ~_found_in(funding["order_no"], logged)
    # a card log is written when the order is placed, up to a day before its entry
    oow = _outside(f, "card_account_logs", funding["trans_at"], start_margin=DAY)
    blocked = _blocked(f, "missing_card_entry", "order", funding["order_no"])
    return _counts(is_break, oow, blocked=blocked)


def _settled_share_balance(f: Frames) -> pd.DataFrame:
    """Settled ShareBalance transactions of a type that moves money (not AuthQuery)."""
    t = f["txn_effects"]
    return t[(t["card_model"] == "ShareBalance") & (t["status"] == "settled") & t["moves_money"]]


def txn_missing_ledger(f: Frames) -> Counts:
    """A settled ShareBalance transaction has a settlement entry in the account log."""
    txns = _settled_share_balance(f)
    settled = _logs_of(f, "sb_settlement")["order_no"]
    is_break = ~_found_in(txns["transaction_id"], settled)
    known = txns["settled_at"].notna()
    oow = _outside(f, "account_logs", txns["settled_at"].fillna(txns["auth_at"]))
    # no settle time (v2.0): the entry may come any time after the authorisation, so it may
    # lie after a ledger that stops before the run's time
    window = _window(f, "account_logs")
    closed = window is None or window[1] <= _param(f, "as_of")
    oow = oow.where(known, oow | closed)
    blocked = _blocked(f, "txn_missing_ledger", "transaction", txns["transaction_id"])
    return _counts(is_break, oow, blocked=blocked)


def ledger_missing_txn(f: Frames) -> Counts:
    """A ShareBalance hold or settlement entry points to an extracted transaction."""
    spending = _logs_of(f, "sb_hold", "sb_settlement").dropna(subset=["order_no"])
    types = f["account_log_types"][["trans_type", "moves_blocked"]]
    spending = spending.merge(types, on="trans_type", how="left")
    hold_type = spending["moves_blocked"].astype("boolean").fillna(False).astype(bool)
    spending["holds"] = hold_type & (spending["trans_amount"] < 0).fillna(False)
    spending["releases"] = hold_type & (spending["trans_amount"] > 0).fillna(False)
    by_txn = spending.groupby("order_no")
    # the transaction was authorised when its first entry (hold or settlement) was posted;
    # released but not held in the extracted ledger: held before its coverage, time unknown
    authorised_at = by_txn["trans_at"].transform("min")
    held_before = by_txn["releases"].transform("any") & ~by_txn["holds"].transform("any")
    is_break = ~_found_in(spending["order_no"], f["transactions"]["transaction_id"])
    oow = held_before | _outside(f, "transactions", authorised_at)
    blocked = _blocked(
        f, "ledger_missing_txn", "account_log", spending["account_log_id"],
        points_to=spending["order_no"],
    )  # fmt: skip
    return _counts(is_break, oow, blocked=blocked)


def txn_amount_mismatch(f: Frames) -> Counts:
    """A settled ShareBalance transaction's settlement entries add up to its settledAmount."""
    txns = _settled_share_balance(f)
    entries = _logs_of(f, "sb_settlement").dropna(subset=["order_no"])
    ledger = entries.groupby("order_no", as_index=False)["trans_amount"].sum()
    pairs = txns.merge(ledger, left_on="transaction_id", right_on="order_no", how="inner")
    actual = pairs["trans_amount"].abs()
    is_break = _off(actual, pairs["settled_amount"], _param(f, "tolerance"))
    blocked = _blocked(f, "txn_amount_mismatch", "transaction", pairs["transaction_id"])
    return _counts(is_break, blocked=blocked)


def fee_mismatch(f: Frames) -> Counts:
    """Per order with Completed card logs: each log's totalFee = its fee items, and the
    order's fee (where it has one) = the totalFee its logs charged together."""
    items = f["card_fee_items"].groupby("account_log_id", as_index=False)["amount"].sum()
    logs = f["card_account_logs"]
    logs = logs[logs["status"] == "Completed"].merge(items, on="account_log_id", how="left")
    logs["item_sum"] = logs["amount"].fillna(0)
    tol = _param(f, "tolerance")
    logs["items_differ"] = _off(logs["total_fee"], logs["item_sum"], tol).fillna(False)
    per_order = logs.groupby("order_no", as_index=False).agg(
        total_fee=("total_fee", "sum"), items_differ=("items_differ", "any")
    )
    orders = f["orders"][["order_no", "card_model", "order_type", "fee_amount"]]
    c = per_order.merge(orders, on="order_no", how="left")
    rules = f["order_amounts"][["card_model", "order_type", "fee_compared_with_card_log"]]
    c = c.merge(rules.dropna(subset=["card_model", "order_type"]),
                on=["card_model", "order_type"], how="left")  # fmt: skip
    compared = c["fee_compared_with_card_log"].astype("boolean").fillna(True).astype(bool)
    has_order_fee = compared & c["fee_amount"].notna()
    order_differs = has_order_fee & _off(c["fee_amount"], c["total_fee"], tol).fillna(False)
    blocked = _blocked(f, "fee_mismatch", "order", c["order_no"])
    return _counts(c["items_differ"].astype(bool) | order_differs, blocked=blocked)


def order_amount_mismatch(f: Frames) -> Counts:
    """What an order moves through the account = its funding entry's absolute amount."""
    funding = _logs_of(f, "funding").dropna(subset=["order_no"])
    funding = funding.groupby("order_no", as_index=False)["trans_amount"].sum()
    orders = f["orders"].merge(f["order_amounts"], on=["card_model", "order_type"], how="inner")
    principal, fee = orders["principal_amount"], orders["fee_amount"]
    moves = pd.Series(pd.NA, index=orders.index, dtype="Int64")
    moves = moves.mask(orders["moved_amount"] == "principal_plus_fee", principal + fee)
    moves = moves.mask(orders["moved_amount"] == "principal", principal)
    orders["moves"] = moves.mask(orders["moved_amount"] == "fee", fee)
    orders = orders[orders["moves"].notna()]
    pairs = orders.merge(funding, on="order_no", how="inner")
    actual = pairs["trans_amount"].abs()
    is_break = _off(actual, pairs["moves"], _param(f, "tolerance"))
    return _counts(
        is_break, blocked=_blocked(f, "order_amount_mismatch", "order", pairs["order_no"])
    )


def credit_limit_exceeded(f: Frames) -> Counts:
    """A ShareBalance card's usedCreditAmount is within its maxCreditAmount."""
    c = f["cards"]
    c = c[(c["card_model"] == "ShareBalance") & c["used_credit_amount"].notna()]
    over = c["used_credit_amount"] > c["max_credit_amount"]  # no limit (NA): within
    blocked = _blocked(f, "credit_limit_exceeded", "card", c["card_id"])
    return _counts(over.fillna(False).astype(bool), blocked=blocked)


def stale_authorization(f: Frames) -> Counts:
    """No transaction is still authorised stale_days after its authorisation (a type that
    holds nothing, AuthQuery, never is)."""
    t = f["transactions"]
    t = _with_types(t[~t["is_topup_mirror"]], f)
    cutoff = _param(f, "as_of") - pd.Timedelta(days=int(_param(f, "stale_days")))
    is_break = t["can_hold"] & (t["status"] == "authorized") & (t["auth_at"] < cutoff)
    blocked = _blocked(f, "stale_authorization", "transaction", t["transaction_id"])
    return _counts(is_break, blocked=blocked)


def auth_settle_variance(f: Frames) -> Counts:
    """A settled amount is within variance_pct percent of the authorised amount."""
    t = f["transactions"]
    t = t[(t["status"] == "settled") & ~t["is_topup_mirror"]]
    # |settled - auth| > auth * pct / 100, in integers: pct is held in 1/10000 of a percent
    lhs = (t["settled_amount"] - t["auth_amount"]).abs() * 1_000_000
    is_break = lhs > t["auth_amount"] * int(_param(f, "variance_pct_e4"))
    return _counts(
        is_break, blocked=_blocked(f, "auth_settle_variance", "transaction", t["transaction_id"])
    )


CHECK_FUNCTIONS: dict[str, Callable[[Frames], Counts]] = {
    fn.__name__: fn
    for fn in (
        quarantined_record,
        account_balance,
        account_ledger_chain,
        card_balance,
        card_credit_usage,
        funding_mismatch,
        missing_account_entry,
        missing_card_entry,
        txn_missing_ledger,
        ledger_missing_txn,
        txn_amount_mismatch,
        fee_mismatch,
        order_amount_mismatch,
        credit_limit_exceeded,
        stale_authorization,
        auth_settle_variance,
    )
}


def run_checks(frames: Frames, skip: set[str] | frozenset[str] = frozenset()) -> dict[str, Counts]:
    """Run every check not in ``skip``: name -> (entities checked, breaks, out of window,
    blocked by quarantine)."""
    f = dict(frames)
    f["quarantined"] = quarantined_records(f)
    f["untrusted"] = f["quarantined"][~f["quarantined"]["replaced"]]
    f["coverage"] = _coverage(f)
    f["cards"] = _cards(f)
    f["txn_effects"] = _transaction_effects(f)
    f["card_txn_effects"] = _card_transaction_effects(f)
    return {name: check(f) for name, check in CHECK_FUNCTIONS.items() if name not in skip}
