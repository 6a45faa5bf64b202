-- grain: one settled ShareBalance transaction.
-- invariant: the account log has a settlement entry (Consume, ConsumeRefund, ConsumeReversal or
-- TransFee - not a hold or release) whose orderNo is the transaction id.
with txns as (
    select * from recon.transaction_effects
    where card_model = 'ShareBalance' and status = 'settled'
),
settlements as (
    select distinct a.order_no
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category = 'sb_settlement'
),
final as (
    select
        'txn_missing_ledger' as check_name,
        'error' as severity,
        'transaction' as entity_type,
        x.transaction_id as entity_id,
        x.card_id,
        x.currency,
        x.effect as expected,
        cast(null as decimal(18,2)) as actual,
        cast(null as decimal(18,2)) as difference,
        coalesce(x.settled_at, x.auth_at) as as_of,
        'settled ' || x.funds_direction || ' of ' || x.settled_amount
            || ' has no settlement entry in the account log' as detail,
        s.order_no is null as is_break,
        coalesce(coalesce(x.settled_at, x.auth_at) < cv.covered_from
                 or coalesce(x.settled_at, x.auth_at) >= cv.covered_until, true) as out_of_window
    from txns x
    left join settlements s on s.order_no = x.transaction_id
    left join recon.coverage cv on cv.stream = 'account_logs'
)
select * from final
