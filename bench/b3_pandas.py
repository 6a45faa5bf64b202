"""B3's peer: the fifteen reconciliation checks, written plainly in pandas.

``transform/reconcile.py`` runs each check as one SQL file in DuckDB. This module is what
an analyst would write in a notebook instead: read the tables into pandas once
(:func:`load_frames`), then merge, group and shift (:func:`run_checks`). It reads the same
inputs the SQL reads - ``core.*``, the money model ``recon.*``, ``recon.params``, and the
extraction coverage from ``raw.pages`` / ``meta.state`` - and for every check returns
``(entities_checked, breaks, out_of_window)``, the counts ``recon.check_runs`` holds.

Money is integer cents (``int64``, or the nullable ``Int64`` where the column may be null),
never floats; times are UTC-aware pandas datetimes. SQL's NULL is pandas' NA: a comparison
with a missing amount is not a break, as in SQL, and a missing join key matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd

__all__ = ["CHECK_FUNCTIONS", "load_frames", "run_checks"]

Frames = dict[str, pd.DataFrame]
Counts = tuple[int, int, int]

DAY = pd.Timedelta(days=1)
NO_MARGIN = pd.Timedelta(0)

# table -> (columns as they are, money columns read as integer cents)
TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "transactions": (
        "core.transactions",
        ("transaction_id", "card_id", "status", "funds_direction", "currency", "auth_at",
         "settled_at", "is_topup_mirror"),
        ("auth_amount", "settled_amount"),
    ),
    "card_account_logs": (
        "core.card_account_logs",
        ("account_log_id", "order_no", "log_type", "card_id", "funds_direction", "currency",
         "status", "trans_at", "completed_at"),
        ("trans_amount", "total_fee", "total_amount"),
    ),
    "card_fee_items": ("core.card_fee_items", ("account_log_id", "item_no"), ("amount",)),
    "account_logs": (
        "core.account_logs",
        ("account_log_id", "trans_type", "currency", "order_no", "card_id", "trans_at"),
        ("trans_amount", "available_balance", "blocked_balance"),
    ),
    "card_snapshots": (
        "core.card_snapshots",
        ("card_id", "fetched_at", "card_model", "currency", "created_at"),
        ("balance", "used_credit_amount", "max_credit_amount"),
    ),
    "account_snapshots": (
        "core.account_snapshots",
        ("currency", "fetched_at"),
        ("available_balance", "frozen_balance"),
    ),
    "orders": (
        "core.orders",
        ("order_no", "order_type", "card_model", "card_id", "currency"),
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
    "order_amounts": (
        "recon.order_amounts",
        ("card_model", "order_type", "moved_amount", "fee_compared_with_card_log"),
        (),
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


def _cards(f: Frames) -> pd.DataFrame:
    """One row per card: its latest snapshot, plus the earliest one and how many there are."""
    snaps = f["card_snapshots"].sort_values(["card_id", "fetched_at"])
    by_card = snaps.groupby("card_id")
    latest = by_card.tail(1).rename(columns={"fetched_at": "snapshot_at"})
    first = by_card.head(1)[["card_id", "fetched_at", "balance", "used_credit_amount"]]
    first = first.rename(
        columns={
            "fetched_at": "first_snapshot_at",
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
    return effect.mask(t[at].isna() | (t["auth_at"] > t[at]), zero)  # not authorised yet


def _transaction_effects(f: Frames) -> pd.DataFrame:
    """One row per (non-mirror) transaction: its effect at its card's latest and first
    snapshots (nothing before authorisation, the settled effect once settled, else the hold)."""
    txns = f["transactions"][~f["transactions"]["is_topup_mirror"]]
    cards = f["cards"][["card_id", "card_model", "first_snapshot_at", "snapshot_at"]]
    t = txns.merge(cards, on="card_id", how="left")
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


def _counts(is_break: pd.Series, out_of_window: Any = False, info: Any = False) -> Counts:
    """(entities compared, breaks inside the window, breaks outside it); NA is no break.

    A break marked ``info`` is reported at a severity below the check's (insufficient
    history): not counted among the check's breaks, though out of the window it is counted
    there like any other."""
    brk = is_break.astype("boolean").fillna(False).astype(bool)
    oow = pd.Series(out_of_window, index=is_break.index, dtype=bool)
    below = pd.Series(info, index=is_break.index, dtype=bool)
    return len(brk), int((brk & ~oow & ~below).sum()), int((brk & oow).sum())


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
def account_balance(f: Frames) -> Counts:
    """The latest account snapshot equals the balances after the last log at or before it."""
    snaps = f["account_snapshots"].sort_values("fetched_at").groupby("currency").tail(1)
    logs = f["account_logs"][["currency", "trans_at", "account_log_id", "available_balance",
                              "blocked_balance"]]  # fmt: skip
    logs = logs.rename(columns={"available_balance": "ledger_available",
                                "blocked_balance": "ledger_blocked"})  # fmt: skip
    pairs = snaps.merge(logs, on="currency", how="inner")
    pairs = pairs[pairs["trans_at"] <= pairs["fetched_at"]]
    last = pairs.sort_values(["trans_at", "account_log_id"]).groupby("currency").tail(1)
    last = last[["currency", "ledger_available", "ledger_blocked"]].assign(has_entry=True)
    # every snapshot; one with no entry at or before it is compared with an empty ledger
    last = snaps.merge(last, on="currency", how="left")
    has_entry = last["has_entry"].astype("boolean").fillna(False).astype(bool)
    last[["ledger_available", "ledger_blocked"]] = last[
        ["ledger_available", "ledger_blocked"]
    ].fillna(0)
    tol = _param(f, "tolerance")
    is_break = _off(last["available_balance"], last["ledger_available"], tol).fillna(False) | (
        _off(last["frozen_balance"], last["ledger_blocked"], tol).fillna(False)
    )
    # made outside the extracted ledger: no entry by the snapshot, or the ledger extracted
    # only up to a day before it
    oow = ~has_entry | _snapshot_beyond(f, last["fetched_at"], "account_logs")
    return _counts(is_break, oow)


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
    return _counts(is_break)


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
    return _counts(is_break, oow, info=expected.isna())  # insufficient history: info


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
    return _counts(is_break, oow, info=expected.isna())  # insufficient history: info


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
    return _counts(_off(pairs["actual"], pairs["expected"], _param(f, "tolerance")))


def missing_account_entry(f: Frames) -> Counts:
    """A Completed card log has an account entry with its order number."""
    logs = _completed_card_logs(f)
    funded = _logs_of(f, "funding")["order_no"]
    is_break = ~_found_in(logs["order_no"], funded)
    # the entry is posted at completion: outside the extracted ledger it cannot be seen
    return _counts(is_break, _outside(f, "account_logs", logs["completed_at"]))


def missing_card_entry(f: Frames) -> Counts:
    """A funding account entry of a Standard card has a card log with its order number."""
    standard = f["cards"].loc[f["cards"]["card_model"] == "Standard", ["card_id"]]
    funding = _logs_of(f, "funding").dropna(subset=["card_id"])
    funding = funding.merge(standard, on="card_id", how="inner")
    logged = f["card_account_logs"]["order_no"]
    is_break = ~_found_in(funding["order_no"], logged)
    # a card log is written when the order is placed, up to a day before its entry
    oow = _outside(f, "card_account_logs", funding["trans_at"], start_margin=DAY)
    return _counts(is_break, oow)


def _settled_share_balance(f: Frames) -> pd.DataFrame:
    t = f["txn_effects"]
    return t[(t["card_model"] == "ShareBalance") & (t["status"] == "settled")]


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
    return _counts(is_break, oow)


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
    return _counts(is_break, held_before | _outside(f, "transactions", authorised_at))


def txn_amount_mismatch(f: Frames) -> Counts:
    """A settled ShareBalance transaction's settlement entries add up to its settledAmount."""
    txns = _settled_share_balance(f)
    entries = _logs_of(f, "sb_settlement").dropna(subset=["order_no"])
    ledger = entries.groupby("order_no", as_index=False)["trans_amount"].sum()
    pairs = txns.merge(ledger, left_on="transaction_id", right_on="order_no", how="inner")
    actual = pairs["trans_amount"].abs()
    return _counts(_off(actual, pairs["settled_amount"], _param(f, "tolerance")))


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
    return _counts(c["items_differ"].astype(bool) | order_differs)


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
    return _counts(_off(actual, pairs["moves"], _param(f, "tolerance")))


