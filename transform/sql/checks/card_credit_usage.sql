-- grain: one ShareBalance card whose snapshot reports usedCreditAmount (v1.4).
-- invariant: usedCreditAmount = -sum(effect(t)) over the card's transactions.
-- A snapshot taken after the end of the transaction coverage holds activity never extracted
-- (a closed period reconciled later): out of window, as for account_balance.
with cards as (
    select * from staging.stg_cards
    where card_model = 'ShareBalance' and used_credit_amount is not null
),
history as (
    -- a card created inside the extracted history has all its transactions in it; the
    -- snapshot holds what happened up to it: compared only when the transactions were
    -- extracted up to it, as for account_balance
    select
        c.card_id,
        c.created_at >= cv.covered_from as complete,
        coalesce(cv.covered_until >= c.snapshot_at, false) as covered
    from cards c
    left join staging.stg_coverage cv on cv.stream = 'transactions'
),
effects as (
    select * from staging.stg_card_transaction_effects
),
computed as (
    select
        c.*,
        h.complete,
        h.covered,
        case
            when coalesce(h.complete, false) then -coalesce(e.to_snapshot, 0)
            when c.snapshots > 1 and c.first_used_credit_amount is not null
                then c.first_used_credit_amount
                     - (coalesce(e.to_snapshot, 0) - coalesce(e.to_first_snapshot, 0))
        end as expected
    from cards c
    left join history h using (card_id)
    left join effects e using (card_id)
),
final as (
    select
        'card_credit_usage' as check_name,
        case when expected is null then 'info' else 'error' end as severity,
        'card' as entity_type,
        card_id as entity_id,
        card_id,
        currency,
        expected,
        used_credit_amount as actual,
        used_credit_amount - expected as difference,
        snapshot_at as as_of,
        case when expected is null
            then 'insufficient_history: the card predates the extracted history and only one '
                 || 'snapshot is stored'
            else 'usedCreditAmount ' || used_credit_amount || ' vs transactions ' || expected
        end as detail,
        expected is null or abs(used_credit_amount - expected) > p.tolerance as is_break,
        not covered as out_of_window
    from computed, recon.params p
)
select * from final
