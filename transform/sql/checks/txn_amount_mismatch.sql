-- grain: one settled ShareBalance transaction with its settlement entry.
-- invariant: the absolute amount of the settlement entry = settledAmount.
with txns as (
    select * from staging.stg_transaction_effects
    where card_model = 'ShareBalance' and status = 'settled' and moves_money
),
settlements as (
    select a.order_no, sum(a.trans_amount) as trans_amount, min(a.account_log_id) as entry_id
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category = 'sb_settlement'
    group by a.order_no
),
final as (
    select
        'txn_amount_mismatch' as check_name,
        'error' as severity,
        'transaction' as entity_type,
        x.transaction_id as entity_id,
        x.card_id,
        x.currency,
        x.settled_amount as expected,
        abs(s.trans_amount) as actual,
        abs(s.trans_amount) - x.settled_amount as difference,
        coalesce(x.settled_at, x.auth_at) as as_of,
        'settledAmount ' || x.settled_amount || ' vs ledger entry ' || s.entry_id || ' of '
            || s.trans_amount as detail,
        abs(abs(s.trans_amount) - x.settled_amount) > p.tolerance as is_break,
        false as out_of_window
    from txns x
    join settlements s on s.order_no = x.transaction_id
    cross join recon.params p
)
select * from final