def credit_limit_exceeded(f: Frames) -> Counts:
    """A ShareBalance card's usedCreditAmount is within its maxCreditAmount."""
    c = f["cards"]
    c = c[(c["card_model"] == "ShareBalance") & c["used_credit_amount"].notna()]
    over = c["used_credit_amount"] > c["max_credit_amount"]  # no limit (NA): within
    return _counts(over.fillna(False).astype(bool))


def stale_authorization(f: Frames) -> Counts:
    """No transaction is still authorised stale_days after its authorisation."""
    t = f["transactions"]
    t = t[~t["is_topup_mirror"]]
    cutoff = _param(f, "as_of") - pd.Timedelta(days=int(_param(f, "stale_days")))
    return _counts((t["status"] == "authorized") & (t["auth_at"] < cutoff))


def auth_settle_variance(f: Frames) -> Counts:
    """A settled amount is within variance_pct percent of the authorised amount."""
    t = f["transactions"]
    t = t[(t["status"] == "settled") & ~t["is_topup_mirror"]]
    # |settled - auth| > auth * pct / 100, in integers: pct is held in 1/10000 of a percent
    lhs = (t["settled_amount"] - t["auth_amount"]).abs() * 1_000_000
    return _counts(lhs > t["auth_amount"] * int(_param(f, "variance_pct_e4")))


CHECK_FUNCTIONS: dict[str, Callable[[Frames], Counts]] = {
    fn.__name__: fn
    for fn in (
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
    """Run every check not in ``skip``: name -> (entities checked, breaks, out of window)."""
    f = dict(frames)
    f["coverage"] = _coverage(f)
    f["cards"] = _cards(f)
    f["txn_effects"] = _transaction_effects(f)
    f["card_txn_effects"] = _card_transaction_effects(f)
    return {name: check(f) for name, check in CHECK_FUNCTIONS.items() if name not in skip}
