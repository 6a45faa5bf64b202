-- grain: one ShareBalance spending account log (hold, release or settlement).
-- invariant: its orderNo is the id of an extracted transaction.
with spending as (
    select
        a.*,
        -- a hold moves money from available to blocked (a negative entry), a release back
        t.moves_blocked and a.trans_amount < 0 as puts_on_hold,
        t.moves_blocked and a.trans_amount > 0 as releases_hold
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category in ('sb_hold', 'sb_settlement')
),
first_entry as (
    -- the transaction was authorised when its first entry (the hold, or a direct settlement)
    -- was posted. When its release is in the extracted ledger but its hold is not, the hold was
    -- posted before the ledger's coverage began: authorised then, at an unknown time.
    select
        order_no,
        min(trans_at) as first_at,
        bool_or(releases_hold) and not bool_or(puts_on_hold) as held_before_ledger
    from spending
    group by order_no
),
final as (
    select
        'ledger_missing_txn' as check_name,
        'error' as severity,
        'account_log' as entity_type,
        s.account_log_id as entity_id,
        s.card_id,
        s.currency,
        cast(null as decimal(18,2)) as expected,
        s.trans_amount as actual,
        cast(null as decimal(18,2)) as difference,
        s.trans_at as as_of,
        s.trans_type || ' entry of ' || s.trans_amount || ' points to transaction '
            || s.order_no || ', which was not extracted' as detail,
        t.transaction_id is null as is_break,
        -- the transaction can be expected among the extracted ones only when it was surely
        -- authorised inside their coverage
        f.held_before_ledger
            or coalesce(f.first_at < cv.covered_from or f.first_at >= cv.covered_until, true)
            as out_of_window
    from spending s
    join first_entry f using (order_no)
    left join core.transactions t on t.transaction_id = s.order_no
    left join staging.stg_coverage cv on cv.stream = 'transactions'
)
select * from final
