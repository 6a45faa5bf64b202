-- grain: one settled ShareBalance transaction of a type that moves money (not AuthQuery).
-- invariant: the account log has a settlement entry (any sb_settlement type of
-- recon.account_log_types - Consume, ConsumeRefund, ConsumeReversal, ConsumeRefundReversal,
-- ConsumeDispute, DisputeRelease, TransFee; not a hold or release) whose orderNo is the
-- transaction id.
-- Out of window: the settlement may lie outside the extracted ledger (see the last CTE).
with txns as (
    select * from staging.stg_transaction_effects
    where card_model = 'ShareBalance' and status = 'settled' and moves_money
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
        -- the entry is posted at settlement: outside the extracted ledger, it cannot be seen.
        -- With no settle time (v2.0) it may be posted any time after the authorisation, so
        -- when the ledger's coverage ends before the run's time (a closed period), it may lie
        -- after the coverage: out of window, found by the run that covers it.
        coalesce(
            case
                when x.settled_at is not null
                    then x.settled_at < cv.covered_from or x.settled_at >= cv.covered_until
                else x.auth_at < cv.covered_from or cv.covered_until <= p.as_of
            end,
            true
        ) as out_of_window
    from txns x
    cross join recon.params p
    left join settlements s on s.order_no = x.transaction_id
    left join staging.stg_coverage cv on cv.stream = 'account_logs'
)
select * from final
