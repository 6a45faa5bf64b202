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
missing as (
    -- the orders whose transaction was not extracted: only their entries can break
    select distinct s.order_no
    from spending s
    anti join core.transactions t on t.transaction_id = s.order_no
),
first_entry as (
    -- the transaction was authorised when its first entry (the hold, or a direct settlement)
    -- was posted. When its release is in the extracted ledger but its hold is not, the hold was
    -- posted before the ledger's coverage began: authorised then, at an unknown time.
    -- Computed for the missing orders alone (at 10 million entries this saves a grouping of
    -- them all, twice: B3).
    select
        order_no,
        min(trans_at) as first_at,
        bool_or(releases_hold) and not bool_or(puts_on_hold) as held_before_ledger
    from spending
    semi join missing using (order_no)
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
        -- a missing transaction can be expected among the extracted ones only when it was
        -- surely authorised inside their coverage (an entry whose transaction is there is
        -- not a break, and never out of window)
        f.order_no is not null and (
            f.held_before_ledger
            or coalesce(f.first_at < cv.covered_from or f.first_at >= cv.covered_until, true)
        ) as out_of_window
    from spending s
    left join first_entry f using (order_no)
    left join core.transactions t on t.transaction_id = s.order_no
    left join recon.coverage cv on cv.stream = 'transactions'
    where s.order_no is not null  -- an entry without orderNo names no transaction to look for
)
select * from final
