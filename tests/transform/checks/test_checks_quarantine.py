"""``quarantined_record``: a record that cannot be trusted is one finding, and the
comparisons that include it are blocked, not broken."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
from support.builders import (
    AS_OF,
    FETCHED,
    T0,
    make_account_log,
    make_card_snapshot,
    make_quarantined,
    make_transaction,
)
from support.checks import SB, D, breaks, brk, counts, detail, run, settle_in_ledger

from transform.reconcile import write_summary


# -- quarantined_record: a record that cannot be trusted is a finding, once ---------------------
def given_a_share_transaction_quarantined_with_its_ledger_entries(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """T9 (ShareBalance C2, settled 40.00) arrived with three decimals: quarantined. Its hold,
    release and settlement are in the ledger; C2 reports the 40.00 used."""
    make_quarantined(
        db,
        "transactions",
        {"id": "T9", "cardInfo": {"cardId": "C2"}, "authTime": "2026-01-05T12:00:00Z"},
        item_key="T9",
        failed_checks="settled_amount: at most 2 decimals",
    )
    settle_in_ledger(db, "T9", "40.00")
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="40.00")


def blocked(db: duckdb.DuckDBPyConnection, check: str, run_id: str = "run-1") -> int:
    row = db.execute(
        'select blocked_by_quarantine from recon.check_runs where run_id = ? and "check" = ?',
        [run_id, check],
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_quarantined_transaction_is_one_break_and_blocks_its_pairs_instead_of_breaking_them(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_transaction_quarantined_with_its_ledger_entries(db)

    run(db)
    verdict = write_summary(db, "run-1", [])

    assert breaks(db, "quarantined_record") == [
        brk("quarantined_record", "T9", None, None, None, entity_type="transaction", currency=None)
    ]
    assert detail(db, "quarantined_record", "T9") == (
        "transactions record cannot be trusted: settled_amount: at most 2 decimals"
    )
    for check in ("ledger_missing_txn", "txn_missing_ledger", "txn_amount_mismatch"):
        assert breaks(db, check) == [], check
    assert blocked(db, "ledger_missing_txn") == 3  # hold, release, settlement
    assert breaks(db, "card_credit_usage") == []  # C2 rolls forward over T9: blocked
    assert blocked(db, "card_credit_usage") == 1
    assert verdict == "breaks"  # never reconciled while a record is untrusted
    summary = db.execute(
        "select name, blocked_by_quarantine from recon.run_summary "
        "where section = 'check' and blocked_by_quarantine > 0 order by name"
    ).fetchall()
    assert summary == [("card_credit_usage", 1), ("ledger_missing_txn", 3)]


def test_a_later_clean_fetch_resolves_the_quarantined_record_and_its_pairs_are_compared(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_transaction_quarantined_with_its_ledger_entries(db)
    run(db)
    # the next run fetches T9 again, valid this time
    make_transaction(
        db,
        transaction_id="T9",
        card_id="C2",
        auth_amount="40.00",
        fetched_at=FETCHED + timedelta(days=1),
        run_id="run-2",
    )

    run(db, run_id="run-2", as_of=AS_OF + timedelta(days=1))

    status = db.execute(
        "select status from recon.breaks where \"check\" = 'quarantined_record'"
    ).fetchall()
    assert status == [("resolved",)]
    assert blocked(db, "ledger_missing_txn", "run-2") == 0
    assert counts(db, "ledger_missing_txn", "run-2").breaks == 0  # compared, and it ties
    assert counts(db, "txn_missing_ledger", "run-2") == (1, 0, 0)


def test_an_older_valid_copy_does_not_replace_a_newer_quarantined_fetch(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """T1 loaded authorised yesterday; today's fetch (settled) is quarantined: the stored copy
    is stale, so the record stays untrusted and its stale hold is blocked, not reported."""
    make_transaction(
        db, transaction_id="T1", status="authorized", auth_at=AS_OF - timedelta(days=9)
    )
    make_quarantined(db, "transactions", {"id": "T1"}, item_key="T1",
                     fetched_at=FETCHED + timedelta(hours=2))  # fmt: skip

    run(db)

    assert [b.entity_id for b in breaks(db, "quarantined_record")] == ["T1"]
    assert breaks(db, "stale_authorization") == []
    assert blocked(db, "stale_authorization") == 1


def test_a_record_with_no_key_gets_a_raw_id_from_the_hash_of_its_json(
    db: duckdb.DuckDBPyConnection,
) -> None:
    import hashlib

    raw = {"accountTransType": "Consume", "transAmount": "1.005"}
    make_quarantined(db, "account_logs", raw, failed_checks="account_log_id: missing")

    run(db)

    text = json.dumps(raw, separators=(",", ":"))
    expected = "raw:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    assert breaks(db, "quarantined_record") == [
        brk("quarantined_record", expected, None, None, None, entity_type="account_log",
            currency=None)
    ]  # fmt: skip


def test_an_unknown_enum_is_said_in_words(db: duckdb.DuckDBPyConnection) -> None:
    make_quarantined(
        db,
        "orders",
        {"orderNo": "O7", "orderType": "Weird"},
        item_key="O7",
        failed_checks="order_type: isin(['ApplyCard', 'CardTopUp']) got 'Weird'",
    )

    run(db)

    assert detail(db, "quarantined_record", "O7") == (
        "orders record cannot be trusted: order_type: unknown value 'Weird' "
        "(expected one of ['ApplyCard', 'CardTopUp'])"
    )


def test_a_transaction_sent_without_an_id_blocks_the_entries_of_its_card_not_others(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """We received a C2 transaction but could not read its id: the C2 entries that point to
    no extracted transaction may be its, so they are blocked; a C3 orphan still breaks."""
    make_quarantined(
        db,
        "transactions",
        {"cardInfo": {"cardId": "C2"}, "authTime": "2026-01-05T12:00:00Z"},
        failed_checks="transaction_id: missing",
    )
    settle_in_ledger(db, "T?", "40.00")  # C2's hold, release, settlement
    make_account_log(
        db, trans_type="Consume", trans_amount="-5.00", order_no="T-C3", card_id="C3", trans_at=T0
    )

    run(db)

    assert [b.entity_id.startswith("raw:") for b in breaks(db, "quarantined_record")] == [True]
    assert [b.actual for b in breaks(db, "ledger_missing_txn")] == [D("-5.00")]
    assert blocked(db, "ledger_missing_txn") == 3
