-- grain: one Standard card with a snapshot (core.card_balances).
-- invariant: snapshot balance = the balance its history explains (core.card_balances: opening
-- + Completed card-log effects + effect(t), up to the snapshot); with no opening to count from,
-- the card is reported as info (insufficient history). A snapshot taken after the end of the
-- card-log or transaction coverage holds activity never extracted (a closed period reconciled
-- later): out of window, as for account_balance.
with balances as (
    select * from core.card_balances
),
final as (
    select
        'card_balance' as check_name,
        case when b.computed_balance is null then 'info' else 'error' end as severity,
        'card' as entity_type,
        b.card_id as entity_id,
        b.card_id,
        b.currency,
        b.computed_balance as expected,
        b.reported_balance as actual,
        b.difference,
        b.snapshot_at as as_of,
        b.detail,
        b.computed_balance is null or abs(b.difference) > p.tolerance as is_break,
        not b.is_covered as out_of_window
    from balances b, recon.params p
)
select * from final
